// The running lb gets its daemon V8 flags by re-executing itself in place (same PID), `lb -c`
// does not pay for it, and LB_V8_FLAGS overrides the flags.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { freePort, sleep, writeConfig } from './harness.ts';

const NODE = join(import.meta.dirname, '../../../node_modules/.bin/node');
const MAIN = join(import.meta.dirname, '../../../bin/lb.js');

async function cmdlineOfRunningLb(t: import('ava').ExecutionContext, env: NodeJS.ProcessEnv): Promise<string[]> {
  const port = await freePort();
  const file = writeConfig(`defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nlisten l\n  bind 127.0.0.1:${port}\n  server s1 127.0.0.1:1\n`);
  const child = spawn(NODE, [MAIN, '-d', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'], env });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 15_000;
  while (!err.includes('started.') && child.exitCode === null && Date.now() < deadline) await sleep(50);
  t.true(err.includes('started.'), `lb did not start: ${err}`);
  // Same PID as the process we spawned: the re-exec replaced the image, it did not fork.
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
  child.kill('SIGTERM');
  return [...argv, ...environ.filter((e) => e.startsWith('MALLOC_ARENA_MAX='))];
}

test('a running lb re-executes itself with its V8 flags, keeping its PID', async (t) => {
  const env = { ...process.env };
  delete env.LB_V8_FLAGS;
  delete env.MALLOC_ARENA_MAX;
  const argv = await cmdlineOfRunningLb(t, env);
  t.true(argv.includes('--max-semi-space-size=1'), argv.join(' '));
  t.true(argv.includes('--v8-pool-size=1'), argv.join(' '));
  t.true(argv.includes('-d'));
  t.true(argv.includes('MALLOC_ARENA_MAX=2'), 'glibc arenas bounded in the environment');
});

test('LB_V8_FLAGS replaces the flags ("" for none)', async (t) => {
  const none = await cmdlineOfRunningLb(t, { ...process.env, LB_V8_FLAGS: '' });
  t.false(none.some((a) => a.startsWith('--max-semi-space-size')), none.join(' '));
  const other = await cmdlineOfRunningLb(t, { ...process.env, LB_V8_FLAGS: '--max-semi-space-size=4' });
  t.true(other.includes('--max-semi-space-size=4'), other.join(' '));
});
