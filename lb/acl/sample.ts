// Runtime sample fetches (configuration manual 7.3): ONE table of implementations, keyed by the
// names of lb/acl/fetches.ts (which holds the metadata the config parser validates against).
//
// Every fetch reads a transaction view (`Txn`): the L4 facts of the connection, the parsed TLS
// ClientHello when a tcp frontend inspected one, and in http mode the parsed request head (and
// response head for http-response rules) from lb/proxy/http1. Fetches read the heads lazily and
// make only the strings they return: `path` slices the target, `hdr(host)` makes one value string,
// `method` returns a constant for known methods.
//
// Two ways to read a fetch, as HAProxy has:
// - `get(t)`: one value, the "sample context" (log-format `%[...]`, set-header values). For
//   `hdr(name)` that is the LAST occurrence, as in HAProxy.
// - `any(t, m)`: ACL context. Multi-valued fetches (hdr and friends) test every value (each
//   comma-separated element of each header line for `hdr`, each line for `fhdr`) until `m`
//   returns true. Single-valued fetches leave `any` undefined and the caller uses m(get(t)).
// A fetch that has no value answers `undefined` (HAProxy's "no sample"): an ACL on it does not
// match, whatever the patterns; `-m found` tells presence apart.
//
// Compile errors (a fetch known to the parser but not implemented at runtime yet, a bad argument)
// are returned as Result errors so the proxy refuses to start and names the configuration line.
import { isIPv4, isIPv6 } from 'node:net';
import { FETCHES } from './fetches.ts';
import type { Matcher, Sample } from './matchers.ts';
import type { ClientHello } from '../tls/client-hello.ts';
import type { RequestHead, ResponseHead } from '../proxy/http1/index.ts';
import type { Result } from '../config/values.ts';
import { parseFetchExpr } from '../config/acl.ts';

/**
 * What fetches read. One per connection (tcp) or per HTTP connection, reused for every request:
 * the data path refreshes the fields, never allocates a new view per request.
 */
export class Txn {
  /** Client address as Node reports it (v4-mapped forms are normalised by the `src` fetch). */
  src = '';
  srcPort = 0;
  dst = '';
  dstPort = 0;
  /** ClientHello parsed during `tcp-request inspect-delay`, if any. */
  hello: ClientHello | undefined = undefined;
  /** Bytes buffered while inspecting (req.len). */
  reqLen = 0;
  /** TLS terminated by lb on this connection (ssl_fc), and what the handshake said. */
  tls = false;
  sni: string | undefined = undefined;
  alpn: string | undefined = undefined;
  tlsProtocol: string | undefined = undefined;
  /** Parsed HTTP request head (http mode), or null at L4. */
  req: RequestHead | null = null;
  /** Parsed HTTP response head during http-response rules, else null. */
  res: ResponseHead | null = null;

  /** Fills the L4 part from a connection; resets the rest. */
  reset(src: string, srcPort: number, dst: string, dstPort: number): this {
    this.src = src;
    this.srcPort = srcPort;
    this.dst = dst;
    this.dstPort = dstPort;
    this.hello = undefined;
    this.reqLen = 0;
    this.tls = false;
    this.sni = undefined;
    this.alpn = undefined;
    this.tlsProtocol = undefined;
    this.req = null;
    this.res = null;
    return this;
  }
}

/** One compiled fetch (arguments bound at configuration time). */
export interface FetchImpl {
  readonly name: string;
  /** Needs an HTTP request (only meaningful in http mode). */
  readonly http: boolean;
  get(t: Txn): Sample;
  /** ACL context for multi-valued fetches: true when some value satisfies m. */
  any?(t: Txn, m: Matcher): boolean;
}

type Factory = (name: string, args: readonly string[]) => Result<FetchImpl>;

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}
function err<T>(error: string): Result<T> {
  return { ok: false, error };
}

function simple(http: boolean, get: (t: Txn) => Sample): Factory {
  return (name) => ok({ name, http, get });
}

