// Differential run of the seed's "Complete Production Configuration": the same rewritten config
// (without the stick-table lines, see production-harness.ts) under Debian's haproxy 2.6 and under
// `lb`, each on its own free ports, both in front of the SAME backends. A fixed list of requests
// goes to both; status, Location, which pool answered, the three security headers and the
// X-Forwarded-For the backend saw must agree. Skips loudly when haproxy is missing.
//
// The haproxy instance gets two environment-only adjustments, never the lb one:
//   - `no strict-limits` after `maxconn 50000`: haproxy 2.6 wants 100039 fds for that maxconn and
//     refuses to start when the hard limit is lower (20000 in test containers); with the line it
//     warns and carries on, which is all this comparison needs.
//   - without root, `chroot`/`user`/`group` are dropped (haproxy cannot chroot or setuid then).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { makeTestPki, opensslAvailable, type TestPki } from '../helpers/certs.ts';
import { freePorts, haveCommand } from '../proxy/run/harness.ts';
import {
  certDir, curlHttp, curlHttps, HOST, OFFICE, poolOf, presentedCn, renderProduction, SECURITY_HEADERS, startHaproxy, startLbProc,
  startPools, tempDir, tls12With, tlsExchange, varsFor, waitListening, wsConnect, xffOf,
  type HttpAnswer, type Pools, type Proc, type ProductionVars,
} from './production-harness.ts';

const READY = haveCommand('haproxy') && haveCommand('curl') && opensslAvailable();

interface Side {
  readonly name: 'haproxy' | 'lb';
  readonly vars: ProductionVars;
  readonly proc: Proc;
  listening: boolean;
}

interface Bench {
  pki: TestPki;
  pools: Pools;
  run: { dir: string; cleanup(): void };
  sides: Side[];
}
let bench: Bench | undefined;

function haproxyText(text: string): string {
  let out = text.replace(/^maxconn 50000$/m, 'maxconn 50000\nno strict-limits');
  if (process.getuid?.() !== 0) out = out.replace(/^(chroot|user|group) .*$/gm, '# $& (dropped: not root)');
  return out;
}

test.before(async () => {
  if (!READY) return;
  const pki = makeTestPki();
  const pools = await startPools();
  const run = tempDir('hapair-e2e-diff-');
  const certs = certDir(pki);
  const sides: Side[] = [];
  for (const name of ['haproxy', 'lb'] as const) {
    const ports = await freePorts(3);
    const dir = join(run.dir, name);
    mkdirSync(dir);
    const vars = varsFor(pools, ports, dir, certs);
    const text = renderProduction(vars, { stick: false });
    const file = join(dir, 'production.cfg');
    writeFileSync(file, name === 'haproxy' ? haproxyText(text) : text);
    const proc = name === 'haproxy' ? startHaproxy(file) : startLbProc(file);
    sides.push({ name, vars, proc, listening: await waitListening(proc, ports) });
  }
  bench = { pki, pools, run, sides };
});

test.after.always(async () => {
  if (bench === undefined) return;
  await Promise.all(bench.sides.map((s) => s.proc.stop()));
  await bench.pools.close();
  bench.run.cleanup();
  bench.pki.cleanup();
});

function ready(t: ExecutionContext): Bench | undefined {
  if (!READY) {
    t.log(`SKIPPED: the haproxy differential did not run (${haveCommand('haproxy') ? 'curl or openssl missing' : 'haproxy is not installed'})`);
    t.pass();
    return undefined;
  }
  const bb = bench!;
  for (const s of bb.sides) {
    if (!s.listening) {
      t.fail(`${s.name} did not listen on every port:\n${s.proc.stderr()}`);
      return undefined;
    }
  }
  return bb;
}

