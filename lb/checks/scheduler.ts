// Runs every server's checks on ONE timer: a min-heap of due times (due-heap.ts) and a single
// setTimeout armed for the earliest (1,000 servers do not mean 1,000 intervals). A server never
// has two checks of the same kind in flight: the next one is scheduled when the previous
// finishes, as HAProxy does.
//
// Timing (HAProxy 2.6 check.c):
// - next check = end of the previous one + srv_getinter() (`inter` fully UP, `downinter` fully
//   DOWN, `fastinter` in between; unset fastinter/downinter fall back to `inter`), plus a random
//   ±`spread-checks`% of it when that global is set;
// - at start, checks with an interval ≥ 1s are staggered: the k-th of n starts after
//   k × (smallest such interval) / n; shorter ones start at once;
// - a server in maintenance is not checked (HAProxy pauses its checks); it is re-examined every
//   interval.
//
// Wake-ups: when the timer fires, every check due within the next 1/128 of its interval (at most
// BATCH_MAX_MS) runs with the due ones, up to ~8ms early at `inter 1s` (HAProxy runs each on
// time; its wake-ups are cheaper than ours). Without it, 1,000 servers at `inter 1s` woke the
// process ~470 times a second (checks end, and are rescheduled, a fraction of a millisecond
// apart), each wake-up an epoll round, a timer and a JS entry; with it, ~80 (bursts at least
// 8ms apart, test/checks/bench-checks.ts).
import { performance } from 'node:perf_hooks';
import { runAgentCheck, type AgentOutcome } from './agent.ts';
import { DueHeap } from './due-heap.ts';
import type { CheckEndpoint, CheckTimeouts, CheckTlsOptions } from './conn.ts';
import { HttpCheckPlan, startHttpCheck, type HttpCheckOptions } from './http.ts';
import type { ServerState } from './server-state.ts';
import type { CheckResult } from './status.ts';
import { startTcpCheck } from './tcp.ts';
import { runTcpCheckRules, type TcpCheckRule } from './tcpcheck.ts';

/** The `check` settings of one server, resolved (default-server and backend options applied). */
export interface CheckOptions {
  type: 'tcp' | 'http' | 'tcp-check';
  /** `inter`, default 2000 as HAProxy. */
  inter?: number;
  fastinter?: number | undefined;
  downinter?: number | undefined;
  /** The backend's `timeout check` and `timeout connect`. */
  timeoutCheck?: number | undefined;
  timeoutConnect?: number | undefined;
  /** `port` / `addr`: where to check, when not the server's address. */
  port?: number | undefined;
  addr?: string | undefined;
  /** `check-ssl` with its TLS settings. */
  ssl?: CheckTlsOptions | undefined;
  http?: HttpCheckOptions | undefined;
  tcpCheck?: readonly TcpCheckRule[] | undefined;
}

/** `agent-check` with `agent-port`, `agent-addr`, `agent-inter`, `agent-send`. */
export interface AgentOptions {
  port: number;
  addr?: string | undefined;
  /** Default: the server's `inter`, else 2000. */
  inter?: number | undefined;
  send?: string | undefined;
  timeoutCheck?: number | undefined;
  timeoutConnect?: number | undefined;
}

export interface ServerChecks {
  state: ServerState;
  /** The server's own address and port (the check defaults to them). */
  host: string;
  port: number;
  check?: CheckOptions | undefined;
  agent?: AgentOptions | undefined;
}

export interface SchedulerOptions {
  /** Global `spread-checks` percentage, 0..50. */
  spreadChecks?: number;
  random?: () => number;
}

const DEFAULT_INTER = 2000;
/** A check may run this much of its interval early to share a wake-up (see the header), ... */
const BATCH_FRACTION = 1 / 128;
/** ... but never more than this many milliseconds early. */
const BATCH_MAX_MS = 8;
/** HAProxy's SRV_CHK_INTER_THRES: shorter intervals do not dictate the start-up spreading. */
const INTER_THRES = 1000;

