// HAProxy's `.if` / `.elif` condition language ("2.4. Conditional blocks", since HAProxy 2.4).
//
// The whole expression is parsed before anything is evaluated, as haproxy does: `1 || nope(x)`
// is an error even though the right side would never run. Predicates live in one table
// (PREDICATES); adding one touches only that table. Behaviour was compared with haproxy 2.6.12:
//   - numbers are C integers (`0x0`, `-0` are false, `2`, `-1`, `01` true), `1abc` is an error;
//   - an empty expression is false; a bare word (`abc`) is an error;
//   - `!`, `&&`, `||`, parentheses with C precedence (`0 || 1 && 0` is false);
//   - `defined()` is false, `streq(,)` is true, `streq(a,b,c)` is an error.
// Deliberate deviations (stricter than 2.6): an unknown predicate is named in the error with a
// suggestion, and version_atleast/version_before refuse a version that is not dotted numbers
// (2.6 silently treats `version_atleast(abc)` as true).

import process from 'node:process';
import type { Result } from './values.ts';

/** The HAProxy version whose behaviour lb reproduces; reported to version_atleast/before and -v. */
export const HAPROXY_COMPAT_VERSION = '2.6.0';

export interface CondContext {
  env: Readonly<Record<string, string | undefined>>;
  version: string;
  features: ReadonlySet<string>;
}

/**
 * The features this implementation really has, named as in `haproxy -vv`'s "Feature list", so a
 * config written for haproxy (`.if feature(OPENSSL)`) selects the branch that will work here.
 */
export function runtimeFeatures(): ReadonlySet<string> {
  const features = new Set<string>(['GETADDRINFO', 'ZLIB']);
  if (process.versions.openssl !== undefined) features.add('OPENSSL');
  if (process.platform === 'linux') features.add('EPOLL');
  return features;
}

export function defaultCondContext(): CondContext {
  return { env: process.env, version: HAPROXY_COMPAT_VERSION, features: runtimeFeatures() };
}

interface PredicateDef {
  arity: number;
  eval(args: readonly string[], ctx: CondContext): Result<boolean>;
}

/** Dotted numeric version → numbers; undefined when not of the form 1, 2.6, 2.6.12 ... */
function parseVersion(text: string): number[] | undefined {
  const m = /^[0-9]+(\.[0-9]+)*/.exec(text);
  if (m === null) return undefined;
  return m[0].split('.').map(Number);
}

/** Numeric comparison, missing components count as 0 (`2.6` == `2.6.0`). */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function versionPredicate(name: string, want: (cmp: number) => boolean): PredicateDef {
  return {
    arity: 1,
    eval(args, ctx) {
      const arg = args[0] ?? '';
      const wanted = /^[0-9]+(\.[0-9]+)*$/.test(arg) ? parseVersion(arg) : undefined;
      if (wanted === undefined) {
        return { ok: false, error: `invalid version '${arg}' in argument of predicate '${name}'` };
      }
      const current = parseVersion(ctx.version);
      if (current === undefined) {
        return { ok: false, error: `cannot compare with current version '${ctx.version}'` };
      }
      return { ok: true, value: want(compareVersions(current, wanted)) };
    },
  };
}

const PREDICATES: ReadonlyMap<string, PredicateDef> = new Map<string, PredicateDef>([
  ['defined', { arity: 1, eval: (a, ctx) => ({ ok: true, value: ctx.env[a[0] ?? ''] !== undefined }) }],
  ['feature', { arity: 1, eval: (a, ctx) => ({ ok: true, value: ctx.features.has(a[0] ?? '') }) }],
  ['streq', { arity: 2, eval: (a) => ({ ok: true, value: a[0] === a[1] }) }],
  ['strneq', { arity: 2, eval: (a) => ({ ok: true, value: a[0] !== a[1] }) }],
  // strstr() appears in the manual of later versions (2.9+), not in 2.6; supported anyway.
  ['strstr', { arity: 2, eval: (a) => ({ ok: true, value: (a[0] ?? '').includes(a[1] ?? '') }) }],
  ['version_atleast', versionPredicate('version_atleast', (c) => c >= 0)],
  ['version_before', versionPredicate('version_before', (c) => c < 0)],
]);

export const CONDITION_PREDICATES: readonly string[] = [...PREDICATES.keys()];

