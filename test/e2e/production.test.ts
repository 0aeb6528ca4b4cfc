// The seed's "Practical: Complete Production Configuration" (haproxy-chapter.txt), end to end:
// a real `lb -d -f cfg` child process, the seed's config rewritten to loopback (see
// production-harness.ts), local backends for every pool, real curl for HTTP(S), node:tls for the
// WebSocket and raw requests.
//
// What the rewrite keeps, and why:
//   - `log /dev/log ...`: kept; /dev/log is absent in test containers and lb (like haproxy 2.6,
//     which only prints an ALERT per failed send) keeps running and drops the messages.
//   - `chroot`, `user`, `group`, `daemon`: kept; lb -d runs in the foreground and warns that
//     chroot/user/group are not applied yet (asserted below), so nothing is silently ignored.
//   - the three stick-table rate-limit lines: a later issue. `lb -c` warns per line, `lb -f`
//     refuses to start on them; the end-to-end run uses the config without them.
//
// Expectations about what carries the security headers were taken from Debian's haproxy 2.6 on
// this same config (production-diff.test.ts compares the two): http-response rules apply to every
// response that comes from a server, the 101 of a WebSocket upgrade included, and NOT to the
// responses haproxy generates itself (400, 502, 503: no http-after-response here).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { makeTestPki, opensslAvailable, OPENSSL_MISSING, type TestPki } from '../helpers/certs.ts';
import { freePorts, haveCommand } from '../proxy/run/harness.ts';
import {
  certDir, curlHttp, curlHttps, HOST, OFFICE, presentedCn, renderProduction, runLb, SECURITY_HEADERS, SEED, startLbProc,
  startPools, STICK_LINES, TEMPLATE, tempDir, tls12With, tlsExchange, until, varsFor, waitListening, wsConnect, xffOf,
  type AppServer, type HttpAnswer, type Pools, type Proc, type ProductionVars,
} from './production-harness.ts';

const READY = opensslAvailable() && haveCommand('curl');

interface Bench {
  pki: TestPki;
  pools: Pools;
  run: { dir: string; cleanup(): void };
  vars: ProductionVars;
  lb: Proc | undefined;
  listening: boolean;
}
let bench: Bench | undefined;

function b(): Bench {
  if (bench === undefined) throw new Error('bench not started');
  return bench;
}

/** Renders the config for this bench into its run dir; returns the file. */
function writeCfg(bb: Bench, name: string, stick: boolean): string {
  const file = join(bb.run.dir, name);
  writeFileSync(file, renderProduction(bb.vars, { stick }));
  return file;
}

test.before(async () => {
  if (!READY) return;
  const pki = makeTestPki();
  const pools = await startPools();
  const run = tempDir('hapair-e2e-prod-');
  const ports = await freePorts(3);
  const vars = varsFor(pools, ports, run.dir, certDir(pki));
  bench = { pki, pools, run, vars, lb: undefined, listening: false };
  const lb = startLbProc(writeCfg(bench, 'production.cfg', false));
  bench.lb = lb;
  bench.listening = await waitListening(lb, ports);
});

test.after.always(async () => {
  if (bench === undefined) return;
  await bench.lb?.stop();
  await bench.pools.close();
  bench.run.cleanup();
  bench.pki.cleanup();
});

/** Skips loudly when curl/openssl are missing; fails with lb's stderr when lb is not listening. */
function ready(t: { log(...a: unknown[]): void; pass(): void; fail(m: string): void }): Bench | undefined {
  if (!READY) {
    t.log(`SKIPPED: ${opensslAvailable() ? 'curl is not installed' : OPENSSL_MISSING}`);
    t.pass();
    return undefined;
  }
  const bb = b();
  if (!bb.listening) {
    t.fail(`lb did not listen on every port of the production config:\n${bb.lb?.stderr() ?? ''}`);
    return undefined;
  }
  return bb;
}

function servedBy(a: HttpAnswer): string {
  return a.headers.get('x-served-by')?.[0] ?? `- (status ${a.status}${a.status === 0 ? `, ${a.err}` : ''})`;
}

function xffSeen(a: HttpAnswer): unknown {
  return xffOf(a.body) ?? `no backend JSON in: ${a.body.slice(0, 80)}`;
}

/** The three security headers, each exactly once with the seed's value. */
function securityHeaders(a: HttpAnswer): Record<string, readonly string[] | undefined> {
  return Object.fromEntries(SECURITY_HEADERS.map(([k]) => [k, a.headers.get(k)]));
}
const WITH_SECURITY = Object.fromEntries(SECURITY_HEADERS.map(([k, v]) => [k, [v]]));
const WITHOUT_SECURITY = Object.fromEntries(SECURITY_HEADERS.map(([k]) => [k, undefined]));

