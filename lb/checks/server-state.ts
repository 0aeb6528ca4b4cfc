// The server state model of HAProxy 2.6 (server.c / check.c), driven by check results and admin
// commands, with effects pushed to a StateSink (the balance Pool) and every transition logged with
// HAProxy's exact text and published on diagnostics channels.
//
// Health counter (per check, HAProxy's check->health): 0..rise+fall-1; the server counts as UP
// when health >= rise. A failure decrements, and once below rise drops to 0; a success
// increments, and once at rise jumps to rise+fall-1. A server with `check` starts at health =
// rise: UP, but the FIRST failure takes it DOWN (HAProxy's "up, but will fall down at first
// failure"; `init-state` in 3.x). From fully UP it takes `fall` failures, from DOWN `rise`
// successes. Verified on haproxy 2.6 with `option log-health-checks` ("status: 2/3 UP"...).
// Agent checks use rise = fall = 1 and only an agent L7STS (down/stopped/fail) counts as failure.
//
// Operational states: STOPPED (DOWN), STARTING (UP during slowstart), RUNNING (UP), STOPPING (NOLB,
// after a 404 with disable-on-404). Admin flags (HAProxy's SRV_ADMF_* values, as `show servers
// state` prints them): FMAINT forced maintenance (CLI, agent), IMAINT inherited from a tracked
// server, CMAINT "disabled" in the configuration, FDRAIN forced drain, IDRAIN inherited drain.
import {
  backendDownChannel,
  checkResultChannel,
  serverStateChannel,
  type CheckResultMessage,
  type OpState,
  type ServerStateMessage,
} from './channels.ts';
import type { AgentOutcome } from './agent.ts';
import { formatCheckReason, statusDef, type CheckResult, checkResult } from './status.ts';

export type { OpState } from './channels.ts';

export const ADMIN = {
  FMAINT: 0x01,
  IMAINT: 0x02,
  CMAINT: 0x04,
  FDRAIN: 0x08,
  IDRAIN: 0x10,
} as const;
const MAINT = ADMIN.FMAINT | ADMIN.IMAINT;
const DRAIN = ADMIN.FDRAIN | ADMIN.IDRAIN;

/** What a state change does to the load balancer (the Pool, or a fake in tests). */
export interface StateSink {
  /** Operational and not in maintenance: may receive new traffic if its weight is > 0. */
  setUsable(usable: boolean): void;
  /** Effective weight: 0 while draining, ramping up during slowstart. */
  setWeight(weight: number): void;
}

/** Live numbers for the log lines ("N sessions active, ... remaining in queue"). */
export interface ServerLoad {
  sessions(): number;
  queued(): number;
}

/** Injected time, so tests drive slowstart without sleeping. */
export interface Clock {
  now(): number;
  /** Runs fn after ms; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export type LogLevel = 'emerg' | 'alert' | 'notice';

export interface BackendHealthOptions {
  name: string;
  /** 'proxy' for a `listen` section: HAProxy then says "proxy X has no server available!". */
  kind?: 'backend' | 'proxy';
  /** `option log-health-checks`: log every counter change, transitions without the reason. */
  logHealthChecks?: boolean;
  log?: (line: string, level: LogLevel) => void;
  clock?: Clock;
}

export interface ServerStateInit {
  name: string;
  backup?: boolean;
  /** Configured weight (HAProxy's iweight), default 1. */
  weight?: number;
  /** `slowstart` in ms; 0 = none. */
  slowstart?: number;
  /** `check` with its thresholds; undefined = no health check (always UP unless admin says otherwise). */
  check?: { rise: number; fall: number } | undefined;
  /** `agent-check`. */
  agent?: boolean;
  /** `disabled` on the server line: starts in maintenance. */
  disabled?: boolean;
  load?: ServerLoad;
}

interface Counter {
  health: number;
  rise: number;
  fall: number;
  last: CheckResult;
}

/** The servers of one backend: the active/backup counts the log lines print. */
export class BackendHealth {
  readonly name: string;
  readonly kind: 'backend' | 'proxy';
  readonly logHealthChecks: boolean;
  readonly servers: ServerState[] = [];
  readonly clock: Clock;
  readonly #log: (line: string, level: LogLevel) => void;