type Node =
  | { kind: 'const'; value: boolean }
  | { kind: 'call'; def: PredicateDef; args: string[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'and' | 'or'; left: Node; right: Node };

class CondSyntaxError extends Error {}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min(tmp + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** Closest known name within a small edit distance, for "did you mean" hints. */
export function suggest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** Recursive-descent parser over the joined expression text; positions in errors are 1-based. */
class Parser {
  readonly #s: string;
  #i = 0;
  constructor(s: string) {
    this.#s = s;
  }

  #fail(message: string, at: number): never {
    throw new CondSyntaxError(`${message} in conditional expression '${this.#s.trim()}' at position ${at + 1}`);
  }
  #skip(): void {
    while (this.#i < this.#s.length && (this.#s[this.#i] === ' ' || this.#s[this.#i] === '\t')) this.#i++;
  }

  parse(): Node {
    this.#skip();
    if (this.#i >= this.#s.length) return { kind: 'const', value: false };
    const node = this.#or();
    this.#skip();
    if (this.#i < this.#s.length) {
      this.#fail(`unexpected character '${this.#s[this.#i] ?? ''}' at the end`, this.#i);
    }
    return node;
  }

  #or(): Node {
    let left = this.#and();
    for (;;) {
      this.#skip();
      if (!this.#s.startsWith('||', this.#i)) return left;
      this.#i += 2;
      left = { kind: 'or', left, right: this.#and() };
    }
  }

  #and(): Node {
    let left = this.#unary();
    for (;;) {
      this.#skip();
      if (!this.#s.startsWith('&&', this.#i)) return left;
      this.#i += 2;
      left = { kind: 'and', left, right: this.#unary() };
    }
  }

  #unary(): Node {
    this.#skip();
    if (this.#s[this.#i] === '!') {
      this.#i++;
      return { kind: 'not', operand: this.#unary() };
    }
    return this.#primary();
  }

  #primary(): Node {
    this.#skip();
    const start = this.#i;
    const s = this.#s;
    if (start >= s.length) this.#fail('missing term', start);
    if (s[start] === '(') {
      this.#i++;
      const inner = this.#or();
      this.#skip();
      if (s[this.#i] !== ')') this.#fail(`expected ')' after sub-expression`, start);
      this.#i++;
      return inner;
    }
    const num = /^-?(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(s.slice(start));
    if (num !== null) {
      this.#i += num[0].length;
      return { kind: 'const', value: Number(num[0].replace(/^-/, '')) !== 0 };
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(start));
    if (word === null || s[start + word[0].length] !== '(') {
      this.#fail(`unparsable term '${s.slice(start).trim()}'`, start);
    }
    const name = word[0];
    const def = PREDICATES.get(name);
    if (def === undefined) {
      const hint = suggest(name, PREDICATES.keys());
      this.#fail(
        `unknown predicate '${name}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
        start,
      );
    }
    this.#i = start + name.length + 1;
    const args: string[] = [];
    for (;;) {
      const argStart = this.#i;
      while (this.#i < s.length && s[this.#i] !== ',' && s[this.#i] !== ')') this.#i++;
      args.push(s.slice(argStart, this.#i).trim());
      if (this.#i >= s.length) {
        this.#fail(`expected ')' in argument ${args.length} of predicate '${name}'`, this.#i);
      }
      if (s[this.#i] === ')') break;
      this.#i++; // ','
    }
    this.#i++; // ')'
    // defined() has one empty argument; so does a call written with nothing between parentheses.
    if (args.length !== def.arity) {
      this.#fail(`predicate '${name}' expects ${def.arity} argument(s), got ${args.length}`, start);
    }
    return { kind: 'call', def, args };
  }
}

function evaluate(node: Node, ctx: CondContext): Result<boolean> {
  switch (node.kind) {
    case 'const':
      return { ok: true, value: node.value };
    case 'call':
      return node.def.eval(node.args, ctx);
    case 'not': {
      const r = evaluate(node.operand, ctx);
      return r.ok ? { ok: true, value: !r.value } : r;
    }
    default: {
      const l = evaluate(node.left, ctx);
      if (!l.ok) return l;
      // Short-circuit like C; parse errors on the right side were already reported.
      if (node.kind === 'and' ? !l.value : l.value) return l;
      return evaluate(node.right, ctx);
    }
  }
}

/**
 * Evaluates the words after `.if` / `.elif` (already unquoted and ${VAR}-expanded by the
 * tokenizer). The words are joined with a space, so `defined(FOO) && streq(a,b)` written as
 * several words and `defined(FOO)&&!defined(BAR)` written as one behave the same.
 */
export function evalCondition(args: readonly string[], ctx: CondContext): Result<boolean> {
  let tree: Node;
  try {
    tree = new Parser(args.join(' ')).parse();
  } catch (e) {
    if (e instanceof CondSyntaxError) return { ok: false, error: e.message };
    if (e instanceof RangeError) return { ok: false, error: 'conditional expression is too deeply nested' };
    throw e;
  }
  try {
    return evaluate(tree, ctx);
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, error: 'conditional expression is too deeply nested' };
    throw e;
  }
}
