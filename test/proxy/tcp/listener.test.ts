// Listener lifecycle and maxconn admission: above the limit, connections are held (not refused,
// not served) and admitted in order when a session ends, as HAProxy pauses its listeners.
import net from 'node:net';
import test from 'ava';
import { BindError, ListenerGroup } from '../../../lb/proxy/listener.ts';
import { handleTcpConnection } from '../../../lb/proxy/tcp.ts';
import { createBackend, createFrontend, createServer } from '../../../lb/proxy/types.ts';
import { echoServer } from '../../helpers/backends.ts';
import { RrPicker, closedWithin, connect, readBytes, startProxy, until } from './harness.ts';

async function roundTrip(s: net.Socket, msg: string, ms = 1000): Promise<string> {
  s.write(msg);
  return (await readBytes(s, msg.length, ms)).toString();
}

test('frontend maxconn: the third connection waits, then is served when one ends', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port], frontend: { maxconn: 2 } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const a = await connect(proxy.port);
  const b = await connect(proxy.port);
  t.is(await roundTrip(a, 'a'), 'a');
  t.is(await roundTrip(b, 'b'), 'b');
  const c = await connect(proxy.port); // accepted by the kernel, held by the listener
  t.is(await roundTrip(c, 'c', 300), '', 'not served while at maxconn');
  t.true(proxy.group.isPaused(0));
  t.is(proxy.group.pendingCount(0), 1);
  t.is(echo.connections, 2);
  t.is(proxy.fe.counters.sessCur, 2);
  a.destroy();
  t.is((await readBytes(c, 1, 2000)).toString(), 'c', 'served once a slot is free (the early bytes waited)');
  t.false(proxy.group.isPaused(0));
  t.is(proxy.fe.counters.sessMax, 2);
  b.destroy();
  c.destroy();
});

test('global maxconn applies across listeners', async (t) => {
  const echo = await echoServer();
  const servers = [createServer('s1', '127.0.0.1', echo.port)];
  const be = createBackend({ name: 'be', servers, picker: new RrPicker(servers) });
  const fe1 = createFrontend({ name: 'f1', selectBackend: () => be });
  const fe2 = createFrontend({ name: 'f2', selectBackend: () => be });
  const group = new ListenerGroup(
    [
      { bind: { host: '127.0.0.1', port: 0 }, frontend: fe1 },
      { bind: { host: '127.0.0.1', port: 0 }, frontend: fe2 },
    ],
    { maxconn: 1, onConnection: (s, l) => handleTcpConnection(s, l.frontend) },
  );
  await group.start();
  t.teardown(async () => {
    await group.stop();
    await echo.close();
  });
  const a = await connect(group.address(0)?.port ?? 0);
  t.is(await roundTrip(a, 'a'), 'a');
  const b = await connect(group.address(1)?.port ?? 0);
  t.is(await roundTrip(b, 'b', 300), '');
  t.true(group.isPaused(1));
  t.is(group.current, 1);
  a.end();
  t.is((await readBytes(b, 1, 2000)).toString(), 'b');
  t.is(group.current, 1);
  b.destroy();
});

test('start() failing on the second listener: stop() releases the first one', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const addr = taken.address();
  const busyPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
  t.teardown(() => taken.close());
  const fe = createFrontend({ name: 'web', selectBackend: () => undefined });
  const group = new ListenerGroup(
    [
      { bind: { host: '127.0.0.1', port: 0 }, frontend: fe },
      { bind: { host: '127.0.0.1', port: busyPort }, frontend: fe },
    ],
    { onConnection: (s) => s.destroy() },
  );
  const err = await t.throwsAsync(group.start(), { instanceOf: BindError });
  t.is(err?.code, 'ERR_LB_BIND');
  t.regex(err?.message ?? '', /web.*cannot bind socket/);
  const firstPort = group.address(0)?.port ?? 0;
  t.true(firstPort > 0, 'the first listener did bind');
  await group.stop();
  await group.stop(); // idempotent
  // The first port is free again: binding it exactly succeeds.
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(firstPort, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => again.close(() => resolve()));
  t.pass();
});

test('close() stops accepting while established connections finish', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port] });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const a = await connect(proxy.port);
  t.is(await roundTrip(a, 'a'), 'a');
  let closed = false;
  const closing = proxy.group.close().then(() => {
    closed = true;
  });
  await t.throwsAsync(connect(proxy.port), { code: 'ECONNREFUSED' });
  t.is(await roundTrip(a, 'still'), 'still');
  t.false(closed);
  a.end();
  await closing;
  t.true(closed);
  t.true((await closedWithin(a, 1000)) >= 0);
  t.true(await until(() => proxy.fe.counters.sessCur === 0));
});
