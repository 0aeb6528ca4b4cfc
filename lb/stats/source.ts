// What the stats views read: a snapshot of frontends, listeners, backends and servers with their
// counters, states, check results and limits, plus process information. The runtime (lb/proxy,
// lb/checks) is adapted to this interface by the caller; the renderers never reach into sockets,
// so every view is tested with plain fixture objects.
//
// Units: times in milliseconds unless the name ends in "Sec"; "age" fields are seconds elapsed
// since the event (HAProxy's lastchg/lastsess); limits are counts and 0 means "no limit".

/** Traffic counters of one object. A counter that does not apply to an object is ignored. */
export interface Traffic {
  sessCur: number;
  sessMax: number;
  sessTotal: number;
  bytesIn: number;
  bytesOut: number;
  deniedReq: number;
  deniedResp: number;
  /** Invalid requests (frontend/listener: ereq). */
  errReq: number;
  /** Failed connections to servers (econ). */
  errConn: number;
  /** Failed responses from servers (eresp). */
  errResp: number;
  retries: number;
  redispatches: number;
  queueCur: number;
  queueMax: number;
  /** Times a server was picked by load balancing (lbtot). */
  lbTotal: number;
  sessRate: number;
  sessRateMax: number;
  connRate: number;
  connRateMax: number;
  connTotal: number;
  reqRate: number;
  reqRateMax: number;
  reqTotal: number;
  /** HTTP responses by class: [other, 1xx, 2xx, 3xx, 4xx, 5xx] as HAProxy stores them. */
  hrsp: readonly [number, number, number, number, number, number];
  cliAborts: number;
  srvAborts: number;
  compIn: number;
  compOut: number;
  compBypassed: number;
  compResponses: number;
  /** Seconds since the last session was assigned; -1 = never. */
  lastSessSec: number;
  /** Averages over the last 1024 requests (ms). */
  qtimeAvg: number;
  ctimeAvg: number;
  rtimeAvg: number;
  ttimeAvg: number;
  qtimeMax: number;
  ctimeMax: number;
  rtimeMax: number;
  ttimeMax: number;
  /** Requests answered by the proxy itself (redirects, stats, services). */
  intercepted: number;
  /** Connections/sessions refused by tcp-request connection/session rules (dcon/dses). */
  deniedConn: number;
  deniedSess: number;
  failedRewrites: number;
  connectAttempts: number;
  reuses: number;
  cacheLookups: number;
  cacheHits: number;
  internalErrors: number;
  /** Server: failed health checks (chkfail). */
  failedChecks: number;
  /** UP→DOWN transitions (chkdown). */
  downTransitions: number;
  /** Failures counted by `observe` (hanafail). */
  hanaFailures: number;
  /** Server connection pool (srv_icur, idle_conn_cur, safe_conn_cur, used_conn_cur, need_conn_est). */
  idleCur: number;
  idleUnsafe: number;
  idleSafe: number;
  usedConns: number;
  needConnEst: number;
  /**
   * Values of HAProxy's module columns after the "-" separator (ssl_sess, h1_bytes_in, ...) by
   * column name; a missing entry is 0.
   */
  modules?: Readonly<Record<string, number>>;
}

export function emptyTraffic(): Traffic {
  return {
    sessCur: 0, sessMax: 0, sessTotal: 0, bytesIn: 0, bytesOut: 0, deniedReq: 0, deniedResp: 0,
    errReq: 0, errConn: 0, errResp: 0, retries: 0, redispatches: 0, queueCur: 0, queueMax: 0,
    lbTotal: 0, sessRate: 0, sessRateMax: 0, connRate: 0, connRateMax: 0, connTotal: 0,
    reqRate: 0, reqRateMax: 0, reqTotal: 0, hrsp: [0, 0, 0, 0, 0, 0], cliAborts: 0, srvAborts: 0,
    compIn: 0, compOut: 0, compBypassed: 0, compResponses: 0, lastSessSec: -1, qtimeAvg: 0,
    ctimeAvg: 0, rtimeAvg: 0, ttimeAvg: 0, qtimeMax: 0, ctimeMax: 0, rtimeMax: 0, ttimeMax: 0,
    intercepted: 0, deniedConn: 0, deniedSess: 0, failedRewrites: 0, connectAttempts: 0,
    reuses: 0, cacheLookups: 0, cacheHits: 0, internalErrors: 0, failedChecks: 0,
    downTransitions: 0, hanaFailures: 0, idleCur: 0, idleUnsafe: 0, idleSafe: 0, usedConns: 0,
    needConnEst: 0,
  };
}

