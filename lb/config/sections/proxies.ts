// Keyword table of the proxy sections: defaults, frontend, backend, listen (manual chapter 4).
// Each keyword states where HAProxy allows it (its "sections"), which encodes HAProxy's capability
// matrix: the parser turns a keyword used where the proxy lacks the capability into haproxy's
// warning ("... ignored because frontend 'f' has no backend capability.") or alert.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LB_ERROR_CODES } from '../../errors.ts';
import { FETCHES } from '../../acl/fetches.ts';
import { parseAclTerm, parseCondition, regexError, type AclScope } from '../acl.ts';
import { KeywordTable, type KeywordDef, type KwContext } from '../keywords.ts';
import type { AclDef, Balance, Bind, Condition, HttpCheckStep, Proxy, ProxyKind, ProxySettings, Rule, RuleParams, SectionKind, ServerOptions, StatsSettings, StickTable, TcpCheckStep } from '../model.ts';
import { alert, cidr, errnoCode, int, isDirectory, mapped, parseLog, readableFile, size, time } from './common.ts';
import { HANDLED_STATUS, HTTP_REQUEST_ACTIONS, HTTP_RESPONSE_ACTIONS, TCP_CONNECTION_ACTIONS, TCP_CONTENT_ACTIONS, reportUnknownAction, type ActionDef } from './rules.ts';
import { parseAddress, parseInteger, parseTime, smallUint, timeMs, type AddressOptions } from '../values.ts';

export interface ProxyCtx extends KwContext {
  readonly proxy: Proxy;
}

type Def = KeywordDef<ProxyCtx>;

const ALL: readonly SectionKind[] = ['defaults', 'frontend', 'backend', 'listen'];
const NODEF: readonly SectionKind[] = ['frontend', 'backend', 'listen'];
const FE: readonly SectionKind[] = ['defaults', 'frontend', 'listen'];
const FE_ONLY: readonly SectionKind[] = ['frontend', 'listen'];
const BE: readonly SectionKind[] = ['defaults', 'backend', 'listen'];
const BE_ONLY: readonly SectionKind[] = ['backend', 'listen'];

/** Default values HAProxy gives a server when neither default-server nor the line set them. */
function serverDefaults(): ServerOptions {
  return { inter: 2000, fall: 3, rise: 2, weight: 1 };
}

const SERVER_ADDRESS: AddressOptions = { port: 'optional', portOffset: true, allowFd: false };


/**
 * A new proxy inheriting from `base` (a defaults section), if any. The copy is deep enough that a
 * proxy changing its own settings never changes its defaults section (values that are replaced
 * whole, like balance, are shared). Built in place, keys in the same order as always (settings
 * first, then the proxy's own lists): it runs once per proxy and shows in the 10k-line bench.
 */
export function newProxy(kind: ProxyKind, name: string, loc: { file: string; line: number }, base: ProxySettings | undefined): Proxy {
  if (base === undefined) {
    return {
      kind,
      name,
      loc,
      log: [],
      options: {},
      timeouts: {},
      errorfiles: {},
      httpCheck: [],
      binds: [],
      servers: [],
      acls: [],
      httpRequest: [],
      httpResponse: [],
      tcpRequestConnection: [],
      tcpRequestContent: [],
      useBackend: [],
      stickRules: [],
    };
  }
  const s: ProxySettings = { log: base.log.slice(), options: { ...base.options }, timeouts: { ...base.timeouts }, errorfiles: { ...base.errorfiles }, httpCheck: base.httpCheck.slice() };
  if (base.mode !== undefined) s.mode = base.mode;
  if (base.httpchk !== undefined) s.httpchk = base.httpchk;
  // Shared with the defaults section: the proxy's first own `tcp-check` line replaces the list.
  if (base.tcpCheck !== undefined) s.tcpCheck = base.tcpCheck;
  if (base.forwardfor !== undefined) s.forwardfor = base.forwardfor;
  if (base.retries !== undefined) s.retries = base.retries;
  if (base.maxconn !== undefined) s.maxconn = base.maxconn;
  if (base.balance !== undefined) s.balance = base.balance;
  if (base.hashType !== undefined) s.hashType = base.hashType;
  if (base.defaultServer !== undefined) s.defaultServer = { ...base.defaultServer };
  if (base.stats !== undefined) {
    const st = { ...base.stats };
    if (st.auth !== undefined) st.auth = [...st.auth];
    if (st.admin !== undefined) st.admin = [...st.admin];
    if (st.scope !== undefined) st.scope = [...st.scope];
    s.stats = st;
  }
  if (base.tcpRequestInspectDelay !== undefined) s.tcpRequestInspectDelay = base.tcpRequestInspectDelay;
  if (base.logFormat !== undefined) s.logFormat = base.logFormat;
  return {
    kind,
    name,
    loc,
    ...s,
    binds: [],
    servers: [],
    acls: [],
    httpRequest: [],
    httpResponse: [],
    tcpRequestConnection: [],
    tcpRequestContent: [],
    useBackend: [],
    stickRules: [],
  };
}


/** Name → ACL definition per proxy, so rules referring to ACLs stay O(1) in big configs. */
const aclIndex = new WeakMap<Proxy, Map<string, AclDef>>();

function aclsOf(p: Proxy): Map<string, AclDef> {
  let m = aclIndex.get(p);
  if (m === undefined || m.size !== p.acls.length) {
    m = new Map(p.acls.map((a) => [a.name, a]));
    aclIndex.set(p, m);
  }
  return m;
}

function aclScope(ctx: ProxyCtx): AclScope {
  const acls = aclsOf(ctx.proxy);
  const scope: AclScope = { has: (n) => acls.has(n), loc: ctx.where };
  if (ctx.opts.mapPath !== undefined) scope.mapPath = ctx.opts.mapPath;
  return scope;
}

/** Parses an optional trailing condition starting at `args[i]`; `what` names the rule for errors. */
function condAt(args: readonly string[], i: number, ctx: ProxyCtx, what: string): { ok: boolean; cond?: Condition } {
  if (i >= args.length) return { ok: true };
  const r = parseCondition(args.slice(i), aclScope(ctx));
  if (!r.ok) {
    alert(ctx, `error detected while parsing ${what} : ${r.error}.`);
    return { ok: false };
  }
  for (const group of r.value.or) for (const t of group) if ('anonymous' in t) warnPendingFetch(ctx, t.anonymous.fetch);
  return { ok: true, cond: r.value };
}