const appCount = (servers: readonly AppServer[]): number => servers.reduce((n, s) => n + s.app().length, 0);

// ------------------------------------------------------------------------------ the config itself

test('the rewritten template keeps every line of the seed except addresses, ports and paths', (t) => {
  const seed = readFileSync(SEED, 'utf8').split('\n');
  const tmpl = readFileSync(TEMPLATE, 'utf8').split('\n');
  t.is(tmpl.length, seed.length);
  // Exactly these lines differ, each only where the seed names a host address, a port or a path.
  const rewrites: Record<string, string> = {
    'stats socket /run/haproxy/admin.sock mode 660 level admin': 'stats socket @@RUN_DIR@@/admin.sock mode 660 level admin',
    'bind *:8404': 'bind 127.0.0.1:@@STATS_PORT@@',
    'bind *:80': 'bind 127.0.0.1:@@HTTP_PORT@@',
    'bind *:443 ssl crt /etc/haproxy/certs/': 'bind 127.0.0.1:@@HTTPS_PORT@@ ssl crt @@CERT_DIR@@/',
    'acl from_office src 203.0.113.0/24': `acl from_office src ${OFFICE}/32`,
    'server web1 10.0.1.10:8080 check weight 100': 'server web1 127.0.0.1:@@WEB1_PORT@@ check weight 100',
    'server web2 10.0.1.11:8080 check weight 100': 'server web2 127.0.0.1:@@WEB2_PORT@@ check weight 100',
    'server web3 10.0.1.12:8080 check weight 50 # Less powerful server': 'server web3 127.0.0.1:@@WEB3_PORT@@ check weight 50 # Less powerful server',
    'server api1 10.0.2.10:3000 check': 'server api1 127.0.0.1:@@API1_PORT@@ check',
    'server api2 10.0.2.11:3000 check': 'server api2 127.0.0.1:@@API2_PORT@@ check',
    'server api3 10.0.2.12:3000 check': 'server api3 127.0.0.1:@@API3_PORT@@ check',
    'server ws1 10.0.3.10:3001 check': 'server ws1 127.0.0.1:@@WS1_PORT@@ check',
    'server ws2 10.0.3.11:3001 check': 'server ws2 127.0.0.1:@@WS2_PORT@@ check',
    'server admin1 10.0.4.10:8080 check': 'server admin1 127.0.0.1:@@ADMIN1_PORT@@ check',
  };
  const changed: Array<[string, string]> = [];
  seed.forEach((line, i) => {
    if (tmpl[i] !== line) changed.push([line, tmpl[i] ?? '']);
  });
  t.deepEqual(Object.fromEntries(changed), rewrites);
  for (const l of STICK_LINES) t.true(tmpl.includes(l), `template keeps '${l}'`);
});

test('lb -c on the FULL config: valid, with one plain [WARNING] per stick-table line saying it is not enforced yet', async (t) => {
  if (!READY) {
    t.log('SKIPPED: curl or openssl missing');
    t.pass();
    return;
  }
  const bb = b();
  const file = writeCfg(bb, 'full.cfg', true);
  const lines = readFileSync(file, 'utf8').split('\n');
  const r = await runLb(['-c', '-f', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Configuration file is valid/);
  t.notRegex(r.stderr, /\[ALERT\]/);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('[WARNING]'));
  for (const stick of STICK_LINES) {
    const n = lines.indexOf(stick) + 1;
    t.true(n > 0);
    const w = warnings.filter((l) => l.includes(`[${file}:${n}]`));
    t.is(w.length, 1, `exactly one warning for line ${n} '${stick}':\n${r.stderr}`);
    t.regex(w[0] ?? '', /not (yet )?(supported|enforced)|(supported|enforced) yet|not (supported|enforced) yet/, stick);
  }
  // Nothing else in the seed's config is pending: the only warnings are those three.
  t.is(warnings.length, STICK_LINES.length, r.stderr);
  // The rewrite is still a config haproxy 2.6 accepts as is (when installed).
  if (haveCommand('haproxy')) {
    const h = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8', timeout: 20000 });
    t.is(h.status, 0, h.stderr);
  } else {
    t.log('haproxy not installed: the haproxy -c cross-check did not run');
  }
});

