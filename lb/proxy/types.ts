// Runtime structures of the data path: a compiled, mutable view of the configuration that the
// proxy reads on every connection. They are NOT the config model (lb/config/model.ts): an adapter
// builds them from the model, so the hot path never looks at tokens, defaults or inheritance.
//
// Conventions: durations are milliseconds and 0 means "no timeout" (HAProxy's "infinite");
// limits are counts and 0 means "unlimited". Counters are plain number fields so that the stats
// views (DESIGN principle 4) read them without a call; the data path increments them in place.
import type net from 'node:net';
import type { CompiledLogFormat } from '../log/format.ts';
import type { ClientHello } from '../tls/client-hello.ts';
import type { ServerTlsSettings } from '../tls/settings.ts';
import type { ErrorPages } from './http-errors.ts';
import type { HttpHooks, HttpTxn } from './http-hooks.ts';
import { WaitQueue } from './queue.ts';

/**
 * Traffic counters shared by frontends, backends and servers. Field names follow HAProxy's
 * stats columns (in parentheses); a field that does not apply to an object stays 0.
 */
export interface Counters {
  /** Bytes received from clients (bin). */
  bytesIn: number;
  /** Bytes sent to clients (bout). */
  bytesOut: number;
  /** Current sessions (scur). For a server: connections assigned to it, connecting included. */
  sessCur: number;
  /** Highest sessCur seen (smax). */
  sessMax: number;
  /** Sessions since start (stot). */
  sessTotal: number;
  /** Sessions that failed to connect after all retries (econ; backend and server). */
  connectErrors: number;
  /** Connection retries to the same server (wretr). */
  retries: number;
  /** Retries that went to another server (wredis). */
  redispatches: number;
  /** Connections waiting in the queue now (qcur; backend). */
  queueCur: number;
  /** Highest queueCur seen (qmax). */
  queueMax: number;
  /** Queued connections dropped by `timeout queue` (part of HAProxy's eresp/sQ terminations). */
  queueTimeouts: number;
  /** Connections closed because no server was usable (HAProxy's "SC" termination in tcp mode). */
  noServer: number;
  /** Sessions ended by `timeout client`/`server`/`tunnel` (cD/sD terminations). */
  timeouts: number;
  // ---- http mode, per request (HAProxy's req_tot, hrsp_*, dreq, dresp, ereq, eresp) ----
  /** HTTP requests received (frontend) or processed (backend, server) (req_tot). */
  reqTotal: number;
  /** Responses by status class, local ones (errors, redirects) included (hrsp_1xx..hrsp_5xx, hrsp_other). */
  hrsp1xx: number;
  hrsp2xx: number;
  hrsp3xx: number;
  hrsp4xx: number;
  hrsp5xx: number;
  hrspOther: number;
  /** Requests denied by rules (dreq). */
  deniedReq: number;
  /** Responses denied by rules (dresp). */
  deniedResp: number;
  /** Invalid or timed-out requests (ereq). */
  reqErrors: number;
  /** Invalid or missing responses (eresp). */
  respErrors: number;
}

export function newCounters(): Counters {
  return {
    bytesIn: 0,
    bytesOut: 0,
    sessCur: 0,
    sessMax: 0,
    sessTotal: 0,
    connectErrors: 0,
    retries: 0,
    redispatches: 0,
    queueCur: 0,
    queueMax: 0,
    queueTimeouts: 0,
    noServer: 0,
    timeouts: 0,
    reqTotal: 0,
    hrsp1xx: 0,
    hrsp2xx: 0,
    hrsp3xx: 0,
    hrsp4xx: 0,
    hrsp5xx: 0,
    hrspOther: 0,
    deniedReq: 0,
    deniedResp: 0,
    reqErrors: 0,
    respErrors: 0,
  };
}

/** One backend server as the data path sees it. Health state belongs to the picker. */
export interface RuntimeServer {
  readonly name: string;
  /**
   * Where new connections go. Mutable: `set server B/S addr A [port P]` (lb/stats/adapter.ts)
   * changes them at run time, and tcp.ts/http.ts read them at each connect, so established
   * connections keep their peer and only new ones follow (HAProxy's srv_update_addr_port).
   */
  host: string;
  port: number;
  /** Per-server `maxconn`; 0 = unlimited. Beyond it, connections wait in the backend queue. */
  maxconn: number;
  /** counters.sessCur is the number of connections currently assigned to this server. */
  readonly counters: Counters;
  /**
   * Per-request timings for the stats averages (qtime/ctime/rtime/ttime). Optional: the builder
   * sets it; the data path calls `timings?.add(...)` once per finished request (see RequestTimings).
   */
  timings?: RequestTimings;
  /**
   * `server ... ssl [verify none|required] [ca-file F] [sni ...]`: connect over TLS with these
   * settings (lb/tls/settings.ts serverTlsSettings). Absent = plain TCP.
   */
  tls?: ServerTlsSettings;
}