/** `::ffff:a.b.c.d` → `a.b.c.d` (HAProxy presents v4-mapped clients as IPv4). */
export function normaliseIp(a: string): string {
  if (a.length > 7 && a.charCodeAt(0) === 58 && a.startsWith('::ffff:') && a.includes('.', 7)) return a.slice(7);
  return a;
}

// ------------------------------------------------------------------------------ HTTP helpers

/** HTTP whitespace. */
function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Calls `visit(value)` for every value of header `lower` (every header when lower is ''), splitting
 * on commas when `split` (hdr) or not (fhdr). Stops and returns true as soon as visit does.
 */
function eachHeaderValue(h: RequestHead | ResponseHead, lower: string, split: boolean, visit: (v: string) => boolean): boolean {
  const n = h.fieldSlots;
  for (let i = lower === '' ? 0 : h.indexOf(lower); i >= 0 && i < n; i = lower === '' ? i + 1 : h.indexOf(lower, i + 1)) {
    if (lower === '' && !h.isLive(i)) continue;
    const v = h.valueAt(i);
    if (!split || !v.includes(',')) {
      if (visit(v)) return true;
      continue;
    }
    let s = 0;
    while (s <= v.length) {
      let e = v.indexOf(',', s);
      if (e < 0) e = v.length;
      let a = s;
      let b = e;
      while (a < b && isOws(v.charCodeAt(a))) a++;
      while (b > a && isOws(v.charCodeAt(b - 1))) b--;
      if (visit(v.slice(a, b))) return true;
      s = e + 1;
    }
  }
  return false;
}

/** Values of a header in order (used in sample context only, to pick an occurrence). */
function headerValues(h: RequestHead | ResponseHead, lower: string, split: boolean): string[] {
  const out: string[] = [];
  eachHeaderValue(h, lower, split, (v) => {
    out.push(v);
    return false;
  });
  return out;
}

/**
 * Header fetch family: hdr / req.hdr / res.hdr (split on commas), req.fhdr (whole lines).
 * Arguments: [name[, occ]]; occ > 0 counts from the first value, < 0 from the last, as HAProxy.
 */
function headerFetch(side: 'req' | 'res', split: boolean, conv: 'str' | 'int' | 'ip'): Factory {
  return (name, args) => {
    const lower = (args[0] ?? '').trim().toLowerCase();
    const occText = args[1];
    let occ = 0;
    if (occText !== undefined && occText !== '') {
      if (!/^-?[0-9]+$/.test(occText)) return err(`fetch method '${name}' : invalid occurrence '${occText}' (an integer is expected)`);
      occ = Number(occText);
    }
    const head = side === 'req' ? (t: Txn) => t.req : (t: Txn) => t.res;
    const cast = conv === 'int' ? toIntSample : conv === 'ip' ? toIpSample : (v: string): Sample => v;
    const pick = (t: Txn, which: number): Sample => {
      const h = head(t);
      if (h === null) return undefined;
      const vals = headerValues(h, lower, split);
      if (vals.length === 0) return undefined;
      const idx = which > 0 ? which - 1 : vals.length + which;
      const v = vals[idx];
      return v === undefined ? undefined : cast(v);
    };
    const impl: FetchImpl = {
      name,
      http: true,
      // Sample context: the given occurrence, else the last one.
      get: (t) => pick(t, occ === 0 ? -1 : occ),
      any:
        occ !== 0
          ? (t, m) => m(pick(t, occ))
          : conv === 'str'
            ? (t, m) => {
                const h = head(t);
                return h !== null && eachHeaderValue(h, lower, split, m);
              }
            : (t, m) => {
                const h = head(t);
                return h !== null && eachHeaderValue(h, lower, split, (v) => m(cast(v)));
              },
    };
    return ok(impl);
  };
}

function toIntSample(v: string): Sample {
  // HAProxy's str→int cast for hdr_val: leading sign and digits.
  let i = 0;
  let neg = false;
  if (v.charCodeAt(0) === 45 || v.charCodeAt(0) === 43) {
    neg = v.charCodeAt(0) === 45;
    i = 1;
  }
  let n = 0;
  let digits = 0;
  for (; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    digits++;
  }
  if (digits === 0) return undefined;
  return neg ? -n : n;
}

