// ACL evaluation: the config's conditions (lb/config/model.ts: OR of AND-lists of possibly negated
// terms naming ACLs or anonymous `{ }` terms) compiled ONCE per proxy into a small tree of plain
// objects; evaluating it per request is two nested loops over arrays, with no allocation of its own
// (the fetches make the strings they return, the matchers were compiled with their patterns).
//
// Semantics (configuration manual 7.2):
// - several `acl NAME ...` lines with the same name are OR'd: the ACL matches when one line does;
// - in a condition, terms side by side are AND'd, `or`/`||` separates alternatives, `!` negates;
// - a term whose fetch has no value does not match (so `!term` does);
// - `unless COND` is true when COND is false.
// Named ACLs are looked up in the proxy that holds the rule, then in the predefined ACLs (7.4).
import type { AclDef, AclTerm, Condition, Loc } from '../config/model.ts';
import type { Result } from '../config/values.ts';
import { PREDEFINED_ACLS } from './fetches.ts';
import { compileMatcher, type Matcher } from './matchers.ts';
import { compileFetch, withConverters, type FetchImpl, type Txn } from './sample.ts';

/** One ACL line: a fetch and its compiled patterns. */
export interface CompiledTerm {
  readonly fetch: FetchImpl;
  readonly matcher: Matcher;
  readonly loc: Loc | undefined;
}

/** A named (or anonymous) ACL: its lines OR'd. */
export interface CompiledAcl {
  readonly name: string;
  readonly terms: readonly CompiledTerm[];
  /** Some line needs an HTTP request. */
  readonly http: boolean;
}

interface Atom {
  readonly acl: CompiledAcl;
  readonly negated: boolean;
}

/** A compiled `if|unless` condition. */
export class CompiledCondition {
  readonly groups: readonly (readonly Atom[])[];
  readonly unless: boolean;
  /** Some term needs an HTTP request (refused in tcp-mode rules). */
  readonly http: boolean;

  constructor(groups: readonly (readonly Atom[])[], unless: boolean) {
    this.groups = groups;
    this.unless = unless;
    this.http = groups.some((g) => g.some((a) => a.acl.http));
  }

  /** Evaluates the condition on one transaction. */
  test(t: Txn): boolean {
    const groups = this.groups;
    let result = false;
    for (let g = 0; g < groups.length; g++) {
      const atoms = groups[g]!;
      let all = true;
      for (let i = 0; i < atoms.length; i++) {
        const a = atoms[i]!;
        if (aclMatches(a.acl, t) === a.negated) {
          all = false;
          break;
        }
      }
      if (all) {
        result = true;
        break;
      }
    }
    return this.unless ? !result : result;
  }
}

/** Does one ACL (any of its lines) match? */
export function aclMatches(acl: CompiledAcl, t: Txn): boolean {
  const terms = acl.terms;
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i]!;
    const f = term.fetch;
    if (f.any !== undefined ? f.any(t, term.matcher) : term.matcher(f.get(t))) return true;
  }
  return false;
}

/** Evaluates an optional condition: no condition = true. */
export function condTrue(c: CompiledCondition | undefined, t: Txn): boolean {
  return c === undefined || c.test(t);
}

function where(loc: Loc | undefined): string {
  return loc === undefined ? '' : `${loc.file}:${loc.line}: `;
}

/** Compiles one ACL line. */
export function compileTerm(term: AclTerm): Result<CompiledTerm> {
  const f = compileFetch(term.fetch, term.fetchArgs);
  if (!f.ok) return { ok: false, error: `${where(term.loc)}${f.error}` };
  const fc = withConverters(f.value, term.converters ?? []);
  if (!fc.ok) return { ok: false, error: `${where(term.loc)}${fc.error}` };
  if ((term.method as string) === 'bin') return { ok: false, error: `${where(term.loc)}match method 'bin' is not implemented by the running lb yet` };
  const m = compileMatcher(term.method, term.patterns, { ignoreCase: term.ignoreCase === true });
  if (!m.ok) return { ok: false, error: `${where(term.loc)}${m.error}` };
  return { ok: true, value: { fetch: fc.value, matcher: m.value, loc: term.loc } };
}

const predefinedCache = new Map<string, CompiledAcl>();

/** The predefined ACL `name` (TRUE, LOCALHOST, METH_GET...), compiled once per process. */
export function predefinedAcl(name: string): Result<CompiledAcl> | undefined {
  const cached = predefinedCache.get(name);
  if (cached !== undefined) return { ok: true, value: cached };
  const def = PREDEFINED_ACLS.get(name);
  if (def === undefined) return undefined;
  const f = compileFetch(def.fetch, []);
  if (!f.ok) return f;
  const m = compileMatcher(def.method, def.patterns, { ignoreCase: false });
  if (!m.ok) return m;
  const acl: CompiledAcl = { name, terms: [{ fetch: f.value, matcher: m.value, loc: undefined }], http: def.http };
  predefinedCache.set(name, acl);
  return { ok: true, value: acl };
}

/**
 * The named ACLs of one proxy, compiled lazily (an ACL nobody uses is never compiled, so a
 * fetch not implemented yet only refuses startup when it is really used) and then shared by
 * every condition of the proxy.
 */
export class AclTable {
  readonly #defs = new Map<string, AclDef>();
  readonly #compiled = new Map<string, CompiledAcl>();

  constructor(defs: readonly AclDef[]) {
    for (const d of defs) {
      const prev = this.#defs.get(d.name);
      // The model already merges same-name lines; merge again defensively.
      this.#defs.set(d.name, prev === undefined ? d : { name: d.name, terms: [...prev.terms, ...d.terms] });
    }
  }

  /** The compiled ACL `name`: the proxy's own first, then a predefined one. */
  get(name: string): Result<CompiledAcl> {
    const hit = this.#compiled.get(name);
    if (hit !== undefined) return { ok: true, value: hit };
    const def = this.#defs.get(name);
    if (def === undefined) return predefinedAcl(name) ?? { ok: false, error: `no such ACL : '${name}'` };
    const terms: CompiledTerm[] = [];
    for (const t of def.terms) {
      const c = compileTerm(t);
      if (!c.ok) return c;
      terms.push(c.value);
    }
    const acl: CompiledAcl = { name, terms, http: terms.some((t) => t.fetch.http) };
    this.#compiled.set(name, acl);
    return { ok: true, value: acl };
  }

  /** Compiles a condition of a rule of this proxy. */
  compile(cond: Condition): Result<CompiledCondition> {
    const groups: Atom[][] = [];
    for (const g of cond.or) {
      const atoms: Atom[] = [];
      for (const term of g) {
        if ('anonymous' in term) {
          const c = compileTerm(term.anonymous);
          if (!c.ok) return c;
          atoms.push({ acl: { name: '<anonymous>', terms: [c.value], http: c.value.fetch.http }, negated: term.negated });
        } else {
          const a = this.get(term.acl);
          if (!a.ok) return a;
          atoms.push({ acl: a.value, negated: term.negated });
        }
      }
      groups.push(atoms);
    }
    return { ok: true, value: new CompiledCondition(groups, cond.polarity === 'unless') };
  }
}
