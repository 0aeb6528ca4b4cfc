// Rule sets and backend routing as the data path runs them.
//
// - RuleSet: the rules of one kind of one proxy, in configuration order, each a compiled condition
//   plus a compiled action (lb/rules/actions.ts). The first action that answers (deny, redirect,
//   return, tcp reject) ends every rule set; `allow` / tcp `accept` ends this set only, as HAProxy.
// - Router: `use_backend` rules then `default_backend`; dynamic names (`use_backend %[...]`) are
//   rendered per request and a name that matches no backend makes the rule not match (HAProxy
//   then goes on to the next rule and finally to default_backend).
// - HttpRuleHooks: lb/proxy/http-hooks.ts's HttpHooks over those, for one frontend or backend.
//
// Everything is compiled once when the proxy is built; per request the engine fills one shared
// transaction view (module scratch, the data path is single-threaded and hooks are synchronous)
// and walks arrays: no allocation besides what an action itself produces (a header value...).
import type { Condition, Loc, Rule } from '../config/model.ts';
import type { Result } from '../config/values.ts';
import { condTrue, type AclTable, type CompiledCondition } from '../acl/eval.ts';
import { Txn } from '../acl/sample.ts';
import type { HttpHooks, HttpTxn } from '../proxy/http-hooks.ts';
import type { Backend, ConnInfo } from '../proxy/types.ts';
import { compileAction, Next, type ActionContext, type ActionSink, type CompiledAction, type NextStep, type RuleKind, type ServiceTable } from './actions.ts';
import { compileValue, type ValueFormat } from './values.ts';

export { Next, type NextStep, type ServiceTable } from './actions.ts';

interface CompiledRule {
  readonly cond: CompiledCondition | undefined;
  readonly action: CompiledAction;
  readonly loc: Loc;
}

function at(loc: Loc, msg: string): string {
  return msg.startsWith(`${loc.file}:`) ? msg : `${loc.file}:${loc.line}: ${msg}`;
}

/** Compiles an optional condition; `l4only` refuses conditions that need an HTTP request. */
export function compileCond(cond: Condition | undefined, acls: AclTable, loc: Loc, l4only: string | undefined): Result<CompiledCondition | undefined> {
  if (cond === undefined) return { ok: true, value: undefined };
  const c = acls.compile(cond);
  if (!c.ok) return { ok: false, error: at(loc, c.error) };
  if (l4only !== undefined && c.value.http) return { ok: false, error: at(loc, `${l4only}: this condition needs an HTTP request, which is not available here`) };
  return c;
}

export class RuleSet {
  readonly rules: readonly CompiledRule[];

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
  }

  get size(): number {
    return this.rules.length;
  }

  /**
   * Runs the rules in order. Returns DONE when one answered (the sink holds the answer), STOP when
   * one accepted/allowed, NEXT when all were evaluated without a decision.
   */
  run(t: Txn, sink: ActionSink): NextStep {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (!condTrue(r.cond, t)) continue;
      const n = r.action.run(t, sink);
      if (n !== Next.NEXT) return n;
    }
    return Next.NEXT;
  }
}

/** Compiles the rules of one kind; errors carry file:line. */
export function compileRuleSet(rules: readonly Rule[], acls: AclTable, ctx: ActionContext): Result<RuleSet> {
  const out: CompiledRule[] = [];
  const l4only = ctx.kind.startsWith('tcp-request') ? `'${ctx.kind}'` : undefined;
  for (const rule of rules) {
    const c = compileCond(rule.cond, acls, rule.loc, l4only);
    if (!c.ok) return c;
    const a = compileAction(rule, ctx);
    if (!a.ok) return { ok: false, error: at(rule.loc, a.error) };
    out.push({ cond: c.value, action: a.value, loc: rule.loc });
  }
  return { ok: true, value: new RuleSet(out) };
}

// ------------------------------------------------------------------------------------- routing

interface Route {
  readonly cond: CompiledCondition | undefined;
  /** A fixed backend, or a name format rendered per request. */
  readonly backend: Backend | undefined;
  readonly dynamic: ValueFormat | undefined;
}

export interface RouteSpec {
  readonly backend: string;
  readonly dynamic: boolean;
  readonly cond?: Condition;
  readonly loc: Loc;
}

export class Router {
  readonly #routes: readonly Route[];
  readonly #byName: ReadonlyMap<string, Backend>;
  readonly defaultBackend: Backend | undefined;