function toIpSample(v: string): Sample {
  return isIPv4(v) || isIPv6(v) ? normaliseIp(v) : undefined;
}

function headerCount(side: 'req' | 'res'): Factory {
  return (name, args) => {
    const lower = (args[0] ?? '').trim().toLowerCase();
    return ok({
      name,
      http: true,
      get(t) {
        const h = side === 'req' ? t.req : t.res;
        if (h === null) return undefined;
        let c = 0;
        eachHeaderValue(h, lower, true, () => {
          c++;
          return false;
        });
        return c;
      },
    });
  };
}

/** Value of query parameter `param` in `target` (after '?', pairs split by `delim`), or undefined. */
export function urlParam(target: string, param: string, delim: string): string | undefined {
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const n = target.length;
  let i = q + 1;
  while (i <= n) {
    let e = target.indexOf(delim, i);
    if (e < 0) e = n;
    if (param === '') {
      // url_param without a name: the first parameter's value.
      const eq = target.indexOf('=', i);
      return eq >= 0 && eq < e ? target.slice(eq + 1, e) : '';
    }
    if (target.startsWith(param, i)) {
      const after = i + param.length;
      if (after === e) return '';
      if (target.charCodeAt(after) === 61) return target.slice(after + 1, e);
    }
    i = e + 1;
  }
  return undefined;
}

function urlParamFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const param = args[0] ?? '';
  const delim = args[1] ?? '&';
  if (delim.length !== 1) return err(`fetch method '${name}' : the delimiter must be one character`);
  return ok({ name, http: true, get: (t) => (t.req === null ? undefined : urlParam(t.req.target, param, delim)) });
}

/** Cookie value from `Cookie` request headers (name=value pairs separated by ';'). */
function cookieFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const cname = args[0] ?? '';
  const find = (v: string, m: ((s: Sample) => boolean) | undefined): Sample => {
    let s = 0;
    while (s < v.length) {
      let e = v.indexOf(';', s);
      if (e < 0) e = v.length;
      let a = s;
      while (a < e && isOws(v.charCodeAt(a))) a++;
      const eq = v.indexOf('=', a);
      if (eq >= 0 && eq < e) {
        let ne = eq;
        while (ne > a && isOws(v.charCodeAt(ne - 1))) ne--;
        if (cname === '' || (ne - a === cname.length && v.startsWith(cname, a))) {
          let b = e;
          while (b > eq + 1 && isOws(v.charCodeAt(b - 1))) b--;
          const val = v.slice(eq + 1, b);
          if (m === undefined) return val;
          if (m(val)) return true;
        }
      }
      s = e + 1;
    }
    return m === undefined ? undefined : false;
  };
  return ok({
    name,
    http: true,
    get(t) {
      if (t.req === null) return undefined;
      let out: Sample;
      eachHeaderValue(t.req, 'cookie', false, (v) => {
        const r = find(v, undefined);
        if (typeof r === 'string') {
          out = r;
          return true;
        }
        return false;
      });
      return out;
    },
    any(t, m) {
      if (t.req === null) return false;
      return eachHeaderValue(t.req, 'cookie', false, (v) => find(v, m) === true);
    },
  });
}

function reqPath(t: Txn): Sample {
  return t.req === null ? undefined : t.req.path;
}

function reqBase(t: Txn): Sample {
  const r = t.req;
  if (r === null) return undefined;
  const host = r.get('host');
  // HAProxy: without a Host header, `base` is the path alone.
  return host === undefined ? r.path : host + r.path;
}

function reqQuery(t: Txn): Sample {
  const r = t.req;
  if (r === null) return undefined;
  const target = r.target;
  const q = target.indexOf('?');
  return q < 0 ? undefined : target.slice(q + 1);
}

function reqPathQ(t: Txn): Sample {
  const r = t.req;
  if (r === null) return undefined;
  const target = r.target;
  if (target.charCodeAt(0) === 47) return target;
  const p = r.path;
  const q = target.indexOf('?');
  return q < 0 ? p : p + target.slice(q);
}

function notYet(why: string): Factory {
  return (name) => err(`fetch method '${name}' is not implemented by the running lb yet (${why})`);
}

function dateFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const off = args[0] === undefined || args[0] === '' ? 0 : Number(args[0]);
  if (!Number.isInteger(off)) return err(`fetch method '${name}' : invalid offset '${args[0] ?? ''}'`);
  if (args[1] !== undefined && args[1] !== 's') return err(`fetch method '${name}' : only the unit 's' is implemented`);
  return ok({ name, http: false, get: () => Math.floor(Date.now() / 1000) + off });
}

function randFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const range = args[0] === undefined || args[0] === '' ? 2 ** 32 : Number(args[0]);
  if (!Number.isInteger(range) || range <= 0) return err(`fetch method '${name}' : invalid range '${args[0] ?? ''}'`);
  return ok({ name, http: false, get: () => Math.floor(Math.random() * range) });
}

function envFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const v = args[0] ?? '';
  return ok({ name, http: false, get: () => process.env[v] });
}

const TLS_VERSION: Record<number, string> = { 0x0300: 'SSLv3', 0x0301: 'TLSv1.0', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };

/** The implementation table: fetch name → factory. Names match lb/acl/fetches.ts. */
export const SAMPLE_FETCHES: ReadonlyMap<string, Factory> = new Map<string, Factory>([
  ['always_true', simple(false, () => true)],
  ['always_false', simple(false, () => false)],
  ['src', simple(false, (t) => (t.src === '' ? undefined : normaliseIp(t.src)))],
  ['src_port', simple(false, (t) => t.srcPort)],
  ['dst', simple(false, (t) => (t.dst === '' ? undefined : normaliseIp(t.dst)))],
  ['dst_port', simple(false, (t) => t.dstPort)],
  ['env', envFetch],
  ['date', dateFetch],
  ['rand', randFetch],
  ['ssl_fc', simple(false, (t) => t.tls)],
  ['ssl_fc_sni', simple(false, (t) => (t.tls ? t.sni : undefined))],
  ['ssl_fc_alpn', simple(false, (t) => (t.tls ? t.alpn : undefined))],
  ['ssl_fc_protocol', simple(false, (t) => (t.tls ? t.tlsProtocol : undefined))],
  ['ssl_c_used', simple(false, () => false)],
  ['req.ssl_sni', simple(false, (t) => t.hello?.sni)],
  ['req_ssl_sni', simple(false, (t) => t.hello?.sni)],
  ['req.ssl_hello_type', simple(false, (t) => (t.hello === undefined ? undefined : 1))],
  ['req.ssl_ver', simple(false, (t) => (t.hello === undefined ? undefined : TLS_VERSION[t.hello.legacyVersion]))],
  ['req.len', simple(false, (t) => t.reqLen)],
  ['req_len', simple(false, (t) => t.reqLen)],
  ['method', simple(true, (t) => (t.req === null ? undefined : t.req.method))],
  ['path', simple(true, reqPath)],
  ['pathq', simple(true, reqPathQ)],
  ['url', simple(true, (t) => (t.req === null ? undefined : t.req.target))],
  ['query', simple(true, reqQuery)],
  ['base', simple(true, reqBase)],
  ['url_param', urlParamFetch],
  ['urlp', urlParamFetch],
  ['req.ver', simple(true, (t) => (t.req === null ? undefined : t.req.version === 10 ? '1.0' : '1.1'))],
  ['req_ver', simple(true, (t) => (t.req === null ? undefined : t.req.version === 10 ? '1.0' : '1.1'))],
  ['req.proto_http', simple(true, (t) => t.req !== null)],
  ['hdr', headerFetch('req', true, 'str')],
  ['req.hdr', headerFetch('req', true, 'str')],
  ['req.fhdr', headerFetch('req', false, 'str')],
  ['hdr_cnt', headerCount('req')],
  ['req.hdr_cnt', headerCount('req')],
  ['hdr_val', headerFetch('req', true, 'int')],
  ['req.hdr_val', headerFetch('req', true, 'int')],
  ['hdr_ip', headerFetch('req', true, 'ip')],
  ['req.hdr_ip', headerFetch('req', true, 'ip')],
  ['cook', cookieFetch],
  ['req.cook', cookieFetch],
  ['status', simple(true, (t) => (t.res === null ? undefined : t.res.outStatus))],
  ['res.hdr', headerFetch('res', true, 'str')],
  ['shdr', headerFetch('res', true, 'str')],
  ['http_auth', notYet('userlist authentication is a later issue')],
  ['nbsrv', notYet('server counts are wired with the health-check issue')],
  ['be_conn', notYet('connection counters are wired with the stats issue')],
  ['fe_conn', notYet('connection counters are wired with the stats issue')],
  ['srv_is_up', notYet('server states are wired with the health-check issue')],
]);

