// The one column table of the stats views (DESIGN principle 4, HAProxy's stat_fields[]). CSV,
// `show stat typed`, JSON, Prometheus and the HTML dashboard all read these entries, in HAProxy
// 2.6's CSV order, so scripts that index columns by position (awk -F, '{print $62}') keep working.
//
// The names, descriptions, tags and value types were taken from Debian's haproxy 2.6.12 running on
// loopback (`show stat desc typed`, `show stat json`, `;csv`); the Prometheus names from the
// same binary's prometheus-exporter service. test/stats/fixtures/haproxy-2.6/ keeps those outputs
// and test/stats/haproxy-diff.test.ts compares them with a live haproxy when it is installed.
import type {
  BackendStats,
  CheckInfo,
  FrontendStats,
  ListenerStats,
  ProxyStats,
  ServerStats,
  Traffic,
} from './source.ts';

/** Object kinds as the typed output spells them: Frontend, Listener, Backend, Server. */
export type Kind = 'F' | 'L' | 'B' | 'S';
export type ValueType = 'u32' | 'u64' | 's32' | 'str';
export type Value = number | string;

/** Summary of a backend's servers that several columns need (HAProxy keeps them in the proxy). */
export interface BackendSummary {
  /** Usable active / backup servers (act, bck). */
  act: number;
  bck: number;
  /** Sum of effective weights taking the load (weight). */
  weight: number;
  /** Same with user weights (uweight). */
  uweight: number;
  /** Servers not stopped, and all servers: the "(2/3)" of `;up`. */
  nbup: number;
  nbsrv: number;
  up: boolean;
}

export type Row =
  | { readonly kind: 'F'; readonly px: ProxyStats; readonly fe: FrontendStats }
  | { readonly kind: 'L'; readonly px: ProxyStats; readonly fe: FrontendStats; readonly li: ListenerStats }
  | { readonly kind: 'B'; readonly px: ProxyStats; readonly be: BackendStats; readonly sum: BackendSummary }
  | { readonly kind: 'S'; readonly px: ProxyStats; readonly be: BackendStats; readonly sv: ServerStats };

/** Options that change values (not only the layout) of a rendering. */
export interface ValueOptions {
  /** Show addr, cookie and algo: `stats show-legends`, or CLI level operator/admin (STAT_SHLGNDS). */
  legends: boolean;
  /** `;up` / `show stat up` / `no-maint`: the backend status gets " (nbup/nbsrv)". */
  hideDown: boolean;
}

/** Tags as in `show stat typed`: origin, nature, scope letters, e.g. "MGP". */
export interface KindSpec {
  readonly tags: string;
  readonly type: ValueType;
}

export interface PromSpec {
  /** Metric suffix after haproxy_frontend_ / haproxy_listener_ / haproxy_backend_ / haproxy_server_. */
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly kinds: string;
  /** HELP text when promex overrides the column description. */
  readonly help?: string;
  /** Only for proxies in http mode (promex skips the others). */
  readonly httpOnly?: boolean;
  /** Milliseconds exported as seconds, printed with 6 decimals like promex's "%f". */
  readonly seconds?: boolean;
}

export interface Column {
  /** Name in the CSV header and typed output. */
  readonly name: string;
  /** Position in typed/JSON output (the CSV has an extra "-" column before the module fields). */
  readonly pos: number;
  readonly desc: string;
  /** Which object kinds have this column, with their tags and type. */
  readonly kinds: Readonly<Partial<Record<Kind, KindSpec>>>;
  /** The value for a row of a kind listed in `kinds`; undefined = empty field. */
  readonly get: (row: Row, opts: ValueOptions) => Value | undefined;
  readonly prom?: PromSpec;
}

type Getter = (row: Row, opts: ValueOptions) => Value | undefined;

function traffic(row: Row): Traffic {
  if (row.kind === 'F') return row.fe.traffic;
  if (row.kind === 'L') return row.li.traffic;
  if (row.kind === 'B') return row.be.traffic;
  return row.sv.traffic;
}

/** A plain counter read from the row's Traffic. */
const tr =
  (f: (t: Traffic) => number): Getter =>
  (row) =>
    f(traffic(row));

/** Like tr() but only for proxies in http mode (HAProxy leaves the field empty otherwise). */
const http =
  (f: (t: Traffic) => number): Getter =>
  (row) =>
    row.px.mode === 'http' ? f(traffic(row)) : undefined;

const mod =
  (name: string): Getter =>
  (row) =>
    traffic(row).modules?.[name] ?? 0;

/** Own check when it is enabled and not paused (HAProxy shows nothing otherwise). */
function activeCheck(c: CheckInfo | undefined): CheckInfo | undefined {
  return c !== undefined && c.enabled && !c.paused ? c : undefined;
}

function checkStatusText(c: CheckInfo): string {
  return (c.inProgress ? '* ' : '') + c.status;
}

