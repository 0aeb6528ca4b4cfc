// L7 data path on real loopback sockets: keep-alive on both sides, pipelining, bodies by both
// framings with backpressure, bodyless responses, interim responses, WebSocket tunnel.
import test from 'ava';
import { createHash } from 'node:crypto';
import { idleConnectionCount } from '../../../lb/proxy/http.ts';
import { okResponse, scriptedHttpServer, stalledServer } from '../../helpers/backends.ts';
import { Client, GET, startHttpProxy, streamingServer, until } from './harness.ts';

test('keep-alive: one client connection, one server connection, reused for every request', async (t) => {
  const b = await scriptedHttpServer((r) => okResponse(`hello ${r.target} #${r.seq}`));
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  for (let i = 1; i <= 5; i++) {
    c.write(GET(`/r${i}`));
    const r = await c.response();
    t.is(r.status, 200);
    t.is(r.body.toString(), `hello /r${i} #${i}`);
    t.is(r.header('connection'), undefined);
  }
  t.is(b.connections, 1);
  t.false(c.ended);
  t.is(p.fe.counters.reqTotal, 5);
  t.is(p.fe.counters.hrsp2xx, 5);
  t.is(p.be.counters.sessCur, 0);
  t.is(p.servers[0]?.counters.sessCur, 0);
  c.close();
  // The idle server connection goes to the pool when the client leaves...
  t.true(await until(() => idleConnectionCount(p.servers[0]!) === 1, 10000));
  // ...a new session's FIRST request does not take it (http-reuse safe), the second one does.
  const d = await Client.open(p.port);
  d.write(GET('/a'));
  t.is((await d.response()).body.toString(), 'hello /a #1');
  t.is(b.connections, 2);
  d.write(GET('/b'));
  await d.response();
  d.write(GET('/c'));
  await d.response();
  t.is(b.connections, 2);
  d.close();
});

test('http-reuse never: no sharing between sessions; always: first request may reuse', async (t) => {
  const b = await scriptedHttpServer(() => okResponse('x'));
  const never = await startHttpProxy({ ports: [b.port], backend: { http: { reuse: 'never' } } });
  const always = await startHttpProxy({ ports: [b.port], backend: { http: { reuse: 'always' } } });
  t.teardown(async () => {
    await never.stop();
    await always.stop();
    await b.close();
  });
  for (let i = 0; i < 3; i++) {
    const c = await Client.open(never.port);
    c.write(GET());
    await c.response();
    c.close();
    t.true(await until(() => never.fe.counters.sessCur === 0, 10000));
  }
  t.is(b.connections, 3);
  t.is(idleConnectionCount(never.servers[0]!), 0);
  for (let i = 0; i < 3; i++) {
    const c = await Client.open(always.port);
    c.write(GET());
    await c.response();
    c.close();
    // Pooled once the session ends (not the claim: the count of server connections is).
    t.true(await until(() => idleConnectionCount(always.servers[0]!) === 1, 10000));
  }
  t.is(b.connections, 4);
});

