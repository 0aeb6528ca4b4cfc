// timeout client / server / connect / tunnel with small values, and a PostgreSQL-style long-lived
// connection that idles within its timeouts and talks again.
import test from 'ava';
import { blackholeServer, echoServer, stalledServer } from '../../helpers/backends.ts';
import { closedWithin, connect, readBytes, sleep, startProxy } from './harness.ts';

test('timeout client: an idle client is disconnected after the client timeout', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port], frontend: { timeouts: { client: 150 } }, backend: { timeouts: { server: 5000 } } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  c.write('x');
  t.is((await readBytes(c, 1)).toString(), 'x');
  const took = await closedWithin(c, 2000);
  t.true(took >= 100 && took < 1000, `closed after ${took} ms`);
  t.is(proxy.fe.counters.timeouts, 1);
});

test('timeout server: a silent server side ends the session', async (t) => {
  const stalled = await stalledServer();
  const proxy = await startProxy({ ports: [stalled.port], frontend: { timeouts: { client: 5000 } }, backend: { timeouts: { server: 150 } } });
  t.teardown(async () => {
    await proxy.stop();
    await stalled.close();
  });
  const c = await connect(proxy.port);
  const took = await closedWithin(c, 2000);
  t.true(took >= 100 && took < 1000, `closed after ${took} ms`);
  t.is(proxy.be.counters.timeouts, 1);
});

test('timeout connect: a server that never answers the SYN costs retries+1 attempts', async (t) => {
  const hole = await blackholeServer();
  const proxy = await startProxy({ ports: [hole.port], backend: { retries: 1, timeouts: { connect: 100 } }, frontend: { timeouts: { client: 5000 } } });
  t.teardown(async () => {
    await proxy.stop();
    await hole.close();
  });
  const c = await connect(proxy.port);
  const took = await closedWithin(c, 3000);
  // After a timeout HAProxy retries at once (no turn-around): 2 × 100 ms.
  t.true(took >= 180 && took < 1000, `closed after ${took} ms`);
  t.is(proxy.be.counters.retries, 1);
  t.is(proxy.be.counters.connectErrors, 1);
});

test('timeout tunnel replaces client and server timeouts once connected', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({
    ports: [echo.port],
    frontend: { timeouts: { client: 100 } },
    backend: { timeouts: { server: 100, tunnel: 600 } },
  });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  await sleep(300); // beyond client and server timeouts, within the tunnel timeout
  c.write('alive');
  t.is((await readBytes(c, 5, 1000)).toString(), 'alive');
  const took = await closedWithin(c, 2000);
  t.true(took >= 500 && took < 1200, `tunnel timeout closed after ${took} ms`);
  t.is(proxy.fe.counters.timeouts + proxy.be.counters.timeouts, 1);
});

test('PostgreSQL-style long-lived connection: idle within timeouts, then traffic again', async (t) => {
  const echo = await echoServer();
  const proxy = await startProxy({
    ports: [echo.port],
    frontend: { timeouts: { client: 400 } },
    backend: { timeouts: { server: 400, connect: 1000 } },
  });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  // 6 exchanges separated by 250 ms of silence: 1.5 s of life, far beyond one timeout.
  for (let i = 0; i < 6; i++) {
    const q = `SELECT ${i};`;
    c.write(q);
    t.is((await readBytes(c, q.length, 1000)).toString(), q);
    await sleep(250);
  }
  t.false(c.readableEnded);
  t.is(echo.connections, 1);
  const took = await closedWithin(c, 2000);
  t.true(took >= 100 && took < 1000, `then idle beyond the timeout: closed after ${took} ms`);
});
