// Round robin, echo, half-close and counters through the L4 proxy, with real sockets.
import test from 'ava';
import { echoServer, httpResponder, type TestBackend } from '../../helpers/backends.ts';
import { closedWithin, connect, readAll, readBytes, startProxy, until } from './harness.ts';

test('round robin across 3 backends: 1 2 3 1 2 3, counters per server', async (t) => {
  const backends: TestBackend[] = [await httpResponder(1), await httpResponder(2), await httpResponder(3)];
  const proxy = await startProxy({ ports: backends.map((b) => b.port), backend: { timeouts: { connect: 1000 } } });
  t.teardown(async () => {
    await proxy.stop();
    for (const b of backends) await b.close();
  });
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const c = await connect(proxy.port);
    c.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    const body = (await readAll(c)).toString();
    const m = /Response from backend (\d)/.exec(body);
    seen.push(m?.[1] ?? '?');
    c.destroy();
  }
  t.deepEqual(seen, ['1', '2', '3', '1', '2', '3']);
  t.deepEqual(backends.map((b) => b.connections), [2, 2, 2]);
  t.true(await until(() => proxy.be.counters.sessCur === 0 && proxy.fe.counters.sessCur === 0));
  t.is(proxy.be.counters.sessTotal, 6);
  t.is(proxy.fe.counters.sessTotal, 6);
  t.deepEqual(proxy.servers.map((s) => s.counters.sessTotal), [2, 2, 2]);
  t.deepEqual(proxy.servers.map((s) => s.counters.sessCur), [0, 0, 0]);
  t.is(proxy.be.counters.bytesIn, 6 * 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'.length);
  t.true(proxy.be.counters.bytesOut > 6 * 'Response from backend 1'.length);
  t.is(proxy.fe.counters.bytesOut, proxy.be.counters.bytesOut);
});

test('half-close: client FIN reaches the server, the server keeps answering afterwards', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port] });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  c.write('first');
  t.is((await readBytes(c, 5)).toString(), 'first');
  // The echo server pipes: after our FIN it still sends what it had, then ends its side.
  c.end('second');
  const rest = await readAll(c);
  t.is(rest.toString(), 'second');
  t.true(c.readableEnded, 'the server FIN was forwarded to the client');
  t.true((await closedWithin(c, 2000)) >= 0);
});

test('half-close the other way: server FIN reaches the client, client data still flows to the server', async (t) => {
  const received: Buffer[] = [];
  let serverSawEnd = false;
  const net = await import('node:net');
  const srv = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.end('bye');
    sock.on('data', (d: Buffer) => received.push(d));
    sock.on('end', () => {
      serverSawEnd = true;
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const proxy = await startProxy({ ports: [port] });
  t.teardown(async () => {
    await proxy.stop();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  const c = await connect(proxy.port);
  const got = await readAll(c);
  t.is(got.toString(), 'bye');
  t.true(c.readableEnded);
  c.write('still-talking');
  c.end();
  t.true(await until(() => serverSawEnd));
  t.is(Buffer.concat(received).toString(), 'still-talking');
  t.true((await closedWithin(c, 2000)) >= 0);
});

test('no usable server: the client connection is closed, noServer counted', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port] });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  proxy.picker.usable = false;
  const c = await connect(proxy.port);
  t.true((await closedWithin(c, 2000)) >= 0);
  t.is(proxy.be.counters.noServer, 1);
  t.is(echo.connections, 0);
});

test('selectBackend returning undefined closes the connection', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port] });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  (proxy.fe as { selectBackend: unknown }).selectBackend = () => undefined;
  const c = await connect(proxy.port);
  t.true((await closedWithin(c, 2000)) >= 0);
  t.is(echo.connections, 0);
});
