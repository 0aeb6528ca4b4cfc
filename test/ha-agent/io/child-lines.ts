// Collects the JSON lines a fixture child prints and lets a test wait for one (bounded in time).
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Line = Record<string, unknown>;

export class ChildLines {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #child: ChildProcess;

  constructor(child: ChildProcess) {
    this.#child = child;
    if (child.stdout === null) throw new Error('child without stdout pipe');
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        const v: Line = JSON.parse(l);
        this.lines.push(v);
      } catch {
        this.stderr.push(`(stdout) ${l}`);
      }
      for (const w of this.#waiters) w();
    });
    child.stderr?.on('data', (b: Buffer) => this.stderr.push(b.toString()));
  }

  /** The first line (from the start) matching `pred`; rejects after timeoutMs with what was seen. */
  waitFor(pred: (l: Line) => boolean, timeoutMs = 5000): Promise<Line> {
    const hit = this.lines.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const h = this.lines.find(pred);
        if (h === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(h);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out; lines: ${JSON.stringify(this.lines)} stderr: ${this.stderr.join('')}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  send(obj: object): void {
    this.#child.stdin?.write(`${JSON.stringify(obj)}\n`);
  }
}
