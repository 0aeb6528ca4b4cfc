// A check connection straight on Node's TCP handle (the `tcp_wrap` and `stream_wrap` bindings that
// node:net itself is built on), for plain checks to an IP literal.
//
// Why: 1,000 servers at `inter 1s` must cost under 10% of a core (issue 3). A bare net.Socket
// loop (connect, write, first read, reset) already costs ~10.5% here: the Socket object, its
// stream state, the event emitter and the nextTick hops around each event are most of it. The
// same loop on the handle costs ~6% (test/checks/bench-checks.ts, `floor` vs `rawfloor`). What
// is left is what a check needs: one handle, one connect request, one write request, reads into
// a buffer shared by every check, and a reset to close.
//
// Not a public Node API: `process.binding` is deprecated (DEP0111, documentation-only; a warning
// is printed only under --pending-deprecation). Everything used is feature-detected once, at
// load: when the binding or any member is missing (another Node version or runtime),
// RawTcp.connect() returns undefined and conn.ts keeps its net.Socket path, silently.
//
// Callbacks: the handle's `onread`, the connect request's and the write request's `oncomplete`
// are static methods shared by every connection, called by Node with the handle or request as
// `this` / argument, and a read is handed over as a cached view (viewOf): nothing is allocated
// per event. `Buffer` comes from its module: the global is an accessor (a getter call per use).
import { Buffer } from 'node:buffer';
import { isIP } from 'node:net';
import { loadHandleBindings, RawTcpError } from '../net/raw-tcp.ts';

/** What the wrapper reports to (a Probe, conn.ts). Same names and meanings as its net.Socket listeners. */
export interface RawTcpOwner {
  /** TCP is up. */
  socketConnected(): void;
  /** Bytes arrived (`chunk` views the shared read buffer: valid during the call); false = stop reading. */
  socketData(chunk: Buffer): boolean;
  /** The peer closed its side (FIN). The handle stays open until close(). */
  socketEnd(): void;
  /** Connect or socket error; the handle is already closed, socketClose() follows at once. */
  socketError(err: Error): void;
  /** The handle was closed because of an error (never after the owner's own close()). */
  socketClose(): void;
}

// ---- the bindings, typed as narrowly as this file uses them ----

/** A connect request (TCPConnectWrap). Node calls `oncomplete(status, handle, req, readable, writable)`. */
interface ConnectReq {
  oncomplete: (status: number, handle: TcpHandle) => void;
}

/** A write request (WriteWrap). Node calls `oncomplete(status, handle)` for a write that went async. */
interface WriteReq {
  oncomplete: (status: number, handle: TcpHandle) => void;
  /** Keeps the bytes alive while an asynchronous write is pending (the handle does not). */
  buffer?: Uint8Array;
}

/** A TCP handle (TCPWrap). Methods return 0 or a negative errno. */
interface TcpHandle {
  connect(req: ConnectReq, ip: string, port: number): number;
  connect6(req: ConnectReq, ip: string, port: number): number;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  /** SO_LINGER 0 then close. Fails (and leaves the handle unusable) only on a socket shutting down or without an fd. */
  reset(): number;
  close(): void;
  /** Called with `this` = the handle; the byte count or errno is in streamBaseState[kReadBytesOrError]. */
  onread: (this: TcpHandle) => void;
  /**
   * Ours: the wrapper that owns the handle (undefined once closed). Not `owner`: node:net defines
   * that name on TCP.prototype as an accessor over a symbol, a getter or setter call per use.
   */
  rawTcp: RawTcp | undefined;
}

interface TcpBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

function isObject(v: unknown): v is object {
  return (typeof v === 'object' || typeof v === 'function') && v !== null;
}

function hasMethods(proto: unknown, names: readonly string[]): boolean {
  if (!isObject(proto)) return false;
  for (const n of names) if (!(n in proto) || typeof Reflect.get(proto, n) !== 'function') return false;
  return true;
}

const HANDLE_METHODS = ['connect', 'connect6', 'useUserBuffer', 'readStart', 'readStop', 'writeBuffer', 'reset', 'close'] as const;

function isTcpBinding(v: unknown): v is TcpBinding {
  if (!isObject(v) || !('TCP' in v) || !('TCPConnectWrap' in v) || !('constants' in v)) return false;
  const { TCP, TCPConnectWrap, constants } = v;
  if (typeof TCP !== 'function' || typeof TCPConnectWrap !== 'function') return false;
  if (!isObject(constants) || !('SOCKET' in constants) || typeof constants.SOCKET !== 'number') return false;
  const proto: unknown = TCP.prototype;
  // `onread` is an accessor on a base prototype: test its presence, reading it would throw.
  return hasMethods(proto, HANDLE_METHODS) && isObject(proto) && 'onread' in proto;
}

