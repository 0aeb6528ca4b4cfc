// L4 (`mode tcp`) data path: one TcpSession per accepted connection.
//
//   accept ─► [inspect ClientHello] ─► select backend ─► pick server ─┬─► connect ─► pipe both ways
//                                                                    └─► queue (all servers full)
//
// Hot-path rules (DESIGN.md "The hot path"): every socket event goes to one module-level function
// that finds its session through a symbol on the socket, so a connection allocates no closures and
// a chunk allocates nothing in this file (Node's read buffer is the only per-chunk object).
// Backpressure is the classic pipe: write(); when it returns false, pause the source until the
// destination drains. Half-close: an 'end' from one side becomes end() on the other, the other
// direction keeps flowing; the session ends when both sockets are closed.
//
// Timeouts are Node's per-socket inactivity timers, refreshed on every read and write of that
// socket: HAProxy's default (no `option independent-streams`) where activity in either direction
// refreshes a side's timeout. `timeout tunnel` replaces client and server timeouts once the server
// connection is established, which in tcp mode without pending analysers is immediately.
import net from 'node:net';
import tls from 'node:tls';
import { createLogRecord } from '../log/record.ts';
import { LOG_INFO } from '../log/targets.ts';
import { parseClientHello, type ClientHello } from '../tls/client-hello.ts';
import { afterConnectFailure, redispatchTarget, serverTlsOptions, type ConnectFailure } from './connect.ts';
import type { QueueEntry, QueueWaiter } from './queue.ts';
import { readBuffers, type Borrower } from './read-buffers.ts';
import { bumpSessions, hasFreeSlot, processCounters, releaseServerSlot, takeServerSlot, type Backend, type ConnInfo, type Frontend, type FrontendLog, type RuntimeServer } from './types.ts';

const kSession = Symbol('lb.tcp.session');

/**
 * Server sockets read into a buffer of their session (`onread`, from the pool of read-buffers.ts)
 * instead of Node's stream path (a 64 KiB backing store and a Buffer per read, Readable.push,
 * emit('data')). Bytes are written to the client synchronously in the callback; a write still
 * pending afterwards keeps a view of the buffer, which is then lent to the session until its
 * client socket has flushed, and the session reads on into another one.
 */
/** The buffer for the next read of the socket just handled (Node calls the generator after the callback). */
let nextReadBuffer: Buffer = Buffer.alloc(0);
function readBufferGenerator(): Buffer {
  return nextReadBuffer;
}
type Tagged = net.Socket & { [kSession]?: TcpSession | undefined };

/** Bytes of a ClientHello we are willing to hold while inspecting (HAProxy: tune.bufsize). */
export const INSPECT_BUFFER_SIZE = 16384;

const St = {
  INSPECT: 0,
  ASSIGN: 1,
  QUEUED: 2,
  CONNECTING: 3,
  TURNAROUND: 4,
  ESTABLISHED: 5,
  CLOSED: 6,
} as const;
type State = (typeof St)[keyof typeof St];

/**
 * Takes over an accepted client socket (created paused: `pauseOnConnect`) for frontend `fe`.
 * The socket is destroyed when the session ends, whatever the outcome.
 */
export function handleTcpConnection(client: net.Socket, fe: Frontend): void {
  processCounters.actconn++;
  const s = new TcpSession(client, fe);
  s.start();
}

class TcpSession implements QueueWaiter, ConnInfo, Borrower {
  readonly client: Tagged;
  readonly fe: Frontend;
  server: Tagged | null = null;
  be: Backend | undefined = undefined;
  srv: RuntimeServer | undefined = undefined;
  state: State = St.ASSIGN;
  failures = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  queueEntry: QueueEntry | undefined = undefined;
  inspectBuf: Buffer | undefined = undefined;
  inspectLen = 0;
  hello: ClientHello | undefined = undefined;
  /** Where the server socket reads (read-buffers.ts); replaced when a write still holds it. */
  /** Where the server socket reads (read-buffers.ts); null until it connects. */
  rbuf: Buffer | null = null;
  /** Read buffers still referenced by pending client writes. */
  lent: Buffer[] | null = null;
  /** Where an `onread` client socket reads (tcpClientRead); null until its first read. */
  cbuf: Buffer | null = null;
  /** Read buffers still referenced by pending server writes of client bytes. */
  readonly toServer: Borrower = { lent: null };
  // ---- log and stats timings (ms, performance.now() based; -1 = the step never happened) ----
  readonly tAccept = performance.now();
  /** Wall-clock accept date, only read when the frontend logs. */
  readonly acceptDate: number;
  tQueue = -1;
  tw = -1;
  tConnStart = -1;
  tc = -1;
  /** Bytes from / to the client over the whole session. */
  bin = 0;
  bout = 0;
  /** Queue positions seen when queued (%bq), the last server used, redispatch seen. */
  bq = 0;
  lastSrv: RuntimeServer | undefined = undefined;
  redispatched = false;
  /** Termination state (2 chars, HAProxy's %ts); '' until a cause is known. */
  term = '';

