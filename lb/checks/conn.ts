// One check connection: connect (optionally TLS), write, read into a bounded buffer, with the
// deadlines HAProxy applies to a check. Every runner (tcp, http, tcp-check, agent) uses it, so the
// connect/handshake/timeout error mapping to L4/L6 statuses lives in one place.
//
// Deadlines (configuration manual, `timeout check`): without `timeout check` the whole check,
// connect included, must finish within `inter`. With it, the connect step is bounded by
// min(`timeout connect`, `inter`) and, once connected, `timeout check` bounds the rest (a fresh
// deadline). Observed on haproxy 2.6: inter 200ms, timeout connect 300ms, timeout check 400ms →
// a black-holed connect fails after 200ms (L4TOUT) and a silent server after 400ms (L7TOUT).
import net from 'node:net';
import tls from 'node:tls';
import type { CheckResult, CheckStatus } from './status.ts';
import { checkResult, errnoText } from './status.ts';

/** HAProxy's default tune.bufsize: a check response larger than this is judged on its start. */
export const CHECK_BUFSIZE = 16384;

/** `check-ssl` (or `tcp-check connect ssl`) settings, mapped onto Node's TLS client. */
export interface CheckTlsOptions {
  /** SNI to send (`check-sni`); none when undefined. */
  servername?: string;
  /** `verify required` with `ca-file`; default `verify none` as the check would otherwise fail on self-signed backends. */
  verify?: 'none' | 'required';
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** `check-alpn`, e.g. ['h2', 'http/1.1']. */
  alpn?: readonly string[];
}

/** The timers of one check (milliseconds, 0 or undefined = unset). */
export interface CheckTimeouts {
  /** The server's configured `inter` (not fastinter/downinter: HAProxy bounds checks by `inter`). */
  inter: number;
  /** The backend's `timeout check`. */
  check?: number | undefined;
  /** The backend's `timeout connect`. */
  connect?: number | undefined;
}

/** Connect deadline and post-connect deadline (undefined = the connect deadline keeps running). */
export function checkDeadlines(t: CheckTimeouts): { connect: number; afterConnect: number | undefined } {
  const check = t.check ?? 0;
  const connect = t.connect ?? 0;
  if (check > 0) return { connect: connect > 0 ? Math.min(connect, t.inter) : t.inter, afterConnect: check };
  return { connect: t.inter, afterConnect: undefined };
}

export interface CheckEndpoint {
  host: string;
  port: number;
  tls?: CheckTlsOptions | undefined;
}

/** Why a connection failed before the data phase. */
export interface ConnectFailure {
  readonly status: CheckStatus;
  /** strerror text ('Connection refused') or HAProxy's error-code text; '' for a plain timeout. */
  readonly text: string;
}

/** What waitFor() saw. */
export type WaitOutcome = 'match' | 'end' | 'full' | 'timeout' | 'error';

/**
 * A live check connection. Created by CheckConn.open(); the caller writes, waits for data and
 * finally calls close(). One timer per connection, re-armed when the phase changes.
 */
export class CheckConn {
  readonly #start: number;
  readonly #sock: net.Socket;
  #timer: NodeJS.Timeout | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #ended = false;
  #expired = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  /** Set by open(): 'l4' until TCP is up, 'l6' during the TLS handshake, then 'data'. */
  phase: 'l4' | 'l6' | 'data' = 'l4';

  private constructor(sock: net.Socket, start: number) {
    this.#sock = sock;
    this.#start = start;
  }