function isStreamBinding(v: unknown): v is StreamBinding {
  if (!isObject(v) || !('WriteWrap' in v) || !('streamBaseState' in v) || !('kReadBytesOrError' in v) || !('kLastWriteWasAsync' in v)) return false;
  return typeof v.WriteWrap === 'function' && v.streamBaseState instanceof Int32Array && typeof v.kReadBytesOrError === 'number' && typeof v.kLastWriteWasAsync === 'number';
}

const BINDINGS = loadHandleBindings(isTcpBinding, isStreamBinding);
/** libuv's UV_EOF: the peer closed. */
const UV_EOF = -4095;

/** True when this Node offers the handle API RawTcp needs. */
export const rawTcpAvailable = BINDINGS !== undefined;

/**
 * isIP() of the check hosts seen so far: the same few host strings come back every interval, and a
 * Map hit is cheaper than isIP's regular expressions. Bounded: cleared past 4096 hosts.
 */
const FAMILY = new Map<string, number>();

function familyOf(host: string): number {
  let f = FAMILY.get(host);
  if (f === undefined) {
    if (FAMILY.size >= 4096) FAMILY.clear();
    f = isIP(host);
    FAMILY.set(host, f);
  }
  return f;
}

/**
 * A port node:net would accept (an integer 0..65535). The binding CHECKs `port` is a uint32 and
 * aborts the process otherwise, so anything else goes to net.Socket, which throws a RangeError.
 */
function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/**
 * Views on the read buffer by length, for reads of at most VIEW_CACHE_MAX bytes: every check
 * connection reads into the same buffer and a health check's answer has the same few lengths every
 * time, so a read costs no Buffer object. Safe because a view is only valid during the owner's
 * socketData() call (it must copy what it keeps), like the buffer's contents. Kept for one buffer
 * (the first one read into, the checks' shared buffer); others get a fresh view per read.
 */
const VIEW_CACHE_MAX = 1024;
let viewsOf: Uint8Array | undefined;
const views: (Buffer | undefined)[] = Array.from({ length: VIEW_CACHE_MAX + 1 }, () => undefined);

function viewOf(buf: Uint8Array, n: number): Buffer {
  if (n > VIEW_CACHE_MAX) return Buffer.from(buf.buffer, buf.byteOffset, n);
  if (viewsOf === undefined) viewsOf = buf;
  else if (viewsOf !== buf) return Buffer.from(buf.buffer, buf.byteOffset, n);
  let v = views[n];
  if (v === undefined) views[n] = v = Buffer.from(buf.buffer, buf.byteOffset, n);
  return v;
}

/**
 * The handle's `onread` (Node calls it with the handle as `this`), defined in RawTcp's static
 * block to reach its private fields: one function for every connection.
 */
let onRead: (this: TcpHandle) => void;

/**
 * One connection on a TCP handle. The handle is closed exactly once: by close(), or by the
 * wrapper itself on a connect or socket error (then socketError + socketClose are reported).
 */
export class RawTcp {
  #handle: TcpHandle | undefined;
  readonly #owner: RawTcpOwner;
  /** Where the handle reads (shared by every connection: see RawTcpOwner.socketData). */
  readonly #buf: Uint8Array;
  #connected = false;
  #paused = false;

  private constructor(owner: RawTcpOwner, handle: TcpHandle, buf: Uint8Array) {
    this.#owner = owner;
    this.#buf = buf;
    this.#handle = handle;
  }

