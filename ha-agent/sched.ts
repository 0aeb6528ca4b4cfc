// CPU scheduling of the agent: robust to CPU contention as keepalived is.
//
// A VRRP agent must keep its timers under load: at advert_int 0.05 a master whose adverts are
// ~130 ms late loses the VIP to its peer (a spurious transition). keepalived offers `vrrp_priority`
// (nice, -20..19) and `vrrp_rt_priority` (SCHED_RR 1..99) in global_defs; the equivalents here:
// - nice: os.setPriority(). Default when running as root: -20 (keepalived's default is to leave
//   it alone; ours is not, because node's event loop also runs the GARPs, the VIP commands and the
//   track scripts' bookkeeping, and the soak drill showed 18 spurious transitions at nice 0 with
//   two busy loops on the agent's CPU). Not root: left alone (raising needs CAP_SYS_NICE).
//   The transition helpers (ip batch, GARP, process spawner) inherit it; track and notify scripts
//   are put back to the nice the agent started with (as keepalived does), so that a notify script
//   does not take the CPU from the service it announces (the drill's responder answered ~40 ms
//   later when B's notify_master ran at -20).
// - real time: `chrt --rr --reset-on-fork -a -p PRIO PID` once at start (node cannot call
//   sched_setscheduler itself). Off by default: a runaway event loop at SCHED_RR could starve the
//   host, and nice -20 was enough in the soak. --reset-on-fork, as keepalived does, so scripts run
//   at normal priority.
// Both are best effort: a failure is logged and the agent runs on.
//
// Linux's setpriority(PRIO_PROCESS, pid) changes one thread only, so the nice value is applied to
// every thread in /proc/self/task (V8's GC helpers and libuv's pool, which the event loop may wait
// for); threads created later inherit it from the main thread.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface SchedOptions {
  /** Nice value -20..19; undefined = the default (-20 when root, else unchanged); null = leave alone. */
  readonly nice?: number | null;
  /** SCHED_RR priority 1..99; undefined/null = not real time. */
  readonly rtPriority?: number | null;
  readonly isRoot?: boolean;
  readonly log: (level: 'info' | 'warn', line: string) => void;
  /** Injected for tests. */
  readonly setNice?: (n: number) => void;
  readonly runChrt?: (args: readonly string[]) => { status: number | null; stderr: string; error?: Error };
}

export const DEFAULT_ROOT_NICE = -20;

/** Applies the scheduling settings to this process; returns what was applied (for logs and tests). */
export function applyScheduling(o: SchedOptions): { nice?: number; rt?: number; previousNice: number } {
  const root = o.isRoot ?? process.getuid?.() === 0;
  const out: { nice?: number; rt?: number; previousNice: number } = { previousNice: safeGetPriority() };
  const nice = o.nice === undefined ? (root ? DEFAULT_ROOT_NICE : undefined) : (o.nice ?? undefined);
  if (nice !== undefined) {
    if (!(Number.isInteger(nice) && nice >= -20 && nice <= 19)) {
      o.log('warn', `scheduling: nice ${nice} outside -20..19; left alone`);
    } else {
      try {
        (o.setNice ?? setNiceAllThreads)(nice);
        out.nice = nice;
        o.log('info', `scheduling: nice ${nice}${o.nice === undefined ? ' (default when root)' : ''}`);
      } catch (err) {
        o.log('warn', `scheduling: cannot set nice ${nice} (${err instanceof Error ? err.message : String(err)}); running at ${getPriority(0)}`);
      }
    }
  }
  const rt = o.rtPriority ?? undefined;
  if (rt !== undefined) {
    if (!(Number.isInteger(rt) && rt >= 1 && rt <= 99)) {
      o.log('warn', `scheduling: real-time priority ${rt} outside 1..99; not real time`);
      return out;
    }
    const args = ['--rr', '--reset-on-fork', '--all-tasks', '--pid', String(rt), String(process.pid)];
    const r = (o.runChrt ?? ((a) => spawnSync('chrt', [...a], { encoding: 'utf8', timeout: 5000 })))(args);
    if (r.error === undefined && r.status === 0) {
      out.rt = rt;
      o.log('info', `scheduling: SCHED_RR priority ${rt} (reset on fork)`);
    } else {
      o.log('warn', `scheduling: chrt ${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
    }
  }
  return out;
}

/** setpriority() on every thread of this process (main thread first: it is the one that must succeed). */
function setNiceAllThreads(n: number): void {
  setPriority(0, n);
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return; // no /proc: the main thread is done
  }
  for (const tid of tids) {
    if (Number(tid) === process.pid) continue;
    try {
      setPriority(Number(tid), n);
    } catch {
      // a thread that has just exited
    }
  }
}

function safeGetPriority(): number {
  try {
    return getPriority(0);
  } catch {
    return 0;
  }
}

/**
 * At SIGTERM, once the priority-0 adverts are out: back to the nice we started with. What is left
 * (VIP release, notify_stop, closing) is not urgent, while the peer taking over and the services it
 * answers for are: on a loaded host our shutdown at -20 delayed the new master's first answers.
 */
export function restoreNice(previousNice: number, setNice: (n: number) => void = setNiceAllThreads): void {
  try {
    setNice(previousNice);
  } catch {
    // best effort
  }
}
