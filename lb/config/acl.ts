// Parsing of `acl NAME fetch [flags] patterns...` lines and of `if|unless COND` conditions into
// the structures of model.ts, validated against the sample-fetch table (lb/acl/fetches.ts).
// Like haproxy, an ACL must be defined before a condition uses it (haproxy resolves names when it
// parses the rule line), so conditions are checked against the ACLs known at that point.
import { readFileSync } from 'node:fs';
import { ACL_ALIASES, CONVERTERS, FETCHES, MATCH_METHODS, PREDEFINED_ACLS, aclFetchNames, type MatchMethod } from '../acl/fetches.ts';
import { suggest } from './keywords.ts';
import type { AclTerm, Condition, CondTerm, Loc } from './model.ts';
import { parseCidr, type Result } from './values.ts';

export interface AclScope {
  /** Is an ACL of this name defined in the proxy so far? */
  has(name: string): boolean;
  readonly loc: Loc;
  /** Maps a pattern-file path before reading it. */
  mapPath?: (p: string) => string;
}

function bad<T>(error: string): Result<T> {
  return { ok: false, error };
}

export interface FetchExpr {
  fetch: string;
  args: string[];
  converters: string[];
  method?: MatchMethod;
}

/** Splits `name(a,b),conv1,conv2(x)` into its parts. Accepts any text; validates names. */
export function parseFetchExpr(text: string, forAcl: boolean): Result<FetchExpr> {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) !== 40 /* ( */ && text.charCodeAt(i) !== 44 /* , */) i++;
  const name = i === text.length ? text : text.slice(0, i);
  // split() gives an array of the exact size: these arrays live as long as the model
  let args: string[] = [];
  if (text.charCodeAt(i) === 40) {
    const close = text.indexOf(')', i);
    if (close < 0) return bad(`missing closing ')' after arguments to fetch method '${name}'`);
    const inner = text.slice(i + 1, close);
    if (inner !== '') args = inner.split(',');
    i = close + 1;
  }
  const converters: string[] = [];
  const rest = i === text.length ? '' : text.slice(i);
  if (rest !== '') {
    if (rest[0] !== ',') return bad(`missing comma after fetch keyword '${name}'`);
    for (const conv of splitConverters(rest.slice(1))) {
      const cname = conv.replace(/\(.*$/s, '');
      if (!CONVERTERS.has(cname)) {
        const s = suggest(cname, CONVERTERS);
        return bad(`unknown converter '${cname}'${s === undefined ? '' : `; did you mean '${s}' maybe ?`}`);
      }
      converters.push(conv);
    }
  }
  let fetch = name;
  let method: MatchMethod | undefined;
  const alias = forAcl ? ACL_ALIASES.get(name) : undefined;
  if (alias !== undefined) {
    fetch = alias.fetch;
    method = alias.method;
  }
  const def = FETCHES.get(fetch);
  if (def === undefined) {
    const s = suggest(name, forAcl ? aclFetchNames() : FETCHES.keys());
    const dym = s === undefined ? '' : `; did you mean '${s}' maybe ?`;
    return bad(forAcl ? `unknown fetch method '${name}' in ACL expression '${text}'${dym}` : `unknown fetch method '${name}'${dym}`);
  }
  if (args.length < def.minArgs) return bad(`fetch method '${name}' : missing arguments (got ${args.length}/${def.minArgs})`);
  if (args.length > def.maxArgs) return bad(`fetch method '${name}' : end of arguments expected at position ${def.maxArgs + 1}`);
  const out: FetchExpr = { fetch, args, converters };
  if (method !== undefined) out.method = method;
  return { ok: true, value: out };
}

