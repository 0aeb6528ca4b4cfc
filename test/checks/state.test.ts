// The server state model on a fake sink and a fake clock: health counter, transitions, admin
// states, slowstart and HAProxy's exact log lines (texts captured from haproxy 2.6.12).
import test from 'ava';
import {
  BackendHealth,
  checkResult,
  collect,
  type Clock,
  type ServerStateMessage,
  type StateSink,
} from './state-imports.ts';

class FakeSink implements StateSink {
  usable: boolean | undefined;
  weight: number | undefined;
  calls: string[] = [];
  setUsable(u: boolean): void {
    this.usable = u;
    this.calls.push(`usable=${u}`);
  }
  setWeight(w: number): void {
    this.weight = w;
    this.calls.push(`weight=${w}`);
  }
}

class FakeClock implements Clock {
  t = 0;
  timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    const e = { at: this.t + ms, fn, live: true };
    this.timers.push(e);
    return () => {
      e.live = false;
    };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

function setup(opts: { logHealthChecks?: boolean; kind?: 'backend' | 'proxy' } = {}) {
  const lines: string[] = [];
  const clock = new FakeClock();
  const be = new BackendHealth({ name: 'web_backend', log: (l) => lines.push(l), clock, ...opts });
  return { be, lines, clock };
}

const ok = checkResult('L7OK', '', 200, 1);
const e500 = checkResult('L7STS', 'Internal Server Error', 500, 2);
const refused = checkResult('L4CON', 'Connection refused', 0, 0);

test('starts UP at health = rise and goes DOWN at the first failure, as haproxy does', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 'web2', check: { rise: 2, fall: 3 } }, sink);
  be.add({ name: 'web1', check: { rise: 2, fall: 3 } }, new FakeSink());
  be.add({ name: 'web3', check: { rise: 2, fall: 3 } }, new FakeSink());
  t.is(s.op, 'RUNNING');
  t.is(sink.usable, true);
  t.is(s.statusText, 'UP 1/3');
  t.is(s.intervalKind(), 'fastinter');
  s.onCheck(e500);
  t.is(s.op, 'STOPPED');
  t.is(sink.usable, false);
  t.deepEqual(lines, [
    'Server web_backend/web2 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 2ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
  ]);
  t.is(s.intervalKind(), 'downinter');
});

test('rise successes bring it UP, fall failures from fully UP take it DOWN', (t) => {
  const { be, lines } = setup();
  const s = be.add({ name: 'web2', check: { rise: 2, fall: 3 } }, new FakeSink());
  be.add({ name: 'web1' }, new FakeSink());
  be.add({ name: 'web3' }, new FakeSink());
  s.onCheck(ok); // 2 → 4, fully up
  t.is(s.check?.health, 4);
  t.is(s.statusText, 'UP');
  t.is(s.intervalKind(), 'inter');
  s.onCheck(e500);
  t.is(s.statusText, 'UP 2/3');
  s.onCheck(e500);
  t.is(s.statusText, 'UP 1/3');
  t.is(s.op, 'RUNNING');
  t.is(lines.length, 0);
  s.onCheck(refused);
  t.is(s.op, 'STOPPED');
  t.is(lines.at(-1), 'Server web_backend/web2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.');
  s.onCheck(ok);
  t.is(s.statusText, 'DOWN 1/2');
  t.is(s.intervalKind(), 'fastinter');
  s.onCheck(checkResult('L7OK', '', 200, 1));
  t.is(s.op, 'RUNNING');
  t.is(lines.at(-1), 'Server web_backend/web2 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
  t.is(s.downTransitions, 1);
  t.is(s.failedChecks, 3);
});

test('backups: "Running on backup" and "has no server available!"', (t) => {
  const { be, lines } = setup();
  const a = be.add({ name: 'web1', check: { rise: 2, fall: 2 } }, new FakeSink());
  const b = be.add({ name: 'bk1', backup: true, check: { rise: 2, fall: 2 } }, new FakeSink());
  a.onCheck(e500);
  t.is(lines.at(-1), 'Server web_backend/web1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 2ms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.');
  b.onCheck(e500);
  t.deepEqual(lines.slice(-2), [
    'Backup Server web_backend/bk1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 2ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'backend web_backend has no server available!',
  ]);
  const { be: li, lines: l2 } = setup({ kind: 'proxy' });
  li.add({ name: 'z1', check: { rise: 2, fall: 1 } }, new FakeSink()).onCheck(refused);
  t.is(l2.at(-1), 'proxy web_backend has no server available!');
});

test('disable-on-404: L7OKC puts a server in NOLB ("is stopping"), L7OK brings it back', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 'n1', check: { rise: 2, fall: 2 } }, sink);
  be.add({ name: 'n2' }, new FakeSink());
  s.onCheck(checkResult('L7OKC', '', 404, 5));
  t.is(s.op, 'STOPPING');
  t.is(s.statusText, 'NOLB');
  t.is(sink.usable, false);
  t.true(s.acceptsPersistent);
  t.is(lines.at(-1), 'Server web_backend/n1 is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: 5ms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
  s.onCheck(ok);
  t.is(s.op, 'RUNNING');
  t.is(sink.usable, true);
});

