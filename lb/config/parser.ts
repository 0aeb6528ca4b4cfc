// The configuration parser: files → logical lines (tokenizer.ts) → sections → keyword tables →
// model, then the cross-checks HAProxy does once everything is read. Never throws on any input:
// problems are collected in a Diagnostics list (principle 2) and the caller decides.
import { LB_ERROR_CODES } from '../errors.ts';
import { FETCHES } from '../acl/fetches.ts';
import { conditionFetches } from './acl.ts';
import { defaultCondContext, type CondContext } from './conditions.ts';
import { Diagnostics, type Where } from './diagnostics.ts';
import { reportLookupFailure, suggest, type KeywordTable, type KwContext, type ParseOptions } from './keywords.ts';
import type { Condition, ConfigModel, HttpErrorsSection, PeersSection, Proxy, ProxyKind, Userlist } from './model.ts';
import { emptyGlobal, GLOBAL_KEYWORDS, type GlobalCtx } from './sections/global.ts';
import { HTTP_ERRORS_KEYWORDS, PEERS_KEYWORDS, RESOLVERS_KEYWORDS, USERLIST_KEYWORDS } from './sections/misc.ts';
import { NAMED_DEFAULTS_ONLY, newProxy, PROXY_KEYWORDS, type ProxyCtx } from './sections/proxies.ts';
import { tokenizeEach } from './tokenizer.ts';

export interface ConfigSource {
  /** Name used in diagnostics and in the model's `loc` fields. */
  readonly file: string;
  readonly text: string;
}

export interface ParseConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cond?: CondContext;
  readonly mapPath?: (path: string) => string;
}

export interface ParseResult {
  readonly model: ConfigModel;
  readonly diagnostics: Diagnostics;
}

const SECTION_NAMES = ['global', 'defaults', 'frontend', 'backend', 'listen', 'peers', 'userlist', 'http-errors', 'resolvers'] as const;
const SECTION_SET: ReadonlySet<string> = new Set(SECTION_NAMES);
/** HAProxy sections lb does not parse at all. */
const UNSUPPORTED_SECTIONS = new Set(['ring', 'cache', 'program', 'mailers', 'fcgi-app', 'log-forward', 'dynamic-update', 'traces', 'crt-store']);
const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

type Section =
  | { kind: 'none' }
  | { kind: 'global' }
  | { kind: 'proxy'; proxy: Proxy; anonymousDefaults: boolean }
  | { kind: 'peers'; peers: PeersSection }
  | { kind: 'userlist'; userlist: Userlist }
  | { kind: 'http-errors'; httpErrors: HttpErrorsSection }
  | { kind: 'resolvers' }
  | { kind: 'skip'; name: string };

/** Parses configuration sources in order, as haproxy does for several -f options. */
export function parseConfig(sources: readonly ConfigSource[], options: ParseConfigOptions = {}): ParseResult {
  const diags = new Diagnostics();
  const env = options.env ?? process.env;
  const cond: CondContext = options.cond ?? { ...defaultCondContext(), env };
  const popts: ParseOptions = options.mapPath === undefined ? { env } : { env, mapPath: options.mapPath };
  const model: ConfigModel = { global: emptyGlobal(), defaults: [], proxies: [], peers: [], userlists: [], httpErrors: [] };
  const p = new Parser(model, diags, popts);
  for (const src of sources) {
    tokenizeEach(src.text, { file: src.file, cond }, diags, (args, where) => p.line(args, where));
    p.endFile();
  }
  crossCheck(model, diags);
  return { model, diagnostics: diags };
}

class Parser {
  readonly #model: ConfigModel;
  readonly #diags: Diagnostics;
  readonly #opts: ParseOptions;
  #section: Section = { kind: 'none' };
  /** The last defaults section seen (anonymous or named): what a proxy inherits by default. */
  #lastDefaults: Proxy | undefined;
  readonly #proxyByName = new Map<string, Proxy[]>();
  readonly #defaultsByName = new Map<string, Proxy[]>();
  #anonCount = 0;

  constructor(model: ConfigModel, diags: Diagnostics, opts: ParseOptions) {
    this.#model = model;
    this.#diags = diags;
    this.#opts = opts;
  }

  endFile(): void {
    // A section never spans files in haproxy: each file starts out of any section.
    this.#section = { kind: 'none' };
  }

