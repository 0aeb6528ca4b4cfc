// The scheduler against real loopback servers with small intervals. Tests subscribe to
// lb:check:result / lb:server:state and wait with bounds instead of sleeping.
import test from 'ava';
import { Pool, algorithmFactory, type BalanceSpec } from '../../lb/balance/index.ts';
import {
  BackendHealth,
  CheckScheduler,
  poolSink,
  type CheckResultMessage,
  type ServerStateMessage,
} from '../../lb/checks/index.ts';
import { collect, recorder } from './helpers.ts';

const ok = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
const bad = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n';

test('rise/fall with inter, fastinter and downinter', async (t) => {
  const results = collect<CheckResultMessage>('lb:check:result');
  const states = collect<ServerStateMessage>('lb:server:state');
  const srv = await recorder(ok);
  const be = new BackendHealth({ name: 'sched1' });
  const st = be.add({ name: 'w1', check: { rise: 2, fall: 2 } }, { setUsable: () => {}, setWeight: () => {} });
  const sched = new CheckScheduler();
  sched.add({
    state: st,
    host: '127.0.0.1',
    port: srv.port,
    // `timeout check`/`timeout connect` well above inter: without them a check must end within
    // `inter` (150ms), and a loaded machine that stalls this process that long would turn the
    // server's 200 into L7TOUT. Timeouts are runners.test.ts's subject, the intervals are this one's.
    check: { type: 'http', inter: 150, fastinter: 40, downinter: 400, timeoutCheck: 2000, timeoutConnect: 2000, http: { request: { uri: '/' } } },
  });
  const mine = (m: { backend: string }): boolean => m.backend === 'sched1';
  try {
    sched.start();
    // First check at once (inter < 1s: no start-up staggering). Measured by timer order, not by
    // wall clock (a loaded machine delays everything): Node fires timers in due order, so a check
    // due now has started (in flight or done) by the time a timer armed for 20ms fires; a check
    // delayed by any of this server's intervals (fastinter 40ms, inter 150ms) has not.
    const startedEarly = await new Promise<boolean>((resolve) => setTimeout(() => resolve(sched.inFlight > 0 || results.messages.some(mine)), 20));
    t.true(startedEarly, 'first check runs at once');
    // It makes the server fully UP.
    await results.wait((m) => mine(m) && m.health === 3, 2000);
    srv.reply = bad;
    const tFlip = performance.now();
    await states.wait((m) => mine(m) && m.to === 'STOPPED', 3000);
    const downAfter = performance.now() - tFlip;
    // fall 2: one check at inter (≤150ms away), the next at fastinter (40ms) → ≤ ~190ms + I/O.
    t.true(downAfter < 600, `DOWN after ${downAfter}ms`);
    const down = results.messages.filter(mine).length;
    // While fully DOWN, checks are `downinter` (400ms) apart.
    await results.wait((m) => mine(m) && results.messages.filter(mine).length >= down + 2, 3000);
    const last = results.messages.filter(mine).slice(-2);
    t.is(last.length, 2);
    const times = results.messages.filter(mine).map((m) => m.result.durationMs);
    t.true(times.every((d) => d >= 0));
    srv.reply = ok;
    const tBack = performance.now();
    const up = await states.wait((m) => mine(m) && m.to === 'RUNNING', 3000);
    const upAfter = performance.now() - tBack;
    // rise 2: next downinter check (≤400ms) then one fastinter check (40ms).
    t.true(upAfter < 900, `UP after ${upAfter}ms`);
    t.true(up.line.startsWith('Server sched1/w1 is UP, reason: Layer7 check passed, code: 200'));
  } finally {
    await sched.stop();
    results.stop();
    states.stop();
    await srv.close();
  }
});

test('downinter spacing is honoured while DOWN', async (t) => {
  const results = collect<CheckResultMessage>('lb:check:result');
  const srv = await recorder(bad);
  const be = new BackendHealth({ name: 'sched2' });
  const st = be.add({ name: 'w1', check: { rise: 2, fall: 2 } }, { setUsable: () => {}, setWeight: () => {} });
  const sched = new CheckScheduler();
  sched.add({ state: st, host: '127.0.0.1', port: srv.port, check: { type: 'http', inter: 50, downinter: 300, http: { request: {} } } });
  const stamps: number[] = [];
  const mine = (m: CheckResultMessage): boolean => {
    if (m.backend !== 'sched2') return false;
    stamps.push(performance.now());
    return stamps.length >= 4;
  };
  try {
    sched.start();
    await results.wait(mine, 4000);
    const gaps = stamps.slice(1).map((x, i) => x - (stamps[i] ?? 0));
    // First check DOWNs it (health = rise then one failure); every later gap is downinter.
    t.true(gaps.every((g) => g >= 280 && g < 800), JSON.stringify(gaps));
  } finally {
    await sched.stop();
    results.stop();
    await srv.close();
  }
});