const chk =
  (pick: (sv: ServerStats) => CheckInfo | undefined, f: (c: CheckInfo) => Value | undefined): Getter =>
  (row) => {
    if (row.kind !== 'S') return undefined;
    const c = activeCheck(pick(row.sv));
    return c === undefined ? undefined : f(c);
  };
const own = (sv: ServerStats): CheckInfo | undefined => sv.check;
const agent = (sv: ServerStats): CheckInfo | undefined => sv.agent;

/** Server status text as in the CSV: UP, DOWN, "UP 1/3", "DOWN 1/2", NOLB, DRAIN, MAINT, no check. */
export function serverStatus(sv: ServerStats): string {
  if (sv.admin.resolution) return 'MAINT (resolution)';
  if (sv.admin.maint && sv.admin.maintVia !== undefined) return `MAINT (via ${sv.admin.maintVia})`;
  if (sv.admin.maint) return 'MAINT';
  const ref = sv.healthCheck ?? sv.check;
  const refOn = ref !== undefined && ref.enabled;
  const agentOn = sv.agent !== undefined && sv.agent.enabled;
  // Progress shown in "UP h/f" (going down) and "DOWN h/r" (going up), as HAProxy computes it.
  const up = sv.state !== 'stopped';
  const a = ref === undefined ? 0 : up ? ref.health - ref.rise + 1 : ref.health;
  const b = ref === undefined ? 0 : up ? ref.fall : ref.rise;
  if (sv.state === 'running' || sv.state === 'starting') {
    const goingDown = refOn && ref.health < ref.rise + ref.fall - 1;
    if (sv.admin.drain) {
      if (agentOn) return 'DRAIN (agent)';
      return goingDown ? `DRAIN ${a}/${b}` : 'DRAIN';
    }
    if (goingDown) return `UP ${a}/${b}`;
    return refOn ? 'UP' : 'no check';
  }
  if (sv.state === 'stopping') {
    const ownOn = sv.check !== undefined && sv.check.enabled;
    if ((!ownOn && sv.tracked === undefined) || (ref !== undefined && ref.health === ref.rise + ref.fall - 1)) {
      return 'NOLB';
    }
    return `NOLB ${a}/${b}`;
  }
  if (agentOn && sv.agent?.health === 0) return 'DOWN (agent)';
  if (refOn && ref.health === 0) return 'DOWN';
  if (refOn || agentOn) return `DOWN ${a}/${b}`;
  return 'DOWN';
}

/** A server that can take new connections (HAProxy's srv_willbe_usable). */
export function serverUsable(sv: ServerStats): boolean {
  return (sv.state === 'running' || sv.state === 'starting') && !sv.admin.maint && sv.weight > 0;
}

export function summarizeBackend(be: BackendStats): BackendSummary {
  let act = 0;
  let bck = 0;
  let actW = 0;
  let actUw = 0;
  let bckW = 0;
  let bckUw = 0;
  let firstBck: ServerStats | undefined;
  let nbup = 0;
  for (const sv of be.servers) {
    if (sv.state !== 'stopped') nbup++;
    if (!serverUsable(sv)) continue;
    if (sv.backup) {
      bck++;
      bckW += sv.weight;
      bckUw += sv.uweight;
      firstBck ??= sv;
    } else {
      act++;
      actW += sv.weight;
      actUw += sv.uweight;
    }
  }
  let weight = actW;
  let uweight = actUw;
  if (act === 0 && bck > 0) {
    // Without active servers the backups take the load: all of them with `option allbackups`,
    // else only the first one.
    weight = be.allBackups ? bckW : (firstBck?.weight ?? 0);
    uweight = be.allBackups ? bckUw : (firstBck?.uweight ?? 0);
  }
  return { act, bck, weight, uweight, nbup, nbsrv: be.servers.length, up: weight > 0 || be.servers.length === 0 };
}

/** HAProxy's STATS_TYPE_*: the `type` column. */
const TYPE_NUM: Record<Kind, number> = { F: 0, B: 1, S: 2, L: 3 };

interface Def {
  name: string;
  kinds: string;
  /** "MGP:u32" for every kind, or "B=MGP:u32 S=SGP:u32" per kind. */
  spec: string;
  desc: string;
  get: Getter;
  prom?: PromSpec;
}

function parseKinds(kinds: string, spec: string): Partial<Record<Kind, KindSpec>> {
  const out: Partial<Record<Kind, KindSpec>> = {};
  const per = new Map<string, string>();
  for (const part of spec.split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) per.set(part.slice(0, eq), part.slice(eq + 1));
  }
  for (const k of ['F', 'L', 'B', 'S'] as const) {
    if (!kinds.includes(k)) continue;
    const s = per.get(k) ?? spec;
    const [tags, type] = s.split(':');
    if (tags === undefined || (type !== 'u32' && type !== 'u64' && type !== 's32' && type !== 'str')) {
      throw new Error(`column spec ${spec} for kind ${k} is malformed`);
    }
    out[k] = { tags, type };
  }
  return out;
}