test('lb -d -f on the FULL config refuses to start, naming each stick-table line', async (t) => {
  if (!READY) {
    t.log('SKIPPED: curl or openssl missing');
    t.pass();
    return;
  }
  const bb = b();
  // Its own ports: a refusal that started anyway would collide with the running instance.
  const [s, h, hs] = await freePorts(3);
  const vars: ProductionVars = { ...bb.vars, STATS_PORT: s!, HTTP_PORT: h!, HTTPS_PORT: hs! };
  const file = join(bb.run.dir, 'full-run.cfg');
  writeFileSync(file, renderProduction(vars, { stick: true }).replace('admin.sock', 'admin-full.sock'));
  const lines = readFileSync(file, 'utf8').split('\n');
  const r = await runLb(['-d', '-f', file]);
  t.not(r.code, 0, `lb started on a config with stick tables:\n${r.stderr}`);
  t.not(r.code, null, 'lb had to be killed: it did not refuse at once');
  for (const stick of STICK_LINES) {
    const n = lines.indexOf(stick) + 1;
    t.regex(r.stderr, new RegExp(`\\[ALERT\\].*\\[${file.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${n}\\].*not supported yet`), `line ${n} '${stick}' is named`);
  }
  t.notRegex(r.stderr, /Proxy \S+ started/);
});

// ------------------------------------------------------------------------------ end to end

test.serial('lb runs the seed config: chroot/user/group are warned about, not silently ignored', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  // The notices may reach the pipe a moment after the sockets accept connections.
  const started = ['stats', 'http_front', 'https_front'].map((p) => `Proxy ${p} started.`);
  await until(() => started.every((s) => (bb.lb?.stderr() ?? '').includes(s)));
  const err = bb.lb?.stderr() ?? '';
  t.regex(err, /\[WARNING\].*'chroot'.*'user'.*'group'.*not applied/);
  t.notRegex(err, /\[ALERT\]/);
  for (const s of started) t.true(err.includes(s), s);
});

test.serial('port 80 (http_front) answers 301 to https://same-host/same-path for any path, without reaching a backend', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const before = bb.pools.all().map((s) => ('app' in s ? s.app().length : s.upgrades()));
  const port = bb.vars.HTTP_PORT;
  for (const path of ['/', '/index.html', '/x?y=1&z=2', '/api/users', '/admin/', '/ws']) {
    const a = await curlHttp(port, path, path === '/admin/' ? { from: OFFICE } : {});
    t.is(a.status, 301, `${path}: ${a.err}`);
    t.deepEqual(a.headers.get('location'), [`https://${HOST}:${port}${path}`], path);
  }
  t.deepEqual(bb.pools.all().map((s) => ('app' in s ? s.app().length : s.upgrades())), before, 'no backend saw a request');
});

test.serial('HTTPS / → web_backend round-robin with weights 100/100/50 (50 curl requests: 20/20/10 ±1), XFF added', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const counts: Record<string, number> = { web1: 0, web2: 0, web3: 0 };
  const others = appCount(bb.pools.api) + appCount(bb.pools.admin);
  for (let i = 0; i < 50; i++) {
    const a = await curlHttps(bb.vars.HTTPS_PORT, i % 2 === 0 ? '/' : `/page-${i}`, bb.pki.caCert);
    t.is(a.status, 200, a.err);
    const s = servedBy(a);
    counts[s] = (counts[s] ?? 0) + 1;
    if (i === 0) t.deepEqual(xffSeen(a), ['127.0.0.1'], 'option forwardfor: X-Forwarded-For is the client address');
  }
  t.deepEqual(Object.keys(counts).sort(), ['web1', 'web2', 'web3'], JSON.stringify(counts));
  t.true(Math.abs(counts.web1! - 20) <= 1 && Math.abs(counts.web2! - 20) <= 1 && Math.abs(counts.web3! - 10) <= 1, JSON.stringify(counts));
  t.is(appCount(bb.pools.api) + appCount(bb.pools.admin), others, 'no other pool was used');
});

