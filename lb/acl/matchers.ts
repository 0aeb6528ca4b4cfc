// HAProxy's ACL pattern matching methods (`-m str|beg|end|sub|reg|dom|dir|len|int|ip|found|bool`,
// manual section 7.1.3 "Matching methods" and following), as ONE table.
//
// Each entry compiles the pattern list of one ACL once, at configuration time, into a closure that
// runs per request. The closures avoid allocating where they can: case-insensitive prefix/suffix
// and word matching compare ASCII-folded characters in place; only `str -i` and `sub -i` fold the
// sample (and only when it holds an upper-case letter).
//
// Samples are strings as read from the wire, one character per byte (latin1), so `len` counts
// bytes like HAProxy does. Case folding is ASCII-only, like HAProxy's tolower()/strncasecmp().
// Behaviour was checked against haproxy 2.6.12 with `str(...)`/`int(...)` fetches over loopback:
//   - string → integer casts read an optional sign and leading digits (`42x` is 42, `abc` is 0);
//   - an operator (eq ge gt le lt) applies to every following value until the next operator;
//   - dom/dir strip delimiters around the pattern (`-m dir /a/` matches `/a/b`), and dir's
//     delimiters are '/' and '?';
//   - an IPv4-mapped IPv6 sample matches IPv4 patterns and vice versa.
// Deliberate deviations (stricter than 2.6, which silently ignores these): patterns given to
// `found`/`bool`, an operator without a value, an empty pattern (haproxy ends the list there),
// a pattern made only of delimiters for dom/dir, and host names as `ip` patterns (haproxy
// resolves them once at startup; we refuse instead of resolving in a pure function).

import { BlockList } from 'node:net';
import { isIPv4, isIPv6 } from 'node:net';
import { suggest } from '../config/conditions.ts';
import { parseCidr, type Result } from '../config/values.ts';

export type MatchMethod = 'str' | 'beg' | 'end' | 'sub' | 'reg' | 'dom' | 'dir' | 'len' | 'int' | 'ip' | 'found' | 'bool';
export interface MatchOptions {
  ignoreCase: boolean;
}
export type Sample = string | number | boolean | undefined;
export type Matcher = (sample: Sample) => boolean;

interface MethodDef {
  compile(patterns: readonly string[], opts: MatchOptions): Result<Matcher>;
}

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}
function err<T>(error: string): Result<T> {
  return { ok: false, error };
}

const NEVER: Matcher = () => false;

// ------------------------------------------------------------------------------- conversions

/** Sample → string as HAProxy casts it (booleans are "1"/"0"); undefined stays undefined. */
function toStr(sample: Sample): string | undefined {
  if (typeof sample === 'string' || sample === undefined) return sample;
  if (typeof sample === 'number') return String(Math.trunc(sample));
  return sample ? '1' : '0';
}

