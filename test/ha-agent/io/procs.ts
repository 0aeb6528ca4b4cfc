// Process checks shared by the runner tests: is a pid still running, and wait (bounded) for it to die.
import { readFileSync } from 'node:fs';

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
