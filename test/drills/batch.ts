// A long-running `ip -batch -` or `bridge -batch -` inside a namespace, fed one request at a time.
//
// Why: under load, spawning `ip` (or `ip netns exec … bridge`) from the test process costs 190–310
// ms before the command takes effect (fork of a large process, exec, the tool's own start), and
// more for `ip netns exec` (it remounts /sys). A drill that takes its fault or heal instant before
// such a spawn charges that to the agents; a poll that spawns two `ip addr show` every 10 ms sees a
// change hundreds of ms late. A batch started (and idle) beforehand takes a line on its stdin and
// answers at once: iproute2 6.1 writes each command's output as soon as the command has run.
//
// Each request ends with a SENTINEL command whose output the caller recognises (`complete`): the
// output of one command can arrive in several chunks (one per address with -o), so the end of a
// request is the sentinel's answer, never a pause. Requests are serialised: one in flight at a time.
//
// Caveat found here (iproute2 6.1): in one `ip -batch`, a `link show` leaves the address family at
// AF_PACKET for every later `addr show` (its -4 is lost and it prints links). So a batch that
// answers `addr show` must never be sent a `link show`: give `link` and `addr` separate batches.
import type { ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { NetnsLab } from '../helpers/netns.ts';

export interface BatchAnswer {
  /** Epoch ms taken just before the request was written (a fault or heal instant). */
  readonly sent: number;
  /** Epoch ms when the sentinel's answer was read. */
  readonly at: number;
  /** Everything the tool printed for the request, the sentinel's answer included. */
  readonly out: string;
}

interface Pending {
  readonly lines: readonly string[];
  readonly complete: (out: string) => boolean;
  readonly resolve: (a: BatchAnswer) => void;
  readonly reject: (e: Error) => void;
  sent: number;
  out: string;
  timer: NodeJS.Timeout | undefined;
}

export class Batch {
  readonly label: string;
  readonly #child: ChildProcess;
  readonly #timeoutMs: number;
  readonly #queue: Pending[] = [];
  #err = '';
  #dead: string | undefined;

  private constructor(label: string, child: ChildProcess, timeoutMs: number) {
    this.label = label;
    this.#child = child;
    this.#timeoutMs = timeoutMs;
    child.stdout?.on('data', (b: Buffer) => this.#onOut(b.toString()));
    child.stderr?.on('data', (b: Buffer) => {
      this.#err += b.toString();
      if (this.#err.length > 4000) this.#err = this.#err.slice(-4000);
    });
    child.on('error', (e) => this.#die(e.message));
    // A write after the tool died (EPIPE) is reported by 'exit' with its stderr; never a crash.
    child.stdin?.on('error', () => undefined);
    child.once('exit', (code, signal) => this.#die(`exited (${String(code ?? signal)})`));
  }

  /**
   * Starts `argv` (e.g. ['ip', '-4', '-o']; `-batch -` is appended) in `ns` through the lab (own
   * process group, killed at cleanup) at nice -20, and waits until it has answered `ready`: from
   * then on it is idle on its stdin. nice -20 (drills run as root) so that its wake-up is not queued
   * behind the load; what remains between a request's write and its effect (a wake-up and a netlink
   * request) is still counted by whoever measures from `sent`.
   */
  static async start(lab: NetnsLab, ns: string, argv: readonly string[], ready: Request, timeoutMs = 10_000): Promise<Batch> {
    const child = lab.spawn(ns, [...argv, '-batch', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, -20);
      } catch {
        // Not permitted: write-to-effect latencies are then reported larger, never hidden.
      }
    }
    const b = new Batch(`${argv.join(' ')} -batch in ${ns}`, child, timeoutMs);
    await b.send(ready);
    return b;
  }

  /**
   * Writes `lines` (the last one being the sentinel) and resolves when `complete` accepts the output
   * so far. When the batch is idle the write happens before send returns, so `sent` is the instant
   * of the call; otherwise after the requests queued before it have been answered.
   */
  send(req: Request): Promise<BatchAnswer> {
    return new Promise<BatchAnswer>((resolve, reject) => {
      if (this.#dead !== undefined) {
        reject(this.#error(this.#dead));
        return;
      }
      this.#queue.push({ lines: req.lines, complete: req.complete, resolve, reject, sent: 0, out: '', timer: undefined });
      if (this.#queue.length === 1) this.#writeHead();
    });
  }

  /** Closes its stdin: the tool exits after the requests already written. */
  end(): void {
    this.#child.stdin?.end();
  }

  #writeHead(): void {
    const p = this.#queue[0];
    if (p === undefined) return;
    p.timer = setTimeout(() => this.#die(`no answer to ${JSON.stringify(p.lines)} within ${this.#timeoutMs} ms`), this.#timeoutMs);
    p.sent = Date.now();
    this.#child.stdin?.write(`${p.lines.join('\n')}\n`);
  }

  #onOut(text: string): void {
    const p = this.#queue[0];
    if (p === undefined) return; // nothing asked: nothing to answer (ip prints only on request)
    p.out += text;
    if (!p.complete(p.out)) return;
    clearTimeout(p.timer);
    this.#queue.shift();
    p.resolve({ sent: p.sent, at: Date.now(), out: p.out });
    this.#writeHead();
  }

  #die(why: string): void {
    this.#dead ??= why;
    for (const p of this.#queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.#error(why));
    }
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  #error(why: string): Error {
    return new Error(`${this.label}: ${why}${this.#err === '' ? '' : `: ${this.#err.trim()}`}`);
  }
}

/** One request: its command lines, the last one a sentinel, and when its output is complete. */
export interface Request {
  readonly lines: readonly string[];
  readonly complete: (out: string) => boolean;
}
