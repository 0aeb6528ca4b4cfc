// L7 (`mode http`) data path: one HttpSession per client connection, ServerConns pooled per server.
//
//   client bytes ─► RequestHead.feed ─► hooks (fe, use_backend, be) ─► forwardfor ─► pick server
//     ─► attached / pooled idle connection, or connect (retries, redispatch, queue as tcp.ts)
//     ─► one write of the head (original bytes when unchanged) ─► body forwarded by its framing
//   server bytes ─► ResponseHead.feed ─► 1xx forwarded / 101 → tunnel ─► hooks (be, fe)
//     ─► Connection header fixed for the client ─► one write of head (+ body bytes of the chunk)
//   end of response ─► server connection kept (then pooled) if reusable ─► next request
//
// Hot-path rules (DESIGN.md "The hot path", issue 5): no node:http, no per-request closures,
// promises, listeners or streams. Server connections to an IP literal run on Node's TCP handle
// (lb/net/raw-tcp.ts: a net.Socket per new server connection cost ~40 µs of CPU), and so do
// plain-TCP client connections, accepted raw by listener.ts (see ClientConn). Every socket
// event goes to a module-level handler that finds its session through a symbol on the socket (or
// the RawTcp's owner); the session object is also the rules' transaction view; parsers, body
// trackers and timers are created once per connection and reused for every request.
// In the common case (head unchanged, head and body in one chunk) a message crosses the proxy as
// ONE write of a view of the chunk it arrived in.
//
// HAProxy 2.6 behaviours reproduced here (each measured against Debian's haproxy, see the tests):
// - client side `option http-keep-alive` (the default): the client connection stays open unless
//   the request says close (or is HTTP/1.0 without keep-alive) or the response has no length.
//   A server's `Connection: close` closes the server connection only; it is removed from the
//   response. The client gets `connection: close` when we close (HTTP/1.1 response), and
//   `connection: keep-alive` when an HTTP/1.0 client is kept alive.
// - server side: always keep-alive; close/keep-alive tokens of the request's Connection header are
//   removed, an HTTP/1.0 request gets `connection: keep-alive`.
// - `http-reuse safe`: a session's first request never goes to another session's idle
//   connection; later ones may (aggressive/always: any request; never: no sharing).
// - errors: 400 (bad request) and 408 (`timeout http-request`, also for a connection that sends
//   nothing) are sent in raw form and close; 502/503/504 and rule answers go through the engine
//   form and keep the client connection open when possible (see http-errors.ts).
// - a request waiting for its response keeps going when the client half-closes (no abortonclose).
import net from 'node:net';
import tls from 'node:tls';
import { createLogRecord } from '../log/record.ts';
import { LOG_INFO } from '../log/targets.ts';
import { RawTcp, rawTcpAvailable, type RawTcpEvents } from '../net/raw-tcp.ts';
import type { RawAccepted } from './listener.ts';
import { afterConnectFailure, redispatchTarget, serverTlsOptions, type ConnectFailure } from './connect.ts';
import { errorPage, localResponse, type ErrorPage, type ErrorPages } from './http-errors.ts';
import type { HttpHooks, HttpTxn } from './http-hooks.ts';
import { IdlePool, type Poolable } from './http-pool.ts';
import { READ_SIZE, readBuffers } from './read-buffers.ts';
import { Body, ChunkedDecoder, h1ErrorInfo, LengthCounter, Method, REASONS, RequestHead, ResponseHead, serializeRequest, serializeResponse, serializeResponseWith } from './http1/index.ts';
import type { QueueEntry, QueueWaiter } from './queue.ts';
import { bumpSessions, hasFreeSlot, processCounters, releaseServerSlot, takeServerSlot, type Backend, type Counters, type Frontend, type FrontendLog, type RuntimeServer } from './types.ts';

const kSession = Symbol('lb.http.session');
const kConn = Symbol('lb.http.conn');
const kPool = Symbol('lb.http.pool');
type ClientSock = net.Socket & { [kSession]?: SockClient | undefined };
type ServerSock = net.Socket & { [kConn]?: ServerConn | undefined };
type PooledServer = RuntimeServer & { [kPool]?: IdlePool<ServerConn> };

/** Default idle connections kept per server (HAProxy bounds by estimated need; we bound by count). */
export const DEFAULT_POOL_MAX_CONN = 100;
/** HAProxy's default `pool-purge-delay`. */
export const DEFAULT_POOL_PURGE_DELAY = 5000;

// Request side.
const RQ_HEAD = 0; // reading a request head (or idle between requests)
const RQ_PENDING = 1; // head parsed; routing, queued or connecting; client paused, rest stashed
const RQ_BODY = 2; // forwarding the request body
const RQ_DONE = 3; // request forwarded; waiting for the response to end
const RQ_TUNNEL = 4; // after 101: raw bytes both ways
const RQ_CLOSED = 5; // closing: nothing more is processed

// Response side.
const RS_NONE = 0;
const RS_HEAD = 1;
const RS_BODY = 2;

// Server selection sub-states (RQ_PENDING).
const AS_NONE = 0;
const AS_QUEUED = 1;
const AS_CONNECTING = 2;
const AS_TURNAROUND = 3;

// Session timer purposes.
const T_NONE = 0;
const T_REQUEST = 1; // timeout http-request: the head must be complete
const T_KEEPALIVE = 2; // timeout http-keep-alive: idle between requests
const T_QUEUE = 3;
const T_TURNAROUND = 4;

// Hook verdicts.
const V_NONE = 0;
const V_DENY = 1;
const V_LOCAL = 2;

const IDEMPOTENT = new Uint8Array(10);
IDEMPOTENT[Method.GET] = 1;
IDEMPOTENT[Method.HEAD] = 1;
IDEMPOTENT[Method.PUT] = 1;
IDEMPOTENT[Method.DELETE] = 1;
IDEMPOTENT[Method.OPTIONS] = 1;
IDEMPOTENT[Method.TRACE] = 1;

// Parsers are recycled between connections (a new-connection-per-request load would otherwise
// allocate two parsers, their field tables and trackers per request).
const freeRequests: RequestHead[] = [];
const freeResponses: ResponseHead[] = [];
const FREE_MAX = 256;

/**
 * Takes over an accepted client socket (paused, as the listener hands it) for http frontend `fe`.
 * A tls.TLSSocket is accepted as well: it sets ssl_fc and ssl_fc_sni. The socket is destroyed
 * when the session ends.
 */
export function handleHttpConnection(client: net.Socket, fe: Frontend): void {
  handleHttpClient(new SockClient(client), fe);
}

/** handleHttpConnection() for a client from rawClientOf() or a wrapped socket. */
export function handleHttpClient(client: ClientConn, fe: Frontend): void {
  processCounters.actconn++;
  const s = new HttpSession(client, fe);
  s.start();
}

/**
 * Takes over a raw accepted connection (lb/proxy/listener.ts): its events go to this file's
 * client table from now on. The returned client is for handleHttpClient() (or to read addresses).
 */
export function rawClientOf(conn: RawTcp<RawAccepted>): ClientConn {
  const cl = new RawClient(conn);
  conn.owner.user = cl;
  conn.owner.ev = rawClientEvents;
  return cl;
}

/**
 * The client connection of a session: the small interface both kinds satisfy. A RawClient (plain
 * TCP accepted by the listener on Node's TCP handle, lb/net/raw-tcp.ts) or a SockClient (a
 * net.Socket: TLS-terminated connections, fd@ pipes, LB_RAW_TCP=0). Chunks given to the session
 * are never overwritten by a later read on either kind (RawClient copies them out of the shared
 * read buffer), so the session may keep views of them (stash, reqOut, the parsed head).
 */
abstract class ClientConn {
  session: HttpSession | null = null;
  abstract readonly sslFc: boolean;
  abstract readonly sni: string | undefined;
  /** Registers the event handlers for `s`, TCP_NODELAY; reading is still paused. */
  abstract attach(s: HttpSession): void;
  /** False when not everything left at once (drain follows). */
  abstract write(b: Buffer): boolean;
  abstract pause(): void;
  abstract resume(): void;
  abstract get paused(): boolean;
  abstract get destroyed(): boolean;
  /** The client sent FIN. */
  abstract get readEnded(): boolean;
  /** Bytes written and not flushed yet (0: no write holds a buffer). */
  abstract get pending(): number;
  abstract end(): void;
  /** end(), then close once our bytes and FIN left. */
  abstract destroySoon(): void;
  abstract destroy(): void;
  abstract setTimeout(ms: number): void;
  abstract get src(): string;
  abstract get srcPort(): number;
  abstract get dst(): string;
  abstract get dstPort(): number;
  /** Fetches (and caches) the addresses while the connection is open (logs need them after). */
  abstract cacheAddresses(): void;
}

