// HAProxy log-format strings: compiled once into segments, rendered per stream by concatenation.
//
// Semantics follow the configuration manual, section 8.2 (formats), 8.2.6 (variables and flags) and
// 8.6 (non-printable characters), checked against haproxy 2.6.12's output (test/log/differential.test.ts):
// - a run of spaces is ONE separator; a separator prints one ' ' unless the output already ends
//   with a separator (so leading separators vanish and an empty %hr does not leave two spaces);
// - '%%' is a literal '%'; '%{+Q,-X}var' sets flags; '%o' makes its flags the default of every
//   following variable; '%[fetch,conv]' is a sample expression resolved through a callback;
// - absent strings print '-' ('""' when quoted); numbers and dates are never quoted;
// - request line, URI parts and captured headers are '#XX'-encoded (non-printables, '"', '#',
//   and for headers '{', '|', '}').
// Rendering does no parsing and no regular expressions: each variable is a closure built for its
// flags at compile time, and dates are formatted once per second per variable.

import type { LogRecord } from './record.ts';

// -------------------------------------------------------------------------------------- results

export type LogResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a sample expression yields at render time; null or '' prints as '-'. */
export type SampleValue = string | number | boolean | null;
export type SampleGetter<C> = (record: LogRecord, ctx: C) => SampleValue;
/**
 * Resolves `%[expr]` at compile time (expr is the text between the brackets, e.g. 'req.hdr(host),lower').
 * Return a getter, `{ error }` for an expression it knows is invalid, or null when it does not know
 * the fetch (the built-in record fetches are then tried, see BUILTIN_FETCHES).
 */
export type SampleResolver<C> = (expr: string) => SampleGetter<C> | { error: string } | null;

export interface CompileOptions<C> {
  resolveSample?: SampleResolver<C>;
  /** %H: defaults to the 'log-send-hostname' value or the system hostname; the caller decides. */
  hostname?: string;
  /** %pid. */
  pid?: number;
}

export interface CompiledLogFormat<C = undefined> {
  readonly source: string;
  /** True when an HTTP-only variable (R = H in the manual's table) is used: haproxy warns in TCP mode. */
  readonly usesHttp: boolean;
  /** Unknown flags that haproxy silently ignores; the config layer should print them as warnings. */
  readonly warnings: readonly string[];
  render(record: LogRecord, ctx: C): string;
}

// ------------------------------------------------------------------------ HAProxy's default formats

/** `option tcplog` (manual 8.2.2). */
export const TCPLOG_FORMAT = '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq';
/** `option httplog` (manual 8.2.3). */
export const HTTPLOG_FORMAT =
  '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r';
/** `option httplog clf` (manual 8.2.3). */
export const HTTPLOG_CLF_FORMAT =
  '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl';
/** `option httpslog` (manual 8.2.4); its %[...] fetches are served by BUILTIN_FETCHES. */
export const HTTPSLOG_FORMAT =
  HTTPLOG_FORMAT +
  ' %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc';

export type LogOption = 'tcplog' | 'httplog' | 'httplog clf' | 'httpslog';

/** The format string an `option` stands for. */
export const DEFAULT_FORMATS: Readonly<Record<LogOption, string>> = {
  tcplog: TCPLOG_FORMAT,
  httplog: HTTPLOG_FORMAT,
  'httplog clf': HTTPLOG_CLF_FORMAT,
  httpslog: HTTPSLOG_FORMAT,
};

/**
 * `option dontlognull`: HAProxy does not log a stream on which the client sent no data at all
 * (port scans, health-check probes that connect and close). Returns true when the record must be
 * logged. dontlognull is a frontend option, so the caller passes its value.
 */
export function shouldLog(record: LogRecord, dontlognull: boolean): boolean {
  return !dontlognull || record.bytesUploaded > 0;
}

// ------------------------------------------------------------------------------------ encoding

const HEX = '0123456789ABCDEF';
/** Bit tables for 8.6: 1 = encode as '#XX'. */
const URL_MAP = new Uint8Array(256);
const HDR_MAP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const np = c < 32 || c >= 127 ? 1 : 0;
  URL_MAP[c] = np;
  HDR_MAP[c] = np;
}
for (const ch of '"#') URL_MAP[ch.charCodeAt(0)] = 1;
for (const ch of '"#{|}') HDR_MAP[ch.charCodeAt(0)] = 1;

