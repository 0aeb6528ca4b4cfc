// The agent's control socket: a unix stream socket (default /run/ha-agent.sock, mode 0600) speaking
// newline-delimited JSON, one request line → one response line, several requests per connection.
//
//   → {"cmd":"status"}                         ← {"ok":true,"result":DaemonStatus}
//   → {"cmd":"switchover","instance":"VI_1"}   ← {"ok":true,"result":{"results":[SwitchoverResult...]}}
//   → {"cmd":"reload"}                         ← {"ok":true,"result":ReloadResult}
//   any error                                  ← {"ok":false,"error":{"code":"...","message":"..."}}
//
// An optional "id" in a request is echoed in its response. Lines are limited to 64 KiB; a longer
// one closes the connection (a client cannot make the agent buffer without bound).
//
// Error codes (DESIGN.md principle 6), in responses and ControlError:
//   ERR_HA_CONTROL_UNREACHABLE  hactl cannot connect to the socket (no agent, wrong path, EACCES)
//   ERR_HA_CONTROL_IN_USE       another live agent already serves this socket path
//   ERR_HA_CONTROL_PROTOCOL     a line is not JSON, not an object, or too long
//   ERR_HA_CONTROL_UNKNOWN_CMD  the command is not one of status, switchover, reload
//   ERR_HA_CONTROL_BAD_ARG      an argument is malformed or names an unknown instance
//   ERR_HA_CONTROL_TIMEOUT      the agent did not answer in time
//   ERR_HA_CONTROL_FAILED       the command threw inside the agent
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { InstanceStatus, SwitchoverResult } from './vrrp/instance.ts';

export const DEFAULT_CONTROL_SOCKET = '/run/ha-agent.sock';
const MAX_LINE = 64 * 1024;

export type ControlErrorCode =
  | 'ERR_HA_CONTROL_UNREACHABLE'
  | 'ERR_HA_CONTROL_IN_USE'
  | 'ERR_HA_CONTROL_PROTOCOL'
  | 'ERR_HA_CONTROL_UNKNOWN_CMD'
  | 'ERR_HA_CONTROL_BAD_ARG'
  | 'ERR_HA_CONTROL_TIMEOUT'
  | 'ERR_HA_CONTROL_FAILED';

export class ControlError extends Error {
  readonly code: ControlErrorCode;
  constructor(code: ControlErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControlError';
    this.code = code;
  }
}

export type ControlRequest =
  | { readonly cmd: 'status'; readonly id?: string | number }
  | { readonly cmd: 'switchover'; readonly instance?: string; readonly id?: string | number }
  | { readonly cmd: 'reload'; readonly id?: string | number };

export interface DaemonStatus {
  readonly pid: number;
  readonly configFile: string;
  readonly startedAt: string;
  readonly uptimeMs: number;
  readonly lastReload: ReloadResult | null;
  readonly instances: readonly InstanceStatus[];
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly time: string;
  /** Every diagnostic of the new file (warnings too), formatted `file:line: message`. */
  readonly diagnostics: readonly string[];
  /** One line per change applied: "VI_1: priority 100 → 90 (no transition)", "VI_2: restarted (...)". */
  readonly changes: readonly string[];
}

export interface SwitchoverResponse {
  readonly results: readonly SwitchoverResult[];
}

