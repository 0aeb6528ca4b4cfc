// The running proxy as the stats views (StatsSource, ./source.ts) and the runtime API
// (RuntimeContext, lb/runtime/context.ts) see it: one object over the live structures, read on
// demand. Nothing here is on the data path: counters are read when a page, a CSV or a CLI command
// asks for them, and the only periodic work is a one-second rate sampler (sessions/requests per
// second and their maxima, HAProxy's "last second" rates) over a few hundred numbers.
//
// Times: ServerState keeps performance.now() instants; the views want "seconds since" (stats) or
// epoch milliseconds (CLI). Downtime is accumulated by the state sink wrapper in lb/proxy/runtime.ts
// (LiveServer.down*), so DOWN periods are counted exactly when the Pool is told.
import os from 'node:os';
import type { BuiltBackend, BuiltConfig, BuiltServer, BuiltStats } from '../proxy/build.ts';
import { closeIdleConnections } from '../proxy/http.ts';
import { newCounters, type Counters, type Frontend, type RequestTimings } from '../proxy/types.ts';
import { ADMIN, statusDef, type BackendHealth, type CheckHandle, type ServerState } from '../checks/index.ts';
import type {
  AdminFlag,
  InfoValues,
  RuntimeBackend,
  RuntimeContext,
  RuntimeServer as CliServer,
  ServerOpState as CliOpState,
  StatRequest,
} from '../runtime/context.ts';
import { RuntimeCommandError } from '../runtime/context.ts';
import { renderCsv } from './csv.ts';
import { renderTyped, renderJson } from './typed.ts';
import type { AdminResult, StatsAdminRequest } from './http-handler.ts';
import { emptyTraffic, type BackendStats, type CheckInfo, type ProcessStats, type ProxyStats, type ServerStats, type StatsSource, type Traffic } from './source.ts';

/** One server at run time: its build, its health state, its checks and its DOWN bookkeeping. */
export interface LiveServer {
  readonly built: BuiltServer;
  readonly state: ServerState;
  /** The scheduler's handle when the server has `check`. */
  readonly handle: CheckHandle | undefined;
  checkEnabled: boolean;
  /** `agent-check` configured and not turned off with `disable agent`. */
  agentEnabled: boolean;
  /** performance.now() when the server last became unusable (undefined while usable). */
  downSince: number | undefined;
  /** Accumulated DOWN time before downSince (ms). */
  downtimeMs: number;
}

export interface LiveBackend {
  readonly built: BuiltBackend;
  readonly health: BackendHealth;
  readonly servers: readonly LiveServer[];
  /** performance.now() of the last change of "has a usable server". */
  lastChange: number;
  downSince: number | undefined;
  downtimeMs: number;
}

export interface LiveViewOptions {
  readonly version: string;
  readonly releaseDate: string;
  /** Epoch ms when lb started. */
  readonly startMs: number;
  /** Checks in flight (stats "* " marker is per server; this is for `show info`). */
  readonly now?: () => number;
}

/** "Last second" rates for one counters object, sampled once a second. */
interface Rate {
  readonly c: Counters;
  prevSess: number;
  prevReq: number;
  sessRate: number;
  sessRateMax: number;
  reqRate: number;
  reqRateMax: number;
  /** performance.now() when sessTotal last moved; undefined = never. */
  lastSess: number | undefined;
}

function checkInfo(s: ServerState, enabled: boolean, inProgress: boolean, kind: 'check' | 'agent' = 'check'): CheckInfo | undefined {
  const c = kind === 'check' ? s.check : s.agent;
  if (c === undefined) return undefined;
  const r = c.last;
  const def = statusDef(r.status);
  return {
    enabled,
    paused: s.inMaint,
    inProgress,
    status: r.status,
    code: def.hasCode ? r.code : undefined,
    durationMs: r.status === 'INI' || r.durationMs < 0 ? undefined : r.durationMs,
    description: def.desc,
    info: r.info,
    rise: c.rise,
    fall: c.fall,
    health: c.health,
  };
}

