// Harness for the seed's "Practical: Complete Production Configuration" run end to end.
//
// The configuration is test/fixtures/e2e/production.cfg.tmpl: the seed's text line for line
// (test/fixtures/config/seed/production-complete.cfg), with only addresses, ports and paths turned
// into @@PLACEHOLDERS@@ that renderProduction() fills with free loopback ports and temp dirs
// (production.test.ts checks that no other line changed). Backends are local servers on
// 127.0.0.1 written on node:net (no HTTP or WebSocket library): they say who answered, so tests
// can tell which pool and which server handled each request.
//
// Every child process (lb, haproxy, curl) is tracked by PID and killed on teardown, and again with
// SIGKILL when the test worker exits, so a failing test never leaves a proxy behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { scriptedHttpServer, type ScriptedHttpServer, type SeenRequest } from '../helpers/backends.ts';
import type { TestPki } from '../helpers/certs.ts';

export const SEED = join(import.meta.dirname, '../fixtures/config/seed/production-complete.cfg');
export const TEMPLATE = join(import.meta.dirname, '../fixtures/e2e/production.cfg.tmpl');

/** The seed's rate-limit lines: stick tables belong to a later issue. */
export const STICK_LINES = [
  'stick-table type ip size 100k expire 30s store http_req_rate(10s)',
  'http-request track-sc0 src',
  'http-request deny deny_status 429 if { sc_http_req_rate(0) gt 200 }',
] as const;

export const OFFICE = '127.0.0.2';
export const HOST = 'example.com';

export interface ProductionVars {
  readonly RUN_DIR: string;
  readonly CERT_DIR: string;
  readonly STATS_PORT: number;
  readonly HTTP_PORT: number;
  readonly HTTPS_PORT: number;
  readonly WEB1_PORT: number;
  readonly WEB2_PORT: number;
  readonly WEB3_PORT: number;
  readonly API1_PORT: number;
  readonly API2_PORT: number;
  readonly API3_PORT: number;
  readonly WS1_PORT: number;
  readonly WS2_PORT: number;
  readonly ADMIN1_PORT: number;
}

/**
 * Fills the template. Every placeholder must be given and used; with `stick: false` the three
 * rate-limit lines are removed (and must have been there, exactly once each).
 */
export function renderProduction(vars: ProductionVars, opts: { readonly stick: boolean }): string {
  let text = readFileSync(TEMPLATE, 'utf8');
  for (const [k, v] of Object.entries(vars)) {
    const mark = `@@${k}@@`;
    if (!text.includes(mark)) throw new Error(`template has no ${mark}`);
    text = text.replaceAll(mark, String(v));
  }
  const left = /@@[A-Z0-9_]+@@/.exec(text);
  if (left !== null) throw new Error(`template placeholder ${left[0]} not filled`);
  if (opts.stick) return text;
  const lines = text.split('\n');
  const kept = lines.filter((l) => !(STICK_LINES as readonly string[]).includes(l));
  if (lines.length - kept.length !== STICK_LINES.length) throw new Error('template: the stick-table lines are not there exactly once each');
  return kept.join('\n');
}