function hexByte(b: number): string {
  return '#' + HEX[b >> 4] + HEX[b & 15];
}

/** '#XX'-encode per `map`. Returns the input unchanged (no allocation) when nothing needs encoding. */
export function encodeLogString(s: string, map: Uint8Array = URL_MAP): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || map[c] === 1) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 256) {
      out += map[c] === 1 ? hexByte(c) : s[i];
    } else {
      // Outside Latin-1 the proxy handed us decoded text: log its UTF-8 bytes, all >= 0x80.
      const cp = s.codePointAt(i) ?? c;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += hexByte(b);
    }
  }
  return out;
}

export function encodeLogHeader(s: string): string {
  return encodeLogString(s, HDR_MAP);
}

/** Flag E (8.2.6): prefix '"', '\' and ']' with '\' (RFC 5424 PARAM-VALUE rules). */
export function escapeRfc5424(s: string): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92 || c === 93) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c === 34 || c === 92 || c === 93 ? '\\' + s[i] : s[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------- dates

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? '0' + n : '' + n;
}
function pad3(n: number): string {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n;
}
function hexPad(n: number, width: number): string {
  const h = (n >>> 0).toString(16).toUpperCase();
  return h.length >= width ? h : '0'.repeat(width - h.length) + h;
}

/** '+0530' style offset of local time at `d`. */
export function tzOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return (off < 0 ? '-' : '+') + pad2(Math.floor(a / 60)) + pad2(a % 60);
}

type DateStyle = 'local' | 'gmt' | 'localz';

/** 'dd/Mon/yyyy:HH:MM:SS' (+ ' +0000' for gmt, ' +hhmm' for localz) for one second. */
function formatSecond(sec: number, style: DateStyle): string {
  const d = new Date(sec * 1000);
  if (style === 'gmt') {
    return (
      pad2(d.getUTCDate()) + '/' + MONTHS[d.getUTCMonth()] + '/' + d.getUTCFullYear() + ':' +
      pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds()) + ' +0000'
    );
  }
  const base =
    pad2(d.getDate()) + '/' + MONTHS[d.getMonth()] + '/' + d.getFullYear() + ':' +
    pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  return style === 'localz' ? base + ' ' + tzOffset(d) : base;
}

/** A getter that formats a date field, re-formatting only when the second changes. */
function dateGetter(pick: (r: LogRecord) => number, style: DateStyle, withMs: boolean): Getter {
  let cachedSec = Number.NaN;
  let cached = '';
  return (r) => {
    const ms = pick(r);
    const sec = Math.floor(ms / 1000);
    if (sec !== cachedSec) {
      cached = formatSecond(sec, style);
      cachedSec = sec;
    }
    return withMs ? cached + '.' + pad3(ms - sec * 1000) : cached;
  };
}

// ------------------------------------------------------------------------------------ variables

type Getter = (r: LogRecord) => string;
interface Flags {
  Q: boolean;
  X: boolean;
  E: boolean;
}
interface VarDef {
  /** HTTP-only variable (R = H in the manual's table). */
  http: boolean;
  /** Can render as '' (then separators around it collapse at run time). */
  mayBeEmpty: boolean;
  make(f: Flags, o: Required<Pick<CompileOptions<unknown>, 'hostname' | 'pid'>>): Getter;
}

/** String semantics: absent → '-' ('""' quoted). */
function text(f: Flags, get: (r: LogRecord) => string | null): Getter {
  if (f.E) {
    return f.Q
      ? (r) => {
          const v = get(r);
          return v ? '"' + escapeRfc5424(v) + '"' : '""';
        }
      : (r) => {
          const v = get(r);
          return v ? escapeRfc5424(v) : '-';
        };
  }
  return f.Q
    ? (r) => {
        const v = get(r);
        return v ? '"' + v + '"' : '""';
      }
    : (r) => get(r) || '-';
}