function opState(s: ServerState): ServerStats['state'] {
  switch (s.op) {
    case 'RUNNING':
      return 'running';
    case 'STARTING':
      return 'starting';
    case 'STOPPING':
      return 'stopping';
    default:
      return 'stopped';
  }
}

function addrText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function timingsInto(t: Traffic, tm: RequestTimings | undefined): void {
  if (tm === undefined) return;
  t.qtimeAvg = Math.round(tm.qAvg);
  t.ctimeAvg = Math.round(tm.cAvg);
  t.rtimeAvg = Math.round(tm.rAvg);
  t.ttimeAvg = Math.round(tm.tAvg);
  t.qtimeMax = tm.qMax;
  t.ctimeMax = tm.cMax;
  t.rtimeMax = tm.rMax;
  t.ttimeMax = tm.tMax;
}

/** The live counters of the data path in the stats' vocabulary. */
export function trafficOf(c: Counters, rate: Rate | undefined, nowMs: number): Traffic {
  const t = emptyTraffic();
  t.sessCur = c.sessCur;
  t.sessMax = c.sessMax;
  t.sessTotal = c.sessTotal;
  t.bytesIn = c.bytesIn;
  t.bytesOut = c.bytesOut;
  t.deniedReq = c.deniedReq;
  t.deniedResp = c.deniedResp;
  t.errReq = c.reqErrors;
  t.errConn = c.connectErrors;
  t.errResp = c.respErrors;
  t.retries = c.retries;
  t.redispatches = c.redispatches;
  t.queueCur = c.queueCur;
  t.queueMax = c.queueMax;
  t.reqTotal = c.reqTotal;
  t.connTotal = c.sessTotal;
  t.hrsp = [c.hrspOther, c.hrsp1xx, c.hrsp2xx, c.hrsp3xx, c.hrsp4xx, c.hrsp5xx];
  if (rate !== undefined) {
    t.sessRate = rate.sessRate;
    t.sessRateMax = rate.sessRateMax;
    t.connRate = rate.sessRate;
    t.connRateMax = rate.sessRateMax;
    t.reqRate = rate.reqRate;
    t.reqRateMax = rate.reqRateMax;
    t.lastSessSec = rate.lastSess === undefined ? -1 : Math.floor((nowMs - rate.lastSess) / 1000);
  }
  return t;
}

const ADMIN_NAMES: readonly [number, AdminFlag][] = [
  [ADMIN.FMAINT, 'FMAINT'],
  [ADMIN.IMAINT, 'IMAINT'],
  [ADMIN.CMAINT, 'CMAINT'],
  [ADMIN.FDRAIN, 'FDRAIN'],
  [ADMIN.IDRAIN, 'IDRAIN'],
];

/**
 * The live view: StatsSource for the stats page (call snapshot()), RuntimeContext for the CLI, and
 * the admin form's actions. `inFlight(server)` tells whether a check is running now.
 */
export class LiveView implements RuntimeContext {
  readonly #built: BuiltConfig;
  readonly #backends: readonly LiveBackend[];
  readonly #byName = new Map<string, LiveBackend>();
  readonly #opts: LiveViewOptions;
  readonly #rates = new Map<Counters, Rate>();
  readonly #frontendOf = new Map<string, Frontend>();
  /** Counters of proxies the data path does not build (a `listen stats` has no backend). */
  readonly #idle = new Map<string, Counters>();
  #timer: NodeJS.Timeout | undefined;

  constructor(built: BuiltConfig, backends: readonly LiveBackend[], opts: LiveViewOptions) {
    this.#built = built;
    this.#backends = backends;
    this.#opts = opts;
    for (const b of backends) this.#byName.set(b.built.proxy.name, b);
    for (const fe of built.frontends.values()) {
      this.#frontendOf.set(fe.name, fe);
      this.#track(fe.counters);
    }
    for (const b of backends) {
      this.#track(b.built.backend.counters);
      for (const s of b.servers) this.#track(s.built.runtime.counters);
    }
  }