  line(args: readonly string[], where: Where): void {
    const kw = args[0] ?? '';
    if (SECTION_SET.has(kw)) {
      this.#header(kw, args, where);
      return;
    }
    if (UNSUPPORTED_SECTIONS.has(kw)) {
      this.#diags.alert(where, `'${kw}' sections are not supported by lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
      this.#section = { kind: 'skip', name: kw };
      return;
    }
    const s = this.#section;
    switch (s.kind) {
      case 'none': {
        const sug = suggest(kw, SECTION_NAMES);
        const dym = sug === undefined ? '' : `; did you mean '${sug}' maybe ?`;
        this.#diags.alert(where, `unknown keyword '${kw}' out of section${dym}.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNKNOWN_KEYWORD);
        return;
      }
      case 'skip':
        return;
      case 'global':
        this.#dispatch(GLOBAL_KEYWORDS, 'global', args, where, (keyword) => ({ ...this.#kw(where, keyword), global: this.#model.global }) satisfies GlobalCtx);
        return;
      case 'proxy':
        this.#proxyLine(s.proxy, s.anonymousDefaults, args, where);
        return;
      case 'peers':
        this.#dispatch(PEERS_KEYWORDS, 'peers', args, where, (keyword) => ({ ...this.#kw(where, keyword), peers: s.peers }));
        return;
      case 'userlist':
        this.#dispatch(USERLIST_KEYWORDS, 'userlist', args, where, (keyword) => ({ ...this.#kw(where, keyword), userlist: s.userlist }));
        return;
      case 'http-errors':
        this.#dispatch(HTTP_ERRORS_KEYWORDS, 'http-errors', args, where, (keyword) => ({ ...this.#kw(where, keyword), httpErrors: s.httpErrors }));
        return;
      case 'resolvers':
        this.#dispatch(RESOLVERS_KEYWORDS, 'resolvers', args, where, (keyword) => this.#kw(where, keyword), false);
    }
  }

  #kw(where: Where, keyword: string): KwContext {
    return { where, diags: this.#diags, opts: this.#opts, keyword };
  }

  #dispatch<C extends KwContext>(table: KeywordTable<C>, section: string, args: readonly string[], where: Where, mk: (keyword: string) => C, warnPending = true): void {
    const r = table.lookup(args, SECTION_NAMES);
    if (r.kind !== 'found') {
      reportLookupFailure(r, args, section, where, this.#diags);
      return;
    }
    const before = this.#diags.list.length;
    r.def.parse(args, mk(r.def.name));
    if (warnPending && r.def.runtime === 'pending' && !this.#newAlert(before)) {
      this.#diags.warning(where, `'${r.def.name}' is parsed but not yet enforced by this lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_PENDING);
    }
  }

