// Connection failures: retries, turn-around delay, redispatch; plus the pure decision function,
// checked against what Debian's haproxy 2.6 does (strace of its connect() calls, recorded here):
// retries 2 + redispatch + roundrobin over 3 refused servers → a, b, c at once;
// retries 2 without redispatch, timeout connect 300ms → a, a, a, 300 ms apart, then close.
import test from 'ava';
import { afterConnectFailure, turnAroundDelay } from '../../../lb/proxy/connect.ts';
import { createBackend } from '../../../lb/proxy/types.ts';
import { deadPort, echoServer } from '../../helpers/backends.ts';
import { FirstPicker, closedWithin, connect, readBytes, startProxy } from './harness.ts';

const noPicker = { pick: () => undefined, hasUsable: () => true, taken: () => {}, released: () => {} };

test('afterConnectFailure: retries count, turn-around delay, redispatch intervals', (t) => {
  const be = (retries: number, redispatch: number, deterministic: boolean, connectMs = 300) =>
    createBackend({ name: 'b', picker: noPicker, servers: [], retries, redispatch, deterministic, timeouts: { connect: connectMs } });
  // No redispatch: same server, min(1s, timeout connect) after an error, at once after a timeout.
  t.deepEqual(afterConnectFailure(be(2, 0, false), 1, 'error', 3), { action: 'retry', redispatch: false, delay: 300 });
  t.deepEqual(afterConnectFailure(be(2, 0, false), 1, 'timeout', 3), { action: 'retry', redispatch: false, delay: 0 });
  t.deepEqual(afterConnectFailure(be(2, 0, false), 2, 'error', 3), { action: 'retry', redispatch: false, delay: 300 });
  t.deepEqual(afterConnectFailure(be(2, 0, false), 3, 'error', 3), { action: 'give-up' });
  t.deepEqual(afterConnectFailure(be(0, -1, false), 1, 'error', 3), { action: 'give-up' });
  t.is(turnAroundDelay(0), 1000);
  t.is(turnAroundDelay(5000), 1000);
  t.is(turnAroundDelay(20), 20);
  // Round robin with several servers: every retry is a redispatch.
  t.true(afterConnectFailure(be(2, -1, false), 1, 'error', 3).action === 'retry');
  t.deepEqual(afterConnectFailure(be(2, -1, false), 1, 'error', 3), { action: 'retry', redispatch: true, delay: 0 });
  // Single server: only the interval counts. Deterministic: likewise.
  const det = be(3, -1, true);
  const seq = [1, 2, 3].map((n) => afterConnectFailure(det, n, 'error', 3));
  t.deepEqual(
    seq.map((d) => (d.action === 'retry' ? d.redispatch : 'give-up')),
    [false, false, true],
    'default interval -1: redispatch on the last retry',
  );
  const every2 = be(4, 2, true);
  t.deepEqual(
    [1, 2, 3, 4].map((n) => {
      const d = afterConnectFailure(every2, n, 'error', 1);
      return d.action === 'retry' ? d.redispatch : 'give-up';
    }),
    [false, true, false, true],
  );
  t.deepEqual(afterConnectFailure(be(3, -2, true), 2, 'error', 2), { action: 'retry', redispatch: true, delay: 0 });
});

test('retries without redispatch: same server, turn-around delay, then the client is closed', async (t) => {
  const dead = await deadPort();
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [dead, echo.port], backend: { retries: 2, timeouts: { connect: 100 } } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  const took = await closedWithin(c, 3000);
  t.true(took >= 190, `two turn-arounds of 100 ms (took ${took})`);
  t.true(took < 1500);
  t.deepEqual(proxy.picker.picks, ['s1']);
  t.is(proxy.be.counters.retries, 2);
  t.is(proxy.be.counters.connectErrors, 1);
  t.is(proxy.servers[0]?.counters.connectErrors, 1);
  t.is(proxy.be.counters.redispatches, 0);
  t.is(echo.connections, 0);
});

test('option redispatch with round robin: the retry goes to another server at once', async (t) => {
  const dead = await deadPort();
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [dead, echo.port], backend: { retries: 3, redispatch: -1, timeouts: { connect: 1000 } } });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const t0 = performance.now();
  const c = await connect(proxy.port);
  c.write('ping');
  t.is((await readBytes(c, 4)).toString(), 'ping');
  t.true(performance.now() - t0 < 500, 'no turn-around delay');
  t.deepEqual(proxy.picker.picks, ['s1', 's2']);
  t.is(proxy.be.counters.redispatches, 1);
  t.is(proxy.servers[0]?.counters.redispatches, 1);
  t.is(proxy.be.counters.connectErrors, 0);
  c.destroy();
});

test('deterministic picker: retries stay on the server, the last retry redispatches', async (t) => {
  const dead = await deadPort();
  const echo = await echoServer();
  const proxy = await startProxy({
    ports: [dead, echo.port],
    picker: (s) => new FirstPicker(s),
    backend: { retries: 3, redispatch: -1, deterministic: true, timeouts: { connect: 50 } },
  });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const c = await connect(proxy.port);
  c.write('ping');
  t.is((await readBytes(c, 4)).toString(), 'ping');
  t.deepEqual(proxy.picker.picks, ['s1', 's2']);
  t.is(proxy.be.counters.retries, 2);
  t.is(proxy.be.counters.redispatches, 1);
  t.is(echo.connections, 1);
  c.destroy();
});
