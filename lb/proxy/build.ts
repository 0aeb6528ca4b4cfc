// From the configuration model (lb/config/model.ts) to the runtime structures of the data path
// (lb/proxy/types.ts): backends with their Pool and algorithm, frontends with compiled rules and
// routing, listeners (with TLS when `ssl crt` is set), log targets. Pure with respect to sockets:
// nothing is bound or connected here (certificate and error files are read), so a build that fails
// leaves nothing to clean up.
//
// Every problem is collected (DESIGN.md principle 2) with the file:line of the line at fault; the
// runtime refuses to start when there is one. Things the model parses but the running lb does not
// do yet are refused here by name, never silently accepted.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { Bind, ConfigModel, LogTarget, Proxy, Server } from '../config/model.ts';
import { AclTable, type CompiledCondition } from '../acl/eval.ts';
import { httpCheckRequest } from '../config/httpchk.ts';
import type { AgentOptions, CheckOptions, HttpCheckOptions, HttpExpect, TcpCheckRule } from '../checks/index.ts';
import type { StatsHttpConfig } from '../stats/http-handler.ts';
import { algorithmFactory, parseHashType, Pool, type BalanceSpec, type HashKey, type HashTypeSpec, type Server as PoolServer } from '../balance/index.ts';
import { validateLogTarget, type LogTargetSpec } from '../log/targets.ts';
import { compileLogFormat, HTTPLOG_CLF_FORMAT, HTTPLOG_FORMAT, HTTPSLOG_FORMAT, TCPLOG_FORMAT, type CompiledLogFormat } from '../log/format.ts';
import { actionContext, compileRouter, compileRuleSet, httpRuleHooks, txnFromConn, Next, type RuleSet, type Router, type ServiceTable } from '../rules/engine.ts';
import { bindInputFromRecord, bindTlsSettings, loadCertStore, CertStoreHolder } from '../tls/index.ts';
import { serverTlsSettings, type ServerTlsDefaults } from '../tls/settings.ts';
import { loadErrorFile, localResponse, type ErrorPage, type ErrorPages } from './http-errors.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../stats/prometheus.ts';
import type { HttpHooks, HttpTxn } from './http-hooks.ts';
import { cidrPredicate } from './http.ts';
import { tcpClientRead } from './tcp.ts';
import { createBackend, createFrontend, createServer, RequestTimings, type Backend, type ConnInfo, type ForwardFor, type Frontend, type Listener, type RuntimeServer, type ServerPicker } from './types.ts';

/** A listener with what the runtime needs besides the data path's Listener. */
export interface BuiltListener extends Listener {
  readonly mode: 'tcp' | 'http';
  /** TLS termination (`bind ... ssl crt`): certificates by SNI and the server options. */
  readonly tls: { readonly holder: CertStoreHolder; readonly options: tls.TlsOptions } | undefined;
  /** `tcp-request connection` rules of the frontend; run on accept. */
  readonly connRules: RuleSet | undefined;
  /** http frontends: `tcp-request content` rules with L4 conditions, run on accept too. */
  readonly contentRulesAtAccept: RuleSet | undefined;
  /** A standalone stats proxy (`listen stats`): the runtime serves its connections itself. */
  readonly stats: BuiltStats | undefined;
  /** For messages: `file:line` of the bind line. */
  readonly where: string;
}

/** One server line with what health checks and the stats need besides the data path's view. */
export interface BuiltServer {
  readonly model: Server;
  /** Position in the backend, from 1 (HAProxy's puid without `id`). */
  readonly id: number;
  readonly runtime: RuntimeServer;
  readonly pool: PoolServer<RuntimeServer>;
  /** The resolved `check` settings; undefined without `check`. */
  readonly check: CheckOptions | undefined;
  /** The resolved `agent-check` settings; undefined without `agent-check`. */
  readonly agent: AgentOptions | undefined;
  readonly rise: number;
  readonly fall: number;
}

/** A backend (or the backend side of a listen section) with its Pool and server lines. */
export interface BuiltBackend {
  readonly proxy: Proxy;
  readonly backend: Backend;
  readonly pool: Pool<RuntimeServer>;
  /** Balance algorithm name as the stats print it. */
  readonly algo: string;
  readonly servers: readonly BuiltServer[];
}

/** `stats enable` / `stats uri` of one http proxy. */
export interface BuiltStats {
  readonly proxy: Proxy;
  readonly frontend: Frontend;
  readonly http: StatsHttpConfig;
  /** `stats admin if COND` lines (OR'd); empty = no admin. */
  readonly admin: readonly CompiledCondition[];
  /**
   * The proxy forwards nothing (no server, no backend): the runtime serves it by itself, which is
   * also the only place where the admin form's POST body can be read.
   */
  readonly standalone: boolean;
  /** `http-request` rules of a standalone stats proxy (run by the stats server itself). */
  readonly rules: RuleSet | undefined;
}

/**
 * Late-bound services for `http-request use-service NAME`: the builder compiles the rule before the
 * runtime exists, the runtime fills `render` at start.
 */
export interface ServiceHolder {
  prometheus: (() => string) | undefined;
  /** Serves the stats page of a proxy that also forwards traffic; true when it answered. */
  stats: ((st: BuiltStats, txn: HttpTxn) => boolean) | undefined;
}