/**
 * HAProxy's "average over the last 1024 requests" (swrate_add with n = 1024): avg += (v - avg) / n
 * once the window is full, a plain mean before. Durations in ms; -1 = the phase did not happen
 * (e.g. no queueing, or no response) and is not counted. The data path calls add() once per
 * finished HTTP request (tcp mode: per session) on the backend and on the server it used:
 *   q = time waiting in the queue, c = connect time, r = time to the response head (http),
 *   t = total time of the request/session.
 */
export class RequestTimings {
  static readonly WINDOW = 1024;
  qAvg = 0;
  cAvg = 0;
  rAvg = 0;
  tAvg = 0;
  qMax = 0;
  cMax = 0;
  rMax = 0;
  tMax = 0;
  #n = [0, 0, 0, 0];

  add(q: number, c: number, r: number, t: number): void {
    if (q >= 0) {
      this.qAvg = this.#avg(0, this.qAvg, q);
      if (q > this.qMax) this.qMax = q;
    }
    if (c >= 0) {
      this.cAvg = this.#avg(1, this.cAvg, c);
      if (c > this.cMax) this.cMax = c;
    }
    if (r >= 0) {
      this.rAvg = this.#avg(2, this.rAvg, r);
      if (r > this.rMax) this.rMax = r;
    }
    if (t >= 0) {
      this.tAvg = this.#avg(3, this.tAvg, t);
      if (t > this.tMax) this.tMax = t;
    }
  }

