// HAProxy's value syntaxes (times, sizes, integers, addresses, networks), validated.
//
// Every function here is pure: it never throws, never resolves names and never touches the
// filesystem. Errors are returned as `{ ok: false, error }` with a message that names the
// offending text, so the config parser can prefix it with `parsing [file:line] : 'keyword' : `.
// Behaviour was checked against Debian's haproxy 2.6.12 (`haproxy -c -f`); deliberate deviations
// (where we are stricter) are called out next to the code.

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}
function err<T>(error: string): Result<T> {
  return { ok: false, error };
}

/** HAProxy stores timers as signed 32-bit milliseconds (TICK_ETERNITY aside). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** HAProxy's parse_size_err() produces an unsigned int. */
export const MAX_SIZE_BYTES = 2 ** 32 - 1;

// Factor from a unit to microseconds; converting to ms rounds up like HAProxy, so `1us` is 1 ms
// and a non-zero timeout never becomes 0 ("wait forever").
const TIME_UNITS_US: ReadonlyMap<string, number> = new Map([
  ['us', 1],
  ['ms', 1_000],
  ['s', 1_000_000],
  ['m', 60_000_000],
  ['h', 3_600_000_000],
  ['d', 86_400_000_000],
]);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Leading decimal digits of `text`; value is capped (Infinity) once it cannot be exact. */
function leadingDigits(text: string): { end: number; value: number } {
  let i = 0;
  let value = 0;
  while (i < text.length && isDigit(text.charCodeAt(i))) {
    value = value * 10 + (text.charCodeAt(i) - 48);
    i++;
  }
  if (value > Number.MAX_SAFE_INTEGER) value = Number.POSITIVE_INFINITY;
  return { end: i, value };
}

/**
 * Parses an HAProxy time value ("2.5. Time format"): decimal digits followed by an optional unit
 * among us, ms, s, m, h, d (case-sensitive, as in HAProxy). A bare number is in `defaultUnit`.
 * Returns milliseconds, rounded up from microseconds. Rejects signs, decimals, empty text and
 * anything above 2^31-1 ms (~24.8 days), exactly where haproxy 2.6 reports "timer overflow".
 * Deviation: haproxy 2.6 only warns about trailing characters after a unit (`10ms5`); we reject.
 */
export function parseTime(text: string, defaultUnit: 'ms' | 's' = 'ms'): Result<number> {
  const ms = timeMs(text, defaultUnit);
  if (ms >= 0) return ok(ms);
  if (text.length === 0) return err('expects an integer value (in milliseconds)');
  const { end } = leadingDigits(text);
  if (end === 0) return err(`unexpected character '${text[0] ?? ''}' in time value '${text}'`);
  let unitEnd = end;
  while (unitEnd < text.length && isAsciiLetter(text.charCodeAt(unitEnd))) unitEnd++;
  if (TIME_UNITS_US.get(unitEnd === end ? defaultUnit : text.slice(end, unitEnd)) === undefined) {
    return err(`unexpected character '${text[end] ?? ''}' in time value '${text}'`);
  }
  if (unitEnd < text.length) {
    return err(
      `unexpected character '${text[unitEnd] ?? ''}' after the time value '${text}', only ` +
        'us, ms, s, m, h and d are supported',
    );
  }
  return err(`timer overflow in '${text}' (maximum value is ${MAX_TIMER_MS} ms or ~24.8 days)`);
}

/**
 * parseTime's success path without a Result object, for hot callers: milliseconds, or -1 when
 * the text is not a valid time (then call parseTime for the error message).
 */
export function timeMs(text: string, defaultUnit: 'ms' | 's' = 'ms'): number {
  const len = text.length;
  let end = 0;
  let value = 0;
  while (end < len && isDigit(text.charCodeAt(end))) value = value * 10 + (text.charCodeAt(end++) - 48);
  if (end === 0) return -1;
  if (value > Number.MAX_SAFE_INTEGER) value = Number.POSITIVE_INFINITY;
  let unitEnd = end;
  while (unitEnd < len && isAsciiLetter(text.charCodeAt(unitEnd))) unitEnd++;
  if (unitEnd < len) return -1;
  const factor = TIME_UNITS_US.get(unitEnd === end ? defaultUnit : text.slice(end, unitEnd));
  if (factor === undefined) return -1;
  const ms = Math.ceil((value * factor) / 1000);
  return Number.isFinite(ms) && ms <= MAX_TIMER_MS ? ms : -1;
}

/**
 * A plain decimal of at most 9 digits (no sign), or -1: the common case of parseInteger without
 * a Result object. Callers fall back to parseInteger for anything else and for the message.
 */