/**
 * The traffic log of one frontend, planned by the builder and opened by the runtime at start (a
 * Logger owns sockets and helper processes, which a pure build must not create). The runtime sets
 * `frontend.log` from it; `format` undefined means HAProxy's default without any format option:
 * one "Connect from C:P to F:P (fe/MODE)" line per accepted connection (observed on 2.6).
 */
export interface BuiltFrontendLog {
  readonly frontend: Frontend;
  /** The proxy's own targets, then the global ones when it says `log global`; never empty. */
  readonly specs: readonly LogTargetSpec[];
  readonly format: CompiledLogFormat | undefined;
  readonly dontlognull: boolean;
}

export interface BuiltConfig {
  readonly listeners: readonly BuiltListener[];
  readonly frontends: ReadonlyMap<string, Frontend>;
  readonly backends: ReadonlyMap<string, Backend>;
  /** Global `maxconn` (0 = unlimited). */
  readonly maxconn: number;
  /** Global log targets (for lb's own messages). */
  readonly logTargets: readonly LogTargetSpec[];
  /** Things that work but differ from HAProxy (printed at start as warnings). */
  readonly warnings: readonly string[];
  /** Backends with their pools and server lines, in configuration order. */
  readonly backendInfo: ReadonlyMap<string, BuiltBackend>;
  /** Stats pages, in configuration order. */
  readonly stats: readonly BuiltStats[];
  /** Every frontend/backend/listen proxy in configuration order, with HAProxy's ids (from 1... as 2.6 numbers them). */
  readonly proxies: readonly { readonly proxy: Proxy; readonly id: number }[];
  readonly services: ServiceHolder;
  /** Traffic logs of the frontends that log (have at least one target), in configuration order. */
  readonly frontendLogs: readonly BuiltFrontendLog[];
}

export type BuildResult = { ok: true; value: BuiltConfig } | { ok: false; errors: string[] };

/** What `mode http` needs from lb/proxy/http.ts; missing → http frontends are refused. */
export interface BuildOptions {
  /** Whether the L7 data path is available (lb/proxy/http.ts). */
  readonly http: boolean;
}

function where(loc: { file: string; line: number }): string {
  return `${loc.file}:${loc.line}`;
}

const HASHING = new Set(['source', 'uri', 'url_param', 'hdr']);

function balanceSpec(p: Proxy): BalanceSpec | string {
  const b = p.balance;
  if (b === undefined) return { algorithm: 'roundrobin' };
  switch (b.algorithm) {
    case 'roundrobin':
    case 'static-rr':
    case 'leastconn':
    case 'first':
    case 'source':
      return { algorithm: b.algorithm };
    case 'uri':
      return { algorithm: 'uri', uri: { whole: b.uriWhole === true, len: b.uriLen ?? 0, depth: b.uriDepth ?? 0, pathOnly: false } };
    case 'url_param':
      return { algorithm: 'url_param', param: b.param ?? '' };
    case 'hdr':
      return { algorithm: 'hdr', header: (b.header ?? '').toLowerCase(), useDomainOnly: b.useDomainOnly === true };
    case 'random':
      return { algorithm: 'random', draws: b.draws ?? 2 };
    default:
      return `'balance ${b.algorithm}' is not implemented by the running lb yet`;
  }
}

/**
 * Adapts the balance Pool to the data path's ServerPicker. The hash key the data path passes is a
 * string (source address in tcp mode; in http mode what hashKey() below returns), put into one
 * reused HashKey object as the algorithm expects it.
 */
class PoolPicker implements ServerPicker {
  readonly #pool: Pool<RuntimeServer>;
  readonly #byRuntime = new Map<RuntimeServer, PoolServer<RuntimeServer>>();
  readonly #kind: 'src' | 'uri' | 'hdr';
  readonly #key: HashKey = {};
  #headerValue: string | undefined = undefined;
  readonly #header = (): string | undefined => this.#headerValue;

  constructor(pool: Pool<RuntimeServer>, kind: 'src' | 'uri' | 'hdr') {
    this.#pool = pool;
    this.#kind = kind;
    for (const s of pool.servers) if (s.data !== undefined) this.#byRuntime.set(s.data, s);
  }

