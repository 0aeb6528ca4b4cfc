// Value parsers shared by the keyword tables. Each reports a diagnostic at the token and returns
// undefined on error, so a table entry reads as one line per keyword.
import { isIPv4, isIPv6 } from 'node:net';
import type { Diagnostics } from './diagnostics.ts';
import type { Token } from './tokenizer.ts';

/** A decimal integer in [min, max] (keepalived reads integers strictly: no units, no hex). */
export function int(diag: Diagnostics, t: Token | undefined, what: string, min: number, max: number): number | undefined {
  if (t === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(t.text)) {
    diag.error(t, `${what}: invalid number '${t.text}'`);
    return undefined;
  }
  const n = Number(t.text);
  if (n < min || n > max) {
    diag.error(t, `${what} ${t.text} out of range ${min}..${max}`);
    return undefined;
  }
  return n;
}

/**
 * Seconds written as a decimal (`1`, `0.1`, `2.5`) converted exactly to integer milliseconds
 * without going through floating point, in [minMs, maxMs]. `stepMs` is the finest resolution
 * accepted (10 for advert_int: adverts carry centiseconds).
 */
export function seconds(
  diag: Diagnostics, t: Token | undefined, what: string, minMs: number, maxMs: number, stepMs = 1,
): number | undefined {
  if (t === undefined) return undefined;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(t.text);
  if (!m) {
    diag.error(t, `${what}: invalid number of seconds '${t.text}'`);
    return undefined;
  }
  const frac = m[2] ?? '';
  if (frac.length > 3 && /[1-9]/.test(frac.slice(3))) {
    diag.error(t, `${what} '${t.text}' is finer than a millisecond`);
    return undefined;
  }
  const ms = Number(m[1]) * 1000 + Number((frac + '000').slice(0, 3));
  if (ms % stepMs !== 0) {
    diag.error(t, `${what} '${t.text}' must be a multiple of ${stepMs / 1000} s`);
    return undefined;
  }
  if (ms < minMs || ms > maxMs) {
    diag.error(t, `${what} ${t.text} out of range ${minMs / 1000}..${maxMs / 1000} seconds`);
    return undefined;
  }
  return ms;
}

export function ipFamily(text: string): 4 | 6 | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/** An IPv4 or IPv6 address (no prefix). */
export function address(diag: Diagnostics, t: Token | undefined, what: string): string | undefined {
  if (t === undefined) return undefined;
  if (ipFamily(t.text) === undefined) {
    diag.error(t, `${what}: invalid IP address '${t.text}'`);
    return undefined;
  }
  return t.text;
}

export function isMulticast4(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return isIPv4(addr) && first >= 224 && first <= 239;
}

/** Interface names as Linux accepts them: 1..15 bytes, no '/', no blanks. */
export function ifname(diag: Diagnostics, t: Token | undefined, what: string): string | undefined {
  if (t === undefined) return undefined;
  if (!/^[^\s/:]{1,15}$/.test(t.text) || t.text === '.' || t.text === '..') {
    diag.error(t, `${what}: invalid interface name '${t.text}'`);
    return undefined;
  }
  return t.text;
}

/** Splits a script line into argv: blanks separate, single and double quotes group. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | undefined;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}
