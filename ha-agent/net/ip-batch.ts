// A long-lived `ip -force -batch -` child fed over stdin: `ip addr add|del` without a spawn per call.
//
// Why: every child_process.spawn() blocks node's event loop until the child has exec'd — measured
// 10-30 ms median, up to 76 ms, on a loaded 2-core host (fork of a ~90 MB process, then waiting for
// the child to be scheduled). At the moment we become MASTER that delay sits between "timer fired"
// and "VIP on the interface", and it delays our adverts too. Writing one line to a pipe does not.
//
// How completion is known: every command line is followed by a marker line that always fails at
// argument parsing (an unknown `ip` object, no netlink call, no side effect). With -force, ip keeps
// going after a failure and prints, on stderr, the command's own error lines followed by
// `Command failed -:N` (N = the input line number). So on ONE stream, in order:
//     [error lines of command N] [Command failed -:N]   ← only if command N failed
//     <error line of marker N+1> Command failed -:N+1   ← always: command N is complete
// Only stderr is read; stdout is discarded (add/del print nothing there).
//
// Failure handling: if the child dies, every pending command resolves as failed (spawnError
// 'batch-exited') and the next exec() respawns it once; callers (VipManager) may fall back to the
// per-call runner. A command that gets no answer within `timeoutMs` resolves as timed out and the
// child is restarted (line numbers would be out of step otherwise).
import { spawn, type ChildProcess } from 'node:child_process';
import type { RunResult } from '../runner.ts';
import { SCRIPT_ENV } from '../runner.ts';

/** What VipManager needs: run one `ip` command (argv without `ip`) and learn its outcome. */
export interface IpExec {
  exec(args: readonly string[]): Promise<RunResult>;
  close(): Promise<void>;
}

/** The marker: an object name no iproute2 has (objects match by prefix, so it must not be a prefix). */
export const IP_BATCH_MARKER = 'ha-agent-sync-marker';

interface Pending {
  readonly line: number;
  readonly started: number;
  readonly resolve: (r: RunResult) => void;
  readonly timer: NodeJS.Timeout;
  stderr: string[];
  failed: boolean;
}

export interface IpBatchOptions {
  /** argv of the batch child; default `['ip', '-force', '-batch', '-']`. Tests prefix `ip netns exec NS`. */
  readonly command?: readonly string[];
  /** Per command; default 5000 ms. */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Quotes one argument for ip's batch line splitter (makeargs: blanks separate, "..." groups). */
function quoteArg(a: string): string {
  if (a !== '' && !/[\s"'\\#]/.test(a)) return a;
  if (/["\\\n]/.test(a)) throw new Error(`ip batch: unsupported character in argument ${JSON.stringify(a)}`);
  return `"${a}"`;
}

export class IpBatch implements IpExec {
  readonly #command: readonly string[];
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  #child: ChildProcess | undefined;
  #line = 0;
  #buf = '';
  readonly #pending: Pending[] = [];
  #closed = false;

  constructor(o: IpBatchOptions = {}) {
    this.#command = o.command ?? ['ip', '-force', '-batch', '-'];
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#log = o.log ?? (() => {});
  }

  /** Starts the child now (at daemon start), so the first transition does not pay for the spawn. */
  start(): void {
    if (this.#child === undefined && !this.#closed) this.#spawn();
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  #spawn(): void {
    const [file = 'ip', ...args] = this.#command;
    const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...SCRIPT_ENV } });
    this.#child = child;
    this.#line = 0;
    this.#buf = '';
    child.stdin?.on('error', () => this.#lost(child, 'stdin error'));
    child.on('error', (err) => this.#lost(child, err.message));
    child.on('exit', (code, signal) => this.#lost(child, `exited (${signal ?? String(code)})`));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.#onStderr(s));
  }

  #lost(child: ChildProcess, why: string): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (!this.#closed) this.#log(`ip batch helper ${why}; restarting at the next command`);
    for (const p of this.#pending.splice(0)) this.#finish(p, { failed: true, spawnError: 'batch-exited' });
  }

  #onStderr(s: string): void {
    this.#buf += s;
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      this.#onLine(line);
    }
  }

  #onLine(line: string): void {
    const head = this.#pending[0];
    if (head === undefined) return;
    const m = /^Command failed -:(\d+)$/.exec(line);
    if (m === null) {
      // An error line of the command or of its marker; keep the command's own ones.
      if (!line.includes(IP_BATCH_MARKER)) head.stderr.push(line);
      return;
    }
    const n = Number(m[1]);
    if (n === head.line) {
      head.failed = true;
    } else if (n === head.line + 1) {
      this.#pending.shift();
      this.#finish(head, {});
    }
  }

  #finish(p: Pending, o: { failed?: boolean; spawnError?: string; timedOut?: boolean }): void {
    clearTimeout(p.timer);
    const failed = o.failed === true || p.failed;
    p.resolve({
      code: failed ? (o.spawnError !== undefined || o.timedOut === true ? null : 2) : 0,
      signal: null,
      stdout: '',
      stderr: p.stderr.length > 0 ? `${p.stderr.join('\n')}\n` : '',
      timedOut: o.timedOut === true,
      durationMs: performance.now() - p.started,
      ...(o.spawnError === undefined ? {} : { spawnError: o.spawnError }),
    });
  }

  exec(args: readonly string[]): Promise<RunResult> {
    const started = performance.now();
    if (this.#closed) return Promise.resolve(failure(started, 'batch-closed'));
    let text: string;
    try {
      text = `${args.map(quoteArg).join(' ')}\n${IP_BATCH_MARKER}\n`;
    } catch (err) {
      return Promise.resolve(failure(started, err instanceof Error ? err.message : String(err)));
    }
    if (this.#child === undefined) this.#spawn();
    const child = this.#child;
    if (child?.stdin === null || child?.stdin === undefined) return Promise.resolve(failure(started, 'batch-unavailable'));
    const line = this.#line + 1;
    this.#line += 2;
    return new Promise<RunResult>((resolve) => {
      const p: Pending = {
        line, started, resolve, stderr: [], failed: false,
        timer: setTimeout(() => {
          const i = this.#pending.indexOf(p);
          if (i >= 0) this.#pending.splice(i, 1);
          this.#finish(p, { failed: true, timedOut: true });
          // Line numbers are out of step now: start afresh.
          this.#log(`ip batch helper: no answer within ${this.#timeoutMs} ms; restarting it`);
          const c = this.#child;
          this.#child = undefined;
          for (const q of this.#pending.splice(0)) this.#finish(q, { failed: true, spawnError: 'batch-restarted' });
          c?.kill('SIGKILL');
        }, this.#timeoutMs),
      };
      this.#pending.push(p);
      child.stdin?.write(text);
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    this.#child = undefined;
    for (const p of this.#pending.splice(0)) this.#finish(p, { failed: true, spawnError: 'batch-closed' });
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 500);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin?.end();
    });
  }
}

function failure(started: number, why: string): RunResult {
  return { code: null, signal: null, stdout: '', stderr: why, timedOut: false, durationMs: performance.now() - started, spawnError: why };
}