class SockClient extends ClientConn {
  readonly sock: ClientSock;
  readonly sslFc: boolean;
  readonly sni: string | undefined;
  constructor(sock: net.Socket) {
    super();
    this.sock = sock;
    this.sslFc = sock instanceof tls.TLSSocket;
    const name = sock instanceof tls.TLSSocket ? sock.servername : undefined;
    this.sni = typeof name === 'string' ? name : undefined;
  }
  attach(s: HttpSession): void {
    const c = this.sock;
    this.session = s;
    c[kSession] = this;
    c.setNoDelay(true);
    c.on('error', onClientError);
    c.on('close', onClientClose);
    c.on('timeout', onClientTimeout);
    c.on('data', onClientData);
    c.on('end', onClientEnd);
    c.on('drain', onClientDrain);
  }
  write(b: Buffer): boolean {
    return this.sock.write(b);
  }
  pause(): void {
    this.sock.pause();
  }
  resume(): void {
    this.sock.resume();
  }
  get paused(): boolean {
    return this.sock.isPaused();
  }
  get destroyed(): boolean {
    return this.sock.destroyed;
  }
  get readEnded(): boolean {
    return this.sock.readableEnded;
  }
  get pending(): number {
    return this.sock.writableLength;
  }
  end(): void {
    this.sock.end();
  }
  destroySoon(): void {
    this.sock.destroySoon();
  }
  destroy(): void {
    this.sock.destroy();
  }
  setTimeout(ms: number): void {
    this.sock.setTimeout(ms);
  }
  // Node caches the addresses on the socket once read, so they stay readable after close.
  get src(): string {
    return this.sock.remoteAddress ?? '';
  }
  get srcPort(): number {
    return this.sock.remotePort ?? 0;
  }
  get dst(): string {
    return this.sock.localAddress ?? '';
  }
  get dstPort(): number {
    return this.sock.localPort ?? 0;
  }
  cacheAddresses(): void {
    void (this.sock.remoteAddress, this.sock.localAddress);
  }
}

