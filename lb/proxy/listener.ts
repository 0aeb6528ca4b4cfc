// Listening sockets and connection admission (global and frontend `maxconn`).
//
// HAProxy does not reject connections above maxconn: it stops polling the listening socket, so
// new connections wait in the kernel's backlog, and resumes when a session ends. Node cannot stop
// accepting on a listening handle without closing it, so lb does the closest thing: sockets are
// accepted paused (`pauseOnConnect`, nothing is read from them) and held in a per-listener FIFO
// until a slot frees up. The FIFO is capped by the listener's backlog (HAProxy's default backlog
// is the frontend's maxconn), beyond which new connections are dropped as a full kernel backlog
// would. `isPaused()` tells whether a listener currently holds connections back.
//
// Lifecycle (DESIGN principle 7): start() binds every listener and, if one fails, leaves the
// group in a state where stop() releases whatever did bind. close() stops accepting and resolves
// when the admitted connections have finished (a reload); stop() also destroys them.
//
// Raw accepts (issue 5): for listeners the caller picks (`rawAccept`: plain-TCP http frontends),
// the listening handle's `onconnection` is taken over and accepted handles are wrapped in RawTcp
// (lb/net/raw-tcp.ts) instead of a net.Socket, whose construction, listeners and teardown were the
// largest JS cost of a request on a new connection. Admission, counters and close()/stop() are the
// same for both kinds; a handle that is not a TCP handle (fd@ pipe) or a Node without the
// bindings goes the net.Socket way.
import net from 'node:net';
import { RawTcp, rawTcpAvailable, type RawTcpError, type RawTcpEvents } from '../net/raw-tcp.ts';
import { bumpSessions, type Listener } from './types.ts';

/** Called for every admitted connection; the socket is paused and owned by the callee. */
export type ConnectionHandler = (socket: net.Socket, listener: Listener) => void;

/**
 * Called for every admitted raw connection (paused). The callee owns it: it sets `conn.owner.ev`
 * (its events table, which then receives every event of the connection) and `conn.owner.user`, or
 * destroys it.
 */
export type RawConnectionHandler = (conn: RawTcp<RawAccepted>, listener: Listener) => void;

export interface ListenerGroupOptions {
  /** Global `maxconn`; 0 or undefined = unlimited. */
  readonly maxconn?: number;
  readonly onConnection: ConnectionHandler;
  /** Listeners whose connections are accepted raw (with onRawConnection); others get net.Socket. */
  readonly rawAccept?: (l: Listener) => boolean;
  readonly onRawConnection?: RawConnectionHandler;
}

/** Client reads of raw connections land here until their handler gives them another buffer. */
const acceptLanding = Buffer.allocUnsafeSlow(64 * 1024);

/** The listener's side of a raw connection; `ev` and `user` belong to the connection handler. */
export class RawAccepted {
  ev: RawTcpEvents<RawAccepted> | null = null;
  user: unknown = undefined;
  readonly slot: Slot;
  readonly group: ListenerGroup;
  admitted = false;
  constructor(slot: Slot, group: ListenerGroup) {
    this.slot = slot;
    this.group = group;
  }
}

/** Forwards to the handler's table; the listener keeps the close for its accounting. */
const acceptedEvents: RawTcpEvents<RawAccepted> = {
  connect: noop,
  data: (c, b, n) => c.owner.ev?.data(c, b, n),
  end: (c) => {
    const ev = c.owner.ev;
    if (ev !== null) ev.end(c);
    else c.destroy();
  },
  drain: (c) => c.owner.ev?.drain(c),
  timeout: (c) => {
    const ev = c.owner.ev;
    if (ev !== null) ev.timeout(c);
    else c.destroy();
  },
  error: (c, e: RawTcpError) => c.owner.ev?.error(c, e),
  // Released before the handler hears of it, as on the net.Socket path (whose 'close' listener the
  // group adds first): a log line written at close sees the frontend's count without this one.
  close: (c) => {
    const a = c.owner;
    if (a.admitted) a.group.released(c, a.slot);
    else a.slot.pending.delete(c);
    a.ev?.close(c);
  },
};

type Conn = net.Socket | RawTcp<RawAccepted>;

/** A listener failed to bind. `code` is stable for scripts and tests. */
export class BindError extends Error {
  readonly code = 'ERR_LB_BIND';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BindError';
  }
}

interface Slot {
  readonly listener: Listener;
  server: net.Server | undefined;
  /** Accepted but not admitted yet (maxconn reached), oldest first. */
  readonly pending: Set<Conn>;
}

const kSlot = Symbol('lb.listener.slot');
type Tagged = net.Socket & { [kSlot]?: Slot; [kGroup]?: ListenerGroup };
const kGroup = Symbol('lb.listener.group');

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function describe(l: Listener): string {
  return 'fd' in l.bind ? `fd@${l.bind.fd}` : `${l.bind.host}:${l.bind.port}`;
}

function noop(): void {}