export type ControlResponse =
  | { readonly ok: true; readonly id?: string | number; readonly result: unknown }
  | { readonly ok: false; readonly id?: string | number; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

export interface ControlHandler {
  status(): Promise<DaemonStatus>;
  switchover(instance: string | undefined): Promise<SwitchoverResponse>;
  reload(): Promise<ReloadResult>;
}

/** Parses one request line; throws ControlError. */
export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlError('ERR_HA_CONTROL_PROTOCOL', 'request is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ControlError('ERR_HA_CONTROL_PROTOCOL', 'request is not a JSON object');
  const rawId = 'id' in v ? v.id : undefined;
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? { id: rawId } : {};
  const instance = 'instance' in v ? v.instance : undefined;
  const cmd = 'cmd' in v ? v.cmd : undefined;
  switch (cmd) {
    case 'status':
      return { cmd: 'status', ...id };
    case 'reload':
      return { cmd: 'reload', ...id };
    case 'switchover':
      if (instance !== undefined && (typeof instance !== 'string' || instance === '')) {
        throw new ControlError('ERR_HA_CONTROL_BAD_ARG', "'instance' must be a non-empty string");
      }
      return { cmd: 'switchover', ...(typeof instance === 'string' ? { instance } : {}), ...id };
    default:
      throw new ControlError('ERR_HA_CONTROL_UNKNOWN_CMD', `unknown command ${JSON.stringify(cmd)} (status, switchover, reload)`);
  }
}

function errorResponse(err: unknown, id?: string | number): ControlResponse {
  const e = err instanceof ControlError ? err : new ControlError('ERR_HA_CONTROL_FAILED', err instanceof Error ? err.message : String(err));
  return { ok: false, ...(id === undefined ? {} : { id }), error: { code: e.code, message: e.message } };
}

/** Whether something accepts connections on `path` now. */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (alive: boolean): void => {
      s.destroy();
      resolve(alive);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #closed = false;

  private constructor(path: string, server: Server) {
    this.path = path;
    this.#server = server;
  }

  /**
   * Listens on `path` with mode 0600. A stale socket file (left by a killed agent: nobody answers
   * on it) is removed first; a live one is ERR_HA_CONTROL_IN_USE (two agents must not share it).
   */
  static async listen(path: string, handler: ControlHandler, log: (line: string) => void = () => {}): Promise<ControlServer> {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      st = undefined;
    }
    if (st !== undefined) {
      if (!st.isSocket()) throw new ControlError('ERR_HA_CONTROL_IN_USE', `${path} exists and is not a socket; refusing to remove it`);
      if (await probe(path)) throw new ControlError('ERR_HA_CONTROL_IN_USE', `another agent is serving ${path}`);
      unlinkSync(path);
      log(`control: removed stale socket ${path}`);
    }
    const server = createServer();
    const cs = new ControlServer(path, server);
    server.on('connection', (sock) => cs.#serve(sock, handler, log));
    // umask so the socket is never, even briefly, accessible to others; chmod for certainty.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw new ControlError('ERR_HA_CONTROL_UNREACHABLE', `cannot listen on ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      process.umask(old);
    }
    chmodSync(path, 0o600);
    return cs;
  }

  #serve(sock: Socket, handler: ControlHandler, log: (line: string) => void): void {
    this.#sockets.add(sock);
    sock.on('close', () => this.#sockets.delete(sock));
    sock.on('error', () => {});
    sock.setEncoding('utf8');
    let buf = '';
    // Requests on one connection are answered in order.
    let chain: Promise<void> = Promise.resolve();
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        chain = chain.then(async () => {
          const res = await this.#answer(line, handler);
          if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
        });
      }
      if (buf.length > MAX_LINE) {
        log('control: request line too long; connection closed');
        sock.end(`${JSON.stringify(errorResponse(new ControlError('ERR_HA_CONTROL_PROTOCOL', 'request line too long')))}\n`);
        buf = '';
      }
    });
  }

  async #answer(line: string, handler: ControlHandler): Promise<ControlResponse> {
    let req: ControlRequest;
    try {
      req = parseRequest(line);
    } catch (err) {
      return errorResponse(err);
    }
    const id = req.id === undefined ? {} : { id: req.id };
    try {
      let result: unknown;
      if (req.cmd === 'status') result = await handler.status();
      else if (req.cmd === 'reload') result = await handler.reload();
      else result = await handler.switchover(req.instance);
      return { ok: true, ...id, result };
    } catch (err) {
      return errorResponse(err, req.id);
    }
  }

  /** Stops listening, closes connections, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone (node removes it on close on some versions)
    }
  }
}

/** Shape check of a response line: `ok` true with `result`, or false with `error.code/message`. */
export function isControlResponse(v: unknown): v is ControlResponse {
  if (typeof v !== 'object' || v === null || !('ok' in v)) return false;
  if (v.ok === true) return 'result' in v;
  if (v.ok !== false || !('error' in v)) return false;
  const e = v.error;
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && 'message' in e && typeof e.message === 'string';
}

/** Client side (hactl): one request, one response. Throws ControlError. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 10_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let settled = false;
    const fail = (err: ControlError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ControlError('ERR_HA_CONTROL_TIMEOUT', `no answer from the agent on ${path} within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      fail(new ControlError('ERR_HA_CONTROL_UNREACHABLE', `cannot reach the agent on ${path}: ${err.code ?? err.message}`, { cause: err }));
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      if (settled) return;
      let res: unknown;
      try {
        res = JSON.parse(buf.slice(0, nl));
      } catch {
        fail(new ControlError('ERR_HA_CONTROL_PROTOCOL', `the agent on ${path} sent a line that is not JSON`));
        return;
      }
      if (!isControlResponse(res)) {
        fail(new ControlError('ERR_HA_CONTROL_PROTOCOL', `the agent on ${path} sent an unexpected answer`));
        return;
      }
      settled = true;
      clearTimeout(timer);
      sock.end();
      resolve(res);
    });
    sock.on('close', () => fail(new ControlError('ERR_HA_CONTROL_PROTOCOL', `the agent on ${path} closed the connection without answering`)));
  });
}
