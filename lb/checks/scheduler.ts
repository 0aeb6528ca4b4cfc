// Runs every server's checks on ONE timer: a min-heap of due times and a single setTimeout armed
// for the earliest (1,000 servers do not mean 1,000 intervals). A server never has two checks of
// the same kind in flight: the next one is scheduled when the previous finishes, as HAProxy does.
//
// Timing (HAProxy 2.6 check.c):
// - next check = end of the previous one + srv_getinter() (`inter` fully UP, `downinter` fully
//   DOWN, `fastinter` in between; unset fastinter/downinter fall back to `inter`), plus a random
//   ±`spread-checks`% of it when that global is set;
// - at start, checks with an interval ≥ 1s are staggered: the k-th of n starts after
//   k × (smallest such interval) / n; shorter ones start at once;
// - a server in maintenance is not checked (HAProxy pauses its checks); it is re-examined every
//   interval.
import { runAgentCheck, type AgentOutcome } from './agent.ts';
import type { CheckEndpoint, CheckTimeouts, CheckTlsOptions } from './conn.ts';
import { startHttpCheck, type HttpCheckOptions } from './http.ts';
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
/** HAProxy's SRV_CHK_INTER_THRES: shorter intervals do not dictate the start-up spreading. */
const INTER_THRES = 1000;

interface Task {
  reg: ServerChecks;
  kind: 'check' | 'agent';
  due: number;
  seq: number;
  /** Heap index, -1 when not queued (running or removed). */
  pos: number;
  running: boolean;
  enabled: boolean;
  removed: boolean;
  /** The check endpoint, rebuilt only when the address or port changes. */
  ep: CheckEndpoint | undefined;
  timeouts: CheckTimeouts | undefined;
  /** Bound once per task: the callback of every check of this task (no closure per check). */
  done: (r: CheckResult) => void;
}

export interface CheckHandle {
  /** `enable health`/`disable health` (kind 'check') and `enable agent`/`disable agent`. */
  setEnabled(kind: 'check' | 'agent', on: boolean): void;
  remove(): void;
}

export class CheckScheduler {
  readonly #heap: Task[] = [];
  readonly #tasks = new Set<Task>();
  readonly #spread: number;
  readonly #random: () => number;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
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
      const t: Task = { reg, kind, due: 0, seq: this.#seq++, pos: -1, running: false, enabled: true, removed: false, ep: undefined, timeouts: undefined, done: () => {} };
      t.done = (r) => this.#checkDone(t, r);
      return t;
    };
    const tasks: Task[] = [];
    if (reg.check !== undefined && reg.state.check !== undefined) tasks.push(mk('check'));
    if (reg.agent !== undefined && reg.state.agent !== undefined) tasks.push(mk('agent'));
    for (const t of tasks) {
      this.#tasks.add(t);
      if (this.#started) this.#schedule(t, performance.now());
    }
    return {
      setEnabled: (kind, on) => {
        for (const t of tasks) if (t.kind === kind) t.enabled = on;
      },
      remove: () => {
        for (const t of tasks) {
          t.removed = true;
          this.#unqueue(t);
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
    for (const t of this.#tasks) this.#schedule(t, now + (n > 0 ? (mininter * k++) / n : 0));
  }

  /** Stops scheduling and waits for the checks in flight; the scheduler cannot be restarted. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.length = 0;
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

  #schedule(t: Task, due: number): void {
    if (this.#stopped || t.removed) return;
    t.due = due;
    t.seq = this.#seq++;
    this.#push(t);
    this.#arm();
  }

  #reschedule(t: Task): void {
    let i = this.#interval(t);
    if (this.#spread > 0) {
      const rv = (i * this.#spread) / 100;
      i += rv - 2 * rv * this.#random();
    }
    this.#schedule(t, performance.now() + i);
  }

  #arm(): void {
    const top = this.#heap[0];
    if (top === undefined || this.#stopped) return;
    if (this.#timer !== undefined && this.#timerDue <= top.due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = top.due;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, top.due - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = performance.now();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.due > now + 1) break;
      this.#pop();
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
    if (c.type === 'http' && c.http !== undefined) startHttpCheck(ep, timeouts, c.http, state.op === 'STOPPED', t.done);
    else if (c.type === 'tcp-check' && c.tcpCheck !== undefined) void runTcpCheckRules(ep, timeouts, c.tcpCheck).then(t.done, () => this.#finished(t, false));
    else startTcpCheck(ep, timeouts, t.done);
  }

  // ---- binary min-heap on (due, seq) ----

  #less(a: Task, b: Task): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(t: Task): void {
    const h = this.#heap;
    t.pos = h.length;
    h.push(t);
    this.#up(t.pos);
  }

  #pop(): Task | undefined {
    const h = this.#heap;
    const top = h[0];
    if (top === undefined) return undefined;
    this.#removeAt(0);
    return top;
  }

  #unqueue(t: Task): void {
    if (t.pos >= 0 && this.#heap[t.pos] === t) this.#removeAt(t.pos);
  }

  #removeAt(i: number): void {
    const h = this.#heap;
    const gone = h[i];
    const last = h.pop();
    if (gone !== undefined) gone.pos = -1;
    if (last === undefined || i >= h.length) return;
    h[i] = last;
    last.pos = i;
    this.#down(i);
    this.#up(last.pos);
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const a = h[i];
      const b = h[p];
      if (a === undefined || b === undefined || !this.#less(a, b)) break;
      h[i] = b;
      b.pos = i;
      h[p] = a;
      a.pos = p;
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      const hm = (): Task | undefined => h[m];
      const hl = h[l];
      const hr = h[r];
      let cur = hm();
      if (hl !== undefined && cur !== undefined && this.#less(hl, cur)) m = l;
      cur = hm();
      if (hr !== undefined && cur !== undefined && this.#less(hr, cur)) m = r;
      if (m === i) return;
      const a = h[i];
      const b = h[m];
      if (a === undefined || b === undefined) return;
      h[i] = b;
      b.pos = i;
      h[m] = a;
      a.pos = m;
      i = m;
    }
  }
}