  #newAlert(before: number): boolean {
    const l = this.#diags.list;
    for (let i = before; i < l.length; i++) if (l[i]?.severity === 'alert') return true;
    return false;
  }

  #proxyLine(proxy: Proxy, anonymousDefaults: boolean, args: readonly string[], where: Where): void {
    const r = PROXY_KEYWORDS.lookup(args, SECTION_NAMES);
    const label = proxy.kind;
    if (r.kind !== 'found') {
      reportLookupFailure(r, args, label, where, this.#diags);
      return;
    }
    const def = r.def;
    const shown = def.name.startsWith('option ') ? def.name.slice(7) : def.name;
    if (proxy.kind === 'defaults') {
      if (!def.sections.includes('defaults')) {
        this.#diags.alert(where, `'${def.name}' not allowed in 'defaults' section.`, LB_ERROR_CODES.ERR_LB_CONFIG_WRONG_SECTION);
        return;
      }
      if (anonymousDefaults && NAMED_DEFAULTS_ONLY.has(def.name)) {
        this.#diags.alert(where, `'${args[0] ?? ''}' not allowed in anonymous 'defaults' section.`, LB_ERROR_CODES.ERR_LB_CONFIG_WRONG_SECTION);
        return;
      }
    } else if (!def.sections.includes(proxy.kind)) {
      const missing = proxy.kind === 'frontend' ? 'backend' : 'frontend';
      if (def.capError === 'alert') {
        this.#diags.alert(where, `'${shown}' not allowed because ${proxy.kind} '${proxy.name}' has no ${missing} capability.`, LB_ERROR_CODES.ERR_LB_CONFIG_WRONG_SECTION);
      } else {
        this.#diags.warning(where, `'${shown}' ignored because ${proxy.kind} '${proxy.name}' has no ${missing} capability.`, LB_ERROR_CODES.ERR_LB_CONFIG_WRONG_SECTION);
      }
      return;
    }
    const before = this.#diags.list.length;
    const ctx: ProxyCtx = { where, diags: this.#diags, opts: this.#opts, keyword: def.name, proxy };
    def.parse(args, ctx);
    if (def.runtime === 'pending' && !this.#newAlert(before)) {
      this.#diags.warning(where, `'${def.name}' is parsed but not yet enforced by this lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_PENDING);
    }
  }

  #header(kw: string, args: readonly string[], where: Where): void {
    const d = this.#diags;
    switch (kw) {
      case 'global':
        if (args.length > 1) d.alert(where, `'global' section does not expect any argument.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        this.#section = { kind: 'global' };
        return;
      case 'defaults':
      case 'frontend':
      case 'backend':
      case 'listen':
        this.#proxyHeader(kw, args, where);
        return;
      case 'resolvers':
        d.alert(where, 'resolvers section is not supported by lb.', LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
        this.#section = { kind: 'resolvers' };
        return;
    }
    const name = args[1];
    if (name === undefined || name === '') {
      d.alert(where, `'${kw}' expects <name> as argument.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
      this.#section = { kind: 'skip', name: kw };
      return;
    }
    if (kw === 'peers') {
      const peers: PeersSection = { name, peers: [], loc: where };
      if (this.#model.peers.some((x) => x.name === name)) d.alert(where, `peers section '${name}' has the same name as another peers section.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
      this.#model.peers.push(peers);
      d.warning(where, `'peers' section is parsed but not yet enforced by this lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_PENDING);
      this.#section = { kind: 'peers', peers };
    } else if (kw === 'userlist') {
      const userlist: Userlist = { name, users: [], groups: [], loc: where };
      this.#model.userlists.push(userlist);
      this.#section = { kind: 'userlist', userlist };
    } else {
      const httpErrors: HttpErrorsSection = { name, errorfiles: {}, loc: where };
      this.#model.httpErrors.push(httpErrors);
      this.#section = { kind: 'http-errors', httpErrors };
    }
  }

  #proxyHeader(kind: ProxyKind, args: readonly string[], where: Where): void {
    const d = this.#diags;
    let name: string | undefined = args[1];
    let i = 2;
    if (name === 'from') {
      name = undefined;
      i = 1;
    }
    if (kind !== 'defaults' && (name === undefined || name === '')) {
      d.alert(where, `'${kind}' expects <name> as argument.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
      this.#section = { kind: 'skip', name: kind };
      return;
    }
    if (name !== undefined && !NAME_RE.test(name)) {
      d.alert(where, `character '${/[^A-Za-z0-9_.:-]/.exec(name)?.[0] ?? ''}' is not permitted in '${kind}' name '${name}'.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
      this.#section = { kind: 'skip', name: kind };
      return;
    }
    let base = this.#lastDefaults;
    let fromName: string | undefined;
    if (args[i] === 'from') {
      fromName = args[i + 1];
      if (fromName === undefined || args.length > i + 2) {
        d.alert(where, `'${kind}' : 'from' expects a defaults section name.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        this.#section = { kind: 'skip', name: kind };
        return;
      }
      const found = this.#defaultsByName.get(fromName);
      if (found === undefined || found.length === 0) {
        d.alert(where, `defaults section '${fromName}' not found for ${kind} '${name ?? '<anonymous>'}'.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
        this.#section = { kind: 'skip', name: kind };
        return;
      }
      if (found.length > 1) {
        const at = found.map((f) => `${f.loc.file}:${f.loc.line}`).join(' and ');
        d.alert(where, `ambiguous defaults section name '${fromName}' referenced by ${kind} '${name ?? '<anonymous>'}' exists at least at ${at}.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
        this.#section = { kind: 'skip', name: kind };
        return;
      }
      base = found[0];
    } else if (args.length > i) {
      d.alert(where, `'${kind} ${name ?? ''}' : unexpected argument '${args[i] ?? ''}' (only 'from <defaults>' is allowed).`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
    }
    if (kind === 'defaults') {
      // A defaults section starts from scratch unless it says `from`.
      const anonymous = name === undefined;
      const dname = name ?? `<anonymous-${++this.#anonCount}>`;
      const proxy = newProxy('defaults', dname, where, fromName === undefined ? undefined : base);
      if (fromName !== undefined) proxy.from = fromName;
      this.#model.defaults.push(proxy);
      if (!anonymous) {
        const l = this.#defaultsByName.get(dname) ?? [];
        l.push(proxy);
        this.#defaultsByName.set(dname, l);
      }
      this.#lastDefaults = proxy;
      this.#section = { kind: 'proxy', proxy, anonymousDefaults: anonymous };
      return;
    }
    const pname = name ?? '';
    const clashes = this.#proxyByName.get(pname);
    for (const other of clashes ?? []) {
      // haproxy 2.6 looks a new frontend/listen up among proxies with the frontend capability and a
      // new backend among those with the backend capability: so frontend and backend may share a
      // name, `listen b` after `backend b` is accepted, `backend b` after `listen b` is not.
      const clash = kind === 'backend' ? isBackend(other) : isFrontend(other);
      if (clash) {
        const otherLabel = other.kind === kind ? other.kind : 'proxy';
        d.alert(where, `${kind} '${pname}' has the same name as ${otherLabel} '${pname}' declared at ${other.loc.file}:${other.loc.line}.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
        this.#section = { kind: 'skip', name: kind };
        return;
      }
    }
    const proxy = newProxy(kind, pname, where, base);
    if (base !== undefined) proxy.from = base.name;
    this.#model.proxies.push(proxy);
    if (clashes === undefined) this.#proxyByName.set(pname, [proxy]);
    else clashes.push(proxy);
    this.#section = { kind: 'proxy', proxy, anonymousDefaults: false };
  }
}

function isBackend(p: Proxy): boolean {
  return p.kind === 'backend' || p.kind === 'listen';
}
function isFrontend(p: Proxy): boolean {
  return p.kind === 'frontend' || p.kind === 'listen';
}

/**
 * Checks that need the whole configuration; every alert points at the line that refers.
 * Written with indexed loops and no per-proxy closures or maps: it visits every proxy and server
 * of the configuration once, in code that has not been optimized yet when `lb -c` runs it.
 */
function crossCheck(model: ConfigModel, d: Diagnostics): void {
  const proxies = model.proxies;
  const backends = new Map<string, Proxy>();
  for (let i = 0; i < proxies.length; i++) {
    const p = proxies[i];
    if (p !== undefined && isBackend(p) && !backends.has(p.name)) backends.set(p.name, p);
  }
  // Name → proxies, only built when some proxy has rules that name a table.
  let byName: Map<string, Proxy[]> | undefined;
  const R = LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE;
  for (let pi = 0; pi < proxies.length; pi++) {
    const p = proxies[pi];
    if (p === undefined) continue;
    const mode = p.mode ?? 'tcp';
    duplicateServers(p, d);
    // backend references
    if (isFrontend(p)) {
      if (p.defaultBackend !== undefined) checkBackend(p, mode, backends, p.defaultBackend.name, p.defaultBackend.loc, 'default_backend', d);
      const ub = p.useBackend;
      for (let i = 0; i < ub.length; i++) {
        const u = ub[i];
        if (u !== undefined && !u.dynamic) checkBackend(p, mode, backends, u.backend, u.loc, 'use_backend', d);
      }
      if (p.kind === 'frontend' && p.binds.length === 0) {
        d.warning(p.loc, `frontend '${p.name}' has no 'bind' directive. Please declare it as a backend if this was intended.`, R);
      }
    }
    // haproxy 2.6 warns when a proxy lacks the timeouts its capabilities need
    const need: string[] = [];
    if (isFrontend(p) && p.timeouts['client'] === undefined) need.push('client');
    if (isBackend(p) && p.timeouts['connect'] === undefined) need.push('connect');
    if (isBackend(p) && p.timeouts['server'] === undefined) need.push('server');
    if (need.length > 0 && !(p.kind === 'frontend' && p.binds.length === 0)) {
      d.warning(p.loc, `missing timeouts for ${p.kind === 'listen' ? 'proxy' : p.kind} '${p.name}'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: ${need.map((n) => `'${n}'`).join(', ')}.`, R);
    }
    // haproxy 2.6 (cfgparse, check.c): rules without the option are not run.
    if (isBackend(p) && p.tcpCheck !== undefined && p.tcpCheck.length > 0 && p.options['tcp-check'] !== true && p.options['httpchk'] !== true) {
      d.warning(p.loc, `backend '${p.name}' uses tcp-check rules without 'option tcp-check', so the rules are ignored.`, R);
    }
    // track-sc / stick rules need a table
    if (p.httpRequest.length + p.httpResponse.length + p.tcpRequestConnection.length + p.tcpRequestContent.length + p.stickRules.length > 0) {
      byName ??= proxiesByName(proxies);
      checkTables(p, byName, d);
    }
    // HTTP-only features in a tcp proxy: haproxy 2.6 warns and ignores them.
    if (mode === 'tcp') {
      const role = p.kind === 'backend' ? 'backend' : p.kind === 'listen' ? 'proxy' : 'frontend';
      if (p.httpRequest.length > 0) d.warning(p.httpRequest[0]?.loc, `'http-request' rules ignored for ${role} '${p.name}' as they require HTTP mode.`, R);
      if (p.httpResponse.length > 0) d.warning(p.httpResponse[0]?.loc, `'http-response' rules ignored for ${role} '${p.name}' as they require HTTP mode.`, R);
      const lookup = (n: string): readonly import('./model.ts').AclTerm[] | undefined => p.acls.find((a) => a.name === n)?.terms;
      const conds: { cond: Condition; loc: Where }[] = [];
      for (const r of p.tcpRequestConnection) if (r.cond !== undefined) conds.push({ cond: r.cond, loc: r.loc });
      for (const c of conds) {
        for (const f of conditionFetches(c.cond, lookup)) {
          if (FETCHES.get(f.fetch)?.http === true) {
            d.alert(c.loc, `'tcp-request connection' : fetch method '${f.fetch}' extracts information from 'HTTP request headers', none of which is available here.`, R);
            break;
          }
        }
      }
    }
  }
}

function proxiesByName(proxies: readonly Proxy[]): Map<string, Proxy[]> {
  const byName = new Map<string, Proxy[]>();
  for (const p of proxies) {
    const l = byName.get(p.name);
    if (l === undefined) byName.set(p.name, [p]);
    else l.push(p);
  }
  return byName;
}

/** Two servers of one proxy with the same name: alert at the second, naming the first's line. */
function duplicateServers(p: Proxy, d: Diagnostics): void {
  const servers = p.servers;
  const n = servers.length;
  if (n < 2) return;
  // Few servers (the usual case): compare pairwise instead of building a map per proxy.
  if (n <= 16) {
    for (let i = 1; i < n; i++) {
      const s = servers[i];
      if (s === undefined) continue;
      for (let j = 0; j < i; j++) {
        const prev = servers[j];
        if (prev === undefined || prev.name !== s.name) continue;
        // j counts up, so this is the first server of that name, the one the alert names
        d.alert(s.loc, `backend '${p.name}', another server named '${s.name}' was already defined at line ${prev.loc.line}, please use distinct names.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
        break;
      }
    }
    return;
  }
  const seen = new Map<string, number>();
  for (const s of servers) {
    const prev = seen.get(s.name);
    if (prev !== undefined) d.alert(s.loc, `backend '${p.name}', another server named '${s.name}' was already defined at line ${prev}, please use distinct names.`, LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE);
    else seen.set(s.name, s.loc.line);
  }
}

function checkBackend(p: Proxy, mode: string, backends: ReadonlyMap<string, Proxy>, name: string, loc: Where, what: 'default_backend' | 'use_backend', d: Diagnostics): void {
  const R = LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE;
  const be = backends.get(name);
  if (be === undefined) {
    d.alert(loc, `Proxy '${p.name}': unable to find required ${what}: '${name}'.`, R);
    return;
  }
  const beMode = be.mode ?? 'tcp';
  if (mode === 'http' && beMode === 'tcp') {
    const as = what === 'default_backend' ? 'as its default backend' : 'in a use_backend rule';
    d.alert(loc, `http ${p.kind === 'listen' ? 'proxy' : 'frontend'} '${p.name}' (${p.loc.file}:${p.loc.line}) tries to use incompatible tcp backend '${be.name}' (${be.loc.file}:${be.loc.line}) ${as} (see 'mode').`, R);
  }
}

/** track-sc rules and stick rules need a stick-table in the proxy they name (or their own). */
function checkTables(p: Proxy, byName: ReadonlyMap<string, Proxy[]>, d: Diagnostics): void {
  const R = LB_ERROR_CODES.ERR_LB_CONFIG_REFERENCE;
  const tableOf = (name: string | undefined): boolean => {
    const n = name ?? p.name;
    return (byName.get(n) ?? []).some((x) => x.stickTable !== undefined);
  };
  for (const rules of [p.httpRequest, p.httpResponse, p.tcpRequestConnection, p.tcpRequestContent]) {
    for (const r of rules) {
      if (r.params.trackCounter !== undefined && !tableOf(r.params.table)) {
        d.alert(r.loc, `Proxy '${p.name}': unable to find table '${r.params.table ?? p.name}' referenced by track-sc${r.params.trackCounter}.`, R);
      }
    }
  }
  for (const s of p.stickRules) {
    if (!tableOf(s.table)) d.alert(s.loc, `Proxy '${p.name}': unable to find stick-table '${s.table ?? p.name}'.`, R);
  }
}

/** True when the configuration has at least one listener (haproxy exits 2 otherwise). */
export function hasListener(model: ConfigModel): boolean {
  return model.proxies.some((p) => isFrontend(p) && p.binds.length > 0);
}