interface Task {
  reg: ServerChecks;
  kind: 'check' | 'agent';
  due: number;
  /** How early it may run to share a wake-up (BATCH_FRACTION of its interval). */
  slack: number;
  seq: number;
  running: boolean;
  enabled: boolean;
  removed: boolean;
  /** The check endpoint, rebuilt only when the address or port changes. */
  ep: CheckEndpoint | undefined;
  timeouts: CheckTimeouts | undefined;
  /** The HTTP check's plan, rebuilt only when the options object changes. */
  plan: HttpCheckPlan | undefined;
  /** Bound once per task: the callback of every check of this task (no closure per check). */
  done: (r: CheckResult) => void;
}

export interface CheckHandle {
  /** `enable health`/`disable health` (kind 'check') and `enable agent`/`disable agent`. */
  setEnabled(kind: 'check' | 'agent', on: boolean): void;
  /**
   * The server's own address changed (`set server B/S addr`): the next checks that default to it
   * (no `addr`/`port` check option, agent without `agent-addr`) go there. Checks in flight finish
   * against the old address, as HAProxy's do.
   */
  setAddress(host: string, port: number): void;
  remove(): void;
}

export class CheckScheduler {
  readonly #queue = new DueHeap<Task>();
  readonly #tasks = new Set<Task>();
  readonly #spread: number;
  readonly #random: () => number;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
  /** Bound once: no closure per arming. */
  readonly #onTimer = (): void => this.#fire();
  #inflight = 0;
  #idle: (() => void)[] = [];
  #started = false;
  #stopped = false;
  /** Checks finished so far (any verdict), for benchmarks and the `show info` view. */
  completed = 0;

  constructor(o: SchedulerOptions = {}) {
    this.#spread = Math.max(0, Math.min(50, o.spreadChecks ?? 0));
    this.#random = o.random ?? Math.random;
  }

  add(reg: ServerChecks): CheckHandle {
    const mk = (kind: 'check' | 'agent'): Task => {
      const t: Task = { reg, kind, due: 0, slack: 0, seq: this.#seq++, running: false, enabled: true, removed: false, ep: undefined, timeouts: undefined, plan: undefined, done: () => {} };
      t.done = (r) => this.#checkDone(t, r);
      return t;
    };
    const tasks: Task[] = [];
    if (reg.check !== undefined && reg.state.check !== undefined) tasks.push(mk('check'));
    if (reg.agent !== undefined && reg.state.agent !== undefined) tasks.push(mk('agent'));
    for (const t of tasks) {
      this.#tasks.add(t);
      if (this.#started) this.#schedule(t, performance.now(), this.#interval(t));
    }
    return {
      setEnabled: (kind, on) => {
        for (const t of tasks) if (t.kind === kind) t.enabled = on;
      },
      setAddress: (host, port) => {
        // #execute compares the cached endpoint with reg.host/port and rebuilds it on change.
        reg.host = host;
        reg.port = port;
      },
      remove: () => {
        for (const t of tasks) {
          t.removed = true;
          this.#queue.remove(t);
          this.#tasks.delete(t);
        }
      },
    };
  }

  /** Starts every registered check with HAProxy's start-up staggering. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const now = performance.now();
    let mininter = 0;
    for (const t of this.#tasks) {
      const i = this.#interval(t);
      if (i >= INTER_THRES && (mininter === 0 || i < mininter)) mininter = i;
    }
    const n = this.#tasks.size;
    let k = 0;
    for (const t of this.#tasks) this.#schedule(t, now + (n > 0 ? (mininter * k++) / n : 0), this.#interval(t));
  }

  /** Stops scheduling and waits for the checks in flight; the scheduler cannot be restarted. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.clear();
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Number of checks in flight (tests, stats "* L7OK" in-progress marker). */
  get inFlight(): number {
    return this.#inflight;
  }

  #interval(t: Task): number {
    const reg = t.reg;
    if (t.kind === 'agent') return reg.agent?.inter ?? reg.check?.inter ?? DEFAULT_INTER;
    const c = reg.check;
    const inter = c?.inter ?? DEFAULT_INTER;
    const kind = reg.state.intervalKind();
    if (kind === 'fastinter') return c?.fastinter ?? inter;
    if (kind === 'downinter') return c?.downinter ?? inter;
    return inter;
  }

  /** Queues `t` at `due`; `interval` is what it was computed from (it sets the batching slack). */
  #schedule(t: Task, due: number, interval: number): void {
    if (this.#stopped || t.removed) return;
    t.due = due;
    t.slack = Math.min(BATCH_MAX_MS, interval * BATCH_FRACTION);
    t.seq = this.#seq++;
    this.#queue.push(t);
    this.#arm();
  }

  #reschedule(t: Task): void {
    const inter = this.#interval(t);
    let i = inter;
    if (this.#spread > 0) {
      const rv = (i * this.#spread) / 100;
      i += rv - 2 * rv * this.#random();
    }
    this.#schedule(t, performance.now() + i, inter);
  }

  #arm(): void {
    const due = this.#queue.peekDue();
    if (due === Infinity || this.#stopped) return;
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, due - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = performance.now();
    for (;;) {
      const top = this.#queue.peek();
      // Due, or due soon enough to share this wake-up (`slack` ≥ the 1ms timer granularity).
      if (top === undefined || top.due > now + Math.max(1, top.slack)) break;
      this.#queue.pop();
      this.#run(top);
    }
    this.#arm();
  }

  #run(t: Task): void {
    const s = t.reg.state;
    if (!t.enabled || s.inMaint) {
      this.#reschedule(t);
      return;
    }
    t.running = true;
    this.#inflight++;
    try {
      this.#execute(t);
    } catch {
      // A runner bug (or an unusable address) must not stop the checks of this server.
      this.#finished(t, false);
    }
  }