  constructor(client: net.Socket, fe: Frontend) {
    this.client = client;
    this.fe = fe;
    this.acceptDate = fe.log !== undefined ? Date.now() : 0;
    // A logging frontend needs the addresses after the socket closed: Node caches them once read.
    if (fe.log !== undefined) void (client.remoteAddress, client.localAddress);
  }

  /** Records the first cause of the end of the session (later ones are consequences). */
  setTerm(t: string): void {
    if (this.term === '') this.term = t;
  }

  // Fetched on first use (a system call and a string each, which routing without ACLs on
  // addresses never needs); Node caches them on the socket once fetched.
  get src(): string {
    return this.client.remoteAddress ?? '';
  }
  get srcPort(): number {
    return this.client.remotePort ?? 0;
  }
  get dst(): string {
    return this.client.localAddress ?? '';
  }
  get dstPort(): number {
    return this.client.localPort ?? 0;
  }

  /** The balancer's hash input: only hashing algorithms (source) read it. */
  get hashKey(): string | undefined {
    return this.be!.deterministic ? this.src : undefined;
  }

  start(): void {
    const c = this.client;
    c[kSession] = this;
    c.setNoDelay(true);
    c.on('error', onSocketError);
    c.on('close', onClientClose);
    c.on('timeout', onClientTimeout);
    if (this.fe.timeouts.client > 0) c.setTimeout(this.fe.timeouts.client);
    if (this.fe.inspectDelay > 0) {
      this.state = St.INSPECT;
      c.on('data', onInspectData);
      c.on('end', onInspectEnd);
      this.timer = setTimeout(onInspectTimer, this.fe.inspectDelay, this);
      c.resume();
      return;
    }
    this.route();
  }

  /** Ends the inspection (ClientHello complete, not TLS, delay expired or client EOF) and routes. */
  endInspect(): void {
    if (this.state !== St.INSPECT) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    c.pause();
    c.off('data', onInspectData);
    c.off('end', onInspectEnd);
    this.state = St.ASSIGN;
    this.route();
  }

  route(): void {
    const be = this.fe.selectBackend(this);
    if (be === undefined) {
      this.setTerm('PR');
      this.close();
      return;
    }
    this.be = be;
    bumpSessions(be.counters);
    this.assign(false);
  }

  /** Picks a server (or queues); `retry` tells that a failed attempt came before this pick. */
  assign(retry: boolean): void {
    const be = this.be!;
    if (!be.picker.hasUsable()) {
      be.counters.noServer++;
      this.setTerm('SC');
      this.close();
      return;
    }
    // As HAProxy, a newcomer does not overtake connections already waiting in the queue.
    const srv = be.queue.length > 0 && !retry ? undefined : be.picker.pick(this.hashKey);
    if (srv === undefined || !hasFreeSlot(srv)) {
      this.enqueue();
      return;
    }
    this.take(srv);
    if (this.tw < 0) this.tw = 0;
    this.connect();
  }

  enqueue(): void {
    const be = this.be!;
    this.state = St.QUEUED;
    if (this.tQueue < 0) this.tQueue = performance.now();
    this.bq = be.queue.length;
    this.queueEntry = be.queue.push(this);
    be.counters.queueCur++;
    if (be.counters.queueCur > be.counters.queueMax) be.counters.queueMax = be.counters.queueCur;
    if (be.timeouts.queue > 0) this.timer = setTimeout(onQueueTimer, be.timeouts.queue, this);
  }