  /**
   * Starts connecting to `host`:`port` and reads into `readBuffer` once connected. Returns
   * undefined (and does nothing) when the raw path cannot serve this endpoint: no bindings, a
   * host that is not an IPv4/IPv6 literal (a name needs a lookup: net.Socket does it), or a port
   * net.Socket would reject. A connect that fails at once (EADDRNOTAVAIL, ENETUNREACH...) is
   * reported on the next tick, as net.Socket does: never from inside this call.
   */
  static connect(owner: RawTcpOwner, host: string, port: number, readBuffer: Uint8Array): RawTcp | undefined {
    const b = BINDINGS;
    if (b === undefined || !isPort(port)) return undefined;
    const family = familyOf(host);
    if (family === 0) return undefined;
    const handle = new b.tcp.TCP(b.tcp.constants.SOCKET);
    const raw = new RawTcp(owner, handle, readBuffer);
    handle.rawTcp = raw;
    handle.onread = onRead;
    handle.useUserBuffer(readBuffer);
    const req = new b.tcp.TCPConnectWrap();
    req.oncomplete = RawTcp.#onConnect;
    const err = family === 4 ? handle.connect(req, host, port) : handle.connect6(req, host, port);
    if (err < 0) {
      raw.#drop();
      process.nextTick(RawTcp.#reportLater, raw, new RawTcpError('connect', err, host, port));
    }
    return raw;
  }

  /** Connected and not closed. */
  get open(): boolean {
    return this.#handle !== undefined && this.#connected;
  }

  /** Writes `data` (kept alive until the kernel has it). Errors are reported as socket errors, never thrown. */
  write(data: Uint8Array): void {
    const h = this.#handle;
    const b = BINDINGS;
    if (h === undefined || !this.#connected || b === undefined) return;
    const req = new b.stream.WriteWrap();
    req.oncomplete = RawTcp.#onWritten;
    const err = h.writeBuffer(req, data);
    if (err < 0) {
      // net.Socket reports a failed write asynchronously too: the caller is usually inside a
      // handler callback that must not be re-entered.
      this.#drop();
      process.nextTick(RawTcp.#reportLater, this, new RawTcpError('write', err));
    } else if (b.stream.streamBaseState[b.stream.kLastWriteWasAsync] !== 0) req.buffer = data;
  }

  /** Resumes reading after socketData() returned false. */
  resume(): void {
    const h = this.#handle;
    if (h === undefined || !this.#paused) return;
    this.#paused = false;
    h.readStart();
  }

  /**
   * Closes the handle, with a reset (SO_LINGER 0) when connected: see Probe.close() for why. A
   * connection still connecting is closed plainly (its connect completes with ECANCELED, ignored).
   * Reports nothing to the owner. Idempotent.
   */
  close(): void {
    const h = this.#handle;
    if (h === undefined) return;
    this.#handle = undefined;
    h.rawTcp = undefined;
    // reset() only on a connected socket: Node's TCPWrap::Reset marks the handle closing before
    // libuv's setsockopt(SO_LINGER), so if that failed (no fd yet) the handle could never be
    // closed again. On a connected Linux TCP socket it cannot fail; the close() below is for the
    // connecting case, and a no-op should reset() ever fail.
    if (!this.#connected || h.reset() < 0) h.close();
  }

  /** Closes the handle without a reset (after an error: the connection is gone anyway). */
  #drop(): void {
    const h = this.#handle;
    if (h === undefined) return;
    this.#handle = undefined;
    h.rawTcp = undefined;
    h.close();
  }

  #fail(err: Error): void {
    this.#drop();
    this.#report(err);
  }

  #report(err: Error): void {
    this.#owner.socketError(err);
    this.#owner.socketClose();
  }

  static #reportLater(this: void, raw: RawTcp, err: Error): void {
    raw.#report(err);
  }

  /** Connect request done. A closed handle has no owner (its connect ends with ECANCELED): ignored. */
  static readonly #onConnect = (status: number, handle: TcpHandle): void => {
    const raw = handle.rawTcp;
    if (raw === undefined) return;
    if (status < 0) {
      raw.#fail(new RawTcpError('connect', status));
      return;
    }
    raw.#connected = true;
    const err = handle.readStart();
    if (err < 0) raw.#fail(new RawTcpError('read', err));
    else raw.#owner.socketConnected();
  };

  static {
    /** Read callback (`this` is the handle): bytes are in the shared buffer, or an EOF/errno. */
    onRead = function (this: TcpHandle): void {
      const b = BINDINGS;
      const raw = this.rawTcp;
      if (raw === undefined || b === undefined) return;
      const n = b.stream.streamBaseState[b.stream.kReadBytesOrError] ?? 0;
      if (n > 0) {
        if (!raw.#owner.socketData(viewOf(raw.#buf, n)) && raw.#handle === this) {
          raw.#paused = true;
          this.readStop();
        }
      } else if (n === UV_EOF) raw.#owner.socketEnd();
      else if (n < 0) raw.#fail(new RawTcpError('read', n));
    };
  }

  /** A write that went asynchronous finished (the request, and the bytes it holds, are then dropped). */
  static readonly #onWritten = (status: number, handle: TcpHandle): void => {
    const raw = handle.rawTcp;
    if (raw !== undefined && status < 0) raw.#fail(new RawTcpError('write', status));
  };
}