  /**
   * Connects to `ep` within the deadlines. Resolves to a connection in the data phase or to
   * the failure HAProxy would report (L4CON/L4TOUT, L6RSP/L6TOUT for TLS).
   */
  static open(ep: CheckEndpoint, timeouts: CheckTimeouts, start = performance.now()): Promise<CheckConn | ConnectFailure> {
    const dl = checkDeadlines(timeouts);
    return new Promise((resolve) => {
      const sock = ep.tls === undefined ? net.connect({ host: ep.host, port: ep.port }) : CheckConn.#tlsConnect(ep, ep.tls);
      const c = new CheckConn(sock, start);
      let settled = false;
      const settle = (v: CheckConn | ConnectFailure): void => {
        if (settled) return;
        settled = true;
        if (v !== c) c.close();
        resolve(v);
      };
      c.#arm(dl.connect, () => settle({ status: c.phase === 'l6' ? 'L6TOUT' : 'L4TOUT', text: '' }));
      sock.on('error', (err) => {
        c.#error = err;
        if (!settled) {
          // A TLS alert or a certificate refusal during the handshake is an L6 problem; HAProxy
          // names it with its connection error text.
          if (c.phase === 'l6') settle({ status: 'L6RSP', text: 'SSL handshake failure' });
          else settle({ status: 'L4CON', text: errnoText(err) });
        }
        c.#notify();
      });
      sock.once('connect', () => {
        if (ep.tls !== undefined) c.phase = 'l6';
        else c.#established(dl.afterConnect, settle);
      });
      if (ep.tls !== undefined) sock.once('secureConnect', () => c.#established(dl.afterConnect, settle));
      sock.on('data', (d: Buffer) => c.#onData(d));
      sock.once('end', () => {
        c.#ended = true;
        c.#notify();
      });
      sock.once('close', () => {
        c.#ended = true;
        if (!settled) settle({ status: c.phase === 'l6' ? 'L6RSP' : 'L4CON', text: c.phase === 'l6' ? 'SSL handshake failure' : '' });
        c.#notify();
      });
    });
  }

  static #tlsConnect(ep: CheckEndpoint, t: CheckTlsOptions): net.Socket {
    const opts: tls.ConnectionOptions = {
      host: ep.host,
      port: ep.port,
      rejectUnauthorized: t.verify === 'required',
    };
    if (t.servername !== undefined) opts.servername = t.servername;
    if (t.ca !== undefined) opts.ca = t.ca;
    if (t.cert !== undefined) opts.cert = t.cert;
    if (t.key !== undefined) opts.key = t.key;
    if (t.alpn !== undefined) opts.ALPNProtocols = [...t.alpn];
    // Without an explicit SNI, Node would send none for an IP; checkServerIdentity would still
    // compare the IP: keep Node's default, `verify required` means exactly that.
    // No setNoDelay: a check writes its request in one piece, and the syscall costs ~1µs per check.
    return tls.connect(opts);
  }

  #established(afterConnect: number | undefined, settle: (v: CheckConn) => void): void {
    this.phase = 'data';
    if (afterConnect !== undefined) this.#arm(afterConnect, () => this.#expire());
    else {
      // The connect deadline keeps running: re-arm its callback to the data-phase meaning.
      const left = this.#deadlineLeft;
      this.#arm(left, () => this.#expire());
    }
    settle(this);
  }

  #deadlineAt = 0;
  get #deadlineLeft(): number {
    return Math.max(0, this.#deadlineAt - performance.now());
  }

  #arm(ms: number, fn: () => void): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#deadlineAt = performance.now() + ms;
    this.#timer = setTimeout(fn, ms);
  }

  #expire(): void {
    this.#expired = true;
    this.#notify();
  }

  #onData(d: Buffer): void {
    const room = CHECK_BUFSIZE - this.#size;
    if (room <= 0) return;
    const part = d.length > room ? d.subarray(0, room) : d;
    this.#chunks.push(part);
    this.#size += part.length;
    // A full buffer is HAProxy's "last read": stop reading, judge what we have.
    if (this.#size >= CHECK_BUFSIZE) this.#sock.pause();
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      w();
    }
  }

  /** Milliseconds since the check started (HAProxy's check duration, truncated). */
  elapsed(): number {
    return Math.floor(performance.now() - this.#start);
  }

  /** The bytes received since the last resetInput(), at most CHECK_BUFSIZE. */
  input(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#size)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  /** Drops received bytes (HAProxy resets the check's input buffer before each send step). */
  resetInput(): void {
    this.#chunks = [];
    this.#size = 0;
    if (this.#sock.isPaused()) this.#sock.resume();
  }

  write(data: string | Buffer): void {
    if (!this.#sock.destroyed) this.#sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The socket error seen in the data phase, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Waits until `done(input, last)` says true ('match'), the peer closed ('end'), the buffer is
   * full ('full'), the deadline passed ('timeout') or the socket failed ('error'). `last` tells the
   * predicate that no more data will come (end or full), as HAProxy's `last_read`.
   */
  async waitFor(done: (input: Buffer, last: boolean) => boolean): Promise<WaitOutcome> {
    for (;;) {
      const full = this.#size >= CHECK_BUFSIZE;
      const last = full || this.#ended;
      if (this.#size > 0 || last) {
        if (done(this.input(), last)) return 'match';
      }
      if (this.#error !== undefined) return 'error';
      if (full) return 'full';
      if (this.#ended) return 'end';
      if (this.#expired) return 'timeout';
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake = undefined;
    // A check does not linger: HAProxy closes with a reset-free shutdown; destroy is the closest.
    this.#sock.destroy();
  }
}

/** The result for a failed connect: `suffix` is the tcp-check location text (" at step 2 of ..."). */
export function connectFailureResult(f: ConnectFailure, durationMs: number, suffix = ''): CheckResult {
  return checkResult(f.status, f.text + suffix, 0, durationMs);
}

/** The result for a socket error after connect (HAProxy: SOCKERR with the strerror text). */
export function socketErrorResult(c: CheckConn, suffix = ''): CheckResult {
  return checkResult('SOCKERR', errnoText(c.error) + suffix, 0, c.elapsed());
}

export function isConn(v: CheckConn | ConnectFailure): v is CheckConn {
  return v instanceof CheckConn;
}