// ------------------------------------------------------------------------------ processes by PID

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Registers a child so that it is killed (by PID) if the worker exits before its teardown. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export interface Proc {
  readonly child: ChildProcess;
  stderr(): string;
  readonly exited: Promise<number | null>;
  /** SIGTERM by PID, SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `cmd args` with stderr captured and the PID tracked. */
export function spawnTracked(cmd: string, args: readonly string[]): Proc {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    err += d;
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return {
    child,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited;
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        return exited;
      }
      const t = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      }, 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

const NODE = join(import.meta.dirname, '../../node_modules/.bin/node');
const LB = join(import.meta.dirname, '../../bin/lb.js');

/** `lb ...args` to completion (bounded to 20 s). */
export function runLb(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [LB, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `lb -d -f file` in the foreground. */
export function startLbProc(file: string): Proc {
  return spawnTracked(NODE, [LB, '-d', '-f', file]);
}

/** Starts Debian's haproxy in the foreground (-db: no background even with `daemon`). */
export function startHaproxy(file: string): Proc {
  return spawnTracked('haproxy', ['-db', '-f', file]);
}

/** Resolves true once every port accepts a TCP connection (closed at once), false on exit/timeout. */
export async function waitListening(proc: Proc, ports: readonly number[], ms = 15000): Promise<boolean> {
  const deadline = Date.now() + ms;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (const port of ports) {
    for (;;) {
      if (exited || Date.now() > deadline) return false;
      if (await canConnect(port)) break;
      await sleep(50);
    }
  }
  return true;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every 20 ms up to `ms`; returns its last value. */
export async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(20);
  return cond();
}

// ------------------------------------------------------------------------------ certificates

/** A crt directory: one .pem per name, `00-default.pem` sorting first (HAProxy's default). */
export function certDir(pki: TestPki): string {
  const dir = join(pki.dir, 'certs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '00-default.pem'), pki.read(pki.certs.example.combined));
  writeFileSync(join(dir, 'api.example.com.pem'), pki.read(pki.certs.api.combined));
  writeFileSync(join(dir, 'blog.example.com.pem'), pki.read(pki.certs.blog.combined));
  writeFileSync(join(dir, 'wildcard.example.com.pem'), pki.read(pki.certs.wildcard.combined));
  return dir;
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// ------------------------------------------------------------------------------ HTTP backends

export interface AppServer {
  readonly name: string;
  readonly port: number;
  /** Requests other than health checks. */
  app(): SeenRequest[];
  /** Health-check requests seen. */
  checks(): number;
  /** Requests being held open (paths starting with /api/hold). */
  held(): number;
  /** Answers the held requests. */
  release(): void;
  close(): Promise<void>;
}

const HEALTH = new Set(['/health', '/api/health']);

function respond(status: number, reason: string, body: string, extra: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/**
 * An HTTP/1.1 keep-alive server named `name`. Each answer carries `x-served-by: name` and a JSON
 * body with what it saw (target, X-Forwarded-For values). Paths:
 *   /health, /api/health → 200 (the httpchk probes; counted apart)
 *   /api/hold...         → held open until release()
 *   /status/NNN          → that status from the server itself
 *   /garbage             → an invalid status line (a proxy must answer 502)
 */
export async function appServer(name: string): Promise<AppServer> {
  const heldSocks: Array<{ sock: net.Socket; req: SeenRequest }> = [];
  let checks = 0;
  const reply = (req: SeenRequest): string => {
    const xff = req.headers.filter((h) => h[0] === 'x-forwarded-for').map((h) => h[1]);
    const body = JSON.stringify({ server: name, method: req.method, target: req.target, xff });
    const m = /^\/status\/(\d{3})/.exec(req.target);
    const status = m !== null ? Number(m[1]) : 200;
    return respond(status, status === 200 ? 'OK' : 'Whatever', body, `x-served-by: ${name}\r\n`);
  };
  const srv: ScriptedHttpServer = await scriptedHttpServer((req, sock) => {
    if (HEALTH.has(req.target)) checks++;
    const close = req.version === 'HTTP/1.0' || req.headers.some((h) => h[0] === 'connection' && /close/i.test(h[1]));
    if (req.target.startsWith('/api/hold')) {
      heldSocks.push({ sock, req });
      return { action: 'hold' };
    }
    if (req.target === '/garbage') {
      sock.end('HTTP/1.1 abc Broken\r\nx-served-by: garbage\r\n\r\n');
      return { action: 'hold' };
    }
    if (close) {
      sock.end(reply(req));
      return { action: 'hold' };
    }
    return reply(req);
  });
  return {
    name,
    port: srv.port,
    app: () => srv.requests.filter((r) => !HEALTH.has(r.target)),
    checks: () => checks,
    held: () => heldSocks.length,
    release() {
      for (const { sock, req } of heldSocks.splice(0)) if (!sock.destroyed) sock.end(reply(req).replace('\r\n', '\r\nconnection: close\r\n'));
    },
    close: () => srv.close(),
  };
}

// ------------------------------------------------------------------------------ WebSocket

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** One frame (RFC 6455 §5.2); clients mask, servers do not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  else if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  key.copy(head, 2 + ext);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

/** Incremental frame parser: push bytes, get the complete frames. */
export class FrameReader {
  #buf = Buffer.alloc(0);

  push(d: Buffer): WsFrame[] {
    this.#buf = Buffer.concat([this.#buf, d]);
    const out: WsFrame[] = [];
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return out;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let p = 2;
      if (len === 126) {
        if (b.length < 4) return out;
        len = b.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (b.length < 10) return out;
        len = Number(b.readBigUInt64BE(2));
        p = 10;
      }
      const keyAt = p;
      if (masked) p += 4;
      if (b.length < p + len) return out;
      const payload = Buffer.from(b.subarray(p, p + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ b[keyAt + (i & 3)]!;
      out.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload });
      this.#buf = b.subarray(p + len);
    }
  }
}

export interface WsServer {
  readonly name: string;
  readonly port: number;
  /** Completed upgrades. */
  upgrades(): number;
  close(): Promise<void>;
}

/**
 * A WebSocket echo server on node:net with a hand-written handshake (RFC 6455 §4.2.2). After the
 * 101 it sends one text frame "hello from NAME" (server → client on its own), then echoes every
 * data frame with the same opcode, answers ping with pong and close with close. Anything that is
 * not an upgrade gets a 400 and is closed; bare TCP health checks just connect and leave.
 */
export async function wsServer(name: string): Promise<WsServer> {
  const sockets = new Set<net.Socket>();
  let upgrades = 0;
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => sockets.delete(sock));
    let head = Buffer.alloc(0);
    let reader: FrameReader | undefined;
    sock.on('data', (d: Buffer) => {
      if (reader === undefined) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        const hdr = (n: string): string | undefined => lines.slice(1).find((l) => l.toLowerCase().startsWith(`${n}:`))?.slice(n.length + 1).trim();
        const key = hdr('sec-websocket-key');
        if (!/websocket/i.test(hdr('upgrade') ?? '') || key === undefined) {
          sock.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
          return;
        }
        const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
        upgrades++;
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nx-served-by: ${name}\r\n\r\n`);
        sock.write(encodeFrame(1, Buffer.from(`hello from ${name}`), false));
        reader = new FrameReader();
        d = head.subarray(end + 4);
      }
      for (const f of reader.push(d)) {
        if (f.opcode === 1 || f.opcode === 2) sock.write(encodeFrame(f.opcode, f.payload, false));
        else if (f.opcode === 9) sock.write(encodeFrame(10, f.payload, false));
        else if (f.opcode === 8) sock.end(encodeFrame(8, f.payload, false));
      }
    });
    sock.on('end', () => sock.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  return {
    name,
    port: typeof a === 'object' && a !== null ? a.port : 0,
    upgrades: () => upgrades,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface WsClient {
  /** The 101 (or other) response head, lines split, names as sent. */
  readonly head: string;
  readonly status: number;
  header(name: string): string[];
  send(opcode: number, payload: Buffer): void;
  /** Next frame, or undefined after `ms` / on close. */
  next(ms?: number): Promise<WsFrame | undefined>;
  close(): void;
}

/** Upgrades to WebSocket over TLS on `port` (SNI `HOST`, trusting the CA file `ca`), optionally from `localAddress`. */
export function wsConnect(port: number, ca: string, opts: { readonly localAddress?: string; readonly path?: string } = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: readFileSync(ca), ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('websocket handshake timed out'));
    }, 5000);
    const key = Buffer.from('hapair-e2e-key!!').toString('base64');
    sock.once('secureConnect', () => {
      sock.write(`GET ${opts.path ?? '/ws'} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    let buf = Buffer.alloc(0);
    const frames: WsFrame[] = [];
    const waiters: Array<(f: WsFrame | undefined) => void> = [];
    let closed = false;
    sock.once('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) w(undefined);
    });
    const reader = new FrameReader();
    let client: WsClient | undefined;
    sock.on('data', (d: Buffer) => {
      if (client === undefined) {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        const head = buf.subarray(0, end).toString('latin1');
        const lines = head.split('\r\n');
        client = {
          head,
          status: Number((lines[0] ?? '').split(' ')[1]),
          header: (n) => lines.slice(1).filter((l) => l.toLowerCase().startsWith(`${n.toLowerCase()}:`)).map((l) => l.slice(n.length + 1).trim()),
          send: (opcode, payload) => sock.write(encodeFrame(opcode, payload, true)),
          next: (ms = 3000) => {
            const f = frames.shift();
            if (f !== undefined || closed) return Promise.resolve(f);
            return new Promise((res) => {
              const w = (x: WsFrame | undefined): void => {
                clearTimeout(t);
                res(x);
              };
              const t = setTimeout(() => {
                waiters.splice(waiters.indexOf(w), 1);
                res(undefined);
              }, ms);
              waiters.push(w);
            });
          },
          close: () => sock.destroy(),
        };
        d = buf.subarray(end + 4);
        resolve(client);
      }
      for (const f of reader.push(d)) {
        const w = waiters.shift();
        if (w !== undefined) w(f);
        else frames.push(f);
      }
    });
  });
}

// ------------------------------------------------------------------------------ clients

export interface HttpAnswer {
  /** 0 when nothing came back. */
  readonly status: number;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: string;
  /** curl's exit status / stderr, for messages. */
  readonly err: string;
}

/** Parses "status line, headers, blank line, body" (the last head when curl shows several). */
export function parseResponse(raw: string, err = ''): HttpAnswer {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const lines = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c < 0) continue;
    const k = l.slice(0, c).trim().toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), l.slice(c + 1).trim()]);
  }
  return { status: Number((lines[0] ?? '').split(' ')[1] ?? 0) || 0, headers, body: end < 0 ? '' : raw.slice(end + 4), err };
}

