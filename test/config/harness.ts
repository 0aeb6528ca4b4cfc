// Shared helpers of the config tests: path mapping for the seed's /etc/haproxy/ paths, running the
// real `lb` binary and Debian's haproxy as child processes.
//
// Mechanism (chosen once): fixtures stay verbatim. In-process parses get `mapPath`, which maps the
// path only when a file is opened (the model keeps the seed's strings). Child processes get a
// temporary copy of the config whose /etc/haproxy/... strings are rewritten to the fixture folders.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'config');
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
export const LB = join(ROOT, 'bin', 'lb.js');

const MAP: readonly [string, string][] = [
  ['/etc/haproxy/errors/', join(FIXTURES, 'etc-haproxy', 'errors') + '/'],
  ['/etc/haproxy/certs/', join(ROOT, 'test', 'fixtures', 'certs') + '/'],
];

export function mapPath(p: string): string {
  for (const [from, to] of MAP) {
    if (p === from.slice(0, -1)) return to.slice(0, -1);
    if (p.startsWith(from)) return to + p.slice(from.length);
  }
  return p;
}

export function rewriteText(text: string): string {
  let out = text;
  for (const [from, to] of MAP) out = out.split(from).join(to);
  return out;
}

let tmp: string | undefined;
/** Writes a path-mapped copy of `file` to a temp dir; returns its path (same base name). */
export function mappedCopy(file: string): string {
  tmp ??= mkdtempSync(join(tmpdir(), 'lb-config-test-'));
  const out = join(tmp, basename(file));
  writeFileSync(out, rewriteText(readFileSync(file, 'utf8')));
  return out;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runLb(args: readonly string[], cwd = ROOT): Run {
  const r = spawnSync(NODE, [LB, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const haproxyPath = ((): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
})();

export function runHaproxy(args: readonly string[], cwd = ROOT): Run {
  const r = spawnSync(haproxyPath ?? 'haproxy', [...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Async variants, so ava can run the child processes of one file concurrently. */
// At most this many children at once: ava starts every test of a file together, and a few dozen
// Node processes at once on a small machine only make each of them hit its timeout.
const MAX_CHILDREN = 3;
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CHILDREN) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function runAsync(cmd: string, args: readonly string[], cwd = ROOT): Promise<Run> {
  return slot(
    () =>
      new Promise<Run>((resolve) => {
        execFile(cmd, [...args], { cwd, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
          const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
          resolve({ status, stdout, stderr });
        });
      }),
  );
}

export function lbAsync(args: readonly string[], cwd = ROOT): Promise<Run> {
  return runAsync(NODE, [LB, ...args], cwd);
}

export function haproxyAsync(args: readonly string[], cwd = ROOT): Promise<Run> {
  return runAsync(haproxyPath ?? 'haproxy', args, cwd);
}
