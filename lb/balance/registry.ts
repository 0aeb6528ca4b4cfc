/**
 * The balance keyword table (DESIGN.md principle 1): `balance <algorithm> [args]` and
 * `hash-type <method> [<function>] [avalanche]` parsed into specs, and specs turned into an
 * {@link AlgorithmFactory} for {@link Pool}. Parsing never throws: it returns a message that the
 * configuration parser prefixes with file and line.
 */
import { First } from './first.ts';
import { HASH_FUNCTIONS, sdbm } from './hash.ts';
import { HashAlgorithm, type HashKeySpec, type HashTypeSpec } from './hashing.ts';
import type { UriKeyOptions } from './keys.ts';
import { LeastConn } from './leastconn.ts';
import { RandomDraws } from './random.ts';
import { RoundRobin } from './roundrobin.ts';
import { StaticRr } from './static-rr.ts';
import type { AlgorithmFactory } from './types.ts';

export type { HashTypeSpec } from './hashing.ts';

/** A parsed `balance` line. */
export type BalanceSpec =
  | { readonly algorithm: 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source' }
  | { readonly algorithm: 'uri'; readonly uri: UriKeyOptions }
  | { readonly algorithm: 'url_param'; readonly param: string }
  | { readonly algorithm: 'hdr'; readonly header: string; readonly useDomainOnly: boolean }
  | { readonly algorithm: 'random'; readonly draws: number };

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

interface BalanceKeyword {
  readonly name: string;
  /** Whether the keyword takes a parenthesised argument: hdr(name), random(draws). */
  readonly paren: 'none' | 'required' | 'optional';
  /** `inner` is the text between parentheses; `rest` the words after the algorithm. */
  parse(rest: readonly string[], inner: string | undefined): ParseResult<BalanceSpec>;
}

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

function noArgs(name: 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source'): BalanceKeyword {
  return {
    name,
    paren: 'none',
    parse: (rest) => (rest.length > 0 ? fail(`'balance ${name}' takes no argument (got '${rest[0]}')`) : ok({ algorithm: name })),
  };
}

function positiveInt(word: string | undefined): number {
  return word !== undefined && /^[0-9]+$/.test(word) && Number(word) > 0 ? Number(word) : -1;
}

/** The table: one entry per algorithm, looked up by name. */
export const BALANCE_KEYWORDS: readonly BalanceKeyword[] = [
  noArgs('roundrobin'),
  noArgs('static-rr'),
  noArgs('leastconn'),
  noArgs('first'),
  noArgs('source'),
  {
    name: 'uri',
    paren: 'none',
    parse(rest) {
      const uri = { whole: false, len: 0, depth: 0, pathOnly: false };
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i];
        if (w === 'whole') uri.whole = true;
        else if (w === 'path-only') uri.pathOnly = true;
        else if (w === 'len' || w === 'depth') {
          const n = positiveInt(rest[++i]);
          if (n < 0) return fail(`'balance uri ${w}' expects a positive integer`);
          uri[w] = n;
        } else {
          return fail(`'balance uri' only accepts 'whole', 'len <n>', 'depth <n>' and 'path-only' (got '${w}')`);
        }
      }
      return ok({ algorithm: 'uri', uri });
    },
  },
  {
    name: 'url_param',
    paren: 'none',
    parse(rest) {
      const param = rest[0];
      if (param === undefined || param === '') return fail("'balance url_param' requires an URL parameter name");
      if (rest[1] === 'check_post') {
        return fail("'balance url_param ... check_post' (hashing a POST body) is not supported yet");
      }
      if (rest.length > 1) return fail(`'balance url_param' takes one parameter name (got '${rest[1]}')`);
      return ok({ algorithm: 'url_param', param });
    },
  },
  {
    name: 'hdr',
    paren: 'required',
    parse(rest, inner) {
      if (inner === undefined || inner === '') return fail("'balance hdr' requires a header name in parentheses: hdr(<name>)");
      let useDomainOnly = false;
      for (const w of rest) {
        if (w === 'use_domain_only') useDomainOnly = true;
        else return fail(`'balance hdr(${inner})' only accepts 'use_domain_only' (got '${w}')`);
      }
      return ok({ algorithm: 'hdr', header: inner.toLowerCase(), useDomainOnly });
    },
  },
  {
    name: 'random',
    paren: 'optional',
    parse(rest, inner) {
      let draws = 2;
      if (inner !== undefined) {
        draws = positiveInt(inner);
        if (draws < 0) return fail(`'balance random(<draws>)' expects an integer >= 1 (got '${inner}')`);
      }
      if (rest.length > 0) return fail(`'balance random' takes no argument (got '${rest[0]}')`);
      return ok({ algorithm: 'random', draws });
    },
  },
];