/** HTTP request parts: '<BADREQ>' when the request was not parsed, '#XX'-encoded, '' allowed. */
function httpPart(f: Flags, get: (r: LogRecord) => string): Getter {
  const q = f.Q ? '"' : '';
  const e = f.E;
  return (r) => {
    if (r.requestLine === null) return q + '<BADREQ>' + q;
    let v = encodeLogString(get(r));
    if (e) v = escapeRfc5424(v);
    return q + v + q;
  };
}

function num(get: (r: LogRecord) => number): Getter {
  return (r) => '' + get(r);
}

function ipToHex(addr: string): string {
  if (addr.includes('.') && !addr.includes(':')) {
    const p = addr.split('.');
    let out = '';
    for (const x of p) out += hexPad(Number(x) & 255, 2);
    return out;
  }
  // IPv6 (possibly '::'-compressed, possibly with a dotted tail): 32 hex digits.
  let v = addr;
  const dot = v.lastIndexOf('.');
  if (dot !== -1) {
    const tailStart = v.lastIndexOf(':') + 1;
    const h = ipToHex(v.slice(tailStart));
    v = v.slice(0, tailStart) + h.slice(0, 4) + ':' + h.slice(4);
  }
  const [head = '', tail] = v.split('::');
  const hs = head === '' ? [] : head.split(':');
  const ts = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - hs.length - ts.length).fill('0');
  let out = '';
  for (const g of [...hs, ...fill, ...ts]) out += hexPad(Number.parseInt(g, 16) || 0, 4);
  return out;
}

function ip(f: Flags, get: (r: LogRecord) => string | null): Getter {
  const t = text(f, get);
  if (!f.X) return t;
  const q = f.Q ? '"' : '';
  return (r) => {
    const v = get(r);
    return v ? q + ipToHex(v) + q : t(r);
  };
}

function port(f: Flags, get: (r: LogRecord) => number): Getter {
  const absent = f.Q ? '""' : '-';
  return f.X ? (r) => (get(r) < 0 ? absent : hexPad(get(r), 4)) : (r) => (get(r) < 0 ? absent : '' + get(r));
}

function captures(f: Flags, get: (r: LogRecord) => Array<string | null> | null, list: boolean): Getter {
  const q = f.Q ? '"' : '';
  const e = f.E;
  if (!list) {
    // %hr / %hs: '{a|b}'; nothing at all when no capture is configured.
    return (r) => {
      const caps = get(r);
      if (caps === null || caps.length === 0) return '';
      let out = q + '{';
      for (let i = 0; i < caps.length; i++) {
        if (i > 0) out += '|';
        const v = caps[i];
        if (v) out += e ? escapeRfc5424(encodeLogHeader(v)) : encodeLogHeader(v);
      }
      return out + '}' + q;
    };
  }
  // %hrl / %hsl (CLF): one field per capture, '-' for a missing header ('""' when quoted).
  const absent = f.Q ? '""' : '-';
  return (r) => {
    const caps = get(r);
    if (caps === null || caps.length === 0) return '';
    let out = '';
    for (let i = 0; i < caps.length; i++) {
      if (i > 0) out += ' ';
      const v = caps[i];
      if (!v) out += absent;
      else out += q + (e ? escapeRfc5424(encodeLogHeader(v)) : encodeLogHeader(v)) + q;
    }
    return out;
  };
}

function uriPath(uri: string): string {
  const q = uri.indexOf('?');
  return q === -1 ? uri : uri.slice(0, q);
}
function uriPathOnly(uri: string): string {
  let p = uriPath(uri);
  if (p.charCodeAt(0) !== 47 /* '/' */) {
    const scheme = p.indexOf('://');
    if (scheme !== -1) {
      const slash = p.indexOf('/', scheme + 3);
      p = slash === -1 ? '' : p.slice(slash);
    }
  }
  return p;
}
function uriQuery(uri: string): string {
  const q = uri.indexOf('?');
  return q === -1 ? '' : uri.slice(q);
}
function sumValid(...t: number[]): number {
  let s = 0;
  for (const x of t) if (x > 0) s += x;
  return s;
}

const V = (http: boolean, make: VarDef['make'], mayBeEmpty = false): VarDef => ({ http, make, mayBeEmpty });