export class ListenerGroup {
  readonly #slots: Slot[];
  readonly #maxconn: number;
  readonly #onConnection: ConnectionHandler;
  readonly #rawAccept: ((l: Listener) => boolean) | undefined;
  readonly #onRawConnection: RawConnectionHandler | undefined;
  /** Admitted connections whose client socket is still open. */
  readonly #live = new Set<Conn>();
  #closing = false;
  #idleWaiters: (() => void)[] = [];
  #nextSlot = 0;

  constructor(listeners: readonly Listener[], opts: ListenerGroupOptions) {
    this.#slots = listeners.map((listener) => ({ listener, server: undefined, pending: new Set() }));
    this.#maxconn = opts.maxconn ?? 0;
    this.#onConnection = opts.onConnection;
    this.#rawAccept = opts.rawAccept;
    this.#onRawConnection = opts.onRawConnection;
  }

  /** Listeners whose accepts were taken over (tests). */
  get rawListeners(): number {
    return this.#rawCount;
  }
  #rawCount = 0;

  /**
   * Takes over the accepts of a bound listener when asked and possible: the listening handle must
   * have Node's `onconnection(err, clientHandle)`. Handles RawTcp cannot adopt go to Node's own.
   */
  #takeOverAccepts(slot: Slot, server: net.Server): boolean {
    if (!rawTcpAvailable || this.#onRawConnection === undefined || this.#rawAccept?.(slot.listener) !== true) return false;
    const h: unknown = Reflect.get(server, '_handle');
    if (!isObject(h)) return false;
    const original: unknown = Reflect.get(h, 'onconnection');
    if (typeof original !== 'function') return false;
    // One closure per listener (not per connection).
    const onconnection = (err: number, clientHandle: unknown): void => {
      if (err === 0 && clientHandle !== undefined) {
        const a = new RawAccepted(slot, this);
        const c = RawTcp.fromHandle(acceptedEvents, a, clientHandle, acceptLanding, true);
        if (c !== undefined) {
          this.#acceptRaw(slot, c);
          return;
        }
      }
      Reflect.apply(original, h, [err, clientHandle]);
    };
    Reflect.set(h, 'onconnection', onconnection);
    this.#rawCount++;
    return true;
  }

  /** Connections admitted and still open (the global `maxconn` compares against this). */
  get current(): number {
    return this.#live.size;
  }

  /** Binds every listener. Throws BindError on the first failure; call stop() to clean up. */
  async start(): Promise<void> {
    this.#closing = false;
    for (const slot of this.#slots) {
      if (slot.server !== undefined) continue;
      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
      slot.server = server;
      server.on('connection', (sock: net.Socket) => this.#accept(slot, sock));
      const l = slot.listener;
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => {
          reject(new BindError(`Starting frontend ${l.frontend.name}: cannot bind socket [${describe(l)}]: ${err.message}`, { cause: err }));
        };
        server.once('error', onError);
        const onListening = (): void => {
          server.off('error', onError);
          resolve();
        };
        if ('fd' in l.bind) {
          // An inherited listening socket (master-worker reloads): Node's handle form of listen().
          server.listen({ fd: l.bind.fd }, l.backlog, onListening);
        } else {
          const opts: net.ListenOptions = { host: l.bind.host, port: l.bind.port, exclusive: false };
          if (l.backlog !== undefined) opts.backlog = l.backlog;
          server.listen(opts, onListening);
        }
      }).catch((err: unknown) => {
        slot.server = undefined;
        server.close();
        throw err;
      });
      // Errors after a successful bind (EMFILE on accept...) must not crash the process.
      server.on('error', noop);
      if (!this.#takeOverAccepts(slot, server)) this.#acceptWithOnread(slot, server);
    }
  }