const P = (name: string, type: 'gauge' | 'counter', kinds: string, extra: Partial<PromSpec> = {}): PromSpec => ({
  name,
  type,
  kinds,
  ...extra,
});

const AVG_HELP = (what: string): string => `Avg. ${what} time for last 1024 successful connections.`;

/** Index of the first module column: the CSV prints "-" before it. */
export const MODULE_START = 103;

const DEFS: Def[] = [
  { name: 'pxname', kinds: 'FLBS', spec: 'KNS:str', desc: 'Proxy name', get: (r) => r.px.name },
  {
    name: 'svname', kinds: 'FLBS', spec: 'KNS:str', desc: 'Server name',
    get: (r) => (r.kind === 'F' ? 'FRONTEND' : r.kind === 'B' ? 'BACKEND' : r.kind === 'L' ? r.li.name : r.sv.name),
  },
  { name: 'qcur', kinds: 'BS', spec: 'MGP:u32', desc: 'Number of current queued connections', get: tr((t) => t.queueCur), prom: P('current_queue', 'gauge', 'BS') },
  { name: 'qmax', kinds: 'BS', spec: 'MMP:u32', desc: 'Highest value of queued connections encountered since process started', get: tr((t) => t.queueMax), prom: P('max_queue', 'gauge', 'BS') },
  { name: 'scur', kinds: 'FLBS', spec: 'MGP:u32', desc: 'Number of current sessions on the frontend, backend or server', get: tr((t) => t.sessCur), prom: P('current_sessions', 'gauge', 'FLBS') },
  { name: 'smax', kinds: 'FLBS', spec: 'MMP:u32', desc: 'Highest value of current sessions encountered since process started', get: tr((t) => t.sessMax), prom: P('max_sessions', 'gauge', 'FLBS') },
  {
    name: 'slim', kinds: 'FLBS', spec: 'CLP:u32', desc: "Frontend/listener/server's maxconn, backend's fullconn",
    get: (r) => {
      if (r.kind === 'F') return r.fe.maxconn;
      if (r.kind === 'L') return r.li.maxconn;
      if (r.kind === 'B') return r.be.fullconn;
      return r.sv.maxconn > 0 ? r.sv.maxconn : undefined;
    },
    prom: P('limit_sessions', 'gauge', 'FLBS'),
  },
  { name: 'stot', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of sessions since process started', get: tr((t) => t.sessTotal), prom: P('sessions_total', 'counter', 'FLBS') },
  { name: 'bin', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of request bytes since process started', get: tr((t) => t.bytesIn), prom: P('bytes_in_total', 'counter', 'FLBS') },
  { name: 'bout', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of response bytes since process started', get: tr((t) => t.bytesOut), prom: P('bytes_out_total', 'counter', 'FLBS') },
  { name: 'dreq', kinds: 'FLB', spec: 'MCP:u64', desc: 'Total number of denied requests since process started', get: tr((t) => t.deniedReq), prom: P('requests_denied_total', 'counter', 'FLB') },
  { name: 'dresp', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of denied responses since process started', get: tr((t) => t.deniedResp), prom: P('responses_denied_total', 'counter', 'FLBS') },
  { name: 'ereq', kinds: 'FL', spec: 'MCP:u64', desc: 'Total number of invalid requests since process started', get: tr((t) => t.errReq), prom: P('request_errors_total', 'counter', 'FL') },
  { name: 'econ', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of failed connections to server since the worker process started', get: tr((t) => t.errConn), prom: P('connection_errors_total', 'counter', 'BS') },
  { name: 'eresp', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of invalid responses since the worker process started', get: tr((t) => t.errResp), prom: P('response_errors_total', 'counter', 'BS') },
  { name: 'wretr', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of server connection retries since the worker process started', get: tr((t) => t.retries), prom: P('retry_warnings_total', 'counter', 'BS') },
  { name: 'wredis', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of server redispatches due to connection failures since the worker process started', get: tr((t) => t.redispatches), prom: P('redispatch_warnings_total', 'counter', 'BS') },
  {
    name: 'status', kinds: 'FLBS', spec: 'SGP:str', desc: 'Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status',
    get: (r, o) => {
      if (r.kind === 'F') return r.fe.status;
      if (r.kind === 'L') return r.li.status;
      if (r.kind === 'B') return (r.sum.up ? 'UP' : 'DOWN') + (o.hideDown ? ` (${r.sum.nbup}/${r.sum.nbsrv})` : '');
      return serverStatus(r.sv);
    },
    prom: P('status', 'gauge', 'FLBS', { help: 'Current status of the service, per state label value.' }),
  },
  {
    name: 'weight', kinds: 'BS', spec: 'MaP:u32', desc: "Server's effective weight, or sum of active servers' effective weights for a backend",
    get: (r) => (r.kind === 'B' ? r.sum.weight : r.kind === 'S' ? r.sv.weight : undefined),
    prom: P('weight', 'gauge', 'BS'),
  },
  {
    name: 'act', kinds: 'BS', spec: 'B=MGP:u32 S=SGP:u32', desc: 'Total number of active UP servers with a non-zero weight',
    get: (r) => (r.kind === 'B' ? r.sum.act : r.kind === 'S' ? (r.sv.backup ? 0 : 1) : undefined),
    prom: P('active_servers', 'gauge', 'B'),
  },
  {
    name: 'bck', kinds: 'BS', spec: 'B=MGP:u32 S=SGP:u32', desc: 'Total number of backup UP servers with a non-zero weight',
    get: (r) => (r.kind === 'B' ? r.sum.bck : r.kind === 'S' ? (r.sv.backup ? 1 : 0) : undefined),
    prom: P('backup_servers', 'gauge', 'B'),
  },
  {
    name: 'chkfail', kinds: 'S', spec: 'MCP:u64', desc: 'Total number of failed individual health checks per server/backend, since the worker process started',
    get: (r) => (r.kind === 'S' && r.sv.check?.enabled === true ? r.sv.traffic.failedChecks : undefined),
    prom: P('check_failures_total', 'counter', 'S'),
  },
  {
    name: 'chkdown', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started',
    get: (r) => (r.kind === 'B' ? r.be.traffic.downTransitions : r.kind === 'S' && r.sv.check?.enabled === true ? r.sv.traffic.downTransitions : undefined),
    prom: P('check_up_down_total', 'counter', 'BS'),
  },
  {
    name: 'lastchg', kinds: 'BS', spec: 'MAP:u32', desc: 'How long ago the last server state changed, in seconds',
    get: (r) => (r.kind === 'B' ? r.be.lastChangeSec : r.kind === 'S' ? r.sv.lastChangeSec : undefined),
    prom: P('check_last_change_seconds', 'gauge', 'BS'),
  },
  {
    name: 'downtime', kinds: 'BS', spec: 'MCP:u32', desc: 'Total time spent in DOWN state, for server or backend',
    get: (r) =>
      r.kind === 'B' ? (r.be.servers.length > 0 ? r.be.downtimeSec : undefined) : r.kind === 'S' && r.sv.check?.enabled === true ? r.sv.downtimeSec : undefined,
    prom: P('downtime_seconds_total', 'counter', 'BS'),
  },
  {
    name: 'qlimit', kinds: 'S', spec: 'CGS:u32', desc: 'Limit on the number of connections in queue, for servers only (maxqueue argument)',
    get: (r) => (r.kind === 'S' && r.sv.maxqueue > 0 ? r.sv.maxqueue : undefined),
    prom: P('queue_limit', 'gauge', 'S'),
  },
  { name: 'pid', kinds: 'FLBS', spec: 'KGP:u32', desc: 'Relative worker process number (1)', get: () => 1 },
  { name: 'iid', kinds: 'FLBS', spec: 'KGS:u32', desc: "Frontend or Backend numeric identifier ('id' setting)", get: (r) => r.px.id },
  {
    name: 'sid', kinds: 'FLBS', spec: 'KGS:u32', desc: "Server numeric identifier ('id' setting)",
    get: (r) => (r.kind === 'S' ? r.sv.id : r.kind === 'L' ? r.li.id : 0),
  },
  {
    name: 'throttle', kinds: 'S', spec: 'MaP:u32', desc: "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)",
    get: (r) => (r.kind === 'S' && r.sv.state === 'starting' && !r.sv.admin.drain ? r.sv.throttle : undefined),
    prom: P('current_throttle', 'gauge', 'S'),
  },
  {
    name: 'lbtot', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)',
    get: tr((t) => t.lbTotal), prom: P('loadbalanced_total', 'counter', 'BS'),
  },
  { name: 'tracked', kinds: 'S', spec: 'CNS:str', desc: 'Name of the other server this server tracks for its state', get: (r) => (r.kind === 'S' ? r.sv.tracked : undefined) },
  { name: 'type', kinds: 'FLBS', spec: 'CGS:u32', desc: 'Type of the object (Listener, Frontend, Backend, Server)', get: (r) => TYPE_NUM[r.kind] },
  {
    name: 'rate', kinds: 'FBS', spec: 'F=MRP:u32 B=MGP:u32 S=MRP:u32',
    desc: 'Total number of sessions processed by this object over the last second (sessions for listeners/frontends, requests for backends/servers)',
    get: tr((t) => t.sessRate),
  },
  {
    name: 'rate_lim', kinds: 'F', spec: 'CLP:u32', desc: "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)",
    get: (r) => (r.kind === 'F' ? r.fe.rateLimit : undefined), prom: P('limit_session_rate', 'gauge', 'F'),
  },
  {
    name: 'rate_max', kinds: 'FBS', spec: 'F=MMP:u32 B=MGP:u32 S=MMP:u32', desc: 'Highest value of sessions per second observed since the worker process started',
    get: tr((t) => t.sessRateMax), prom: P('max_session_rate', 'gauge', 'FBS'),
  },
  {
    name: 'check_status', kinds: 'S', spec: 'MOP:str', desc: "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress",
    get: chk(own, checkStatusText),
    prom: P('check_status', 'gauge', 'S', { help: 'Status of last health check, per state label value.' }),
  },
  {
    name: 'check_code', kinds: 'S', spec: 'MOP:u32', desc: 'HTTP/SMTP/LDAP status code reported by the latest server health check',
    get: chk(own, (c) => c.code), prom: P('check_code', 'gauge', 'S', { help: 'layer5-7 code, if available of the last health check.' }),
  },
  {
    name: 'check_duration', kinds: 'S', spec: 'MDP:u64', desc: 'Total duration of the latest server health check, in milliseconds',
    get: chk(own, (c) => c.durationMs),
    prom: P('check_duration_seconds', 'gauge', 'S', { help: 'Total duration of the latest server health check, in seconds.', seconds: true }),
  },
  ...(['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const).map((cls, i): Def => {
    const idx = cls === 'other' ? 0 : i + 1;
    const range = ['100-199', '200-299', '300-399', '400-499', '500-599'][i];
    return {
      name: `hrsp_${cls}`, kinds: 'FBS', spec: 'MCP:u64',
      desc: cls === 'other'
        ? 'Total number of HTTP responses with status <100, >599 returned by this object since the worker process started (error -1 included)'
        : `Total number of HTTP responses with status ${range} returned by this object since the worker process started`,
      get: http((t) => t.hrsp[idx] ?? 0),
      prom: P('http_responses_total', 'counter', 'FBS', { httpOnly: true }),
    };
  }),
  {
    name: 'hanafail', kinds: 'S', spec: 'MCP:u64', desc: "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched",
    get: (r) => (r.kind === 'S' && r.sv.observe ? r.sv.traffic.hanaFailures : undefined),
  },
  { name: 'req_rate', kinds: 'F', spec: 'MRP:u32', desc: 'Number of HTTP requests processed over the last second on this object', get: tr((t) => t.reqRate) },
  {
    name: 'req_rate_max', kinds: 'F', spec: 'MMP:u32', desc: 'Highest value of http requests observed since the worker process started',
    get: tr((t) => t.reqRateMax), prom: P('http_requests_rate_max', 'gauge', 'F', { httpOnly: true }),
  },
  {
    name: 'req_tot', kinds: 'FBS', spec: 'MCP:u64', desc: 'Total number of HTTP requests processed by this object since the worker process started',
    get: (r) => (r.kind === 'F' || r.px.mode === 'http' ? traffic(r).reqTotal : undefined),
    prom: P('http_requests_total', 'counter', 'FB', { httpOnly: true }),
  },
  { name: 'cli_abrt', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of requests or connections aborted by the client since the worker process started', get: tr((t) => t.cliAborts), prom: P('client_aborts_total', 'counter', 'BS') },
  { name: 'srv_abrt', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of requests or connections aborted by the server since the worker process started', get: tr((t) => t.srvAborts), prom: P('server_aborts_total', 'counter', 'BS') },
  { name: 'comp_in', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of bytes submitted to the HTTP compressor for this object since the worker process started', get: tr((t) => t.compIn), prom: P('http_comp_bytes_in_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'comp_out', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of bytes emitted by the HTTP compressor for this object since the worker process started', get: tr((t) => t.compOut), prom: P('http_comp_bytes_out_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'comp_byp', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)', get: tr((t) => t.compBypassed), prom: P('http_comp_bytes_bypassed_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'comp_rsp', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of HTTP responses that were compressed for this object since the worker process started', get: tr((t) => t.compResponses), prom: P('http_comp_responses_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'lastsess', kinds: 'BS', spec: 'MAP:s32', desc: 'How long ago some traffic was seen on this object on this worker process, in seconds', get: tr((t) => t.lastSessSec), prom: P('last_session_seconds', 'gauge', 'BS') },
  { name: 'last_chk', kinds: 'S', spec: 'MOP:str', desc: 'Short description of the latest health check report for this server (see also check_desc)', get: chk(own, (c) => c.info) },
  { name: 'last_agt', kinds: 'S', spec: 'MOP:str', desc: 'Short description of the latest agent check report for this server (see also agent_desc)', get: chk(agent, (c) => c.info) },
  { name: 'qtime', kinds: 'BS', spec: 'MaP:u32', desc: 'Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)', get: tr((t) => t.qtimeAvg), prom: P('queue_time_average_seconds', 'gauge', 'BS', { help: AVG_HELP('queue'), seconds: true }) },
  { name: 'ctime', kinds: 'BS', spec: 'MaP:u32', desc: 'Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests (backend/server)', get: tr((t) => t.ctimeAvg), prom: P('connect_time_average_seconds', 'gauge', 'BS', { help: AVG_HELP('connect'), seconds: true }) },
  { name: 'rtime', kinds: 'BS', spec: 'MaP:u32', desc: 'Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests (backend/server)', get: tr((t) => t.rtimeAvg), prom: P('response_time_average_seconds', 'gauge', 'BS', { help: AVG_HELP('response'), seconds: true }) },
  { name: 'ttime', kinds: 'BS', spec: 'MaP:u32', desc: 'Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the 1024 last requests (backend/server)', get: tr((t) => t.ttimeAvg), prom: P('total_time_average_seconds', 'gauge', 'BS', { help: AVG_HELP('total'), seconds: true }) },
  { name: 'agent_status', kinds: 'S', spec: 'MOP:str', desc: "Status report of the server's latest agent check, prefixed with '*' if a check is currently in progress", get: chk(agent, checkStatusText) },
  { name: 'agent_code', kinds: 'S', spec: 'MOP:u32', desc: 'Status code reported by the latest server agent check', get: chk(agent, (c) => c.code) },
  { name: 'agent_duration', kinds: 'S', spec: 'MDP:u64', desc: 'Total duration of the latest server agent check, in milliseconds', get: chk(agent, (c) => c.durationMs) },
  { name: 'check_desc', kinds: 'S', spec: 'MOP:str', desc: 'Textual description of the latest health check report for this server', get: chk(own, (c) => c.description) },
  { name: 'agent_desc', kinds: 'S', spec: 'MOP:str', desc: 'Textual description of the latest agent check report for this server', get: chk(agent, (c) => c.description) },
  // rise/fall/health of the check that decides (the tracked one), shown when the own check runs.
  { name: 'check_rise', kinds: 'S', spec: 'CGS:u32', desc: "Number of successful health checks before declaring a server UP (server 'rise' setting)", get: chk(own, (c) => c.rise) },
  { name: 'check_fall', kinds: 'S', spec: 'CGS:u32', desc: "Number of failed health checks before declaring a server DOWN (server 'fall' setting)", get: chk(own, (c) => c.fall) },
  { name: 'check_health', kinds: 'S', spec: 'CGS:u32', desc: 'Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)', get: chk(own, (c) => c.health) },
  { name: 'agent_rise', kinds: 'S', spec: 'CGS:u32', desc: "Number of successful agent checks before declaring a server UP (server 'rise' setting)", get: chk(agent, (c) => c.rise) },
  { name: 'agent_fall', kinds: 'S', spec: 'CGS:u32', desc: "Number of failed agent checks before declaring a server DOWN (server 'fall' setting)", get: chk(agent, (c) => c.fall) },
  { name: 'agent_health', kinds: 'S', spec: 'CGS:u32', desc: 'Current server agent check level (0..fall-1=DOWN, fall..rise-1=UP)', get: chk(agent, (c) => c.health) },
  {
    name: 'addr', kinds: 'LS', spec: 'CGS:str', desc: "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI",
    get: (r, o) => (!o.legends ? undefined : r.kind === 'S' ? r.sv.addr : r.kind === 'L' ? r.li.addr : undefined),
  },
  {
    name: 'cookie', kinds: 'BS', spec: 'CNS:str', desc: "Backend's cookie name or Server's cookie value, shown only if show-legends is set, or at levels oper/admin for the CLI",
    get: (r, o) => (!o.legends ? undefined : r.kind === 'S' ? r.sv.cookie : r.kind === 'B' ? r.be.cookie : undefined),
  },
  { name: 'mode', kinds: 'FLBS', spec: 'CGS:str', desc: "'mode' setting (tcp/http/health/cli)", get: (r) => r.px.mode },
  {
    name: 'algo', kinds: 'B', spec: 'CGS:str', desc: "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI",
    get: (r, o) => (o.legends && r.kind === 'B' ? r.be.algo : undefined),
  },
  { name: 'conn_rate', kinds: 'F', spec: 'MRP:u32', desc: 'Number of new connections accepted over the last second on the frontend for this worker process', get: tr((t) => t.connRate) },
  { name: 'conn_rate_max', kinds: 'F', spec: 'MMP:u32', desc: 'Highest value of connections per second observed since the worker process started', get: tr((t) => t.connRateMax), prom: P('connections_rate_max', 'gauge', 'F') },
  { name: 'conn_tot', kinds: 'F', spec: 'MCP:u64', desc: 'Total number of new connections accepted on this frontend since the worker process started', get: tr((t) => t.connTotal), prom: P('connections_total', 'counter', 'F') },
  { name: 'intercepted', kinds: 'F', spec: 'MCP:u64', desc: 'Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started', get: http((t) => t.intercepted), prom: P('intercepted_requests_total', 'counter', 'F', { httpOnly: true }) },
  { name: 'dcon', kinds: 'FL', spec: 'MCP:u64', desc: 'Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started', get: tr((t) => t.deniedConn), prom: P('denied_connections_total', 'counter', 'FL') },
  { name: 'dses', kinds: 'FL', spec: 'MCP:u64', desc: 'Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started', get: tr((t) => t.deniedSess), prom: P('denied_sessions_total', 'counter', 'FL') },
  { name: 'wrew', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of failed HTTP header rewrites since the worker process started', get: tr((t) => t.failedRewrites), prom: P('failed_header_rewriting_total', 'counter', 'FLBS') },
  { name: 'connect', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of outgoing connection attempts on this backend/server since the worker process started', get: tr((t) => t.connectAttempts), prom: P('connection_attempts_total', 'counter', 'BS') },
  { name: 'reuse', kinds: 'BS', spec: 'MCP:u64', desc: 'Total number of reused connection on this backend/server since the worker process started', get: tr((t) => t.reuses), prom: P('connection_reuses_total', 'counter', 'BS') },
  { name: 'cache_lookups', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started', get: http((t) => t.cacheLookups), prom: P('http_cache_lookups_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'cache_hits', kinds: 'FB', spec: 'MCP:u64', desc: 'Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started', get: http((t) => t.cacheHits), prom: P('http_cache_hits_total', 'counter', 'FB', { httpOnly: true }) },
  { name: 'srv_icur', kinds: 'S', spec: 'MGP:u32', desc: 'Current number of idle connections available for reuse on this server', get: tr((t) => t.idleCur), prom: P('idle_connections_current', 'gauge', 'S') },
  {
    name: 'src_ilim', kinds: 'S', spec: 'CLP:u32', desc: "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)",
    get: (r) => (r.kind === 'S' ? r.sv.idleLimit : undefined), prom: P('idle_connections_limit', 'gauge', 'S'),
  },
  { name: 'qtime_max', kinds: 'BS', spec: 'MMP:u32', desc: 'Maximum observed time spent in the queue, in milliseconds (backend/server)', get: tr((t) => t.qtimeMax), prom: P('max_queue_time_seconds', 'gauge', 'BS', { help: 'Maximum observed time spent in the queue', seconds: true }) },
  { name: 'ctime_max', kinds: 'BS', spec: 'MMP:u32', desc: 'Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)', get: tr((t) => t.ctimeMax), prom: P('max_connect_time_seconds', 'gauge', 'BS', { help: 'Maximum observed time spent waiting for a connection to complete', seconds: true }) },
  { name: 'rtime_max', kinds: 'BS', spec: 'MMP:u32', desc: 'Maximum observed time spent waiting for a server response, in milliseconds (backend/server)', get: tr((t) => t.rtimeMax), prom: P('max_response_time_seconds', 'gauge', 'BS', { help: 'Maximum observed time spent waiting for a server response', seconds: true }) },
  { name: 'ttime_max', kinds: 'BS', spec: 'MMP:u32', desc: 'Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds (backend/server)', get: tr((t) => t.ttimeMax), prom: P('max_total_time_seconds', 'gauge', 'BS', { help: 'Maximum observed total request+response time (request+queue+connect+response+processing)', seconds: true }) },
  { name: 'eint', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of internal errors since process started', get: tr((t) => t.internalErrors), prom: P('internal_errors_total', 'counter', 'FLBS') },
  { name: 'idle_conn_cur', kinds: 'S', spec: 'MGP:u32', desc: 'Current number of unsafe idle connections', get: tr((t) => t.idleUnsafe), prom: P('unsafe_idle_connections_current', 'gauge', 'S') },
  { name: 'safe_conn_cur', kinds: 'S', spec: 'MGP:u32', desc: 'Current number of safe idle connections', get: tr((t) => t.idleSafe), prom: P('safe_idle_connections_current', 'gauge', 'S') },
  { name: 'used_conn_cur', kinds: 'S', spec: 'MGP:u32', desc: 'Current number of connections in use', get: tr((t) => t.usedConns), prom: P('used_connections_current', 'gauge', 'S') },
  { name: 'need_conn_est', kinds: 'S', spec: 'MGP:u32', desc: 'Estimated needed number of connections', get: tr((t) => t.needConnEst), prom: P('need_connections_current', 'gauge', 'S') },
  {
    name: 'uweight', kinds: 'BS', spec: 'MaP:u32', desc: "Server's user weight, or sum of active servers' user weights for a backend",
    get: (r) => (r.kind === 'B' ? r.sum.uweight : r.kind === 'S' ? r.sv.uweight : undefined), prom: P('uweight', 'gauge', 'BS'),
  },
  // HAProxy 2.6 prints 0 for the aggregated columns in CSV/JSON; promex expands them per state.
  { name: 'agg_server_status', kinds: 'B', spec: 'MGP:u32', desc: "Backend's aggregated gauge of servers' status", get: () => 0, prom: P('agg_server_status', 'gauge', 'B') },
  { name: 'agg_server_check_status', kinds: 'B', spec: 'MGP:u32', desc: "Backend's aggregated gauge of servers' state check status", get: () => 0, prom: P('agg_server_check_status', 'gauge', 'B') },
  { name: 'agg_check_status', kinds: 'B', spec: 'MGP:u32', desc: "Backend's aggregated gauge of servers' state check status", get: () => 0, prom: P('agg_check_status', 'gauge', 'B') },
  // Module columns (after the CSV's "-" separator): ssl, h2 and h1 counters.
  { name: 'ssl_sess', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of ssl sessions established', get: mod('ssl_sess') },
  { name: 'ssl_reused_sess', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of ssl sessions reused', get: mod('ssl_reused_sess') },
  { name: 'ssl_failed_handshake', kinds: 'FLBS', spec: 'MCP:u64', desc: 'Total number of failed handshake', get: mod('ssl_failed_handshake') },
  ...(
    [
      ['h2_headers_rcvd', 'MCP', 'Total number of received HEADERS frames'],
      ['h2_data_rcvd', 'MCP', 'Total number of received DATA frames'],
      ['h2_settings_rcvd', 'MCP', 'Total number of received SETTINGS frames'],
      ['h2_rst_stream_rcvd', 'MCP', 'Total number of received RST_STREAM frames'],
      ['h2_goaway_rcvd', 'MCP', 'Total number of received GOAWAY frames'],
      ['h2_detected_conn_protocol_errors', 'MCP', 'Total number of connection protocol errors'],
      ['h2_detected_strm_protocol_errors', 'MCP', 'Total number of stream protocol errors'],
      ['h2_rst_stream_resp', 'MCP', 'Total number of RST_STREAM sent on detected error'],
      ['h2_goaway_resp', 'MCP', 'Total number of GOAWAY sent on detected error'],
      ['h2_open_connections', 'MGP', 'Count of currently open connections'],
      ['h2_backend_open_streams', 'MGP', 'Count of currently open streams'],
      ['h2_total_connections', 'MCP', 'Total number of connections'],
      ['h2_backend_total_streams', 'MCP', 'Total number of streams'],
      ['h1_open_connections', 'MGP', 'Count of currently open connections'],
      ['h1_open_streams', 'MGP', 'Count of currently open streams'],
      ['h1_total_connections', 'MCP', 'Total number of connections'],
      ['h1_total_streams', 'MCP', 'Total number of streams'],
      ['h1_bytes_in', 'MCP', 'Total number of bytes received'],
      ['h1_bytes_out', 'MCP', 'Total number of bytes send'],
      ['h1_spliced_bytes_in', 'MCP', 'Total number of bytes received using kernel splicing'],
      ['h1_spliced_bytes_out', 'MCP', 'Total number of bytes sendusing kernel splicing'],
    ] as const
  ).map(([name, tags, desc]): Def => ({ name, kinds: 'FB', spec: `${tags}:u64`, desc, get: mod(name) })),
];

/**
 * Positions 29 (throttle), 45 (hanafail), 63 (agent_code) and 89 (src_ilim) are kept in the
 * sequence above: DEFS is complete and ordered, COLUMNS numbers it.
 */
export const COLUMNS: readonly Column[] = DEFS.map((d, pos) => {
  const c: Column = { name: d.name, pos, desc: d.desc, kinds: parseKinds(d.kinds, d.spec), get: d.get };
  return d.prom === undefined ? c : { ...c, prom: d.prom };
});

export const COLUMN_BY_NAME: ReadonlyMap<string, Column> = new Map(COLUMNS.map((c) => [c.name, c]));

/** The CSV header names in order, with HAProxy's "-" separator before the module columns. */
export function csvHeaderNames(): string[] {
  const names: string[] = [];
  for (const c of COLUMNS) {
    if (c.pos === MODULE_START) names.push('-');
    names.push(c.name);
  }
  return names;
}

/** Value of column `c` for `row`, or undefined when the field is empty for this object. */
export function columnValue(c: Column, row: Row, opts: ValueOptions): Value | undefined {
  if (c.kinds[row.kind] === undefined) return undefined;
  return c.get(row, opts);
}

const ORIGIN: Record<string, string> = { M: 'Metric', S: 'Status', K: 'Key', C: 'Config', P: 'Product' };
const NATURE: Record<string, string> = {
  G: 'Gauge', L: 'Limit', m: 'Min', M: 'Max', R: 'Rate', C: 'Counter', D: 'Duration', A: 'Age',
  T: 'Time', N: 'Name', O: 'Output', a: 'Avg',
};
const SCOPE: Record<string, string> = { C: 'Cluster', P: 'Process', S: 'Service', s: 'System' };

/** The JSON `tags` object for tag letters like "MGP". */
export function tagWords(tags: string): { origin: string; nature: string; scope: string } {
  return {
    origin: ORIGIN[tags[0] ?? ''] ?? 'Unknown',
    nature: NATURE[tags[1] ?? ''] ?? 'Unknown',
    scope: SCOPE[tags[2] ?? ''] ?? 'Unknown',
  };
}