/** Sample → integer as HAProxy's str→int cast: optional sign, leading digits, else 0. */
function toInt(sample: Sample): number | undefined {
  if (typeof sample === 'number') return Math.trunc(sample);
  if (typeof sample === 'boolean') return sample ? 1 : 0;
  if (sample === undefined) return undefined;
  let i = 0;
  let neg = false;
  const c0 = sample.charCodeAt(0);
  if (c0 === 45 /* - */ || c0 === 43 /* + */) {
    neg = c0 === 45;
    i = 1;
  }
  let v = 0;
  for (; i < sample.length; i++) {
    const d = sample.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

function hasUpperAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** ASCII-only lower-casing; returns the same string when there is nothing to fold. */
export function asciiLower(s: string): string {
  return hasUpperAscii(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

function foldCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Does `s` contain `lowerPattern` (already folded) at `at`, ignoring ASCII case? */
function regionEqualsCI(s: string, at: number, lowerPattern: string): boolean {
  if (at < 0 || at + lowerPattern.length > s.length) return false;
  for (let j = 0; j < lowerPattern.length; j++) {
    if (foldCode(s.charCodeAt(at + j)) !== lowerPattern.charCodeAt(j)) return false;
  }
  return true;
}

function checkNonEmpty(patterns: readonly string[], method: MatchMethod): string | undefined {
  for (const p of patterns) {
    if (p.length === 0) {
      return `empty pattern is not supported with '-m ${method}' (haproxy 2.6 silently ends the pattern list there)`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------- string methods

function compileStr(patterns: readonly string[], opts: MatchOptions): Result<Matcher> {
  const bad = checkNonEmpty(patterns, 'str');
  if (bad !== undefined) return err(bad);
  if (patterns.length === 0) return ok(NEVER);
  if (opts.ignoreCase) {
    const set = new Set(patterns.map(asciiLower));
    return ok((sample) => {
      const s = toStr(sample);
      return s !== undefined && set.has(asciiLower(s));
    });
  }
  const set = new Set(patterns);
  return ok((sample) => {
    const s = toStr(sample);
    return s !== undefined && set.has(s);
  });
}

function compileAffix(method: 'beg' | 'end'): MethodDef {
  return {
    compile(patterns, opts) {
      const bad = checkNonEmpty(patterns, method);
      if (bad !== undefined) return err(bad);
      if (patterns.length === 0) return ok(NEVER);
      const list = opts.ignoreCase ? patterns.map(asciiLower) : [...patterns];
      if (opts.ignoreCase) {
        return ok((sample) => {
          const s = toStr(sample);
          if (s === undefined) return false;
          for (const p of list) {
            if (regionEqualsCI(s, method === 'beg' ? 0 : s.length - p.length, p)) return true;
          }
          return false;
        });
      }
      return ok((sample) => {
        const s = toStr(sample);
        if (s === undefined) return false;
        for (const p of list) {
          if (method === 'beg' ? s.startsWith(p) : s.endsWith(p)) return true;
        }
        return false;
      });
    },
  };
}

function compileSub(patterns: readonly string[], opts: MatchOptions): Result<Matcher> {
  const bad = checkNonEmpty(patterns, 'sub');
  if (bad !== undefined) return err(bad);
  if (patterns.length === 0) return ok(NEVER);
  const list = opts.ignoreCase ? patterns.map(asciiLower) : [...patterns];
  return ok((sample) => {
    let s = toStr(sample);
    if (s === undefined) return false;
    if (opts.ignoreCase) s = asciiLower(s);
    for (const p of list) if (s.includes(p)) return true;
    return false;
  });
}

function compileReg(patterns: readonly string[], opts: MatchOptions): Result<Matcher> {
  const bad = checkNonEmpty(patterns, 'reg');
  if (bad !== undefined) return err(bad);
  const list: RegExp[] = [];
  for (const p of patterns) {
    try {
      // No 'g'/'y' flag: test() then keeps no lastIndex state between requests.
      // JavaScript regex syntax is close to PCRE but not identical (no possessive quantifiers,
      // no (?i) inline flags); a PCRE-only construct is reported here as invalid.
      list.push(new RegExp(p, opts.ignoreCase ? 'i' : ''));
    } catch (e) {
      return err(`regex '${p}' is invalid (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (list.length === 0) return ok(NEVER);
  return ok((sample) => {
    const s = toStr(sample);
    if (s === undefined) return false;
    for (const re of list) if (re.test(s)) return true;
    return false;
  });
}

/**
 * Word matching for `dom` and `dir`: the pattern, stripped of delimiters at both ends, must
 * appear in the sample starting right after a delimiter (or at the start) and ending right
 * before one (or at the end).
 */
function compileWord(method: 'dom' | 'dir', delimiters: string): MethodDef {
  const isDelim = (c: number): boolean => delimiters.includes(String.fromCharCode(c));
  const delimTable = new Uint8Array(256);
  for (let i = 0; i < delimiters.length; i++) delimTable[delimiters.charCodeAt(i)] = 1;
  const delimAt = (s: string, i: number): boolean => {
    const c = s.charCodeAt(i);
    return c < 256 && delimTable[c] === 1;
  };
  return {
    compile(patterns, opts) {
      const bad = checkNonEmpty(patterns, method);
      if (bad !== undefined) return err(bad);
      const list: string[] = [];
      for (const raw of patterns) {
        let a = 0;
        let b = raw.length;
        while (a < b && isDelim(raw.charCodeAt(a))) a++;
        while (b > a && isDelim(raw.charCodeAt(b - 1))) b--;
        if (a === b) return err(`pattern '${raw}' contains only delimiters ('${delimiters}') for '-m ${method}'`);
        const p = raw.slice(a, b);
        list.push(opts.ignoreCase ? asciiLower(p) : p);
      }
      if (list.length === 0) return ok(NEVER);
      const ci = opts.ignoreCase;
      return ok((sample) => {
        const s = toStr(sample);
        if (s === undefined) return false;
        for (const p of list) {
          const last = s.length - p.length;
          let mayMatch = true;
          for (let i = 0; i <= last; i++) {
            if (delimAt(s, i)) {
              mayMatch = true;
              continue;
            }
            if (!mayMatch) continue;
            mayMatch = false;
            const hit = ci ? regionEqualsCI(s, i, p) : s.startsWith(p, i);
            if (hit && (i === last || delimAt(s, i + p.length))) return true;
          }
        }
        return false;
      });
    },
  };
}

// --------------------------------------------------------------------------- integer methods

interface IntRange {
  lo: number;
  hi: number;
}

const INT_OPERATORS = new Set(['eq', 'ge', 'gt', 'le', 'lt']);

function parseIntValue(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Compiles integer patterns: `N`, ranges `lo:hi`, `:hi`, `lo:`, and operators eq/ge/gt/le/lt
 * which apply to every value that follows until the next operator (checked on haproxy 2.6:
 * `int(4) gt 5 4` does not match).
 */
export function compileIntRanges(patterns: readonly string[]): Result<IntRange[]> {
  const ranges: IntRange[] = [];
  let op = 'eq';
  let opPending = false;
  for (const p of patterns) {
    if (INT_OPERATORS.has(p)) {
      if (opPending) return err(`missing value after operator '${op}'`);
      op = p;
      opPending = true;
      continue;
    }
    const colon = p.indexOf(':');
    if (colon >= 0) {
      const loText = p.slice(0, colon);
      const hiText = p.slice(colon + 1);
      const lo = loText === '' ? Number.NEGATIVE_INFINITY : parseIntValue(loText);
      const hi = hiText === '' ? Number.POSITIVE_INFINITY : parseIntValue(hiText);
      if (lo === undefined || hi === undefined || lo > hi || (loText === '' && hiText === '')) {
        return err(`'${p}' is not a valid number range`);
      }
      if (op !== 'eq') return err(`operator '${op}' cannot be applied to the range '${p}'`);
      ranges.push({ lo, hi });
      opPending = false;
      continue;
    }
    const v = parseIntValue(p);
    if (v === undefined) {
      return err(opPending ? `'${p}' is neither a number nor a supported operator` : `'${p}' is not a number`);
    }
    opPending = false;
    switch (op) {
      case 'ge':
        ranges.push({ lo: v, hi: Number.POSITIVE_INFINITY });
        break;
      case 'gt':
        ranges.push({ lo: v + 1, hi: Number.POSITIVE_INFINITY });
        break;
      case 'le':
        ranges.push({ lo: Number.NEGATIVE_INFINITY, hi: v });
        break;
      case 'lt':
        ranges.push({ lo: Number.NEGATIVE_INFINITY, hi: v - 1 });
        break;
      default:
        ranges.push({ lo: v, hi: v });
    }
  }
  if (opPending) return err(`missing value after operator '${op}'`);
  return ok(ranges);
}

function rangesMatcher(ranges: readonly IntRange[], extract: (sample: Sample) => number | undefined): Matcher {
  if (ranges.length === 0) return NEVER;
  return (sample) => {
    const v = extract(sample);
    if (v === undefined) return false;
    for (const r of ranges) {
      if (v >= r.lo && v <= r.hi) return true;
    }
    return false;
  };
}

function sampleLength(sample: Sample): number | undefined {
  const s = toStr(sample);
  return s === undefined ? undefined : s.length;
}

// -------------------------------------------------------------------------------- the table

function noPatterns(method: 'found' | 'bool', matcher: Matcher): MethodDef {
  return {
    compile(patterns) {
      if (patterns.length > 0) {
        return err(`'-m ${method}' takes no pattern, got '${patterns.join(' ')}'`);
      }
      return ok(matcher);
    },
  };
}

export const MATCH_METHODS: ReadonlyMap<MatchMethod, MethodDef> = new Map<MatchMethod, MethodDef>([
  ['str', { compile: compileStr }],
  ['beg', compileAffix('beg')],
  ['end', compileAffix('end')],
  ['sub', { compile: compileSub }],
  ['reg', { compile: compileReg }],
  ['dom', compileWord('dom', '/?.:')],
  ['dir', compileWord('dir', '/?')],
  [
    'len',
    {
      compile(patterns) {
        const r = compileIntRanges(patterns);
        return r.ok ? ok(rangesMatcher(r.value, sampleLength)) : r;
      },
    },
  ],
  [
    'int',
    {
      compile(patterns) {
        const r = compileIntRanges(patterns);
        return r.ok ? ok(rangesMatcher(r.value, toInt)) : r;
      },
    },
  ],
  [
    'ip',
    {
      compile(patterns) {
        const list = new BlockList();
        for (const p of patterns) {
          const c = parseCidr(p);
          if (!c.ok) return c;
          list.addSubnet(c.value.address, c.value.prefix, c.value.family);
        }
        if (patterns.length === 0) return ok(NEVER);
        return ok((sample) => {
          if (typeof sample !== 'string') return false;
          if (isIPv4(sample)) return list.check(sample, 'ipv4');
          if (isIPv6(sample)) return list.check(sample, 'ipv6');
          return false;
        });
      },
    },
  ],
  ['found', noPatterns('found', (sample) => sample !== undefined)],
  [
    'bool',
    noPatterns('bool', (sample) => {
      const v = toInt(sample);
      return v !== undefined && v !== 0;
    }),
  ],
]);

export const MATCH_METHOD_NAMES: readonly MatchMethod[] = [...MATCH_METHODS.keys()];

/**
 * Compiles `patterns` with the named method (the word after `-m`). An unknown method is an error
 * with a suggestion; compile errors name the offending pattern.
 */
export function compileMatcher(method: string, patterns: readonly string[], opts: MatchOptions): Result<Matcher> {
  for (const [name, def] of MATCH_METHODS) {
    if (name === method) return def.compile(patterns, opts);
  }
  const hint = suggest(method, MATCH_METHOD_NAMES);
  return err(`unknown matching method '${method}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`);
}