  /**
   * Listeners with `clientRead` (plain tcp mode): accepted sockets are built with `onread` (a
   * buffer of the data path's and its callback), which net.Server cannot pass: reads then skip
   * the Buffer per read, Readable.push and 'data'. Otherwise the socket is what net.Server makes
   * (paused, allowHalfOpen, TCP_NODELAY); the server's own connection count is not used, the
   * group tracks its connections itself.
   */
  #acceptWithOnread(slot: Slot, server: net.Server): void {
    const read = slot.listener.clientRead;
    if (read === undefined) return;
    const h: unknown = Reflect.get(server, '_handle');
    if (!isObject(h) || typeof Reflect.get(h, 'onconnection') !== 'function') return;
    const onconnection = (err: number, clientHandle: unknown): void => {
      if (err !== 0 || clientHandle === undefined) return;
      const opts: net.SocketConstructorOpts = { allowHalfOpen: true, readable: true, writable: true, onread: read() };
      // Node's own accept passes these two (not in the public typings): the accepted handle, and
      // "created paused" so that nothing is read before the data path asks.
      Reflect.set(opts, 'handle', clientHandle);
      Reflect.set(opts, 'pauseOnCreate', true);
      const sock = new net.Socket(opts);
      sock.setNoDelay(true);
      this.#accept(slot, sock);
    };
    Reflect.set(h, 'onconnection', onconnection);
  }

  /** The bound address of listener `i` (useful with port 0). */
  address(i: number): net.AddressInfo | undefined {
    const a = this.#slots[i]?.server?.address();
    return typeof a === 'object' && a !== null ? a : undefined;
  }

  /** True when listener `i` holds accepted connections back because of maxconn. */
  isPaused(i: number): boolean {
    const slot = this.#slots[i];
    return slot !== undefined && slot.pending.size > 0;
  }

  /** Connections waiting for admission on listener `i`. */
  pendingCount(i: number): number {
    return this.#slots[i]?.pending.size ?? 0;
  }

  /**
   * Stops accepting (listening sockets closed, connections not yet admitted dropped) and
   * resolves once every admitted connection has finished. Safe to call more than once.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.#slots) {
      // Copied: a raw connection leaves the set from its close event.
      for (const conn of [...slot.pending]) conn.destroy();
      slot.pending.clear();
      const server = slot.server;
      slot.server = undefined;
      if (server !== undefined && server.listening) {
        closing.push(new Promise((resolve) => server.close(() => resolve())));
      }
    }
    await Promise.all(closing);
    if (this.#live.size > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** close() plus destruction of every admitted connection. Works after a partial start. */
  async stop(): Promise<void> {
    const done = this.close();
    for (const conn of this.#live) conn.destroy();
    await done;
  }

  #limitReached(slot: Slot): boolean {
    if (this.#maxconn > 0 && this.#live.size >= this.#maxconn) return true;
    const fe = slot.listener.frontend;
    return fe.maxconn > 0 && fe.counters.sessCur >= fe.maxconn;
  }

  #accept(slot: Slot, sock: net.Socket): void {
    const t: Tagged = sock;
    sock.on('error', noop);
    if (this.#closing) {
      sock.destroy();
      return;
    }
    if (slot.pending.size > 0 || this.#limitReached(slot)) {
      const cap = slot.listener.backlog ?? (slot.listener.frontend.maxconn || 511);
      if (slot.pending.size >= cap) {
        sock.destroy();
        return;
      }
      t[kSlot] = slot;
      t[kGroup] = this;
      slot.pending.add(sock);
      sock.once('close', onPendingClose);
      return;
    }
    this.#admit(slot, sock);
  }

  #acceptRaw(slot: Slot, c: RawTcp<RawAccepted>): void {
    if (this.#closing) {
      c.destroy();
      return;
    }
    if (slot.pending.size > 0 || this.#limitReached(slot)) {
      const cap = slot.listener.backlog ?? (slot.listener.frontend.maxconn || 511);
      if (slot.pending.size >= cap) {
        c.destroy();
        return;
      }
      slot.pending.add(c);
      return;
    }
    this.#admitRaw(slot, c);
  }

  #admitRaw(slot: Slot, c: RawTcp<RawAccepted>): void {
    c.owner.admitted = true;
    this.#live.add(c);
    bumpSessions(slot.listener.frontend.counters);
    this.#onRawConnection!(c, slot.listener);
  }

  #admit(slot: Slot, sock: net.Socket): void {
    const t: Tagged = sock;
    t[kSlot] = slot;
    t[kGroup] = this;
    this.#live.add(sock);
    bumpSessions(slot.listener.frontend.counters);
    sock.once('close', onAdmittedClose);
    this.#onConnection(sock, slot.listener);
  }

  /** Internal (socket 'close' handler). A session ended: account for it, then admit held connections, fairly across listeners. */
  released(sock: Conn, slot: Slot | undefined): void {
    if (slot === undefined || !this.#live.delete(sock)) return;
    slot.listener.frontend.counters.sessCur--;
    this.#drainPending();
    if (this.#live.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Internal (socket 'close' handler): a held connection went away before admission. */
  forgetPending(sock: Tagged): void {
    sock[kSlot]?.pending.delete(sock);
  }

  #drainPending(): void {
    const n = this.#slots.length;
    let progress = true;
    while (progress) {
      progress = false;
      for (let k = 0; k < n; k++) {
        const slot = this.#slots[(this.#nextSlot + k) % n]!;
        if (slot.pending.size === 0 || this.#limitReached(slot)) continue;
        const first = slot.pending.values().next();
        if (first.done === true) continue;
        const conn = first.value;
        slot.pending.delete(conn);
        this.#nextSlot = (this.#nextSlot + k + 1) % n;
        progress = true;
        if (conn instanceof RawTcp) {
          if (!conn.destroyed) this.#admitRaw(slot, conn);
          break;
        }
        conn.off('close', onPendingClose);
        // Gone while held: its 'close' already fired, admitting it would leak a slot.
        if (!conn.destroyed) this.#admit(slot, conn);
        break;
      }
      if (this.#maxconn > 0 && this.#live.size >= this.#maxconn) break;
    }
  }
}

function tagged(sock: net.Socket): Tagged {
  return sock;
}

function onAdmittedClose(this: net.Socket): void {
  const t = tagged(this);
  t[kGroup]?.released(t, t[kSlot]);
}

function onPendingClose(this: net.Socket): void {
  const t = tagged(this);
  t[kGroup]?.forgetPending(t);
}