export function smallUint(text: string): number {
  const len = text.length;
  if (len === 0 || len > 9) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Formats milliseconds back to the shortest exact HAProxy time text (`30s`, `1500ms`, `2h`).
 * Used by `show` commands and by the round-trip tests of parseTime.
 */
export function formatTime(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, us] of [
    ['d', 86_400_000_000],
    ['h', 3_600_000_000],
    ['m', 60_000_000],
    ['s', 1_000_000],
  ] as const) {
    const perUnit = us / 1000;
    if (ms % perUnit === 0) return `${ms / perUnit}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Parses an HAProxy size ("2.6. Size format"): decimal digits with an optional k, m or g suffix
 * in either case, multiplied by 1024, 1024^2, 1024^3. Verified on haproxy 2.6: `stick-table size 3g`
 * is accepted and `4g` overflows, which only holds for binary multiples of a 32-bit value.
 * Returns bytes; nothing may follow the suffix.
 */
export function parseSize(text: string): Result<number> {
  if (text.length === 0) return err('missing size value');
  const { end, value } = leadingDigits(text);
  if (end === 0) return err(`unexpected character '${text[0] ?? ''}' in size '${text}'`);
  let mult = 1;
  let i = end;
  const suffix = text[i]?.toLowerCase();
  if (suffix === 'k') mult = 1024;
  else if (suffix === 'm') mult = 1024 ** 2;
  else if (suffix === 'g') mult = 1024 ** 3;
  if (mult !== 1) i++;
  if (i < text.length) return err(`unexpected character '${text[i] ?? ''}' in size '${text}'`);
  const bytes = value * mult;
  if (!Number.isFinite(bytes) || bytes > MAX_SIZE_BYTES) {
    return err(`size overflow in '${text}' (maximum value is ${MAX_SIZE_BYTES} bytes)`);
  }
  return ok(bytes);
}

/**
 * Parses a decimal integer (optional leading '-', no '+', no hex, no spaces) and checks that it
 * lies within [min, max]. The error names the range so the user knows what is allowed.
 */
export function parseInteger(text: string, min: number, max: number): Result<number> {
  // ^-?[0-9]+$, by hand: this runs for every numeric server option of a big configuration
  const start = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  let i = start;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  if (i === start || i !== text.length) return err(`'${text}' is not a valid integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return err(`value '${text}' is out of range [${min}..${max}]`);
  }
  return ok(value);
}

// ---------------------------------------------------------------------------------------------
// Addresses

export interface Address {
  family: 'ipv4' | 'ipv6' | 'unix' | 'abns' | 'fd' | 'sockpair';
  /** '0.0.0.0' / '::' for "any" (`*:80`, `:443`); path for unix; name for abns; number for fd@. */
  host: string;
  /** Absent when no port was given. For a relative port (portOffset) this is the signed offset. */
  port?: number;
  /** End of a port range `8001-8003` (only where allowed). */
  portLast?: number;
  /** Server lines: `+N` / `-N` relative port. */
  portOffset?: boolean;
  raw: string;
}

export interface AddressOptions {
  /** 'required' (bind): port 1..65535. 'optional' (server): port 0..65535, 0 = client's port. */
  port: 'required' | 'optional' | 'forbidden';
  portRange?: boolean;
  portOffset?: boolean;
  /** Whether fd@ and sockpair@ are acceptable (they are on `bind`, not on `server`). Default true. */
  allowFd?: boolean;
}

type Prefix = { family: Address['family'] | 'any'; dgram?: true };

// Prefixes of haproxy 2.6's str2sa_range(). `tcp@` keeps the family open like no prefix at all.
const ADDRESS_PREFIXES: ReadonlyMap<string, Prefix> = new Map<string, Prefix>([
  ['ipv4', { family: 'ipv4' }],
  ['ipv6', { family: 'ipv6' }],
  ['tcp', { family: 'any' }],
  ['tcp4', { family: 'ipv4' }],
  ['tcp6', { family: 'ipv6' }],
  ['unix', { family: 'unix' }],
  ['abns', { family: 'abns' }],
  ['fd', { family: 'fd' }],
  ['sockpair', { family: 'sockpair' }],
  ['udp', { family: 'any', dgram: true }],
  ['udp4', { family: 'ipv4', dgram: true }],
  ['udp6', { family: 'ipv6', dgram: true }],
  ['uxdg', { family: 'unix', dgram: true }],
  ['quic4', { family: 'ipv4', dgram: true }],
  ['quic6', { family: 'ipv6', dgram: true }],
]);

