// A TCP client connection straight on Node's TCP handle (the `tcp_wrap` and `stream_wrap` bindings
// node:net is built on), for the proxy's connections to servers.
//
// Why (issue 5): with a new server connection per request, a net.Socket costs ~40-45 µs of CPU per
// connection life (constructor, stream state, listeners, nextTick'd end/close, the destroy path,
// extra socket options); the same connect/write/read/close on the handle costs a few µs. What is
// kept is what a proxy needs: connect to an IP literal, reads into a buffer the caller chooses,
// writes that say whether they completed, a drain signal, half-close, reset, one-shot inactivity
// timeout, and errors shaped like Node's.
//
// Hot-path rules (DESIGN.md "The hot path"): one RawTcp object per connection; every event goes
// to ONE events table per kind of connection, made of `this`-free functions that receive the
// connection (its `owner` field leads back to the caller's object). The handle's callbacks are
// static functions shared by every connection: no closure, listener or promise per connection or
// per event; a write that completes at once reuses one spare write request.
//
// Not a public Node API: `process.binding` is deprecated (DEP0111, documentation-only; a warning
// only under --pending-deprecation). Everything is feature-detected once at load: without the
// bindings in the expected shape (or with LB_RAW_TCP=0 in the environment), `rawTcpAvailable` is
// false and RawTcp.connect() returns undefined, and callers keep their net.Socket path.
//
// Timeouts: one coarse timer wheel for the whole process (TICK_MS slots, one unref'd interval
// that runs only while some connection has a timeout armed), not a Node Timeout per connection.
// A Node Timeout per connection costs an object, an async id and a list insertion when created,
// and another one each time the duration changes (connect → server → tunnel); net.Socket also
// refreshes it on every read and write, which asks the C++ side for the loop time each time. Here
// arming is an O(1) list insertion with no allocation, and activity only stores a new deadline
// (lazily: an entry whose deadline moved is re-filed when its slot comes round). The price is
// precision: a timeout fires between its deadline and one tick (plus event-loop lag) after it,
// never before; HAProxy's own timeouts are in milliseconds and the tests' bounds allow a tick.
import { isIP } from 'node:net';
import util from 'node:util';

// ---- the bindings, typed as narrowly as this file uses them ----

/** A connect request (TCPConnectWrap): Node calls `oncomplete(status, handle, req, readable, writable)`. */
interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number, handle: TcpHandle) => void;
}

/** A write request (WriteWrap): `oncomplete(status, handle)` only for a write that went async. */
interface WriteReq {
  oncomplete: (this: WriteReq, status: number, handle: TcpHandle) => void;
  /** Keeps the bytes alive while the write is pending (the handle does not). */
  buffer: Uint8Array | Uint8Array[] | undefined;
  /** Ours: bytes of the write, counted in RawTcp.writePending until it completes. */
  len: number;
}

/** A shutdown request (ShutdownWrap): `oncomplete(status, handle)` once pending writes are flushed. */
interface ShutdownReq {
  oncomplete: (this: ShutdownReq, status: number, handle: TcpHandle) => void;
}

interface SockAddr {
  address?: string;
  family?: string;
  port?: number;
}

/** A TCP handle (TCPWrap). Methods return 0 or a negative errno. */
interface TcpHandle {
  connect(req: ConnectReq, ip: string, port: number): number;
  connect6(req: ConnectReq, ip: string, port: number): number;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: boolean): number;
  shutdown(req: ShutdownReq): number;
  setNoDelay(on: boolean): number;
  getpeername(out: SockAddr): number;
  getsockname(out: SockAddr): number;
  /** SO_LINGER 0 then close; the callback is called like close()'s. */
  reset(cb: (this: TcpHandle) => void): number;
  close(cb: (this: TcpHandle) => void): void;
  /**
   * Called with `this` = the handle; the byte count or errno is in streamBaseState. Returning a
   * Buffer makes it the buffer of the next read (Node's CustomBufferJSListener); undefined keeps it.
   */
  onread: (this: TcpHandle) => Buffer | undefined;
  /** Ours: the connection that owns the handle (until its close callback ran). */
  owner: RawTcp<unknown> | undefined;
}