/** Runs curl (async: the backends live in this process), tracked by PID, bounded to 8 s. */
export function curlRaw(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('curl', ['-s', '-S', '-i', '--http1.1', '--max-time', '8', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(c);
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('latin1');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (d: string) => (stdout += d));
    c.stderr.on('data', (d: string) => (stderr += d));
    c.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface RequestOpts {
  readonly from?: string;
  readonly headers?: readonly string[];
  readonly user?: string;
  /** A request body (curl then sends a POST). */
  readonly data?: string;
}

/** curl on https://example.com:PORT/path, SNI example.com, --resolve to 127.0.0.1, the test CA. */
export async function curlHttps(port: number, path: string, ca: string, o: RequestOpts = {}): Promise<HttpAnswer> {
  const args = ['--cacert', ca, '--resolve', `${HOST}:${port}:127.0.0.1`];
  if (o.from !== undefined) args.push('--interface', o.from);
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.data !== undefined) args.push('--data-binary', o.data);
  const r = await curlRaw([...args, `https://${HOST}:${port}${path}`]);
  return parseResponse(r.stdout, `curl exit ${r.status}: ${r.stderr}`);
}

/** curl on plain http://HOSTNAME:PORT/path (resolved to 127.0.0.1). */
export async function curlHttp(port: number, path: string, o: RequestOpts & { readonly host?: string } = {}): Promise<HttpAnswer> {
  const host = o.host ?? HOST;
  const args = ['--resolve', `${host}:${port}:127.0.0.1`];
  if (o.from !== undefined) args.push('--interface', o.from);
  if (o.user !== undefined) args.push('-u', o.user);
  for (const h of o.headers ?? []) args.push('-H', h);
  const r = await curlRaw([...args, `http://${host}:${port}${path}`]);
  return parseResponse(r.stdout, `curl exit ${r.status}: ${r.stderr}`);
}

/** Writes `raw` on a TLS connection (SNI example.com) and collects the answer until close or `ms`. */
export function tlsExchange(port: number, ca: string, raw: string, ms = 5000): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: readFileSync(ca) });
    let out = '';
    const t = setTimeout(() => s.destroy(), ms);
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(parseResponse(out));
    });
    s.once('secureConnect', () => s.write(raw));
  });
}