  pick(key?: string, avoid?: RuntimeServer): RuntimeServer | undefined {
    const k = this.#key;
    if (this.#kind === 'src') k.src = key;
    else if (this.#kind === 'uri') k.uri = key;
    else {
      this.#headerValue = key;
      k.header = this.#header;
    }
    const s = this.#pool.pick(k, avoid === undefined ? undefined : this.#byRuntime.get(avoid));
    return s?.data;
  }

  hasUsable(): boolean {
    return this.#pool.hasUsable();
  }

  taken(s: RuntimeServer): void {
    const p = this.#byRuntime.get(s);
    if (p !== undefined) this.#pool.take(p);
  }

  released(s: RuntimeServer): void {
    const p = this.#byRuntime.get(s);
    if (p !== undefined) this.#pool.release(p);
  }
}

function errorPagesOf(p: Proxy, errors: string[]): ErrorPages | undefined {
  const entries = Object.entries(p.errorfiles);
  if (entries.length === 0) return undefined;
  const m = new Map<number, ErrorPage>();
  for (const [code, file] of entries) {
    try {
      m.set(Number(code), loadErrorFile(Number(code), file));
    } catch (e) {
      errors.push(`${where(p.loc)}: ${p.kind} '${p.name}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return m;
}

function forwardForOf(p: Proxy): ForwardFor | undefined {
  if (p.options.forwardfor !== true && p.forwardfor === undefined) return undefined;
  const ff = p.forwardfor ?? {};
  const out: { header: string; ifNone: boolean; except?: (src: string) => boolean } = { header: ff.header ?? 'X-Forwarded-For', ifNone: ff.ifNone === true };
  if (ff.except !== undefined) out.except = cidrPredicate(`${ff.except.address}/${ff.except.prefix}`);
  return out;
}

function serverProblems(s: Server, mode: 'tcp' | 'http'): string[] {
  const out: string[] = [];
  const o = s.options;
  const a = s.address;
  if (a.family !== 'ipv4' && a.family !== 'ipv6') out.push(`server '${s.name}': ${a.family} addresses are not implemented by the running lb yet`);
  if (a.port === undefined || a.port === 0 || a.portOffset === true) out.push(`server '${s.name}': a server without an explicit port (client's port or offset) is not implemented by the running lb yet`);
  if (o.sendProxy === true || o.sendProxyV2 === true) out.push(`server '${s.name}': 'send-proxy' is not implemented by the running lb yet`);
  if (o.cookie !== undefined && mode === 'http') out.push(`server '${s.name}': 'cookie' persistence is not implemented by the running lb yet`);
  if (o.agentCheck === true && (o.agentPort ?? 0) === 0) out.push(`server '${s.name}': 'agent-check' needs 'agent-port'`);
  if (o.check === true && o.checkSsl === true && (o.caFile === undefined) && o.verify === 'required') out.push(`server '${s.name}': 'check-ssl' with 'verify required' needs 'ca-file'`);
  return out;
}

/**
 * The `check` settings of one server resolved from the model: the server line (default-server
 * already applied by the parser), the backend's `option httpchk` / `http-check` steps /
 * `option tcp-check`, and its `timeout check` / `timeout connect`. Returns an error text for
 * settings the running lb cannot honour.
 */
function checkOptionsOf(p: Proxy, s: Server): CheckOptions | string {
  const o = s.options;
  const c: CheckOptions = { type: 'tcp' };
  if (o.inter !== undefined) c.inter = o.inter;
  if (o.fastinter !== undefined) c.fastinter = o.fastinter;
  if (o.downinter !== undefined) c.downinter = o.downinter;
  if (p.timeouts['check'] !== undefined) c.timeoutCheck = p.timeouts['check'];
  if (p.timeouts['connect'] !== undefined) c.timeoutConnect = p.timeouts['connect'];
  if (o.port !== undefined) c.port = o.port;
  if (o.addr !== undefined) c.addr = o.addr;
  if (o.checkSsl === true) {
    const ssl: NonNullable<CheckOptions['ssl']> = { verify: o.verify ?? 'none' };
    if (o.sni !== undefined) ssl.servername = o.sni;
    if (o.caFile !== undefined) ssl.ca = readFileSync(o.caFile);
    c.ssl = ssl;
  }
  if (p.options['httpchk'] === true) {
    const http = httpCheckOf(p);
    if (typeof http === 'string') return http;
    c.type = 'http';
    c.http = http;
  } else if (p.options['tcp-check'] === true) {
    // `option tcp-check` without rule lines is a plain connect check (haproxy: L4OK, no info).
    c.type = 'tcp-check';
    c.tcpCheck = tcpCheckRulesOf(p);
  }
  return c;
}

/** The model's `tcp-check` lines → the runner's rules (lb/checks/tcpcheck.ts), in order. */
function tcpCheckRulesOf(p: Proxy): TcpCheckRule[] {
  const out: TcpCheckRule[] = [];
  for (const st of p.tcpCheck ?? []) {
    const comment = st.comment === undefined ? {} : { comment: st.comment };
    switch (st.action) {
      case 'connect':
        out.push({
          action: 'connect',
          ...(st.port !== undefined ? { port: st.port } : {}),
          ...(st.addr !== undefined ? { addr: st.addr } : {}),
          ...(st.ssl === true ? { ssl: true } : {}),
          ...comment,
        });
        break;
      case 'send':
        out.push({ action: 'send', data: st.data ?? '', ...comment });
        break;
      case 'send-binary':
        out.push({ action: 'send-binary', hex: st.data ?? '', ...comment });
        break;
      case 'expect':
        out.push({ action: 'expect', kind: st.match ?? 'string', pattern: st.pattern ?? '', ...(st.negate === true ? { negate: true } : {}), ...comment });
        break;
    }
  }
  return out;
}

/**
 * `agent-check` with `agent-port`/`agent-addr`/`agent-inter`/`agent-send`; the agent's interval
 * defaults to the server's `inter` (haproxy: agent-inter, else inter), its timeouts are the
 * backend's `timeout check` / `timeout connect`.
 */
function agentOptionsOf(p: Proxy, s: Server): AgentOptions | undefined {
  const o = s.options;
  if (o.agentCheck !== true || o.agentPort === undefined || o.agentPort === 0) return undefined;
  const a: AgentOptions = { port: o.agentPort };
  if (o.agentAddr !== undefined) a.addr = o.agentAddr;
  const inter = o.agentInter ?? o.inter;
  if (inter !== undefined) a.inter = inter;
  if (o.agentSend !== undefined) a.send = o.agentSend;
  if (p.timeouts['check'] !== undefined) a.timeoutCheck = p.timeouts['check'];
  if (p.timeouts['connect'] !== undefined) a.timeoutConnect = p.timeouts['connect'];
  return a;
}

/** `option httpchk` + `http-check send|expect|disable-on-404` → the runner's options. */
function httpCheckOf(p: Proxy): HttpCheckOptions | string {
  const steps = p.httpCheck;
  const sends = steps.filter((st) => st.kind === 'send');
  if (sends.length > 1) return `several 'http-check send' steps (multi-request checks) are not implemented by the running lb yet (${where(sends[1]!.loc)})`;
  const expects: HttpExpect[] = [];
  let disableOn404 = false;
  for (const st of steps) {
    if (st.kind === 'connect') return `'http-check connect' is not implemented by the running lb yet (${where(st.loc)})`;
    if (st.kind === 'disable-on-404') disableOn404 = true;
    if (st.kind !== 'expect') continue;
    const m = st.match;
    if (m === 'status' || m === 'rstatus' || m === 'string' || m === 'rstring') {
      expects.push({ kind: m, value: st.pattern ?? '', ...(st.negate === true ? { negate: true } : {}) });
    } else {
      return `'http-check expect ${m ?? ''}' is not implemented by the running lb yet (${where(st.loc)})`;
    }
  }
  // The request bytes come from lb/config/httpchk.ts (the one serialiser of the model's request).
  return { request: Buffer.from(httpCheckRequest(p.httpchk, sends[0]), 'latin1'), expects, disableOn404 };
}

/**
 * `server ... ssl [verify none|required] [ca-file F] [sni E] [crt F] [alpn L]` with the global
 * `ssl-default-server-*` settings → the settings tls.connect uses (lb/tls/settings.ts). Returns the
 * error messages when the line cannot work (e.g. haproxy's "verify is enabled by default but no CA
 * file specified"). Of the `sni` sample expressions the data path resolves only the client's own
 * SNI (lb/proxy/connect.ts); others are refused here rather than silently sending none.
 */
function serverTlsOf(s: Server, mode: 'tcp' | 'http', defaults: ServerTlsDefaults): NonNullable<RuntimeServer['tls']> | string[] {
  const o = s.options;
  const r = serverTlsSettings(defaults, {
    label: `server '${s.name}'`,
    mode,
    ...(o.verify !== undefined ? { verify: o.verify } : {}),
    ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
    ...(o.sni !== undefined ? { sni: o.sni } : {}),
    ...(o.crt !== undefined ? { crt: o.crt } : {}),
    ...(o.alpn !== undefined ? { alpn: o.alpn } : {}),
  });
  const errs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
  if (!r.ok) return errs.length > 0 ? errs : [`server '${s.name}': invalid 'ssl' settings`];
  const sni = r.value.sni;
  if (sni.kind === 'expression') {
    const e = sni.expression.trim();
    if (e !== 'ssl_fc_sni' && e !== 'req.ssl_sni' && e !== 'req_ssl_sni') {
      return [`server '${s.name}': 'sni ${e}': only 'str(NAME)', 'ssl_fc_sni' and 'req.ssl_sni' are implemented by the running lb yet`];
    }
  }
  return r.value;
}

function buildBackend(p: Proxy, opts: BuildOptions, errors: string[], warnings: string[], infos: Map<string, BuiltBackend>, services: ServiceHolder, serverTlsDefaults: ServerTlsDefaults): Backend | undefined {
  const mode = p.mode ?? 'tcp';
  const spec = balanceSpec(p);
  let bad = false;
  if (typeof spec === 'string') {
    errors.push(`${where(p.loc)}: backend '${p.name}': ${spec}`);
    bad = true;
  }
  let hashType: HashTypeSpec | undefined;
  if (p.hashType !== undefined) {
    const h = parseHashType(p.hashType);
    if (h.ok) hashType = h.value;
    else {
      errors.push(`${where(p.loc)}: backend '${p.name}': ${h.error}`);
      bad = true;
    }
  }
  const servers: RuntimeServer[] = [];
  const inits = [];
  const lines: { model: Server; id: number; runtime: RuntimeServer; check: CheckOptions | undefined; agent: AgentOptions | undefined }[] = [];
  for (const s of p.servers) {
    const probs = serverProblems(s, mode);
    let check: CheckOptions | undefined;
    if (s.options.check === true && probs.length === 0) {
      const c = checkOptionsOf(p, s);
      if (typeof c === 'string') probs.push(`server '${s.name}': ${c}`);
      else check = c;
    }
    for (const m of probs) errors.push(`${where(s.loc)}: ${m}`);
    if (probs.length > 0) {
      bad = true;
      continue;
    }
    const host = s.address.host;
    const rs = createServer(s.name, host, s.address.port ?? 0, s.options.maxconn ?? 0);
    rs.timings = new RequestTimings();
    if (s.options.ssl === true) {
      const t = serverTlsOf(s, mode, serverTlsDefaults);
      if (typeof t !== 'string' && !Array.isArray(t)) rs.tls = t;
      else {
        for (const e of typeof t === 'string' ? [t] : t) errors.push(`${where(s.loc)}: ${e}`);
        bad = true;
        continue;
      }
    }
    servers.push(rs);
    lines.push({ model: s, id: lines.length + 1, runtime: rs, check, agent: agentOptionsOf(p, s) });
    inits.push({ name: s.name, weight: s.options.weight ?? 1, backup: s.options.backup === true, maxconn: s.options.maxconn ?? 0, usable: s.options.disabled !== true, data: rs });
  }
  void warnings;
  if (bad || typeof spec === 'string') return undefined;
  let pool: Pool<RuntimeServer>;
  try {
    pool = new Pool<RuntimeServer>(inits, algorithmFactory(spec, hashType), { allbackups: p.options.allbackups === true });
  } catch (e) {
    errors.push(`${where(p.loc)}: backend '${p.name}': ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  const kind = spec.algorithm === 'uri' || spec.algorithm === 'url_param' ? 'uri' : spec.algorithm === 'hdr' ? 'hdr' : 'src';
  if (mode === 'tcp' && kind !== 'src') {
    errors.push(`${where(p.loc)}: backend '${p.name}': 'balance ${spec.algorithm}' needs an HTTP request and cannot be used in mode tcp`);
    return undefined;
  }
  const t = p.timeouts;
  const init: Parameters<typeof createBackend>[0] = {
    name: p.name,
    mode,
    picker: new PoolPicker(pool, kind),
    servers,
    retries: p.retries ?? 3,
    redispatch: p.options.redispatch === true ? -1 : 0,
    deterministic: HASHING.has(spec.algorithm),
    timeouts: {
      connect: t.connect ?? 0,
      server: t.server ?? 0,
      ...(t.queue !== undefined ? { queue: t.queue } : {}),
      tunnel: t.tunnel ?? 0,
    },
  };
  if (mode === 'http' && opts.http) {
    const http: { hooks?: HttpHooks; forwardFor?: ForwardFor; errorPages?: ErrorPages; hashKey?: (txn: HttpTxn) => string | undefined } = {};
    const fwd = forwardForOf(p);
    if (fwd !== undefined) http.forwardFor = fwd;
    const pages = errorPagesOf(p, errors);
    if (pages !== undefined) http.errorPages = pages;
    if (kind === 'uri') http.hashKey = (txn) => txn.url;
    else if (kind === 'hdr' && spec.algorithm === 'hdr') {
      const name = spec.header;
      http.hashKey = (txn) => txn.header(name);
    }
    // A listen section runs its rules once, in its frontend part (HAProxy skips a backend's rules
    // when it is the frontend itself): only pure backends carry rule hooks here.
    if (p.kind === 'backend') {
      const acls = new AclTable(p.acls);
      const svc = serviceTable(services);
      const rq = compileRuleSet(p.httpRequest, acls, actionContext('http-request', pages, svc));
      const rs = compileRuleSet(p.httpResponse, acls, actionContext('http-response', pages, svc));
      if (!rq.ok) errors.push(rq.error);
      if (!rs.ok) errors.push(rs.error);
      if (rq.ok && rs.ok) {
        const hooks = httpRuleHooks(rq.value, rs.value, undefined);
        if (hooks !== undefined) http.hooks = hooks;
      }
    }
    init.http = http;
  }
  const be = createBackend(init);
  be.timings = new RequestTimings();
  const built: BuiltServer[] = [];
  for (const l of lines) {
    const ps = pool.byName(l.model.name);
    if (ps === undefined) continue;
    built.push({ ...l, pool: ps, rise: l.model.options.rise ?? 2, fall: l.model.options.fall ?? 3 });
  }
  infos.set(p.name, { proxy: p, backend: be, pool, algo: p.balance?.algorithm ?? 'roundrobin', servers: built });
  return be;
}

/** Expands one bind line into listen addresses (port ranges give one listener per port). */
function bindAddresses(b: Bind, errors: string[]): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const a of b.addresses) {
    if (a.family !== 'ipv4' && a.family !== 'ipv6') {
      errors.push(`${where(b.loc)}: bind '${a.raw}': ${a.family} sockets are not implemented by the running lb yet`);
      continue;
    }
    const first = a.port ?? 0;
    const last = a.portLast ?? first;
    for (let port = first; port <= last; port++) out.push({ host: a.host, port });
  }
  return out;
}

/** Bind options the running lb understands; others are refused by name. */
const KNOWN_BIND_OPTIONS = new Set(['ssl', 'crt', 'alpn', 'name', 'v4v6', 'v6only', 'transparent', 'process', 'thread', 'backlog', 'maxconn']);

function bindTls(b: Bind, mode: 'tcp' | 'http', m: ConfigModel, errors: string[]): BuiltListener['tls'] {
  if (b.ssl !== true) return undefined;
  const { input, rest } = bindInputFromRecord(b.options, mode, b.alpn);
  for (const r of rest) {
    if (!KNOWN_BIND_OPTIONS.has(r)) errors.push(`${where(b.loc)}: bind option '${r}' is not implemented by the running lb yet`);
  }
  const g = m.global;
  const settings = bindTlsSettings(
    {
      ...(g.sslDefaultBindCiphers !== undefined ? { ciphers: g.sslDefaultBindCiphers } : {}),
      ...(g.sslDefaultBindCiphersuites !== undefined ? { ciphersuites: g.sslDefaultBindCiphersuites } : {}),
      ...(g.sslDefaultBindOptions !== undefined ? { options: g.sslDefaultBindOptions } : {}),
    },
    { ...input, label: `bind ${b.addresses.map((a) => a.raw).join(',')}` },
  );
  for (const d of settings.diagnostics) if (d.severity === 'error') errors.push(`${where(b.loc)}: ${d.message}`);
  if (!settings.ok) return undefined;
  const store = loadCertStore({ crt: b.crt ?? [], contextOptions: settings.value.contextOptions, strictSni: settings.value.strictSni });
  if (!store.ok) {
    for (const d of store.diagnostics) if (d.severity === 'error') errors.push(`${where(b.loc)}: ${d.message}`);
    return undefined;
  }
  const holder = new CertStoreHolder(store.store, { crt: b.crt ?? [], contextOptions: settings.value.contextOptions, strictSni: settings.value.strictSni });
  const options: tls.TlsOptions = { ...store.store.defaultServerOptions(), SNICallback: holder.SNICallback };
  if (settings.value.alpnProtocols !== undefined) options.ALPNProtocols = [...settings.value.alpnProtocols];
  return { holder, options };
}

function logSpecs(targets: readonly LogTarget[], errors: string[], what: string): LogTargetSpec[] {
  const out: LogTargetSpec[] = [];
  for (const t of targets) {
    if (t.global === true || t.address === undefined) continue;
    const args = [t.address, ...(t.options ?? []), t.facility ?? '', ...(t.level !== undefined ? [t.level] : []), ...(t.minLevel !== undefined ? [t.minLevel] : [])];
    const r = validateLogTarget(args);
    if (r.ok) out.push(r.value);
    else errors.push(`${what}: ${r.error}`);
  }
  return out;
}

/** HAProxy's default `stats uri`. */
const DEFAULT_STATS_URI = '/haproxy?stats';

/** `stats ...` of an http proxy → the handler's settings; problems are pushed to `errors`. */
function statsConfigOf(p: Proxy, acls: AclTable, label: string, errors: string[]): { http: StatsHttpConfig; admin: CompiledCondition[] } | undefined {
  const st = p.stats;
  if (st === undefined || (st.enable !== true && st.uri === undefined)) return undefined;
  let ok = true;
  const refuse = (what: string): void => {
    errors.push(`${label}: ${what} is not implemented by the running lb yet`);
    ok = false;
  };
  if ((p.mode ?? 'tcp') !== 'http') {
    errors.push(`${label}: the stats page needs 'mode http'`);
    ok = false;
  }
  if (st.scope !== undefined && st.scope.length > 0) refuse("'stats scope'");
  if (st.showNode !== undefined) refuse("'stats show-node'");
  if (st.httpRequest !== undefined && st.httpRequest.length > 0) refuse("'stats http-request'");
  const admin: CompiledCondition[] = [];
  for (const cond of st.admin ?? []) {
    const c = acls.compile(cond);
    if (c.ok) admin.push(c.value);
    else {
      errors.push(`${label}: stats admin: ${c.error}`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  const http: StatsHttpConfig = {
    uri: st.uri ?? DEFAULT_STATS_URI,
    users: (st.auth ?? []).map((a) => ({ user: a.user, password: a.password })),
    refresh: st.refresh === undefined ? 0 : Math.max(1, Math.round(st.refresh / 1000)),
    hideVersion: st.hideVersion === true,
    showLegends: st.showLegends === true,
  };
  if (st.realm !== undefined) http.realm = st.realm;
  return { http, admin };
}

/** A proxy's own log targets (not `log global`), for its health lines. Invalid ones were refused by the parser. */
export function logSpecsOf(targets: readonly LogTarget[]): LogTargetSpec[] {
  return logSpecs(targets, [], '');
}

/**
 * The traffic log of a frontend: its targets (own `log` lines, plus the global ones with
 * `log global`), the format and `option dontlognull`. Format, as HAProxy 2.6 chooses it: `log-format`,
 * else `option httpslog` / `httplog clf` / `httplog` (in mode tcp these fall back to tcplog with
 * haproxy's warning), else `option tcplog`, else none: the "Connect from" line at accept.
 * Undefined when the frontend has no target (it logs nothing).
 */
function frontendLogOf(p: Proxy, fe: Frontend, globalSpecs: readonly LogTargetSpec[], errors: string[], warnings: string[]): BuiltFrontendLog | undefined {
  const specs = [...logSpecsOf(p.log), ...(p.log.some((t) => t.global === true) ? globalSpecs : [])];
  if (specs.length === 0) return undefined;
  const label = `${where(p.loc)}: ${p.kind} '${p.name}'`;
  const o = p.options;
  const http = fe.mode === 'http';
  let source: string | undefined;
  let what = 'log-format';
  if (p.logFormat !== undefined) source = p.logFormat;
  else {
    const opt = o['httpslog'] === true ? 'httpslog' : o['httplog'] === true ? (o['httplog-clf'] === true ? 'httplog clf' : 'httplog') : undefined;
    if (opt !== undefined && !http) {
      warnings.push(`${label}: 'option ${opt}' not usable with ${p.kind} '${p.name}' (needs 'mode http'). Falling back to 'option tcplog'.`);
      source = TCPLOG_FORMAT;
      what = 'option tcplog';
    } else if (opt !== undefined) {
      source = opt === 'httpslog' ? HTTPSLOG_FORMAT : opt === 'httplog clf' ? HTTPLOG_CLF_FORMAT : HTTPLOG_FORMAT;
      what = `option ${opt}`;
    } else if (o['tcplog'] === true) {
      source = TCPLOG_FORMAT;
      what = 'option tcplog';
    }
  }
  let format: CompiledLogFormat | undefined;
  if (source !== undefined) {
    const c = compileLogFormat(source);
    if (!c.ok) {
      errors.push(`${label}: ${what}: failed to parse log-format : ${c.error}`);
      return undefined;
    }
    format = c.value;
    for (const w of c.value.warnings) warnings.push(`${label}: ${w}`);
    if (!http && c.value.usesHttp) warnings.push(`${label}: log-format uses HTTP-only variables in mode tcp; they log as '-'`);
  }
  return { frontend: fe, specs, format, dontlognull: o['dontlognull'] === true };
}

function buildFrontend(
  p: Proxy,
  m: ConfigModel,
  backends: ReadonlyMap<string, Backend>,
  opts: BuildOptions,
  errors: string[],
  listeners: BuiltListener[],
  services: ServiceHolder,
  statsOut: BuiltStats[],
): Frontend | undefined {
  const mode = p.mode ?? 'tcp';
  const label = `${where(p.loc)}: ${p.kind} '${p.name}'`;
  if (mode === 'http' && !opts.http) {
    errors.push(`${label}: mode http needs the L7 data path (lb/proxy/http.ts), which is not available in this build`);
    return undefined;
  }
  const acls = new AclTable(p.acls);
  const pages = mode === 'http' ? errorPagesOf(p, errors) : undefined;
  const statsCfg = statsConfigOf(p, acls, label, errors);
  const wantsStats = p.stats !== undefined && (p.stats.enable === true || p.stats.uri !== undefined);
  let ok = !wantsStats || statsCfg !== undefined;
  const svc = serviceTable(services);
  const rs = (kind: Parameters<typeof actionContext>[0], rules: Proxy['httpRequest']): RuleSet | undefined => {
    if (rules.length === 0) return undefined;
    const r = compileRuleSet(rules, acls, actionContext(kind, pages, svc));
    if (r.ok) return r.value;
    errors.push(r.error);
    ok = false;
    return undefined;
  };
  const connRules = rs('tcp-request connection', p.tcpRequestConnection);
  const contentRules = rs('tcp-request content', p.tcpRequestContent);
  const reqRules = mode === 'http' ? rs('http-request', p.httpRequest) : undefined;
  const resRules = mode === 'http' ? rs('http-response', p.httpResponse) : undefined;
  // A listen section is its own default backend.
  const def = p.defaultBackend?.name ?? (p.kind === 'listen' && backends.has(p.name) ? p.name : undefined);
  const router = compileRouter(p.useBackend, def, acls, backends, mode === 'tcp');
  if (!router.ok) {
    errors.push(router.error.includes(':') && router.error.startsWith(p.loc.file) ? router.error : `${label}: ${router.error}`);
    ok = false;
  }
  for (const u of p.useBackend) {
    const be = u.dynamic ? undefined : backends.get(u.backend);
    if (be !== undefined && be.mode !== mode) errors.push(`${where(u.loc)}: ${mode} frontend '${p.name}' cannot use ${be.mode} backend '${be.name}'`);
  }
  if (!ok || !router.ok) return undefined;
  const r: Router = router.value;
  const t = p.timeouts;
  let fe: Frontend;
  let statsRef: BuiltStats | undefined;
  if (mode === 'tcp') {
    const content = contentRules;
    const selectBackend = (conn: ConnInfo): Backend | undefined => {
      const tx = txnFromConn(conn);
      if (content !== undefined && content.run(tx, NO_SINK) === Next.DONE) return undefined;
      return r.select(tx);
    };
    fe = createFrontend({
      name: p.name,
      mode,
      selectBackend,
      maxconn: p.maxconn ?? 0,
      inspectDelay: p.tcpRequestInspectDelay ?? 0,
      timeouts: { client: t.client ?? 0 },
    });
  } else {
    if (contentRules !== undefined && p.tcpRequestInspectDelay !== undefined) {
      errors.push(`${label}: 'tcp-request inspect-delay' in an http frontend is not implemented by the running lb yet (content rules run on accept with L4 facts)`);
    }
    // A proxy that forwards nothing (`listen stats`) is served entirely by the runtime's stats
    // server; otherwise the stats page is intercepted after the http-request rules, as HAProxy.
    const standalone = statsCfg !== undefined && p.servers.length === 0 && p.defaultBackend === undefined && p.useBackend.length === 0;
    if (statsCfg !== undefined && !standalone && statsCfg.admin.length > 0) {
      errors.push(`${label}: 'stats admin' in a proxy that also forwards traffic is not implemented by the running lb yet (use a separate 'listen stats')`);
    }
    let intercept: ((txn: HttpTxn) => boolean) | undefined;
    if (statsCfg !== undefined && !standalone) intercept = (txn) => statsRef !== undefined && services.stats !== undefined && services.stats(statsRef, txn);
    const hooks = standalone ? undefined : httpRuleHooks(reqRules, resRules, p.useBackend.length > 0 ? r : undefined, intercept);
    const fwd = forwardForOf(p);
    const http: { hooks?: HttpHooks; forwardFor?: ForwardFor; errorPages?: ErrorPages } = {};
    if (hooks !== undefined) http.hooks = hooks;
    if (fwd !== undefined) http.forwardFor = fwd;
    if (pages !== undefined) http.errorPages = pages;
    const defBe = r.defaultBackend;
    fe = createFrontend({
      name: p.name,
      mode,
      // Routing with L7 conditions runs in the request hook; here only the default remains.
      selectBackend: () => defBe,
      maxconn: p.maxconn ?? 0,
      timeouts: { client: t.client ?? 0, httpRequest: t['http-request'] ?? 0, httpKeepAlive: t['http-keep-alive'] ?? 0 },
      http,
    });
    if (statsCfg !== undefined) {
      statsRef = { proxy: p, frontend: fe, http: statsCfg.http, admin: statsCfg.admin, standalone, rules: standalone ? reqRules : undefined };
      statsOut.push(statsRef);
    }
  }
  for (const b of p.binds) {
    const tlsOpts = bindTls(b, mode, m, errors);
    if (b.ssl !== true) {
      for (const k of Object.keys(b.options)) {
        if (!KNOWN_BIND_OPTIONS.has(k)) errors.push(`${where(b.loc)}: bind option '${k}' is not implemented by the running lb yet`);
      }
    }
    for (const a of bindAddresses(b, errors)) {
      listeners.push({
        bind: a,
        frontend: fe,
        mode,
        tls: tlsOpts,
        connRules,
        contentRulesAtAccept: mode === 'http' ? contentRules : undefined,
        stats: statsRef?.standalone === true ? statsRef : undefined,
        where: where(b.loc),
        // Plain tcp mode reads client sockets with onread (no Buffer and no 'data' per read).
        clientRead: mode === 'tcp' && tlsOpts === undefined && statsRef?.standalone !== true ? tcpClientRead : undefined,
      });
    }
  }
  return fe;
}

const NO_SINK = {
  deny(): void {},
  respond(): void {},
};

/** `http-request use-service NAME`: the services the running lb provides. */
function serviceTable(h: ServiceHolder): ServiceTable {
  return new Map([
    [
      'prometheus-exporter',
      (): ErrorPage => localResponse(200, 'OK', [['content-type', PROMETHEUS_CONTENT_TYPE]], h.prometheus?.() ?? ''),
    ],
  ]);
}

/** Builds everything; collects every error. */
export function buildConfig(m: ConfigModel, opts: BuildOptions): BuildResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const backends = new Map<string, Backend>();
  const backendInfo = new Map<string, BuiltBackend>();
  const services: ServiceHolder = { prometheus: undefined, stats: undefined };
  const stats: BuiltStats[] = [];
  const g = m.global;
  const serverTlsDefaults: ServerTlsDefaults = {
    ...(g.sslDefaultServerCiphers !== undefined ? { ciphers: g.sslDefaultServerCiphers } : {}),
    ...(g.sslDefaultServerOptions !== undefined ? { options: g.sslDefaultServerOptions } : {}),
  };
  const logTargets = logSpecs(g.log, errors, 'global log');
  const frontendLogs: BuiltFrontendLog[] = [];
  for (const p of m.proxies) {
    if (p.kind !== 'backend' && p.kind !== 'listen') continue;
    if (p.kind === 'listen' && p.servers.length === 0 && p.stats !== undefined) continue;
    const be = buildBackend(p, opts, errors, warnings, backendInfo, services, serverTlsDefaults);
    if (be !== undefined) backends.set(p.name, be);
  }
  const frontends = new Map<string, Frontend>();
  const listeners: BuiltListener[] = [];
  for (const p of m.proxies) {
    if (p.kind !== 'frontend' && p.kind !== 'listen') continue;
    if (p.binds.length === 0) continue;
    const fe = buildFrontend(p, m, backends, opts, errors, listeners, services, stats);
    if (fe === undefined) continue;
    frontends.set(p.name, fe);
    const log = frontendLogOf(p, fe, logTargets, errors, warnings);
    if (log !== undefined) frontendLogs.push(log);
  }
  // HAProxy numbers proxies from 1 in configuration order; the CLI's own proxy takes the first id
  // when the global section declares a stats socket (observed on 2.6).
  let nextId = m.global.statsSockets.length > 0 ? 2 : 1;
  const proxies = m.proxies.filter((p) => p.kind !== 'defaults').map((p) => ({ proxy: p, id: nextId++ }));
  if (g.chroot !== undefined || g.user !== undefined || g.group !== undefined) {
    warnings.push("global 'chroot', 'user' and 'group' are not applied yet: lb keeps running as the user that started it");
  }
  if (g.nbthread !== undefined && g.nbthread > 1) warnings.push(`global 'nbthread ${g.nbthread}' is not applied yet: lb runs one event loop`);
  if (m.peers.length > 0) errors.push(`${where(m.peers[0]!.loc)}: 'peers' sections are not enforced by the running lb yet`);
  if (listeners.length === 0 && errors.length === 0) errors.push('no listener: the configuration binds nothing');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { listeners, frontends, backends, maxconn: g.maxconn ?? 0, logTargets, warnings, backendInfo, stats, proxies, services, frontendLogs } };
}