test.serial('HTTPS /api/ → api_backend leastconn: busy servers are avoided while their requests are held open', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const api = bb.pools.api;
  const web = appCount(bb.pools.web);
  const ca = bb.pki.caCert;
  // Hold one request open: it sits on one server (A) as an active connection.
  const h1 = curlHttps(bb.vars.HTTPS_PORT, '/api/hold-1', ca);
  t.true(await until(() => api.reduce((n, s) => n + s.held(), 0) === 1, 5000), 'the first held request reached the api pool');
  // A second one must go to another server (leastconn: A has 1, the others 0).
  const h2 = curlHttps(bb.vars.HTTPS_PORT, '/api/hold-2', ca);
  t.true(await until(() => api.reduce((n, s) => n + s.held(), 0) === 2, 5000), 'the second held request reached the api pool');
  const busy = api.filter((s) => s.held() > 0).map((s) => s.name);
  t.is(busy.length, 2, `two held requests on two distinct servers (leastconn), got ${api.map((s) => `${s.name}:${s.held()}`).join(' ')}`);
  const idle = api.find((s) => s.held() === 0);
  // Every following request goes to the only idle server.
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const a = await curlHttps(bb.vars.HTTPS_PORT, `/api/x/${i}`, ca);
    t.is(a.status, 200, a.err);
    seen.push(servedBy(a));
  }
  t.deepEqual(seen, Array.from({ length: 8 }, () => idle?.name), `busy: ${busy.join(',')}`);
  for (const s of api) s.release();
  const [r1, r2] = await Promise.all([h1, h2]);
  t.is(r1.status, 200, r1.err);
  t.is(r2.status, 200, r2.err);
  t.true(busy.includes(servedBy(r1)) && busy.includes(servedBy(r2)));
  // All idle again: leastconn spreads sequential requests over all three.
  const after = new Set<string>();
  for (let i = 0; i < 6; i++) after.add(servedBy(await curlHttps(bb.vars.HTTPS_PORT, `/api/y/${i}`, ca)));
  t.deepEqual([...after].sort(), ['api1', 'api2', 'api3']);
  t.is(appCount(bb.pools.web), web, 'web_backend saw none of the /api/ requests');
});

test.serial('WebSocket upgrade on /ws → ws_backend: 101, frames echoed both ways (text and 70 kB binary), balance source sticks', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const port = bb.vars.HTTPS_PORT;
  const ca = bb.pki.caCert;
  const c = await wsConnect(port, ca);
  try {
    t.is(c.status, 101, c.head);
    t.deepEqual(c.header('sec-websocket-accept'), ['bLPOGp+2vXpd7hDbApzCBEpm4ZA='], 'the server handshake reached the client unchanged');
    const server = c.header('x-served-by')[0] ?? '';
    t.regex(server, /^ws[12]$/);
    const hello = await c.next();
    t.is(hello?.payload.toString(), `hello from ${server}`, 'server → client frame');
    c.send(1, Buffer.from('ping-1'));
    const echo = await c.next();
    t.is(echo?.opcode, 1);
    t.is(echo?.payload.toString(), 'ping-1', 'client → server → client text frame');
    const big = Buffer.alloc(70000, 0);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    c.send(2, big);
    const back = await c.next(5000);
    t.is(back?.opcode, 2);
    t.true(back?.payload.equals(big), `70000-byte binary frame echoed intact (got ${back?.payload.length ?? 'nothing'})`);
  } finally {
    c.close();
  }
  // balance source: the same client address always lands on the same server.
  for (const from of ['127.0.0.1', OFFICE]) {
    const picked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const w = await wsConnect(port, ca, { localAddress: from });
      picked.push(w.header('x-served-by')[0] ?? '-');
      w.close();
    }
    t.is(new Set(picked).size, 1, `${from}: ${picked.join(' ')}`);
    t.regex(picked[0] ?? '', /^ws[12]$/);
  }
});

test.serial('/admin/ from the office (127.0.0.2) → admin_backend; from 127.0.0.1 → web_backend (default)', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const ca = bb.pki.caCert;
  const office = await curlHttps(bb.vars.HTTPS_PORT, '/admin/', ca, { from: OFFICE });
  t.is(office.status, 200, office.err);
  t.is(servedBy(office), 'admin1');
  t.deepEqual(xffSeen(office), [OFFICE]);
  const other = await curlHttps(bb.vars.HTTPS_PORT, '/admin/', ca, { from: '127.0.0.1' });
  t.is(other.status, 200, other.err);
  t.regex(servedBy(other), /^web[123]$/);
  t.deepEqual(xffSeen(other), ['127.0.0.1']);
  // is_admin is path_beg /admin/: /admin without the slash is not admin, even from the office.
  t.regex(servedBy(await curlHttps(bb.vars.HTTPS_PORT, '/admin', ca, { from: OFFICE })), /^web[123]$/);
});

test.serial('option forwardfor appends the client address after an X-Forwarded-For the client sent', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const a = await curlHttps(bb.vars.HTTPS_PORT, '/xff', bb.pki.caCert, { headers: ['X-Forwarded-For: 192.0.2.7'] });
  t.is(a.status, 200, a.err);
  t.deepEqual(xffSeen(a), ['192.0.2.7', '127.0.0.1']);
});