const ANY_PREFIX: Prefix = { family: 'any' };
const UNIX_PREFIX: Prefix = { family: 'unix' };

/** /^[A-Za-z0-9]+$/ on text[0, end). */
function isAlnumRun(text: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c) && !isAsciiLetter(c)) return false;
  }
  return true;
}

// sockaddr_un.sun_path is 108 bytes including the terminating NUL.
const UNIX_PATH_MAX = 107;

/**
 * Accepts inet_aton()'s decimal forms (`a.b.c.d`, `a.b.c`, `a.b`, `a`), which haproxy accepts
 * through getaddrinfo() (`bind 127.1:80`, `acl a src 10/8`), and returns the dotted quad, or
 * undefined when the text is not such a form.
 */
export function normalizeIPv4(text: string): string | undefined {
  // By hand rather than regex + split: every `server` line comes through here. Parts are decimal
  // (a leading zero does not mean octal here); an already canonical quad is returned as is.
  const len = text.length;
  let n = 0; // the parts before the last one, as a number
  let parts = 0;
  let canonical = true;
  let i = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < len && isDigit(text.charCodeAt(i))) v = v * 10 + (text.charCodeAt(i++) - 48);
    if (i === start) return undefined;
    if (i - start > 1 && text.charCodeAt(start) === 48) canonical = false;
    parts++;
    if (i === len) {
      const shift = 2 ** (8 * (5 - parts));
      if (v > shift - 1) return undefined;
      if (canonical && parts === 4) return text;
      n = n * shift + v;
      return `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
    }
    if (parts === 4 || text.charCodeAt(i) !== 46 /* . */ || v > 255) return undefined;
    n = n * 256 + v;
    i++;
  }
}

/** Strict dotted quad, no leading zeros: what Node's net.isIPv4 accepts. */
export function isIPv4Text(text: string): boolean {
  const len = text.length;
  let parts = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let v = 0;
    while (i < len && i - start < 4 && isDigit(text.charCodeAt(i))) v = v * 10 + (text.charCodeAt(i++) - 48);
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && text.charCodeAt(start) === 48)) return false;
    parts++;
    if (i === len) return parts === 4;
    if (parts === 4 || text.charCodeAt(i) !== 46 /* . */) return false;
    i++;
  }
}

function isZoneChar(c: number): boolean {
  return isDigit(c) || isAsciiLetter(c) || c === 45 /* - */ || c === 46 /* . */ || c === 58 /* : */;
}

/**
 * What Node's net.isIPv6 accepts, without its large regex (slow to run, and node:net is not
 * needed otherwise): 1-4 hex digit groups separated by ':', at most one '::' standing for at least
 * one group, an optional dotted quad as the last two groups, an optional `%zone`.
 */
export function isIPv6Text(text: string): boolean {
  let end = text.length;
  if (text.indexOf(':') < 0) return false;
  const pct = text.indexOf('%');
  if (pct >= 0) {
    if (pct === end - 1) return false;
    for (let k = pct + 1; k < end; k++) if (!isZoneChar(text.charCodeAt(k))) return false;
    end = pct;
  }
  let groups = 0;
  let compressed = false;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58 || end < 2) return false;
    compressed = true;
    i = 2;
    if (i === end) return true;
  }
  for (;;) {
    let j = i;
    while (j < end && isHexDigit(text.charCodeAt(j))) j++;
    if (j < end && text.charCodeAt(j) === 46) {
      // a dotted quad ends the address
      if (!isIPv4Text(text.slice(i, end))) return false;
      groups += 2;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups++;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return false;
    if (text.charCodeAt(j + 1) === 58 && j + 1 < end) {
      if (compressed) return false;
      compressed = true;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  return text
    .split('.')
    .every((label) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

/** parseOnePort's success path without a Result object: the port, or -1 (ask parseOnePort why). */
function portNumber(text: string, min: number): number {
  const len = text.length;
  if (len === 0 || len > 5) return -1;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 48);
  }
  return n < min || n > 65535 ? -1 : n;
}

function parseOnePort(text: string, min: number, raw: string): Result<number> {
  if (text.length === 0) return err(`invalid port '${text}'`);
  for (let i = 0; i < text.length; i++) {
    if (!isDigit(text.charCodeAt(i))) {
      // Deviation: haproxy 2.6 silently ignores trailing garbage such as `:80x`; we reject it.
      return err(`invalid character '${text[i] ?? ''}' in port number '${text}' in '${raw}'`);
    }
  }
  const n = text.length > 6 ? 1e9 : Number(text);
  if (n < min || n > 65535) return err(`invalid port '${text}'`);
  return ok(n);
}

/**
 * Parses a listening or destination address as written on `bind`, `server`, `source`, `peer` and
 * similar lines. Accepts the prefixes ipv4@ ipv6@ tcp@ tcp4@ tcp6@ unix@ abns@ fd@ sockpair@, a
 * bare absolute path (unix socket), `[v6]:port`, unbracketed IPv6 whose last colon starts the port
 * (`:::443`), `*` or empty host for "any", IPv4 (including inet_aton short forms, normalized) and
 * hostnames (kept as text; resolution belongs to the caller). Datagram prefixes (udp@, quic4@...)
 * are refused because only stream listeners exist here.
 */
export function parseAddress(text: string, opts: AddressOptions): Result<Address> {
  const raw = text;
  if (text.length === 0) return err('missing address');
  let rest = text;
  let prefix: Prefix = ANY_PREFIX;
  const atPos = text.indexOf('@');
  if (atPos > 0 && isAlnumRun(text, atPos)) {
    const name = text.slice(0, atPos);
    const known = ADDRESS_PREFIXES.get(name);
    if (known === undefined) {
      return err(
        `unknown address prefix '${name}@' in '${raw}' (expected one of ` +
          `${[...ADDRESS_PREFIXES.keys()].filter((p) => ADDRESS_PREFIXES.get(p)?.dgram !== true).map((p) => `${p}@`).join(', ')})`,
      );
    }
    if (known.dgram === true) return err(`dgram-type address not acceptable in '${raw}'`);
    prefix = known;
    rest = text.slice(atPos + 1);
  } else if (text.startsWith('/')) {
    prefix = UNIX_PREFIX;
  }

  switch (prefix.family) {
    case 'unix':
    case 'abns': {
      if (rest.length === 0) return err(`missing socket path in '${raw}'`);
      if (Buffer.byteLength(rest) > UNIX_PATH_MAX) {
        return err(`socket path '${rest}' is too long (maximum ${UNIX_PATH_MAX} bytes) in '${raw}'`);
      }
      return ok({ family: prefix.family, host: rest, raw });
    }
    case 'fd':
    case 'sockpair': {
      if (opts.allowFd === false) return err(`a file descriptor is not acceptable here in '${raw}'`);
      if (!/^[0-9]+$/.test(rest) || Number(rest) > 2 ** 31 - 1) {
        return err(`file descriptor '${rest}' is not a valid integer in '${raw}'`);
      }
      return ok({ family: prefix.family, host: String(Number(rest)), raw });
    }
    default:
      return parseInetAddress(rest, raw, prefix.family, opts);
  }
}

function parseInetAddress(
  rest: string,
  raw: string,
  forced: 'ipv4' | 'ipv6' | 'any',
  opts: AddressOptions,
): Result<Address> {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) {
      const colon = rest.lastIndexOf(':');
      return err(`invalid address: '${colon > 0 ? rest.slice(0, colon) : rest}' in '${raw}'`);
    }
    host = rest.slice(1, close);
    bracketed = true;
    const after = rest.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return err(`invalid address: '${rest}' in '${raw}'`);
      portText = after.slice(1);
    }
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) {
      host = rest;
    } else {
      host = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
      // HAProxy always takes the last colon as the port separator, so `::1` would silently
      // become host `::`, port 1. Refuse that ambiguity instead of guessing.
      if (host.includes(':') && host !== '::' && !isIPv6Text(host) && isIPv6Text(rest)) {
        return err(
          `ambiguous IPv6 address '${rest}' in '${raw}': write '[${rest}]' or '[${rest}]:<port>'`,
        );
      }
    }
  }

  let family: 'ipv4' | 'ipv6';
  if (host === '' || host === '*') {
    if (bracketed) return err(`invalid address: '[${host}]' in '${raw}'`);
    family = forced === 'ipv6' ? 'ipv6' : 'ipv4';
    host = family === 'ipv6' ? '::' : '0.0.0.0';
  } else if (isIPv6Text(host)) {
    if (forced === 'ipv4') return err(`invalid address: '${bracketed ? `[${host}]` : host}' in '${raw}'`);
    family = 'ipv6';
  } else {
    const v4 = normalizeIPv4(host);
    if (v4 !== undefined) {
      if (forced === 'ipv6') return err(`invalid address: '${host}' in '${raw}'`);
      family = 'ipv4';
      host = v4;
    } else if (!bracketed && !/^[0-9.]+$/.test(host) && isHostname(host)) {
      family = forced === 'ipv6' ? 'ipv6' : 'ipv4';
    } else {
      return err(`invalid address: '${host}' in '${raw}'`);
    }
  }

  // Each Address is built by one literal (same key order as before): adding keys afterwards costs
  // an extra properties array per object, and there is one Address per server line.
  if (portText === undefined || portText === '') {
    if (opts.port === 'required') return err(`missing port specification in '${raw}'`);
    return ok({ family, host, raw });
  }
  if (opts.port === 'forbidden') return err(`port specification not permitted here in '${raw}'`);

  const first = portText[0];
  if (first === '+' || first === '-') {
    if (opts.portOffset !== true) return err(`port offset not permitted here in '${raw}'`);
    const off = parseOnePort(portText.slice(1), 0, raw);
    if (!off.ok) return err(`invalid port offset '${portText}' in '${raw}'`);
    return ok({ family, host, raw, port: first === '-' ? -off.value : off.value, portOffset: true });
  }
  const minPort = opts.port === 'required' ? 1 : 0;
  const dash = portText.indexOf('-');
  if (dash >= 0) {
    if (opts.portRange !== true) return err(`port range not permitted here in '${raw}'`);
    const lo = parseOnePort(portText.slice(0, dash), minPort, raw);
    if (!lo.ok) return lo;
    const hi = parseOnePort(portText.slice(dash + 1), minPort, raw);
    if (!hi.ok) return hi;
    if (hi.value < lo.value) return err(`invalid port range '${portText}'`);
    return ok({ family, host, raw, port: lo.value, portLast: hi.value });
  }
  let port = portNumber(portText, minPort);
  if (port < 0) {
    const r = parseOnePort(portText, minPort, raw);
    if (!r.ok) return r;
    port = r.value;
  }
  return ok({ family, host, raw, port });
}

// ---------------------------------------------------------------------------------------------
// Networks

export interface Cidr {
  family: 'ipv4' | 'ipv6';
  /** As written (IPv4 short forms normalized to a dotted quad); host bits are kept. */
  address: string;
  prefix: number;
}

function netmaskToPrefix(mask: string): number | undefined {
  if (!isIPv4Text(mask)) return undefined;
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const inverted = 2 ** 32 - 1 - n;
  // A contiguous mask inverted is 2^k - 1.
  if ((inverted & (inverted + 1)) !== 0 && inverted !== 2 ** 32 - 1) return undefined;
  let bits = 0;
  for (let b = 31; b >= 0; b--) {
    if (Math.floor(n / 2 ** b) % 2 === 1) bits++;
    else break;
  }
  return bits;
}

/**
 * Parses `addr`, `addr/len` or `v4addr/netmask` as used by ACL `src`, `option forwardfor except`,
 * `tcp-request ... src` and friends. A bare address is a host network (/32 or /128). IPv4 short
 * forms (`10/8`) are accepted like haproxy does. The error text is haproxy's
 * ("'x' is not a valid IPv4 or IPv6 address") followed by the precise reason.
 * Deviation: haproxy accepts non-contiguous netmasks (255.0.255.0); we refuse them.
 */
export function parseCidr(text: string): Result<Cidr> {
  const bad = (why: string): Result<Cidr> =>
    err(`'${text}' is not a valid IPv4 or IPv6 address (${why})`);
  const parts = text.split('/');
  if (parts.length > 2) return bad('more than one \'/\'');
  const addrText = parts[0] ?? '';
  const maskText = parts[1];
  let family: 'ipv4' | 'ipv6';
  let address: string;
  const v4 = normalizeIPv4(addrText);
  if (v4 !== undefined) {
    family = 'ipv4';
    address = v4;
  } else if (isIPv6Text(addrText) && !addrText.includes('%')) {
    family = 'ipv6';
    address = addrText;
  } else {
    return bad(addrText === '' ? 'missing address' : `bad address '${addrText}'`);
  }
  const max = family === 'ipv4' ? 32 : 128;
  if (maskText === undefined) return ok({ family, address, prefix: max });
  let prefix: number;
  if (/^[0-9]{1,3}$/.test(maskText)) {
    prefix = Number(maskText);
    if (prefix > max) return bad(`prefix length must be 0..${max}`);
  } else if (family === 'ipv4' && maskText.includes('.')) {
    const p = netmaskToPrefix(maskText);
    if (p === undefined) return bad(`'${maskText}' is not a contiguous netmask`);
    prefix = p;
  } else {
    return bad(maskText === '' ? 'missing prefix length' : `bad prefix length '${maskText}'`);
  }
  return ok({ family, address, prefix });
}
