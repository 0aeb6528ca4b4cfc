// The running proxy, with Caddy's lifecycle (DESIGN.md principle 7):
//   provision  parse the configuration files into the model (every diagnostic collected)
//   validate   refuse what the running lb does not enforce yet (pending keywords: stick tables,
//              track-sc, peers), then build the runtime structures (lb/proxy/build.ts)
//   start      bind every listener (a failure leaves the group so that stop() cleans up)
//              then health checks (lb/checks: one scheduler, state changes drive each backend's
//              Pool), the stats pages and the runtime API sockets (`global stats socket`)
//   stop       close listeners, destroy sessions, close pooled server connections and loggers;
//              stop the checks and the runtime API; safe after a partial start and safe twice.
//
// Health transitions are logged as HAProxy 2.6 does: the line itself to the proxy's log targets
// (`log global` or its own), and on stderr as `[WARNING]  (pid) : Server b/s is DOWN, ...` /
// `[ALERT]    (pid) : backend 'b' has no server available!` (captured from haproxy -d).
// Each step returns errors as text lines (file:line first) for the CLI to print.
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { ConfigModel, Proxy } from '../config/model.ts';
import { condTrue } from '../acl/eval.ts';
import { Txn } from '../acl/sample.ts';
import { BackendHealth, CheckScheduler, poolSink, type LogLevel } from '../checks/index.ts';
import { LiveView, type LiveBackend, type LiveServer } from '../stats/adapter.ts';
import { adminRedirect, handleStatsRequest, type StatsHttpRequest, type StatsHttpResponse } from '../stats/http-handler.ts';
import { renderPrometheus } from '../stats/prometheus.ts';
import { RuntimeApiServer, type StatsSocketSpec } from '../runtime/server.ts';
import { errorPage, localResponse } from './http-errors.ts';
import type { HttpTxn } from './http-hooks.ts';
import { REASONS, RequestHead } from './http1/index.ts';
import type { Counters, Frontend, LogSink } from './types.ts';
import { parseConfig, type ConfigSource } from '../config/parser.ts';
import { formatDiagnostic } from '../config/diagnostics.ts';
import { LB_ERROR_CODES } from '../errors.ts';
import { LOG_INFO, Logger, type LogTargetSpec } from '../log/targets.ts';
import { txnFromConn, txnFromHttp, Next } from '../rules/engine.ts';
import { buildConfig, type BuiltConfig, type BuiltListener, type BuiltStats } from './build.ts';
import { logSpecsOf } from './build.ts';
import { closeIdleConnections, handleHttpClient, handleHttpConnection, rawClientOf } from './http.ts';
import { ListenerGroup, type RawAccepted } from './listener.ts';
import type { RawTcp } from '../net/raw-tcp.ts';
import { handleTcpConnection } from './tcp.ts';
import type { Listener } from './types.ts';

export interface RuntimeOptions {
  /** Where lb's own messages go (stderr with -d). */
  readonly log: (line: string) => void;
  /** Version and release date shown by the stats page and `show info`. */
  readonly version?: string;
  readonly releaseDate?: string;
}

const NO_SINK = { deny(): void {}, respond(): void {} };

export class ProxyRuntime {
  readonly #opts: RuntimeOptions;
  #model: ConfigModel | undefined;
  #built: BuiltConfig | undefined;
  #group: ListenerGroup | undefined;
  #logger: Logger | undefined;
  readonly #proxyLoggers: Logger[] = [];
  /** Traffic loggers, one per distinct target list (frontends with the same targets share one). */
  readonly #trafficLoggers = new Map<string, Logger>();
  #stopping: Promise<void> | undefined;
  #checks: CheckScheduler | undefined;
  #live: LiveView | undefined;
  #liveBackends: LiveBackend[] = [];
  #statsServers = new Map<BuiltStats, http.Server>();
  #api: RuntimeApiServer | undefined;
  readonly #startMs = Date.now();

  constructor(opts: RuntimeOptions) {
    this.#opts = opts;
  }

  get built(): BuiltConfig | undefined {
    return this.#built;
  }

  /** The live view (stats source, runtime API context) once started. */
  get live(): LiveView | undefined {
    return this.#live;
  }

  /** Addresses of the runtime API sockets once started (tests). */
  apiAddresses(): (string | net.AddressInfo | null)[] {
    return this.#api?.addresses() ?? [];
  }