test('MAINT: going down for maintenance, leaving it restarts the counter at rise', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 's1', check: { rise: 2, fall: 2 } }, sink);
  be.add({ name: 's2' }, new FakeSink());
  be.add({ name: 's3', backup: true }, new FakeSink());
  s.onCheck(ok);
  s.setMaint(true);
  t.is(s.statusText, 'MAINT');
  t.is(sink.usable, false);
  t.false(s.acceptsPersistent);
  t.is(lines.at(-1), 'Server web_backend/s1 is going DOWN for maintenance. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.');
  s.onCheck(ok); // results while in maintenance do not bring it back
  t.is(s.op, 'STOPPED');
  s.setReady();
  t.is(lines.at(-1), 'Server web_backend/s1 is UP/READY (leaving forced maintenance).');
  t.is(s.op, 'RUNNING');
  t.is(s.check?.health, 2);
  s.onCheck(e500);
  t.is(s.op, 'STOPPED');
  s.setMaint(true);
  t.is(lines.at(-1), 'Server web_backend/s1 was DOWN and now enters maintenance.');
});

test('disabled servers start in MAINT', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 's4', disabled: true, check: { rise: 2, fall: 2 } }, sink);
  t.is(sink.usable, false);
  t.is(s.statusText, 'MAINT');
  s.setReady();
  t.is(sink.usable, true);
  t.is(lines.at(-1), 'Server web_backend/s4 is UP/READY (leaving forced maintenance).');
});

test('DRAIN: weight 0 to the pool, persistent clients only, and the drain log lines', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 's1', weight: 10, check: { rise: 2, fall: 2 } }, sink);
  be.add({ name: 's2' }, new FakeSink());
  be.add({ name: 's3', backup: true }, new FakeSink());
  s.onCheck(ok);
  s.setDrain(true);
  t.is(sink.weight, 0);
  t.is(sink.usable, true);
  t.true(s.acceptsPersistent);
  t.is(s.statusText, 'DRAIN');
  t.is(lines.at(-1), 'Server web_backend/s1 enters drain state. 1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.');
  s.onCheck(e500);
  s.onCheck(e500);
  t.deepEqual(lines.slice(-2), [
    'Server web_backend/s1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 2ms. 1 active and 1 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'Server web_backend/s1 remains in forced drain mode.',
  ]);
  s.onCheck(ok);
  s.onCheck(ok);
  t.deepEqual(lines.slice(-2), [
    'Server web_backend/s1 is UP, reason: Layer7 check passed, code: 200, check duration: 1ms. 2 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.',
    'Server web_backend/s1 remains in forced drain mode.',
  ]);
  s.setReady();
  t.is(lines.at(-1), 'Server web_backend/s1 is UP (leaving forced drain).');
  t.is(sink.weight, 10);
});

test('agent: down/up/drain/maint/weight drive the server; connection failures do not', (t) => {
  const { be, lines } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 'a1', weight: 20, agent: true, check: { rise: 2, fall: 2 } }, sink);
  be.add({ name: 'a2' }, new FakeSink());
  s.onAgent({ result: checkResult('L4CON', 'Connection refused', 0, 0), reply: undefined, weight: undefined });
  t.is(s.op, 'RUNNING');
  s.onAgent({ result: checkResult('L7STS', 'via agent : down', 0, 0), reply: { health: { word: 'down', status: 'L7STS' } }, weight: undefined });
  t.is(s.op, 'STOPPED');
  t.is(s.statusText, 'DOWN (agent)');
  t.is(lines.at(-1), 'Server web_backend/a1 is DOWN, reason: Layer7 wrong status, code: 0, info: "via agent : down", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.');
  s.onAgent({ result: checkResult('L7OK', 'via agent : up', 0, 0), reply: { health: { word: 'up', status: 'L7OK' }, weightPercent: 50 }, weight: 10 });
  t.is(s.op, 'RUNNING');
  t.is(sink.weight, 10);
  t.is(lines.at(-1), 'Server web_backend/a1 is UP, reason: Layer7 check passed, code: 0, info: "via agent : up", check duration: 0ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
  s.onAgent({ result: checkResult('CHECKED'), reply: { admin: 'drain' }, weight: undefined });
  t.is(s.statusText, 'DRAIN (agent)');
  t.is(sink.weight, 0);
  s.onAgent({ result: checkResult('CHECKED'), reply: { admin: 'maint' }, weight: undefined });
  t.is(s.statusText, 'MAINT');
  s.onAgent({ result: checkResult('L7OK', 'via agent : up', 0, 0), reply: { admin: 'ready', health: { word: 'up', status: 'L7OK' } }, weight: undefined });
  t.is(s.statusText, 'UP 1/2');
  t.is(sink.weight, 10);
  // Agent weight 0 is a drain too.
  s.setUserWeight(0);
  t.is(s.statusText, 'DRAIN 1/2');
  t.false(s.currentlyUsable);
});