  /** Bookkeeping once a check of `t` is over (any verdict). */
  #finished(t: Task, counted: boolean): void {
    if (!t.running) return;
    t.running = false;
    if (counted) this.completed++;
    this.#inflight--;
    if (this.#inflight === 0 && this.#idle.length > 0) for (const w of this.#idle.splice(0)) w();
    this.#reschedule(t);
  }

  #checkDone(t: Task, r: CheckResult): void {
    if (!t.running) return;
    try {
      if (!this.#stopped && !t.removed) t.reg.state.onCheck(r);
    } finally {
      this.#finished(t, true);
    }
  }

  #execute(t: Task): void {
    const reg = t.reg;
    const state = reg.state;
    if (t.kind === 'agent') {
      const a = reg.agent;
      if (a === undefined) return this.#finished(t, true);
      const ep: CheckEndpoint = { host: a.addr ?? reg.host, port: a.port };
      const inter = a.inter ?? reg.check?.inter ?? DEFAULT_INTER;
      void runAgentCheck(ep, { inter, check: a.timeoutCheck, connect: a.timeoutConnect }, { send: a.send ?? '' }, state.initialWeight).then(
        (o: AgentOutcome) => {
          try {
            if (!this.#stopped && !t.removed) state.onAgent(o);
          } finally {
            this.#finished(t, true);
          }
        },
        () => this.#finished(t, false),
      );
      return;
    }
    const c = reg.check;
    if (c === undefined) return this.#finished(t, true);
    const host = c.addr ?? reg.host;
    const port = c.port ?? reg.port;
    let ep = t.ep;
    if (ep === undefined || ep.host !== host || ep.port !== port || ep.tls !== c.ssl) ep = t.ep = { host, port, tls: c.ssl };
    let timeouts = t.timeouts;
    if (timeouts === undefined) timeouts = t.timeouts = { inter: c.inter ?? DEFAULT_INTER, check: c.timeoutCheck, connect: c.timeoutConnect };
    if (c.type === 'http' && c.http !== undefined) {
      let plan = t.plan;
      if (plan === undefined || plan.options !== c.http) plan = t.plan = new HttpCheckPlan(c.http);
      startHttpCheck(ep, timeouts, plan, state.op === 'STOPPED', t.done);
    } else if (c.type === 'tcp-check' && c.tcpCheck !== undefined) void runTcpCheckRules(ep, timeouts, c.tcpCheck).then(t.done, () => this.#finished(t, false));
    else startTcpCheck(ep, timeouts, t.done);
  }
}