  /** Reads and parses the files. Returns error lines (empty = ok); warnings go to the log. */
  provision(files: readonly string[]): string[] {
    const sources: ConfigSource[] = [];
    const errors: string[] = [];
    for (const f of files) {
      try {
        sources.push({ file: f, text: readFileSync(f, 'utf8') });
      } catch (e) {
        errors.push(`[ALERT] config : Could not open configuration file ${f} : ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (errors.length > 0) return errors;
    const { model, diagnostics } = parseConfig(sources);
    const pending: string[] = [];
    for (const d of diagnostics.list) {
      if (d.severity === 'diag') continue;
      if (d.code === LB_ERROR_CODES.ERR_LB_CONFIG_PENDING) {
        // `lb -c` warns about these; a running lb must not pretend to enforce them.
        pending.push(`[ALERT] config : ${d.file !== undefined ? `parsing [${d.file}:${d.line ?? 0}] : ` : ''}${d.message.replace(/is parsed but not yet enforced by this lb\.?$/, 'is not supported yet by the running lb: refusing to start.')}`);
        continue;
      }
      if (d.severity === 'alert') errors.push(formatDiagnostic(d));
      else this.#opts.log(formatDiagnostic(d));
    }
    if (errors.length > 0) return [...errors, ...pending, '[ALERT] config : Fatal errors found in configuration.'];
    if (pending.length > 0) return pending;
    this.#model = model;
    return [];
  }

  /** Builds the runtime structures from the provisioned model. */
  validate(): string[] {
    if (this.#model === undefined) return ['[ALERT] internal : validate() before provision()'];
    const r = buildConfig(this.#model, { http: true });
    if (!r.ok) return r.errors.map((e) => `[ALERT] config : ${e}`);
    for (const w of r.value.warnings) this.#opts.log(`[WARNING] config : ${w}`);
    this.#built = r.value;
    return [];
  }

  /** Binds the listeners. On failure, call stop() to release what did bind. */
  async start(): Promise<string[]> {
    const b = this.#built;
    if (b === undefined) return ['[ALERT] internal : start() before validate()'];
    if (b.logTargets.length > 0) this.#logger = new Logger(b.logTargets);
    const connectLogs = this.#openTrafficLogs(b);
    this.#startHealth(b);
    const live = new LiveView(b, this.#liveBackends, { version: this.#opts.version ?? '0.1.0', releaseDate: this.#opts.releaseDate ?? '2026/01/01', startMs: this.#startMs });
    this.#live = live;
    const inFlight = this.#inFlight;
    b.services.prometheus = () => renderPrometheus(live.snapshot(inFlight));
    b.services.stats = (st, txn) => serveStatsHook(st, txn, live, inFlight);
    for (const st of b.stats) if (st.standalone) this.#statsServers.set(st, statsHttpServer(st, live, inFlight));
    const servers = this.#statsServers;
    const onConn = (sock: net.Socket, l: Listener): void => {
      const srv = isBuilt(l) && l.stats !== undefined ? servers.get(l.stats) : undefined;
      if (srv !== undefined) {
        if (connectLogs !== undefined) logConnect(connectLogs, sock, l.frontend);
        acceptStats(sock, l.frontend.counters, srv);
      } else onConnection(sock, l, connectLogs);
    };
    const onRawConn = (conn: RawTcp<RawAccepted>, l: Listener): void => {
      if (isBuilt(l)) onRawConnection(conn, l, connectLogs);
      else conn.destroy();
    };
    this.#group = new ListenerGroup(b.listeners, { maxconn: b.maxconn, onConnection: onConn, rawAccept: acceptsRaw, onRawConnection: onRawConn });
    try {
      await this.#group.start();
    } catch (e) {
      return [`[ALERT] ${e instanceof Error ? e.message : String(e)}`];
    }
    const m = this.#model;
    if (m !== undefined && m.global.statsSockets.length > 0) {
      const sockets: StatsSocketSpec[] = m.global.statsSockets.map((s) => ({
        address: s.address,
        ...(s.level !== undefined ? { level: s.level } : {}),
        ...(s.mode !== undefined ? { mode: s.mode } : {}),
        where: `${s.loc.file}:${s.loc.line}`,
      }));
      this.#api = new RuntimeApiServer({ sockets, ctx: live, ...(m.global.statsTimeout !== undefined ? { timeoutMs: m.global.statsTimeout } : {}) });
      try {
        await this.#api.start();
      } catch (e) {
        return [`[ALERT] ${e instanceof Error ? e.message : String(e)}`];
      }
    }
    for (const fe of b.frontends.values()) this.#notice(`Proxy ${fe.name} started.`);
    live.start();
    this.#checks?.start();
    return [];
  }

  /**
   * Opens the frontends' traffic loggers and hands each frontend its log (format, sink,
   * dontlognull). Returns the frontends that log HAProxy's default "Connect from" line at accept
   * (targets but no format option), or undefined when none does. HAProxy sends traffic logs only to
   * the targets, even with -d: nothing is echoed to stderr here either.
   */
  #openTrafficLogs(b: BuiltConfig): Map<Frontend, LogSink> | undefined {
    let connect: Map<Frontend, LogSink> | undefined;
    for (const fl of b.frontendLogs) {
      const sink = this.#trafficLogger(fl.specs);
      if (fl.format === undefined) (connect ??= new Map()).set(fl.frontend, sink);
      else fl.frontend.log = { format: fl.format, sink, dontlognull: fl.dontlognull };
    }
    return connect;
  }

  #trafficLogger(specs: readonly LogTargetSpec[]): Logger {
    const key = JSON.stringify(specs);
    let l = this.#trafficLoggers.get(key);
    if (l === undefined) {
      l = new Logger(specs);
      this.#trafficLoggers.set(key, l);
    }
    return l;
  }

  /**
   * Whether a check of this server is running now (the stats' "* " marker). The scheduler only
   * exposes a global in-flight count, so the marker is never shown (reported to the lead).
   */
  readonly #inFlight = (_s: LiveServer): boolean => false;

  /**
   * One BackendHealth per backend, one ServerState per server driving the Pool through poolSink,
   * and the servers with `check` registered with the scheduler (started after the listeners).
   */
  #startHealth(b: BuiltConfig): void {
    const spread = this.#model?.global.spreadChecks;
    const sched = new CheckScheduler(spread === undefined ? {} : { spreadChecks: spread });
    let any = false;
    for (const info of b.backendInfo.values()) {
      const p = info.proxy;
      const log = this.#healthLogger(p);
      const health = new BackendHealth({ name: p.name, kind: p.kind === 'listen' ? 'proxy' : 'backend', logHealthChecks: p.options['log-health-checks'] === true, log });
      const lb: { -readonly [K in keyof LiveBackend]: LiveBackend[K] } = { built: info, health, servers: [], lastChange: performance.now(), downSince: undefined, downtimeMs: 0 };
      const servers: LiveServer[] = [];
      const backendMoved = (): void => {
        const up = info.pool.hasUsable();
        const now = performance.now();
        if (!up && lb.downSince === undefined) {
          lb.downSince = now;
          lb.lastChange = now;
        } else if (up && lb.downSince !== undefined) {
          lb.downtimeMs += now - lb.downSince;
          lb.downSince = undefined;
          lb.lastChange = now;
        }
      };
      for (const bs of info.servers) {
        const o = bs.model.options;
        // DOWN bookkeeping lives in `down` until the LiveServer exists (the state applies itself
        // to the sink from its constructor).
        const down: { downSince: number | undefined; downtimeMs: number } = { downSince: undefined, downtimeMs: 0 };
        const ps = poolSink(info.pool, bs.pool);
        const sink = {
          setUsable: (usable: boolean): void => {
            ps.setUsable(usable);
            const now = performance.now();
            if (!usable && down.downSince === undefined) down.downSince = now;
            else if (usable && down.downSince !== undefined) {
              down.downtimeMs += now - down.downSince;
              down.downSince = undefined;
            }
            backendMoved();
          },
          setWeight: (w: number): void => {
            ps.setWeight(w);
            backendMoved();
          },
        };
        const rs = bs.runtime;
        const be = info.backend;
        const state = health.add(
          {
            name: bs.model.name,
            backup: o.backup === true,
            weight: o.weight ?? 1,
            slowstart: o.slowstart ?? 0,
            check: bs.check === undefined ? undefined : { rise: bs.rise, fall: bs.fall },
            agent: bs.agent !== undefined,
            disabled: o.disabled === true,
            load: { sessions: () => rs.counters.sessCur, queued: () => be.counters.queueCur },
          },
          sink,
        );
        const handle = bs.check === undefined && bs.agent === undefined ? undefined : sched.add({ state, host: rs.host, port: rs.port, check: bs.check, agent: bs.agent });
        if (handle !== undefined) any = true;
        // `down` becomes the LiveServer: the sink keeps updating the same object.
        servers.push(Object.assign(down, { built: bs, state, handle, checkEnabled: bs.check !== undefined, agentEnabled: bs.agent !== undefined }));
      }
      lb.servers = servers;
      this.#liveBackends.push(lb);
    }
    if (any) this.#checks = sched;
  }

  /** Where a backend's health lines go: its log targets (or the global ones) and stderr. */
  #healthLogger(p: Proxy): (line: string, level: LogLevel) => void {
    const specs = logSpecsOf(p.log);
    const own = specs.length > 0 ? new Logger(specs) : undefined;
    if (own !== undefined) this.#proxyLoggers.push(own);
    const useGlobal = p.log.some((t) => t.global === true);
    const pid = process.pid;
    return (line, level) => {
      const n = level === 'emerg' ? 0 : level === 'alert' ? 1 : 5;
      own?.log(n, line);
      if (useGlobal) this.#logger?.log(n, line);
      if (line.startsWith('Health check for') || line.startsWith('Agent check for')) return;
      const m = /^(backend|proxy) (.*) has no server available!$/.exec(line);
      if (m !== null) this.#opts.log(`[ALERT]    (${pid}) : ${m[1] ?? ''} '${m[2] ?? ''}' has no server available!`);
      else this.#opts.log(`[WARNING]  (${pid}) : ${line}`);
    };
  }

  /** The bound address of listener i (tests). */
  address(i: number): net.AddressInfo | undefined {
    return this.#group?.address(i);
  }

  /** Stops everything. Idempotent; works after a partial start. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#live?.stop();
    await this.#api?.stop();
    await this.#checks?.stop();
    for (const lb of this.#liveBackends) for (const s of lb.servers) s.state.dispose();
    for (const srv of this.#statsServers.values()) srv.closeAllConnections();
    const g = this.#group;
    if (g !== undefined) await g.stop();
    const b = this.#built;
    if (b !== undefined) {
      for (const be of b.backends.values()) if (be.mode === 'http') closeIdleConnections(be.servers);
      for (const fe of b.frontends.values()) this.#notice(`Proxy ${fe.name} stopped.`);
    }
    await this.#logger?.close();
    for (const l of this.#proxyLoggers) await l.close();
    for (const l of this.#trafficLoggers.values()) await l.close();
  }

  #notice(msg: string): void {
    this.#opts.log(`[NOTICE] ${msg}`);
    this.#logger?.log(5, msg);
  }
}

/**
 * HAProxy 2.6's log line for a frontend with log targets but no log format: sent at accept, before
 * any rule, and not subject to `option dontlognull` (both observed with haproxy -d).
 */
function logConnect(logs: ReadonlyMap<Frontend, LogSink>, sock: net.Socket, fe: Frontend): void {
  const sink = logs.get(fe);
  if (sink === undefined) return;
  sink.log(LOG_INFO, `Connect from ${sock.remoteAddress ?? '-'}:${sock.remotePort ?? 0} to ${sock.localAddress ?? '-'}:${sock.localPort ?? 0} (${fe.name}/${fe.mode === 'http' ? 'HTTP' : 'TCP'})`);
}

/** Admitted connection: tcp-request connection rules, TLS termination, then the data path. */
function isBuilt(l: Listener): l is BuiltListener {
  return 'mode' in l && 'where' in l;
}

function onConnection(sock: net.Socket, bl: Listener, connectLogs: ReadonlyMap<Frontend, LogSink> | undefined): void {
  if (!isBuilt(bl)) {
    handleTcpConnection(sock, bl.frontend);
    return;
  }
  if (bl.connRules !== undefined || bl.contentRulesAtAccept !== undefined) {
    const info = { src: sock.remoteAddress ?? '', srcPort: sock.remotePort ?? 0, dst: sock.localAddress ?? '', dstPort: sock.localPort ?? 0, hello: undefined };
    const t = txnFromConn(info);
    if (bl.connRules?.run(t, NO_SINK) === Next.DONE || bl.contentRulesAtAccept?.run(t, NO_SINK) === Next.DONE) {
      sock.destroy();
      return;
    }
  }
  // After the connection rules: HAProxy logs when the stream is created, not for rejected ones.
  if (connectLogs !== undefined) logConnect(connectLogs, sock, bl.frontend);
  if (bl.tls === undefined) {
    dispatch(sock, bl);
    return;
  }
  const ts = new tls.TLSSocket(sock, { isServer: true, ...bl.tls.options });
  const client = bl.frontend.timeouts.client;
  if (client > 0) ts.setTimeout(client);
  ts.on('error', onTlsError);
  ts.on('timeout', onTlsTimeout);
  ts.once('secure', () => {
    ts.off('timeout', onTlsTimeout);
    ts.setTimeout(0);
    ts.pause();
    dispatch(ts, bl);
  });
  sock.resume();
}

/** Plain-TCP http listeners run their sessions on raw accepted handles (stats proxies: node:http). */
function acceptsRaw(l: Listener): boolean {
  return isBuilt(l) && l.mode === 'http' && l.tls === undefined && l.stats === undefined;
}

/** onConnection() for a raw accepted connection of an http listener without TLS. */
function onRawConnection(conn: RawTcp<RawAccepted>, bl: BuiltListener, connectLogs: ReadonlyMap<Frontend, LogSink> | undefined): void {
  const client = rawClientOf(conn);
  if (bl.connRules !== undefined || bl.contentRulesAtAccept !== undefined) {
    const t = txnFromConn({ src: client.src, srcPort: client.srcPort, dst: client.dst, dstPort: client.dstPort, hello: undefined });
    if (bl.connRules?.run(t, NO_SINK) === Next.DONE || bl.contentRulesAtAccept?.run(t, NO_SINK) === Next.DONE) {
      conn.destroy();
      return;
    }
  }
  if (connectLogs !== undefined) {
    const sink = connectLogs.get(bl.frontend);
    sink?.log(LOG_INFO, `Connect from ${client.src || '-'}:${client.srcPort} to ${client.dst || '-'}:${client.dstPort} (${bl.frontend.name}/HTTP)`);
  }
  handleHttpClient(client, bl.frontend);
}

function dispatch(sock: net.Socket, l: BuiltListener): void {
  if (l.mode === 'http') handleHttpConnection(sock, l.frontend);
  else handleTcpConnection(sock, l.frontend);
}

function onTlsError(this: tls.TLSSocket): void {
  this.destroy();
}

function onTlsTimeout(this: tls.TLSSocket): void {
  this.destroy();
}

// ------------------------------------------------------------------------------ stats pages

type InFlight = (s: LiveServer) => boolean;

/** `stats admin if COND` lines, OR'd, on this request. */
function adminAllowed(st: BuiltStats, t: Txn): boolean {
  for (const c of st.admin) if (condTrue(c, t)) return true;
  return false;
}

function pageOf(r: StatsHttpResponse): ReturnType<typeof localResponse> {
  const headers: [string, string][] = [];
  for (const [n, v] of Object.entries(r.headers)) if (n !== 'content-length') headers.push([n, v]);
  return localResponse(r.status, REASONS[r.status] ?? 'OK', headers, Buffer.from(r.body, 'utf8'));
}

/**
 * The stats page of a proxy that also forwards traffic, from its request hook (after its
 * http-request rules). Only GET-like requests: `stats admin` is refused at build time there,
 * because the form's body is not available to a hook.
 */
function serveStatsHook(st: BuiltStats, txn: HttpTxn, live: LiveView, inFlight: InFlight): boolean {
  if (!txn.url.startsWith(st.http.uri)) return false;
  const req: StatsHttpRequest = {
    method: txn.method,
    uri: txn.url,
    headers: { authorization: txn.header('authorization') },
    srcIsAdminAllowed: adminAllowed(st, txnFromHttp(txn)),
  };
  const r = handleStatsRequest(req, st.http, live.snapshot(inFlight));
  if (r.kind === 'pass') return false;
  txn.respond(pageOf(r.kind === 'admin' ? adminRedirect(st.http.uri, 'DENY') : r));
  return true;
}

/** Largest admin form accepted (the form names a backend and a few servers). */
const MAX_FORM = 64 * 1024;

/** The request head as the rules' fetches read it, rebuilt from what node:http parsed. */
function headOf(req: http.IncomingMessage): RequestHead | undefined {
  let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i] ?? ''}: ${raw[i + 1] ?? ''}\r\n`;
  const buf = Buffer.from(`${text}\r\n`, 'latin1');
  const head = new RequestHead({ bufsize: Math.max(16384, buf.length + 1) });
  return head.feed(buf, 0) > 0 ? head : undefined;
}

function countStatus(c: Counters, status: number): void {
  if (status < 200) c.hrsp1xx++;
  else if (status < 300) c.hrsp2xx++;
  else if (status < 400) c.hrsp3xx++;
  else if (status < 500) c.hrsp4xx++;
  else if (status < 600) c.hrsp5xx++;
  else c.hrspOther++;
}

/**
 * A standalone stats proxy (`listen stats`) served by node:http (not the hot path): its
 * http-request rules (`use-service prometheus-exporter if { path /metrics }`, deny...), then the
 * stats page with authentication, admin form (body read, action applied, 303 as haproxy), and 503
 * for anything else, as HAProxy answers a proxy without a server.
 */
function statsHttpServer(st: BuiltStats, live: LiveView, inFlight: InFlight): http.Server {
  const fe = st.frontend;
  const t = new Txn();
  const srv = http.createServer({ keepAliveTimeout: fe.timeouts.httpKeepAlive > 0 ? fe.timeouts.httpKeepAlive : 5000 }, (req, res) => {
    fe.counters.reqTotal++;
    const sock = req.socket;
    t.reset(sock.remoteAddress ?? '', sock.remotePort ?? 0, sock.localAddress ?? '', sock.localPort ?? 0);
    const head = headOf(req);
    t.req = head ?? null;
    const reply = (status: number, headers: Record<string, string>, body: string): void => {
      countStatus(fe.counters, status);
      const b = Buffer.from(body, 'utf8');
      res.writeHead(status, { ...headers, 'content-length': String(b.length) });
      res.end(req.method === 'HEAD' ? undefined : b);
    };
    if (head !== undefined && st.rules !== undefined) {
      let answer: ReturnType<typeof localResponse> | undefined;
      const sink = {
        deny: (status: number): void => {
          answer = errorPage(status, undefined);
          fe.counters.deniedReq++;
        },
        respond: (page: ReturnType<typeof localResponse>): void => {
          answer = page;
        },
      };
      if (st.rules.run(t, sink) === Next.DONE && answer !== undefined) {
        const page = answer;
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => void chunks.push(c));
        req.once('end', () => {
          const raw = page.bytes(true, req.httpVersion === '1.0' ? 10 : 11);
          // The page is a complete HTTP/1 message: write it as is, keeping the connection.
          const sep = raw.indexOf('\r\n\r\n');
          const headText = raw.subarray(0, sep).toString('latin1').split('\r\n');
          const headers: Record<string, string> = {};
          for (const line of headText.slice(1)) {
            const i = line.indexOf(':');
            if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
          }
          delete headers['connection'];
          countStatus(fe.counters, page.status);
          res.writeHead(page.status, headers);
          res.end(raw.subarray(sep + 4));
        });
        return;
      }
    }
    const sreq: StatsHttpRequest = {
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      headers: { authorization: req.headers.authorization },
      srcIsAdminAllowed: head !== undefined && adminAllowed(st, t),
    };
    const answer = (body: string | undefined): void => {
      if (body !== undefined) sreq.body = body;
      const r = handleStatsRequest(sreq, st.http, live.snapshot(inFlight));
      if (r.kind === 'pass') {
        const page = errorPage(503, undefined);
        const raw = page.bytes(false, 11);
        const sep = raw.indexOf('\r\n\r\n');
        reply(503, { 'cache-control': 'no-cache', 'content-type': 'text/html' }, raw.subarray(sep + 4).toString('latin1'));
        return;
      }
      if (r.kind === 'admin') {
        const done = live.applyAdmin(r);
        const red = adminRedirect(st.http.uri, done);
        reply(red.status, red.headers, red.body);
        return;
      }
      reply(r.status, r.headers, r.body);
    };
    if ((req.method ?? '').toUpperCase() !== 'POST') {
      req.resume();
      answer(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM) {
        reply(413, { 'content-type': 'text/plain', 'cache-control': 'no-cache' }, '');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      if (size <= MAX_FORM) answer(Buffer.concat(chunks).toString('latin1'));
    });
  });
  srv.on('clientError', (_e, sock) => sock.destroy());
  return srv;
}

/**
 * Hands an admitted connection of a standalone stats proxy to its server (the listener group
 * already counted the session and accepted it paused); bytes are counted when it closes.
 */
function acceptStats(sock: net.Socket, c: Counters, srv: http.Server): void {
  sock.once('close', () => {
    c.bytesIn += sock.bytesRead;
    c.bytesOut += sock.bytesWritten;
  });
  srv.emit('connection', sock);
  sock.resume();
}