/** Algorithms HAProxy has that this implementation reports as not supported yet. */
const NOT_YET = ['hash', 'rdp-cookie'];

/**
 * Parses the words after `balance`. Returns the spec or a message without file:line.
 */
export function parseBalance(args: readonly string[]): ParseResult<BalanceSpec> {
  const first = args[0];
  if (first === undefined) return fail("'balance' expects an algorithm");
  const open = first.indexOf('(');
  let name = first;
  let inner: string | undefined;
  if (open >= 0) {
    if (!first.endsWith(')')) return fail(`'balance ${first}': missing ')'`);
    name = first.slice(0, open);
    inner = first.slice(open + 1, -1);
  }
  if (NOT_YET.includes(name)) return fail(`'balance ${name}' is not supported yet`);
  const kw = BALANCE_KEYWORDS.find((k) => k.name === name);
  if (kw === undefined) {
    const guess = suggest(name, BALANCE_KEYWORDS.map((k) => k.name));
    return fail(`unknown balance algorithm '${name}'${guess === undefined ? '' : `; did you mean '${guess}'?`}`);
  }
  if (inner !== undefined && kw.paren === 'none') return fail(`'balance ${name}' takes no argument in parentheses`);
  return kw.parse(args.slice(1), inner);
}

/** HAProxy's default: `hash-type map-based sdbm`. */
export const DEFAULT_HASH_TYPE: HashTypeSpec = { method: 'map-based', fn: sdbm, fnName: 'sdbm', avalanche: false };

/**
 * Parses the words after `hash-type`: a method, then optionally a function and `avalanche`.
 * As in HAProxy, `consistent` without a function means sdbm with avalanche.
 */
export function parseHashType(args: readonly string[]): ParseResult<HashTypeSpec> {
  const method = args[0];
  if (method !== 'map-based' && method !== 'consistent') {
    const guess = method === undefined ? undefined : suggest(method, ['map-based', 'consistent']);
    return fail(
      `'hash-type' expects 'map-based' or 'consistent'${method === undefined ? '' : ` (got '${method}')`}${guess === undefined ? '' : `; did you mean '${guess}'?`}`,
    );
  }
  const fnName = args[1];
  if (fnName === undefined) return ok({ method, fn: sdbm, fnName: 'sdbm', avalanche: method === 'consistent' });
  const fn = HASH_FUNCTIONS[fnName];
  if (fn === undefined) {
    return fail(`'hash-type ${method}' expects a hash function among sdbm, djb2, wt6 and crc32 (got '${fnName}')`);
  }
  const mod = args[2];
  if (mod !== undefined && mod !== 'avalanche') return fail(`'hash-type' only accepts the 'avalanche' modifier (got '${mod}')`);
  if (args.length > 3) return fail(`'hash-type' takes at most 3 arguments (got '${args[3]}')`);
  return ok({ method, fn, fnName, avalanche: mod === 'avalanche' });
}

/** The factory the pool calls once for the active servers and once for the backups. */
export function algorithmFactory(spec: BalanceSpec, hashType: HashTypeSpec = DEFAULT_HASH_TYPE): AlgorithmFactory {
  switch (spec.algorithm) {
    case 'roundrobin':
      return (servers) => new RoundRobin(servers);
    case 'static-rr':
      return (servers, ctx) => new StaticRr(servers, ctx);
    case 'leastconn':
      return (servers) => new LeastConn(servers);
    case 'first':
      return (servers) => new First(servers);
    case 'random':
      return (servers, ctx) => new RandomDraws(servers, ctx, spec.draws);
    default: {
      const key = hashKeyOf(spec);
      return (servers, ctx) => new HashAlgorithm(servers, ctx, key, hashType);
    }
  }
}

function hashKeyOf(spec: BalanceSpec): HashKeySpec {
  switch (spec.algorithm) {
    case 'uri':
      return { kind: 'uri', uri: spec.uri };
    case 'url_param':
      return { kind: 'url_param', param: spec.param };
    case 'hdr':
      return { kind: 'hdr', header: spec.header, useDomainOnly: spec.useDomainOnly };
    default:
      return { kind: 'source' };
  }
}

/** The closest candidate by edit distance, if close enough to be a typo. */
function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
