// Shared by the runner tests (ProcessRunner in runner.test.ts, SpawnerRunner in spawner.test.ts):
// pid checks, and the two process-group cases both runners must pass the same way.
import type { ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../../../ha-agent/runner.ts';

/** Alive = exists and is not a zombie (an orphan may wait a moment for its reaper). */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Polls until pid is gone or a zombie, at most `ms`: a SIGKILLed process still has to be scheduled
 * to exit, which on a loaded host can take longer than any fixed pause a test would pick.
 */
export async function deadWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (alive(pid)) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** Timeout kills the whole process group, grandchildren included (run it serially: see callers). */
export async function timeoutKillsGroup(t: ExecutionContext, runner: CommandRunner): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-runner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'grandchild.pid');
  // 1 s rather than 200 ms: the grandchild must exist before the timeout fires, or there is nothing
  // to check; sh forks sleep within a few ms, even a loaded host does it well within a second.
  const timeoutMs = 1000;
  const started = performance.now();
  const r = await runner.run('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs });
  const afterTimeout = performance.now() - started - timeoutMs;
  t.log(`resolved ${afterTimeout.toFixed(0)} ms after the timeout`);
  t.true(r.timedOut, `timedOut: ${JSON.stringify(r)}`);
  t.is(r.signal, 'SIGKILL');
  t.true(afterTimeout < 1800, `resolved ${afterTimeout.toFixed(0)} ms after the timeout, not when the grandchild ends`);
  t.true(existsSync(pidFile), 'sh started its grandchild before the timeout fired (else the test proves nothing)');
  const gpid = Number(readFileSync(pidFile, 'utf8').trim());
  t.true(gpid > 1, `grandchild pid ${gpid}`);
  t.true(await deadWithin(gpid, 5000), `grandchild sleep ${gpid} must be killed with the group`);
}

/** A backgrounded grandchild holding stdout does not block completion (run it serially). */
export async function backgroundGrandchildDoesNotBlock(t: ExecutionContext, runner: CommandRunner): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-runner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'grandchild.pid');
  const exitFile = join(dir, 'exit.ns');
  // sleep 30 keeps stdout open long after sh exits; sh's last act (exec date) stamps its exit, the
  // instant from which completion must follow promptly (exit + pipe grace), not from run().
  const script = `sleep 30 & echo $! > ${pidFile}; echo done; exec date +%s%N > ${exitFile}`;
  const r = await runner.run('sh', ['-c', script], { timeoutMs: 10_000, killGroupOnExit: true });
  const resolvedAt = Date.now();
  t.is(r.code, 0);
  t.is(r.stdout, 'done\n');
  t.false(r.timedOut, 'completed before the timeout, i.e. without waiting for the grandchild');
  const sinceExit = resolvedAt - Number(readFileSync(exitFile, 'utf8').trim()) / 1e6;
  t.log(`completed ${sinceExit.toFixed(0)} ms after the command exited`);
  t.true(sinceExit < 1500, `completion came ${sinceExit.toFixed(0)} ms after the command exited`);
  const gpid = Number(readFileSync(pidFile, 'utf8').trim());
  t.true(gpid > 1, `grandchild pid ${gpid}`);
  t.true(await deadWithin(gpid, 5000), `killGroupOnExit: grandchild sleep ${gpid} must be killed at completion`);
}