  #track(c: Counters): void {
    this.#rates.set(c, { c, prevSess: c.sessTotal, prevReq: c.reqTotal, sessRate: 0, sessRateMax: 0, reqRate: 0, reqRateMax: 0, lastSess: undefined });
  }

  /** Starts the one-second rate sampler (unref'd: it never keeps lb alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One rate sample (exported for tests). */
  sample(): void {
    const now = this.#now();
    for (const r of this.#rates.values()) {
      const ds = r.c.sessTotal - r.prevSess;
      const dr = r.c.reqTotal - r.prevReq;
      r.prevSess = r.c.sessTotal;
      r.prevReq = r.c.reqTotal;
      r.sessRate = Math.max(0, ds);
      r.reqRate = Math.max(0, dr);
      if (r.sessRate > r.sessRateMax) r.sessRateMax = r.sessRate;
      if (r.reqRate > r.reqRateMax) r.reqRateMax = r.reqRate;
      if (ds > 0) r.lastSess = now;
    }
  }

  #now(): number {
    return this.#opts.now?.() ?? performance.now();
  }

  // ------------------------------------------------------------------------------ StatsSource

  /** A snapshot for one rendering. `inFlight` says whether a server's check is running. */
  snapshot(inFlight: (s: LiveServer) => boolean = () => false): StatsSource {
    const now = this.#now();
    const proxies: ProxyStats[] = [];
    for (const { proxy: p, id } of this.#built.proxies) {
      const fe = this.#frontendOf.get(p.name);
      const lb = this.#byName.get(p.name);
      const isBackend = p.kind === 'backend' || p.kind === 'listen';
      const mode = p.mode ?? 'tcp';
      let backend: BackendStats | undefined;
      if (lb !== undefined) backend = this.#backendStats(lb, now, inFlight);
      else if (isBackend) {
        // e.g. `listen stats`: HAProxy still shows its BACKEND row.
        let c = this.#idle.get(p.name);
        if (c === undefined) {
          c = newCounters();
          this.#idle.set(p.name, c);
        }
        backend = { algo: p.balance?.algorithm ?? 'roundrobin', cookie: undefined, fullconn: 0, lastChangeSec: this.#uptimeSec(), downtimeSec: 0, allBackups: false, traffic: trafficOf(c, undefined, now), servers: [] };
      }
      proxies.push({
        name: p.name,
        id,
        mode,
        frontend: fe === undefined ? undefined : { status: 'OPEN', maxconn: fe.maxconn > 0 ? fe.maxconn : this.#maxconn(), rateLimit: 0, traffic: trafficOf(fe.counters, this.#rates.get(fe.counters), now) },
        listeners: [],
        backend,
      });
    }
    return { process: this.#process(), proxies };
  }

  #uptimeSec(): number {
    return Math.floor((Date.now() - this.#opts.startMs) / 1000);
  }

  #maxconn(): number {
    return this.#built.maxconn > 0 ? this.#built.maxconn : 0;
  }

  #backendStats(lb: LiveBackend, now: number, inFlight: (s: LiveServer) => boolean): BackendStats {
    const be = lb.built.backend;
    const t = trafficOf(be.counters, this.#rates.get(be.counters), now);
    timingsInto(t, be.timings);
    let totalDown = 0;
    const servers: ServerStats[] = lb.servers.map((ls) => {
      const s = ls.state;
      const rs = ls.built.runtime;
      const st = trafficOf(rs.counters, this.#rates.get(rs.counters), now);
      timingsInto(st, rs.timings);
      st.lbTotal = rs.counters.sessTotal;
      st.connectAttempts = rs.counters.sessTotal;
      st.failedChecks = s.failedChecks;
      st.downTransitions = s.downTransitions;
      totalDown += s.downTransitions;
      const down = ls.downtimeMs + (ls.downSince === undefined ? 0 : now - ls.downSince);
      const ss: ServerStats = {
        name: s.name,
        id: ls.built.id,
        addr: addrText(rs.host, rs.port),
        cookie: ls.built.model.options.cookie,
        backup: s.backup,
        state: opState(s),
        admin: { maint: s.inMaint, maintVia: undefined, resolution: false, drain: s.draining },
        // haproxy 2.6 keeps reporting the weight of a drained server (drain acts on usability):
        // observed `weight` 1 after `set server b/s state drain` (test/integration/haproxy-diff).
        weight: s.draining && s.eweight === 0 ? s.uweight : s.eweight,
        uweight: s.uweight,
        tracked: undefined,
        check: checkInfo(s, ls.checkEnabled, inFlight(ls)),
        agent: checkInfo(s, ls.agentEnabled, false, 'agent'),
        throttle: s.op === 'STARTING' && s.slowstart > 0 ? Math.min(100, Math.max(0, Math.floor(((now - s.lastChange) * 100) / s.slowstart))) : undefined,
        lastChangeSec: Math.max(0, Math.floor((now - s.lastChange) / 1000)),
        downtimeSec: Math.floor(down / 1000),
        maxconn: rs.maxconn,
        maxqueue: ls.built.model.options.maxqueue ?? 0,
        observe: false,
        idleLimit: undefined,
        traffic: st,
      };
      return ss;
    });
    t.downTransitions = totalDown;
    t.lbTotal = be.counters.sessTotal;
    const bdown = lb.downtimeMs + (lb.downSince === undefined ? 0 : now - lb.downSince);
    return {
      algo: lb.built.algo,
      cookie: undefined,
      fullconn: 0,
      lastChangeSec: Math.max(0, Math.floor((now - lb.lastChange) / 1000)),
      downtimeSec: Math.floor(bdown / 1000),
      allBackups: lb.built.proxy.options['allbackups'] === true,
      traffic: t,
      servers,
    };
  }

  #process(): ProcessStats {
    let cur = 0;
    for (const fe of this.#built.frontends.values()) cur += fe.counters.sessCur;
    return {
      pid: process.pid,
      relativePid: 1,
      nbthread: 1,
      uptimeSec: this.#uptimeSec(),
      version: this.#opts.version,
      releaseDate: this.#opts.releaseDate,
      node: os.hostname(),
      description: undefined,
      memmaxMb: 0,
      ulimitN: 0,
      maxsock: 0,
      maxconn: this.#maxconn(),
      maxpipes: 0,
      currConns: cur,
      pipesUsed: 0,
      pipesFree: 0,
      connRate: 0,
      bytesOutRate: 0,
      tasks: 0,
      runQueue: 0,
      idlePct: 100,
    };
  }

  // ------------------------------------------------------------------------ admin (stats page)

  #backendByRef(ref: StatsAdminRequest['backend']): LiveBackend | undefined {
    if ('name' in ref) return this.#byName.get(ref.name);
    const px = this.#built.proxies.find((p) => p.id === ref.id);
    return px === undefined ? undefined : this.#byName.get(px.proxy.name);
  }

  /**
   * Applies the stats page's admin form as haproxy does: DONE when every named server took the
   * action, PART when some did, NONE when none did (unknown servers, or actions lb does not
   * implement: hrunn/hnolb/hdown/shutdown/agent ones), ERRP for an unknown backend.
   */
  applyAdmin(req: StatsAdminRequest): AdminResult {
    const lb = this.#backendByRef(req.backend);
    if (lb === undefined) return 'ERRP';
    let done = 0;
    for (const name of req.servers) {
      const ls = lb.servers.find((s) => s.state.name === name);
      if (ls === undefined) continue;
      const s = ls.state;
      switch (req.action) {
        case 'ready':
          s.setReady();
          break;
        case 'drain':
          s.setMaint(false);
          s.setDrain(true);
          break;
        case 'maint':
          s.setDrain(false);
          s.setMaint(true);
          break;
        case 'dhlth':
        case 'ehlth':
          if (ls.handle === undefined || s.check === undefined) continue;
          ls.checkEnabled = req.action === 'ehlth';
          ls.handle.setEnabled('check', ls.checkEnabled);
          break;
        default:
          continue;
      }
      done++;
    }
    if (done === 0) return 'NONE';
    return done === req.servers.length ? 'DONE' : 'PART';
  }

  // --------------------------------------------------------------------------- RuntimeContext

  backends(): readonly RuntimeBackend[] {
    const out: RuntimeBackend[] = [];
    for (const { proxy, id } of this.#built.proxies) {
      const lb = this.#byName.get(proxy.name);
      if (lb === undefined) continue;
      out.push({ id, name: proxy.name, forcedId: false, dynamicWeights: lb.built.pool.dynamicWeights, servers: lb.servers.map((ls) => this.#cliServer(ls)) });
    }
    return out;
  }

  #cliServer(ls: LiveServer): CliServer {
    const s = ls.state;
    const o = ls.built.model.options;
    const admin: AdminFlag[] = [];
    for (const [bit, name] of ADMIN_NAMES) if ((s.admin & bit) !== 0) admin.push(name);
    const c = s.check;
    const last = c?.last;
    const op: CliOpState = opState(s);
    const epoch = Date.now() - (performance.now() - s.lastChange);
    return {
      id: ls.built.id,
      name: s.name,
      forcedId: false,
      addr: ls.built.runtime.host,
      port: ls.built.runtime.port,
      useSsl: o.ssl === true,
      opState: op,
      admin,
      uweight: s.uweight,
      iweight: s.initialWeight,
      lastChange: epoch,
      check: {
        configured: c !== undefined,
        enabled: c !== undefined && ls.checkEnabled,
        paused: s.inMaint,
        status: last?.status ?? 'UNK',
        result: last === undefined ? 'unknown' : statusDef(last.status).result,
        health: c?.health ?? 0,
        port: o.port ?? 0,
        ...(o.addr !== undefined ? { addr: o.addr } : {}),
      },
      agent: {
        configured: s.agent !== undefined,
        enabled: s.agent !== undefined && ls.agentEnabled,
        paused: s.inMaint,
        port: ls.built.agent?.port ?? 0,
        ...(ls.built.agent?.addr !== undefined ? { addr: ls.built.agent.addr } : {}),
      },
    };
  }

  proxyId(name: string): number | undefined {
    return this.#built.proxies.find((p) => p.proxy.name === name)?.id;
  }

  #server(backend: string, server: string): LiveServer {
    const lb = this.#byName.get(backend);
    const ls = lb?.servers.find((s) => s.state.name === server);
    if (ls === undefined) throw new RuntimeCommandError(lb === undefined ? 'No such backend.\n' : 'No such server.\n');
    return ls;
  }

  setServerAdmin(backend: string, server: string, state: 'ready' | 'drain' | 'maint'): void {
    const s = this.#server(backend, server).state;
    if (state === 'ready') s.setReady();
    else if (state === 'drain') {
      s.setMaint(false);
      s.setDrain(true);
    } else {
      s.setDrain(false);
      s.setMaint(true);
    }
  }

  setServerWeight(backend: string, server: string, weight: number): void {
    this.#server(backend, server).state.setUserWeight(weight);
  }

  /**
   * `set server B/S addr A [port P]` as HAProxy's srv_update_addr_port: new connections (and the
   * checks that use the server's own address) go to A:P from now on; established connections
   * stay where they are; idle pooled HTTP connections to the old address are closed so no new
   * request reuses them. The stats and `show servers state` read the same runtime object.
   */
  setServerAddr(backend: string, server: string, addr: string, port?: number): void {
    const ls = this.#server(backend, server);
    const rs = ls.built.runtime;
    rs.host = addr;
    if (port !== undefined) rs.port = port;
    ls.handle?.setAddress(rs.host, rs.port);
    closeIdleConnections([rs]);
  }

  setCheckEnabled(backend: string, server: string, kind: 'health' | 'agent', enabled: boolean): void {
    const ls = this.#server(backend, server);
    if (ls.handle === undefined) return;
    if (kind === 'agent') {
      if (ls.state.agent === undefined) return;
      ls.agentEnabled = enabled;
      ls.handle.setEnabled('agent', enabled);
      return;
    }
    if (ls.state.check === undefined) return;
    ls.checkEnabled = enabled;
    ls.handle.setEnabled('check', enabled);
  }

  clearCounters(all: boolean): void {
    const reset = (c: Counters): void => {
      if (all) Object.assign(c, newCounters(), { sessCur: c.sessCur, queueCur: c.queueCur });
      else {
        c.sessMax = c.sessCur;
        c.queueMax = c.queueCur;
      }
    };
    for (const fe of this.#built.frontends.values()) reset(fe.counters);
    for (const lb of this.#backends) {
      reset(lb.built.backend.counters);
      lb.built.backend.timings?.clear();
      for (const s of lb.servers) {
        reset(s.built.runtime.counters);
        if (all) s.built.runtime.timings?.clear();
      }
    }
    for (const r of this.#rates.values()) {
      r.sessRateMax = 0;
      r.reqRateMax = 0;
      r.prevSess = r.c.sessTotal;
      r.prevReq = r.c.reqTotal;
    }
  }

  info(): InfoValues {
    const p = this.#process();
    return {
      Name: 'lb',
      Version: this.#opts.version,
      Release_date: this.#opts.releaseDate,
      Maxconn: p.maxconn,
      CurrConns: p.currConns,
      Nbthread: 1,
    };
  }

  /**
   * `show stat [typed|json] [<iid> <type> <sid>]`: the stats table, filtered by proxy id, object
   * type mask (1 frontends, 2 backends, 4 servers) and server id. CSV and typed are filtered by
   * line; JSON by proxy only (documented limitation).
   */
  renderStat(req: StatRequest): string {
    const snap = this.snapshot();
    const source: StatsSource = req.proxyId === -1 ? snap : { process: snap.process, proxies: snap.proxies.filter((p) => p.id === req.proxyId) };
    const filter = { hideDown: req.up, hideMaint: req.noMaint, legends: req.legends };
    const keep = (kind: string, sid: number): boolean => {
      const mask = kind === 'F' || kind === 'L' ? 1 : kind === 'B' ? 2 : 4;
      if (req.typeMask !== -1 && (req.typeMask & mask) === 0) return false;
      return kind !== 'S' || req.serverId === -1 || sid === req.serverId;
    };
    if (req.format === 'json') return renderJson(source, filter);
    if (req.format === 'typed') {
      const text = renderTyped(source, { ...filter, desc: req.desc });
      if (req.typeMask === -1 && req.serverId === -1) return text;
      return text
        .split('\n')
        .filter((l) => {
          if (l === '') return false;
          const [kind, , sid] = l.split('.', 3);
          return keep(kind ?? '', Number(sid));
        })
        .map((l) => `${l}\n`)
        .join('');
    }
    const csv = renderCsv(source, filter);
    if (req.typeMask === -1 && req.serverId === -1) return csv;
    const lines = csv.split('\n');
    const out = [lines[0] ?? ''];
    for (const l of lines.slice(1)) {
      if (l === '') continue;
      const f = l.split(',');
      // type (col 33, index 32): 0 frontend, 1 backend, 2 server, 3 listener; sid index 28.
      const kind = ['F', 'B', 'S', 'L'][Number(f[32])] ?? '';
      if (keep(kind, Number(f[28]))) out.push(l);
    }
    return `${out.join('\n')}\n`;
  }

  env(): Readonly<Record<string, string | undefined>> {
    return process.env;
  }

  now(): number {
    return Date.now();
  }

  /** The backend named `name` (tests, the runtime's admin glue). */
  backend(name: string): LiveBackend | undefined {
    return this.#byName.get(name);
  }

  /** The stats pages of the configuration. */
  get stats(): readonly BuiltStats[] {
    return this.#built.stats;
  }
}