/** The variables of manual 8.2.6 that lb renders. */
const VARS: Record<string, VarDef> = {
  B: V(false, () => num((r) => r.bytesRead)),
  U: V(false, () => num((r) => r.bytesUploaded)),
  CC: V(true, (f) => text(f, (r) => r.requestCookie)),
  CS: V(true, (f) => text(f, (r) => r.responseCookie)),
  H: V(false, (f, o) => text(f, () => o.hostname)),
  HM: V(true, (f) => httpPart(f, (r) => r.method), true),
  HU: V(true, (f) => httpPart(f, (r) => r.uri), true),
  HP: V(true, (f) => httpPart(f, (r) => uriPath(r.uri)), true),
  HPO: V(true, (f) => httpPart(f, (r) => uriPathOnly(r.uri)), true),
  HQ: V(true, (f) => httpPart(f, (r) => uriQuery(r.uri)), true),
  HV: V(true, (f) => httpPart(f, (r) => r.version), true),
  ID: V(false, (f) => text(f, (r) => r.uniqueId)),
  ST: V(false, () => num((r) => r.status)),
  T: V(false, () => dateGetter((r) => r.acceptDate, 'gmt', false)),
  Tl: V(false, () => dateGetter((r) => r.acceptDate, 'localz', false)),
  Ts: V(false, (f) => (f.X ? (r) => hexPad(Math.floor(r.acceptDate / 1000), 8) : num((r) => Math.floor(r.acceptDate / 1000)))),
  ms: V(false, (f) => (f.X ? (r) => hexPad(r.acceptDate % 1000, 2) : (r) => pad3(r.acceptDate % 1000))),
  t: V(false, () => dateGetter((r) => r.acceptDate, 'local', true)),
  tr: V(true, () => dateGetter((r) => r.requestDate, 'local', true)),
  trg: V(true, () => dateGetter((r) => r.requestDate, 'gmt', false)),
  trl: V(true, () => dateGetter((r) => r.requestDate, 'localz', false)),
  Th: V(false, () => num((r) => r.Th)),
  Ti: V(true, () => num((r) => r.Ti)),
  TR: V(true, () => num((r) => r.TR)),
  Tw: V(false, () => num((r) => r.Tw)),
  Tc: V(false, () => num((r) => r.Tc)),
  Tr: V(true, () => num((r) => r.Tr)),
  Ta: V(true, () => num((r) => r.Ta)),
  Tt: V(false, () => num((r) => r.Tt)),
  // Derived timers, manual 8.4.
  Tq: V(true, () => num((r) => (r.Th < 0 || r.Ti < 0 || r.TR < 0 ? -1 : r.Th + r.Ti + r.TR))),
  Td: V(false, () => num((r) => r.Tt - sumValid(r.Th, r.Ti, r.TR, r.Tw, r.Tc, r.Tr))),
  Tu: V(false, () => num((r) => r.Tt - (r.Ti > 0 ? r.Ti : 0))),
  ac: V(false, () => num((r) => r.actconn)),
  fc: V(false, () => num((r) => r.feconn)),
  bc: V(false, () => num((r) => r.beconn)),
  sc: V(false, () => num((r) => r.srvConn)),
  rc: V(false, () => (r) => (r.redispatched ? '+' : '') + r.retries),
  sq: V(false, () => num((r) => r.srvQueue)),
  bq: V(false, () => num((r) => r.backendQueue)),
  b: V(false, (f) => text(f, (r) => r.backend)),
  s: V(false, (f) => text(f, (r) => r.server)),
  f: V(false, (f) => text(f, (r) => r.frontend)),
  ft: V(false, (f) => text(f, (r) => (r.tls ? r.frontend + '~' : r.frontend))),
  ci: V(false, (f) => ip(f, (r) => r.clientIp)),
  cp: V(false, (f) => port(f, (r) => r.clientPort)),
  fi: V(false, (f) => ip(f, (r) => r.frontendIp)),
  fp: V(false, (f) => port(f, (r) => r.frontendPort)),
  bi: V(false, (f) => ip(f, (r) => r.backendSourceIp)),
  bp: V(false, (f) => port(f, (r) => r.backendSourcePort)),
  si: V(false, (f) => ip(f, (r) => r.serverIp)),
  sp: V(false, (f) => port(f, (r) => r.serverPort)),
  lc: V(false, (f) => (f.X ? (r) => hexPad(r.logCounter, 4) : num((r) => r.logCounter))),
  rt: V(false, (f) => (f.X ? (r) => hexPad(r.requestCounter, 4) : num((r) => r.requestCounter))),
  pid: V(false, (f, o) => {
    const s = f.X ? hexPad(o.pid, 4) : '' + o.pid;
    return () => s;
  }),
  hr: V(false, (f) => captures(f, (r) => r.requestHeaders, false), true),
  hs: V(false, (f) => captures(f, (r) => r.responseHeaders, false), true),
  hrl: V(false, (f) => captures(f, (r) => r.requestHeaders, true), true),
  hsl: V(false, (f) => captures(f, (r) => r.responseHeaders, true), true),
  r: V(true, (f) => httpPart(f, (r) => r.requestLine ?? ''), true),
  ts: V(false, () => (r) => (r.termState.length >= 2 ? r.termState.slice(0, 2) : (r.termState + '--').slice(0, 2))),
  tsc: V(true, () => (r) => (r.termState.length >= 4 ? r.termState.slice(0, 4) : (r.termState + '----').slice(0, 4))),
  sslc: V(false, (f) => text(f, (r) => r.sslCipher)),
  sslv: V(false, (f) => text(f, (r) => r.sslVersion)),
};

