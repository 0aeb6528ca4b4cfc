// Notify scripts and the transition record.
//
// - One queue for the whole agent: notify scripts (notify_master|backup|fault|stop, then the generic
//   `notify SCRIPT` called with `INSTANCE NAME STATE PRIORITY` as keepalived does) run strictly one
//   at a time, in transition order, each bounded by a timeout that kills its process group. keepalived
//   runs them concurrently, so a slow MASTER script could still be running when the BACKUP one
//   starts; here the BACKUP script waits for the MASTER one (or its timeout).
// - Every transition is recorded at once, before any script runs: one JSON line
//   {"time","instance","from","to","reason","priority"} appended to a file or written to a stream,
//   and published on diagnostics_channel `ha:transition` (tests and hactl subscribe instead of
//   polling).
// - The queue is bounded (`maxQueue`, default 64 scripts): when transitions flap faster than scripts
//   finish, the oldest waiting scripts are dropped (and logged), so the scripts that still run
//   describe the latest states.
// - Only the states keepalived notifies (MASTER, BACKUP, FAULT, STOP) run scripts; any transition
//   (INIT too) is recorded.

import { appendFileSync } from 'node:fs';
import { channel } from 'node:diagnostics_channel';
import type { Writable } from 'node:stream';
import { SCRIPT_ENV, describeResult, errorMessage, splitCommandLine, type CommandRunner, type RunResult, type UserIds } from './runner.ts';

export const TRANSITION_CHANNEL = 'ha:transition';
const transitionChannel = channel(TRANSITION_CHANNEL);

export interface TransitionRecord {
  /** ISO 8601. */
  readonly time: string;
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly priority: number;
}

export interface TransitionEvent {
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly priority: number;
  /** Default: now. */
  readonly time?: Date;
}

/** keepalived.conf strings (split keepalived-style) or argv arrays. */
export interface NotifyScripts {
  readonly master?: string | readonly string[];
  readonly backup?: string | readonly string[];
  readonly fault?: string | readonly string[];
  readonly stop?: string | readonly string[];
  /** `notify SCRIPT`: called with INSTANCE NAME STATE PRIORITY appended. */
  readonly generic?: string | readonly string[];
}

export interface NotifyQueueOptions {
  readonly runner: CommandRunner;
  /** Per script; default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Notify scripts per instance name; replaceable on reload with setScripts(). */
  readonly scripts?: Readonly<Record<string, NotifyScripts>>;
  /** script_user. */
  readonly user?: UserIds;
  readonly env?: Readonly<Record<string, string>>;
  /** Where JSON lines go: a file appended to synchronously, or a stream. */
  readonly jsonl?: { readonly path: string } | { readonly stream: Writable };
  readonly maxQueue?: number;
  readonly log?: (line: string) => void;
  /** Every finished script, for tests and status. */
  readonly onScriptDone?: (argv: readonly string[], result: RunResult) => void;
}

interface Job {
  readonly argv: readonly string[];
}

const STATE_KEY: Readonly<Record<string, keyof NotifyScripts>> = {
  MASTER: 'master',
  BACKUP: 'backup',
  FAULT: 'fault',
  STOP: 'stop',
};

function toArgv(s: string | readonly string[]): string[] {
  return typeof s === 'string' ? splitCommandLine(s) : [...s];
}

export class NotifyQueue {
  readonly #o: NotifyQueueOptions;
  #scripts: Readonly<Record<string, NotifyScripts>>;
  readonly #queue: Job[] = [];
  #active: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #dropped = 0;
  #closed = false;

  constructor(o: NotifyQueueOptions) {
    this.#o = o;
    this.#scripts = o.scripts ?? {};
  }

  setScripts(scripts: Readonly<Record<string, NotifyScripts>>): void {
    this.#scripts = scripts;
  }

  /** Scripts waiting (not counting the one running). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Scripts dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  get running(): boolean {
    return this.#active !== undefined;
  }

  /**
   * Records the transition (JSON line + channel) synchronously and queues its scripts. Returns the
   * record. Never throws: a bad script string or an unwritable file is logged.
   */
  transition(ev: TransitionEvent): TransitionRecord {
    const rec: TransitionRecord = {
      time: (ev.time ?? new Date()).toISOString(),
      instance: ev.instance,
      from: ev.from,
      to: ev.to,
      reason: ev.reason,
      priority: ev.priority,
    };
    this.#write(rec);
    if (transitionChannel.hasSubscribers) transitionChannel.publish(rec);
    if (this.#closed) return rec;
    const scripts = this.#scripts[ev.instance];
    const key = STATE_KEY[ev.to];
    if (scripts === undefined || key === undefined) return rec;
    try {
      const specific = scripts[key];
      if (specific !== undefined) this.#enqueue({ argv: toArgv(specific) });
      if (scripts.generic !== undefined) {
        this.#enqueue({ argv: [...toArgv(scripts.generic), 'INSTANCE', ev.instance, ev.to, String(ev.priority)] });
      }
    } catch (err) {
      this.#log(`notify: ${ev.instance}: ${errorMessage(err)}`);
    }
    return rec;
  }

  /** Resolves when no script is queued or running. */
  idle(): Promise<void> {
    if (this.#active === undefined && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Accepts no new scripts and waits for the queued ones (each bounded by its timeout). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  #enqueue(job: Job): void {
    if (job.argv.length === 0) return;
    const max = this.#o.maxQueue ?? 64;
    while (this.#queue.length >= max) {
      const old = this.#queue.shift();
      this.#dropped++;
      this.#log(`notify: queue full, dropped ${old?.argv.join(' ')}`);
    }
    this.#queue.push(job);
    if (this.#active === undefined) this.#active = this.#drain();
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      const file = job.argv[0] ?? '';
      const args = job.argv.slice(1);
      try {
        const r = await this.#o.runner.run(file, args, {
          timeoutMs: this.#o.timeoutMs ?? 10_000,
          env: this.#o.env ?? SCRIPT_ENV,
          ...(this.#o.user === undefined ? {} : { uid: this.#o.user.uid, gid: this.#o.user.gid }),
        });
        if (r.code !== 0) this.#log(`notify: ${describeResult(file, args, r)}`);
        this.#o.onScriptDone?.(job.argv, r);
      } catch (err) {
        // An injected runner (or a callback) failed: log and keep the queue moving.
        this.#log(`notify: ${job.argv.join(' ')}: ${String(err)}`);
      }
    }
    this.#active = undefined;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #write(rec: TransitionRecord): void {
    const j = this.#o.jsonl;
    if (j === undefined) return;
    const line = `${JSON.stringify(rec)}\n`;
    try {
      if ('path' in j) appendFileSync(j.path, line);
      else j.stream.write(line);
    } catch (err) {
      this.#log(`notify: cannot write transition record: ${errorMessage(err)}`);
    }
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }
}