interface TcpBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

function isObject(v: unknown): v is object {
  return (typeof v === 'object' || typeof v === 'function') && v !== null;
}

const HANDLE_METHODS = ['connect', 'connect6', 'useUserBuffer', 'readStart', 'readStop', 'writeBuffer', 'writev', 'shutdown', 'setNoDelay', 'getpeername', 'getsockname', 'reset', 'close'];

function isTcpBinding(v: unknown): v is TcpBinding {
  if (!isObject(v) || !('TCP' in v) || !('TCPConnectWrap' in v) || !('constants' in v)) return false;
  const { TCP, TCPConnectWrap, constants } = v;
  if (typeof TCP !== 'function' || typeof TCPConnectWrap !== 'function') return false;
  if (!isObject(constants) || !('SOCKET' in constants) || typeof constants.SOCKET !== 'number') return false;
  const proto: unknown = TCP.prototype;
  if (!isObject(proto)) return false;
  for (const m of HANDLE_METHODS) if (typeof Reflect.get(proto, m) !== 'function') return false;
  // `onread` is an accessor of a base prototype: only its presence is tested (reading it throws).
  return 'onread' in proto;
}

function isStreamBinding(v: unknown): v is StreamBinding {
  if (!isObject(v)) return false;
  if (!('WriteWrap' in v) || !('ShutdownWrap' in v) || !('streamBaseState' in v) || !('kReadBytesOrError' in v) || !('kLastWriteWasAsync' in v)) return false;
  return (
    typeof v.WriteWrap === 'function' &&
    typeof v.ShutdownWrap === 'function' &&
    v.streamBaseState instanceof Int32Array &&
    typeof v.kReadBytesOrError === 'number' &&
    typeof v.kLastWriteWasAsync === 'number'
  );
}

/**
 * Node's tcp_wrap and stream_wrap bindings, when `process.binding` gives them in the shape the
 * guards accept; undefined otherwise. Shared with the health checks' wrapper (lb/checks/raw-tcp.ts).
 */
export function loadHandleBindings<T, S>(isTcp: (v: unknown) => v is T, isStream: (v: unknown) => v is S): { tcp: T; stream: S } | undefined {
  try {
    const binding: unknown = Reflect.get(process, 'binding');
    if (typeof binding !== 'function') return undefined;
    const tcp: unknown = Reflect.apply(binding, process, ['tcp_wrap']);
    const stream: unknown = Reflect.apply(binding, process, ['stream_wrap']);
    if (!isTcp(tcp) || !isStream(stream)) return undefined;
    return { tcp, stream };
  } catch {
    return undefined;
  }
}

function loadBindings(): { tcp: TcpBinding; stream: StreamBinding } | undefined {
  // LB_RAW_TCP=0 turns the raw path off (callers use net.Socket): a switch for diagnosis, and how
  // the tests run the fallback.
  if (process.env.LB_RAW_TCP === '0') return undefined;
  return loadHandleBindings(isTcpBinding, isStreamBinding);
}


const B = loadBindings();

/** True when this Node offers the handle API RawTcp needs; otherwise RawTcp.connect() returns undefined. */
export const rawTcpAvailable = B !== undefined;

// Hoisted out of B for the per-event paths.
const streamState: Int32Array = B?.stream.streamBaseState ?? new Int32Array(8);
const kReadBytesOrError = B?.stream.kReadBytesOrError ?? 0;
const kLastWriteWasAsync = B?.stream.kLastWriteWasAsync ?? 0;

/** libuv's UV_EOF: the peer sent FIN. */
const UV_EOF = -4095;
/** libuv's UV_ENOTCONN (Linux errno 107): shutdown of a socket the peer already reset. */
const UV_ENOTCONN = -107;

// ---- errors ----

/** The errno's name as Node gives it ('ECONNREFUSED'), or 'Unknown system error N'. */
export function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(errno);
  } catch {
    return `Unknown system error ${errno}`;
  }
}

/** The errno's text as the C library gives it ('connection refused'), or the name when unknown. */
export function errnoText(errno: number): string {
  return util.getSystemErrorMap().get(errno)?.[1] ?? errnoName(errno);
}