  /** Leaves the queue (slot freed, timeout or session end). */
  leaveQueue(): void {
    const be = this.be!;
    if (this.queueEntry !== undefined) {
      be.queue.remove(this.queueEntry);
      this.queueEntry = undefined;
      be.counters.queueCur--;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** QueueWaiter: a slot was freed and this session is the oldest waiter. */
  dequeued(): void {
    this.queueEntry = undefined;
    this.be!.counters.queueCur--;
    this.tw = Math.round(performance.now() - this.tQueue);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = St.ASSIGN;
    this.assign(true);
  }

  take(srv: RuntimeServer): void {
    this.srv = srv;
    this.lastSrv = srv;
    takeServerSlot(this.be!, srv);
  }

  /** Gives the server slot back and lets the oldest queued connection try again. */
  releaseServer(): void {
    const srv = this.srv;
    if (srv === undefined) return;
    this.srv = undefined;
    releaseServerSlot(this.be!, srv);
  }

  connect(): void {
    const srv = this.srv!;
    const be = this.be!;
    this.state = St.CONNECTING;
    if (this.tConnStart < 0) this.tConnStart = performance.now();
    let s: Tagged;
    if (srv.tls === undefined) {
      nextReadBuffer = this.rbuf ??= readBuffers.acquire();
      s = net.connect({
        host: srv.host,
        port: srv.port,
        allowHalfOpen: true,
        noDelay: true,
        onread: { buffer: readBufferGenerator, callback: onServerRead },
      });
      s.on('connect', onServerConnect);
    } else {
      // TLS towards the server: the stream path ('data'), established once the handshake is done.
      const c = this.client;
      const o = serverTlsOptions(srv, c instanceof tls.TLSSocket && typeof c.servername === 'string' ? c.servername : undefined, this.hello?.sni);
      s = tls.connect(o);
      s.setNoDelay(true);
      s.on('secureConnect', onServerConnect);
      s.on('data', onServerData);
    }
    s[kSession] = this;
    this.server = s;
    s.on('error', onSocketError);
    s.on('close', onServerClose);
    s.on('timeout', onServerTimeout);
    if (be.timeouts.connect > 0) s.setTimeout(be.timeouts.connect);
  }

  connectFailed(kind: ConnectFailure): void {
    const be = this.be!;
    const old = this.server;
    this.server = null;
    if (old !== null) old.destroy();
    this.failures++;
    const d = afterConnectFailure(be, this.failures, kind, be.servers.length);
    const prev = this.srv!;
    if (d.action === 'give-up') {
      be.counters.connectErrors++;
      prev.counters.connectErrors++;
      this.setTerm('SC');
      this.close();
      return;
    }
    if (d.redispatch) {
      this.releaseServer();
      if (!be.picker.hasUsable()) {
        be.counters.noServer++;
        this.setTerm('SC');
        this.close();
        return;
      }
      const next = redispatchTarget(be, prev, this.hashKey);
      if (next === undefined) {
        this.enqueue();
        return;
      }
      if (next !== prev) this.redispatched = true;
      this.take(next);
      this.connect();
      return;
    }
    be.counters.retries++;
    prev.counters.retries++;
    if (d.delay > 0) {
      this.state = St.TURNAROUND;
      this.timer = setTimeout(onTurnAroundTimer, d.delay, this);
    } else {
      this.connect();
    }
  }

  established(): void {
    const c = this.client;
    const s = this.server!;
    const be = this.be!;
    this.state = St.ESTABLISHED;
    this.tc = Math.round(performance.now() - this.tConnStart);
    const tunnel = be.timeouts.tunnel;
    if (tunnel > 0) {
      c.setTimeout(tunnel);
      s.setTimeout(tunnel);
    } else {
      s.setTimeout(be.timeouts.server);
    }
    if (this.inspectLen > 0) {
      const head = this.inspectBuf!.subarray(0, this.inspectLen);
      this.countIn(head.length);
      s.write(head);
      this.inspectBuf = undefined;
    }
    c.on('data', onClientData);
    c.on('end', onClientEnd);
    // The client may have half-closed while we were inspecting its first bytes.
    if (c.readableEnded) s.end();
    c.on('drain', onClientDrain);
    s.on('end', onServerEnd);
    s.on('drain', onServerDrain);
    c.resume();
  }

  countIn(n: number): void {
    this.bin += n;
    this.fe.counters.bytesIn += n;
    this.be!.counters.bytesIn += n;
    this.srv!.counters.bytesIn += n;
  }

  countOut(n: number): void {
    this.bout += n;
    this.fe.counters.bytesOut += n;
    this.be!.counters.bytesOut += n;
    this.srv!.counters.bytesOut += n;
  }

  /** Ends the session now: both sockets destroyed, queue left, timers cleared. Idempotent. */
  close(): void {
    if (this.state === St.QUEUED) this.leaveQueue();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.state = St.CLOSED;
    if (!this.client.destroyed) this.client.destroy();
    const s = this.server;
    if (s !== null && !s.destroyed) s.destroy();
    else if (s === null) this.finish();
  }

  /** Accounting once both sockets are gone. */
  finish(): void {
    if (this.client[kSession] === undefined) return;
    this.client[kSession] = undefined;
    // Lent read buffers may still be referenced by cancelled writes: leave them to the GC. The
    // session's own buffer is free once the client socket holds nothing more.
    this.lent = null;
    const rbuf = this.rbuf;
    this.rbuf = null;
    const sDone = this.server === null || this.server.destroyed;
    if (rbuf !== null && this.client.destroyed && this.client.writableLength === 0 && sDone) readBuffers.release(rbuf);
    this.toServer.lent = null;
    const cbuf = this.cbuf;
    this.cbuf = null;
    if (cbuf !== null && this.client.destroyed && sDone && (this.server?.writableLength ?? 0) === 0) readBuffers.release(cbuf);
    this.releaseServer();
    const be = this.be;
    if (be !== undefined) be.counters.sessCur--;
    const tt = Math.round(performance.now() - this.tAccept);
    if (be !== undefined) {
      // Stats averages: queue, connect, total (no response phase in tcp mode).
      be.timings?.add(this.tw, this.tc, -1, tt);
      this.lastSrv?.timings?.add(this.tw, this.tc, -1, tt);
    }
    const log = this.fe.log;
    if (log !== undefined) this.emitLog(log, tt);
    processCounters.actconn--;
  }

  /** One `option tcplog` / log-format line for the session (HAProxy logs tcp sessions at their end). */
  emitLog(log: FrontendLog, tt: number): void {
    const r = tcpRecord;
    const c = this.client;
    const fe = this.fe;
    r.bytesUploaded = Math.max(this.bin, this.inspectLen);
    if (this.term === '') this.term = '--';
    r.clientIp = c.remoteAddress ?? '-';
    r.clientPort = c.remotePort ?? 0;
    r.frontendIp = c.localAddress ?? null;
    r.frontendPort = c.localPort ?? -1;
    r.acceptDate = this.acceptDate;
    r.frontend = fe.name;
    r.tls = c instanceof tls.TLSSocket;
    const be = this.be;
    const srv = this.lastSrv;
    r.backend = be?.name ?? fe.name;
    r.server = srv?.name ?? '<NOSRV>';
    r.serverIp = srv?.host ?? null;
    r.serverPort = srv?.port ?? -1;
    r.Tw = this.tw;
    r.Tc = this.tc;
    r.Tt = tt;
    r.Ta = tt;
    r.bytesRead = this.bout;
    r.termState = this.term;
    r.actconn = processCounters.actconn;
    // finish() runs from the client's 'close', after the listener released its frontend slot.
    r.feconn = Math.min(fe.counters.sessCur + 1, processCounters.actconn);
    r.beconn = be?.counters.sessCur ?? 0;
    r.srvConn = srv?.counters.sessCur ?? 0;
    const retries = be?.retries ?? 0;
    r.retries = this.failures > retries ? retries : this.failures;
    r.redispatched = this.redispatched;
    r.backendQueue = this.bq;
    r.sni = this.hello?.sni ?? null;
    if (!shouldLogTcp(r.bytesUploaded, log)) return;
    log.sink.log(LOG_INFO, log.format.render(r, undefined));
  }
}

/** `option dontlognull`: a session on which the client sent nothing is not logged. */
function shouldLogTcp(uploaded: number, log: FrontendLog): boolean {
  return !log.dontlognull || uploaded > 0;
}

/** Filled and rendered synchronously per logged session: one record for the whole process. */
const tcpRecord = createLogRecord();

// ---- socket event handlers (module level: `this` is the socket) ----

function sessionOf(sock: net.Socket): TcpSession | undefined {
  const t: Tagged = sock;
  return t[kSession];
}

function onSocketError(this: net.Socket, err: Error): void {
  const s = sessionOf(this);
  // A connection attempt failing is a retry decision; any other error is followed by 'close'.
  if (s !== undefined && s.server === this && s.state === St.CONNECTING) {
    s.connectFailed('error');
    return;
  }
  void err;
}

function onInspectData(this: net.Socket, chunk: Buffer): void {
  const s = sessionOf(this);
  if (s === undefined || s.state !== St.INSPECT) return;
  inspectBytes(s, chunk);
}

/** Bytes read during `tcp-request inspect-delay`: copied (the chunk may be a reused buffer). */
function inspectBytes(s: TcpSession, chunk: Buffer): void {
  s.inspectBuf ??= Buffer.allocUnsafe(INSPECT_BUFFER_SIZE);
  const room = INSPECT_BUFFER_SIZE - s.inspectLen;
  if (chunk.length > room) {
    // More than a buffer of data before the hello was complete: cannot be a sane ClientHello.
    // Keep everything for the server (it is not ours to drop), stop inspecting.
    const merged = Buffer.allocUnsafe(s.inspectLen + chunk.length);
    s.inspectBuf.copy(merged, 0, 0, s.inspectLen);
    chunk.copy(merged, s.inspectLen);
    s.inspectBuf = merged;
    s.inspectLen = merged.length;
    s.endInspect();
    return;
  }
  chunk.copy(s.inspectBuf, s.inspectLen);
  s.inspectLen += chunk.length;
  const r = parseClientHello(s.inspectBuf.subarray(0, s.inspectLen));
  if (r.status === 'need-more') return;
  if (r.status === 'ok') s.hello = r.hello;
  s.endInspect();
}

function onInspectEnd(this: net.Socket): void {
  sessionOf(this)?.endInspect();
}

function onInspectTimer(s: TcpSession): void {
  s.timer = undefined;
  s.endInspect();
}

function onQueueTimer(s: TcpSession): void {
  s.timer = undefined;
  if (s.state !== St.QUEUED) return;
  s.be!.counters.queueTimeouts++;
  s.tw = Math.round(performance.now() - s.tQueue);
  s.setTerm('sQ');
  s.close();
}

function onTurnAroundTimer(s: TcpSession): void {
  s.timer = undefined;
  if (s.state === St.TURNAROUND) s.connect();
}

function onServerConnect(this: net.Socket): void {
  const s = sessionOf(this);
  if (s !== undefined && s.server === this && s.state === St.CONNECTING) s.established();
}

function onClientData(this: net.Socket, chunk: Buffer): void {
  const s = sessionOf(this)!;
  s.countIn(chunk.length);
  if (!s.server!.write(chunk)) this.pause();
}

const CLIENT_READ: net.OnReadOpts = { buffer: readBufferGenerator, callback: onClientRead };

/**
 * For listeners of plain tcp frontends (Listener.clientRead, listener.ts): the accepted socket
 * reads with `onread` into a buffer of its own from the pool, which Node asks for (through the
 * generator) while the socket is built, right after this call.
 */
export function tcpClientRead(): net.OnReadOpts {
  nextReadBuffer = readBuffers.acquire();
  return CLIENT_READ;
}

/** Client bytes of an `onread` socket: the same path as onClientData, with buffer lending. */
function onClientRead(this: net.Socket, n: number, buf: Buffer): boolean {
  const s = sessionOf(this);
  if (s === undefined) {
    this.destroy();
    return false;
  }
  s.cbuf ??= buf;
  const chunk = n === buf.length ? buf : buf.subarray(0, n);
  let more = true;
  if (s.state === St.INSPECT) {
    inspectBytes(s, chunk);
  } else if (s.state === St.ESTABLISHED && s.server !== null) {
    const srv = s.server;
    s.countIn(n);
    more = srv.write(chunk);
    // A write that did not complete at once keeps a view of cbuf: lend it, read on into another.
    if (srv.writableLength > 0) s.cbuf = readBuffers.lend(s.toServer, s.cbuf);
    else if (s.toServer.lent !== null) readBuffers.giveBack(s.toServer);
  } else {
    // Reading is only on while inspecting or established.
    more = false;
  }
  nextReadBuffer = s.cbuf;
  // pause() rather than `return false`: the socket then also reads as paused (isPaused()), and
  // resume() on the server's 'drain' restarts it.
  if (!more) this.pause();
  return true;
}

function onServerRead(this: net.Socket, n: number, buf: Buffer): boolean {
  const s = sessionOf(this);
  if (s === undefined || s.server !== this || s.state !== St.ESTABLISHED) {
    this.destroy();
    return false;
  }
  s.countOut(n);
  const c = s.client;
  if (!c.write(n === buf.length ? buf : buf.subarray(0, n))) this.pause();
  // A write that did not complete synchronously keeps a view of rbuf: lend it, read on into another.
  if (c.writableLength > 0) s.rbuf = readBuffers.lend(s, s.rbuf!);
  else if (s.lent !== null) readBuffers.giveBack(s);
  nextReadBuffer = s.rbuf!;
  return true;
}

/** Server bytes of a TLS server connection (stream path; plain ones use onServerRead). */
function onServerData(this: net.Socket, chunk: Buffer): void {
  const s = sessionOf(this);
  if (s === undefined || s.server !== this || s.state !== St.ESTABLISHED) {
    this.destroy();
    return;
  }
  s.countOut(chunk.length);
  if (!s.client.write(chunk)) this.pause();
}

function onServerDrain(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined) return;
  if (s.toServer.lent !== null && this.writableLength === 0) readBuffers.giveBack(s.toServer);
  s.client.resume();
}

function onClientDrain(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined) return;
  if (s.lent !== null && this.writableLength === 0) readBuffers.giveBack(s);
  s.server?.resume();
}

