// One check connection: connect (optionally TLS), write, read into a bounded buffer, with the
// deadlines HAProxy applies to a check. Every runner (tcp, http, tcp-check, agent) uses it, so the
// connect/handshake/timeout error mapping to L4/L6 statuses lives in one place.
//
// Deadlines (configuration manual, `timeout check`): without `timeout check` the whole check,
// connect included, must finish within `inter`. With it, the connect step is bounded by
// min(`timeout connect`, `inter`) and, once connected, `timeout check` bounds the rest (a fresh
// deadline). Observed on haproxy 2.6: inter 200ms, timeout connect 300ms, timeout check 400ms →
// a black-holed connect fails after 200ms (L4TOUT) and a silent server after 400ms (L7TOUT).
// `Buffer` and `performance` from their modules: the globals are accessors (a getter call per use).
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { CheckResult, CheckStatus } from './status.ts';
import { checkDeadlineQueue, type DeadlineLane, type Expirable } from './deadlines.ts';
import { RawTcp, rawTcpAvailable } from './raw-tcp.ts';
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
  return { connect: connectDeadline(t), afterConnect: afterConnectDeadline(t) };
}

/** checkDeadlines().connect, without an object per check. */
function connectDeadline(t: CheckTimeouts): number {
  const connect = t.connect ?? 0;
  return (t.check ?? 0) > 0 && connect > 0 ? Math.min(connect, t.inter) : t.inter;
}

