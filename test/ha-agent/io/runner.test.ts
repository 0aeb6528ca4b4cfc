import test from 'ava';
import {
  FakeRunner,
  HaEdgeError,
  ProcessRunner,
  inNetns,
  resolveUser,
  splitCommandLine,
  succeeded,
} from '../../../ha-agent/runner.ts';
import { backgroundGrandchildDoesNotBlock, timeoutKillsGroup } from './procs.ts';

const runner = new ProcessRunner();

test('runs argv without a shell and captures stdout, stderr and the exit code', async (t) => {
  const r = await runner.run('sh', ['-c', 'echo "$1"; echo err >&2; exit 3', 'sh', 'a b;$(x)'], { timeoutMs: 5000 });
  t.is(r.code, 3);
  t.is(r.signal, null);
  t.is(r.stdout, 'a b;$(x)\n');
  t.is(r.stderr, 'err\n');
  t.false(r.timedOut, 'no timeout');
  t.false(succeeded(r), 'exit 3 is a failure');
  t.true(r.durationMs >= 0 && r.durationMs < 5000, `durationMs ${r.durationMs} is measured, below the 5 s timeout`);
});

test('exit 0 is success', async (t) => {
  const r = await runner.run('true', [], { timeoutMs: 5000 });
  t.true(succeeded(r), JSON.stringify(r));
});

test('a missing program is a spawnError, not a throw', async (t) => {
  const r = await runner.run('/nonexistent/hapair-no-such-binary', [], { timeoutMs: 5000 });
  t.is(r.spawnError, 'ENOENT');
  t.is(r.code, null);
  t.false(succeeded(r), 'a spawn error is a failure');
});

// The next two are serial: each spawn() of the file's concurrent tests holds node's event loop until
// the child has exec'd (tens of ms each under load), which these tests' time bounds would measure.
test.serial('timeout kills the whole process group, grandchildren included', (t) => timeoutKillsGroup(t, runner));

test.serial('a backgrounded grandchild holding stdout does not block completion', (t) => backgroundGrandchildDoesNotBlock(t, runner));

test('env replaces the environment; input goes to stdin', async (t) => {
  const r = await runner.run('sh', ['-c', 'echo "$HP_X:$HOME"; cat'], {
    timeoutMs: 5000,
    env: { HP_X: 'yes', PATH: '/usr/bin:/bin' },
    input: 'stdin-data',
  });
  t.is(r.stdout, 'yes:\nstdin-data');
});

test('output is bounded by maxOutputBytes', async (t) => {
  const r = await runner.run('sh', ['-c', 'head -c 100000 /dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 });
  t.is(r.stdout.length, 1000);
});

test('splitCommandLine follows keepalived quoting without a shell', (t) => {
  t.deepEqual(splitCommandLine('/usr/bin/killall -0 haproxy'), ['/usr/bin/killall', '-0', 'haproxy']);
  t.deepEqual(splitCommandLine(`  /bin/x  'a b' "c \\"d\\" e"  f\\ g `), ['/bin/x', 'a b', 'c "d" e', 'f g']);
  t.deepEqual(splitCommandLine('x "" y'), ['x', '', 'y']);
  t.deepEqual(splitCommandLine('echo $HOME|wc'), ['echo', '$HOME|wc']);
  for (const bad of ['x "open', "x 'open", 'x \\']) {
    const err = t.throws(() => splitCommandLine(bad), { instanceOf: HaEdgeError });
    t.is(err?.code, 'ERR_HA_EDGE_SCRIPT_SYNTAX');
  }
});

test('resolveUser reads passwd and group', (t) => {
  const files = {
    passwd: 'root:x:0:0:root:/root:/bin/bash\nkeepalived_script:x:998:997::/:/usr/sbin/nologin\n',
    group: 'root:x:0:\nnogroup:x:65534:\n',
  };
  t.deepEqual(resolveUser('keepalived_script', undefined, files), { uid: 998, gid: 997 });
  t.deepEqual(resolveUser('keepalived_script', 'nogroup', files), { uid: 998, gid: 65534 });
  t.deepEqual(resolveUser('0', '5', files), { uid: 0, gid: 5 });
  t.is(t.throws(() => resolveUser('nobody2', undefined, files), { instanceOf: HaEdgeError })?.code, 'ERR_HA_EDGE_USER');
  t.is(t.throws(() => resolveUser('root', 'wheel9', files), { instanceOf: HaEdgeError })?.code, 'ERR_HA_EDGE_USER');
});

test('inNetns prefixes ip netns exec; FakeRunner records argv and answers', async (t) => {
  const fake = new FakeRunner(({ args }) => (args.includes('fail') ? { code: 1, stderr: 'no' } : { stdout: 'ok' }));
  const ns = inNetns(fake, 'hpx-a');
  const r1 = await ns.run('arping', ['-U', '1.2.3.4'], { timeoutMs: 10 });
  const r2 = await ns.run('false', ['fail'], { timeoutMs: 10 });
  t.deepEqual(fake.argv, [
    ['ip', 'netns', 'exec', 'hpx-a', 'arping', '-U', '1.2.3.4'],
    ['ip', 'netns', 'exec', 'hpx-a', 'false', 'fail'],
  ]);
  t.is(r1.stdout, 'ok');
  t.is(r2.code, 1);
  t.is(fake.calls[0]?.options.timeoutMs, 10);
});