function onClientEnd(this: net.Socket): void {
  const srv = sessionOf(this)?.server;
  if (srv !== null && srv !== undefined && !srv.destroyed) srv.end();
}

function onServerEnd(this: net.Socket): void {
  const c = sessionOf(this)?.client;
  if (c !== undefined && !c.destroyed) c.end();
}

/** True when a socket finished both ways cleanly (FIN read and our FIN flushed). */
function cleanlyDone(sock: net.Socket): boolean {
  return sock.readableEnded && sock.writableFinished;
}

function onClientClose(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined) return;
  if (s.state !== St.ESTABLISHED) {
    s.setTerm(s.state === St.INSPECT ? 'CR' : s.state === St.QUEUED ? 'CQ' : 'CC');
    s.close();
    return;
  }
  const srv = s.server;
  if (!cleanlyDone(this)) s.setTerm('CD');
  // An abortive close (reset, timeout, destroy) takes the server side down with it.
  if (srv !== null && !srv.destroyed && !cleanlyDone(this)) srv.destroy();
  if (srv === null || srv.destroyed) s.finish();
}

function onServerClose(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined || s.server !== this) return;
  if (s.state === St.CONNECTING) {
    // 'close' without 'error' during connect: treat as a failed attempt.
    s.connectFailed('error');
    return;
  }
  if (s.state === St.ESTABLISHED && !s.client.destroyed && !cleanlyDone(this)) {
    s.setTerm('SD');
    s.client.destroy();
  }
  if (s.client.destroyed) s.finish();
  else if (s.state === St.CLOSED) s.finish();
}

function onClientTimeout(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined) return;
  s.fe.counters.timeouts++;
  s.setTerm(s.state === St.ESTABLISHED ? 'cD' : s.state === St.INSPECT ? 'cR' : 'cC');
  s.close();
}

function onServerTimeout(this: net.Socket): void {
  const s = sessionOf(this);
  if (s === undefined || s.server !== this) return;
  if (s.state === St.CONNECTING) {
    s.connectFailed('timeout');
    return;
  }
  s.be!.counters.timeouts++;
  s.setTerm('sD');
  s.close();
}
