// Error statuses with HAProxy 2.6's exact bytes, errorfile, timeouts, the reused-connection race,
// option forwardfor and the rule hooks.
import test from 'ava';
import { DEFAULT_ERROR_PAGES, ErrorFileError, loadErrorFile, localResponse } from '../../../lb/proxy/http-errors.ts';
import { cidrPredicate } from '../../../lb/proxy/http.ts';
import { closingServer, deadPort, okResponse, scriptedHttpServer, stalledServer } from '../../helpers/backends.ts';
import { Client, GET, makeBackend, once, sleep, startHttpProxy, until } from './harness.ts';

const page = (s: number): string => DEFAULT_ERROR_PAGES.get(s)!.bytes(true, 11).toString('latin1');

test('400: a smuggling vector gets the raw built-in page and the connection closes; nothing reaches the server', async (t) => {
  const b = await scriptedHttpServer(() => okResponse('x'));
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const r = await once(p.port, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
  t.is(r.raw.toString('latin1'), DEFAULT_ERROR_PAGES.get(400)!.raw.toString('latin1'));
  t.true(r.raw.toString().startsWith('HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\n'));
  t.true(r.closed);
  t.is(b.connections, 0);
  t.is(p.fe.counters.reqErrors, 1);
  t.is(p.fe.counters.hrsp4xx, 1);
});

test('408: slowloris (head not complete within timeout http-request) and a silent connection', async (t) => {
  const b = await scriptedHttpServer(() => okResponse('x'));
  const p = await startHttpProxy({ ports: [b.port], frontend: { timeouts: { httpRequest: 300, client: 5000 } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  const t0 = performance.now();
  const parts = ['GET / HT', 'TP/1.1\r\n', 'host: x\r\n', 'x-a: 1\r\n', 'x-b: 2\r\n', 'x-c: 3\r\n'];
  for (const part of parts) {
    if (c.ended) break;
    c.write(part);
    await sleep(100);
  }
  const rest = (await c.rest(2000)).toString('latin1');
  t.is(rest, DEFAULT_ERROR_PAGES.get(408)!.raw.toString('latin1'));
  t.true(performance.now() - t0 < 1500);
  const silent = await Client.open(p.port);
  t.is((await silent.rest(2000)).toString('latin1'), DEFAULT_ERROR_PAGES.get(408)!.raw.toString('latin1'));
  t.is(b.connections, 0);
  // Regression: the half-parsed head of the slowloris must not leak into a recycled parser.
  for (let i = 0; i < 3; i++) t.is((await once(p.port, GET())).status, 200);
});

test('timeout http-keep-alive closes an idle client connection silently', async (t) => {
  const b = await scriptedHttpServer(() => okResponse('x'));
  const p = await startHttpProxy({ ports: [b.port], frontend: { timeouts: { httpRequest: 5000, httpKeepAlive: 200 } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  c.write(GET());
  await c.response();
  const t0 = performance.now();
  t.is((await c.rest(3000)).length, 0);
  t.true(c.ended);
  t.true(performance.now() - t0 < 2000);
});

test('502: server closes before answering, or answers garbage; keep-alive kept as haproxy does', async (t) => {
  const closing = await closingServer();
  const garbage = await scriptedHttpServer(() => 'HTTP/1.1 2000 Nope\r\n\r\n');
  const p1 = await startHttpProxy({ ports: [closing.port] });
  const p2 = await startHttpProxy({ ports: [garbage.port] });
  t.teardown(async () => {
    await p1.stop();
    await p2.stop();
    await closing.close();
    await garbage.close();
  });
  for (const p of [p1, p2]) {
    const c = await Client.open(p.port);
    c.write(GET());
    const r = await c.response();
    t.is(r.raw.toString('latin1'), page(502));
    t.false(c.ended);
    c.close();
    t.is(p.be.counters.respErrors, 1);
  }
});

test('503: no server reachable after retries, no usable server, queue timeout', async (t) => {
  const port = await deadPort();
  const p = await startHttpProxy({ ports: [port], backend: { retries: 1, timeouts: { connect: 200, server: 1000 } } });
  const stalled = await stalledServer();
  const q = await startHttpProxy({ ports: [{ port: stalled.port, maxconn: 1 }], backend: { timeouts: { connect: 500, server: 5000, queue: 200 } } });
  t.teardown(async () => {
    await p.stop();
    await q.stop();
    await stalled.close();
  });
  const r = await once(p.port, GET(), { ms: 5000 });
  t.is(r.raw.toString('latin1'), page(503));
  t.is(p.be.counters.connectErrors, 1);
  t.is(p.be.counters.retries, 1);
  // Queue: the first request holds the only slot, the second waits then gets 503.
  const a = await Client.open(q.port);
  a.write(GET());
  await until(() => q.servers[0]!.counters.sessCur === 1);
  const r2 = await once(q.port, GET(), { ms: 3000 });
  t.is(r2.raw.toString('latin1'), page(503));
  t.is(q.be.counters.queueTimeouts, 1);
  a.close();
});

test('504: timeout server while waiting for the response', async (t) => {
  const b = await stalledServer();
  const p = await startHttpProxy({ ports: [b.port], backend: { timeouts: { connect: 500, server: 300 } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const t0 = performance.now();
  const r = await once(p.port, GET());
  t.is(r.raw.toString('latin1'), page(504));
  t.true(performance.now() - t0 >= 250);
  t.is(p.fe.counters.hrsp5xx, 1);
});

test('errorfile: Debian 503.http is loaded once and re-emitted as haproxy 2.6 does (lowercase, then close)', async (t) => {
  const file = '/etc/haproxy/errors/503.http';
  let ep;
  try {
    ep = loadErrorFile(503, file);
  } catch {
    t.log(`SKIPPED: ${file} missing`);
    t.pass();
    return;
  }
  const port = await deadPort();
  const p = await startHttpProxy({ ports: [port], backend: { retries: 0, http: { errorPages: new Map([[503, ep]]) } } });
  t.teardown(() => p.stop());
  const r = await once(p.port, GET());
  t.is(
    r.raw.toString('latin1'),
    'HTTP/1.0 503 Service Unavailable\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n\n',
  );
  t.true(r.closed);
  t.throws(() => loadErrorFile(418, file), { instanceOf: ErrorFileError, message: /status code 418/ });
  t.throws(() => loadErrorFile(503, '/nonexistent/x.http'), { instanceOf: ErrorFileError });
});

test('a reused server connection closed by the server before answering: retried once on a new one', async (t) => {
  // Second request on each backend connection: closed without an answer (the race).
  const b = await scriptedHttpServer((r) => (r.seq === 2 ? { action: 'close' as const } : okResponse(`conn ${r.conn}`)));
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  c.write(GET());
  t.is((await c.response()).body.toString(), 'conn 1');
  c.write(GET());
  const r = await c.response();
  t.is(r.status, 200);
  t.is(r.body.toString(), 'conn 2');
  t.is(b.connections, 2);
  // Not for a POST with a body: that one gets 502.
  c.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\nx');
  t.is((await c.response()).status, 502);
  c.close();
});

test('option forwardfor: added, except, header NAME, if-none', async (t) => {
  const b = await scriptedHttpServer((r) => okResponse(JSON.stringify(r.headers.filter((h) => h[0].startsWith('x-')))));
  const plain = await startHttpProxy({ ports: [b.port], frontend: { http: { forwardFor: { header: 'X-Forwarded-For', ifNone: false } } } });
  const except = await startHttpProxy({ ports: [b.port], backend: { http: { forwardFor: { header: 'X-Forwarded-For', ifNone: false, except: cidrPredicate('127.0.0.0/8') } } } });
  const named = await startHttpProxy({ ports: [b.port], backend: { http: { forwardFor: { header: 'X-Client', ifNone: true } } } });
  t.teardown(async () => {
    await plain.stop();
    await except.stop();
    await named.stop();
    await b.close();
  });
  let r = await once(plain.port, GET('/', 'X-Forwarded-For: 1.2.3.4\r\n'));
  t.deepEqual(JSON.parse(r.body.toString()), [['x-forwarded-for', '1.2.3.4'], ['x-forwarded-for', '127.0.0.1']]);
  r = await once(except.port, GET());
  t.deepEqual(JSON.parse(r.body.toString()), []);
  r = await once(named.port, GET());
  t.deepEqual(JSON.parse(r.body.toString()), [['x-client', '127.0.0.1']]);
  r = await once(named.port, GET('/', 'x-client: 9.9.9.9\r\n'));
  t.deepEqual(JSON.parse(r.body.toString()), [['x-client', '9.9.9.9']]);
  t.true(cidrPredicate('10.0.0.0/8')('::ffff:10.1.2.3'));
  t.false(cidrPredicate('10.0.0.0/8')('11.0.0.1'));
  t.true(cidrPredicate('2001:db8::/32')('2001:db8::1'));
});

test('hooks: deny, redirect, return, set headers both ways, use_backend, response deny → 502', async (t) => {
  const b1 = await scriptedHttpServer((r) => okResponse(`b1 ${r.headers.find((h) => h[0] === 'x-proto')?.[1] ?? '-'}`, 'Server: leaky\r\n'));
  const b2 = await scriptedHttpServer(() => okResponse('b2'));
  const other = makeBackend('other', [b2.port]);
  const p = await startHttpProxy({
    ports: [b1.port],
    frontend: {
      http: {
        hooks: {
          onRequest(txn) {
            if (txn.path === '/deny') txn.deny();
            else if (txn.path === '/deny429') txn.deny(429);
            else if (txn.path.startsWith('/old')) txn.redirect(`https://example.com${txn.url}`, 301);
            else if (txn.path === '/return') txn.respond(localResponse(200, 'OK', [['content-type', 'text/plain']], 'hello'));
            else if (txn.path.startsWith('/two')) txn.useBackend(other);
            txn.req.set('X-Proto', txn.sslFc ? 'https' : 'http');
          },
          onResponse(txn) {
            txn.res?.del('server');
            txn.res?.set('X-Frame-Options', 'DENY');
            if (txn.path === '/secret') txn.deny();
          },
        },
      },
    },
  });
  t.teardown(async () => {
    await p.stop();
    await b1.close();
    await b2.close();
  });
  const c = await Client.open(p.port);
  c.write(GET('/deny'));
  t.is((await c.response()).raw.toString('latin1'), page(403));
  c.write(GET('/deny429'));
  t.is((await c.response()).status, 429);
  c.write(GET('/old/x?y=1'));
  let r = await c.response();
  t.is(r.raw.toString('latin1'), 'HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://example.com/old/x?y=1\r\n\r\n');
  c.write(GET('/return'));
  r = await c.response();
  t.is(r.raw.toString('latin1'), 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\nhello');
  c.write(GET('/app'));
  r = await c.response();
  t.is(r.body.toString(), 'b1 http');
  t.is(r.header('server'), undefined);
  t.is(r.header('x-frame-options'), 'DENY');
  c.write(GET('/two'));
  r = await c.response();
  t.is(r.body.toString(), 'b2');
  c.write(GET('/secret'));
  r = await c.response();
  t.is(r.raw.toString('latin1'), page(502));
  t.false(c.ended);
  t.is(p.fe.counters.deniedReq, 2);
  t.is(p.fe.counters.deniedResp, 1);
  t.is(other.counters.reqTotal, 1);
  c.close();
});