/** One health check or agent check as the stats see it (HAProxy's struct check). */
export interface CheckInfo {
  /** Configured and not disabled (`disable health` clears it). */
  enabled: boolean;
  /** Suspended, e.g. while the server is in MAINT: enabled but not reported. */
  paused: boolean;
  /** A check is running now (the status is then prefixed with "* "). */
  inProgress: boolean;
  /** Short status name from the check status table: L4OK, L7STS, INI, UNK, ... */
  status: string;
  /** Layer 5-7 code (HTTP status, agent code) when the status carries one. */
  code: number | undefined;
  /** Duration of the last completed check (ms); undefined before the first one completes. */
  durationMs: number | undefined;
  /** Long description of `status` ("Layer7 check passed"). */
  description: string;
  /** Details of the last result ("Connection refused", "HTTP status check returned code <500>"). */
  info: string;
  rise: number;
  fall: number;
  /** 0..rise+fall-1: below rise the server is DOWN, from rise it is UP. */
  health: number;
}

/** Operational state (HAProxy's cur_state). MAINT and DRAIN are administrative, see ServerStats.admin. */
export type ServerOpState = 'running' | 'starting' | 'stopping' | 'stopped';

export interface ServerStats {
  name: string;
  /** Server id (`id` setting or position, HAProxy's puid). */
  id: number;
  /** "ip:port" ("[v6]:port" for IPv6), shown only with show-legends / CLI oper level. */
  addr: string;
  cookie: string | undefined;
  backup: boolean;
  state: ServerOpState;
  admin: {
    /** In maintenance (forced or configured `disabled`). */
    maint: boolean;
    /** "backend/server" when MAINT is inherited from a tracked server. */
    maintVia: string | undefined;
    /** MAINT because DNS resolution failed. */
    resolution: boolean;
    drain: boolean;
  };
  /** Effective weight as HAProxy reports it (0..256, slowstart and drain applied). */
  weight: number;
  /** User weight (configured or set at runtime). */
  uweight: number;
  /** "backend/server" of the tracked server. */
  tracked: string | undefined;
  check: CheckInfo | undefined;
  agent: CheckInfo | undefined;
  /**
   * The check that decides this server's health: its own, or the one at the end of the `track`
   * chain. Used for the "UP 1/3" progress and "no check" status; defaults to `check`.
   */
  healthCheck?: CheckInfo | undefined;
  /** Slowstart throttle percentage while starting; undefined otherwise. */
  throttle: number | undefined;
  lastChangeSec: number;
  downtimeSec: number;
  maxconn: number;
  maxqueue: number;
  /** `observe` configured (hanafail is reported). */
  observe: boolean;
  /** pool-max-conn; undefined = unlimited. */
  idleLimit: number | undefined;
  traffic: Traffic;
}

export interface FrontendStats {
  /** "OPEN", "STOP", "PAUSED" or "FULL". */
  status: string;
  maxconn: number;
  /** `rate-limit sessions`; 0 = none. */
  rateLimit: number;
  traffic: Traffic;
}

export interface ListenerStats {
  name: string;
  id: number;
  /** "OPEN", "WAITING", "FULL", ... */
  status: string;
  maxconn: number;
  addr: string;
  traffic: Traffic;
}

export interface BackendStats {
  /** Balance algorithm name as HAProxy prints it (roundrobin, leastconn, source, ...). */
  algo: string;
  /** `cookie NAME` of the backend. */
  cookie: string | undefined;
  /** `fullconn` (HAProxy reports its computed default when unset). */
  fullconn: number;
  lastChangeSec: number;
  downtimeSec: number;
  /** `option allbackups`: all backups share the load, else only the first. */
  allBackups: boolean;
  traffic: Traffic;
  servers: readonly ServerStats[];
}

export type ProxyMode = 'tcp' | 'http' | 'health' | 'cli';

export interface ProxyStats {
  name: string;
  /** Proxy id (`id` setting or position, HAProxy's uuid). */
  id: number;
  mode: ProxyMode;
  /** Frontend side; undefined for a pure backend. */
  frontend: FrontendStats | undefined;
  /** Listeners with `option socket-stats` (each gets its own row). */
  listeners: readonly ListenerStats[];
  /** Backend side; undefined for a pure frontend. */
  backend: BackendStats | undefined;
}

export interface ProcessStats {
  pid: number;
  /** Relative process number (always 1: one worker). */
  relativePid: number;
  nbthread: number;
  uptimeSec: number;
  version: string;
  releaseDate: string;
  node: string;
  description: string | undefined;
  /** 0 = unlimited. */
  memmaxMb: number;
  ulimitN: number;
  maxsock: number;
  maxconn: number;
  maxpipes: number;
  currConns: number;
  pipesUsed: number;
  pipesFree: number;
  connRate: number;
  /** Output bytes per second over the last second. */
  bytesOutRate: number;
  tasks: number;
  runQueue: number;
  idlePct: number;
}

/** A snapshot provider: every view calls it once per rendering. */
export interface StatsSource {
  process: ProcessStats;
  /** In configuration order (HAProxy lists proxies by id). */
  proxies: readonly ProxyStats[];
}
