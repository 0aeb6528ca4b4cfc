/**
 * Extraction of the hashed part of a request for `source`, `uri`, `url_param` and `hdr()`,
 * scanning the strings in place (no slicing, no allocation) and returning the hash, or -1 when
 * the key is absent so the caller falls back to round robin as HAProxy does.
 */
import type { HashFn } from './hash.ts';

/**
 * The `source` key: HAProxy xors the address's 32-bit big-endian words (one for IPv4, four for
 * IPv6) and ignores `hash-type`'s function; the caller applies the avalanche for consistent
 * hashing. Returns -1 for text that is not an IP address (a unix socket peer, for instance).
 */
export function sourceHash(src: string): number {
  return src.includes(':') ? ipv6Words(src) : ipv4Word(src, 0, src.length);
}

/** Dotted quad in s[start, end) as an unsigned 32-bit number, or -1. */
function ipv4Word(s: string, start: number, end: number): number {
  let word = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      word = word * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return word * 256 + octet;
}

/** Scratch for the eight 16-bit groups of an IPv6 address (single-threaded, reused). */
const groups = new Uint16Array(8);

/** XOR of the four 32-bit words of an IPv6 address, or -1 if it does not parse. */
function ipv6Words(s: string): number {
  let end = s.indexOf('%'); // zone id, as in "fe80::1%eth0"
  if (end < 0) end = s.length;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    // An embedded IPv4 tail ("::ffff:192.0.2.1") fills the last two groups.
    let j = i;
    let isV4 = false;
    while (j < end && s.charCodeAt(j) !== 58) {
      if (s.charCodeAt(j) === 46) isV4 = true;
      j++;
    }
    if (isV4) {
      if (j !== end || count > 6) return -1;
      const w = ipv4Word(s, i, end);
      if (w < 0) return -1;
      groups[count++] = w >>> 16;
      groups[count++] = w & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || count >= 8) return -1;
    let g = 0;
    for (let k = i; k < j; k++) {
      const v = hexValue(s.charCodeAt(k));
      if (v < 0) return -1;
      g = g * 16 + v;
    }
    groups[count++] = g;
    i = j;
    if (i < end) {
      i++; // the ':'
      if (i < end && s.charCodeAt(i) === 58) {
        if (gap >= 0) return -1;
        gap = count;
        i++;
      } else if (i === end) {
        return -1; // trailing single ':'
      }
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return -1;
  const zeros = 8 - count;
  let h = 0;
  for (let w = 0; w < 4; w++) {
    const hi = groupAt(2 * w, gap, zeros);
    const lo = groupAt(2 * w + 1, gap, zeros);
    h ^= (hi << 16) | lo;
  }
  return h >>> 0;
}

function groupAt(k: number, gap: number, zeros: number): number {
  if (gap < 0 || k < gap) return groups[k]!;
  if (k < gap + zeros) return 0;
  return groups[k - zeros]!;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** `balance uri` options. */
export interface UriKeyOptions {
  /** Hash the query string too. */
  whole: boolean;
  /** Only the first `len` characters; 0 = no limit. */
  len: number;
  /** Only up to `depth` directory levels (one per slash); 0 = no limit. */
  depth: number;
  /** Start at the first '/' of the path, skipping the scheme and authority of absolute URIs. */
  pathOnly: boolean;
}

/**
 * The `uri` key: from the start of the URI (or of its path with path-only), stopping at the
 * `len` limit, at the slash that opens level depth+1, or at '?' unless `whole`.
 */
export function uriHash(uri: string, o: UriKeyOptions, fn: HashFn): number {
  let start = 0;
  const n = uri.length;
  if (o.pathOnly && uri.charCodeAt(0) !== 47) {
    const scheme = uri.indexOf('://');
    const slash = scheme < 0 ? -1 : uri.indexOf('/', scheme + 3);
    start = slash < 0 ? n : slash;
  }
  let limit = n;
  if (o.len > 0 && start + o.len < n) limit = start + o.len;
  let end = start;
  let slashes = 0;
  while (end < limit) {
    const c = uri.charCodeAt(end);
    if (c === 47) {
      if (o.depth > 0 && ++slashes === o.depth + 1) break;
    } else if (c === 63 && !o.whole) {
      break;
    }
    end++;
  }
  return fn(uri, start, end);
}

/**
 * The `url_param` key: the value of the first `name=value` pair of the query string (pairs are
 * separated by '&'), hashed; -1 when there is no query, no such parameter, or an empty value.
 */
export function urlParamHash(uri: string, name: string, fn: HashFn): number {
  const q = uri.indexOf('?');
  if (q < 0) return -1;
  const n = uri.length;
  const nl = name.length;
  let i = q + 1;
  while (i < n) {
    let amp = uri.indexOf('&', i);
    if (amp < 0) amp = n;
    if (amp - i > nl && uri.charCodeAt(i + nl) === 61 && uri.startsWith(name, i)) {
      const v = i + nl + 1;
      return v < amp ? fn(uri, v, amp) : -1;
    }
    i = amp + 1;
  }
  return -1;
}

/**
 * The `hdr(name)` key: the first comma-separated value of the header, without surrounding
 * blanks; with use_domain_only only the label before the last dot ("1wt" of "haproxy.1wt.eu",
 * the whole value if it has no dot). -1 when absent or empty.
 */
export function headerHash(value: string, useDomainOnly: boolean, fn: HashFn): number {
  let start = 0;
  let end = value.indexOf(',');
  if (end < 0) end = value.length;
  while (start < end && isBlank(value.charCodeAt(start))) start++;
  while (end > start && isBlank(value.charCodeAt(end - 1))) end--;
  if (start === end) return -1;
  if (useDomainOnly) {
    const lastDot = value.lastIndexOf('.', end - 1);
    if (lastDot >= start) {
      const prevDot = lastDot > start ? value.lastIndexOf('.', lastDot - 1) : -1;
      end = lastDot;
      if (prevDot >= start) start = prevDot + 1;
    }
  }
  return fn(value, start, end);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}