/** Stick-counter fetches (sc_*, src_*) parse but are not evaluated by lb yet: say so. */
function warnPendingFetch(ctx: ProxyCtx, fetch: string): void {
  if (FETCHES.get(fetch)?.pending === true) {
    ctx.diags.warning(ctx.where, `fetch method '${fetch}' is parsed but not yet enforced by this lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_PENDING);
  }
}

function condIndex(args: readonly string[], from: number): number {
  for (let i = from; i < args.length; i++) if (args[i] === 'if' || args[i] === 'unless') return i;
  return args.length;
}

// ---------------------------------------------------------------------------------------------
// options

/** Options without arguments: `option X` / `no option X`. */
const SIMPLE_OPTIONS: readonly [string, readonly SectionKind[]][] = [
  ['httplog', FE],
  ['httpslog', FE],
  ['tcplog', FE],
  ['dontlognull', FE],
  ['dontlog-normal', FE],
  ['logasap', FE],
  ['log-separate-errors', FE],
  ['redispatch', BE],
  ['allbackups', BE],
  ['tcp-check', BE],
  ['log-health-checks', BE],
  ['abortonclose', BE],
  ['http-server-close', ALL],
  ['http-keep-alive', ALL],
  ['httpclose', ALL],
  ['http-buffer-request', ALL],
  ['persist', BE],
  ['tcpka', ALL],
  ['clitcpka', FE],
  ['srvtcpka', BE],
  ['splice-auto', ALL],
  ['http-ignore-probes', FE],
  ['http-no-delay', ALL],
  ['prefer-last-server', BE],
  ['independent-streams', ALL],
  ['nolinger', ALL],
  ['socket-stats', FE],
  ['contstats', FE],
];

const LOG_FORMAT_OPTIONS: readonly string[] = ['httplog', 'httpslog', 'tcplog'];

function simpleOption(name: string, sections: readonly SectionKind[]): Def {
  return {
    name: `option ${name}`,
    sections,
    runtime: 'ready',
    parse(args, ctx) {
      if (args.length > 2 && !(name === 'httplog' && args[2] === 'clf' && args.length === 3)) {
        alert(ctx, `'option ${name}' does not expect any argument.`);
        return;
      }
      // The log format options replace each other: the last one of the proxy wins, as in HAProxy.
      if (LOG_FORMAT_OPTIONS.includes(name)) for (const o of [...LOG_FORMAT_OPTIONS, 'httplog-clf']) delete ctx.proxy.options[o];
      ctx.proxy.options[name] = true;
      if (name === 'httplog' && args[2] === 'clf') ctx.proxy.options['httplog-clf'] = true;
    },
  };
}

const OPTION_DEFS: readonly Def[] = [
  ...SIMPLE_OPTIONS.map(([n, s]) => simpleOption(n, s)),
  {
    name: 'option forwardfor',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const ff: NonNullable<ProxySettings['forwardfor']> = {};
      for (let i = 2; i < args.length; i++) {
        const a = args[i];
        if (a === 'except') {
          const c = cidr(ctx, args[i + 1], 'option forwardfor except');
          if (c === undefined) return;
          ff.except = c;
          i++;
        } else if (a === 'header') {
          const h = args[i + 1];
          if (h === undefined || h === '') {
            alert(ctx, "'option forwardfor' : missing header name.");
            return;
          }
          ff.header = h;
          i++;
        } else if (a === 'if-none') ff.ifNone = true;
        else {
          alert(ctx, `'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.`);
          return;
        }
      }
      ctx.proxy.forwardfor = ff;
      ctx.proxy.options['forwardfor'] = true;
    },
  },
  {
    name: 'option httpchk',
    sections: BE,
    runtime: 'ready',
    parse(args, ctx) {
      // Forms: (none) | <uri> | <method> <uri> | <method> <uri> <version>, where <version> may carry
      // "\r\n"-separated headers (pre-2.2 style, as in the seed), split off like haproxy does.
      const rest = args.slice(2);
      if (rest.length > 3) {
        alert(ctx, "'option httpchk' : expects at most 3 arguments (<method> <uri> <version>).");
        return;
      }
      let method = 'OPTIONS';
      let uri = '/';
      let version = 'HTTP/1.0';
      if (rest.length === 1) uri = rest[0] ?? '/';
      else if (rest.length >= 2) {
        method = rest[0] ?? method;
        uri = rest[1] ?? uri;
        if (rest[2] !== undefined) version = rest[2];
      }
      const chk: NonNullable<ProxySettings['httpchk']> = { method, uri, version };
      const crlf = version.indexOf('\r\n');
      if (crlf >= 0) {
        ctx.diags.warning(ctx.where, "'option httpchk' : hiding headers or body at the end of the version string is deprecated. Please, consider to use 'http-check send' directive instead.");
        chk.version = version.slice(0, crlf);
        let hdrs = version.slice(crlf + 2);
        const bodyAt = hdrs.indexOf('\r\n\r\n');
        if (bodyAt >= 0) {
          chk.body = hdrs.slice(bodyAt + 4);
          hdrs = hdrs.slice(0, bodyAt);
        }
        const headers: [string, string][] = [];
        for (const line of hdrs.split('\r\n')) {
          if (line === '') continue;
          const colon = line.indexOf(':');
          if (colon <= 0) {
            alert(ctx, `'option httpchk' : invalid header '${line}'.`);
            return;
          }
          headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
        }
        chk.headers = headers;
      }
      ctx.proxy.httpchk = chk;
      ctx.proxy.options['httpchk'] = true;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// timeouts

const TIMEOUTS: readonly [string, readonly SectionKind[]][] = [
  ['client', FE],
  ['client-fin', FE],
  ['http-request', ALL],
  ['http-keep-alive', ALL],
  ['connect', BE],
  ['server', BE],
  ['server-fin', BE],
  ['queue', BE],
  ['check', BE],
  ['tunnel', BE],
  ['tarpit', ALL],
];

const TIMEOUT_DEFS: readonly Def[] = TIMEOUTS.map(
  ([name, sections]): Def => ({
    name: `timeout ${name}`,
    sections,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] === undefined) {
        alert(ctx, `'timeout ${name}' expects an integer value (in milliseconds)`);
        return;
      }
      const v = time(ctx, args[2], `timeout ${name}`);
      if (v === undefined) return;
      if (args.length > 3) {
        alert(ctx, `'timeout ${name}' : unexpected argument '${args[3] ?? ''}'.`);
        return;
      }
      ctx.proxy.timeouts[name] = v;
    },
  }),
);

// ---------------------------------------------------------------------------------------------
// servers

/**
 * `server` is undefined for `default-server`. Error messages name the line through whatOf(): the
 * text is only built when there is an error (8,000 server lines are common in big configs).
 */
type ServerOpt = { args: 0 | 1; apply(o: ServerOptions, v: string, ctx: ProxyCtx, server: string | undefined): boolean };

function whatOf(ctx: ProxyCtx, server: string | undefined): string {
  return server === undefined ? `'default-server'` : `'server ${ctx.proxy.name}/${server}'`;
}

function tOpt(key: 'inter' | 'fastinter' | 'downinter' | 'slowstart' | 'agentInter', label: string = key): ServerOpt {
  return {
    args: 1,
    apply(o, v, ctx, server) {
      let t = timeMs(v);
      if (t < 0) {
        const r = parseTime(v);
        if (!r.ok) {
          alert(ctx, `${whatOf(ctx, server)} : '${label}' : ${r.error}.`);
          return false;
        }
        t = r.value;
      }
      if (t === 0 && key !== 'slowstart') {
        alert(ctx, `${whatOf(ctx, server)} : '${label}' : expects a positive delay in milliseconds.`);
        return false;
      }
      o[key] = t;
      return true;
    },
  };
}

function iOpt(key: 'fall' | 'rise' | 'weight' | 'maxconn' | 'maxqueue' | 'port' | 'agentPort', min: number, max: number, label: string = key): ServerOpt {
  return {
    args: 1,
    apply(o, v, ctx, server) {
      const n = smallUint(v);
      if (n >= min && n <= max) {
        o[key] = n;
        return true;
      }
      const r = parseInteger(v, min, max);
      if (!r.ok) {
        alert(ctx, `${whatOf(ctx, server)} : '${label}' : ${r.error}.`);
        return false;
      }
      o[key] = r.value;
      return true;
    },
  };
}

