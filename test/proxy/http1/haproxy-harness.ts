// Runs Debian's haproxy 2.6 on loopback in front of a tiny recording backend, so tests can ask
// "what does the living specification do with these bytes?". Not a test file itself (no .test.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAPROXY_BIN = '/usr/sbin/haproxy';

/** Returns the haproxy version string, or null when the binary is missing or does not run. */
export function haproxyVersion(): string | null {
  const r = spawnSync(HAPROXY_BIN, ['-v'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return null;
  const m = /HAProxy version (\S+)/.exec(r.stdout);
  return m?.[1] ?? null;
}

/** Binds a throwaway socket on port 0 to learn a free loopback port (haproxy cannot bind port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const DEFAULT_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok';

export interface Harness {
  readonly port: number;
  /** Raw bytes received by the backend, one entry per backend connection. */
  readonly received: Buffer[][];
  /** What the backend answers to the next requests (default: a small 200 with connection: close). */
  response: Buffer | string;
  stop(): Promise<void>;
}

/**
 * Starts a backend that answers every chunk it receives with a small 200 (so haproxy always has
 * an answer for a forwarded request), then haproxy in front of it. Stop it in t.teardown.
 */
export async function startHaproxy(extraDefaults: string[] = []): Promise<Harness> {
  const received: Buffer[][] = [];
  const state = { response: DEFAULT_RESPONSE as Buffer | string };
  const sockets = new Set<net.Socket>();
  const backend = net.createServer((sock) => {
    sockets.add(sock);
    const mine: Buffer[] = [];
    received.push(mine);
    sock.on('data', (d) => {
      mine.push(d);
      // Answer once per connection, then close: every vector gets a fresh server connection.
      // A short delay lets haproxy read and judge a body that follows the head in the same packet.
      if (mine.length === 1) setTimeout(() => sock.end(state.response), 60);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const baddr = backend.address();
  const bport = typeof baddr === 'object' && baddr !== null ? baddr.port : 0;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hapair-h1-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 100',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 2s',
      '  timeout server 2s',
      '  timeout http-request 700ms',
      ...extraDefaults.map((l) => `  ${l}`),
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend be',
      'backend be',
      `  server s1 127.0.0.1:${bport}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(HAPROXY_BIN, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  // Wait until haproxy accepts connections (bounded: 5 s).
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited early: ${stderr}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    received,
    get response() {
      return state.response;
    },
    set response(r: Buffer | string) {
      state.response = r;
    },
    stop,
  };
}

export interface RawResult {
  /** Status code of the first response, or null if the connection closed without one. */
  status: number | null;
  raw: string;
}

/** Sends raw bytes on a fresh connection and returns the first response status (bounded: 3 s). */
export async function sendRaw(port: number, bytes: Buffer | string): Promise<RawResult> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      const raw = Buffer.concat(parts).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: m?.[1] === undefined ? null : Number(m[1]), raw });
    };
    const timer = setTimeout(finish, 3000);
    c.on('connect', () => c.write(bytes));
    c.on('data', (d) => {
      parts.push(d);
      // One complete head is enough to know the status.
      if (Buffer.concat(parts).includes('\r\n\r\n')) setTimeout(finish, 30);
    });
    c.on('error', finish);
    c.on('close', finish);
  });
}