/** Names of every variable lb renders (for "did you mean" in the config layer). */
export const LOG_VARIABLES: readonly string[] = Object.keys(VARS);

// ---------------------------------------------------------------------------- built-in fetches

/**
 * Sample fetches answered from the record itself, so the default formats (httpslog) work before
 * the full fetch table is plugged in. Anything else goes through CompileOptions.resolveSample.
 */
export const BUILTIN_FETCHES: Record<string, (r: LogRecord) => SampleValue> = {
  src: (r) => r.clientIp,
  src_port: (r) => r.clientPort,
  dst: (r) => r.frontendIp,
  dst_port: (r) => (r.frontendPort < 0 ? null : r.frontendPort),
  fc_err: (r) => r.fcErr,
  ssl_fc: (r) => r.tls,
  ssl_fc_err: (r) => (r.tls ? r.sslFcErr : null),
  ssl_c_err: (r) => (r.tls ? r.sslCErr : null),
  ssl_c_ca_err: (r) => (r.tls ? r.sslCaErr : null),
  ssl_fc_is_resumed: (r) => r.tls && r.sslResumed,
  ssl_fc_sni: (r) => (r.tls ? r.sni : null),
  ssl_fc_protocol: (r) => (r.tls ? r.sslVersion : null),
  ssl_fc_cipher: (r) => (r.tls ? r.sslCipher : null),
};