test.serial('security headers on every response from a server (200s of each pool, a server 404/500, the WebSocket 101)', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const ca = bb.pki.caCert;
  const port = bb.vars.HTTPS_PORT;
  const cases: Array<[string, Promise<HttpAnswer>, number]> = [
    ['web 200', curlHttps(port, '/', ca), 200],
    ['api 200', curlHttps(port, '/api/z', ca), 200],
    ['admin 200', curlHttps(port, '/admin/', ca, { from: OFFICE }), 200],
    ['server 404', curlHttps(port, '/status/404', ca), 404],
    ['server 500', curlHttps(port, '/status/500', ca), 500],
  ];
  for (const [label, p, status] of cases) {
    const a = await p;
    t.is(a.status, status, `${label}: ${a.err}`);
    t.deepEqual(securityHeaders(a), WITH_SECURITY, label);
  }
  const w = await wsConnect(port, ca);
  w.close();
  t.is(w.status, 101);
  t.deepEqual(
    Object.fromEntries(SECURITY_HEADERS.map(([k]) => [k, w.header(k).length > 0 ? w.header(k) : undefined])),
    WITH_SECURITY,
    `haproxy 2.6 applies http-response rules to the 101 too; lb sent:\n${w.head}`,
  );
});

test.serial('responses lb generates itself (400 bad request, 502 invalid server response) carry no security headers, as in haproxy 2.6', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const bad = await tlsExchange(bb.vars.HTTPS_PORT, bb.pki.caCert, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Header\r\n\r\n`);
  t.is(bad.status, 400);
  t.deepEqual(securityHeaders(bad), WITHOUT_SECURITY);
  const garbage = await curlHttps(bb.vars.HTTPS_PORT, '/garbage', bb.pki.caCert);
  t.is(garbage.status, 502, garbage.err);
  t.deepEqual(securityHeaders(garbage), WITHOUT_SECURITY);
});

test.serial('TLS: the crt directory picks by SNI (default = first file), ssl-default-bind-ciphers is enforced on TLS 1.2', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const port = bb.vars.HTTPS_PORT;
  const ca = bb.pki.caCert;
  t.is(await presentedCn(port, ca, 'api.example.com'), 'api.example.com');
  t.is(await presentedCn(port, ca, 'blog.example.com'), 'blog.example.com');
  t.is(await presentedCn(port, ca, 'www.example.com'), '*.example.com');
  t.is(await presentedCn(port, ca, 'unknown.test'), 'example.com');
  t.is(await tls12With(port, ca, 'ECDHE-ECDSA-AES128-GCM-SHA256'), 'ok');
  t.is(await tls12With(port, ca, 'ECDHE-ECDSA-AES256-GCM-SHA384'), 'refused', 'a cipher outside ssl-default-bind-ciphers');
});

test.serial('stats listener: 401 without credentials, 401 with a wrong password, 200 with admin:secretpassword', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const port = bb.vars.STATS_PORT;
  const none = await curlHttp(port, '/stats', { host: '127.0.0.1' });
  t.is(none.status, 401, none.err);
  t.deepEqual(none.headers.get('www-authenticate'), ['Basic realm="HAProxy Statistics"']);
  const wrong = await curlHttp(port, '/stats', { host: '127.0.0.1', user: 'admin:nope' });
  t.is(wrong.status, 401, wrong.err);
  const ok = await curlHttp(port, '/stats', { host: '127.0.0.1', user: 'admin:secretpassword' });
  t.is(ok.status, 200, ok.err);
  t.deepEqual(ok.headers.get('refresh'), ['10'], 'stats refresh 10s');
  for (const name of ['web_backend', 'api_backend', 'ws_backend', 'admin_backend', 'web3']) t.true(ok.body.includes(name), name);
});

// Last: it stops a backend server for good.
test.serial('admin1 gone: /admin/ from the office → 503 from lb itself, without security headers (as haproxy 2.6)', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  for (const s of bb.pools.admin) await s.close();
  const t0 = Date.now();
  const a = await curlHttps(bb.vars.HTTPS_PORT, '/admin/', bb.pki.caCert, { from: OFFICE });
  t.is(a.status, 503, a.err);
  t.deepEqual(securityHeaders(a), WITHOUT_SECURITY);
  t.true(Date.now() - t0 < 8000, 'retries 3 end within a few seconds');
  // The rest of the site is unaffected.
  t.is((await curlHttps(bb.vars.HTTPS_PORT, '/', bb.pki.caCert)).status, 200);
});

test.serial('SIGTERM stops lb cleanly (exit 0)', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const code = await bb.lb?.stop();
  t.is(code, 0, bb.lb?.stderr());
});