/**
 * A system error shaped like Node's: `code` ('ECONNREFUSED'), `errno` (negative), `syscall`, and
 * for connect errors `address` and `port`; the message reads like Node's
 * ("connect ECONNREFUSED 127.0.0.1:80").
 */
export class RawTcpError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly address: string | undefined;
  readonly port: number | undefined;

  constructor(syscall: string, errno: number, address?: string, port?: number) {
    const code = errnoName(errno);
    super(address === undefined ? `${syscall} ${code}` : `${syscall} ${code} ${address}:${port ?? 0}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.address = address;
    this.port = port;
  }
}

// ---- events ----

/**
 * What a connection reports, one table per kind of connection. Every function receives the
 * connection (`c.owner` is the caller's object) and must not rely on `this`.
 */
export interface RawTcpEvents<T> {
  /** The connection is established (reading starts unless paused). */
  connect(this: void, c: RawTcp<T>): void;
  /**
   * `n` bytes arrived in `buf[0..n)`, `buf` being the connection's read buffer. They must be
   * consumed or copied before returning unless the caller gives the connection another buffer.
   */
  data(this: void, c: RawTcp<T>, buf: Buffer, n: number): void;
  /** The peer sent FIN. Writing is still possible; once our end() completed too the connection closes. */
  end(this: void, c: RawTcp<T>): void;
  /** Everything written has left after a write() that returned false. */
  drain(this: void, c: RawTcp<T>): void;
  /** The inactivity timeout expired. Nothing is closed: the caller decides. One-shot until activity. */
  timeout(this: void, c: RawTcp<T>): void;
  /** Connect, read, write or shutdown failed: the connection is already destroyed; close follows. */
  error(this: void, c: RawTcp<T>, err: RawTcpError): void;
  /** The handle is closed. Exactly once per connection, always after the other events. */
  close(this: void, c: RawTcp<T>): void;
}

// ---- the timer wheel ----

const TICK_MS = 10;
const SLOTS = 512; // 5.12 s per turn; later deadlines are re-filed when their slot comes round
const MASK = SLOTS - 1;

/** What the wheel links: RawTcp's timer fields (public for the wheel only). */
abstract class WheelEntry {
  /** ms (performance.now()) after which the entry expires; refreshed by activity. */
  deadline = 0;
  /** Wheel slot index, -1 when not filed. */
  wSlot = -1;
  wPrev: WheelEntry | null = null;
  wNext: WheelEntry | null = null;
  abstract expire(): void;
}

const slots: (WheelEntry | null)[] = Array.from({ length: SLOTS }, () => null);
let filed = 0;
/** Last tick processed (ticks are floor(performance.now() / TICK_MS)). */
let cursor = 0;
let ticker: NodeJS.Timeout | undefined;

function file(e: WheelEntry): void {
  let tick = Math.floor(e.deadline / TICK_MS);
  if (tick <= cursor) tick = cursor + 1;
  const i = tick & MASK;
  const head = slots[i] ?? null;
  e.wSlot = i;
  e.wPrev = null;
  e.wNext = head;
  if (head !== null) head.wPrev = e;
  slots[i] = e;
  if (filed++ === 0 && ticker === undefined) {
    ticker = setInterval(onTick, TICK_MS);
    ticker.unref();
  }
}

function unfile(e: WheelEntry): void {
  const i = e.wSlot;
  if (i < 0) return;
  const prev = e.wPrev;
  const next = e.wNext;
  if (prev === null) slots[i] = next;
  else prev.wNext = next;
  if (next !== null) next.wPrev = prev;
  e.wPrev = e.wNext = null;
  e.wSlot = -1;
  filed--;
}

/** Entries found due by a tick, expired after the slot walk (reused). */
const due: WheelEntry[] = [];

function onTick(): void {
  const now = performance.now();
  const target = Math.floor(now / TICK_MS);
  // After a long stall one turn visits every slot; going round again would find nothing new.
  if (target - cursor > SLOTS) cursor = target - SLOTS;
  while (cursor < target) {
    const i = ++cursor & MASK;
    for (let e = slots[i] ?? null; e !== null; ) {
      const next = e.wNext;
      if (e.deadline <= now) {
        unfile(e);
        due.push(e);
      } else {
        // Not due: a later turn of the wheel, or activity moved the deadline to another slot.
        const tick = Math.floor(e.deadline / TICK_MS);
        if (((tick <= cursor ? cursor + 1 : tick) & MASK) !== i) {
          unfile(e);
          file(e);
        }
      }
      e = next;
    }
    // Expired outside the walk: an expiry may close, re-arm or touch any other entry. One that
    // was re-armed or touched meanwhile is filed again (wSlot >= 0) and must not fire.
    for (let k = 0; k < due.length; k++) {
      const e = due[k]!;
      if (e.wSlot < 0 && e.deadline <= now) e.expire();
    }
    due.length = 0;
  }
  if (filed === 0 && ticker !== undefined) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Connections with a timeout armed (tests: nothing stays filed after close). */
export function armedTimeouts(): number {
  return filed;
}

// ---- the connection ----

/** A handle of this Node's TCP class (not a pipe, not another binding's object). */
function isTcpHandle(v: unknown): v is TcpHandle {
  return B !== undefined && isObject(v) && Object.getPrototypeOf(v) === B.tcp.TCP.prototype;
}

const ST_CONNECTING = 0;
const ST_OPEN = 1;
const ST_CLOSED = 2;

/** A write request for the next write: unused while writes complete at once. */
let spareWrite: WriteReq | undefined;

/**
 * A port node:net would accept. The binding CHECKs `port` is a uint32 and aborts the process
 * otherwise, so anything else is refused before it gets there.
 */
function isPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

/** The native callbacks, shared by every connection (assigned in RawTcp's static block). */
let onConnect: (this: ConnectReq, status: number, h: TcpHandle) => void;
let onRead: (this: TcpHandle) => Buffer | undefined;
let onWritten: (this: WriteReq, status: number, h: TcpHandle) => void;
let onShutdown: (this: ShutdownReq, status: number, h: TcpHandle) => void;
let onClose: (this: TcpHandle) => void;

/**
 * One client TCP connection. Life: connect() → [connect | error] → data/end/drain/timeout... →
 * close (exactly once, after destroy(), reset(), an error, or FIN both ways).
 */
export class RawTcp<T> extends WheelEntry {
  /** The caller's object, for the event functions. */
  readonly owner: T;
  readonly #ev: RawTcpEvents<T>;
  readonly #h: TcpHandle;
  readonly #host: string;
  readonly #port: number;
  #state = ST_CONNECTING;
  /** The buffer reads go to, and the one the handle currently has (they differ inside a read). */
  #buf: Buffer;
  #cbuf: Buffer;
  #inRead = false;
  /** The caller paused reading; the handle is reading. */
  #paused = false;
  #reading = false;
  #readEnded = false;
  #endCalled = false;
  #shutDone = false;
  #pending = 0;
  #needDrain = false;
  /** Inactivity timeout in ms (0 = none). */
  #tmo = 0;
  /** destroySoon(): close once our FIN has left. */
  #closeAfterFin = false;

  private constructor(ev: RawTcpEvents<T>, owner: T, h: TcpHandle, host: string, port: number, buf: Buffer) {
    super();
    this.owner = owner;
    this.#ev = ev;
    this.#h = h;
    this.#host = host;
    this.#port = port;
    this.#buf = buf;
    this.#cbuf = buf;
  }

  /**
   * Starts connecting to `host` (an IPv4 or IPv6 literal) port `port`; once connected the
   * connection reads into `readBuffer`. Returns undefined, having done nothing, when the raw path
   * cannot serve it: no bindings, a host name (it needs a lookup: use net.connect), or a port
   * outside 1..65535. A connect that fails at once (EADDRNOTAVAIL, ENETUNREACH...) is reported on
   * the next tick, like net.Socket: never from inside this call.
   */
  static connect<T>(ev: RawTcpEvents<T>, owner: T, host: string, port: number, readBuffer: Buffer, noDelay = false): RawTcp<T> | undefined {
    if (B === undefined || !isPort(port)) return undefined;
    const family = isIP(host);
    if (family === 0) return undefined;
    const h = new B.tcp.TCP(B.tcp.constants.SOCKET);
    const c = new RawTcp(ev, owner, h, host, port, readBuffer);
    h.owner = c;
    h.onread = onRead;
    h.useUserBuffer(readBuffer);
    // libuv remembers the flag and sets TCP_NODELAY when it creates the socket.
    if (noDelay) h.setNoDelay(true);
    const req = new B.tcp.TCPConnectWrap();
    req.oncomplete = onConnect;
    const err = family === 4 ? h.connect(req, host, port) : h.connect6(req, host, port);
    if (err !== 0) c.#fail(new RawTcpError('connect', err, host, port), true);
    return c;
  }

  /**
   * Adopts a connected TCP handle, such as the `clientHandle` a listening handle's
   * `onconnection(err, clientHandle)` receives (accepted connections). The connection starts
   * paused (nothing is read until resume()) and reads into `readBuffer`. Returns undefined, having
   * done nothing, when the raw path is off or `handle` is not a TCP handle (a pipe from an fd@
   * bind, another Node's shape): the caller keeps its net.Socket path.
   */
  static fromHandle<T>(ev: RawTcpEvents<T>, owner: T, handle: unknown, readBuffer: Buffer, noDelay = false): RawTcp<T> | undefined {
    if (!isTcpHandle(handle)) return undefined;
    const c = new RawTcp(ev, owner, handle, '', 0, readBuffer);
    c.#state = ST_OPEN;
    c.#paused = true;
    handle.owner = c;
    handle.onread = onRead;
    handle.useUserBuffer(readBuffer);
    if (noDelay) handle.setNoDelay(true);
    return c;
  }

  /** Still connecting. */
  get connecting(): boolean {
    return this.#state === ST_CONNECTING;
  }
  /** destroy(), reset(), an error or a full close happened: nothing more can be done. */
  get destroyed(): boolean {
    return this.#state === ST_CLOSED;
  }
  /** The peer sent FIN. */
  get readEnded(): boolean {
    return this.#readEnded;
  }
  /** end() was called. */
  get writeEnded(): boolean {
    return this.#endCalled;
  }
  /** Our FIN left (end() completed). */
  get writeFinished(): boolean {
    return this.#shutDone;
  }
  /** Reading is paused by the caller. */
  get paused(): boolean {
    return this.#paused;
  }
  /** Bytes of writes that did not complete at once and are not confirmed yet (an upper bound). */
  get writePending(): number {
    return this.#pending;
  }
  /** The buffer the next read goes to. */
  get readBuffer(): Buffer {
    return this.#buf;
  }

  /**
   * Reads go to `buf` from the next one on. Free when called from this connection's data event
   * (the buffer is handed back as the read callback returns); otherwise the handle gets a new
   * read listener, which costs a small native object kept until close: avoid it on hot paths.
   */
  setReadBuffer(buf: Buffer): void {
    if (buf === this.#buf) return;
    this.#buf = buf;
    if (this.#inRead || this.#state === ST_CLOSED) return;
    this.#h.useUserBuffer(buf);
    this.#cbuf = buf;
  }

  /** Stops reading until resume(). */
  pause(): void {
    this.#paused = true;
    if (this.#reading) {
      this.#reading = false;
      this.#h.readStop();
    }
  }

  resume(): void {
    this.#paused = false;
    if (this.#state === ST_OPEN && !this.#reading && !this.#readEnded) this.#startReading();
  }

  /**
   * Writes `data`. True when the kernel took all of it at once; false when some of it is
   * pending (the bytes stay referenced until then; drain follows once everything left), or when
   * the connection is closed or ended. Before the connection is established the write is queued
   * (false). A failure is reported as an error event on the next tick, never thrown.
   */
  write(data: Uint8Array): boolean {
    if (this.#state === ST_CLOSED || this.#endCalled) return false;
    const w = spareWrite ?? RawTcp.#newWrite();
    spareWrite = undefined;
    const err = this.#h.writeBuffer(w, data);
    return this.#afterWrite(w, err, data, data.length);
  }

  /** write() of several buffers in one system call. */
  writev(chunks: Uint8Array[]): boolean {
    if (this.#state === ST_CLOSED || this.#endCalled) return false;
    const w = spareWrite ?? RawTcp.#newWrite();
    spareWrite = undefined;
    const err = this.#h.writev(w, chunks, true);
    let n = 0;
    for (const b of chunks) n += b.length;
    return this.#afterWrite(w, err, chunks, n);
  }

  #afterWrite(w: WriteReq, err: number, data: Uint8Array | Uint8Array[], n: number): boolean {
    if (err !== 0) {
      spareWrite = w;
      this.#fail(new RawTcpError('write', err), true);
      return false;
    }
    if (this.#tmo > 0) this.#touch();
    if (streamState[kLastWriteWasAsync] === 0) {
      spareWrite = w;
      return true;
    }
    w.buffer = data;
    w.len = n;
    this.#pending += n;
    this.#needDrain = true;
    return false;
  }

  /** Half-close: FIN after every pending write. Reading goes on until the peer's FIN. Idempotent. */
  end(): void {
    if (this.#state === ST_CLOSED || this.#endCalled) return;
    this.#endCalled = true;
    if (this.#state === ST_OPEN) this.#shutdown();
    // Still connecting: the FIN leaves once connected.
  }

  #shutdown(): void {
    if (B === undefined) return;
    const req = new B.stream.ShutdownWrap();
    req.oncomplete = onShutdown;
    const err = this.#h.shutdown(req);
    // 1: done synchronously; ENOTCONN: the peer already reset (net.Socket ignores both).
    if (err === 1 || err === UV_ENOTCONN) this.#shutDone = true;
    else if (err !== 0) this.#fail(new RawTcpError('shutdown', err), true);
  }

  /**
   * end(), then close once our FIN has left (pending writes flushed), whether or not the peer
   * sent its own: net.Socket's destroySoon(). Idempotent.
   */
  destroySoon(): void {
    if (this.#state === ST_CLOSED) return;
    this.#closeAfterFin = true;
    this.end();
    if (this.#shutDone && this.#state !== ST_CLOSED) this.destroy();
  }

  /**
   * Inactivity timeout in ms (0 = none): the timeout event fires once after that long without a
   * read, a write or a completed write. Setting it again restarts it.
   */
  setTimeout(ms: number): void {
    if (this.#state === ST_CLOSED) return;
    unfile(this);
    this.#tmo = ms > 0 ? ms : 0;
    if (this.#tmo === 0) return;
    this.deadline = performance.now() + this.#tmo;
    file(this);
  }

  #touch(): void {
    this.deadline = performance.now() + this.#tmo;
    if (this.wSlot < 0) file(this);
  }

  /** The wheel's callback. */
  override expire(): void {
    if (this.#state !== ST_CLOSED) this.#ev.timeout(this);
  }

  /** The peer's address, or undefined (not connected, closed). */
  remoteAddress(): { address: string; family: string; port: number } | undefined {
    return this.#addr(true);
  }
  /** Our address, or undefined. */
  localAddress(): { address: string; family: string; port: number } | undefined {
    return this.#addr(false);
  }

  #addr(peer: boolean): { address: string; family: string; port: number } | undefined {
    if (this.#state === ST_CLOSED) return undefined;
    const out: SockAddr = {};
    const err = peer ? this.#h.getpeername(out) : this.#h.getsockname(out);
    if (err !== 0 || out.address === undefined || out.port === undefined) return undefined;
    return { address: out.address, family: out.family ?? '', port: out.port };
  }

  /** Closes now (pending writes are dropped); close follows. Idempotent. */
  destroy(): void {
    if (this.#state === ST_CLOSED) return;
    this.#closeHandle(false);
  }

  /**
   * Closes with a reset (RST, SO_LINGER 0) when established, plainly otherwise; close follows.
   * Idempotent.
   */
  reset(): void {
    if (this.#state === ST_CLOSED) return;
    this.#closeHandle(this.#state === ST_OPEN && !(this.#endCalled && !this.#shutDone));
  }

  #closeHandle(rst: boolean): void {
    this.#state = ST_CLOSED;
    this.#reading = false;
    unfile(this);
    // reset() is safe only on a connected socket that is not shutting down: when it fails, Node
    // has already marked the handle closing, and close() would then never close it.
    if (!rst || this.#h.reset(onClose) !== 0) this.#h.close(onClose);
  }

  /** Destroys, then reports `err` now or (from inside a caller's call) on the next tick. */
  #fail(err: RawTcpError, later: boolean): void {
    if (this.#state === ST_CLOSED) return;
    this.#closeHandle(false);
    if (later) process.nextTick(RawTcp.#reportLater, this, err);
    else this.#ev.error(this, err);
  }

  #startReading(): void {
    const err = this.#h.readStart();
    if (err !== 0) this.#fail(new RawTcpError('read', err), true);
    else this.#reading = true;
  }

  static #newWrite(): WriteReq {
    if (B === undefined) throw new Error('unreachable: no stream binding');
    const w = new B.stream.WriteWrap();
    w.oncomplete = onWritten;
    w.buffer = undefined;
    w.len = 0;
    return w;
  }

  static #reportLater(this: void, c: RawTcp<unknown>, err: RawTcpError): void {
    c.#ev.error(c, err);
  }


  // The handle's and requests' callbacks: defined here to reach the private fields, stored in
  // module variables (Node calls them with the handle or request as `this`).
  static {
    onConnect = function (this: ConnectReq, status: number, h: TcpHandle): void {
      const c = h.owner;
      // A connection destroyed while connecting completes with ECANCELED: already reported.
      if (c === undefined || c.#state !== ST_CONNECTING) return;
      if (status !== 0) {
        c.#fail(new RawTcpError('connect', status, c.#host, c.#port), false);
        return;
      }
      c.#state = ST_OPEN;
      if (c.#tmo > 0) c.#touch();
      if (!c.#paused) c.#startReading();
      if (c.#endCalled && c.#state === ST_OPEN) c.#shutdown();
      if (c.#state === ST_OPEN) c.#ev.connect(c);
    };

    onRead = function (this: TcpHandle): Buffer | undefined {
      const c = this.owner;
      if (c === undefined || c.#state === ST_CLOSED) return undefined;
      const n = streamState[kReadBytesOrError] ?? 0;
      if (n > 0) {
        if (c.#tmo > 0) c.#touch();
        c.#inRead = true;
        c.#ev.data(c, c.#cbuf, n);
        c.#inRead = false;
        // The caller chose another buffer for the next read: the native side takes it from here.
        if (c.#buf !== c.#cbuf && c.#state !== ST_CLOSED) {
          c.#cbuf = c.#buf;
          return c.#buf;
        }
        return undefined;
      }
      if (n === UV_EOF) {
        // libuv stops reading at EOF.
        c.#reading = false;
        c.#readEnded = true;
        c.#ev.end(c);
        if (c.#shutDone) c.destroy();
      } else if (n < 0) {
        c.#fail(new RawTcpError('read', n), false);
      }
      return undefined;
    };

    onWritten = function (this: WriteReq, status: number, h: TcpHandle): void {
      const n = this.len;
      this.buffer = undefined;
      const c = h.owner;
      // Writes pending at destroy complete with ECANCELED: nothing to report.
      if (c === undefined || c.#state === ST_CLOSED) return;
      c.#pending -= n;
      if (status !== 0) {
        c.#fail(new RawTcpError('write', status), false);
        return;
      }
      if (c.#tmo > 0) c.#touch();
      if (c.#pending === 0 && c.#needDrain) {
        c.#needDrain = false;
        c.#ev.drain(c);
      }
    };

    onShutdown = function (this: ShutdownReq, status: number, h: TcpHandle): void {
      const c = h.owner;
      if (c === undefined || c.#state === ST_CLOSED) return;
      if (status !== 0 && status !== UV_ENOTCONN) {
        c.#fail(new RawTcpError('shutdown', status), false);
        return;
      }
      c.#shutDone = true;
      if (c.#readEnded || c.#closeAfterFin) c.destroy();
    };

    onClose = function (this: TcpHandle): void {
      const c = this.owner;
      this.owner = undefined;
      if (c !== undefined) c.#ev.close(c);
    };
  }
}