type Conv = (v: SampleValue) => SampleValue;
const BUILTIN_CONVERTERS: Record<string, Conv> = {
  // haproxy casts an integer to 8 big-endian bytes before 'hex' (observed: 0 → 0000000000000000).
  hex: (v) => {
    if (v === null) return null;
    if (typeof v === 'number' || typeof v === 'boolean') {
      return BigInt.asUintN(64, BigInt(Math.trunc(Number(v)))).toString(16).toUpperCase().padStart(16, '0');
    }
    return Buffer.from(v, 'latin1').toString('hex').toUpperCase();
  },
  lower: (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  upper: (v) => (typeof v === 'string' ? v.toUpperCase() : v),
};

function resolveBuiltin(expr: string): SampleGetter<unknown> | { error: string } | null {
  const parts = expr.split(',');
  const head = (parts[0] ?? '').trim();
  if (head === '') return { error: `failed to parse sample expression <${expr}]> : missing fetch method` };
  let fetch: (r: LogRecord) => SampleValue;
  const str = /^str\((.*)\)$/s.exec(head);
  if (str) {
    const c = str[1] ?? '';
    fetch = () => c;
  } else {
    const f = BUILTIN_FETCHES[head];
    if (f === undefined) return null;
    fetch = f;
  }
  const convs: Conv[] = [];
  for (const name of parts.slice(1)) {
    const c = BUILTIN_CONVERTERS[name.trim()];
    if (c === undefined) return { error: `failed to parse sample expression <${expr}]> : unknown converter '${name.trim()}'` };
    convs.push(c);
  }
  if (convs.length === 0) return fetch;
  return (r) => {
    let v = fetch(r);
    for (const c of convs) v = c(v);
    return v;
  };
}

function sampleToString(v: SampleValue): string {
  if (v === null) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return typeof v === 'number' ? '' + v : v;
}

// ------------------------------------------------------------------------------------- compiler

const K_TEXT = 0 as const;
const K_VAR = 1 as const;
/** A separator whose output depends on whether the previous, possibly empty, variable printed. */
const K_DSEP = 2 as const;

type Part<C> =
  /** Literal text; `sep` = it ends with a separator folded at compile time. */
  | { k: typeof K_TEXT; s: string; sep: boolean }
  | { k: typeof K_VAR; g: (r: LogRecord, ctx: C) => string }
  | { k: typeof K_DSEP };

const NO_FLAGS: Flags = { Q: false, X: false, E: false };

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Compile a log-format string (as it is after the config tokenizer: escapes resolved, spaces kept).
 * Errors use haproxy's wording ("no such format variable 'zz'") so users recognise them.
 */
export function compileLogFormat<C = undefined>(
  source: string,
  options: CompileOptions<C> = {},
): LogResult<CompiledLogFormat<C>> {
  const o = { hostname: options.hostname ?? '-', pid: options.pid ?? process.pid };
  const warnings: string[] = [];
  const parts: Array<Part<C>> = [];
  let usesHttp = false;
  let globalFlags: Flags = NO_FLAGS;
  // Compile-time knowledge of "does the output end with a separator": 'start' and 'sep' = yes,
  // 'static' = no, 'unknown' = depends on a variable that may print nothing.
  let state: 'start' | 'sep' | 'static' | 'unknown' = 'start';

  const pushText = (s: string, endsWithSep: boolean): void => {
    const last = parts.at(-1);
    if (last !== undefined && last.k === K_TEXT) {
      last.s += s;
      last.sep = endsWithSep;
    } else {
      parts.push({ k: K_TEXT, s, sep: endsWithSep });
    }
  };
  const pushVar = (g: (r: LogRecord, ctx: C) => string): void => {
    parts.push({ k: K_VAR, g });
  };

  const n = source.length;
  let i = 0;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === 32 /* ' ' */) {
      while (i < n && source.charCodeAt(i) === 32) i++;
      if (state === 'static') {
        pushText(' ', true);
        state = 'sep';
      } else if (state === 'unknown') {
        parts.push({ k: K_DSEP });
        state = 'sep';
      }
      continue;
    }
    if (c !== 37 /* '%' */) {
      let j = i;
      while (j < n && source.charCodeAt(j) !== 32 && source.charCodeAt(j) !== 37) j++;
      pushText(source.slice(i, j), false);
      state = 'static';
      i = j;
      continue;
    }
    // '%' ...
    const start = i;
    i++;
    if (i >= n) return { ok: false, error: "truncated line after '%'." };
    if (source.charCodeAt(i) === 37) {
      pushText('%', false);
      state = 'static';
      i++;
      continue;
    }
    let flags: Flags = globalFlags;
    if (source[i] === '{') {
      const close = source.indexOf('}', i);
      if (close === -1) return { ok: false, error: `truncated line after '${source.slice(i + 1)}'.` };
      flags = { ...globalFlags };
      for (const raw of source.slice(i + 1, close).split(',')) {
        const fl = raw.trim();
        const m = /^([+-])([QXE])$/.exec(fl);
        if (m) {
          const on = m[1] === '+';
          if (m[2] === 'Q') flags.Q = on;
          else if (m[2] === 'X') flags.X = on;
          else flags.E = on;
        } else if (fl !== '') {
          // haproxy 2.6 ignores unknown flags; keep that, but say so.
          warnings.push(`ignoring unknown log-format flag '${fl}' near '${source.slice(start, close + 1)}'`);
        }
      }
      i = close + 1;
      if (i >= n) return { ok: false, error: `parse argument modifier without variable name near '${source.slice(start)}'` };
    }
    if (source[i] === '[') {
      // Sample expression: up to the ']' outside parentheses.
      let depth = 0;
      let j = i + 1;
      for (; j < n; j++) {
        const ch = source[j];
        if (ch === '(') depth++;
        else if (ch === ')') depth = Math.max(0, depth - 1);
        else if (ch === ']' && depth === 0) break;
      }
      if (j >= n) return { ok: false, error: `missing ']' after '${source.slice(i + 1)}'.` };
      const expr = source.slice(i + 1, j);
      const got = options.resolveSample?.(expr) ?? resolveBuiltin(expr);
      if (got === null) {
        const fetch = expr.split(/[,(]/)[0] ?? expr;
        return { ok: false, error: `failed to parse sample expression <${expr}]> : unknown fetch method '${fetch}'` };
      }
      if (typeof got !== 'function') return { ok: false, error: got.error };
      pushVar(sampleGetter(got, flags));
      state = 'static';
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < n && isAlpha(source.charCodeAt(j))) j++;
    if (j === i) {
      return {
        ok: false,
        error: `unexpected variable name near '${source.slice(i, i + 1)}' at position ${i} line : '${source}'. Maybe you want to write a single '%', use the syntax '%%'.`,
      };
    }
    const name = source.slice(i, j);
    i = j;
    if (name === 'o') {
      // %o: its flags become the default of every following variable.
      globalFlags = flags;
      continue;
    }
    const def = VARS[name];
    if (def === undefined) {
      return {
        ok: false,
        error: `no such format variable '${name}'. If you wanted to emit the '%' character verbatim, you need to use '%%'.`,
      };
    }
    usesHttp ||= def.http;
    pushVar(def.make(flags, o));
    // After a variable that may print nothing, whether the output ends with a separator is
    // only known at run time, unless it was already known not to.
    state = def.mayBeEmpty && state !== 'static' ? 'unknown' : 'static';
  }

  return { ok: true, value: new LogFormat<C>(source, parts, usesHttp, warnings) };
}