  constructor(o: BackendHealthOptions) {
    this.name = o.name;
    this.kind = o.kind ?? 'backend';
    this.logHealthChecks = o.logHealthChecks ?? false;
    this.#log = o.log ?? (() => {});
    this.clock = o.clock ?? realClock;
  }

  add(init: ServerStateInit, sink: StateSink): ServerState {
    const s = new ServerState(this, init, sink);
    this.servers.push(s);
    return s;
  }

  /** Servers taking new traffic (HAProxy's srv_act / srv_bck): UP or starting, weight > 0. */
  counts(): { act: number; bck: number } {
    let act = 0;
    let bck = 0;
    for (const s of this.servers) {
      if (!s.currentlyUsable) continue;
      if (s.backup) bck++;
      else act++;
    }
    return { act, bck };
  }

  /** @internal */
  emit(line: string, level: LogLevel): void {
    this.#log(line, level);
  }
}

/**
 * One server's health and admin state. Feed it check results (onCheck / onAgent) and admin
 * commands (setMaint, setDrain, setReady, setUserWeight); it updates the sink and logs.
 */
export class ServerState {
  readonly backend: BackendHealth;
  readonly name: string;
  readonly backup: boolean;
  readonly initialWeight: number;
  readonly slowstart: number;
  readonly check: Counter | undefined;
  readonly agent: Counter | undefined;
  readonly #sink: StateSink;
  readonly #load: ServerLoad | undefined;
  op: OpState = 'RUNNING';
  admin = 0;
  /** User weight (configured, `set weight`, agent N%). */
  uweight: number;
  /** Effective weight given to the sink. */
  eweight: number;
  /** Clock time of the last operational change (stats `lastchg`, slowstart origin). */
  lastChange: number;
  /** Failed checks (stats `chkfail`) and UP→DOWN transitions (`chkdown`). */
  failedChecks = 0;
  downTransitions = 0;
  /** Drain was set by the agent (stats "DRAIN (agent)"). */
  drainByAgent = false;
  #rampCancel: (() => void) | undefined;
  #lastUsable: boolean | undefined;
  #lastWeight: number | undefined;

  constructor(backend: BackendHealth, init: ServerStateInit, sink: StateSink) {
    this.backend = backend;
    this.name = init.name;
    this.backup = init.backup ?? false;
    this.initialWeight = init.weight ?? 1;
    this.uweight = this.initialWeight;
    this.eweight = this.initialWeight;
    this.slowstart = init.slowstart ?? 0;
    this.#sink = sink;
    this.#load = init.load;
    const ini = checkResult('INI', '', 0, -1);
    if (init.check !== undefined) this.check = { health: init.check.rise, rise: init.check.rise, fall: init.check.fall, last: ini };
    if (init.agent === true) this.agent = { health: 1, rise: 1, fall: 1, last: ini };
    if (init.disabled === true) {
      this.admin = ADMIN.CMAINT | ADMIN.FMAINT;
      this.op = 'STOPPED';
    }
    this.lastChange = backend.clock.now();
    this.#apply();
  }