class RawClient extends ClientConn {
  readonly raw: RawTcp<RawAccepted>;
  readonly sslFc = false;
  readonly sni = undefined;
  // Fetched on first use (a getpeername/getsockname system call each), then cached.
  #src: string | undefined = undefined;
  #srcPort = 0;
  #dst: string | undefined = undefined;
  #dstPort = 0;
  constructor(raw: RawTcp<RawAccepted>) {
    super();
    this.raw = raw;
  }
  attach(s: HttpSession): void {
    this.session = s;
  }
  write(b: Buffer): boolean {
    return this.raw.write(b);
  }
  pause(): void {
    this.raw.pause();
  }
  resume(): void {
    this.raw.resume();
  }
  get paused(): boolean {
    return this.raw.paused;
  }
  get destroyed(): boolean {
    return this.raw.destroyed;
  }
  get readEnded(): boolean {
    return this.raw.readEnded;
  }
  get pending(): number {
    return this.raw.writePending;
  }
  end(): void {
    this.raw.end();
  }
  destroySoon(): void {
    this.raw.destroySoon();
  }
  destroy(): void {
    this.raw.destroy();
  }
  setTimeout(ms: number): void {
    this.raw.setTimeout(ms);
  }
  get src(): string {
    if (this.#src === undefined) this.#peer();
    return this.#src ?? '';
  }
  get srcPort(): number {
    if (this.#src === undefined) this.#peer();
    return this.#srcPort;
  }
  get dst(): string {
    if (this.#dst === undefined) this.#local();
    return this.#dst ?? '';
  }
  get dstPort(): number {
    if (this.#dst === undefined) this.#local();
    return this.#dstPort;
  }
  cacheAddresses(): void {
    if (this.#src === undefined) this.#peer();
    if (this.#dst === undefined) this.#local();
  }
  #peer(): void {
    const a = this.raw.remoteAddress();
    if (a === undefined) return;
    this.#src = a.address;
    this.#srcPort = a.port;
  }
  #local(): void {
    const a = this.raw.localAddress();
    if (a === undefined) return;
    this.#dst = a.address;
    this.#dstPort = a.port;
  }
}

/** Closes the idle pooled connections of these servers (stop, reload). */
export function closeIdleConnections(servers: readonly RuntimeServer[]): void {
  for (const s of servers) {
    const p: PooledServer = s;
    p[kPool]?.closeAll();
  }
}

/** Idle pooled connections of a server (tests, stats). */
export function idleConnectionCount(srv: RuntimeServer): number {
  const p: PooledServer = srv;
  return p[kPool]?.size ?? 0;
}

function poolOf(srv: RuntimeServer, be: Backend): IdlePool<ServerConn> {
  const p: PooledServer = srv;
  let pool = p[kPool];
  if (pool === undefined) {
    pool = new IdlePool(be.http?.poolMaxConn ?? DEFAULT_POOL_MAX_CONN, be.http?.poolPurgeDelay ?? DEFAULT_POOL_PURGE_DELAY);
    p[kPool] = pool;
  }
  return pool;
}

/**
 * A predicate for `option forwardfor except NET`: IPv4 `a.b.c.d[/n]` or IPv6 `x::y[/n]`. An IPv4
 * network also matches IPv4-mapped IPv6 sources (::ffff:a.b.c.d), as HAProxy compares them.
 */
export function cidrPredicate(cidr: string): (src: string) => boolean {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const v4 = net.isIPv4(addr);
  if (!v4 && !net.isIPv6(addr)) throw new RangeError(`invalid network ${cidr}`);
  const max = v4 ? 32 : 128;
  const bits = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new RangeError(`invalid prefix length in ${cidr}`);
  const list = new net.BlockList();
  list.addSubnet(addr, bits, v4 ? 'ipv4' : 'ipv6');
  return (src: string): boolean => {
    if (net.isIPv4(src)) return list.check(src, 'ipv4');
    if (v4 && src.toLowerCase().startsWith('::ffff:') && net.isIPv4(src.slice(7))) return list.check(src.slice(7), 'ipv4');
    return net.isIPv6(src) && list.check(src, 'ipv6');
  };
}

/**
 * Read buffers of server connections (on RawTcp, lb/net/raw-tcp.ts). Bytes are processed
 * synchronously in the read callback, so a buffer may take the next read as soon as it returns,
 * except while a write of its bytes to a client is pending (the client socket keeps a view).
 * And a connection's buffer can only change cheaply at its own reads. Hence:
 * - A connection that waits for response bytes (request sent, or tunnel) reads into a buffer of
 *   its own, taken from a free list (a new connection gets it at connect).
 * - An idle connection (pooled, or kept by a session between requests) reads into `landing`,
 *   shared by all of them: what arrives there is a FIN, garbage (the connection is dropped), or
 *   the first bytes of a response after the connection was taken again, which are copied out to a
 *   buffer of its own before anything is forwarded. So `landing` is never held by a client write.
 * - After a read, a buffer whose bytes a client write still holds is lent to that session (given
 *   back to the free list once its client flushed, dropped if it ends first) and the connection
 *   reads into another one from then on.
 * One buffer shared by all connections and replaced when held is not enough: connections that did
 * not read since still point to the held buffer, and their next read overwrote bytes a slow client
 * had not received yet with another response (test/proxy/http/read-buffers.test.ts). No buffer per
 * connection life either: 64 KiB of external memory per new connection drove major GCs.
 */
const landing: Buffer = Buffer.allocUnsafeSlow(READ_SIZE);
/** Body bytes copied behind a rewritten response head to leave in the same write. */
const INLINE_BODY_MAX = 8192;

/**
 * One connection to a server; outlives sessions while it sits in the idle pool. Plain TCP to an
 * IP literal runs on RawTcp; `server ... ssl`, a host name, or a Node without the bindings on a
 * net.Socket (tls.connect / net.connect) with the same handlers behind.
 */
class ServerConn implements Poolable<ServerConn> {
  readonly raw: RawTcp<ServerConn> | null;
  readonly sock: ServerSock | null;
  readonly srv: RuntimeServer;
  readonly be: Backend;
  readonly resp: ResponseHead;
  session: HttpSession | null;
  connecting = true;
  /** Responses completed on this connection. */
  uses = 0;
  /** The raw connection's own read buffer; null while it reads into `landing` (idle). */
  rbuf: Buffer | null = null;
  poolPrev: ServerConn | null = null;
  poolNext: ServerConn | null = null;
  pool: IdlePool<ServerConn> | null = null;
  idleSince = 0;

  constructor(srv: RuntimeServer, be: Backend, session: HttpSession) {
    this.srv = srv;
    this.be = be;
    this.session = session;
    this.resp = freeResponses.pop() ?? new ResponseHead();
    let raw: RawTcp<ServerConn> | undefined;
    if (srv.tls === undefined && rawTcpAvailable) {
      const buf = readBuffers.acquire();
      raw = RawTcp.connect(serverEvents, this, srv.host, srv.port, buf, true);
      if (raw === undefined) readBuffers.release(buf);
      else this.rbuf = buf;
    }
    if (raw !== undefined) {
      this.raw = raw;
      this.sock = null;
      if (be.timeouts.connect > 0) raw.setTimeout(be.timeouts.connect);
      return;
    }
    this.raw = null;
    let s: ServerSock;
    if (srv.tls === undefined) {
      s = net.connect({ host: srv.host, port: srv.port, allowHalfOpen: true, noDelay: true });
      s.on('connect', onServerConnect);
    } else {
      // `server ... ssl`: the connection counts as established after the handshake.
      s = tls.connect(serverTlsOptions(srv, session.sni, undefined));
      s.setNoDelay(true);
      s.on('secureConnect', onServerConnect);
    }
    s[kConn] = this;
    this.sock = s;
    s.on('data', onServerData);
    s.on('error', onServerError);
    s.on('close', onServerClose);
    s.on('timeout', onServerTimeout);
    s.on('end', onServerEnd);
    s.on('drain', onServerDrain);
    if (be.timeouts.connect > 0) s.setTimeout(be.timeouts.connect);
  }

  /** Writes; false when not everything left at once (drain follows). */
  write(b: Buffer): boolean {
    const r = this.raw;
    return r !== null ? r.write(b) : this.sock!.write(b);
  }

  /** Two writes, in one system call on RawTcp. */
  write2(a: Buffer, b: Buffer): boolean {
    const r = this.raw;
    if (r !== null) return r.writev([a, b]);
    const s = this.sock!;
    s.write(a);
    return s.write(b);
  }

  pause(): void {
    const r = this.raw;
    if (r !== null) r.pause();
    else this.sock!.pause();
  }

  resume(): void {
    const r = this.raw;
    if (r !== null) r.resume();
    else this.sock!.resume();
  }

  get paused(): boolean {
    const r = this.raw;
    return r !== null ? r.paused : this.sock!.isPaused();
  }

  get destroyed(): boolean {
    const r = this.raw;
    return r !== null ? r.destroyed : this.sock!.destroyed;
  }

  /** The server sent FIN. */
  get readEnded(): boolean {
    const r = this.raw;
    return r !== null ? r.readEnded : this.sock!.readableEnded;
  }

  /** FIN both ways, ours flushed: a clean close (tunnels). */
  get closedCleanly(): boolean {
    const r = this.raw;
    if (r !== null) return r.readEnded && r.writeFinished;
    const s = this.sock!;
    return s.readableEnded && s.writableFinished;
  }

  usable(): boolean {
    const r = this.raw;
    if (r !== null) return !r.destroyed && !r.readEnded && !r.writeEnded;
    const s = this.sock!;
    return !s.destroyed && !s.readableEnded && s.writable;
  }

  /** Half-close towards the server (FIN after pending writes). */
  end(): void {
    const r = this.raw;
    if (r !== null) r.end();
    else this.sock!.end();
  }

  setTimeout(ms: number): void {
    const r = this.raw;
    if (r !== null) r.setTimeout(ms);
    else this.sock!.setTimeout(ms);
  }

  /** Expecting bytes from the server: a request is on it, or it carries a tunnel. */
  get active(): boolean {
    const s = this.session;
    return s !== null && s.conn === this && (s.rs !== RS_NONE || s.rq === RQ_TUNNEL);
  }

  destroy(): void {
    this.session = null;
    if (this.pool !== null) this.pool.remove(this);
    const r = this.raw;
    if (r !== null) r.destroy();
    else if (!this.sock!.destroyed) this.sock!.destroy();
  }

  /**
   * Closes a connection with no request on it (pool full or purged, http-reuse never): with a
   * reset, as haproxy 2.6 does, so neither side keeps a TIME_WAIT entry and no FIN handshake
   * follows. With a new server connection per request, FIN left one TIME_WAIT per request on
   * our side (tens of thousands, each connect() then searching past them for a free port).
   */
  closeIdle(): void {
    const r = this.raw;
    if (r === null) {
      const s = this.sock!;
      // Same on a plain net.Socket (LB_RAW_TCP=0, host names); TLS sockets just close.
      if (this.srv.tls === undefined && !s.destroyed && !s.connecting && s.writableLength === 0) {
        this.session = null;
        if (this.pool !== null) this.pool.remove(this);
        s.resetAndDestroy();
      } else this.destroy();
      return;
    }
    if (r.writePending > 0) {
      this.destroy();
      return;
    }
    this.session = null;
    if (this.pool !== null) this.pool.remove(this);
    r.reset();
  }
}

class HttpSession implements HttpTxn, QueueWaiter {
  readonly client: ClientConn;
  readonly fe: Frontend;
  readonly req: RequestHead;
  readonly hello = undefined;
  readonly sslFc: boolean;
  readonly sni: string | undefined;

  rq = RQ_HEAD;
  rs = RS_NONE;
  as = AS_NONE;
  be: Backend | undefined = undefined;
  srv: RuntimeServer | undefined = undefined;
  conn: ServerConn | null = null;
  /** Requests completed on this connection (http-reuse safe: the first one never shares). */
  requests = 0;
  /** Bytes of the current request head seen (0 = idle between requests). */
  headStarted = false;
  /** Client bytes not processed yet (pipelined request, or body while connecting). */
  stash: Buffer | null = null;
  /** The request head as sent to the server (kept until the first response byte, for a retry). */
  reqOut: Buffer | null = null;
  reqLen = new LengthCounter();
  reqChunks: ChunkedDecoder | null = null;
  respLen = new LengthCounter();
  respChunks: ChunkedDecoder | null = null;
  respStarted = false;
  clientKeepAlive = true;
  clientEnded = false;
  reuseRetried = false;
  failures = 0;
  queueEntry: QueueEntry | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  timerMs = 0;
  timerKind = T_NONE;
  // Transaction view.
  verdict = V_NONE;
  verdictStatus = 0;
  verdictPage: ErrorPage | undefined = undefined;
  chosen: Backend | undefined = undefined;
  inFrontendRules = false;
  inResponse = false;
  // ---- per-request log facts and timers (performance.now() ms; -1 = the step never happened) ----
  /** Start of the idle period before the current request: accept, then the end of the previous one. */
  tIdle = performance.now();
  /** First byte of the request head, head complete, queue entered, first connect, request sent. */
  tReq = -1;
  tHead = -1;
  tQueue = -1;
  tConnStart = -1;
  tSent = -1;
  tw = -1;
  tc = -1;
  tr = -1;
  /** Bytes of this request from the client (%U) and to the client (%B). */
  rqIn = 0;
  rqOut = 0;
  /** Status logged (%ST): the response's, or the local answer's; -1 = none. */
  logStatus = -1;
  /** Termination state of the current request (4 chars); '' until a cause is known. */
  term = '';
  /** A request is under way (started, not yet logged); requests logged on this connection. */
  reqOpen = false;
  logged = 0;
  /** The backend and server the current request used (kept after release, for the log line). */
  logBe: Backend | undefined = undefined;
  lastSrv: RuntimeServer | undefined = undefined;
  redispatched = false;
  bq = 0;
  /** Server read buffers that pending writes to the client still reference (given back by readBuffers.giveBack once the client flushed). */
  lent: Buffer[] | null = null;

  constructor(client: ClientConn, fe: Frontend) {
    this.client = client;
    this.fe = fe;
    this.req = freeRequests.pop() ?? new RequestHead();
    this.sslFc = client.sslFc;
    this.sni = client.sni;
    // A logging frontend needs the addresses after the connection closed.
    if (fe.log !== undefined) client.cacheAddresses();
  }

  // Addresses are fetched on first use: each costs a getpeername/getsockname system call and a
  // string, which most requests (no ACL on them, no forwardfor, no source hashing) never need.
  // Both kinds of client cache them, so they stay readable after the connection closed.
  get src(): string {
    return this.client.src;
  }
  get srcPort(): number {
    return this.client.srcPort;
  }
  get dst(): string {
    return this.client.dst;
  }
  get dstPort(): number {
    return this.client.dstPort;
  }

  start(): void {
    const c = this.client;
    c.attach(this);
    const t = this.fe.timeouts;
    if (t.client > 0) c.setTimeout(t.client);
    // haproxy 2.6 answers 408 to a connection that sends nothing within timeout http-request.
    this.arm(T_REQUEST, t.httpRequest);
    c.resume();
  }

  // ---------------------------------------------------------------- timers

  arm(kind: number, ms: number): void {
    if (ms <= 0) {
      this.timerKind = T_NONE;
      return;
    }
    this.timerKind = kind;
    if (this.timer !== undefined && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(onSessionTimer, ms, this);
  }

  timerFired(): void {
    const k = this.timerKind;
    this.timerKind = T_NONE;
    if (k === T_REQUEST) {
      if (this.rq !== RQ_HEAD) return;
      this.fe.counters.reqErrors++;
      this.rawErrorAndClose(408);
    } else if (k === T_KEEPALIVE) {
      if (this.rq === RQ_HEAD && !this.headStarted) this.destroy();
    } else if (k === T_QUEUE) {
      if (this.as !== AS_QUEUED) return;
      this.leaveQueue();
      this.be!.counters.queueTimeouts++;
      this.tw = Math.round(performance.now() - this.tQueue);
      this.setTerm('sQ--');
      this.localError(503);
    } else if (k === T_TURNAROUND) {
      if (this.as === AS_TURNAROUND) this.connectNew(this.srv!);
    }
  }

  // ---------------------------------------------------------------- client bytes

  /** Processes client bytes chunk[off..] according to the request state. */
  onClientBytes(chunk: Buffer, off: number): void {
    for (;;) {
      const rq = this.rq;
      if (rq === RQ_HEAD) {
        const r = this.req.feed(chunk, off);
        if (r === 0) {
          if (!this.headStarted) {
            this.headStarted = true;
            this.tReq = performance.now();
            this.reqOpen = true;
            this.arm(T_REQUEST, this.fe.timeouts.httpRequest);
          }
          return;
        }
        if (r < 0) {
          this.fe.counters.reqErrors++;
          this.rqIn += chunk.length - off;
          this.setTerm('PR--');
          this.rawErrorAndClose(h1ErrorInfo(r).status);
          return;
        }
        this.timerKind = T_NONE;
        const now = performance.now();
        if (!this.headStarted) this.tReq = now;
        this.tHead = now;
        this.reqOpen = true;
        this.headStarted = false;
        off += r;
        if (!this.onRequestHead(chunk, off)) return;
        // A local answer kept the connection: go on with the rest of the chunk.
        if (off >= chunk.length) return;
        continue;
      }
      if (rq === RQ_BODY) {
        this.forwardRequestBody(chunk, off);
        return;
      }
      if (rq === RQ_TUNNEL) {
        this.countIn(chunk.length - off);
        if (!this.conn!.write(off === 0 ? chunk : chunk.subarray(off))) this.client.pause();
        return;
      }
      if (rq === RQ_CLOSED) return;
      // RQ_PENDING / RQ_DONE: the next pipelined request (or early body) waits in the stash.
      this.stashBytes(chunk, off);
      return;
    }
  }

  stashBytes(chunk: Buffer, off: number): void {
    const part = off === 0 ? chunk : chunk.subarray(off);
    this.stash = this.stash === null ? part : Buffer.concat([this.stash, part]);
    this.client.pause();
  }

  /**
   * A request head is complete; chunk[rest..] follows it. Runs the rules and routes. Returns true
   * when the request was answered locally and the connection stays open for the next one.
   */
  onRequestHead(chunk: Buffer, rest: number): boolean {
    const fe = this.fe;
    fe.counters.reqTotal++;
    this.verdict = V_NONE;
    this.chosen = undefined;
    this.inResponse = false;
    this.be = undefined;
    this.reuseRetried = false;
    this.failures = 0;
    this.logBe = undefined;
    this.lastSrv = undefined;
    this.redispatched = false;
    this.tw = this.tc = this.tr = -1;
    this.tQueue = this.tConnStart = this.tSent = -1;
    this.bq = 0;
    const feHooks = fe.http?.hooks;
    if (feHooks?.onRequest !== undefined) {
      this.inFrontendRules = true;
      const ok = this.runHook(feHooks, fe.counters);
      this.inFrontendRules = false;
      if (!ok) return this.answerLocally();
    }
    const be = this.chosen ?? fe.selectBackend(this);
    if (be === undefined) {
      this.verdict = V_DENY;
      this.verdictStatus = 503;
      this.setTerm('SC--');
      return this.answerLocally();
    }
    this.be = be;
    this.logBe = be;
    be.counters.reqTotal++;
    bumpSessions(be.counters);
    const beHooks = be.http?.hooks;
    if (beHooks?.onRequest !== undefined && !this.runHook(beHooks, be.counters)) {
      return this.answerLocally();
    }
    this.prepareRequestHead();
    this.rq = RQ_PENDING;
    this.rs = RS_NONE;
    if (rest < chunk.length) this.stash = rest === 0 ? chunk : chunk.subarray(rest);
    this.assign(false);
    return false;
  }

  /** Calls a hook; false when it decided (deny/redirect/respond) or threw (→ 500). */
  runHook(hooks: HttpHooks, counters: Counters): boolean {
    try {
      hooks.onRequest?.(this);
    } catch {
      this.verdict = V_DENY;
      this.verdictStatus = 500;
      return false;
    }
    if (this.verdict === V_NONE) return true;
    if (this.verdict === V_DENY && this.verdictStatus !== 500) {
      this.fe.counters.deniedReq++;
      if (counters !== this.fe.counters) counters.deniedReq++;
    }
    return false;
  }

  /** Connection header and forwardfor for the server side. Edits only when needed. */
  prepareRequestHead(): void {
    const req = this.req;
    if (req.connClose || req.connKeepAlive) dropConnectionTokens(req);
    if (req.version === 10) req.add('connection', 'keep-alive');
    const ff = this.be!.http?.forwardFor ?? this.fe.http?.forwardFor;
    if (ff !== undefined) {
      const src = this.src;
      const ex1 = this.be!.http?.forwardFor?.except;
      const ex2 = this.fe.http?.forwardFor?.except;
      if (!(ex1 !== undefined && ex1(src)) && !(ex2 !== undefined && ex2(src))) {
        if (!ff.ifNone || req.indexOf(ff.header.toLowerCase()) < 0) req.add(ff.header, src);
      }
    }
  }

  /**
   * Sends the rule's answer (deny, redirect, return, or an error before routing). Returns true when
   * the client connection stays open: only when the request has no body to skip.
   */
  answerLocally(): boolean {
    const page = this.verdict === V_LOCAL ? this.verdictPage! : errorPage(this.verdictStatus, this.pages());
    const req = this.req;
    const ka = page.keepAlive(req.keepAlive && req.bodyKind === Body.NONE && !req.upgrade && !this.clientEnded);
    this.countStatus(page.status, undefined);
    this.releaseBackend();
    const out = page.bytes(ka, req.version);
    this.client.write(out);
    this.rqOut += out.length;
    this.setTerm(this.verdict === V_LOCAL ? 'LR--' : 'PR--');
    this.endRequest(page.status);
    if (!ka) {
      this.closeClient();
      return false;
    }
    this.requests++;
    this.rq = RQ_HEAD;
    this.arm(T_KEEPALIVE, this.keepAliveMs());
    return true;
  }

  /** The client connection stays for its next request: idle keep-alive timer, then any bytes it pipelined. */
  nextRequest(): void {
    this.requests++;
    this.rq = RQ_HEAD;
    this.arm(T_KEEPALIVE, this.keepAliveMs());
    const st = this.stash;
    if (st !== null) {
      this.stash = null;
      this.client.resume();
      this.onClientBytes(st, 0);
    } else if (this.client.paused) {
      this.client.resume();
    }
  }

  pages(): ErrorPages | undefined {
    return this.be?.http?.errorPages ?? this.fe.http?.errorPages;
  }

  keepAliveMs(): number {
    const t = this.fe.timeouts;
    return t.httpKeepAlive > 0 ? t.httpKeepAlive : t.httpRequest;
  }

  // ---------------------------------------------------------------- server selection

  assign(retry: boolean): void {
    const be = this.be!;
    if (!be.picker.hasUsable()) {
      be.counters.noServer++;
      this.setTerm('SC--');
      this.localError(503);
      return;
    }
    const srv = be.queue.length > 0 && !retry ? undefined : be.picker.pick(this.hashKey(be));
    if (srv === undefined || !hasFreeSlot(srv)) {
      this.enqueue();
      return;
    }
    this.take(srv);
    this.useServer(srv);
  }

  /** The balancer's hash input; only hashing algorithms (deterministic) read one. */
  hashKey(be: Backend): string | undefined {
    const hk = be.http?.hashKey;
    if (hk !== undefined) return hk(this) ?? this.src;
    return be.deterministic ? this.src : undefined;
  }

  enqueue(): void {
    const be = this.be!;
    this.as = AS_QUEUED;
    if (this.tQueue < 0) this.tQueue = performance.now();
    this.bq = be.queue.length;
    this.queueEntry = be.queue.push(this);
    be.counters.queueCur++;
    if (be.counters.queueCur > be.counters.queueMax) be.counters.queueMax = be.counters.queueCur;
    this.arm(T_QUEUE, be.timeouts.queue);
  }

  leaveQueue(): void {
    if (this.queueEntry !== undefined) {
      this.be!.queue.remove(this.queueEntry);
      this.queueEntry = undefined;
      this.be!.counters.queueCur--;
    }
    this.as = AS_NONE;
    if (this.timerKind === T_QUEUE) this.timerKind = T_NONE;
  }

  dequeued(): void {
    this.queueEntry = undefined;
    this.be!.counters.queueCur--;
    this.tw = Math.round(performance.now() - this.tQueue);
    this.as = AS_NONE;
    if (this.timerKind === T_QUEUE) this.timerKind = T_NONE;
    this.assign(true);
  }

  take(srv: RuntimeServer): void {
    this.srv = srv;
    this.lastSrv = srv;
    if (this.tw < 0) this.tw = 0;
    srv.counters.reqTotal++;
    takeServerSlot(this.be!, srv);
  }

  releaseServer(): void {
    const srv = this.srv;
    if (srv === undefined) return;
    this.srv = undefined;
    releaseServerSlot(this.be!, srv);
  }

  /** Ends the request's hold on the backend (be.sessCur) and server slot. */
  releaseBackend(): void {
    this.releaseServer();
    const be = this.be;
    if (be !== undefined) {
      be.counters.sessCur--;
      this.be = undefined;
    }
  }

  /** Whether this request may use another session's idle connection (`http-reuse`). */
  canTakeFromPool(): boolean {
    const mode = this.be!.http?.reuse ?? 'safe';
    if (mode === 'never') return false;
    if (mode === 'safe') return this.requests > 0;
    return true;
  }

  /** Finds a connection to srv: our own idle one, a pooled one, or a new one. */
  useServer(srv: RuntimeServer): void {
    const own = this.conn;
    if (own !== null) {
      if (own.srv === srv && !own.destroyed && !own.readEnded) {
        if (this.tc < 0) this.tc = 0;
        this.sendRequest();
        return;
      }
      this.conn = null;
      this.parkConn(own);
    }
    if (this.canTakeFromPool()) {
      const pooled = poolOf(srv, this.be!).take();
      if (pooled !== undefined) {
        pooled.session = this;
        this.conn = pooled;
        if (this.tc < 0) this.tc = 0;
        this.sendRequest();
        return;
      }
    }
    this.connectNew(srv);
  }

  /** An idle connection this session no longer needs: to the pool, or closed. */
  parkConn(c: ServerConn): void {
    c.session = null;
    if ((c.be.http?.reuse ?? 'safe') === 'never' || !c.usable()) {
      c.closeIdle();
      return;
    }
    if (!poolOf(c.srv, c.be).put(c, performance.now(), c.srv.counters.sessCur)) c.closeIdle();
  }

  connectNew(srv: RuntimeServer): void {
    this.as = AS_CONNECTING;
    if (this.tConnStart < 0) this.tConnStart = performance.now();
    this.conn = new ServerConn(srv, this.be!, this);
  }

  connected(c: ServerConn): void {
    c.connecting = false;
    const t = this.be!.timeouts;
    // timeout server stays on the socket for its whole life: it only fires after that much
    // inactivity, which for an idle connection simply closes it.
    c.setTimeout(t.server);
    this.as = AS_NONE;
    this.tc = Math.round(performance.now() - this.tConnStart);
    this.sendRequest();
  }

  connectFailed(kind: ConnectFailure): void {
    const be = this.be!;
    const old = this.conn;
    this.conn = null;
    if (old !== null) old.destroy();
    this.failures++;
    const d = afterConnectFailure(be, this.failures, kind, be.servers.length);
    const prev = this.srv!;
    if (d.action === 'give-up') {
      be.counters.connectErrors++;
      prev.counters.connectErrors++;
      this.setTerm('SC--');
      this.localError(503);
      return;
    }
    if (d.redispatch) {
      this.releaseServer();
      if (!be.picker.hasUsable()) {
        be.counters.noServer++;
        this.setTerm('SC--');
        this.localError(503);
        return;
      }
      const next = redispatchTarget(be, prev, this.hashKey(be));
      if (next === undefined) {
        this.enqueue();
        return;
      }
      if (next !== prev) this.redispatched = true;
      this.take(next);
      this.connectNew(next);
      return;
    }
    be.counters.retries++;
    prev.counters.retries++;
    if (d.delay > 0) {
      this.as = AS_TURNAROUND;
      this.arm(T_TURNAROUND, d.delay);
    } else {
      this.connectNew(prev);
    }
  }

  // ---------------------------------------------------------------- request forwarding

  /** The connection is ready: write the head, then whatever body bytes are stashed. */
  sendRequest(): void {
    const c = this.conn!;
    const req = this.req;
    c.resp.expect(req.isHead, req.upgrade);
    this.rs = RS_HEAD;
    this.respStarted = false;
    const head = serializeRequest(req);
    this.reqOut = head;
    this.tSent = performance.now();
    const stash = this.stash;
    this.stash = null;
    this.countIn(head.length);
    if (req.bodyKind === Body.NONE) {
      c.write(head);
      this.requestDone(stash, 0);
      return;
    }
    if (req.bodyKind === Body.LENGTH) this.reqLen.reset(req.contentLength);
    else (this.reqChunks ??= new ChunkedDecoder()).reset();
    this.rq = RQ_BODY;
    if (stash === null) {
      c.write(head);
      this.client.resume();
      return;
    }
    // Head and body bytes that are contiguous in the same chunk go out in one write.
    const n = this.bodyPart(stash, 0);
    if (n < 0) return;
    if (head.buffer === stash.buffer && head.byteOffset + head.length === stash.byteOffset) {
      c.write(Buffer.from(stash.buffer, head.byteOffset, head.length + n));
    } else if (n > 0) {
      c.write2(head, n === stash.length ? stash : stash.subarray(0, n));
    } else {
      c.write(head);
    }
    this.countIn(n);
    this.afterBodyPart(stash, n);
  }

  /** How many bytes of chunk[off..] belong to the request body; < 0 after a framing error (handled). */
  bodyPart(chunk: Buffer, off: number): number {
    const avail = chunk.length - off;
    if (this.req.bodyKind === Body.LENGTH) return this.reqLen.feed(avail);
    const n = this.reqChunks!.feed(chunk, off);
    if (n < 0) {
      this.fe.counters.reqErrors++;
      if (!this.respStarted) this.rawErrorAndClose(h1ErrorInfo(n).status);
      else this.destroy();
    }
    return n;
  }

  bodyDone(): boolean {
    return this.req.bodyKind === Body.LENGTH ? this.reqLen.remaining === 0 : this.reqChunks!.done;
  }

  /** After n body bytes of chunk (from off) were written: end of body → rest is the next request. */
  afterBodyPart(chunk: Buffer, n: number, off = 0): void {
    if (!this.bodyDone()) {
      if (this.rq === RQ_BODY) this.client.resume();
      return;
    }
    this.requestDone(chunk, off + n);
  }

  forwardRequestBody(chunk: Buffer, off: number): void {
    const n = this.bodyPart(chunk, off);
    if (n < 0) return;
    const conn = this.conn!;
    this.countIn(n);
    if (n > 0 && !conn.write(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n))) this.client.pause();
    if (this.bodyDone()) this.requestDone(chunk, off + n);
  }

  /** The request is fully forwarded; chunk[off..] (if any) is the next pipelined request. */
  requestDone(chunk: Buffer | null, off: number): void {
    if (this.rq === RQ_CLOSED) return;
    this.rq = RQ_DONE;
    if (chunk !== null && off < chunk.length) this.stashBytes(chunk, off);
    else if (this.client.paused) this.client.resume();
  }

  // ---------------------------------------------------------------- response forwarding

  onServerBytes(c: ServerConn, chunk: Buffer): void {
    let off = 0;
    const resp = c.resp;
    for (;;) {
      if (this.rs === RS_HEAD) {
        this.respStarted = true;
        const r = resp.feed(chunk, off);
        if (r === 0) return;
        if (r < 0) {
          this.badResponse();
          return;
        }
        const end = off + r;
        if (resp.interim) {
          this.countStatus(resp.status, c.srv);
          const head = serializeResponse(resp);
          this.countOut(head.length);
          this.client.write(head);
          off = end;
          if (off >= chunk.length) return;
          continue;
        }
        if (resp.switching) {
          this.switchToTunnel(c, chunk, end);
          return;
        }
        this.onResponseHead(c, chunk, end);
        return;
      }
      if (this.rs === RS_BODY) {
        this.forwardResponseBody(c, chunk, off);
        return;
      }
      // Bytes after a complete response, or before any request: the connection is out of sync.
      c.destroy();
      if (this.conn === c) this.conn = null;
      return;
    }
  }

  /** A final response head is complete; chunk[rest..] follows it. */
  onResponseHead(c: ServerConn, chunk: Buffer, rest: number): void {
    const resp = c.resp;
    const req = this.req;
    this.reqOut = null;
    this.tr = Math.round(performance.now() - this.tSent);
    if (!this.applyResponseRules(c)) return;
    this.countStatus(resp.outStatus, c.srv);
    this.logStatus = resp.outStatus;
    // Client side mode: keep-alive unless the request closes, the body runs until close, the
    // client already half-closed, or the request body is still on its way.
    const ka = req.keepAlive && resp.bodyKind !== Body.UNTIL_CLOSE && !this.clientEnded && this.rq === RQ_DONE;
    this.clientKeepAlive = ka;
    if (resp.connClose || resp.connKeepAlive) dropConnectionTokens(resp);
    if (!ka) {
      if (resp.version === 11) resp.add('connection', 'close');
    } else if (req.version === 10 || resp.version === 10) {
      resp.add('connection', 'keep-alive');
    }
    const kind = resp.bodyKind;
    if (kind === Body.NONE) {
      const head = serializeResponse(resp);
      this.countOut(head.length);
      this.client.write(head);
      this.responseDone(c, rest < chunk.length);
      return;
    }
    if (kind === Body.LENGTH) this.respLen.reset(resp.contentLength);
    else if (kind === Body.CHUNKED) (this.respChunks ??= new ChunkedDecoder()).reset();
    this.rs = RS_BODY;
    const n = this.respBodyPart(chunk, rest);
    if (n < 0) return;
    // One write for the head and the body bytes that came with it: the head as received when
    // unchanged (a view of the read buffer), or the rewritten head with a small body copied
    // behind it; only a large body next to a rewritten head costs a second write.
    let ok: boolean;
    const rewritten = resp.modified || resp.mustRewrite;
    const head = rewritten ? undefined : serializeResponse(resp);
    if (head !== undefined && (n === 0 || (head.buffer === chunk.buffer && head.byteOffset + head.length === chunk.byteOffset + rest))) {
      const whole = n === 0 || (head.byteOffset === chunk.byteOffset && head.length + n === chunk.length);
      ok = this.client.write(whole ? (n === 0 ? head : chunk) : Buffer.from(chunk.buffer, head.byteOffset, head.length + n));
      this.countOut(head.length + n);
    } else if (rewritten && n <= INLINE_BODY_MAX) {
      const out = serializeResponseWith(resp, chunk, rest, rest + n);
      ok = this.client.write(out);
      this.countOut(out.length);
    } else {
      const h = head ?? serializeResponse(resp);
      this.client.write(h);
      ok = this.client.write(chunk.subarray(rest, rest + n));
      this.countOut(h.length + n);
    }
    if (this.respBodyDone(kind)) {
      this.responseDone(c, rest + n < chunk.length);
      return;
    }
    if (!ok) c.pause();
  }

  /**
   * Runs the backend's then the frontend's http-response rules on the response head of `c`.
   * Returns false when a rule denied it (or failed): the 502 is already answered.
   */
  applyResponseRules(c: ServerConn): boolean {
    this.inResponse = true;
    this.verdict = V_NONE;
    const beHooks = this.be!.http?.hooks;
    const feHooks = this.fe.http?.hooks;
    if (beHooks?.onResponse !== undefined) this.runResponseHook(beHooks);
    if (this.verdict === V_NONE && feHooks?.onResponse !== undefined) this.runResponseHook(feHooks);
    if (this.verdict === V_NONE) return true;
    // http-response deny (or a failing rule): the server connection cannot be reused mid-response.
    this.setTerm('PH--');
    this.dropConn(c);
    this.localError(502);
    return false;
  }

  runResponseHook(hooks: HttpHooks): void {
    try {
      hooks.onResponse?.(this);
    } catch {
      this.verdict = V_DENY;
      return;
    }
    if (this.verdict !== V_NONE) {
      this.fe.counters.deniedResp++;
      this.be!.counters.deniedResp++;
    }
  }

  respBodyPart(chunk: Buffer, off: number): number {
    const kind = this.conn!.resp.bodyKind;
    if (kind === Body.LENGTH) return this.respLen.feed(chunk.length - off);
    if (kind === Body.UNTIL_CLOSE) return chunk.length - off;
    const n = this.respChunks!.feed(chunk, off);
    if (n < 0) {
      // Bad chunk from the server after the head went out: nothing sane to send, cut both.
      this.be!.counters.respErrors++;
      this.setTerm('SD--');
      this.destroy();
    }
    return n;
  }

  respBodyDone(kind: number): boolean {
    if (kind === Body.LENGTH) return this.respLen.remaining === 0;
    if (kind === Body.CHUNKED) return this.respChunks!.done;
    return false;
  }

  forwardResponseBody(c: ServerConn, chunk: Buffer, off: number): void {
    const n = this.respBodyPart(chunk, off);
    if (n < 0) return;
    this.countOut(n);
    const ok = n === 0 || this.client.write(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n));
    if (this.respBodyDone(c.resp.bodyKind)) {
      this.responseDone(c, off + n < chunk.length);
      return;
    }
    if (!ok) c.pause();
  }

  /** The response is complete. `extra`: the server sent bytes beyond it (connection unusable). */
  responseDone(c: ServerConn, extra: boolean): void {
    c.uses++;
    this.rs = RS_NONE;
    this.releaseBackend();
    this.endRequest(this.logStatus);
    const reusable = !extra && c.resp.keepAlive && this.rq === RQ_DONE && c.usable();
    if (!reusable) this.dropConn(c);
    if (c.paused) c.resume();
    if (!this.clientKeepAlive || this.rq !== RQ_DONE) {
      this.closeClient();
      return;
    }
    this.nextRequest();
  }

  dropConn(c: ServerConn): void {
    if (this.conn === c) this.conn = null;
    c.destroy();
  }

  /** The server sent something that is not a valid response (or denied by a rule): 502. */
  badResponse(): void {
    this.setTerm('PH--');
    this.be!.counters.respErrors++;
    if (this.srv !== undefined) this.srv.counters.respErrors++;
    const c = this.conn;
    if (c !== null) this.dropConn(c);
    this.localError(502);
  }

  /** 101 Switching Protocols: forward the head, then both sockets become a raw tunnel. */
  switchToTunnel(c: ServerConn, chunk: Buffer, rest: number): void {
    // http-response rules apply to the 101 too, as in haproxy 2.6 (e.g. security headers).
    this.tr = Math.round(performance.now() - this.tSent);
    if (!this.applyResponseRules(c)) return;
    this.countStatus(101, c.srv);
    this.logStatus = 101;
    const head = serializeResponse(c.resp);
    this.rq = RQ_TUNNEL;
    this.rs = RS_NONE;
    this.reqOut = null;
    this.client.write(head);
    this.countOut(head.length);
    if (rest < chunk.length) {
      this.countOut(chunk.length - rest);
      this.client.write(chunk.subarray(rest));
    }
    const tunnel = this.be!.timeouts.tunnel;
    if (tunnel > 0) {
      this.client.setTimeout(tunnel);
      c.setTimeout(tunnel);
    }
    const st = this.stash;
    this.stash = null;
    if (st !== null) {
      this.countIn(st.length);
      c.write(st);
    }
    if (this.clientEnded) c.end();
    this.client.resume();
  }

  // ---------------------------------------------------------------- errors and closing

  /**
   * An error produced by the proxy after the request was parsed (503, 502, 504...): the engine
   * form of the page; the client connection stays open when the page and the request allow it.
   */
  localError(status: number): void {
    const page = errorPage(status, this.pages());
    const req = this.req;
    const c = this.conn;
    if (c !== null && this.rs !== RS_NONE) this.dropConn(c);
    if (this.as === AS_QUEUED) this.leaveQueue();
    this.as = AS_NONE;
    this.rs = RS_NONE;
    this.reqOut = null;
    const complete = this.rq === RQ_DONE || (this.rq === RQ_PENDING && req.bodyKind === Body.NONE);
    const ka = page.keepAlive(req.keepAlive && complete && !req.upgrade && !this.clientEnded);
    this.countStatus(status, undefined);
    this.releaseBackend();
    const out = page.bytes(ka, req.version);
    this.client.write(out);
    this.rqOut += out.length;
    this.setTerm(status === 504 ? 'sH--' : status === 502 ? 'PH--' : 'SC--');
    this.endRequest(status);
    if (!ka) {
      this.closeClient();
      return;
    }
    this.nextRequest();
  }

  /** 400/408 from the HTTP/1 layer: the raw page as-is, then close (HAProxy's mux errors). */
  rawErrorAndClose(status: number): void {
    const page = (this.fe.http?.errorPages ?? undefined)?.get(status) ?? errorPage(status);
    this.countStatus(status, undefined);
    this.client.write(page.raw);
    // HAProxy logs the mux's own answers without a parsed request and with no bytes counted.
    this.reqOpen = true;
    this.setTerm(status === 408 ? 'cR--' : 'PR--');
    this.endRequest(status, true);
    this.closeClient();
  }

  countStatus(status: number, srv: RuntimeServer | undefined): void {
    bumpStatus(this.fe.counters, status);
    const be = this.be;
    if (be !== undefined) bumpStatus(be.counters, status);
    if (srv !== undefined) bumpStatus(srv.counters, status);
  }

  countIn(n: number): void {
    this.rqIn += n;
    this.fe.counters.bytesIn += n;
    const be = this.be;
    if (be !== undefined) be.counters.bytesIn += n;
    const srv = this.srv;
    if (srv !== undefined) srv.counters.bytesIn += n;
  }

  countOut(n: number): void {
    this.rqOut += n;
    this.fe.counters.bytesOut += n;
    const be = this.be;
    if (be !== undefined) be.counters.bytesOut += n;
    const srv = this.srv;
    if (srv !== undefined) srv.counters.bytesOut += n;
  }

  /** Records the first cause of the end of the current request (later ones are consequences). */
  setTerm(t: string): void {
    if (this.term === '') this.term = t;
  }

  /**
   * The current request is over (answered, failed or aborted): stats timings, the log line, and
   * the per-request facts reset for the next one. `bad`: no parsed request (%r = <BADREQ>).
   * `atClose`: called from finish(), after the listener released the frontend slot.
   */
  endRequest(status: number, bad = false, atClose = false): void {
    if (!this.reqOpen) return;
    this.reqOpen = false;
    this.logged++;
    const now = performance.now();
    const ta = this.tReq < 0 ? 0 : Math.round(now - this.tReq);
    const be = this.logBe;
    if (be !== undefined) {
      // Stats averages over the request: queue, connect, response head, total active time.
      be.timings?.add(this.tw, this.tc, this.tr, ta);
      this.lastSrv?.timings?.add(this.tw, this.tc, this.tr, ta);
    }
    const log = this.fe.log;
    if (log !== undefined) this.emitLog(log, status, bad, atClose, now, ta);
    this.term = '';
    this.logStatus = -1;
    this.rqIn = 0;
    this.rqOut = 0;
    this.tIdle = now;
    this.tReq = this.tHead = -1;
  }

  emitLog(log: FrontendLog, status: number, bad: boolean, atClose: boolean, now: number, ta: number): void {
    if (log.dontlognull && this.rqIn === 0 && this.tReq < 0) return;
    const r = httpRecord;
    const c = this.client;
    const fe = this.fe;
    const start = this.tReq < 0 ? now : this.tReq;
    const src = c.src;
    const dst = c.dst;
    r.clientIp = src === '' ? '-' : src;
    r.clientPort = c.srcPort;
    r.frontendIp = dst === '' ? null : dst;
    r.frontendPort = dst === '' ? -1 : c.dstPort;
    // As HAProxy in keep-alive: a request's "accept date" is the end of the previous one.
    r.acceptDate = Math.round(performance.timeOrigin + this.tIdle);
    r.requestDate = Math.round(performance.timeOrigin + start);
    r.frontend = fe.name;
    r.tls = this.sslFc;
    r.sni = this.sni ?? null;
    const be = this.logBe;
    const srv = this.lastSrv;
    r.backend = be?.name ?? fe.name;
    r.server = srv?.name ?? '<NOSRV>';
    r.serverIp = srv?.host ?? null;
    r.serverPort = srv?.port ?? -1;
    r.Th = 0;
    r.Ti = this.tReq < 0 ? -1 : Math.round(this.tReq - this.tIdle);
    r.TR = this.tHead < 0 || bad ? -1 : Math.round(this.tHead - this.tReq);
    r.Tw = this.tw;
    r.Tc = this.tc;
    r.Tr = this.tr;
    r.Ta = ta;
    r.Tt = (r.Ti > 0 ? r.Ti : 0) + ta;
    r.status = status;
    r.bytesRead = bad ? 0 : this.rqOut;
    r.bytesUploaded = this.rqIn;
    r.termState = this.term === '' ? '----' : this.term;
    r.actconn = processCounters.actconn;
    r.feconn = atClose ? Math.min(fe.counters.sessCur + 1, processCounters.actconn) : fe.counters.sessCur;
    r.beconn = be?.counters.sessCur ?? 0;
    r.srvConn = srv?.counters.sessCur ?? 0;
    const retries = be?.retries ?? 0;
    r.retries = this.failures > retries ? retries : this.failures;
    r.redispatched = this.redispatched;
    r.backendQueue = this.bq;
    const req = this.req;
    if (bad || !req.complete) {
      r.requestLine = null;
      r.method = r.uri = r.version = '';
    } else {
      r.method = req.method;
      r.uri = req.target;
      r.version = req.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1';
      r.requestLine = r.method + ' ' + r.uri + ' ' + r.version;
    }
    log.sink.log(LOG_INFO, log.format.render(r, undefined));
  }

  /** Stops processing, flushes what was written, sends FIN; the session ends on 'close'. */
  closeClient(): void {
    if (this.rq === RQ_CLOSED) return;
    this.rq = RQ_CLOSED;
    this.timerKind = T_NONE;
    this.stash = null;
    const c = this.client;
    if (!c.destroyed) {
      // Keep reading (and ignoring) so a late request body cannot turn our FIN into a reset
      // that would destroy the answer before the client read it; the client's FIN or timeout
      // client ends the socket (without timeout client, once our bytes are flushed).
      if (c.readEnded || this.fe.timeouts.client === 0) c.destroySoon();
      else c.end();
      c.resume();
    }
  }

  /** Tears everything down now (aborts). */
  destroy(): void {
    this.rq = RQ_CLOSED;
    const c = this.conn;
    if (c !== null && (this.rs !== RS_NONE || c.connecting)) this.dropConn(c);
    if (!this.client.destroyed) this.client.destroy();
  }

  /** The client socket is gone: release everything. Idempotent. */
  finish(): void {
    if (this.client.session === null) return;
    this.client.session = null;
    const tunnel = this.rq === RQ_TUNNEL;
    this.rq = RQ_CLOSED;
    clearTimeout(this.timer);
    this.timer = undefined;
    const queued = this.as === AS_QUEUED;
    if (queued) this.leaveQueue();
    const c = this.conn;
    this.conn = null;
    const connecting = c !== null && c.connecting;
    if (c !== null) {
      if (this.rs === RS_NONE && !c.connecting && !tunnel) this.parkConn(c);
      else c.destroy();
    }
    this.releaseBackend();
    if (this.reqOpen) {
      // The client went away with a request under way (or a tunnel ended): HAProxy's C? states.
      this.setTerm(tunnel ? '----' : queued ? 'CQ--' : connecting ? 'CC--' : this.rs === RS_BODY ? 'CD--' : this.rs === RS_HEAD ? 'CH--' : 'CR--');
      this.endRequest(this.logStatus, !this.req.complete, true);
    } else if (this.logged === 0) {
      // A connection that closed before a complete request: logged as HAProxy does (400, CR--),
      // and suppressed by dontlognull when it sent nothing.
      this.reqOpen = true;
      this.setTerm('CR--');
      this.endRequest(400, true, true);
    }
    processCounters.actconn--;
    this.stash = null;
    // Dropped, not recycled: a write the client socket cancelled may still reference them.
    this.lent = null;
    // Recycled only between messages: a parser holding half a head (or an error) is dropped.
    if (freeRequests.length < FREE_MAX && this.req.complete && !this.headStarted) freeRequests.push(this.req);
  }

  /** The server connection closed or ended before the response was complete. */
  serverGone(c: ServerConn): void {
    if (this.conn !== c) return;
    if (this.rq === RQ_TUNNEL) {
      // A clean close (FIN both ways) already ended the client through onServerEnd.
      this.conn = null;
      if (!c.closedCleanly) {
        this.setTerm('SD--');
        this.destroy();
      }
      return;
    }
    if (this.rs === RS_NONE) {
      // Our idle connection went away between requests: forget it.
      this.conn = null;
      return;
    }
    const req = this.req;
    if (this.rs === RS_HEAD && !this.respStarted) {
      // Nothing received. A reused connection the server closed as we sent: retry once on a
      // new connection when the request can be replayed (idempotent, no body).
      if (c.uses > 0 && !this.reuseRetried && req.bodyKind === Body.NONE && IDEMPOTENT[req.methodId] === 1 && this.reqOut !== null) {
        this.reuseRetried = true;
        this.conn = null;
        c.destroy();
        this.connectNew(this.srv!);
        return;
      }
    }
    if (this.rs === RS_BODY && c.resp.bodyKind === Body.UNTIL_CLOSE) {
      this.conn = null;
      c.destroy();
      this.responseDone(c, true);
      return;
    }
    if (this.rs === RS_BODY) {
      // Truncated response: the client cannot be told otherwise.
      this.setTerm('SD--');
      this.conn = null;
      c.destroy();
      this.destroy();
      return;
    }
    this.conn = null;
    c.destroy();
    if (!this.respStarted) this.setTerm('SH--');
    this.badResponse();
  }

  /** `timeout server` fired on the active connection. */
  serverTimeout(c: ServerConn): void {
    this.setTerm(this.rs === RS_HEAD ? 'sH--' : 'sD--');
    if (this.rs === RS_HEAD) {
      this.be!.counters.timeouts++;
      this.dropConn(c);
      this.localError(504);
      return;
    }
    this.be!.counters.timeouts++;
    this.destroy();
  }

  // ---------------------------------------------------------------- HttpTxn view

  get frontend(): Frontend {
    return this.fe;
  }
  get backend(): Backend | undefined {
    return this.be ?? this.chosen;
  }
  get method(): string {
    return this.req.method;
  }
  get path(): string {
    return this.req.path;
  }
  get query(): string {
    return this.req.query;
  }
  get url(): string {
    return this.req.target;
  }
  get version(): number {
    return this.req.version;
  }
  header(lowerName: string): string | undefined {
    return this.req.get(lowerName);
  }
  get res(): ResponseHead | undefined {
    return this.inResponse && this.conn !== null ? this.conn.resp : undefined;
  }
  get status(): number {
    return this.inResponse && this.conn !== null ? this.conn.resp.outStatus : 0;
  }
  deny(status = 403): void {
    this.verdict = V_DENY;
    this.verdictStatus = this.inResponse ? 502 : status;
  }
  redirect(location: string, code = 302): void {
    this.verdict = V_LOCAL;
    this.verdictPage = localResponse(code, REASONS[code] ?? 'Found', [['location', location]]);
  }
  respond(page: ErrorPage): void {
    this.verdict = V_LOCAL;
    this.verdictPage = page;
  }
  useBackend(be: Backend): void {
    if (this.inFrontendRules) this.chosen = be;
  }
}

/** Filled and rendered synchronously per logged request: one record for the whole process. */
const httpRecord = createLogRecord();

function bumpStatus(c: Counters, status: number): void {
  if (status < 100) c.hrspOther++;
  else if (status < 200) c.hrsp1xx++;
  else if (status < 300) c.hrsp2xx++;
  else if (status < 400) c.hrsp3xx++;
  else if (status < 500) c.hrsp4xx++;
  else if (status < 600) c.hrsp5xx++;
  else c.hrspOther++;
}

const SINGLE_CONN_TOKEN = /^(?:close|keep-alive)$/i;

/** Removes the close and keep-alive tokens of every Connection field (other tokens stay). */
function dropConnectionTokens(h: RequestHead | ResponseHead): void {
  for (let i = h.indexOf('connection'); i >= 0; i = h.indexOf('connection', i + 1)) {
    const v = h.valueAt(i);
    // The common case, one token: no splitting.
    if (SINGLE_CONN_TOKEN.test(v)) {
      h.deleteAt(i);
      continue;
    }
    const kept = v
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '' && !/^(close|keep-alive)$/i.test(t));
    if (kept.length === 0) h.deleteAt(i);
    else h.setValueAt(i, kept.join(', '));
  }
}

// ---- socket event handlers (module level: `this` is the socket) ----

function clientOf(sock: net.Socket): SockClient | undefined {
  const t: ClientSock = sock;
  return t[kSession];
}

function untag(sock: net.Socket): void {
  const t: ServerSock = sock;
  t[kConn] = undefined;
}

function connOf(sock: net.Socket): ServerConn | undefined {
  const t: ServerSock = sock;
  return t[kConn];
}

function onSessionTimer(s: HttpSession): void {
  s.timerFired();
}

// ---- client events: one function per event taking the ClientConn, called from the raw client
// table and from the net.Socket listeners ----

function clientEnded(cl: ClientConn): void {
  const s = cl.session;
  if (s === null) {
    cl.destroy();
    return;
  }
  s.clientEnded = true;
  const rq = s.rq;
  if (rq === RQ_TUNNEL) {
    const c = s.conn;
    if (c !== null && !c.destroyed) c.end();
    else cl.destroy();
    return;
  }
  if (rq === RQ_HEAD || rq === RQ_CLOSED || rq === RQ_BODY) {
    // Idle, half a head, or an aborted body: nothing more to do for this client.
    if (rq === RQ_BODY) {
      s.setTerm('CD--');
      s.destroy();
    }
    else if (cl.pending === 0) cl.destroy();
    else {
      s.closeClient();
      cl.destroySoon();
    }
    return;
  }
  // RQ_PENDING / RQ_DONE: the request goes on (no abortonclose); close after the response.
}

function clientDrained(cl: ClientConn): void {
  const s = cl.session;
  if (s === null) return;
  if (s.lent !== null && cl.pending === 0) readBuffers.giveBack(s);
  const c = s.conn;
  if (c !== null && c.paused) c.resume();
}

function clientTimedOut(cl: ClientConn): void {
  const s = cl.session;
  if (s === null) {
    cl.destroy();
    return;
  }
  // A request being processed by the server is bound by timeout server, not client.
  if ((s.rq === RQ_DONE || s.rq === RQ_PENDING) && s.rs !== RS_BODY) return;
  s.fe.counters.timeouts++;
  s.setTerm(s.rq === RQ_HEAD ? 'cR--' : 'cD--');
  s.destroy();
}

function onClientData(this: net.Socket, chunk: Buffer): void {
  clientOf(this)?.session?.onClientBytes(chunk, 0);
}

function onClientEnd(this: net.Socket): void {
  const cl = clientOf(this);
  if (cl === undefined) this.destroy();
  else clientEnded(cl);
}

function onClientDrain(this: net.Socket): void {
  const cl = clientOf(this);
  if (cl !== undefined) clientDrained(cl);
}

function onClientError(this: net.Socket): void {
  // 'close' follows and does the accounting.
}

function onClientClose(this: net.Socket): void {
  clientOf(this)?.session?.finish();
}

function onClientTimeout(this: net.Socket): void {
  const cl = clientOf(this);
  if (cl === undefined) this.destroy();
  else clientTimedOut(cl);
}

function rawClient(c: RawTcp<RawAccepted>): RawClient | undefined {
  const u = c.owner.user;
  return u instanceof RawClient ? u : undefined;
}

/**
 * Client bytes land in the listener's shared read buffer and are copied out to a chunk of their
 * own (as net.Socket slices its reads): the session keeps views of chunks (stash, reqOut, the
 * parsed head read by rules and logs, writes pending to the server), which another read must not
 * overwrite. The copy is from Node's buffer pool: no allocation per connection.
 */
function onRawClientData(c: RawTcp<RawAccepted>, buf: Buffer, n: number): void {
  const s = rawClient(c)?.session;
  if (s === undefined || s === null) return;
  const chunk = Buffer.allocUnsafe(n);
  buf.copy(chunk, 0, 0, n);
  s.onClientBytes(chunk, 0);
}

const rawClientEvents: RawTcpEvents<RawAccepted> = {
  connect: () => {},
  data: onRawClientData,
  end: (c) => {
    const cl = rawClient(c);
    if (cl === undefined) c.destroy();
    else clientEnded(cl);
  },
  drain: (c) => {
    const cl = rawClient(c);
    if (cl !== undefined) clientDrained(cl);
  },
  timeout: (c) => {
    const cl = rawClient(c);
    if (cl === undefined) c.destroy();
    else clientTimedOut(cl);
  },
  // The close that follows does the accounting.
  error: () => {},
  close: (c) => rawClient(c)?.session?.finish(),
};

// ---- server connection events: one function per event taking the ServerConn, called from the
// RawTcp events table and from the net.Socket listeners (`this` is the socket) ----

function serverConnected(c: ServerConn): void {
  const s = c.session;
  if (s === null || s.conn !== c) {
    c.destroy();
    return;
  }
  s.connected(c);
}

/** Bytes of a server connection; `chunk` is only valid during the call unless a client write holds it. */
function serverChunk(c: ServerConn, s: HttpSession, chunk: Buffer): void {
  if (s.rq === RQ_TUNNEL) {
    s.countOut(chunk.length);
    if (!s.client.write(chunk)) c.pause();
  } else {
    s.onServerBytes(c, chunk);
  }
}

function serverDrained(c: ServerConn): void {
  const s = c.session;
  if (s === null) return;
  if ((s.rq === RQ_BODY || s.rq === RQ_TUNNEL) && s.client.paused) s.client.resume();
}

function serverEnded(c: ServerConn): void {
  const s = c.session;
  if (s !== null && s.rq === RQ_TUNNEL && s.conn === c) {
    // Half-close crosses the tunnel; both sides close themselves once done both ways.
    if (!s.client.destroyed) s.client.end();
    return;
  }
  if (s !== null && s.conn === c) {
    s.serverGone(c);
    return;
  }
  c.destroy();
}

function serverFailed(c: ServerConn): void {
  const s = c.session;
  if (s !== null && s.conn === c && c.connecting) s.connectFailed('error');
  // Otherwise the close that follows does the work.
}

function serverClosed(c: ServerConn): void {
  if (c.pool !== null) c.pool.remove(c);
  const s = c.session;
  if (s !== null && s.conn === c) {
    if (c.connecting) s.connectFailed('error');
    else s.serverGone(c);
  }
  // The parser and the read buffer are recycled only once nobody can feed them again.
  c.session = null;
  if (freeResponses.length < FREE_MAX && c.resp.complete) freeResponses.push(c.resp);
  if (c.rbuf !== null) {
    readBuffers.release(c.rbuf);
    c.rbuf = null;
  }
}

function serverTimedOut(c: ServerConn): void {
  const s = c.session;
  if (s === null || s.conn !== c) {
    c.destroy();
    return;
  }
  if (c.connecting) {
    s.connectFailed('timeout');
    return;
  }
  if (s.rq === RQ_TUNNEL) {
    s.be!.counters.timeouts++;
    s.setTerm('sD--');
    s.destroy();
    return;
  }
  if (s.rs === RS_NONE) {
    // Idle between requests: just let it go.
    s.dropConn(c);
    return;
  }
  s.serverTimeout(c);
}

/** RawTcp read: see "Read buffers of server connections" above for the buffer rules. */
function onRawData(raw: RawTcp<ServerConn>, buf: Buffer, n: number): void {
  const c = raw.owner;
  const s = c.session;
  if (s === null) {
    // Bytes on an idle connection: out of sync, never reuse it.
    c.destroy();
    return;
  }
  let own = buf;
  if (buf === landing) {
    // First bytes after the connection was idle: out of the shared buffer before anything is sent.
    own = readBuffers.acquire();
    buf.copy(own, 0, 0, n);
    c.rbuf = own;
  }
  const client = s.client;
  if (s.lent !== null && client.pending === 0) readBuffers.giveBack(s);
  serverChunk(c, s, n === own.length ? own : own.subarray(0, n));
  if (client.pending > 0 && c.rbuf === own) {
    // A client write still holds these bytes: the buffer goes with the session.
    (s.lent ??= []).push(own);
    c.rbuf = null;
  }
  if (raw.destroyed) return;
  if (c.active) {
    if (c.rbuf === null) c.rbuf = readBuffers.acquire();
    raw.setReadBuffer(c.rbuf);
  } else {
    if (c.rbuf !== null) {
      readBuffers.release(c.rbuf);
      c.rbuf = null;
    }
    raw.setReadBuffer(landing);
  }
}

const serverEvents: RawTcpEvents<ServerConn> = {
  connect: (raw) => serverConnected(raw.owner),
  data: onRawData,
  end: (raw) => serverEnded(raw.owner),
  drain: (raw) => serverDrained(raw.owner),
  timeout: (raw) => serverTimedOut(raw.owner),
  error: (raw) => serverFailed(raw.owner),
  close: (raw) => serverClosed(raw.owner),
};

function onServerConnect(this: net.Socket): void {
  const c = connOf(this);
  if (c === undefined) this.destroy();
  else serverConnected(c);
}

/** Bytes of a net.Socket server connection (TLS, host name, no raw bindings): Node's own buffers. */
function onServerData(this: net.Socket, chunk: Buffer): void {
  const c = connOf(this);
  if (c === undefined) {
    this.destroy();
    return;
  }
  const s = c.session;
  if (s === null) {
    c.destroy();
    return;
  }
  serverChunk(c, s, chunk);
}

function onServerDrain(this: net.Socket): void {
  const c = connOf(this);
  if (c !== undefined) serverDrained(c);
}

function onServerEnd(this: net.Socket): void {
  const c = connOf(this);
  if (c !== undefined) serverEnded(c);
  else this.destroy();
}

function onServerError(this: net.Socket): void {
  const c = connOf(this);
  if (c !== undefined) serverFailed(c);
}

function onServerClose(this: net.Socket): void {
  const c = connOf(this);
  if (c === undefined) return;
  untag(this);
  serverClosed(c);
}

function onServerTimeout(this: net.Socket): void {
  const c = connOf(this);
  if (c === undefined) this.destroy();
  else serverTimedOut(c);
}
