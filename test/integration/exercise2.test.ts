// The seed's Exercise 2 end to end: three HTTP backends behind lb with `option httpchk` checks;
// kill one → DOWN in the stats CSV within fall × inter + timeout check, no request reaches it,
// the transition logged as HAProxy logs it; restart it → UP after rise × inter; the same seen in
// `show stat` on the runtime API socket. lb runs as a child process (`lb -d -f`), so the test
// polls the CSV with a bounded wait instead of subscribing to lb:server:state.
import test from 'ava';
import { freePorts, startLb, writeConfig } from '../proxy/run/harness.ts';
import { backend, cli, csvStatus, get, parseCsv, waitFor } from './helpers.ts';

const INTER = 200;
const FALL = 2;
const RISE = 2;
const TIMEOUT_CHECK = 300;
/** Polling period plus one CSV round trip on a loaded machine. */
const SLACK = 400;

test.serial('Exercise 2: kill a backend → DOWN (CSV and show stat), no traffic to it; restart → UP after rise × inter', async (t) => {
  const [fe, st, cliPort, p1, p2, p3] = await freePorts(6);
  const bes = [backend(p1!), backend(p2!), backend(p3!)];
  for (const b of bes) await b.start();
  const cfg = writeConfig(`
global
    stats socket ipv4@127.0.0.1:${cliPort} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check ${TIMEOUT_CHECK}ms
frontend web_frontend
    bind 127.0.0.1:${fe}
    default_backend web_backend
backend web_backend
    balance roundrobin
    option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost
    default-server check inter ${INTER} fall ${FALL} rise ${RISE}
    server web1 127.0.0.1:${p1}
    server web2 127.0.0.1:${p2}
    server web3 127.0.0.1:${p3}
listen stats
    bind 127.0.0.1:${st}
    stats enable
    stats uri /stats
    stats refresh 1s
    stats auth admin:secret
`);
  const lb = await startLb(cfg, fe);
  t.teardown(async () => {
    await lb.stop();
    for (const b of bes) await b.kill();
  });
  const csv = async (): Promise<string> => (await get(st!, '/stats;csv', 'admin:secret')).body;
  const status = async (sv: string): Promise<string | undefined> => csvStatus(await csv(), 'web_backend', sv);

  // Every server checked at least once and fully UP.
  const ready = await waitFor(
    async () => {
      const rows = parseCsv(await csv()).rows.filter((r) => r['pxname'] === 'web_backend' && r['svname'] !== 'BACKEND');
      return rows.every((r) => r['status'] === 'UP' && r['check_status'] === 'L7OK') && rows.length === 3 ? 'ok' : undefined;
    },
    (v) => v === 'ok',
    5000,
  );
  t.true(ready >= 0, `servers UP with L7OK before the test:\n${await csv()}\n${lb.stderr()}`);
  t.true(bes[1]!.checks > 0, 'the health check reached the backend');

  await bes[1]!.kill();
  const down = await waitFor(() => status('web2'), (s) => s === 'DOWN', 5000);
  t.true(down >= 0, `web2 DOWN:\n${await csv()}`);
  t.true(down <= FALL * INTER + TIMEOUT_CHECK + SLACK, `DOWN after ${down} ms (bound ${FALL * INTER + TIMEOUT_CHECK} ms + ${SLACK} ms polling slack)`);
  t.regex(lb.stderr(), /\[WARNING\] {2}\(\d+\) : Server web_backend\/web2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 2 active and 0 backup servers left\. \d+ sessions active, 0 requeued, 0 remaining in queue\./);
  const row = parseCsv(await csv()).rows.find((r) => r['svname'] === 'web2');
  t.is(row?.['check_status'], 'L4CON');
  t.is(row?.['chkdown'], '1');
  t.is(row?.['status'], 'DOWN');

  const sock = parseCsv(await cli(cliPort!, 'show stat')).rows.find((r) => r['pxname'] === 'web_backend' && r['svname'] === 'web2');
  t.is(sock?.['status'], 'DOWN', 'show stat on the runtime API agrees');

  const before = bes.map((b) => b.hits);
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await get(fe!, '/');
    t.is(r.status, 200);
    seen.add(r.body.trim());
  }
  t.is(bes[1]!.hits, before[1]!, 'no request reached the DOWN server');
  t.is(bes[0]!.hits - before[0]! + bes[2]!.hits - before[2]!, 20);
  t.deepEqual([...seen].sort(), [`Response from backend ${p1}`, `Response from backend ${p3}`].sort());

  const restarted = Date.now();
  await bes[1]!.start();
  const up = await waitFor(() => status('web2'), (s) => s === 'UP', 5000);
  const upAfter = Date.now() - restarted;
  t.true(up >= 0, `web2 UP again:\n${await csv()}`);
  // rise successes are needed: at least (rise - 1) intervals, at most one interval of phase + rise × inter.
  t.true(upAfter >= (RISE - 1) * INTER - 50, `UP after ${upAfter} ms: rise ${RISE} needs ${RISE} checks`);
  t.true(upAfter <= (RISE + 1) * INTER + SLACK, `UP after ${upAfter} ms (bound ${(RISE + 1) * INTER} ms + slack)`);
  t.regex(lb.stderr(), /Server web_backend\/web2 is UP, reason: Layer7 check passed, code: 200, check duration: \d+ms\. 3 active and 0 backup servers online\. 0 sessions requeued, 0 total in queue\./);
  const sock2 = parseCsv(await cli(cliPort!, 'show stat')).rows.find((r) => r['pxname'] === 'web_backend' && r['svname'] === 'web2');
  t.is(sock2?.['status'], 'UP');
  const hitsBack = bes[1]!.hits;
  for (let i = 0; i < 6; i++) await get(fe!, '/');
  t.true(bes[1]!.hits > hitsBack, 'traffic returns to the restarted server');
});