/**
 * Compiles `name(args)` into an implementation. Errors name the fetch; stick-counter fetches
 * (marked pending in the metadata table) are refused as not enforced yet.
 */
export function compileFetch(name: string, args: readonly string[]): Result<FetchImpl> {
  const meta = FETCHES.get(name);
  if (meta?.pending === true) return err(`fetch method '${name}' needs stick tables, which the running lb does not enforce yet`);
  const f = SAMPLE_FETCHES.get(name);
  if (f === undefined) return err(meta === undefined ? `unknown fetch method '${name}'` : `fetch method '${name}' is not implemented by the running lb yet`);
  return f(name, args);
}

// ------------------------------------------------------------------------------- converters

type Conv = (v: Sample) => Sample;

const CONVERTER_IMPLS: ReadonlyMap<string, Conv> = new Map<string, Conv>([
  ['lower', (v) => (typeof v === 'string' ? v.toLowerCase() : v)],
  ['upper', (v) => (typeof v === 'string' ? v.toUpperCase() : v)],
  ['length', (v) => (v === undefined ? undefined : typeof v === 'string' ? v.length : String(v).length)],
  ['bool', (v) => (v === undefined ? undefined : typeof v === 'string' ? v !== '' && v !== '0' : Boolean(v))],
  ['not', (v) => (v === undefined ? undefined : !(typeof v === 'string' ? v !== '' && v !== '0' : Boolean(v)))],
  ['host_only', (v) => (typeof v === 'string' ? hostOnly(v) : v)],
]);

function hostOnly(v: string): string {
  if (v.startsWith('[')) {
    const c = v.indexOf(']');
    return c < 0 ? v : v.slice(0, c + 1);
  }
  const c = v.indexOf(':');
  return c < 0 ? v : v.slice(0, c);
}

/**
 * Wraps a fetch with converters (`fetch,lower,...`). Only converters without arguments that lb
 * implements are accepted; others are refused with their name.
 */
export function withConverters(f: FetchImpl, converters: readonly string[]): Result<FetchImpl> {
  if (converters.length === 0) return ok(f);
  const list: Conv[] = [];
  for (const c of converters) {
    const impl = CONVERTER_IMPLS.get(c);
    if (impl === undefined) return err(`converter '${c}' is not implemented by the running lb yet`);
    list.push(impl);
  }
  const apply = (v: Sample): Sample => {
    for (const c of list) v = c(v);
    return v;
  };
  const out: FetchImpl = { name: f.name, http: f.http, get: (t) => apply(f.get(t)) };
  if (f.any !== undefined) {
    // Converters apply per value in ACL context too.
    out.any = (t, m) => f.any !== undefined && f.any(t, (v) => m(apply(v)));
  }
  return ok(out);
}

/** A compiled `%[expr]` value as log-format and header rules use it. */
export type SampleGetter = (t: Txn) => Sample;

/**
 * Compiles a sample expression as written inside `%[...]` (`req.hdr(host),lower`). Used as the
 * fetch resolver of lb/log/format.ts and by rules that take a sample expression.
 */
export function compileSampleExpr(expr: string): Result<FetchImpl> {
  const fx = parseFetchExpr(expr.trim(), false);
  if (!fx.ok) return fx;
  const f = compileFetch(fx.value.fetch, fx.value.args);
  if (!f.ok) return f;
  return withConverters(f.value, fx.value.converters);
}

/** Sample → log/header text: booleans as 1/0, absent as undefined. */
export function sampleText(v: Sample): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}
