// From the configuration model (lb/config/model.ts) to the runtime structures of the data path
// (lb/proxy/types.ts): backends with their Pool and algorithm, frontends with compiled rules and
// routing, listeners (with TLS when `ssl crt` is set), log targets. Pure with respect to sockets:
// nothing is bound or connected here (certificate and error files are read), so a build that fails
// leaves nothing to clean up.
//
// Every problem is collected (DESIGN.md principle 2) with the file:line of the line at fault; the
// runtime refuses to start when there is one. Things the model parses but the running lb does not
// do yet are refused here by name, never silently accepted.
import tls from 'node:tls';
import type { Bind, ConfigModel, LogTarget, Proxy, Server } from '../config/model.ts';
import { AclTable } from '../acl/eval.ts';
import { algorithmFactory, parseHashType, Pool, type BalanceSpec, type HashKey, type HashTypeSpec, type Server as PoolServer } from '../balance/index.ts';
import { validateLogTarget, type LogTargetSpec } from '../log/targets.ts';
import { actionContext, compileRouter, compileRuleSet, httpRuleHooks, txnFromConn, Next, type RuleSet, type Router } from '../rules/engine.ts';
import { bindInputFromRecord, bindTlsSettings, loadCertStore, CertStoreHolder } from '../tls/index.ts';
import { loadErrorFile, type ErrorPage, type ErrorPages } from './http-errors.ts';
import type { HttpHooks, HttpTxn } from './http-hooks.ts';
import { cidrPredicate } from './http.ts';
import { createBackend, createFrontend, createServer, type Backend, type ConnInfo, type ForwardFor, type Frontend, type Listener, type RuntimeServer, type ServerPicker } from './types.ts';

/** A listener with what the runtime needs besides the data path's Listener. */
export interface BuiltListener extends Listener {
  readonly mode: 'tcp' | 'http';
  /** TLS termination (`bind ... ssl crt`): certificates by SNI and the server options. */
  readonly tls: { readonly holder: CertStoreHolder; readonly options: tls.TlsOptions } | undefined;
  /** `tcp-request connection` rules of the frontend; run on accept. */
  readonly connRules: RuleSet | undefined;
  /** http frontends: `tcp-request content` rules with L4 conditions, run on accept too. */
  readonly contentRulesAtAccept: RuleSet | undefined;
  /** For messages: `file:line` of the bind line. */
  readonly where: string;
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
  if (o.ssl === true) out.push(`server '${s.name}': 'ssl' towards servers (re-encryption) is not implemented by the running lb yet`);
  if (o.sendProxy === true || o.sendProxyV2 === true) out.push(`server '${s.name}': 'send-proxy' is not implemented by the running lb yet`);
  if (o.cookie !== undefined && mode === 'http') out.push(`server '${s.name}': 'cookie' persistence is not implemented by the running lb yet`);
  if (o.slowstart !== undefined) out.push(`server '${s.name}': 'slowstart' is not implemented by the running lb yet`);
  return out;
}

function buildBackend(p: Proxy, opts: BuildOptions, errors: string[], warnings: string[]): Backend | undefined {
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
  let checks = false;
  for (const s of p.servers) {
    const probs = serverProblems(s, mode);
    for (const m of probs) errors.push(`${where(s.loc)}: ${m}`);
    if (probs.length > 0) {
      bad = true;
      continue;
    }
    if (s.options.check === true) checks = true;
    const host = s.address.host;
    const rs = createServer(s.name, host, s.address.port ?? 0, s.options.maxconn ?? 0);
    servers.push(rs);
    inits.push({ name: s.name, weight: s.options.weight ?? 1, backup: s.options.backup === true, maxconn: s.options.maxconn ?? 0, usable: s.options.disabled !== true, data: rs });
  }
  if (checks) warnings.push(`${where(p.loc)}: backend '${p.name}': health checks ('check') are not run yet: every server stays UP (wired by the health-check issue)`);
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
      const rq = compileRuleSet(p.httpRequest, acls, actionContext('http-request', pages));
      const rs = compileRuleSet(p.httpResponse, acls, actionContext('http-response', pages));
      if (!rq.ok) errors.push(rq.error);
      if (!rs.ok) errors.push(rs.error);
      if (rq.ok && rs.ok) {
        const hooks = httpRuleHooks(rq.value, rs.value, undefined);
        if (hooks !== undefined) http.hooks = hooks;
      }
    }
    init.http = http;
  }
  return createBackend(init);
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

function buildFrontend(p: Proxy, m: ConfigModel, backends: ReadonlyMap<string, Backend>, opts: BuildOptions, errors: string[], listeners: BuiltListener[]): Frontend | undefined {
  const mode = p.mode ?? 'tcp';
  const label = `${where(p.loc)}: ${p.kind} '${p.name}'`;
  if (p.stats?.enable === true || p.stats?.uri !== undefined) {
    errors.push(`${label}: the stats page is not implemented yet ('stats enable' / 'stats uri'; lb/stats is a later issue)`);
    return undefined;
  }
  if (mode === 'http' && !opts.http) {
    errors.push(`${label}: mode http needs the L7 data path (lb/proxy/http.ts), which is not available in this build`);
    return undefined;
  }
  const acls = new AclTable(p.acls);
  const pages = mode === 'http' ? errorPagesOf(p, errors) : undefined;
  let ok = true;
  const rs = (kind: Parameters<typeof actionContext>[0], rules: Proxy['httpRequest']): RuleSet | undefined => {
    if (rules.length === 0) return undefined;
    const r = compileRuleSet(rules, acls, actionContext(kind, pages));
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
    const hooks = httpRuleHooks(reqRules, resRules, p.useBackend.length > 0 ? r : undefined);
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
        where: where(b.loc),
      });
    }
  }
  return fe;
}

const NO_SINK = {
  deny(): void {},
  respond(): void {},
};

/** Builds everything; collects every error. */
export function buildConfig(m: ConfigModel, opts: BuildOptions): BuildResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const backends = new Map<string, Backend>();
  for (const p of m.proxies) {
    if (p.kind !== 'backend' && p.kind !== 'listen') continue;
    if (p.kind === 'listen' && p.servers.length === 0 && p.stats !== undefined) continue;
    const be = buildBackend(p, opts, errors, warnings);
    if (be !== undefined) backends.set(p.name, be);
  }
  const frontends = new Map<string, Frontend>();
  const listeners: BuiltListener[] = [];
  for (const p of m.proxies) {
    if (p.kind !== 'frontend' && p.kind !== 'listen') continue;
    if (p.binds.length === 0) continue;
    const fe = buildFrontend(p, m, backends, opts, errors, listeners);
    if (fe !== undefined) frontends.set(p.name, fe);
  }
  const logTargets = logSpecs(m.global.log, errors, 'global log');
  const g = m.global;
  if (g.chroot !== undefined || g.user !== undefined || g.group !== undefined) {
    warnings.push("global 'chroot', 'user' and 'group' are not applied yet: lb keeps running as the user that started it");
  }
  if (g.nbthread !== undefined && g.nbthread > 1) warnings.push(`global 'nbthread ${g.nbthread}' is not applied yet: lb runs one event loop`);
  if (m.peers.length > 0) errors.push(`${where(m.peers[0]!.loc)}: 'peers' sections are not enforced by the running lb yet`);
  if (listeners.length === 0 && errors.length === 0) errors.push('no listener: the configuration binds nothing');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { listeners, frontends, backends, maxconn: g.maxconn ?? 0, logTargets, warnings } };
}
