// `option tcp-check` with `tcp-check connect|send|expect` rule lines, end to end: a real
// `lb -d -f` child checks two redis-like servers speaking a tiny line protocol (`PING\r\n` →
// `+PONG\r\n`). The healthy one is UP with L7OK "(tcp-check)"; the one answering `-ERR` is DOWN
// with haproxy's text "TCPCHK did not match content '+PONG' at step 3"; when the healthy one
// starts answering `-ERR` too it goes DOWN, and L4 traffic through lb only reaches UP servers.
// As haproxy 2.6 does (checked by hand with the same config), a mismatch on a connection the
// server keeps open waits for more data and ends in L7TOUT " at step 3 of tcp-check (expect
// string '+PONG')"; a server that closes after its wrong answer gives L7RSP "TCPCHK did not
// match content '+PONG' at step 3".
import net from 'node:net';
import test from 'ava';
import { exchange, freePorts, startLb, writeConfig } from '../proxy/run/harness.ts';
import { get, parseCsv, waitFor } from './helpers.ts';

interface Redisish {
  readonly port: number;
  /** Reply to PING. */
  reply: string;
  /** Close the connection after answering PING (a server giving up on the client). */
  closeAfter: boolean;
  pings: number;
  /** Lines other than PING (client traffic through lb). */
  other: number;
  close(): Promise<void>;
}

async function redisish(reply: string, closeAfter = false): Promise<Redisish> {
  const socks = new Set<net.Socket>();
  const r = { port: 0, reply, closeAfter, pings: 0, other: 0, close: async () => {} };
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.once('close', () => socks.delete(s));
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line === 'PING') {
          r.pings++;
          if (r.closeAfter) s.end(`${r.reply}\r\n`);
          else s.write(`${r.reply}\r\n`);
        } else {
          r.other++;
          s.write(`+ECHO ${line} from ${r.port}\r\n`);
        }
      }
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const a = srv.address();
  r.port = typeof a === 'object' && a !== null ? a.port : 0;
  r.close = async () => {
    for (const s of socks) s.destroy();
    await new Promise<void>((ok) => srv.close(() => ok()));
  };
  return r;
}

test.serial('option tcp-check: PING/+PONG rules decide UP and DOWN, with haproxy status texts', async (t) => {
  const good = await redisish('+PONG');
  const bad = await redisish('-ERR unknown', true);
  const slow = await redisish('-ERR unknown');
  const [fe, st] = await freePorts(2);
  const cfg = writeConfig(
    `
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 300ms
frontend redis_front
    mode tcp
    bind 127.0.0.1:${fe}
    default_backend redis
backend redis
    mode tcp
    option tcp-check
    tcp-check connect
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    default-server check inter 150 fall 2 rise 2
    server good 127.0.0.1:${good.port}
    server bad 127.0.0.1:${bad.port}
    server slow 127.0.0.1:${slow.port}
listen stats
    mode http
    bind 127.0.0.1:${st}
    stats enable
    stats uri /stats
`,
    'tcp-check.cfg',
  );
  const lb = await startLb(cfg, fe);
  t.teardown(async () => {
    await lb.stop();
    await good.close();
    await bad.close();
    await slow.close();
  });
  const row = async (sv: string): Promise<Record<string, string> | undefined> =>
    parseCsv((await get(st!, '/stats;csv')).body).rows.find((r) => r['pxname'] === 'redis' && r['svname'] === sv);

  const settled = await waitFor(
    async () => {
      const g = await row('good');
      const b = await row('bad');
      const s = await row('slow');
      return g?.['status'] === 'UP' && g['check_status'] === 'L7OK' && b?.['status'] === 'DOWN' && s?.['status'] === 'DOWN' ? 'ok' : undefined;
    },
    (v) => v === 'ok',
    5000,
  );
  t.true(settled >= 0, `good UP/L7OK, bad DOWN:\n${(await get(st!, '/stats;csv')).body}\n${lb.stderr()}`);
  t.true(good.pings > 0 && bad.pings > 0, 'the checks sent PING to both servers');
  const b = await row('bad');
  t.is(b?.['check_status'], 'L7RSP');
  t.is(b?.['last_chk'], "TCPCHK did not match content '+PONG' at step 3");
  t.regex(lb.stderr(), /Server redis\/bad is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '\+PONG' at step 3"/);
  const sl = await row('slow');
  t.is(sl?.['check_status'], 'L7TOUT');
  // The CSV quotes a field with a leading space, as haproxy's csv_enc() does.
  t.is(sl?.['last_chk'], `" at step 3 of tcp-check (expect string '+PONG')"`);
  t.is((await row('good'))?.['last_chk'], '(tcp-check)');

  // Client traffic through lb reaches only the UP server.
  for (let i = 0; i < 4; i++) t.is(await exchange(fe!, 'HELLO\r\n', 2000), `+ECHO HELLO from ${good.port}\r\n`);
  t.is(bad.other + slow.other, 0, 'no client connection reached the DOWN servers');

  // The healthy server starts failing: the same rules take it DOWN.
  good.reply = '-ERR busy';
  const down = await waitFor(async () => (await row('good'))?.['status'], (s) => s === 'DOWN', 5000);
  t.true(down >= 0, `good DOWN once it answers -ERR:\n${lb.stderr()}`);
});