function sampleGetter<C>(get: SampleGetter<C>, f: Flags): (r: LogRecord, ctx: C) => string {
  const q = f.Q;
  const e = f.E;
  return (r, ctx) => {
    let v = sampleToString(get(r, ctx));
    if (v === '') return q ? '""' : '-';
    if (e) v = escapeRfc5424(v);
    return q ? '"' + v + '"' : v;
  };
}

class LogFormat<C> implements CompiledLogFormat<C> {
  readonly source: string;
  readonly usesHttp: boolean;
  readonly warnings: readonly string[];
  readonly render: (record: LogRecord, ctx: C) => string;

  constructor(source: string, parts: Array<Part<C>>, usesHttp: boolean, warnings: string[]) {
    this.source = source;
    this.usesHttp = usesHttp;
    this.warnings = warnings;
    this.render = parts.some((p) => p.k === K_DSEP) ? renderTracked(parts) : renderStatic(parts);
  }
}

/** No run-time separator decisions: text, var, text, var... concatenated. */
function renderStatic<C>(parts: Array<Part<C>>): (r: LogRecord, ctx: C) => string {
  const first = parts[0];
  const head = first !== undefined && first.k === K_TEXT ? first.s : '';
  const segs: Array<{ g: (r: LogRecord, ctx: C) => string; t: string }> = [];
  for (const p of parts) {
    const last = segs.at(-1);
    if (p.k === K_VAR) segs.push({ g: p.g, t: '' });
    else if (p.k === K_TEXT && last !== undefined) last.t += p.s;
  }
  return (r, ctx) => {
    let out = head;
    for (const s of segs) out += s.g(r, ctx) + s.t;
    return out;
  };
}

/** Tracks "output ends with a separator" so separators next to empty variables collapse. */
function renderTracked<C>(parts: Array<Part<C>>): (r: LogRecord, ctx: C) => string {
  return (r, ctx) => {
    let out = '';
    let sep = true;
    for (const p of parts) {
      if (p.k === K_TEXT) {
        out += p.s;
        sep = p.sep;
      } else if (p.k === K_VAR) {
        const v = p.g(r, ctx);
        if (v.length !== 0) {
          out += v;
          sep = false;
        }
      } else if (!sep) {
        out += ' ';
        sep = true;
      }
    }
    return out;
  };
}