function bOpt(key: 'check' | 'checkSsl' | 'backup' | 'disabled' | 'ssl' | 'sendProxy' | 'sendProxyV2' | 'agentCheck', value: boolean): ServerOpt {
  return {
    args: 0,
    apply(o) {
      o[key] = value;
      return true;
    },
  };
}

function sOpt(key: 'addr' | 'sni' | 'alpn' | 'cookie' | 'initAddr' | 'observe' | 'onError' | 'resolvers' | 'agentAddr' | 'agentSend', check?: (v: string) => string | undefined): ServerOpt {
  return {
    args: 1,
    apply(o, v, ctx, server) {
      const e = check?.(v);
      if (e !== undefined) {
        alert(ctx, `${whatOf(ctx, server)} : ${e}`);
        return false;
      }
      o[key] = v;
      return true;
    },
  };
}

function fileOpt(key: 'caFile' | 'crt', label: string): ServerOpt {
  return {
    args: 1,
    apply(o, v, ctx, server) {
      if (!readableFile(ctx, v)) {
        alert(ctx, `${whatOf(ctx, server)} : '${label}' : unable to load '${v}'.`);
        return false;
      }
      o[key] = v;
      return true;
    },
  };
}

const SERVER_OPTS: ReadonlyMap<string, ServerOpt> = new Map<string, ServerOpt>([
  ['check', bOpt('check', true)],
  ['no-check', bOpt('check', false)],
  ['check-ssl', bOpt('checkSsl', true)],
  ['no-check-ssl', bOpt('checkSsl', false)],
  ['backup', bOpt('backup', true)],
  ['no-backup', bOpt('backup', false)],
  ['disabled', bOpt('disabled', true)],
  ['enabled', bOpt('disabled', false)],
  ['ssl', bOpt('ssl', true)],
  ['no-ssl', bOpt('ssl', false)],
  ['send-proxy', bOpt('sendProxy', true)],
  ['no-send-proxy', bOpt('sendProxy', false)],
  ['send-proxy-v2', bOpt('sendProxyV2', true)],
  ['agent-check', bOpt('agentCheck', true)],
  ['no-agent-check', bOpt('agentCheck', false)],
  ['agent-port', iOpt('agentPort', 0, 65535, 'agent-port')],
  ['agent-inter', tOpt('agentInter', 'agent-inter')],
  ['agent-addr', sOpt('agentAddr', (v) => (parseAddress(v, { port: 'forbidden' }).ok ? undefined : `'agent-addr' : invalid address '${v}'.`))],
  ['agent-send', sOpt('agentSend')],
  ['inter', tOpt('inter')],
  ['fastinter', tOpt('fastinter')],
  ['downinter', tOpt('downinter')],
  ['slowstart', tOpt('slowstart')],
  ['fall', iOpt('fall', 1, 2 ** 31 - 1)],
  ['rise', iOpt('rise', 1, 2 ** 31 - 1)],
  ['weight', iOpt('weight', 0, 256)],
  ['maxconn', iOpt('maxconn', 0, 2 ** 31 - 1)],
  ['maxqueue', iOpt('maxqueue', 0, 2 ** 31 - 1)],
  ['port', iOpt('port', 1, 65535)],
  ['addr', sOpt('addr', (v) => (parseAddress(v, { port: 'forbidden' }).ok ? undefined : `'addr' : invalid address '${v}'.`))],
  ['sni', sOpt('sni')],
  ['alpn', sOpt('alpn')],
  ['cookie', sOpt('cookie')],
  ['init-addr', sOpt('initAddr')],
  ['observe', sOpt('observe', (v) => (v === 'layer4' || v === 'layer7' ? undefined : `'observe' expects 'layer4' or 'layer7' (got '${v}').`))],
  ['on-error', sOpt('onError', (v) => (['fastinter', 'fail-check', 'sudden-death', 'mark-down'].includes(v) ? undefined : `'on-error' : unknown mode '${v}'.`))],
  ['resolvers', sOpt('resolvers')],
  ['ca-file', fileOpt('caFile', 'ca-file')],
  ['crt', fileOpt('crt', 'crt')],
  [
    'verify',
    {
      args: 1,
      apply(o, v, ctx, server) {
        if (v !== 'none' && v !== 'required') {
          alert(ctx, `${whatOf(ctx, server)} : 'verify' : unknown verify method '${v}', only 'none' and 'required' are supported.`);
          return false;
        }
        o.verify = v;
        return true;
      },
    },
  ],
]);

