// `set server B/S addr A port P` against a real `lb -d -f` with a stats socket: the answer is
// HAProxy's, new requests go to the new address, idle
// pooled connections to the old address are closed, the health check follows the server's address
// (the server stays UP after the old address is gone), and `show servers state` / `show stat` show it.
import test from 'ava';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, sleep, startLb } from '../proxy/run/harness.ts';

/** One command over the unix socket (non-interactive: lb answers and closes). */
function cli(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let out = '';
    const timer = setTimeout(() => c.destroy(new Error(`timeout on ${cmd}`)), 5000);
    c.setEncoding('utf8');
    c.on('data', (d: string) => (out += d));
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.end(`${cmd}\n`);
  });
}

/** GET / through lb on a new client connection: the body. */
function get(port: number, agent: http.Agent | false = false): Promise<string> {
  return getPath(port, '/', agent);
}

function getPath(port: number, p: string, agent: http.Agent | false = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('request timeout')));
    req.on('error', reject);
  });
}

/** An HTTP server answering `body`, counting requests and tracking its open sockets. */
async function backend(body: string): Promise<{ server: http.Server; port: number; hits: () => number; open: Set<net.Socket> }> {
  let hits = 0;
  const open = new Set<net.Socket>();
  const server = http.createServer((_q, r) => {
    hits++;
    r.end(body);
  });
  // Long keep-alive: only lb may close an idle pooled connection within the test's time.
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: net.Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { server, port: typeof a === 'object' && a !== null ? a.port : 0, hits: () => hits, open };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(50);
  }
}

/** The s1 row of `show servers state` as a column-name → value map. */
async function serverState(sock: string): Promise<Record<string, string>> {
  const lines = (await cli(sock, 'show servers state be')).split('\n');
  const header = (lines.find((l) => l.startsWith('# be_id')) ?? '').slice(2).split(' ');
  const row = (lines.find((l) => / be \d+ s1 /.test(` ${l} `)) ?? '').split(' ');
  return Object.fromEntries(header.map((h, i) => [h, row[i] ?? '']));
}

test('set server be/s1 addr 127.0.0.1 port B: traffic, pool, checks and views follow', async (t) => {
  const a = await backend('from-A');
  const b = await backend('from-B');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-set-addr-'));
  const sock = path.join(dir, 'admin.sock');
  const fePort = await freePort();
  const statsPort = await freePort();
  const cfg = `global
    stats socket ${sock} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
frontend fe
    bind 127.0.0.1:${fePort}
    default_backend be
backend be
    option httpchk GET /
    server s1 127.0.0.1:${a.port} check inter 100ms fall 2 rise 2
listen stats
    bind 127.0.0.1:${statsPort}
    stats enable
    stats uri /stats
    stats show-legends
`;
  const file = path.join(dir, 'lb.cfg');
  fs.writeFileSync(file, cfg);
  const lb = await startLb(file, fePort);
  const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(async () => {
    keep.destroy();
    await lb.stop();
    for (const s of [...a.open, ...b.open]) s.destroy();
    a.server.close();
    b.server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await until('lb started', () => lb.stderr().includes('started.'));
  await until('s1 checked UP on A', async () => (await serverState(sock))['srv_check_status'] === '15'); // L7OK

  // A client keep-alive connection established before the change, and an idle pooled server
  // connection to A (lb keeps it after the response).
  t.is(await get(fePort, keep), 'from-A');
  t.is(await get(fePort), 'from-A');
  await sleep(100);
  const aConnsBefore = a.open.size;
  t.true(aConnsBefore >= 1, 'lb keeps a pooled connection to A');

  t.is(await cli(sock, `set server be/s1 addr 127.0.0.1 port ${b.port}`), `no need to change the addr, port changed from '${a.port}' to '${b.port}' by 'stats socket command'\n\n`);

  // New requests reach B.
  t.is(await get(fePort), 'from-B');
  // Idle pooled connections to A are closed by lb (A itself would keep them for 60s).
  // The pooled idle one is closed by lb (A itself would keep it for 60s); the one serving the
  // keep-alive client stays established.
  await until('idle pooled connection to A closed', () => a.open.size === aConnsBefore - 1, 2000);
  await sleep(300);
  t.is(a.open.size, aConnsBefore - 1, 'the established connection stays');
  keep.destroy();
  await sleep(300);
  t.is(a.open.size, 0, 'the client gone, its server connection to A is not pooled again');
  for (let i = 0; i < 5; i++) t.is(await get(fePort), 'from-B');

  // The views show the new address.
  const st = await serverState(sock);
  t.is(st['srv_addr'], '127.0.0.1');
  t.is(st['srv_port'], String(b.port));
  t.is(st['srv_check_port'], '0', 'the check has no port of its own');
  // The stats page with `stats show-legends`, and `show stat` on an admin CLI (HAProxy fills
  // addr from operator level up), show it.
  const addrOf = (text: string): string | undefined => {
    const csv = text.split('\n');
    const cols = (csv.find((l) => l.startsWith('# pxname,')) ?? '').slice(2).split(',');
    return (csv.find((l) => l.startsWith('be,s1,')) ?? '').split(',')[cols.indexOf('addr')];
  };
  t.is(addrOf(await getPath(statsPort, '/stats;csv')), `127.0.0.1:${b.port}`);
  t.is(addrOf(await cli(sock, 'show stat')), `127.0.0.1:${b.port}`);
  t.regex(await cli(sock, 'show stat typed'), new RegExp(`^S\\.\\d+\\.1\\.73\\.addr\\.1:CGS:str:127\\.0\\.0\\.1:${b.port}$`, 'm'));
  t.is(addrOf(await cli(sock, 'user; show stat')), '', 'a user-level session sees no address');

  // The health check follows: A is gone for good, B answers the checks, s1 stays UP.
  a.server.close();
  a.server.closeAllConnections();
  const bHits = b.hits();
  await sleep(800); // ≥ 8 check intervals: fall 2 would have put s1 DOWN if checks still went to A
  t.true(b.hits() - bHits >= 3, `B answers the checks (${b.hits() - bHits} requests)`);
  const after = await serverState(sock);
  t.is(after['srv_op_state'], '2', 'still running');
  t.is(after['srv_check_status'], '15', 'L7OK');
  t.is(await get(fePort), 'from-B');
  t.is(await get(fePort, keep), 'from-B');
});
