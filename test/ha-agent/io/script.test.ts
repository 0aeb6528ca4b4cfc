import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunner, ProcessRunner, type RunResult } from '../../../ha-agent/runner.ts';
import { ScriptTracker, type ScriptChange, type TrackState } from '../../../ha-agent/track/script.ts';

const runner = new ProcessRunner();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-track-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits until `pred` holds, polling every 5 ms, at most `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (pred()) return true;
    await sleep(5);
  }
  return pred();
}

test('real: /bin/true stays ok, the first failure of a fresh script fails it at once', async (t) => {
  const ok = new ScriptTracker({ name: 'ok', script: '/bin/true', runner, intervalMs: 20, timeoutMs: 5000, fall: 3 });
  const bad = new ScriptTracker({ name: 'bad', script: '/bin/false', runner, intervalMs: 20, timeoutMs: 5000, fall: 3 });
  const changes: ScriptChange[] = [];
  const bad2 = new ScriptTracker({ name: 'bad2', script: '/bin/false', runner, intervalMs: 20, timeoutMs: 5000, fall: 3, onChange: (c) => changes.push(c) });
  t.teardown(() => Promise.all([ok.stop(), bad.stop(), bad2.stop()]));
  t.is(ok.state, 'ok');
  t.true(ok.initializing);
  t.is(await ok.checkNow(), 'ok');
  t.false(ok.initializing);
  t.is(await bad.checkNow(), 'failed', 'keepalived INIT: first result decides regardless of fall');
  bad2.start();
  t.true(await until(() => changes.length === 1));
  t.like(changes[0], { name: 'bad2', state: 'failed', previous: 'ok' });
  t.regex(changes[0]?.reason ?? '', /first run failed \(exit 1\)/);
});

test('real: fall and rise count consecutive results (script reads a flag file)', async (t) => {
  const dir = tmp(t);
  const flag = join(dir, 'fail');
  const seen: TrackState[] = [];
  const tr = new ScriptTracker({
    name: 'flag',
    script: ['/bin/sh', '-c', `test ! -e ${flag}`],
    runner,
    intervalMs: 10_000,
    fall: 3,
    rise: 2,
    onChange: (c) => seen.push(c.state),
  });
  t.teardown(() => tr.stop());
  t.is(await tr.checkNow(), 'ok');
  await runner.run('touch', [flag], { timeoutMs: 1000 });
  t.is(await tr.checkNow(), 'ok');
  t.is(await tr.checkNow(), 'ok');
  t.is(await tr.checkNow(), 'failed', 'third consecutive failure');
  await runner.run('rm', [flag], { timeoutMs: 1000 });
  t.is(await tr.checkNow(), 'failed');
  t.is(await tr.checkNow(), 'ok', 'second consecutive success');
  t.deepEqual(seen, ['failed', 'ok']);
  t.is(tr.runs, 6);
});

test('real: init_fail starts failed and needs rise successes', async (t) => {
  const tr = new ScriptTracker({ name: 'i', script: 'true', runner, initFail: true, rise: 2, intervalMs: 10_000 });
  t.teardown(() => tr.stop());
  t.is(tr.state, 'failed');
  t.is(await tr.checkNow(), 'failed');
  t.is(await tr.checkNow(), 'ok');
});

test('real: a hung script is killed at timeout and counts as a failure', async (t) => {
  const dir = tmp(t);
  const pidFile = join(dir, 'pid');
  let last: RunResult | undefined;
  const tr = new ScriptTracker({
    name: 'hang',
    script: ['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`],
    runner,
    intervalMs: 10_000,
    timeoutMs: 150,
    onResult: (r) => (last = r),
  });
  t.teardown(() => tr.stop());
  const started = performance.now();
  t.is(await tr.checkNow(), 'failed');
  t.true(performance.now() - started < 2000);
  t.true(last?.timedOut);
  const gpid = Number(readFileSync(pidFile, 'utf8'));
  await sleep(50);
  const stat = existsSync(`/proc/${gpid}/stat`) ? readFileSync(`/proc/${gpid}/stat`, 'utf8') : '';
  t.false(/^\d+ \(.*\) [RSD]/.test(stat), 'the sleep child of the script is gone');
});