test('client Connection: close and HTTP/1.0: headers as haproxy 2.6 rewrites them', async (t) => {
  const b = await scriptedHttpServer((r) => okResponse(r.head, r.target === '/srvclose' ? 'Connection: close\r\n' : ''));
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  // 1.1 close: the server still sees a keep-alive request, the client gets connection: close.
  const c = await Client.open(p.port);
  c.write(GET('/a', 'Connection: close\r\n'));
  let r = await c.response();
  t.is(r.header('connection'), 'close');
  t.false(r.body.toString().toLowerCase().includes('connection'));
  await c.rest(1000);
  t.true(c.ended);
  // 1.0 keep-alive: kept, the server sees connection: keep-alive, the client too.
  const d = await Client.open(p.port);
  d.write('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  r = await d.response();
  t.is(r.header('connection'), 'keep-alive');
  t.regex(r.body.toString(), /^GET \/b HTTP\/1\.0\r\nconnection: keep-alive$/m);
  // 1.0 without keep-alive: closed after the response.
  d.write('GET /c HTTP/1.0\r\n\r\n');
  r = await d.response();
  t.is(r.header('connection'), 'close');
  await d.rest(1000);
  t.true(d.ended);
  // A server's Connection: close closes the server side only; it is not shown to the client.
  const e = await Client.open(p.port);
  e.write(GET('/srvclose'));
  r = await e.response();
  t.is(r.header('connection'), undefined);
  e.write(GET('/after'));
  r = await e.response();
  t.is(r.status, 200);
  const [closed, after] = b.requests.slice(-2);
  t.is(closed?.target, '/srvclose');
  t.is(after?.target, '/after');
  t.not(after?.conn, closed?.conn);
  e.close();
});

test('pipelining: several requests in one write are answered in order', async (t) => {
  const b = await scriptedHttpServer((r) => okResponse(`${r.method} ${r.target} ${r.body.toString()}`));
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  c.write(`${GET('/1')}POST /2 HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello${GET('/3')}POST /4 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n${GET('/5')}`);
  const bodies: string[] = [];
  for (let i = 0; i < 5; i++) bodies.push((await c.response()).body.toString());
  t.deepEqual(bodies, ['GET /1 ', 'POST /2 hello', 'GET /3 ', 'POST /4 abc', 'GET /5 ']);
  t.is(b.connections, 1);
  c.close();
});

/** Whether every byte of `b` is `byte`, without allocating a buffer of its size (pages are slow to fault in under load). */
function allBytes(b: Buffer, byte: number): boolean {
  const pat = Buffer.alloc(65536, byte);
  for (let off = 0; off < b.length; off += pat.length) {
    const n = Math.min(pat.length, b.length - off);
    if (b.compare(pat, 0, n, off, off + n) !== 0) return false;
  }
  return true;
}

test('large Content-Length and chunked bodies stream both ways', async (t) => {
  const size = 8 * 1024 * 1024;
  // Hashes bodies as they arrive: a backend that buffers 8 MiB the naive way stalls this process
  // (which runs the proxy) for seconds on a loaded machine.
  const b = await streamingServer((r) => {
    if (r.target === '/chunked') {
      const piece = Buffer.alloc(65536, 0x62);
      const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n')];
      for (let i = 0; i < 64; i++) parts.push(Buffer.from('10000\r\n'), piece, Buffer.from('\r\n'));
      parts.push(Buffer.from(`0\r\nx-digest: ${r.digest}\r\n\r\n`));
      return Buffer.concat(parts);
    }
    return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nx-digest: ${r.digest}\r\ncontent-length: ${size}\r\n\r\n`), Buffer.alloc(size, 0x61)]);
  });
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const body = Buffer.alloc(size, 0x7a);
  const want = createHash('sha256').update(body).digest('hex');
  const c = await Client.open(p.port);
  c.write(`POST /cl HTTP/1.1\r\nhost: x\r\ncontent-length: ${size}\r\n\r\n`);
  c.write(body);
  let r = await c.response({ ms: 20000 });
  t.is(r.status, 200);
  t.is(r.header('x-digest'), want);
  t.is(r.body.length, size);
  t.true(allBytes(r.body, 0x61));
  // Chunked upload in pieces; chunked response of 4 MiB.
  c.write('POST /chunked HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
  for (let i = 0; i < 16; i++) c.write(Buffer.concat([Buffer.from('80000\r\n'), body.subarray(0, 0x80000), Buffer.from('\r\n')]));
  c.write('0\r\n\r\n');
  r = await c.response({ ms: 20000 });
  t.is(r.status, 200);
  t.is(r.body.length, 64 * 65536);
  t.true(allBytes(r.body, 0x62));
  t.is(b.requests[1]?.bodyLength, 16 * 0x80000);
  t.is(b.requests[1]?.digest, want); // 16 × 512 KiB of the same byte: the 8 MiB body
  t.is(b.connections, 1);
  c.close();
});

test('backpressure: an upload to a server that does not read stays bounded in the proxy', async (t) => {
  const b = await stalledServer();
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  const total = 512 * 1024 * 1024;
  c.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${total}\r\n\r\n`);
  const piece = Buffer.alloc(1024 * 1024, 0x61);
  let sent = 0;
  // Write until the kernel and the proxy stop taking bytes: the proxy must have paused its client.
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 512; i++) {
    if (!c.sock.write(piece)) {
      const drained = await new Promise<boolean>((resolve) => {
        const to = setTimeout(() => resolve(false), 500);
        c.sock.once('drain', () => {
          clearTimeout(to);
          resolve(true);
        });
      });
      if (!drained) break;
    }
    sent += piece.length;
  }
  t.true(sent < 64 * 1024 * 1024, `accepted ${sent} bytes before pushing back`);
  t.true(process.memoryUsage().rss - rss0 < 128 * 1024 * 1024);
  c.close();
});

test('HEAD, 204 and 304 have no body and keep the connection usable', async (t) => {
  const b = await scriptedHttpServer((r) => {
    if (r.method === 'HEAD') return 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n';
    if (r.target === '/204') return 'HTTP/1.1 204 No Content\r\n\r\n';
    if (r.target === '/304') return 'HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n';
    return okResponse('after');
  });
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  c.write('HEAD / HTTP/1.1\r\nhost: x\r\n\r\n');
  let r = await c.response({ head: true });
  t.is(r.header('content-length'), '1234');
  c.write(GET('/204'));
  t.is((await c.response()).status, 204);
  c.write(GET('/304'));
  t.is((await c.response()).status, 304);
  c.write(GET('/x'));
  r = await c.response();
  t.is(r.body.toString(), 'after');
  t.is(b.connections, 1);
  t.is(p.fe.counters.hrsp3xx, 1);
  c.close();
});

test('Expect: 100-continue is forwarded; the interim 100 reaches the client before the body is sent', async (t) => {
  const { default: net } = await import('node:net');
  // A server that answers 100 as soon as it has the head, and 200 once the body arrived.
  const srv = net.createServer((s) => {
    let buf = '';
    let continued = false;
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const he = buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      if (!continued) {
        continued = true;
        s.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      if (buf.slice(he + 4) === 'hello') s.write(okResponse('done'));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const p = await startHttpProxy({ ports: [port] });
  t.teardown(async () => {
    await p.stop();
    srv.close();
  });
  const d = await Client.open(p.port);
  d.write('POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n');
  const interim = await d.response();
  t.is(interim.status, 100);
  d.write('hello');
  const r = await d.response();
  t.is(r.status, 200);
  t.is(r.body.toString(), 'done');
  t.is(p.fe.counters.hrsp1xx, 1);
  t.is(p.fe.counters.hrsp2xx, 1);
  d.close();
});

test('WebSocket: 101 switches both sockets to a tunnel (handshake by hand, echo)', async (t) => {
  const { default: net } = await import('node:net');
  let upgrades = 0;
  const srv = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let tunnel = false;
    s.on('data', (d: Buffer) => {
      if (tunnel) {
        s.write(d);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const he = buf.indexOf('\r\n\r\n');
      if (he < 0) return;
      const head = buf.subarray(0, he).toString('latin1');
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      upgrades++;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      tunnel = true;
      const rest = buf.subarray(he + 4);
      if (rest.length > 0) s.write(rest);
    });
    s.on('end', () => s.end());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const p = await startHttpProxy({ ports: [port], backend: { timeouts: { connect: 1000, server: 5000, tunnel: 10000 } } });
  t.teardown(async () => {
    await p.stop();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  const c = await Client.open(p.port);
  const key = Buffer.from('0123456789abcdef').toString('base64');
  c.write(`GET /ws HTTP/1.1\r\nhost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const r = await c.response();
  t.is(r.status, 101);
  t.is(r.header('sec-websocket-accept'), createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
  // A masked text frame "hi" (client → server), echoed raw by the server.
  const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]);
  c.write(frame);
  const deadline = performance.now() + 3000;
  let got = Buffer.alloc(0);
  while (got.length < frame.length && performance.now() < deadline) {
    got = Buffer.concat([got, await c.rest(100)]);
  }
  t.deepEqual(got, frame);
  t.is(upgrades, 1);
  t.is(p.fe.counters.hrsp1xx, 1);
  c.sock.end();
  t.true(await until(() => p.fe.counters.sessCur === 0, 3000));
});