  get #who(): string {
    return `${this.backup ? 'Backup ' : ''}Server ${this.backend.name}/${this.name}`;
  }

  get inMaint(): boolean {
    return (this.admin & MAINT) !== 0;
  }

  get draining(): boolean {
    return (this.admin & DRAIN) !== 0;
  }

  /** HAProxy's srv_currently_usable(): UP or starting with a non-zero effective weight. */
  get currentlyUsable(): boolean {
    return (this.op === 'RUNNING' || this.op === 'STARTING') && this.eweight > 0;
  }

  /** May still serve clients bound to it by persistence (DRAIN and NOLB do; DOWN and MAINT do not). */
  get acceptsPersistent(): boolean {
    return this.op !== 'STOPPED' && !this.inMaint;
  }

  /**
   * The stats `status` column: UP, "UP 1/3" (going down), DOWN, "DOWN 1/2" (going up), NOLB,
   * DRAIN, MAINT, "DRAIN (agent)", "DOWN (agent)", "no check".
   */
  get statusText(): string {
    // HAProxy says "MAINT (via B/S)" for IMAINT; `track` is not implemented, so IMAINT is never set.
    if (this.inMaint) return 'MAINT';
    const c = this.check;
    if (this.op === 'RUNNING' || this.op === 'STARTING') {
      const goingDown = c !== undefined && c.health < c.rise + c.fall - 1;
      const frac = c === undefined ? '' : ` ${c.health - c.rise + 1}/${c.fall}`;
      if (this.draining || this.uweight === 0) {
        if (this.agent !== undefined && this.drainByAgent) return 'DRAIN (agent)';
        return goingDown ? `DRAIN${frac}` : 'DRAIN';
      }
      if (c === undefined && this.agent === undefined) return 'no check';
      return goingDown ? `UP${frac}` : 'UP';
    }
    if (this.op === 'STOPPING') {
      const goingDown = c !== undefined && c.health < c.rise + c.fall - 1;
      return goingDown && c !== undefined ? `NOLB ${c.health - c.rise + 1}/${c.fall}` : 'NOLB';
    }
    if (this.agent !== undefined && this.agent.health === 0) return 'DOWN (agent)';
    if (c !== undefined && c.health > 0) return `DOWN ${c.health}/${c.rise}`;
    return 'DOWN';
  }

  /**
   * Which interval the scheduler uses next for the health check (HAProxy's srv_getinter()):
   * 'inter' when fully up, 'downinter' when fully down, 'fastinter' in between (transitions,
   * including the initial state at health = rise).
   */
  intervalKind(): 'inter' | 'fastinter' | 'downinter' {
    const c = this.check;
    if (c === undefined || c.health === c.rise + c.fall - 1) return 'inter';
    if (this.op === 'STOPPED' && c.health === 0) return 'downinter';
    return 'fastinter';
  }

  // ---- check results ----------------------------------------------------------------------

  /** A health-check result (HAProxy's set_server_check_status() + check_notify_*()). */
  onCheck(r: CheckResult): void {
    const c = this.check;
    if (c === undefined) return;
    const report = this.#count(c, r, false);
    this.#publishResult('check', c, r);
    if (this.backend.logHealthChecks && report) this.#logCheck('Health', c, r);
    const kind = statusDef(r.status).result;
    if (kind === 'failed') this.#notifyFailure(c, r, false);
    else if (kind === 'condpass') this.#notifyStopping(r);
    else if (kind === 'passed') this.#notifySuccess(r, false);
  }

  /** An agent-check outcome: admin word first, then weight, then health, as HAProxy orders them. */
  onAgent(o: AgentOutcome): void {
    const a = this.agent;
    if (a === undefined) return;
    const rep = o.reply;
    if (rep?.admin === 'drain') this.setDrain(true, true);
    else if (rep?.admin === 'maint') this.setMaint(true);
    else if (rep?.admin === 'ready') this.setReady();
    if (o.weight !== undefined) this.setUserWeight(o.weight);
    const r = o.result;
    if (r.status === 'CHECKED') {
      this.#publishResult('agent', a, r);
      return;
    }
    const report = this.#count(a, r, true);
    this.#publishResult('agent', a, r);
    if (this.backend.logHealthChecks && report) this.#logCheck('Agent', a, r);
    const kind = statusDef(r.status).result;
    // Only an agent's own verdict (down/stopped/fail = L7STS) may take a server down.
    if (kind === 'failed' && r.status === 'L7STS') this.#notifyFailure(a, r, true);
    else if (kind === 'passed') this.#notifySuccess(r, true);
  }

  /** Updates a health counter; returns HAProxy's `report` flag (the counter moved). */
  #count(c: Counter, r: CheckResult, agent: boolean): boolean {
    c.last = r;
    const kind = statusDef(r.status).result;
    if (kind === 'failed') {
      if ((!agent || statusDef(r.status).hasCode) && c.health > 0) {
        this.failedChecks++;
        c.health--;
        if (c.health < c.rise) c.health = 0;
        return true;
      }
      return false;
    }
    if (kind === 'passed' || kind === 'condpass') {
      if (c.health < c.rise + c.fall - 1) {
        c.health++;
        if (c.health >= c.rise) c.health = c.rise + c.fall - 1;
        return true;
      }
    }
    return false;
  }

  #logCheck(what: 'Health' | 'Agent', c: Counter, r: CheckResult): void {
    const running = c.health >= c.rise;
    const cond = r.status === 'L7OKC' ? 'conditionally ' : '';
    const verdict = statusDef(r.status).result === 'failed' ? 'failed' : 'succeeded';
    const state = running ? (this.uweight > 0 ? 'UP' : 'DRAIN') : 'DOWN';
    const frac = running ? `${c.health - c.rise + 1}/${c.fall}` : `${c.health}/${c.rise}`;
    const line =
      `${what} check for ${this.backup ? 'backup ' : ''}server ${this.backend.name}/${this.name} ${cond}${verdict}` +
      `${formatCheckReason(r)}, status: ${frac} ${state}.`;
    this.backend.emit(line, 'notice');
  }

  #reasonFor(r: CheckResult): CheckResult | undefined {
    return this.backend.logHealthChecks ? undefined : r;
  }

  #countersOk(): boolean {
    const c = this.check;
    const a = this.agent;
    return (c === undefined || c.health >= c.rise) && (a === undefined || a.health >= a.rise);
  }

  #notifyFailure(c: Counter, r: CheckResult, _agent: boolean): void {
    if (c.health > 0) return;
    this.#setStopped(this.#reasonFor(r));
  }

  #notifyStopping(r: CheckResult): void {
    if (this.inMaint || !this.#countersOk()) return;
    this.#setStopping(this.#reasonFor(r));
  }

  #notifySuccess(r: CheckResult, agent: boolean): void {
    if (this.inMaint || !this.#countersOk()) return;
    if (agent && this.op === 'STOPPING') return;
    this.#setRunning(this.#reasonFor(r));
  }

  // ---- operational transitions (srv_set_stopped / running / stopping + srv_update_status) ----

  #setStopped(cause: CheckResult | undefined): void {
    if (this.op === 'STOPPED') return;
    const from = this.op;
    const before = this.backend.counts();
    this.#changeOp('STOPPED');
    if (from === 'RUNNING' || from === 'STARTING') this.downTransitions++;
    const { act, bck } = this.backend.counts();
    const line = `${this.#who} is DOWN${cause === undefined ? '' : formatCheckReason(cause)}${this.#leftTail(act, bck)}`;
    this.#transition(from, line, 'alert', cause, before.act + before.bck);
    this.#remainsDrained();
  }

  #setStopping(cause: CheckResult | undefined): void {
    if (this.op === 'STOPPING') return;
    const from = this.op;
    const before = this.backend.counts();
    this.#changeOp('STOPPING');
    const { act, bck } = this.backend.counts();
    const line = `${this.#who} is stopping${cause === undefined ? '' : formatCheckReason(cause)}${this.#onlineTail(act, bck)}`;
    this.#transition(from, line, 'notice', cause, before.act + before.bck);
  }

  #setRunning(cause: CheckResult | undefined): void {
    if (this.op === 'RUNNING' || this.op === 'STARTING') return;
    const from = this.op;
    this.#changeOp(this.slowstart > 0 ? 'STARTING' : 'RUNNING');
    let { act, bck } = this.backend.counts();
    // HAProxy counts a force-drained server that comes UP as online in this line (observed on
    // 2.6: "Server b/s1 is UP, ... 2 active ..." while s1 is in DRAIN), then logs "remains in
    // forced drain mode".
    if (this.draining && !this.currentlyUsable) {
      if (this.backup) bck++;
      else act++;
    }
    const line = `${this.#who} is UP${cause === undefined ? '' : formatCheckReason(cause)}${this.#onlineTail(act, bck)}`;
    this.#transition(from, line, 'notice', cause, -1);
    this.#remainsDrained();
  }

  #changeOp(to: OpState): void {
    this.op = to;
    this.lastChange = this.backend.clock.now();
    this.#apply();
    if (to === 'STARTING') this.#scheduleRamp();
  }

  #leftTail(act: number, bck: number): string {
    const onBackup = bck > 0 && act === 0 ? ' Running on backup.' : '';
    const sess = this.#load?.sessions() ?? 0;
    const q = this.#load?.queued() ?? 0;
    return `. ${act} active and ${bck} backup servers left.${onBackup} ${sess} sessions active, 0 requeued, ${q} remaining in queue.`;
  }

  #onlineTail(act: number, bck: number): string {
    const onBackup = bck > 0 && act === 0 ? ' Running on backup.' : '';
    const q = this.#load?.queued() ?? 0;
    return `. ${act} active and ${bck} backup servers online.${onBackup} 0 sessions requeued, ${q} total in queue.`;
  }

  #remainsDrained(): void {
    if ((this.admin & ADMIN.FDRAIN) !== 0) this.backend.emit(`Server ${this.backend.name}/${this.name} remains in forced drain mode.`, 'notice');
  }

  /** Logs, publishes, and reports a backend left without servers (`before` = usable count before, -1 = skip). */
  #transition(from: OpState, line: string, level: LogLevel, cause: CheckResult | undefined, before: number): void {
    this.backend.emit(line, level);
    if (serverStateChannel.hasSubscribers) {
      const msg: ServerStateMessage = {
        backend: this.backend.name,
        server: this.name,
        from,
        to: this.op,
        admin: this.admin,
        status: this.statusText,
        line,
        cause,
      };
      serverStateChannel.publish(msg);
    }
    if (before > 0) {
      const { act, bck } = this.backend.counts();
      if (act + bck === 0) {
        const l = `${this.backend.kind} ${this.backend.name} has no server available!`;
        this.backend.emit(l, 'emerg');
        if (backendDownChannel.hasSubscribers) backendDownChannel.publish({ backend: this.backend.name, line: l });
      }
    }
  }

  #publishResult(kind: 'check' | 'agent', c: Counter, r: CheckResult): void {
    if (!checkResultChannel.hasSubscribers) return;
    const msg: CheckResultMessage = {
      backend: this.backend.name,
      server: this.name,
      kind,
      result: r,
      health: c.health,
      rise: c.rise,
      fall: c.fall,
      status: this.statusText,
    };
    checkResultChannel.publish(msg);
  }

  // ---- admin commands ---------------------------------------------------------------------

  /** `set server B/S state maint` / `disable server` / agent "maint" (forced maintenance). */
  setMaint(on: boolean): void {
    if (!on) {
      this.setReady();
      return;
    }
    if ((this.admin & ADMIN.FMAINT) !== 0) return;
    const wasInMaint = this.inMaint;
    this.admin |= ADMIN.FMAINT;
    if (wasInMaint) return;
    const from = this.op;
    const before = this.backend.counts();
    this.op = 'STOPPED';
    this.lastChange = this.backend.clock.now();
    this.#apply();
    const { act, bck } = this.backend.counts();
    const line =
      from === 'STOPPED'
        ? `${this.#who} was DOWN and now enters maintenance.`
        : `${this.#who} is going DOWN for maintenance${this.#leftTail(act, bck)}`;
    this.#transition(from, line, 'notice', undefined, before.act + before.bck);
  }

  /** `set server B/S state drain` or agent "drain" (forced drain): weight 0, persistent clients only. */
  setDrain(on: boolean, byAgent = false): void {
    if (!on) {
      this.#leaveDrain();
      return;
    }
    this.drainByAgent = byAgent;
    if ((this.admin & ADMIN.FDRAIN) !== 0) return;
    const before = this.backend.counts();
    this.admin |= ADMIN.FDRAIN;
    this.#apply();
    if (this.inMaint) return;
    const { act, bck } = this.backend.counts();
    this.#transition(this.op, `${this.#who} enters drain state${this.#onlineTail(act, bck)}`, 'notice', undefined, before.act + before.bck);
  }

  /** `set server B/S state ready` / `enable server` / agent "ready": leaves forced maint and drain. */
  setReady(): void {
    if ((this.admin & ADMIN.FMAINT) !== 0) {
      this.admin &= ~(ADMIN.FMAINT | ADMIN.CMAINT);
      if (this.inMaint) return;
      // Leaving maintenance: counters restart at rise ("UP, will fall at first failure").
      if (this.check !== undefined) this.check.health = this.check.rise;
      if (this.agent !== undefined) this.agent.health = this.agent.rise;
      const from = this.op;
      this.#changeOp(this.slowstart > 0 ? 'STARTING' : 'RUNNING');
      const line = `Server ${this.backend.name}/${this.name} is UP/${this.draining ? 'DRAINING' : 'READY'} (leaving forced maintenance).`;
      this.#transition(from, line, 'notice', undefined, -1);
    }
    if ((this.admin & ADMIN.FDRAIN) !== 0) this.#leaveDrain();
  }

  #leaveDrain(): void {
    if ((this.admin & ADMIN.FDRAIN) === 0) return;
    this.admin &= ~ADMIN.FDRAIN;
    this.drainByAgent = false;
    this.#apply();
    if (this.inMaint) return;
    const line = `Server ${this.backend.name}/${this.name} is ${this.op === 'STOPPED' ? 'DOWN' : 'UP'} (leaving forced drain).`;
    this.#transition(this.op, line, 'notice', undefined, -1);
  }

  /** `set server B/S weight N` / `set weight` / agent N%: the user weight (0..256). */
  setUserWeight(w: number): void {
    if (!Number.isInteger(w) || w < 0 || w > 256) throw new RangeError(`weight ${w} is not an integer in 0..256`);
    if (w === this.uweight) return;
    const before = this.backend.counts();
    this.uweight = w;
    this.#apply();
    if (this.draining) this.#remainsDrained();
    const { act, bck } = this.backend.counts();
    if (before.act + before.bck > 0 && act + bck === 0) {
      const l = `${this.backend.kind} ${this.backend.name} has no server available!`;
      this.backend.emit(l, 'emerg');
      if (backendDownChannel.hasSubscribers) backendDownChannel.publish({ backend: this.backend.name, line: l });
    }
  }

  /** Stops the slowstart timer (lifecycle: stop after a partial start leaks nothing). */
  dispose(): void {
    this.#rampCancel?.();
    this.#rampCancel = undefined;
  }

  // ---- effects ------------------------------------------------------------------------------

  /** Effective weight: 0 when draining; during slowstart a ramp from 1 to uweight. */
  #effectiveWeight(): number {
    if (this.draining || this.uweight === 0) return 0;
    if (this.op !== 'STARTING' || this.slowstart <= 0) return this.uweight;
    const elapsed = this.backend.clock.now() - this.lastChange;
    if (elapsed >= this.slowstart) return this.uweight;
    return Math.min(this.uweight, Math.max(1, Math.ceil((this.uweight * elapsed) / this.slowstart)));
  }

  #apply(): void {
    this.eweight = this.#effectiveWeight();
    const usable = (this.op === 'RUNNING' || this.op === 'STARTING') && !this.inMaint;
    // Weight first: a server coming back must not take traffic at its old full weight.
    if (this.#lastWeight !== this.eweight) {
      this.#lastWeight = this.eweight;
      this.#sink.setWeight(this.eweight);
    }
    if (this.#lastUsable !== usable) {
      this.#lastUsable = usable;
      this.#sink.setUsable(usable);
    }
  }

  /**
   * Slowstart ramp: the weight is recomputed every slowstart/20 (at least 50ms; HAProxy uses
   * max(1s, slowstart/20) and whole seconds). At the end HAProxy logs "Server B/S is UP. ...".
   */
  #scheduleRamp(): void {
    this.#rampCancel?.();
    const step = Math.max(50, Math.floor(this.slowstart / 20));
    this.#rampCancel = this.backend.clock.setTimeout(() => {
      this.#rampCancel = undefined;
      if (this.op !== 'STARTING') return;
      if (this.backend.clock.now() - this.lastChange >= this.slowstart) {
        this.op = 'RUNNING';
        this.#apply();
        const { act, bck } = this.backend.counts();
        this.#transition('STARTING', `${this.#who} is UP${this.#onlineTail(act, bck)}`, 'notice', undefined, -1);
        return;
      }
      this.#apply();
      this.#scheduleRamp();
    }, step);
  }
}