test('real: runs never overlap even with interval 1 ms and checkNow spam', async (t) => {
  const dir = tmp(t);
  const lock = join(dir, 'lock');
  const log = join(dir, 'log');
  const tr = new ScriptTracker({
    name: 'overlap',
    script: ['/bin/sh', '-c', `if [ -e ${lock} ]; then echo OVERLAP >> ${log}; fi; touch ${lock}; echo run >> ${log}; sleep 0.05; rm -f ${lock}`],
    runner,
    intervalMs: 1,
    timeoutMs: 5000,
  });
  tr.start();
  const spam = Array.from({ length: 20 }, () => tr.checkNow());
  await Promise.all(spam);
  await sleep(300);
  await tr.stop();
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  t.false(lines.includes('OVERLAP'), lines.join(','));
  t.true(lines.length >= 3, `runs: ${lines.length}`);
});

test.serial('checkNow during a run coalesces into exactly one extra run', async (t) => {
  const gates: (() => void)[] = [];
  const fake = new FakeRunner(() => new Promise((resolve) => gates.push(() => resolve({ code: 0 }))));
  const tr = new ScriptTracker({ name: 'c', script: 'x', runner: fake, intervalMs: 60_000 });
  t.teardown(() => {
    for (const g of gates) g();
    return tr.stop();
  });
  const first = tr.checkNow();
  const extra = [tr.checkNow(), tr.checkNow(), tr.checkNow()];
  t.is(fake.calls.length, 1);
  gates.shift()?.();
  await first;
  await until(() => fake.calls.length === 2, 1000);
  await sleep(20);
  t.is(fake.calls.length, 2, 'three requests during the run → one re-run');
  gates.shift()?.();
  t.deepEqual(await Promise.all(extra), ['ok', 'ok', 'ok']);
  t.deepEqual(fake.calls[0]?.options.env?.LC_ALL, 'C');
  t.true(fake.calls[0]?.options.killGroupOnExit);
});

test.serial('recheckMs confirms a failure streak fast; without it the interval applies', async (t) => {
  const failing = (): FakeRunner => new FakeRunner(() => ({ code: 1 }));
  const fast = failing();
  const slow = failing();
  const base = { name: 'r', script: 'chk', intervalMs: 400, fall: 3 };
  const a = new ScriptTracker({ ...base, runner: fast, recheckMs: 10 });
  const b = new ScriptTracker({ ...base, runner: slow });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  // Past initialisation, both OK.
  fast.respond(() => ({ code: 0 }));
  slow.respond(() => ({ code: 0 }));
  await a.checkNow();
  await b.checkNow();
  fast.respond(() => ({ code: 1 }));
  slow.respond(() => ({ code: 1 }));
  const t0 = performance.now();
  a.start();
  b.start();
  await a.checkNow();
  await b.checkNow();
  t.true(await until(() => a.state === 'failed', 1000));
  const fastMs = performance.now() - t0;
  t.true(fastMs < 350, `fast path took ${fastMs} ms`);
  t.is(b.state, 'ok', 'keepalived pacing: still waiting for the interval');
  t.true(await until(() => b.state === 'failed', 2000));
  t.true(performance.now() - t0 >= 700, 'two more intervals of 400 ms');
});

test('an unterminated quote in script is rejected at construction', (t) => {
  t.throws(() => new ScriptTracker({ name: 'q', script: '/bin/x "oops', runner }), { message: /unterminated/ });
});

test('a missing script binary counts as a failure with its spawn error', async (t) => {
  const changes: ScriptChange[] = [];
  const tr = new ScriptTracker({ name: 'm', script: '/nonexistent/check', runner, onChange: (c) => changes.push(c) });
  t.is(await tr.checkNow(), 'failed');
  t.regex(changes[0]?.reason ?? '', /ENOENT/);
  await tr.stop();
});