  constructor(routes: readonly Route[], byName: ReadonlyMap<string, Backend>, def: Backend | undefined) {
    this.#routes = routes;
    this.#byName = byName;
    this.defaultBackend = def;
  }

  /** The backend for this transaction, or undefined (no use_backend matched, no default). */
  select(t: Txn): Backend | undefined {
    const routes = this.#routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (!condTrue(r.cond, t)) continue;
      if (r.backend !== undefined) return r.backend;
      const be = this.#byName.get(r.dynamic!.render(t));
      if (be !== undefined) return be;
    }
    return this.defaultBackend;
  }
}

/** Compiles use_backend rules against the built backends. `l4only` for tcp frontends. */
export function compileRouter(
  specs: readonly RouteSpec[],
  def: string | undefined,
  acls: AclTable,
  backends: ReadonlyMap<string, Backend>,
  l4only: boolean,
): Result<Router> {
  const routes: Route[] = [];
  for (const s of specs) {
    const c = compileCond(s.cond, acls, s.loc, l4only ? "'use_backend' in a tcp frontend" : undefined);
    if (!c.ok) return c;
    if (s.dynamic) {
      const v = compileValue(s.backend);
      if (!v.ok) return { ok: false, error: at(s.loc, v.error) };
      routes.push({ cond: c.value, backend: undefined, dynamic: v.value });
      continue;
    }
    const be = backends.get(s.backend);
    if (be === undefined) return { ok: false, error: at(s.loc, `unable to find required use_backend: '${s.backend}'`) };
    routes.push({ cond: c.value, backend: be, dynamic: undefined });
  }
  let d: Backend | undefined;
  if (def !== undefined) {
    d = backends.get(def);
    if (d === undefined) return { ok: false, error: `unable to find required default_backend: '${def}'` };
  }
  return { ok: true, value: new Router(routes, backends, d) };
}

// ------------------------------------------------------------------------ transaction views

const scratch = new Txn();

/** Fills the shared view from an L4 connection (tcp frontends, tcp-request rules). */
export function txnFromConn(c: ConnInfo, tls = false, sni?: string): Txn {
  const t = scratch.reset(c.src, c.srcPort, c.dst, c.dstPort);
  t.hello = c.hello;
  if (c.hello !== undefined) t.reqLen = c.hello.length;
  t.tls = tls;
  t.sni = sni;
  return t;
}

/** Fills the shared view from an HTTP transaction. */
export function txnFromHttp(h: HttpTxn): Txn {
  const t = scratch.reset(h.src, h.srcPort, h.dst, h.dstPort);
  t.hello = h.hello;
  t.tls = h.sslFc;
  t.sni = h.sni;
  t.req = h.req;
  t.res = h.res ?? null;
  return t;
}

/**
 * HttpHooks of one proxy: its http-request rules, then `intercept` (the stats page, which HAProxy
 * serves after the http-request rules: true = it answered), then (frontends) routing, and its
 * http-response rules. Returns undefined when there is nothing to run: the data path then skips
 * the call. Hooks left out of the object are not called either.
 */
export function httpRuleHooks(
  request: RuleSet | undefined,
  response: RuleSet | undefined,
  router: Router | undefined,
  intercept?: (txn: HttpTxn) => boolean,
): HttpHooks | undefined {
  const rq = request !== undefined && request.size > 0 ? request : undefined;
  const rs = response !== undefined && response.size > 0 ? response : undefined;
  const hooks: { onRequest?: (txn: HttpTxn) => void; onResponse?: (txn: HttpTxn) => void } = {};
  if (rq !== undefined || router !== undefined || intercept !== undefined) {
    hooks.onRequest = (txn) => {
      const t = txnFromHttp(txn);
      if (rq !== undefined && rq.run(t, txn) === Next.DONE) return;
      if (intercept !== undefined && intercept(txn)) return;
      if (router !== undefined) {
        const be = router.select(t);
        if (be !== undefined) txn.useBackend(be);
      }
    };
  }
  if (rs !== undefined) {
    hooks.onResponse = (txn) => {
      rs.run(txnFromHttp(txn), txn);
    };
  }
  return hooks.onRequest === undefined && hooks.onResponse === undefined ? undefined : hooks;
}

/** Convenience for the builder: one kind's context. */
export function actionContext(kind: RuleKind, errorPages: ActionContext['errorPages'], services?: ServiceTable): ActionContext {
  return { kind, errorPages, services };
}