function splitConverters(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

const INT_OPS = new Set(['eq', 'ge', 'gt', 'le', 'lt']);

/** Compiles a pattern to check it; returns the engine's error text, or undefined when valid. */
export function regexError(pattern: string, flags = ''): string | undefined {
  try {
    return RegExp(pattern, flags).source === '' ? 'empty regex' : undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function isMatchMethod(m: string): m is MatchMethod {
  return MATCH_METHODS.has(m);
}

/** Validates one pattern for a match method; returns an error text or undefined. */
function checkPattern(method: MatchMethod, p: string, ignoreCase: boolean): string | undefined {
  switch (method) {
    case 'ip': {
      const r = parseCidr(p);
      return r.ok ? undefined : `'${p}' is not a valid IPv4 or IPv6 address.`;
    }
    case 'int':
    case 'len':
      if (INT_OPS.has(p)) return undefined;
      return /^-?[0-9]*(:-?[0-9]*)?$/.test(p) && p !== '' && p !== ':' ? undefined : `'${p}' is not a number nor a supported operator.`;
    case 'reg': {
      const e = regexError(p, ignoreCase ? 'i' : '');
      return e === undefined ? undefined : `regex '${p}' is invalid (error=${e}).`;
    }
    case 'bool':
    case 'found':
      return `'${p}': no pattern is expected with match method '${method}'.`;
    default:
      return undefined;
  }
}

/**
 * Parses the words of one ACL expression (`fetch [flags] patterns...`), as found after
 * `acl NAME` or inside `{ }`. Never throws.
 */
export function parseAclTerm(words: readonly string[], scope: AclScope): Result<AclTerm> {
  const first = words[0];
  if (first === undefined) return bad('missing fetch method in ACL expression');
  const fx = parseFetchExpr(first, true);
  if (!fx.ok) return fx;
  const def = FETCHES.get(fx.value.fetch);
  let method: MatchMethod = fx.value.method ?? def?.defaultMatch ?? 'str';
  let ignoreCase = false;
  const files: string[] = [];
  let patterns: string[] = [];
  let i = 1;
  let explicitMethod = false;
  while (i < words.length) {
    const w = words[i] ?? '';
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w.length === 1 || /^-[0-9]/.test(w)) break;
    if (w === '-i') ignoreCase = true;
    else if (w === '-n' || w === '-u') {
      // -n: no DNS resolution, -u: unique id (accepted; lb never resolves patterns)
      if (w === '-u') i++;
    } else if (w === '-m') {
      const m = words[i + 1];
      if (m === undefined) return bad("missing matching method after '-m'");
      if (!isMatchMethod(m)) return bad(`unknown matching method '${m}' when parsing ACL expression.`);
      if (fx.value.method !== undefined) return bad(`'-m' cannot be used with fetch keyword '${first}'`);
      method = m;
      explicitMethod = true;
      i++;
    } else if (w === '-f') {
      const f = words[i + 1];
      if (f === undefined) return bad("missing pattern file after '-f'");
      const path = scope.mapPath === undefined ? f : scope.mapPath(f);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return bad(`failed to open pattern file <${f}>.`);
      }
      for (const line of text.split('\n')) {
        const t = line.trim();
        if (t !== '' && !t.startsWith('#')) patterns.push(t);
      }
      files.push(f);
      i++;
    } else if (w === '-M') {
      i++;
    } else {
      return bad(`'${w}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.`);
    }
    i++;
  }
  // slice() makes an array of the exact size (push would leave room for 16): it stays in the model
  if (files.length === 0) patterns = words.slice(i);
  else for (; i < words.length; i++) patterns.push(words[i] ?? '');
  if (def !== undefined && !explicitMethod && fx.value.method === undefined && def.type === 'meth') method = 'str';
  for (let k = 0; k < patterns.length; k++) {
    const e = checkPattern(method, patterns[k] ?? '', ignoreCase);
    if (e !== undefined) return bad(e);
  }
  const term: AclTerm = { fetch: fx.value.fetch, fetchArgs: fx.value.args, method, patterns, loc: scope.loc };
  if (fx.value.converters.length > 0) term.converters = fx.value.converters;
  if (ignoreCase) term.ignoreCase = true;
  if (files.length > 0) term.patternFiles = files;
  return { ok: true, value: term };
}

/**
 * Parses `if|unless` and the words that follow (`words[0]` is `if` or `unless`). Terms are ANDed
 * by juxtaposition, `or`/`||` separate alternatives, `!` negates, `{ ... }` is an anonymous ACL.
 */
export function parseCondition(words: readonly string[], scope: AclScope): Result<Condition> {
  const polarity = words[0];
  if (polarity !== 'if' && polarity !== 'unless') return bad(`expects 'if' or 'unless' followed by a condition but found '${polarity ?? ''}'`);
  const or: CondTerm[][] = [];
  const and: CondTerm[] = [];
  let i = 1;
  let negated = false;
  if (words.length < 2) return bad(`missing condition after '${polarity}'`);
  while (i < words.length) {
    let w = words[i] ?? '';
    if (w === 'or' || w === '||') {
      if (negated || and.length === 0) return bad(`'${w}' must be placed between two terms`);
      or.push(and.slice());
      and.length = 0;
      i++;
      continue;
    }
    if (w === '!') {
      negated = !negated;
      i++;
      continue;
    }
    while (w.startsWith('!')) {
      negated = !negated;
      w = w.slice(1);
    }
    if (w === '{') {
      let j = i + 1;
      while (j < words.length && words[j] !== '}') j++;
      if (j >= words.length) return bad("missing closing '}' in condition");
      const inner = words.slice(i + 1, j);
      if (inner.length === 0) return bad('anonymous ACL has no fetch method');
      const t = parseAclTerm(inner, scope);
      if (!t.ok) return t;
      and.push({ negated, anonymous: t.value });
      negated = false;
      i = j + 1;
      continue;
    }
    if (w === '}') return bad("unexpected '}' in condition");
    if (w === '') return bad('empty ACL name in condition');
    if (!scope.has(w) && !PREDEFINED_ACLS.has(w)) return bad(`no such ACL : '${w}'`);
    and.push({ negated, acl: w });
    negated = false;
    i++;
  }
  if (negated) return bad("'!' must be followed by a term");
  if (and.length === 0) return bad("'or' must be placed between two terms");
  or.push(and.slice());
  // slice(): arrays of the exact size, as conditions live as long as the model (push leaves room)
  return { ok: true, value: { polarity, or: or.slice() } };
}

/** Iterates the fetches a condition uses (anonymous terms and named ACLs resolved by `lookup`). */
export function* conditionFetches(cond: Condition, lookup: (name: string) => readonly AclTerm[] | undefined): Generator<{ fetch: string; loc: Loc }> {
  for (const group of cond.or) {
    for (const t of group) {
      if ('anonymous' in t) yield { fetch: t.anonymous.fetch, loc: t.anonymous.loc };
      else {
        const pre = PREDEFINED_ACLS.get(t.acl);
        if (pre !== undefined) continue;
        for (const term of lookup(t.acl) ?? []) yield { fetch: term.fetch, loc: term.loc };
      }
    }
  }
}