test('slowstart ramps the effective weight, then logs "is UP." at the end', (t) => {
  const { be, lines, clock } = setup();
  const sink = new FakeSink();
  const s = be.add({ name: 'n2', weight: 100, slowstart: 1000, check: { rise: 1, fall: 1 } }, sink);
  s.onCheck(e500);
  t.is(sink.weight, 100);
  clock.advance(10);
  s.onCheck(ok);
  t.is(s.op, 'STARTING');
  t.is(sink.weight, 1);
  t.is(s.statusText, 'UP');
  clock.advance(500);
  t.true(sink.weight !== undefined && sink.weight >= 45 && sink.weight <= 55, String(sink.weight));
  clock.advance(600);
  t.is(s.op, 'RUNNING');
  t.is(sink.weight, 100);
  t.is(lines.at(-1), 'Server web_backend/n2 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.');
  // Weight changes were pushed monotonically.
  const ws = sink.calls.filter((c) => c.startsWith('weight=')).map((c) => Number(c.slice(7)));
  t.deepEqual(ws.slice(1), [...ws.slice(1)].sort((a, b) => a - b));
  s.dispose();
});

test('option log-health-checks: every counter move is logged, transitions without the reason', (t) => {
  const { be, lines } = setup({ logHealthChecks: true });
  const s = be.add({ name: 'l1', check: { rise: 2, fall: 3 } }, new FakeSink());
  s.onCheck(checkResult('L7OK', '', 200, 1));
  s.onCheck(checkResult('L7STS', 'Internal Server Error', 500, 1));
  s.onCheck(checkResult('L7STS', 'Internal Server Error', 500, 1));
  s.onCheck(checkResult('L7STS', 'Internal Server Error', 500, 1));
  t.deepEqual(lines, [
    'Health check for server web_backend/l1 succeeded, reason: Layer7 check passed, code: 200, check duration: 1ms, status: 3/3 UP.',
    'Health check for server web_backend/l1 failed, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 1ms, status: 2/3 UP.',
    'Health check for server web_backend/l1 failed, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 1ms, status: 1/3 UP.',
    'Health check for server web_backend/l1 failed, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: 1ms, status: 0/2 DOWN.',
    'Server web_backend/l1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
    'backend web_backend has no server available!',
  ]);
});

test('transitions are published on lb:server:state with the log line', (t) => {
  const sub = collect<ServerStateMessage>('lb:server:state');
  try {
    const { be } = setup();
    const s = be.add({ name: 'pub1', check: { rise: 1, fall: 1 } }, new FakeSink());
    s.onCheck(e500);
    const m = sub.messages.find((x) => x.server === 'pub1');
    t.truthy(m);
    t.like(m, { backend: 'web_backend', from: 'RUNNING', to: 'STOPPED', status: 'DOWN' });
    t.true(m?.line.startsWith('Server web_backend/pub1 is DOWN, reason: Layer7 wrong status'));
    t.is(m?.cause?.code, 500);
  } finally {
    sub.stop();
  }
});

test('info texts are ASCII-encoded like haproxy (quotes and non-ASCII bytes as <HH>)', (t) => {
  const { be, lines } = setup();
  be.add({ name: 'q5', check: { rise: 1, fall: 1 } }, new FakeSink()).onCheck(checkResult('L7STS', 'Bad "q" \u00c3\u00a9', 500, 5));
  t.is(lines[0], 'Server web_backend/q5 is DOWN, reason: Layer7 wrong status, code: 500, info: "Bad <22>q<22> <C3><A9>", check duration: 5ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.');
});