test.serial('all servers DOWN → 503; a backup server takes over while every active one is down', async (t) => {
  const [fe, st, p1, p2] = await freePorts(4);
  const active = backend(p1!);
  const spare = backend(p2!);
  await active.start();
  const cfg = writeConfig(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:${fe}
    default_backend b
backend b
    option httpchk GET /health
    server a 127.0.0.1:${p1} check inter 100 fall 1 rise 1
    server spare 127.0.0.1:${p2} check inter 100 fall 1 rise 1 backup
listen stats
    bind 127.0.0.1:${st}
    stats enable
    stats uri /
`);
  const lb = await startLb(cfg, fe);
  t.teardown(async () => {
    await lb.stop();
    await active.kill();
    await spare.kill();
  });
  const csv = async (): Promise<string> => (await get(st!, '/;csv')).body;
  t.true((await waitFor(async () => csvStatus(await csv(), 'b', 'spare'), (s) => s === 'DOWN', 3000)) >= 0);
  t.is((await get(fe!, "/")).body.trim(), `Response from backend ${p1}`, `${await csv()}\n${lb.stderr()}`);
  await active.kill();
  t.true((await waitFor(async () => csvStatus(await csv(), 'b', 'a'), (s) => s === 'DOWN', 3000)) >= 0);
  const r = await get(fe!, '/');
  t.is(r.status, 503, 'no server left: 503');
  t.regex(lb.stderr(), /\[ALERT\] {4}\(\d+\) : backend 'b' has no server available!/);
  await spare.start();
  t.true((await waitFor(async () => csvStatus(await csv(), 'b', 'spare'), (s) => s === 'UP', 3000)) >= 0);
  const r2 = await get(fe!, '/');
  t.is(r2.status, 200);
  t.is(r2.body.trim(), `Response from backend ${p2}`, 'the backup serves while the active server is down');
  t.regex(lb.stderr(), /Backup Server b\/spare is UP, .* 0 active and 1 backup servers online\. Running on backup\./);
});
