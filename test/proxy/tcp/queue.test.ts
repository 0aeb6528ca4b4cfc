// Per-server maxconn: the backend queue (FIFO), `timeout queue` and its default.
import test from 'ava';
import { WaitQueue } from '../../../lb/proxy/queue.ts';
import { createBackend } from '../../../lb/proxy/types.ts';
import { echoServer } from '../../helpers/backends.ts';
import { closedWithin, connect, readBytes, sleep, startProxy, until } from './harness.ts';

test('WaitQueue is FIFO and removes from the middle', (t) => {
  const q = new WaitQueue();
  const order: number[] = [];
  const w = (n: number) => ({ dequeued: () => order.push(n) });
  q.push(w(1));
  const e2 = q.push(w(2));
  q.push(w(3));
  q.remove(e2);
  q.remove(e2);
  t.is(q.length, 2);
  q.shift()?.dequeued();
  q.shift()?.dequeued();
  t.is(q.shift(), undefined);
  t.deepEqual(order, [1, 3]);
  t.is(q.length, 0);
});

test('timeout queue defaults to timeout connect, as in HAProxy', (t) => {
  const picker = { pick: () => undefined, hasUsable: () => true, taken: () => {}, released: () => {} };
  t.is(createBackend({ name: 'b', picker, servers: [], timeouts: { connect: 1234 } }).timeouts.queue, 1234);
  t.is(createBackend({ name: 'b', picker, servers: [], timeouts: { connect: 1234, queue: 7 } }).timeouts.queue, 7);
});

test('server maxconn: extra connections wait in the queue, in order, and get the freed slot', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [{ port: echo.port, maxconn: 1 }], backend: { timeouts: { connect: 1000, queue: 3000 } } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const a = await connect(proxy.port);
  a.write('a');
  t.is((await readBytes(a, 1)).toString(), 'a');
  const b = await connect(proxy.port);
  b.write('b');
  const c = await connect(proxy.port);
  c.write('c');
  t.true(await until(() => proxy.be.counters.queueCur === 2));
  t.is(proxy.be.counters.queueMax, 2);
  t.is(echo.connections, 1);
  a.end();
  t.is((await readBytes(b, 1)).toString(), 'b', 'the oldest waiter goes first');
  t.is(proxy.be.counters.queueCur, 1);
  t.is(echo.connections, 2);
  b.end();
  t.is((await readBytes(c, 1)).toString(), 'c');
  t.is(proxy.be.counters.queueCur, 0);
  c.destroy();
  t.is(proxy.be.counters.queueTimeouts, 0);
});

test('timeout queue: a waiter is closed when no slot frees up in time', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({
    ports: [{ port: echo.port, maxconn: 1 }],
    backend: { timeouts: { connect: 150 } },
    frontend: { timeouts: { client: 5000 } },
  });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const a = await connect(proxy.port);
  a.write('a');
  await readBytes(a, 1);
  const b = await connect(proxy.port);
  const took = await closedWithin(b, 2000);
  t.true(took >= 100 && took < 1000, `queue timeout (= timeout connect) after ${took} ms`);
  t.is(proxy.be.counters.queueTimeouts, 1);
  t.is(proxy.be.counters.queueCur, 0);
  await sleep(20);
  t.is(echo.connections, 1);
  a.destroy();
});

test('a client leaving the queue early frees its place', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [{ port: echo.port, maxconn: 1 }], backend: { timeouts: { connect: 1000, queue: 3000 } }, frontend: { timeouts: { client: 200 } } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const a = await connect(proxy.port);
  const b = await connect(proxy.port);
  t.true(await until(() => proxy.be.counters.queueCur === 1));
  // b's client timeout fires while queued (a keeps its slot alive by talking).
  for (let i = 0; i < 5; i++) {
    a.write('x');
    await readBytes(a, 1);
    await sleep(60);
  }
  t.true(await until(() => proxy.be.counters.queueCur === 0));
  t.true(b.readableEnded || b.destroyed || (await closedWithin(b, 500)) >= 0);
  a.destroy();
});
