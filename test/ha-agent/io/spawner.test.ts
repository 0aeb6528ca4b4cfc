// SpawnerRunner (ha-agent/spawner.ts): the same contract as ProcessRunner (runner.test.ts), with
// processes forked by a long-lived perl helper; plus what it is for (node's event loop is not
// blocked by a spawn) and its fallback.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRunner, succeeded } from '../../../ha-agent/runner.ts';
import { SpawnerRunner } from '../../../ha-agent/spawner.ts';

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const fallback = new FakeRunner(() => ({ stdout: 'from-fallback' }));
const runner = new SpawnerRunner({ fallback, log: (l) => console.error(l) });

test.before(async (t) => {
  t.true(await runner.start(), 'perl helper ready');
});
test.after.always(() => runner.close());

test('runs argv without a shell and captures stdout, stderr and the exit code', async (t) => {
  const r = await runner.run('sh', ['-c', 'echo "$1"; echo err >&2; exit 3', 'sh', 'a b;$(x) é'], { timeoutMs: 5000 });
  t.is(r.code, 3);
  t.is(r.signal, null);
  t.is(r.stdout, 'a b;$(x) é\n');
  t.is(r.stderr, 'err\n');
  t.false(r.timedOut);
  t.false(succeeded(r));
  t.true(runner.available);
  t.is(fallback.calls.length, 0, 'not run through the fallback');
});

test('exit 0 is success; an empty argument survives', async (t) => {
  const r = await runner.run('sh', ['-c', 'test -z "$1" && test "$2" = b', 'sh', '', 'b'], { timeoutMs: 5000 });
  t.true(succeeded(r), JSON.stringify(r));
});

test('a missing program is a spawnError, not a throw', async (t) => {
  const r = await runner.run('/nonexistent/hapair-no-such-binary', [], { timeoutMs: 5000 });
  t.is(r.spawnError, 'ENOENT');
  t.is(r.code, null);
  t.false(succeeded(r));
});

test('a signal is reported as such', async (t) => {
  const r = await runner.run('sh', ['-c', 'kill -TERM $$'], { timeoutMs: 5000 });
  t.is(r.code, null);
  t.is(r.signal, 'SIGTERM');
});

test('timeout kills the whole process group, grandchildren included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-spawner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'grandchild.pid');
  const started = performance.now();
  const r = await runner.run('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 200 });
  t.true(r.timedOut);
  t.is(r.signal, 'SIGKILL');
  t.true(performance.now() - started < 2000);
  const gpid = Number(readFileSync(pidFile, 'utf8').trim());
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(alive(gpid), 'grandchild sleep must be dead');
});

test('a backgrounded grandchild holding stdout does not block completion', async (t) => {
  const started = performance.now();
  const r = await runner.run('sh', ['-c', 'sleep 2 & echo done'], { timeoutMs: 5000, killGroupOnExit: true });
  t.is(r.code, 0);
  t.is(r.stdout, 'done\n');
  t.true(performance.now() - started < 1500);
});

test('env replaces the environment; input goes to stdin; cwd applies', async (t) => {
  const r = await runner.run('sh', ['-c', 'echo "$HP_X:$HOME:$(pwd)"; cat'], {
    timeoutMs: 5000, env: { HP_X: 'yes=1', PATH: '/usr/bin:/bin' }, input: 'stdin-data', cwd: '/tmp',
  });
  t.is(r.stdout, 'yes=1::/tmp\nstdin-data');
});

test('uid/gid: the command runs as that user (root only)', async (t) => {
  if (process.getuid?.() !== 0) {
    t.pass('not root: skipped');
    return;
  }
  const r = await runner.run('id', ['-u'], { timeoutMs: 5000, uid: 65534, gid: 65534 });
  t.is(r.stdout.trim(), '65534');
});

test('output is bounded by maxOutputBytes', async (t) => {
  const r = await runner.run('sh', ['-c', 'head -c 100000 /dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 });
  t.is(r.stdout.length, 1000);
});

test('concurrent commands keep their own output', async (t) => {
  const rs = await Promise.all([...Array(8).keys()].map((i) => runner.run('sh', ['-c', `sleep 0.0${i}; echo ${i}`], { timeoutMs: 5000 })));
  t.deepEqual(rs.map((r) => r.stdout), [...Array(8).keys()].map((i) => `${i}\n`));
});

test("starting a command does not block node's event loop", async (t) => {
  // What run() costs synchronously, i.e. how long the event loop is held: ProcessRunner's spawn()
  // returns only once the child has exec'd (10-30 ms each on a loaded host); here it is a pipe write.
  let held = 0;
  const runs: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    runs.push(runner.run('true', [], { timeoutMs: 5000 }));
    held += performance.now() - t0;
  }
  const rs = await Promise.all(runs);
  t.log(`20 starts held the event loop ${held.toFixed(2)} ms in total`);
  t.true(held < 40, `${held} ms`);
  t.is(fallback.calls.length, 0);
  t.is(rs.length, 20);
});

test('without perl, commands go through the fallback runner', async (t) => {
  const fb = new FakeRunner(() => ({ stdout: 'fb' }));
  const r = new SpawnerRunner({ command: ['/nonexistent/perl'], fallback: fb, log: () => {} });
  t.false(await r.start());
  t.is((await r.run('true', [], { timeoutMs: 1000 })).stdout, 'fb');
  t.deepEqual(fb.argv, [['true']]);
  await r.close();
});

test('childNice: commands run at the given nice value, not the agent’s', async (t) => {
  const r = new SpawnerRunner({ childNice: 7, fallback: new FakeRunner() });
  t.true(await r.start());
  const res = await r.run('nice', [], { timeoutMs: 5000 });
  t.is(res.stdout.trim(), '7');
  await r.close();
});