/** checkDeadlines().afterConnect. */
function afterConnectDeadline(t: CheckTimeouts): number | undefined {
  const check = t.check ?? 0;
  return check > 0 ? check : undefined;
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

/** Why the data phase of a probe stopped before its handler was done. */
export type StopReason = 'end' | 'timeout' | 'error';

/**
 * The events of one check connection, delivered to ONE object per check: no closure, listener
 * or promise is allocated per event. After onFailed, or once the handler calls close(), nothing
 * more is delivered.
 */
export interface ProbeHandler {
  /** TCP (and TLS) is up: the data phase starts. */
  onConnected(p: Probe): void;
  /** The connection failed before the data phase; the probe is already closed. */
  onFailed(f: ConnectFailure): void;
  /**
   * Bytes arrived. `chunk` may be a view on a buffer shared by every check: valid during the call
   * only (copy what must be kept). Return false to stop reading (HAProxy's full buffer).
   */
  onData(p: Probe, chunk: Buffer): boolean;
  /** The data phase ended without the handler closing: peer closed, deadline, or socket error. */
  onStop(p: Probe, why: StopReason): void;
}

/**
 * Every plain check connection reads into this one buffer (the raw handle's user buffer, or
 * net.connect's `onread`): no Buffer is allocated per read, and the stream machinery is bypassed.
 * Safe because each read is handed to its handler synchronously, before the next read can
 * overwrite it.
 */
const SHARED_READ = Buffer.allocUnsafe(CHECK_BUFSIZE);
const PROBE: unique symbol = Symbol('check probe');
type Tagged = net.Socket & { [PROBE]?: Probe };

/**
 * Plain checks to an IP literal run on Node's TCP handle (raw-tcp.ts: an HTTP check costs about a
 * third less CPU than on a net.Socket, bench-checks.ts `http` vs `httpnet`). Host names, TLS, and
 * a Node without the handle API use net.Socket.
 */
let useRaw = rawTcpAvailable;

/**
 * Turns the raw TCP path on or off for the checks started from now on (tests and benchmarks run
 * both paths). Returns whether it was on. It cannot be turned on where the handle API is missing.
 */
export function setRawTcpChecks(on: boolean): boolean {
  const was = useRaw;
  useRaw = on && rawTcpAvailable;
  return was;
}

/**
 * One check connection: connect (optionally TLS) within the deadlines, deliver data to the
 * handler, close with a reset. Deadlines live in the shared queue (deadlines.ts), not in a
 * setTimeout per check.
 */
export class Probe implements Expirable {
  readonly #handler: ProbeHandler;
  readonly #start: number;
  readonly #afterConnect: number | undefined;
  readonly #tls: boolean;
  #sock: Tagged | undefined;
  /** The raw handle wrapper, when this probe uses it (then #sock stays undefined). */
  #raw: RawTcp | undefined;
  #closed = false;
  #stopped = false;
  /** 'l4' until TCP is up, 'l6' during the TLS handshake, then 'data'. */
  phase: 'l4' | 'l6' | 'data' = 'l4';
  /** The peer closed (or the socket is gone). */
  ended = false;
  /** The socket error, if any. */
  error: Error | undefined;
  deadlineSlot = -1;
  deadlineLane: DeadlineLane | undefined = undefined;

  private constructor(handler: ProbeHandler, start: number, afterConnect: number | undefined, tlsOn: boolean) {
    this.#handler = handler;
    this.#start = start;
    this.#afterConnect = afterConnect;
    this.#tls = tlsOn;
  }

  /** Starts a connection to `ep`; events go to `handler`. */
  static open(ep: CheckEndpoint, timeouts: CheckTimeouts, handler: ProbeHandler, start = performance.now()): Probe {
    const p = new Probe(handler, start, afterConnectDeadline(timeouts), ep.tls !== undefined);
    checkDeadlineQueue.set(p, connectDeadline(timeouts));
    try {
      p.#connect(ep);
    } catch (err) {
      // A bad port or address throws synchronously: no check ran, the caller gets the error.
      p.#closed = true;
      checkDeadlineQueue.clear(p);
      p.#sock?.destroy();
      p.#raw?.close();
      throw err;
    }
    return p;
  }

  #connect(ep: CheckEndpoint): void {
    let sock: Tagged;
    if (ep.tls === undefined) {
      // An IP literal goes to the raw handle (which reports to the socket* methods below, as the
      // net.Socket listeners do). A host name falls through and is looked up by node:net on
      // every check (the config keeps server names as written; HAProxy resolves them once at
      // start-up), as does everything when the handle API is missing.
      if (useRaw) {
        this.#raw = RawTcp.connect(this, ep.host, ep.port, SHARED_READ);
        if (this.#raw !== undefined) return;
      }
      // allowHalfOpen: the peer's FIN must not make Node shut our side down (a FIN and a
      // shutdown syscall per check, and libuv refuses to reset a socket that is shutting down).
      sock = new net.Socket({ allowHalfOpen: true, onread: { buffer: SHARED_READ, callback: onSharedRead } });
      sock[PROBE] = this;
      this.#sock = sock;
      sock.connect({ host: ep.host, port: ep.port });
    } else {
      sock = Probe.#tlsConnect(ep, ep.tls);
      sock[PROBE] = this;
      this.#sock = sock;
      sock.on('secureConnect', onSecure);
      sock.on('data', onTlsData);
    }
    sock.on('connect', onConnect);
    sock.on('error', onError);
    sock.on('end', onEnd);
    sock.on('close', onClose);
  }

  /** 'connect' (listener below): TCP is up; a TLS socket then starts its handshake. */
  socketConnected(): void {
    if (this.#closed) return;
    if (this.#tls) this.phase = 'l6';
    else this.#established();
  }

  /** 'secureConnect': the TLS handshake is done. */
  socketSecure(): void {
    if (!this.#closed) this.#established();
  }

  /** Bytes for the handler; false = stop reading. */
  socketData(chunk: Buffer): boolean {
    if (this.#closed || this.phase !== 'data') return true;
    return this.#handler.onData(this, chunk);
  }

  socketError(err: Error): void {
    this.error = err;
    if (this.#closed) return;
    // A TLS alert or a certificate refusal during the handshake is an L6 problem; HAProxy names
    // it with its connection error text.
    if (this.phase === 'l6') this.#fail('L6RSP', 'SSL handshake failure');
    else if (this.phase === 'l4') this.#fail('L4CON', errnoText(err));
    else this.#stop('error');
  }

  socketEnd(): void {
    this.ended = true;
    if (!this.#closed && this.phase === 'data') this.#stop('end');
  }

  socketClose(): void {
    this.ended = true;
    if (this.#closed) return;
    if (this.phase === 'data') this.#stop('end');
    else this.#fail(this.phase === 'l6' ? 'L6RSP' : 'L4CON', this.phase === 'l6' ? 'SSL handshake failure' : '');
  }

  static #tlsConnect(ep: CheckEndpoint, t: CheckTlsOptions): tls.TLSSocket {
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

  #established(): void {
    this.phase = 'data';
    // With `timeout check`, a fresh deadline for the rest; without, the connect deadline keeps
    // running and only its meaning changes (see expire()).
    if (this.#afterConnect !== undefined) checkDeadlineQueue.set(this, this.#afterConnect);
    this.#handler.onConnected(this);
  }

  /** Deadline passed (called by the deadline queue). */
  expire(): void {
    if (this.#closed) return;
    if (this.phase === 'data') this.#stop('timeout');
    else this.#fail(this.phase === 'l6' ? 'L6TOUT' : 'L4TOUT', '');
  }

  #fail(status: CheckStatus, text: string): void {
    this.close();
    this.#handler.onFailed({ status, text });
  }

  #stop(why: StopReason): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#handler.onStop(this, why);
  }

  /** Milliseconds since the check started (HAProxy's check duration, truncated). */
  elapsed(): number {
    return Math.floor(performance.now() - this.#start);
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: Buffer): void {
    const r = this.#raw;
    if (r !== undefined) {
      r.write(data);
      return;
    }
    const s = this.#sock;
    if (s !== undefined && !s.destroyed) s.write(data);
  }

  /** Resumes reading after onData returned false. */
  resume(): void {
    const r = this.#raw;
    if (r !== undefined) {
      r.resume();
      return;
    }
    const s = this.#sock;
    // Not only when isPaused(): an `onread` callback returning false stops the handle without
    // marking the stream paused, and net.Socket's resume() is what restarts that handle.
    if (s !== undefined && !s.destroyed) s.resume();
  }

  /**
   * Ends the check. HAProxy closes check connections with a reset (SO_LINGER 0) when it can:
   * observed on 2.6, a TCP check's connection is reset before the server even accepts it. A
   * reset spares both kernels the FIN exchange and a TIME_WAIT socket per check (60,000 of them
   * for 1,000 servers at `inter 1s`). A connection still connecting is just dropped (Node would
   * otherwise wait for the connect to finish to reset it); a TLS socket has no TCP handle to reset.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    checkDeadlineQueue.clear(this);
    const r = this.#raw;
    if (r !== undefined) {
      r.close();
      return;
    }
    const s = this.#sock;
    if (s === undefined) return;
    // Node leaks the handle when asked to reset a socket whose write side is shutting down.
    if (!this.#tls && !s.connecting && !s.destroyed && !s.writableEnded) s.resetAndDestroy();
    else s.destroy();
  }
}

// Listeners shared by every check socket (`this` is the socket): no closure per check.
function onConnect(this: Tagged): void {
  this[PROBE]?.socketConnected();
}
function onSecure(this: Tagged): void {
  this[PROBE]?.socketSecure();
}
function onSharedRead(this: Tagged, n: number, buf: Uint8Array): boolean {
  const p = this[PROBE];
  return p === undefined || p.socketData(Buffer.from(buf.buffer, buf.byteOffset, n));
}
function onTlsData(this: Tagged, d: Buffer): void {
  if (this[PROBE]?.socketData(d) === false) this.pause();
}
function onError(this: Tagged, err: Error): void {
  this[PROBE]?.socketError(err);
}
function onEnd(this: Tagged): void {
  this[PROBE]?.socketEnd();
}
function onClose(this: Tagged): void {
  this[PROBE]?.socketClose();
}

/**
 * A live check connection with a promise interface, for the multi-step runners (tcp-check,
 * agent). Created by CheckConn.open(); the caller writes, waits for data and finally calls close().
 */
export class CheckConn implements ProbeHandler {
  readonly #probe: Probe;
  #chunks: Buffer[] = [];
  #size = 0;
  #stop: StopReason | undefined;
  #wake: (() => void) | undefined;
  #settle: ((v: CheckConn | ConnectFailure) => void) | undefined;

  private constructor(ep: CheckEndpoint, timeouts: CheckTimeouts, start: number, settle: (v: CheckConn | ConnectFailure) => void) {
    this.#settle = settle;
    this.#probe = Probe.open(ep, timeouts, this, start);
  }

  static #create(ep: CheckEndpoint, timeouts: CheckTimeouts, start: number, settle: (v: CheckConn | ConnectFailure) => void): CheckConn {
    return new CheckConn(ep, timeouts, start, settle);
  }

  /**
   * Connects to `ep` within the deadlines. Resolves to a connection in the data phase or to
   * the failure HAProxy would report (L4CON/L4TOUT, L6RSP/L6TOUT for TLS).
   */
  static open(ep: CheckEndpoint, timeouts: CheckTimeouts, start = performance.now()): Promise<CheckConn | ConnectFailure> {
    return new Promise((resolve) => {
      CheckConn.#create(ep, timeouts, start, resolve);
    });
  }

  onConnected(): void {
    const s = this.#settle;
    this.#settle = undefined;
    s?.(this);
  }

  onFailed(f: ConnectFailure): void {
    const s = this.#settle;
    this.#settle = undefined;
    s?.(f);
  }

  onData(_p: Probe, chunk: Buffer): boolean {
    const room = CHECK_BUFSIZE - this.#size;
    if (room <= 0) return false;
    // The chunk may live in the shared read buffer: keep a copy.
    const part = Buffer.from(chunk.subarray(0, Math.min(room, chunk.length)));
    this.#chunks.push(part);
    this.#size += part.length;
    this.#notify();
    // A full buffer is HAProxy's "last read": stop reading, judge what we have.
    return this.#size < CHECK_BUFSIZE;
  }

  onStop(_p: Probe, why: StopReason): void {
    this.#stop = why;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      w();
    }
  }

  get phase(): 'l4' | 'l6' | 'data' {
    return this.#probe.phase;
  }

  /** Milliseconds since the check started (HAProxy's check duration, truncated). */
  elapsed(): number {
    return this.#probe.elapsed();
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
    this.#probe.resume();
  }

  write(data: string | Buffer): void {
    this.#probe.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  get ended(): boolean {
    return this.#probe.ended;
  }

  /** The socket error seen in the data phase, if any. */
  get error(): Error | undefined {
    return this.#probe.error;
  }

  /**
   * Waits until `done(input, last)` says true ('match'), the peer closed ('end'), the buffer is
   * full ('full'), the deadline passed ('timeout') or the socket failed ('error'). `last` tells the
   * predicate that no more data will come (end or full), as HAProxy's `last_read`.
   */
  async waitFor(done: (input: Buffer, last: boolean) => boolean): Promise<WaitOutcome> {
    for (;;) {
      const full = this.#size >= CHECK_BUFSIZE;
      const ended = this.#stop === 'end' || this.#probe.ended;
      const last = full || ended;
      if (this.#size > 0 || last) {
        if (done(this.input(), last)) return 'match';
      }
      if (this.#probe.error !== undefined) return 'error';
      if (full) return 'full';
      if (ended) return 'end';
      if (this.#stop === 'timeout') return 'timeout';
      if (this.#probe.closed) return 'error';
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  close(): void {
    this.#wake = undefined;
    this.#probe.close();
  }
}

/** The result for a failed connect: `suffix` is the tcp-check location text (" at step 2 of ..."). */
export function connectFailureResult(f: ConnectFailure, durationMs: number, suffix = ''): CheckResult {
  return checkResult(f.status, f.text + suffix, 0, durationMs);
}

/** The result for a socket error after connect (HAProxy: SOCKERR with the strerror text). */
export function socketErrorResult(c: { readonly error: Error | undefined; elapsed(): number }, suffix = ''): CheckResult {
  return checkResult('SOCKERR', errnoText(c.error) + suffix, 0, c.elapsed());
}

export function isConn(v: CheckConn | ConnectFailure): v is CheckConn {
  return v instanceof CheckConn;
}