test('never two checks at once for one server, even when a check outlasts inter', async (t) => {
  const srv = await recorder(undefined); // silent: each check lasts until `timeout check`
  const be = new BackendHealth({ name: 'sched3' });
  const st = be.add({ name: 'w1', check: { rise: 1, fall: 1 } }, { setUsable: () => {}, setWeight: () => {} });
  const sched = new CheckScheduler();
  sched.add({ state: st, host: '127.0.0.1', port: srv.port, check: { type: 'http', inter: 20, timeoutCheck: 200, timeoutConnect: 100, http: { request: {} } } });
  let maxInFlight = 0;
  const iv = setInterval(() => {
    maxInFlight = Math.max(maxInFlight, sched.inFlight);
  }, 5);
  try {
    const t0 = performance.now();
    sched.start();
    // At least 700ms and three checks (bounded): a loaded machine may run fewer in 700ms.
    while ((performance.now() - t0 < 700 || srv.received.length < 3) && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const elapsed = performance.now() - t0;
    t.is(maxInFlight, 1);
    // One check per (200ms check + 20ms inter): ~3 in 700ms, never 35 (a check every 20ms).
    const most = Math.floor(elapsed / 220) + 2;
    t.true(srv.received.length >= 3 && srv.received.length <= most, `${srv.received.length} checks in ${Math.round(elapsed)}ms`);
  } finally {
    clearInterval(iv);
    await sched.stop();
    await srv.close();
  }
});

test('drives a real Pool: a DOWN server gets no picks, backup takes over, 503 when none is left', async (t) => {
  const states = collect<ServerStateMessage>('lb:server:state');
  const a = await recorder(ok);
  const b = await recorder(ok);
  const spec: BalanceSpec = { algorithm: 'roundrobin' };
  const pool = new Pool([{ name: 'a' }, { name: 'bk', backup: true }], algorithmFactory(spec));
  const be = new BackendHealth({ name: 'sched4' });
  const sched = new CheckScheduler();
  const servers = [
    { s: pool.byName('a'), port: a.port, backup: false },
    { s: pool.byName('bk'), port: b.port, backup: true },
  ];
  for (const x of servers) {
    if (x.s === undefined) throw new Error('missing server');
    const st = be.add({ name: x.s.name, backup: x.backup, check: { rise: 1, fall: 1 } }, poolSink(pool, x.s));
    // Timeouts well above inter: without them a check must end within `inter` (50ms), and a
    // loaded machine that stalls this process that long turns both servers' 200s into L7TOUT
    // (seen: a and bk both L7TOUT after 140ms), so the backup is DOWN when the test needs it UP.
    sched.add({ state: st, host: '127.0.0.1', port: x.port, check: { type: 'http', inter: 50, timeoutCheck: 2000, timeoutConnect: 2000, http: { request: {} } } });
  }
  const mine = (m: ServerStateMessage): boolean => m.backend === 'sched4';
  try {
    sched.start();
    t.is(pool.pick()?.name, 'a');
    a.reply = bad;
    await states.wait((m) => mine(m) && m.server === 'a' && m.to === 'STOPPED', 2000);
    t.is(pool.pick()?.name, 'bk');
    t.true(pool.usingBackups());
    b.reply = bad;
    await states.wait((m) => mine(m) && m.server === 'bk' && m.to === 'STOPPED', 2000);
    t.is(pool.pick(), undefined);
    t.false(pool.hasUsable());
    a.reply = ok;
    await states.wait((m) => mine(m) && m.server === 'a' && m.to === 'RUNNING', 2000);
    t.is(pool.pick()?.name, 'a');
  } finally {
    await sched.stop();
    states.stop();
    await a.close();
    await b.close();
  }
});

test('agent checks run on their own interval and change weight and state', async (t) => {
  const states = collect<ServerStateMessage>('lb:server:state');
  const srv = await recorder(ok);
  const agent = await recorder('up 50%\n', true);
  const weights: number[] = [];
  const be = new BackendHealth({ name: 'sched5' });
  const st = be.add({ name: 'a1', weight: 10, agent: true, check: { rise: 1, fall: 1 } }, { setUsable: () => {}, setWeight: (w) => weights.push(w) });
  const sched = new CheckScheduler();
  sched.add({ state: st, host: '127.0.0.1', port: srv.port, check: { type: 'tcp', inter: 1000 }, agent: { port: agent.port, inter: 40 } });
  try {
    sched.start();
    const deadline = performance.now() + 2000;
    while (!weights.includes(5) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    t.true(weights.includes(5), JSON.stringify(weights));
    agent.reply = 'down #maintenance window\n';
    const m = await states.wait((x) => x.backend === 'sched5' && x.to === 'STOPPED', 2000);
    t.is(m.line, `Server sched5/a1 is DOWN, reason: Layer7 wrong status, code: 0, info: "via agent : down (maintenance window)", check duration: ${m.cause?.durationMs}ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`);
  } finally {
    await sched.stop();
    states.stop();
    await srv.close();
    await agent.close();
  }
});

test('spread-checks jitters the interval within ±N%', async (t) => {
  const results = collect<CheckResultMessage>('lb:check:result');
  const srv = await recorder(ok);
  const be = new BackendHealth({ name: 'sched6' });
  const st = be.add({ name: 'w1', check: { rise: 1, fall: 1 } }, { setUsable: () => {}, setWeight: () => {} });
  // random() = 0 → +50%: every gap is inter × 1.5.
  const sched = new CheckScheduler({ spreadChecks: 50, random: () => 0 });
  sched.add({ state: st, host: '127.0.0.1', port: srv.port, check: { type: 'tcp', inter: 100 } });
  const stamps: number[] = [];
  // How late this process's timers run meanwhile (a loaded machine delays every timer): the
  // upper bound allows that much on top, the lower bound (the jitter's +50%) allows nothing.
  let late = 0;
  let last = performance.now();
  const lateness = setInterval(() => {
    const now = performance.now();
    late = Math.max(late, now - last - 10);
    last = now;
  }, 10);
  try {
    sched.start();
    await results.wait((m) => m.backend === 'sched6' && stamps.push(performance.now()) >= 4, 5000);
    const gaps = stamps.slice(1).map((x, i) => x - (stamps[i] ?? 0));
    t.true(gaps.every((g) => g >= 145 && g < 250 + late), `gaps ${JSON.stringify(gaps)}, timers up to ${Math.round(late)} ms late`);
  } finally {
    clearInterval(lateness);
    await sched.stop();
    results.stop();
    await srv.close();
  }
});