/** What must agree: status, Location (ports named), pool, security headers, XFF seen by the server. */
function summary(a: HttpAnswer, v: ProductionVars): string {
  const loc = (a.headers.get('location') ?? []).map((l) => l.replace(`:${v.HTTP_PORT}/`, ':HTTP_PORT/').replace(`:${v.HTTPS_PORT}/`, ':HTTPS_PORT/'));
  // No JSON from a backend: the proxy answered itself.
  const seen = xffOf(a.body);
  const xff = seen === undefined ? '-' : JSON.stringify(seen);
  const sec = SECURITY_HEADERS.map(([k]) => `${k}=${(a.headers.get(k) ?? []).join('|') || '-'}`);
  return [`status=${a.status}`, `location=${loc.join('|') || '-'}`, `pool=${poolOf(a.headers.get('x-served-by')?.[0])}`, ...sec, `xff=${xff}`].join(' ');
}

type Request = readonly [label: string, run: (v: ProductionVars, ca: string) => Promise<HttpAnswer>];

const REQUESTS: readonly Request[] = [
  ['http GET /', (v) => curlHttp(v.HTTP_PORT, '/')],
  ['http GET /x?y=1', (v) => curlHttp(v.HTTP_PORT, '/x?y=1')],
  ['http GET /api/v1/users', (v) => curlHttp(v.HTTP_PORT, '/api/v1/users')],
  ['http GET /admin/ from office', (v) => curlHttp(v.HTTP_PORT, '/admin/', { from: OFFICE })],
  ['https GET /', (v, ca) => curlHttps(v.HTTPS_PORT, '/', ca)],
  ['https GET /index.html', (v, ca) => curlHttps(v.HTTPS_PORT, '/index.html', ca)],
  ['https GET /api/v1/users', (v, ca) => curlHttps(v.HTTPS_PORT, '/api/v1/users', ca)],
  ['https GET /api/health', (v, ca) => curlHttps(v.HTTPS_PORT, '/api/health', ca)],
  ['https GET /api (no slash)', (v, ca) => curlHttps(v.HTTPS_PORT, '/api', ca)],
  ['https GET /admin/', (v, ca) => curlHttps(v.HTTPS_PORT, '/admin/', ca)],
  ['https GET /admin/ from office', (v, ca) => curlHttps(v.HTTPS_PORT, '/admin/', ca, { from: OFFICE })],
  ['https GET /admin/users from office', (v, ca) => curlHttps(v.HTTPS_PORT, '/admin/users', ca, { from: OFFICE })],
  ['https GET /admin from office', (v, ca) => curlHttps(v.HTTPS_PORT, '/admin', ca, { from: OFFICE })],
  ['https GET /ws without Upgrade', (v, ca) => curlHttps(v.HTTPS_PORT, '/ws', ca)],
  ['https GET /api/x with Upgrade: websocket', (v, ca) => curlHttps(v.HTTPS_PORT, '/api/x', ca, { headers: ['Upgrade: WebSocket', 'Connection: Upgrade'] })],
  ['https POST /api/items', (v, ca) => curlHttps(v.HTTPS_PORT, '/api/items', ca, { headers: ['Content-Type: application/json'], data: '{"name":"x"}' })],
  ['https X-Forwarded-For from the client', (v, ca) => curlHttps(v.HTTPS_PORT, '/', ca, { headers: ['X-Forwarded-For: 192.0.2.7'] })],
  ['https server 404', (v, ca) => curlHttps(v.HTTPS_PORT, '/status/404', ca)],
  ['https server 503', (v, ca) => curlHttps(v.HTTPS_PORT, '/status/503', ca)],
  ['https invalid server response → 502', (v, ca) => curlHttps(v.HTTPS_PORT, '/garbage', ca)],
  ['https malformed request → 400', (v, ca) => tlsExchange(v.HTTPS_PORT, ca, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Header\r\n\r\n`)],
];

/** Sends `req` to haproxy then lb; returns both summaries. */
async function both(bb: Bench, run: Request[1]): Promise<[string, string]> {
  const out: string[] = [];
  for (const s of bb.sides) out.push(summary(await run(s.vars, bb.pki.caCert), s.vars));
  return [out[0] ?? '', out[1] ?? ''];
}

const stderrs = (bb: Bench): string => bb.sides.map((s) => `--- ${s.name} stderr:\n${s.proc.stderr().slice(-2000)}`).join('\n');

test.serial('fixed request list: lb answers like haproxy 2.6 (status, Location, pool, security headers, XFF)', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const seen: string[] = [];
  for (const [label, run] of REQUESTS) {
    const [h, l] = await both(bb, run);
    seen.push(h);
    t.is(l, h, `${label}\n${stderrs(bb)}`);
  }
  // The comparison saw real, varied answers (not two identical failures).
  t.true(seen.some((s) => s.startsWith('status=301 location=https://example.com:HTTP_PORT/x?y=1 ')), seen.join('\n'));
  t.true(seen.some((s) => s.includes('pool=api') && s.includes('x-frame-options=SAMEORIGIN')), seen.join('\n'));
  t.true(seen.some((s) => s.includes('pool=admin') && s.includes('xff=["127.0.0.2"]')), seen.join('\n'));
  t.true(seen.some((s) => s.startsWith('status=502 ') && s.includes('pool=-')), seen.join('\n'));
});

test.serial('WebSocket upgrade: same pool, same server per source address (balance source), same 101 headers', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const ca = bb.pki.caCert;
  for (const from of ['127.0.0.1', OFFICE, '127.0.0.3', '127.0.0.4']) {
    const got: string[] = [];
    for (const s of bb.sides) {
      const c = await wsConnect(s.vars.HTTPS_PORT, ca, { localAddress: from });
      const hello = (await c.next())?.payload.toString() ?? '-';
      c.send(1, Buffer.from(`echo-${from}`));
      const echo = (await c.next())?.payload.toString() ?? '-';
      c.close();
      const sec = SECURITY_HEADERS.map(([k]) => `${k}=${c.header(k).join('|') || '-'}`);
      got.push([`status=${c.status}`, `server=${c.header('x-served-by').join('|')}`, hello, echo, ...sec].join(' '));
    }
    t.is(got[1], got[0], `from ${from}\n${stderrs(bb)}`);
    t.regex(got[0] ?? '', /^status=101 server=ws[12] hello from ws[12] echo-/);
  }
});

test.serial('TLS: same certificate per SNI, same TLS 1.2 cipher policy', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  const ca = bb.pki.caCert;
  const probe = async (port: number): Promise<string[]> => [
    ...(await Promise.all(['example.com', 'api.example.com', 'blog.example.com', 'www.example.com', 'unknown.test'].map((n) => presentedCn(port, ca, n)))),
    await tls12With(port, ca, 'ECDHE-ECDSA-AES128-GCM-SHA256'),
    await tls12With(port, ca, 'ECDHE-ECDSA-AES256-GCM-SHA384'),
  ];
  const [h, l] = [await probe(bb.sides[0]!.vars.HTTPS_PORT), await probe(bb.sides[1]!.vars.HTTPS_PORT)];
  t.deepEqual(l, h);
  t.deepEqual(h, ['example.com', 'api.example.com', 'blog.example.com', '*.example.com', 'example.com', 'ok', 'refused']);
});

test.serial('stats listener: same status and auth/refresh headers with and without credentials', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  for (const user of [undefined, 'admin:wrong', 'admin:secretpassword']) {
    const got: string[] = [];
    for (const s of bb.sides) {
      const a = await curlHttp(s.vars.STATS_PORT, '/stats', { host: '127.0.0.1', ...(user !== undefined ? { user } : {}) });
      got.push([`status=${a.status}`, `www-authenticate=${a.headers.get('www-authenticate')?.join('|') ?? '-'}`, `refresh=${a.headers.get('refresh')?.join('|') ?? '-'}`,
        `content-type=${a.headers.get('content-type')?.join('|') ?? '-'}`].join(' '));
    }
    t.is(got[1], got[0], `user ${user ?? '(none)'}\n${stderrs(bb)}`);
  }
});

// Last: stops the admin server for good.
test.serial('admin1 gone: both answer /admin/ from the office with their own 503, without security headers', async (t) => {
  const bb = ready(t);
  if (bb === undefined) return;
  for (const s of bb.pools.admin) await s.close();
  const [h, l] = await both(bb, (v, ca) => curlHttps(v.HTTPS_PORT, '/admin/', ca, { from: OFFICE }));
  t.is(l, h, stderrs(bb));
  t.is(h, 'status=503 location=- pool=- x-frame-options=- x-content-type-options=- strict-transport-security=- xff=-');
});