/** The subject CN presented for SNI `servername` (undefined: no SNI). */
export function presentedCn(port: number, ca: string, servername: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(ca), rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(t);
      const cn = s.getPeerCertificate().subject?.CN;
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? 'none'));
      s.destroy();
    });
    s.once('error', (e) => {
      clearTimeout(t);
      resolve(`error: ${e.message}`);
    });
  });
}

/** TLS 1.2 handshake offering only `ciphers`: 'ok' or the error. */
export function tls12With(port: number, ca: string, ciphers: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: readFileSync(ca), ciphers, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(t);
      resolve('ok');
      s.destroy();
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve('refused');
    });
  });
}

// ------------------------------------------------------------------------------ the whole bench

export interface Pools {
  readonly web: readonly AppServer[];
  readonly api: readonly AppServer[];
  readonly ws: readonly WsServer[];
  readonly admin: readonly AppServer[];
  /** Which server (and so which pool) answered, from x-served-by. */
  all(): ReadonlyArray<AppServer | WsServer>;
  close(): Promise<void>;
}

export async function startPools(): Promise<Pools> {
  const web = await Promise.all(['web1', 'web2', 'web3'].map((n) => appServer(n)));
  const api = await Promise.all(['api1', 'api2', 'api3'].map((n) => appServer(n)));
  const ws = await Promise.all(['ws1', 'ws2'].map((n) => wsServer(n)));
  const admin = [await appServer('admin1')];
  return {
    web,
    api,
    ws,
    admin,
    all: () => [...web, ...api, ...ws, ...admin],
    async close() {
      for (const s of api) s.release();
      await Promise.all([...web, ...api, ...ws, ...admin].map((s) => s.close()));
    },
  };
}

