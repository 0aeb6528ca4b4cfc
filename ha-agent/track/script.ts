// vrrp_script with keepalived's semantics, plus the hooks that make failover on a failing check fast.
//
// keepalived semantics reproduced here:
// - `script` is split into argv keepalived-style (runner.ts splitCommandLine): no shell.
// - Run every `interval` (default 1 s), measured from the end of the previous run, so runs of one
//   script never overlap; a run that exceeds `timeout` (default: `interval`) is killed with its whole
//   process group and counts as a failure. Success is exit code 0, anything else is failure.
// - `fall` consecutive failures turn an OK script to failed, `rise` consecutive successes turn a
//   failed one to OK (defaults 1).
// - Initial state: without `init_fail` the script is OK until told otherwise, and its *first* result
//   decides at once (keepalived's INIT state: the first failure fails it regardless of `fall`, the
//   first success confirms it). With `init_fail` it starts failed and needs `rise` successes.
// - `user` runs it under that uid/gid.
//
// Faster than keepalived (project goal: "faster failover on a failing track script"):
// - `checkNow()` re-runs the script at once (or right after the run in progress, coalesced) so the
//   daemon can react to a related event (an lb health change, a link change) instead of waiting for
//   the next interval.
// - `recheckMs` (extension, off by default): while a streak towards a state change is in progress
//   (a failure of an OK script with fall > 1, a success of a failed one with rise > 1), the next run
//   comes after `recheckMs` instead of `interval`. With interval 2 s and fall 3, keepalived needs
//   ~4–6 s to confirm a failure; with recheckMs 100 the confirmation takes ~0.2 s plus run times.

import { SCRIPT_ENV, splitCommandLine, succeeded, type CommandRunner, type RunResult, type UserIds } from '../runner.ts';

export type TrackState = 'ok' | 'failed';

export interface ScriptChange {
  readonly name: string;
  readonly state: TrackState;
  readonly previous: TrackState;
  /** e.g. "3 consecutive failures (last: exit 1)". */
  readonly reason: string;
  readonly result: RunResult;
}

export interface ScriptTrackerOptions {
  readonly name: string;
  /** The `script` string as written in keepalived.conf, or an argv array. */
  readonly script: string | readonly string[];
  readonly runner: CommandRunner;
  /** Default 1000 ms (keepalived: interval 1). */
  readonly intervalMs?: number;
  /** Default: intervalMs. */
  readonly timeoutMs?: number;
  readonly fall?: number;
  readonly rise?: number;
  readonly initFail?: boolean;
  readonly user?: UserIds;
  readonly env?: Readonly<Record<string, string>>;
  /** Extension: the delay before the next run while a fall/rise streak is in progress. */
  readonly recheckMs?: number;
  readonly onChange?: (change: ScriptChange) => void;
  /** Every completed run, for status views and tests. */
  readonly onResult?: (result: RunResult, state: TrackState) => void;
}

export class ScriptTracker {
  readonly name: string;
  readonly argv: readonly string[];
  readonly #o: ScriptTrackerOptions;
  readonly #interval: number;
  readonly #timeout: number;
  readonly #fall: number;
  readonly #rise: number;
  #state: TrackState;
  #initializing = true;
  #failStreak = 0;
  #okStreak = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<TrackState> | undefined;
  #rerun: Promise<TrackState> | undefined;
  #started = false;
  #stopped = false;
  #lastResult: RunResult | undefined;
  #runs = 0;

  /** Throws ERR_HA_EDGE_SCRIPT_SYNTAX for an unsplittable script string. */
  constructor(o: ScriptTrackerOptions) {
    this.#o = o;
    this.name = o.name;
    this.argv = typeof o.script === 'string' ? splitCommandLine(o.script) : [...o.script];
    if (this.argv.length === 0) throw new Error(`vrrp_script ${o.name}: empty script`);
    this.#interval = Math.max(1, o.intervalMs ?? 1000);
    this.#timeout = Math.max(1, o.timeoutMs ?? this.#interval);
    this.#fall = Math.max(1, o.fall ?? 1);
    this.#rise = Math.max(1, o.rise ?? 1);
    this.#state = o.initFail === true ? 'failed' : 'ok';
  }

  get state(): TrackState {
    return this.#state;
  }

  /** True until the first run has completed. */
  get initializing(): boolean {
    return this.#initializing;
  }

  get lastResult(): RunResult | undefined {
    return this.#lastResult;
  }

  get runs(): number {
    return this.#runs;
  }

  /** Starts the periodic runs; the first run starts at once. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule(0);
  }

  /**
   * Runs the script now, or right after the run in progress (several calls during one run coalesce
   * into one extra run). Resolves with the state after that run. The interval restarts from it.
   */
  checkNow(): Promise<TrackState> {
    if (this.#stopped) return Promise.resolve(this.#state);
    if (this.#running === undefined) return this.#runOnce();
    this.#rerun ??= this.#running.then(() => {
      this.#rerun = undefined;
      return this.#stopped ? this.#state : this.#runOnce();
    });
    return this.#rerun;
  }

  /** Stops scheduling and waits for a run in progress (which its timeout bounds). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running !== undefined) await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped || !this.#started) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#running === undefined) void this.#runOnce();
    }, ms);
  }

  #runOnce(): Promise<TrackState> {
    // Never two runs of one script: a run already in progress is the answer.
    if (this.#running !== undefined) return this.#running;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const p = this.#exec();
    this.#running = p;
    return p;
  }

  async #exec(): Promise<TrackState> {
    const file = this.argv[0] ?? '';
    const r = await this.#o.runner.run(file, this.argv.slice(1), {
      timeoutMs: this.#timeout,
      env: this.#o.env ?? SCRIPT_ENV,
      killGroupOnExit: true,
      maxOutputBytes: 4096,
      ...(this.#o.user === undefined ? {} : { uid: this.#o.user.uid, gid: this.#o.user.gid }),
    });
    this.#runs++;
    this.#lastResult = r;
    const previous = this.#state;
    const reason = this.#apply(succeeded(r), r);
    this.#running = undefined;
    this.#o.onResult?.(r, this.#state);
    if (reason !== undefined) this.#o.onChange?.({ name: this.name, state: this.#state, previous, reason, result: r });
    const streak = (this.#state === 'ok' && this.#failStreak > 0) || (this.#state === 'failed' && this.#okStreak > 0);
    this.#schedule(streak && this.#o.recheckMs !== undefined ? this.#o.recheckMs : this.#interval);
    return this.#state;
  }

  /** keepalived's counting; returns a reason when the state changed. */
  #apply(ok: boolean, r: RunResult): string | undefined {
    const first = this.#initializing && this.#o.initFail !== true;
    this.#initializing = false;
    if (ok) {
      this.#okStreak++;
      this.#failStreak = 0;
      if (this.#state === 'failed' && (this.#okStreak >= this.#rise || first)) {
        this.#state = 'ok';
        return `${this.#okStreak} consecutive success${this.#okStreak > 1 ? 'es' : ''}`;
      }
      return undefined;
    }
    this.#failStreak++;
    this.#okStreak = 0;
    if (this.#state === 'ok' && (this.#failStreak >= this.#fall || first)) {
      this.#state = 'failed';
      const how = r.timedOut ? 'timed out' : r.spawnError !== undefined ? `cannot start: ${r.spawnError}` : r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`;
      return first && this.#failStreak < this.#fall
        ? `first run failed (${how})`
        : `${this.#failStreak} consecutive failure${this.#failStreak > 1 ? 's' : ''} (last: ${how})`;
    }
    return undefined;
  }
}
