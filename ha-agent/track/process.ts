// track_process: is a named process alive? A /proc scan instead of spawning `killall -0 NAME` every
// interval (no fork+exec per check, and no dependency on psmisc).
//
// Matching, following keepalived's vrrp_track_process:
// - `name` matches a process whose comm (/proc/PID/comm, the kernel's 15-character name) equals the
//   name truncated to 15, or whose argv[0] equals the name or has it as basename. For a Node program,
//   comm is "node" unless it sets process.title (libuv then sets comm too), so a daemon wanting to be
//   tracked by name should set its title (e.g. lb sets process.title = 'lb').
// - `params` (optional) must match argv[1..]: 'exact' (all of them), 'initial' (a prefix, the
//   default when params are given) or 'partial' (a contiguous run anywhere).
// - `quorum` (default 1) .. `quorumMax` (default unlimited): the process is "up" when the number of
//   matches is inside that range.
// - `delayMs` (keepalived's delay/fork_delay/terminate_delay collapsed into one): a change must
//   persist for that long before it is reported, so a quick restart does not cause a failover.

import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface ProcessTrackerOptions {
  readonly name: string;
  readonly params?: readonly string[];
  readonly paramMatch?: 'exact' | 'initial' | 'partial';
  readonly quorum?: number;
  readonly quorumMax?: number;
  /** Scan period; default 1000 ms. */
  readonly pollMs?: number;
  readonly delayMs?: number;
  /** Default /proc; injectable for tests. */
  readonly procRoot?: string;
  readonly onChange?: (change: ProcessChange) => void;
}

export interface ProcessChange {
  readonly name: string;
  readonly up: boolean;
  readonly count: number;
  readonly reason: string;
}

function paramsMatch(argv: readonly string[], params: readonly string[], how: 'exact' | 'initial' | 'partial'): boolean {
  const rest = argv.slice(1);
  if (how === 'exact') return rest.length === params.length && params.every((p, i) => rest[i] === p);
  if (how === 'initial') return params.every((p, i) => rest[i] === p);
  for (let s = 0; s + params.length <= rest.length; s++) {
    if (params.every((p, i) => rest[s + i] === p)) return true;
  }
  return params.length === 0;
}

/** Counts processes matching the options right now. */
export async function countProcesses(o: ProcessTrackerOptions): Promise<number> {
  const root = o.procRoot ?? '/proc';
  const comm15 = o.name.slice(0, 15);
  const needArgv = o.params !== undefined || o.name.includes('/') || o.name.length > 15;
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return 0;
  }
  const pids = entries.filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  const hits = await Promise.all(
    pids.map(async (pid) => {
      try {
        const comm = (await readFile(join(root, pid, 'comm'), 'utf8')).trim();
        const commHit = comm === comm15;
        if (commHit && !needArgv) return true;
        if (!commHit && !needArgv) return false;
        const argv = (await readFile(join(root, pid, 'cmdline'), 'utf8')).split('\0');
        if (argv.at(-1) === '') argv.pop();
        const argv0 = argv[0] ?? '';
        const nameHit = commHit || argv0 === o.name || basename(argv0) === o.name;
        if (!nameHit) return false;
        return o.params === undefined || paramsMatch(argv, o.params, o.paramMatch ?? 'initial');
      } catch {
        return false; // the process exited during the scan, or is a kernel thread we may not read
      }
    }),
  );
  return hits.filter(Boolean).length;
}

export class ProcessTracker {
  readonly name: string;
  readonly #o: ProcessTrackerOptions;
  #up: boolean | undefined;
  #count = 0;
  #pendingSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scanning = false;

  constructor(o: ProcessTrackerOptions) {
    this.#o = o;
    this.name = o.name;
  }

  /** Undefined until the first scan. */
  get up(): boolean | undefined {
    return this.#up;
  }

  get count(): number {
    return this.#count;
  }

  /** First scan now, then every pollMs. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.scan(), this.#o.pollMs ?? 1000);
    void this.scan();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One scan (never two at once); reports a change once it has lasted delayMs. */
  async scan(): Promise<boolean | undefined> {
    if (this.#scanning) return this.#up;
    this.#scanning = true;
    try {
      const n = await countProcesses(this.#o);
      this.#count = n;
      const up = n >= (this.#o.quorum ?? 1) && n <= (this.#o.quorumMax ?? Number.POSITIVE_INFINITY);
      if (this.#up === undefined) {
        this.#up = up;
        return up;
      }
      if (up === this.#up) {
        this.#pendingSince = undefined;
        return up;
      }
      const now = performance.now();
      this.#pendingSince ??= now;
      if (now - this.#pendingSince < (this.#o.delayMs ?? 0)) return this.#up;
      this.#pendingSince = undefined;
      this.#up = up;
      this.#o.onChange?.({ name: this.name, up, count: n, reason: `${n} process${n === 1 ? '' : 'es'} named '${this.name}'` });
      return up;
    } finally {
      this.#scanning = false;
    }
  }
}