/** The template's variables for one instance: fresh ports for its listeners, `pools` as servers. */
export function varsFor(pools: Pools, ports: readonly number[], runDir: string, certs: string): ProductionVars {
  const [stats, http, https] = ports;
  if (stats === undefined || http === undefined || https === undefined) throw new Error('need 3 ports');
  const p = (s: { port: number } | undefined): number => {
    if (s === undefined) throw new Error('missing server');
    return s.port;
  };
  return {
    RUN_DIR: runDir,
    CERT_DIR: certs,
    STATS_PORT: stats,
    HTTP_PORT: http,
    HTTPS_PORT: https,
    WEB1_PORT: p(pools.web[0]),
    WEB2_PORT: p(pools.web[1]),
    WEB3_PORT: p(pools.web[2]),
    API1_PORT: p(pools.api[0]),
    API2_PORT: p(pools.api[1]),
    API3_PORT: p(pools.api[2]),
    WS1_PORT: p(pools.ws[0]),
    WS2_PORT: p(pools.ws[1]),
    ADMIN1_PORT: p(pools.admin[0]),
  };
}

/** The X-Forwarded-For values a backend reported in its JSON body; undefined when the body is not one. */
export function xffOf(body: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && 'xff' in v ? v.xff : undefined;
}

/** "web", "api", "ws", "admin" from an x-served-by value; "-" when the proxy answered itself. */
export function poolOf(servedBy: string | undefined): string {
  return servedBy === undefined ? '-' : servedBy.replace(/\d+$/, '');
}

export const SECURITY_HEADERS = [
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-content-type-options', 'nosniff'],
  ['strict-transport-security', 'max-age=31536000'],
] as const;