  #avg(i: number, avg: number, v: number): number {
    const n = Math.min(RequestTimings.WINDOW, (this.#n[i] ?? 0) + 1);
    this.#n[i] = n;
    return avg + (v - avg) / n;
  }

  clear(): void {
    this.qAvg = this.cAvg = this.rAvg = this.tAvg = 0;
    this.qMax = this.cMax = this.rMax = this.tMax = 0;
    this.#n = [0, 0, 0, 0];
  }
}

/** True when `s` can take one more connection without exceeding its maxconn. */
export function hasFreeSlot(s: RuntimeServer): boolean {
  return s.maxconn === 0 || s.counters.sessCur < s.maxconn;
}

/**
 * The balance algorithm as the data path needs it (the balance module's Pool is adapted to this).
 * - pick(key, avoid): a usable server that has a free slot (see hasFreeSlot), or undefined when
 *   every usable server is full (then the connection is queued) or none is usable. `key` is the
 *   hash input for hashing algorithms (source address in tcp mode). `avoid` is the server a
 *   redispatched connection just failed on: prefer another one, as HAProxy's balancers do, but
 *   return it if it is the only candidate.
 * - hasUsable(): whether at least one server is usable at all (up, weight > 0), ignoring slots.
 *   false → HAProxy in tcp mode closes the client connection.
 * - taken(s)/released(s): called after the data path assigned a connection to s or released it
 *   (counters.sessCur is already updated), so leastconn-like algorithms can reorder.
 */
export interface ServerPicker {
  pick(key?: string, avoid?: RuntimeServer): RuntimeServer | undefined;
  hasUsable(): boolean;
  taken(s: RuntimeServer): void;
  released(s: RuntimeServer): void;
}

export interface BackendTimeouts {
  /** `timeout connect`: one connection attempt. */
  connect: number;
  /** `timeout server`: inactivity on the server side. */
  server: number;
  /** `timeout queue`: time a connection may wait for a slot. Unset in the config → `connect`. */
  queue: number;
  /** `timeout tunnel`: once both sides are connected (tcp mode), replaces client and server. */
  tunnel: number;
}

/**
 * `option forwardfor [except NET] [header NAME] [if-none]` (http mode). `except` is the compiled
 * network test (the adapter builds it; lb/proxy/http.ts exports cidrPredicate() for one CIDR).
 */
export interface ForwardFor {
  /** Header name as written (default X-Forwarded-For). */
  readonly header: string;
  readonly except?: (src: string) => boolean;
  /** `if-none`: leave the request alone when it already carries the header. */
  readonly ifNone: boolean;
}

/** `http-reuse` (HAProxy default `safe`). */
export type HttpReuse = 'never' | 'safe' | 'aggressive' | 'always';

/** Backend settings only http mode reads. Every field has HAProxy's default when absent. */
export interface HttpBackendOptions {
  readonly hooks?: HttpHooks;
  readonly forwardFor?: ForwardFor;
  /** `errorfile` pages of this backend (errors arising once it is chosen). */
  readonly errorPages?: ErrorPages;
  readonly reuse?: HttpReuse;
  /** `pool-max-conn` per server: idle connections kept; default 100 here (HAProxy: unlimited, purged by need). */
  readonly poolMaxConn?: number;
  /** `pool-purge-delay`: idle connections older than this are closed (default 5000 ms). */
  readonly poolPurgeDelay?: number;
  /** Hash input for hashing algorithms (uri, url_param, hdr); default the source address. */
  readonly hashKey?: (txn: HttpTxn) => string | undefined;
}

/** Frontend settings only http mode reads. */
export interface HttpFrontendOptions {
  readonly hooks?: HttpHooks;
  readonly forwardFor?: ForwardFor;
  /** `errorfile` pages of this frontend (400, 408 and errors before a backend is chosen). */
  readonly errorPages?: ErrorPages;
}

export interface Backend {
  readonly name: string;
  readonly mode: 'tcp' | 'http';
  /** `retries`: extra connection attempts after the first failed one (HAProxy default 3). */
  retries: number;
  /**
   * `option redispatch [interval]`: 0 = off; P > 0 = redispatch on every Pth retry; N < 0 =
   * redispatch on the Nth retry before the last one (-1, the default interval, = the last retry).
   * As in HAProxy, a non-deterministic algorithm (`deterministic` false) with more than one server
   * redispatches on every retry once the option is on.
   */
  redispatch: number;
  /** True for hashing algorithms (source, uri, hdr...): a retry then stays on the hashed server. */
  deterministic: boolean;
  readonly timeouts: BackendTimeouts;
  readonly picker: ServerPicker;
  readonly servers: readonly RuntimeServer[];
  readonly counters: Counters;
  /** Connections waiting for a server slot (FIFO). Owned by the data path. */
  readonly queue: WaitQueue;
  /** http mode settings; undefined = HAProxy's defaults. */
  readonly http?: HttpBackendOptions;
  /** Per-request timings for the stats averages (optional; see RequestTimings). */
  timings?: RequestTimings;
}

/** What a frontend's routing may look at when choosing a backend (tcp mode: no payload fetches). */
export interface ConnInfo {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** The parsed TLS ClientHello when the frontend inspects (`req.ssl_sni`...), else undefined. */
  readonly hello: ClientHello | undefined;
}

export interface FrontendTimeouts {
  /** `timeout client`: inactivity on the client side. */
  client: number;
  /** `timeout http-request` (http mode). */
  httpRequest: number;
  /** `timeout http-keep-alive` (http mode). */
  httpKeepAlive: number;
}

export interface Frontend {
  readonly name: string;
  readonly mode: 'tcp' | 'http';
  readonly timeouts: FrontendTimeouts;
  /** Frontend `maxconn`; 0 = unlimited. Above it the listeners pause accepting. */
  maxconn: number;
  /**
   * `tcp-request inspect-delay` when the frontend's rules need the ClientHello (req.ssl_sni,
   * req.ssl_ver...); 0 = route on connection information only. The data path reads the first
   * bytes until a ClientHello is complete, the delay expires or the bytes are not TLS.
   */
  inspectDelay: number;
  /** `use_backend`/`default_backend` evaluated for one connection; undefined = close it. */
  selectBackend(conn: ConnInfo): Backend | undefined;
  readonly counters: Counters;
  /** http mode settings; undefined = HAProxy's defaults. */
  readonly http?: HttpFrontendOptions;
  /**
   * Traffic logging (`log` + `option httplog|tcplog` / `log-format`); absent = the frontend logs
   * nothing and the data path pays one branch per request/session for it.
   */
  log?: FrontendLog;
}

/** Where traffic log lines go: lb/log/targets.ts's Logger satisfies it. */
export interface LogSink {
  log(level: number, message: string): void;
}

/** A frontend's traffic log: format compiled once, the sink, and `option dontlognull`. */
export interface FrontendLog {
  readonly format: CompiledLogFormat;
  readonly sink: LogSink;
  readonly dontlognull: boolean;
}

/**
 * Process-wide figures the logs report (%ac = actconn: client connections of every frontend that
 * the data path currently holds). Incremented and decremented by http.ts and tcp.ts.
 */
export const processCounters = { actconn: 0 };

/** Where a listener accepts: an address and port (port 0 = any, for tests) or an inherited fd. */
export type BindAddress = { readonly host: string; readonly port: number } | { readonly fd: number };

export interface Listener {
  readonly bind: BindAddress;
  readonly frontend: Frontend;
  /** listen(2) backlog; undefined = Node's default. Also caps connections held while paused. */
  readonly backlog?: number;
  /**
   * Read accepted sockets with `onread` (called once per accepted socket for its buffer and
   * callback) instead of 'data' events: set by the data path that supports it (plain tcp mode).
   */
  readonly clientRead?: (() => net.OnReadOpts) | undefined;
}

/** Optional fields of createBackend(); everything else gets HAProxy's default. */
export interface BackendInit {
  name: string;
  picker: ServerPicker;
  servers: readonly RuntimeServer[];
  mode?: 'tcp' | 'http';
  retries?: number;
  redispatch?: number;
  deterministic?: boolean;
  timeouts?: Partial<BackendTimeouts>;
  http?: HttpBackendOptions;
}

/** Builds a Backend with HAProxy's defaults (retries 3, no redispatch, timeout queue = connect). */
export function createBackend(init: BackendInit): Backend {
  const connect = init.timeouts?.connect ?? 0;
  return {
    name: init.name,
    mode: init.mode ?? 'tcp',
    retries: init.retries ?? 3,
    redispatch: init.redispatch ?? 0,
    deterministic: init.deterministic ?? false,
    timeouts: {
      connect,
      server: init.timeouts?.server ?? 0,
      queue: init.timeouts?.queue ?? connect,
      tunnel: init.timeouts?.tunnel ?? 0,
    },
    picker: init.picker,
    servers: init.servers,
    counters: newCounters(),
    queue: new WaitQueue(),
    ...(init.http !== undefined ? { http: init.http } : {}),
  };
}

export function createServer(name: string, host: string, port: number, maxconn = 0): RuntimeServer {
  return { name, host, port, maxconn, counters: newCounters() };
}

export interface FrontendInit {
  name: string;
  selectBackend: (conn: ConnInfo) => Backend | undefined;
  mode?: 'tcp' | 'http';
  maxconn?: number;
  inspectDelay?: number;
  timeouts?: Partial<FrontendTimeouts>;
  http?: HttpFrontendOptions;
  log?: FrontendLog;
}

export function createFrontend(init: FrontendInit): Frontend {
  return {
    name: init.name,
    mode: init.mode ?? 'tcp',
    maxconn: init.maxconn ?? 0,
    inspectDelay: init.inspectDelay ?? 0,
    timeouts: {
      client: init.timeouts?.client ?? 0,
      httpRequest: init.timeouts?.httpRequest ?? 0,
      httpKeepAlive: init.timeouts?.httpKeepAlive ?? 0,
    },
    selectBackend: init.selectBackend,
    counters: newCounters(),
    ...(init.http !== undefined ? { http: init.http } : {}),
    ...(init.log !== undefined ? { log: init.log } : {}),
  };
}

/** Raises cur by one and keeps max in step (sessCur/sessMax, queueCur/queueMax). */
export function bumpSessions(c: Counters): void {
  c.sessCur++;
  c.sessTotal++;
  if (c.sessCur > c.sessMax) c.sessMax = c.sessCur;
}

/** A session (tcp) or request (http) takes a slot on `srv`: its counters and the picker's view. */
export function takeServerSlot(be: Backend, srv: RuntimeServer): void {
  bumpSessions(srv.counters);
  be.picker.taken(srv);
}

/** Gives a slot on `srv` back and lets the oldest session queued on the backend try again. */
export function releaseServerSlot(be: Backend, srv: RuntimeServer): void {
  srv.counters.sessCur--;
  be.picker.released(srv);
  if (be.queue.length > 0) be.queue.shift()?.dequeued();
}
