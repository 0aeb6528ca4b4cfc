// `agent-check` with `agent-port`, `agent-inter` and `agent-send` (and global `spread-checks`),
// end to end: a real `lb -d -f` child polls a tiny agent per server; the agent's answer drives the
// server as haproxy 2.6 does: `75%` → weight 75 of 100, `drain` → "DRAIN (agent)" in the `;csv`
// status and no new traffic, `ready up 100%` → back UP at full weight, `down` → "DOWN (agent)";
// on the runtime API, `show servers state` names the agent port and `disable agent` /
// `enable agent` stop and restart the agent's polling.
import net from 'node:net';
import test from 'ava';
import { freePorts, sleep, startLb, writeConfig } from '../proxy/run/harness.ts';
import { backend, cli, get, parseCsv, waitFor } from './helpers.ts';

interface Agent {
  readonly port: number;
  reply: string;
  /** What lb sent on the last connection (agent-send). */
  received: string;
  /** Connections from lb so far. */
  conns: number;
  close(): Promise<void>;
}

/** Answers every connection with `reply` once lb's `agent-send` line arrived, then closes. */
async function agent(reply: string): Promise<Agent> {
  const socks = new Set<net.Socket>();
  const a = { port: 0, reply, received: '', conns: 0, close: async () => {} };
  const srv = net.createServer((s) => {
    a.conns++;
    socks.add(s);
    s.on('error', () => {});
    s.once('close', () => socks.delete(s));
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (!got.includes('\n')) return;
      a.received = got;
      s.end(a.reply);
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const addr = srv.address();
  a.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  a.close = async () => {
    for (const s of socks) s.destroy();
    await new Promise<void>((ok) => srv.close(() => ok()));
  };
  return a;
}

test.serial('agent-check: drain, N% and down answers drive the server, seen in ;csv', async (t) => {
  const [fe, st, p1, p2, api] = await freePorts(5);
  const bes = [backend(p1!), backend(p2!)];
  for (const b of bes) await b.start();
  const ag = await agent('up\n');
  const cfg = writeConfig(
    `
global
    spread-checks 5
    stats socket ipv4@127.0.0.1:${api} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 300ms
frontend web
    bind 127.0.0.1:${fe}
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /health
    server s1 127.0.0.1:${p1} weight 100 check inter 150 agent-check agent-port ${ag.port} agent-inter 100 agent-send "hello agent\\n"
    server s2 127.0.0.1:${p2} weight 100 check inter 150
listen stats
    bind 127.0.0.1:${st}
    stats enable
    stats uri /stats
`,
    'agent.cfg',
  );
  const lb = await startLb(cfg, fe);
  t.teardown(async () => {
    await lb.stop();
    for (const b of bes) await b.kill();
    await ag.close();
  });
  const row = async (): Promise<Record<string, string> | undefined> =>
    parseCsv((await get(st!, '/stats;csv')).body).rows.find((r) => r['pxname'] === 'app' && r['svname'] === 's1');
  const until = async (what: string, pred: (r: Record<string, string>) => boolean): Promise<void> => {
    const ms = await waitFor(async () => {
      const r = await row();
      return r !== undefined && pred(r) ? 'ok' : undefined;
    }, (v) => v === 'ok', 5000);
    t.true(ms >= 0, `${what}:\n${JSON.stringify(await row())}\n${lb.stderr()}`);
  };

  await until('UP with an agent L7OK', (r) => r['status'] === 'UP' && r['agent_status'] === 'L7OK' && r['weight'] === '100');
  t.is(ag.received, 'hello agent\n', 'agent-send reached the agent');

  ag.reply = '75%\n';
  await until('weight 75 after "75%"', (r) => r['weight'] === '75' && r['status'] === 'UP');

  ag.reply = 'drain\n';
  await until('DRAIN after "drain"', (r) => r['status'] === 'DRAIN (agent)');
  const before = bes[0]!.hits;
  for (let i = 0; i < 6; i++) t.regex((await get(fe!, '/x')).body, new RegExp(`from backend ${p2!}`));
  t.is(bes[0]!.hits, before, 'a drained server gets no new traffic');

  ag.reply = 'ready up 100%\n';
  await until('UP at full weight after "ready up 100%"', (r) => r['status'] === 'UP' && r['weight'] === '100');

  ag.reply = 'down #maintenance window\n';
  await until('DOWN after "down"', (r) => r['status'] === 'DOWN (agent)');
  t.regex(lb.stderr(), /Server app\/s1 is DOWN, reason: Layer7 wrong status, code: 0, info: "via agent : down \(maintenance window\)"/);
  t.is((await row())?.['check_status'], 'L7OK', 'the health check itself still passes');
  for (let i = 0; i < 4; i++) t.regex((await get(fe!, '/y')).body, new RegExp(`from backend ${p2!}`));

  // Runtime API: the agent is configured on s1, on its port; disable/enable agent.
  const state = (await cli(api!, 'show servers state app')).split('\n').find((l) => l.split(' ')[3] === 's1');
  t.is(state?.split(' ').at(-1), String(ag.port), `srv_agent_port: ${state ?? ''}`);
  t.is(await cli(api!, 'disable agent app/s1'), '\n');
  await sleep(150);
  const frozen = ag.conns;
  await sleep(500);
  t.is(ag.conns, frozen, 'no agent polling while disabled');
  ag.reply = 'up\n';
  t.is(await cli(api!, 'enable agent app/s1'), '\n');
  await until('UP again once the agent is re-enabled and answers "up"', (r) => r['status'] === 'UP');
  t.true(ag.conns > frozen, 'polling resumed');
});