function suggestServerOpt(k: string): string {
  let best = '';
  let bestD = 3;
  for (const o of SERVER_OPTS.keys()) {
    const d = levenshtein(k, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best === '' ? '' : `; did you mean '${best}' maybe ?`;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

/** Parses server options from `args[from]` on into `o`. */
function serverOptions(args: readonly string[], from: number, o: ServerOptions, ctx: ProxyCtx, server: string | undefined): boolean {
  for (let i = from; i < args.length; i++) {
    const k = args[i] ?? '';
    const opt = SERVER_OPTS.get(k);
    if (opt === undefined) {
      alert(ctx, `${whatOf(ctx, server)} : unknown keyword '${k}'${suggestServerOpt(k)}`);
      return false;
    }
    if (opt.args === 1) {
      const v = args[i + 1];
      if (v === undefined) {
        alert(ctx, `${whatOf(ctx, server)} : '${k}' expects an argument.`);
        return false;
      }
      if (!opt.apply(o, v, ctx, server)) return false;
      i++;
    } else if (!opt.apply(o, '', ctx, server)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// bind

const BIND_FLAGS = new Set(['ssl', 'accept-proxy', 'v4v6', 'v6only', 'transparent', 'defer-accept', 'tfo', 'strict-sni', 'prefer-client-ciphers', 'no-tls-tickets', 'allow-0rtt', 'quic-force-retry', 'generate-certificates', 'no-sslv3', 'no-tlsv10', 'no-tlsv11', 'no-tlsv12', 'no-tlsv13']);
const BIND_VALUES = new Set(['name', 'alpn', 'npn', 'ciphers', 'ciphersuites', 'ssl-min-ver', 'ssl-max-ver', 'curves', 'ecdhe', 'interface', 'maxconn', 'backlog', 'mode', 'user', 'group', 'uid', 'gid', 'level', 'id', 'nice', 'process', 'thread', 'namespace', 'verify', 'ca-file', 'crl-file', 'mss', 'tcp-ut', 'severity-output', 'expose-fd']);

/** Checks that a PEM file holds a certificate and (there or in FILE.key) a private key. */
function checkCertFile(ctx: ProxyCtx, path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(mapped(ctx, path), 'utf8');
  } catch (e) {
    return `unable to stat SSL certificate from file '${path}' : ${errnoCode(e) === 'ENOENT' ? 'No such file or directory' : 'Permission denied'}.`;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return `unable to load SSL certificate from PEM file '${path}'.`;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) && !readableFile(ctx, `${path}.key`)) {
    return `unable to load SSL private key from PEM file '${path}'.`;
  }
  return undefined;
}

const IGNORED_IN_CRT_DIR = ['.key', '.ocsp', '.issuer', '.sctl', '.dh'];

function checkCrt(ctx: ProxyCtx, path: string): string | undefined {
  if (!isDirectory(ctx, path)) return checkCertFile(ctx, path);
  let entries: string[];
  try {
    entries = readdirSync(mapped(ctx, path)).sort();
  } catch {
    return `unable to scan directory '${path}'.`;
  }
  let n = 0;
  for (const e of entries) {
    if (e.startsWith('.') || IGNORED_IN_CRT_DIR.some((s) => e.endsWith(s))) continue;
    const full = join(path, e);
    try {
      if (!statSync(mapped(ctx, full)).isFile()) continue;
    } catch {
      continue;
    }
    const err = checkCertFile(ctx, full);
    if (err !== undefined) return err;
    n++;
  }
  return n === 0 ? `no certificate found in directory '${path}'.` : undefined;
}

const bindDef: Def = {
  name: 'bind',
  sections: FE_ONLY,
  runtime: 'ready',
  parse(args, ctx) {
    const spec = args[1];
    if (spec === undefined || spec === '' || spec.startsWith('-')) {
      alert(ctx, "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.");
      return;
    }
    const b: Bind = { addresses: [], options: {}, loc: ctx.where };
    for (const part of spec.split(',')) {
      const r = parseAddress(part, { port: 'required', portRange: true });
      if (!r.ok) {
        alert(ctx, `'bind' : ${r.error}`);
        return;
      }
      b.addresses.push(r.value);
    }
    for (let i = 2; i < args.length; i++) {
      const k = args[i] ?? '';
      if (k === 'ssl') b.ssl = true;
      else if (k === 'crt') {
        const v = args[i + 1];
        if (v === undefined) {
          alert(ctx, `'bind ${spec}' : 'crt' : missing certificate location`);
          return;
        }
        const e = checkCrt(ctx, v);
        if (e !== undefined) {
          alert(ctx, `'bind ${spec}' : ${e}`);
          return;
        }
        (b.crt ??= []).push(v);
        i++;
      } else if (k === 'alpn') {
        const v = args[i + 1];
        if (v === undefined || v === '') {
          alert(ctx, `'bind ${spec}' : 'alpn' : missing the comma-delimited ALPN protocol suite`);
          return;
        }
        b.alpn = v;
        i++;
      } else if (k === 'crt-list') {
        ctx.diags.alert(ctx.where, `'bind ${spec}' : 'crt-list' is not supported by lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
        return;
      } else if (BIND_FLAGS.has(k)) b.options[k] = true;
      else if (BIND_VALUES.has(k)) {
        const v = args[i + 1];
        if (v === undefined) {
          alert(ctx, `'bind ${spec}' : '${k}' expects an argument.`);
          return;
        }
        if ((k === 'ssl-min-ver' || k === 'ssl-max-ver') && !['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].includes(v)) {
          alert(ctx, `'bind ${spec}' : '${k}' : unknown ssl/tls version string '${v}'.`);
          return;
        }
        if (k === 'maxconn' && int(ctx, v, 0, 2 ** 31 - 1, `bind ${spec} maxconn`) === undefined) return;
        b.options[k] = v;
        i++;
      } else {
        alert(ctx, `'bind ${spec}' unknown keyword '${k}'.`);
        return;
      }
    }
    if (b.ssl === true && b.crt === undefined) {
      alert(ctx, `'bind ${spec}' : 'ssl' requires at least one certificate ('crt').`);
      return;
    }
    ctx.proxy.binds.push(b);
  },
};

// ---------------------------------------------------------------------------------------------
// balance

const BALANCE_ERR = "balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.";

const balanceDef: Def = {
  name: 'balance',
  sections: BE,
  runtime: 'ready',
  parse(args, ctx) {
    const a = args[1] ?? '';
    let b: Balance;
    const extra = args.slice(2);
    const noExtra = (): boolean => {
      if (extra.length > 0) {
        alert(ctx, `'balance ${a}' : unexpected argument '${extra[0] ?? ''}'.`);
        return false;
      }
      return true;
    };
    if (a === 'roundrobin' || a === 'static-rr' || a === 'leastconn' || a === 'first' || a === 'source') {
      if (!noExtra()) return;
      b = { algorithm: a };
    } else if (a === 'random') {
      b = { algorithm: 'random', draws: 2 };
      if (extra.length > 0) {
        const m = /^\(?([0-9]+)\)?$/.exec(extra[0] ?? '');
        if (m === null) {
          alert(ctx, `'balance random' : unexpected argument '${extra[0] ?? ''}'.`);
          return;
        }
        b.draws = Number(m[1]);
      }
    } else if (a.startsWith('random(')) {
      const n = int(ctx, a.slice(7, -1), 1, 100, 'balance random');
      if (n === undefined || !noExtra()) return;
      b = { algorithm: 'random', draws: n };
    } else if (a === 'uri') {
      b = { algorithm: 'uri' };
      for (let i = 0; i < extra.length; i++) {
        const k = extra[i];
        if (k === 'whole') b.uriWhole = true;
        else if (k === 'len' || k === 'depth') {
          const n = int(ctx, extra[i + 1], 1, 2 ** 31 - 1, `balance uri ${k}`);
          if (n === undefined) return;
          if (k === 'len') b.uriLen = n;
          else b.uriDepth = n;
          i++;
        } else if (k === 'path-only') {
          // accepted, same as default for origin-form requests
        } else {
          alert(ctx, "'balance uri' only accepts parameters 'whole', 'len', 'depth' and 'path-only'.");
          return;
        }
      }
    } else if (a === 'url_param') {
      const p = extra[0];
      if (p === undefined) {
        alert(ctx, "'balance url_param' requires an URL parameter name.");
        return;
      }
      b = { algorithm: 'url_param', param: p };
      if (extra.length > 1) {
        alert(ctx, `'balance url_param' : unsupported argument '${extra[1] ?? ''}'.`);
        return;
      }
    } else if (a.startsWith('hdr(') && a.endsWith(')') && a.length > 5) {
      b = { algorithm: 'hdr', header: a.slice(4, -1) };
      if (extra[0] === 'use_domain_only') b.useDomainOnly = true;
      else if (!noExtra()) return;
    } else if (a.startsWith('rdp-cookie')) {
      b = { algorithm: 'rdp-cookie', param: a.slice(11, -1) || 'mstshash' };
    } else {
      alert(ctx, BALANCE_ERR);
      return;
    }
    ctx.proxy.balance = b;
  },
};

// ---------------------------------------------------------------------------------------------
// http-check

function httpCheckSend(args: readonly string[], ctx: ProxyCtx): void {
  const step: HttpCheckStep = { kind: 'send', loc: ctx.where };
  for (let i = 2; i < args.length; i++) {
    const k = args[i] ?? '';
    const v = args[i + 1];
    if (v === undefined) {
      alert(ctx, `'http-check send' : '${k}' expects an argument.`);
      return;
    }
    if (k === 'meth') step.method = v;
    else if (k === 'uri' || k === 'uri-lf') step.uri = v;
    else if (k === 'ver') step.version = v;
    else if (k === 'body' || k === 'body-lf') step.body = v;
    else if (k === 'comment') {
      // accepted
    } else if (k === 'hdr') {
      const hv = args[i + 2];
      if (hv === undefined) {
        alert(ctx, "'http-check send' : 'hdr' expects <name> and <value> as arguments.");
        return;
      }
      (step.headers ??= []).push([v, hv]);
      i++;
    } else {
      alert(ctx, `'http-check send' : expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf' but got '${k}' as argument.`);
      return;
    }
    i++;
  }
  ctx.proxy.httpCheck.push(step);
}

const EXPECT_MATCHES = new Set(['status', 'rstatus', 'string', 'rstring', 'hdr', 'fhdr', 'custom']);

function httpCheckExpect(args: readonly string[], ctx: ProxyCtx): void {
  const step: HttpCheckStep = { kind: 'expect', loc: ctx.where };
  let i = 2;
  while (i < args.length && ['min-recv', 'comment', 'ok-status', 'error-status', 'tout-status', 'on-success', 'on-error', 'status-code'].includes(args[i] ?? '')) i += 2;
  if (args[i] === '!') {
    step.negate = true;
    i++;
  }
  const m = args[i];
  if (m === undefined || !EXPECT_MATCHES.has(m)) {
    alert(ctx, `'http-check expect' : expects 'status', 'rstatus', 'string', 'rstring', 'hdr', 'fhdr' or 'custom' but got '${m ?? ''}' as argument.`);
    return;
  }
  const p = args[i + 1];
  if (p === undefined) {
    alert(ctx, `'http-check expect ${m}' expects <pattern> as an argument.`);
    return;
  }
  if (m === 'status') {
    for (const part of p.split(',')) {
      if (!/^[0-9]{3}(-[0-9]{3})?$/.test(part)) {
        alert(ctx, `'http-check expect status' : invalid status code range '${p}'.`);
        return;
      }
    }
  }
  if (m === 'rstatus' || m === 'rstring') {
    if (regexError(p) !== undefined) {
      alert(ctx, `'http-check expect ${m}' : invalid regex '${p}'.`);
      return;
    }
  }
  step.match = m;
  step.pattern = p;
  if (args.length > i + 2) {
    alert(ctx, `'http-check expect' : unexpected argument '${args[i + 2] ?? ''}'.`);
    return;
  }
  ctx.proxy.httpCheck.push(step);
}

// ---------------------------------------------------------------------------------------------
// tcp-check

/** Proxies whose `tcpCheck` list is their own (not the one inherited from their defaults). */
const ownTcpCheck = new WeakSet<Proxy>();

function pushTcpCheck(ctx: ProxyCtx, step: TcpCheckStep): void {
  const p = ctx.proxy;
  if (!ownTcpCheck.has(p) || p.tcpCheck === undefined) {
    p.tcpCheck = [];
    ownTcpCheck.add(p);
  }
  p.tcpCheck.push(step);
}

function unsupportedTcpCheck(ctx: ProxyCtx, what: string): void {
  ctx.diags.alert(ctx.where, `'tcp-check ${what}' is an HAProxy keyword that is not supported by lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
}

/** Returns an error text when `hex` is not an even-length string of hex digits. */
function hexError(hex: string): string | undefined {
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad !== null) return `'${hex}' invalid binary string (an hex digit is expected (found '${bad[0]}'))`;
  if (hex.length % 2 !== 0) return `'${hex}' invalid binary string (odd number of hex digits)`;
  if (hex.length === 0) return `empty binary string`;
  return undefined;
}

/** Options of HAProxy's tcp-check rules that lb's check runner does not implement. */
const TCP_CHECK_CONNECT_UNSUPPORTED = new Set(['default', 'send-proxy', 'via-socks4', 'sni', 'alpn', 'proto', 'linger']);
const TCP_CHECK_EXPECT_UNSUPPORTED = new Set(['min-recv', 'ok-status', 'error-status', 'tout-status', 'on-success', 'on-error', 'status-code']);

function tcpCheckConnect(args: readonly string[], ctx: ProxyCtx): void {
  const step: TcpCheckStep = { action: 'connect', loc: ctx.where };
  for (let i = 2; i < args.length; i++) {
    const k = args[i] ?? '';
    if (k === 'ssl') step.ssl = true;
    else if (k === 'port' || k === 'addr' || k === 'comment') {
      const v = args[i + 1];
      if (v === undefined) {
        alert(ctx, `'tcp-check connect' : '${k}' expects an argument.`);
        return;
      }
      if (k === 'port') {
        const n = int(ctx, v, 1, 65535, 'tcp-check connect port');
        if (n === undefined) return;
        step.port = n;
      } else if (k === 'addr') {
        if (!parseAddress(v, { port: 'forbidden' }).ok) {
          alert(ctx, `'tcp-check connect' : invalid address '${v}'.`);
          return;
        }
        step.addr = v;
      } else step.comment = v;
      i++;
    } else if (TCP_CHECK_CONNECT_UNSUPPORTED.has(k)) {
      unsupportedTcpCheck(ctx, `connect ${k}`);
      return;
    } else {
      alert(ctx, `'tcp-check connect' expects 'comment', 'port', 'addr', 'ssl', 'send-proxy', 'via-socks4', 'sni', 'alpn', 'proto', 'linger' or 'default' but got '${k}' as argument.`);
      return;
    }
  }
  pushTcpCheck(ctx, step);
}

function tcpCheckSend(args: readonly string[], ctx: ProxyCtx, binary: boolean): void {
  const kw = binary ? 'send-binary' : 'send';
  const data = args[2];
  if (data === undefined || data === '') {
    alert(ctx, `'tcp-check ${kw}' : '${binary ? 'binary' : 'string'}' expects a ${binary ? 'binary string' : 'send'} as argument.`);
    return;
  }
  const step: TcpCheckStep = { action: binary ? 'send-binary' : 'send', data, loc: ctx.where };
  if (binary) {
    const e = hexError(data);
    if (e !== undefined) {
      alert(ctx, `'tcp-check send-binary' : ${e}.`);
      return;
    }
  }
  if (args[3] === 'comment' && args[4] !== undefined && args.length === 5) step.comment = args[4];
  else if (args.length > 3) {
    alert(ctx, `'tcp-check ${kw}' : unexpected argument '${args[3] ?? ''}' (only 'comment <msg>' may follow the data).`);
    return;
  }
  pushTcpCheck(ctx, step);
}

function tcpCheckExpect(args: readonly string[], ctx: ProxyCtx): void {
  const step: TcpCheckStep = { action: 'expect', loc: ctx.where };
  for (let i = 2; i < args.length; i++) {
    const k = args[i] ?? '';
    if (k === '!') step.negate = true;
    else if (k === 'comment') {
      const v = args[i + 1];
      if (v === undefined) {
        alert(ctx, "'tcp-check expect' : 'comment' expects a string as argument.");
        return;
      }
      step.comment = v;
      i++;
    } else if (k === 'string' || k === 'rstring' || k === 'binary' || k === 'rbinary') {
      if (step.match !== undefined) {
        alert(ctx, `'tcp-check expect' : only one pattern expected (found '${k}' after '${step.match}').`);
        return;
      }
      const v = args[i + 1];
      if (v === undefined || v === '') {
        alert(ctx, `'tcp-check expect' : '${k}' expects a <pattern> as argument.`);
        return;
      }
      if (k === 'binary') {
        const e = hexError(v);
        if (e !== undefined) {
          alert(ctx, `'tcp-check expect binary' : ${e}.`);
          return;
        }
      }
      if (k === 'rstring' || k === 'rbinary') {
        const e = regexError(v);
        if (e !== undefined) {
          alert(ctx, `'tcp-check expect ${k}' : invalid regex '${v}' (${e}).`);
          return;
        }
      }
      step.match = k;
      step.pattern = v;
      i++;
    } else if (TCP_CHECK_EXPECT_UNSUPPORTED.has(k) || k === 'string-lf' || k === 'binary-lf' || k === 'custom') {
      unsupportedTcpCheck(ctx, `expect ${k}`);
      return;
    } else {
      alert(ctx, `'tcp-check expect' : expects 'min-recv', 'comment', 'ok-status', 'error-status', 'tout-status', 'on-success', 'on-error', 'status-code', '!', 'string', 'rstring', 'binary' or 'rbinary' but got '${k}' as argument.`);
      return;
    }
  }
  if (step.match === undefined) {
    alert(ctx, "'tcp-check expect' : expects a pattern type ('string', 'rstring', 'binary' or 'rbinary').");
    return;
  }
  pushTcpCheck(ctx, step);
}

/** `tcp-check connect|send|send-binary|expect ...`, kept in order for `option tcp-check`. */
const tcpCheckDef: Def = {
  name: 'tcp-check',
  sections: BE,
  runtime: 'ready',
  parse(args, ctx) {
    const sub = args[1] ?? '';
    if (sub === 'connect') tcpCheckConnect(args, ctx);
    else if (sub === 'send') tcpCheckSend(args, ctx, false);
    else if (sub === 'send-binary') tcpCheckSend(args, ctx, true);
    else if (sub === 'expect') tcpCheckExpect(args, ctx);
    else if (sub === 'comment' || sub === 'send-lf' || sub === 'send-binary-lf' || /^(set-var|set-var-fmt|unset-var)\(/.test(sub)) unsupportedTcpCheck(ctx, sub);
    else alert(ctx, `'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '${sub}'`);
  },
};

// ---------------------------------------------------------------------------------------------
// rules

function ruleDef(name: string, actions: ReadonlyMap<string, ActionDef>, target: (p: Proxy) => Rule[], sections: readonly SectionKind[], skip = 1): Def {
  return {
    name,
    sections,
    runtime: 'ready',
    parse(args, ctx) {
      const actionName = args[skip] ?? '';
      const action = actions.get(actionName);
      if (action === undefined) {
        reportUnknownAction(ctx, actionName, actions);
        return;
      }
      const end = condIndex(args, skip + 1);
      const params: RuleParams = {};
      if (!action.parse(args.slice(skip + 1, end), ctx, params)) return;
      const c = condAt(args, end, ctx, `an '${name} ${actionName}' condition`);
      if (!c.ok) return;
      const rule: Rule = { action: actionName, params, loc: ctx.where };
      if (c.cond !== undefined) rule.cond = c.cond;
      target(ctx.proxy).push(rule);
      if (action.runtime === 'pending') {
        ctx.diags.warning(ctx.where, `'${name} ${actionName}' is parsed but not yet enforced by this lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_PENDING);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// stick tables

const STORE_TYPES = new Set(['server_id', 'gpc0', 'gpc1', 'gpt0', 'conn_cnt', 'conn_cur', 'sess_cnt', 'http_req_cnt', 'http_err_cnt', 'http_fail_cnt', 'bytes_in_cnt', 'bytes_out_cnt', 'glitch_cnt']);
const STORE_RATES = new Set(['gpc0_rate', 'gpc1_rate', 'conn_rate', 'sess_rate', 'http_req_rate', 'http_err_rate', 'http_fail_rate', 'bytes_in_rate', 'bytes_out_rate']);

const stickTableDef: Def = {
  name: 'stick-table',
  sections: NODEF,
  runtime: 'pending',
  parse(args, ctx) {
    let type: StickTable['type'] | undefined;
    let len: number | undefined;
    let sz: number | undefined;
    const t: Omit<StickTable, 'type' | 'size'> = { store: [], loc: ctx.where };
    for (let i = 1; i < args.length; i++) {
      const k = args[i] ?? '';
      const v = args[i + 1];
      if (k === 'nopurge') {
        t.nopurge = true;
        continue;
      }
      if (v === undefined) {
        alert(ctx, `stick-table: missing argument after '${k}'.`);
        return;
      }
      i++;
      if (k === 'type') {
        if (v !== 'ip' && v !== 'ipv6' && v !== 'integer' && v !== 'string' && v !== 'binary') {
          alert(ctx, `stick-table: unknown type '${v}'.`);
          return;
        }
        type = v;
        if (args[i + 1] === 'len' && (v === 'string' || v === 'binary')) {
          len = int(ctx, args[i + 2], 1, 65535, 'stick-table len');
          if (len === undefined) return;
          i += 2;
        }
      } else if (k === 'size') {
        const r = size(ctx, v, 'stick-table size');
        if (r === undefined) return;
        sz = r;
      } else if (k === 'expire') {
        const r = time(ctx, v, 'stick-table expire');
        if (r === undefined) return;
        t.expire = r;
      } else if (k === 'peers') t.peers = v;
      else if (k === 'store') {
        for (const item of v.split(',')) {
          const m = /^([a-z0-9_]+)(?:\(([^)]*)\))?$/.exec(item);
          const n = m?.[1] ?? item;
          if (m === null || (!STORE_TYPES.has(n) && !STORE_RATES.has(n))) {
            alert(ctx, `stick-table: unknown data type '${item}'.`);
            return;
          }
          if (STORE_RATES.has(n)) {
            const p = time(ctx, m[2] ?? '', `stick-table store ${n}`);
            if (p === undefined) return;
            t.store.push({ name: n, period: p });
          } else t.store.push({ name: n });
        }
      } else {
        alert(ctx, `stick-table: unknown argument '${k}'.`);
        return;
      }
    }
    if (type === undefined) {
      alert(ctx, "stick-table: missing type (expects 'type ip|ipv6|integer|string|binary').");
      return;
    }
    if (sz === undefined || sz === 0) {
      alert(ctx, "stick-table: missing size.");
      return;
    }
    const table: StickTable = { type, size: sz, ...t };
    if (len !== undefined) table.len = len;
    if (ctx.proxy.stickTable !== undefined) {
      alert(ctx, `stick-table: only one stick-table per proxy (already declared at ${ctx.proxy.stickTable.loc.file}:${ctx.proxy.stickTable.loc.line}).`);
      return;
    }
    ctx.proxy.stickTable = table;
  },
};

function stickDef(kind: 'on' | 'match' | 'store-request'): Def {
  return {
    name: `stick ${kind}`,
    sections: BE_ONLY,
    runtime: 'pending',
    parse(args, ctx) {
      const pattern = args[2];
      if (pattern === undefined || pattern === 'if' || pattern === 'unless') {
        alert(ctx, `'stick ${kind}' expects a fetch method followed by an optional 'table' and a condition.`);
        return;
      }
      const rule: Proxy['stickRules'][number] = { kind, pattern, loc: ctx.where };
      let i = 3;
      if (args[i] === 'table') {
        if (args[i + 1] === undefined) {
          alert(ctx, `'stick ${kind}' : missing table name.`);
          return;
        }
        rule.table = args[i + 1] ?? '';
        i += 2;
      }
      const c = condAt(args, i, ctx, `a 'stick ${kind}' condition`);
      if (!c.ok) return;
      if (c.cond !== undefined) rule.cond = c.cond;
      ctx.proxy.stickRules.push(rule);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// stats

function stats(ctx: ProxyCtx): StatsSettings {
  return (ctx.proxy.stats ??= {});
}

const STATS_DEFS: readonly Def[] = [
  {
    name: 'stats enable',
    sections: ALL,
    runtime: 'ready',
    parse(_args, ctx) {
      stats(ctx).enable = true;
    },
  },
  {
    name: 'stats uri',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] === undefined) {
        alert(ctx, "'uri' needs an URI prefix.");
        return;
      }
      const s = stats(ctx);
      s.enable = true;
      s.uri = args[2];
    },
  },
  {
    name: 'stats realm',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] === undefined) {
        alert(ctx, "'realm' needs an realm name.");
        return;
      }
      const s = stats(ctx);
      s.enable = true;
      s.realm = args[2];
    },
  },
  {
    name: 'stats refresh',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] === undefined) {
        alert(ctx, "'refresh' needs a positive interval in seconds.");
        return;
      }
      const r = time(ctx, args[2], 'stats refresh');
      if (r === undefined) return;
      const s = stats(ctx);
      s.enable = true;
      s.refresh = r;
    },
  },
  {
    name: 'stats auth',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const v = args[2];
      const colon = v?.indexOf(':') ?? -1;
      if (v === undefined || colon <= 0) {
        alert(ctx, "'auth' needs a user:password account.");
        return;
      }
      const s = stats(ctx);
      s.enable = true;
      (s.auth ??= []).push({ user: v.slice(0, colon), password: v.slice(colon + 1) });
    },
  },
  {
    name: 'stats admin',
    sections: NODEF,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] !== 'if' && args[2] !== 'unless') {
        alert(ctx, "'stats admin' requires either 'if' or 'unless' followed by a condition.");
        return;
      }
      const c = condAt(args, 2, ctx, "a 'stats admin' condition");
      if (!c.ok || c.cond === undefined) return;
      const s = stats(ctx);
      (s.admin ??= []).push(c.cond);
    },
  },
  {
    name: 'stats hide-version',
    sections: ALL,
    runtime: 'ready',
    parse(_args, ctx) {
      const s = stats(ctx);
      s.enable = true;
      s.hideVersion = true;
    },
  },
  {
    name: 'stats show-legends',
    sections: ALL,
    runtime: 'ready',
    parse(_args, ctx) {
      const s = stats(ctx);
      s.enable = true;
      s.showLegends = true;
    },
  },
  {
    name: 'stats show-node',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const s = stats(ctx);
      s.enable = true;
      s.showNode = args[2] ?? true;
    },
  },
  {
    name: 'stats scope',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[2] === undefined) {
        alert(ctx, "'scope' needs a proxy name.");
        return;
      }
      const s = stats(ctx);
      s.enable = true;
      (s.scope ??= []).push(args[2]);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// the table

const DEFS: readonly Def[] = [
  {
    name: 'mode',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const m = args[1];
      if (m === 'http' || m === 'tcp') ctx.proxy.mode = m;
      else if (m === 'health' || m === 'log' || m === 'spop') {
        ctx.diags.alert(ctx.where, `'mode ${m}' is not supported by lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
      } else alert(ctx, `unknown proxy mode '${m ?? ''}'.`);
    },
  },
  {
    name: 'log',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[1] === undefined) {
        alert(ctx, "'log' expects either <address[:port]> and <facility> or 'global' as arguments.");
        return;
      }
      const t = parseLog(args, ctx, true);
      if (t !== undefined) ctx.proxy.log.push(t);
    },
  },
  {
    name: 'no',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      // `no option X`: only argument-less options can be negated.
      if (args[1] !== 'option' || args[2] === undefined) {
        alert(ctx, "'no' only supports 'option'.");
        return;
      }
      const name = args[2];
      if (!SIMPLE_OPTIONS.some(([n]) => n === name) && name !== 'forwardfor' && name !== 'httpchk') {
        alert(ctx, `unknown option '${name}'.`);
        return;
      }
      ctx.proxy.options[name] = false;
      if (name === 'forwardfor') delete ctx.proxy.forwardfor;
      if (name === 'httpchk') delete ctx.proxy.httpchk;
    },
  },
  ...OPTION_DEFS,
  ...TIMEOUT_DEFS,
  {
    name: 'retries',
    sections: BE,
    runtime: 'ready',
    parse(args, ctx) {
      const v = int(ctx, args[1], 0, 2 ** 31 - 1);
      if (v !== undefined) ctx.proxy.retries = v;
    },
  },
  {
    name: 'maxconn',
    sections: FE,
    runtime: 'ready',
    parse(args, ctx) {
      const v = int(ctx, args[1], 0, 2 ** 31 - 1);
      if (v !== undefined) ctx.proxy.maxconn = v;
    },
  },
  {
    name: 'log-format',
    sections: FE,
    runtime: 'ready',
    parse(args, ctx) {
      if (args.length !== 2) {
        alert(ctx, "'log-format' expects one argument (use quotes if it contains spaces).");
        return;
      }
      ctx.proxy.logFormat = args[1] ?? '';
    },
  },
  {
    name: 'errorfile',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      if (args.length !== 3) {
        alert(ctx, "errorfile : <code> <file> expected.");
        return;
      }
      const code = Number(args[1]);
      if (!/^[0-9]+$/.test(args[1] ?? '') || !HANDLED_STATUS.has(code)) {
        alert(ctx, `errorfile : status code '${args[1] ?? ''}' not handled.`);
        return;
      }
      const file = args[2] ?? '';
      if (!readableFile(ctx, file)) {
        ctx.diags.alert(ctx.where, `errorfile : error opening file '${file}'.`, LB_ERROR_CODES.ERR_LB_CONFIG_FILE);
        return;
      }
      ctx.proxy.errorfiles[String(code)] = file;
    },
  },
  {
    name: 'default-server',
    sections: BE,
    runtime: 'ready',
    parse(args, ctx) {
      const o: ServerOptions = { ...ctx.proxy.defaultServer };
      if (serverOptions(args, 1, o, ctx, undefined)) ctx.proxy.defaultServer = o;
    },
  },
  {
    name: 'server',
    sections: BE_ONLY,
    runtime: 'ready',
    capError: 'alert',
    parse(args, ctx) {
      const name = args[1];
      const addrText = args[2];
      if (name === undefined || addrText === undefined || name === '' || addrText === '') {
        alert(ctx, "'server' expects <name> and <addr>[:<port>] as arguments.");
        return;
      }
      const r = parseAddress(addrText, SERVER_ADDRESS);
      if (!r.ok) {
        alert(ctx, `${whatOf(ctx, name)} : ${r.error}`);
        return;
      }
      const ds = ctx.proxy.defaultServer;
      const o: ServerOptions = ds === undefined ? serverDefaults() : { ...serverDefaults(), ...ds };
      if (!serverOptions(args, 3, o, ctx, name)) return;
      if (o.agentCheck === true && (o.agentPort ?? 0) === 0) {
        // haproxy 2.6 says this at the end of parsing, as a fatal error.
        alert(ctx, `${whatOf(ctx, name)} : server ${name} does not have agent port. Agent check has been disabled.`);
        return;
      }
      ctx.proxy.servers.push({ name, address: r.value, options: o, loc: ctx.where });
    },
  },
  bindDef,
  balanceDef,
  {
    name: 'hash-type',
    sections: BE,
    runtime: 'ready',
    parse(args, ctx) {
      const m = args[1];
      if (m !== 'map-based' && m !== 'consistent') {
        alert(ctx, "'hash-type' expects 'map-based' or 'consistent' as a method.");
        return;
      }
      const fn = args[2];
      if (fn !== undefined && !['sdbm', 'djb2', 'wt6', 'crc32', 'none'].includes(fn)) {
        alert(ctx, `'hash-type' : unknown hash function '${fn}'.`);
        return;
      }
      if (args[3] !== undefined && args[3] !== 'avalanche') {
        alert(ctx, `'hash-type' : unknown modifier '${args[3]}'.`);
        return;
      }
      ctx.proxy.hashType = args.slice(1);
    },
  },
  {
    name: 'acl',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const name = args[1];
      if (name === undefined || name === '') {
        alert(ctx, "'acl' expects an ACL name and a fetch method.");
        return;
      }
      if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
        alert(ctx, `acl name '${name}' contains invalid characters.`);
        return;
      }
      const r = parseAclTerm(args.slice(2), aclScope(ctx));
      if (!r.ok) {
        alert(ctx, `error detected while parsing ACL '${name}' : ${r.error}`);
        return;
      }
      warnPendingFetch(ctx, r.value.fetch);
      const index = aclsOf(ctx.proxy);
      const def = index.get(name);
      if (def === undefined) {
        const d: AclDef = { name, terms: [r.value] };
        ctx.proxy.acls.push(d);
        index.set(name, d);
      } else def.terms.push(r.value);
      if (r.value.patterns.length === 0 && r.value.method !== 'found' && r.value.method !== 'bool' && r.value.patternFiles === undefined && args[args.length - 1] !== '--') {
        ctx.diags.warning(ctx.where, `acl '${name}' : no pattern to match against were provided, so this ACL will never match.`);
      }
    },
  },
  {
    name: 'use_backend',
    sections: FE_ONLY,
    runtime: 'ready',
    parse(args, ctx) {
      const be = args[1];
      if (be === undefined || be === 'if' || be === 'unless') {
        alert(ctx, "'use_backend' expects a backend name.");
        return;
      }
      const c = condAt(args, 2, ctx, 'switching rule');
      if (!c.ok) return;
      if (args[2] !== undefined && args[2] !== 'if' && args[2] !== 'unless') {
        alert(ctx, `error detected while parsing switching rule : expects 'if' or 'unless' followed by a condition but found '${args[2]}'.`);
        return;
      }
      const rule: Proxy['useBackend'][number] = { backend: be, dynamic: be.includes('%['), loc: ctx.where };
      if (c.cond !== undefined) rule.cond = c.cond;
      ctx.proxy.useBackend.push(rule);
    },
  },
  {
    name: 'default_backend',
    sections: FE,
    runtime: 'ready',
    parse(args, ctx) {
      if (args[1] === undefined || args.length > 2) {
        alert(ctx, "'default_backend' expects a backend name.");
        return;
      }
      ctx.proxy.defaultBackend = { name: args[1], loc: ctx.where };
    },
  },
  {
    name: 'http-check send',
    sections: BE,
    runtime: 'ready',
    parse: httpCheckSend,
  },
  {
    name: 'http-check expect',
    sections: BE,
    runtime: 'ready',
    parse: httpCheckExpect,
  },
  {
    name: 'http-check connect',
    sections: BE,
    runtime: 'ready',
    parse(args, ctx) {
      ctx.proxy.httpCheck.push({ kind: 'connect', loc: ctx.where });
      if (args.length > 2) ctx.diags.warning(ctx.where, "'http-check connect' options are ignored by lb.");
    },
  },
  {
    name: 'http-check disable-on-404',
    sections: BE,
    runtime: 'ready',
    parse(_args, ctx) {
      ctx.proxy.httpCheck.push({ kind: 'disable-on-404', loc: ctx.where });
    },
  },
  tcpCheckDef,
  ruleDef('http-request', HTTP_REQUEST_ACTIONS, (p) => p.httpRequest, ALL),
  ruleDef('http-response', HTTP_RESPONSE_ACTIONS, (p) => p.httpResponse, ALL),
  ruleDef('tcp-request connection', TCP_CONNECTION_ACTIONS, (p) => p.tcpRequestConnection, FE, 2),
  ruleDef('tcp-request content', TCP_CONTENT_ACTIONS, (p) => p.tcpRequestContent, ALL, 2),
  {
    name: 'tcp-request inspect-delay',
    sections: ALL,
    runtime: 'ready',
    parse(args, ctx) {
      const v = time(ctx, args[2], 'tcp-request inspect-delay');
      if (v !== undefined) ctx.proxy.tcpRequestInspectDelay = v;
    },
  },
  stickTableDef,
  stickDef('on'),
  stickDef('match'),
  stickDef('store-request'),
  ...STATS_DEFS,
];

/** HAProxy proxy keywords lb recognises but does not parse. */
const UNSUPPORTED = [
  'capture', 'compression', 'cookie', 'dynamic-cookie-key', 'email-alert', 'filter', 'fullconn', 'hash-balance-factor', 'http-after-response',
  'http-reuse', 'http-send-name-header', 'id', 'ignore-persist', 'force-persist', 'load-server-state-from-file', 'log-tag', 'max-keep-alive-queue',
  'monitor', 'monitor-uri', 'persist', 'rate-limit', 'redirect', 'server-state-file-name', 'server-template', 'source', 'stick store-response',
  'tcp-response', 'unique-id-format', 'unique-id-header', 'use-server', 'use-fcgi-app', 'description', 'disabled', 'enabled', 'dispatch', 'errorloc',
  'errorloc302', 'errorloc303', 'errorfiles', 'external-check', 'grace', 'backlog', 'bind-process', 'declare', 'http-error', 'log-format-sd',
  'error-log-format', 'balance-factor', 'option httpchk-ssl', 'option http-use-proxy-header', 'option checkcache', 'option smtpchk', 'option mysql-check',
  'option pgsql-check', 'option redis-check', 'option ssl-hello-chk', 'option ldap-check', 'option spop-check', 'option external-check',
  'option transparent', 'option http-pretend-keepalive', 'option http-use-htx', 'option originalto', 'option accept-invalid-http-request',
  'option accept-invalid-http-response', 'option h1-case-adjust-bogus-client', 'option h1-case-adjust-bogus-server', 'option http-restrict-req-hdr-names',
  'option disable-h2-upgrade', 'option idle-close-on-response', 'option tcp-smart-accept', 'option tcp-smart-connect', 'option spop-check',
  'option forceclose', 'option httplog-clf', 'option allredisp', 'stats http-request', 'stats bind-process', 'http-check set-var',
  'http-check unset-var', 'http-check comment', 'http-check send-state', 'timeout tarpit-queue',
];

export const PROXY_KEYWORDS = new KeywordTable<ProxyCtx>('proxy', DEFS, UNSUPPORTED);

/** Keywords allowed in a named defaults section but not in an anonymous one (haproxy 2.5+). */
export const NAMED_DEFAULTS_ONLY: ReadonlySet<string> = new Set(['acl', 'http-request', 'http-response', 'tcp-request connection', 'tcp-request content']);
