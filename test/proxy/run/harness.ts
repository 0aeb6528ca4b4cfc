// End-to-end harness: a real `lb -d -f cfg` child process, loopback ports picked free beforehand
// (haproxy configs cannot say port 0), stderr captured, SIGTERM stop that waits for the exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODE = join(import.meta.dirname, '../../../node_modules/.bin/node');
const MAIN = join(import.meta.dirname, '../../../bin/lb.js');

/** n distinct loopback ports that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve());
    });
    const a = s.address();
    ports.push(typeof a === 'object' && a !== null ? a.port : 0);
    servers.push(s);
  }
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export function writeConfig(text: string, name = 'lb.cfg'): string {
  const dir = mkdtempSync(join(tmpdir(), 'lb-run-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export interface LbProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

/** Starts `lb -d -f file ...args`; with `waitPort`, waits until it reports its proxies started (or exits). */
export async function startLb(file: string, waitPort: number | undefined, args: readonly string[] = []): Promise<LbProcess> {
  const child = spawn(NODE, [MAIN, '-d', '-f', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    err += d;
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const state = { done: false };
  void exited.then(() => {
    state.done = true;
  });
  const proc: LbProcess = {
    child,
    stderr: () => err,
    exited,
    async stop() {
      if (!state.done) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return exited;
    },
  };
  if (waitPort === undefined) return proc;
  const deadline = Date.now() + 15000;
  while (!state.done && Date.now() < deadline) {
    // lb prints 'Proxy NAME started.' once every listener is bound (no probe connection: it
    // would count as traffic).
    if (err.includes('started.')) return proc;
    await sleep(50);
  }
  return proc;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const [p] = await freePorts(1);
  if (p === undefined) throw new Error('no free port');
  return p;
}

/** Sends `data`, collects everything until the server closes (or `ms`). */
export function exchange(port: number, data: string | Buffer, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => s.destroy(), ms);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      out += d;
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('connect', () => s.end(data));
  });
}

/**
 * Runs curl asynchronously (the backends live in this process: a synchronous spawn would block
 * them); resolves with its exit status and output.
 */
export function curl(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('curl', ['-s', '--max-time', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (d: string) => {
      stdout += d;
    });
    c.stderr.on('data', (d: string) => {
      stderr += d;
    });
    c.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export function haveCommand(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0;
}
