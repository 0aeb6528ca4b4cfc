// The rule action table (DESIGN.md principle 1): `http-request`, `http-response` and `tcp-request`
// actions as the running proxy executes them. The config parser (lb/config/sections/rules.ts)
// already checked the words and stored them in RuleParams; each entry here turns one parsed rule
// into a compiled action, once, and the action runs per request on the transaction view.
//
// An action returns what the rule engine should do next:
//   NEXT     go on with the next rule
//   STOP     stop this rule set, go on with the request (allow, tcp accept)
//   DONE     the request was answered or refused (deny, redirect, return, tcp reject):
//            stop every rule set, the data path sends the answer the action gave it.
// HAProxy's semantics reproduced here (manual 4.2, checked against Debian's haproxy 2.6):
// - `deny` answers 403 unless `deny_status N`; with a content-type/string it answers that body;
// - `redirect`: default code 302; 302/303/307 carry `cache-control: no-cache`, 301/308 do not;
//   `scheme S` → S://HOST/path[?query] (HOST from the Host header, empty when absent);
//   `prefix P` → P/path[?query] (P "/" means the path alone); `drop-query` removes the query;
//   `append-slash` adds '/' when the location does not end with one; `location L` is L as is;
// - `return status N [content-type T] [string S|lf-string S|file F|lf-file F|errorfile F]`:
//   content-length then content-type, no cache-control.
import { readFileSync } from 'node:fs';
import type { Rule } from '../config/model.ts';
import type { Result } from '../config/values.ts';
import type { Txn } from '../acl/sample.ts';
import { errorPage, loadErrorFile, localResponse, type ErrorPage, type ErrorPages } from '../proxy/http-errors.ts';
import { REASONS } from '../proxy/http1/index.ts';
import { compileValue, type ValueFormat } from './values.ts';

export const Next = {
  NEXT: 0,
  STOP: 1,
  DONE: 2,
} as const;
export type NextStep = (typeof Next)[keyof typeof Next];

/** What an action may do besides reading the transaction (the data path implements it). */
export interface ActionSink {
  /** Answer with the error page of `status` (deny). */
  deny(status: number): void;
  /** Answer with a prepared response (redirect, return, deny with a body). */
  respond(page: ErrorPage): void;
}

export interface CompiledAction {
  readonly name: string;
  run(t: Txn, sink: ActionSink): NextStep;
}

export type RuleKind = 'http-request' | 'http-response' | 'tcp-request connection' | 'tcp-request content';

/** `http-request use-service NAME`: a response produced by lb itself, by service name. */
export type ServiceTable = ReadonlyMap<string, (t: Txn) => ErrorPage>;

export interface ActionContext {
  readonly kind: RuleKind;
  /** errorfile pages of the proxy holding the rule. */
  readonly errorPages: ErrorPages | undefined;
  /** Services `use-service` may name (HAProxy's built-in `prometheus-exporter`...). */
  readonly services?: ServiceTable | undefined;
}

type ActionCompiler = (rule: Rule, ctx: ActionContext) => Result<CompiledAction>;

function ok(a: CompiledAction): Result<CompiledAction> {
  return { ok: true, value: a };
}
function fail(rule: Rule, msg: string): Result<CompiledAction> {
  return { ok: false, error: `${rule.loc.file}:${rule.loc.line}: ${msg}` };
}

function compileFmt(rule: Rule, text: string | undefined): Result<ValueFormat> {
  const v = compileValue(text ?? '');
  return v.ok ? v : { ok: false, error: `${rule.loc.file}:${rule.loc.line}: ${v.error}` };
}

const reasonOf = (status: number): string => REASONS[status] ?? 'Unknown';

/** The head the rule edits: the request for http-request, the response for http-response. */
function head(t: Txn, ctx: ActionContext): Txn['req'] | Txn['res'] {
  return ctx.kind === 'http-response' ? t.res : t.req;
}

// ------------------------------------------------------------------------------ terminal actions

const allow: ActionCompiler = () => ok({ name: 'allow', run: () => Next.STOP });

/** Builds the body of a `return` / `deny ... string` response; constant unless lf-*. */
function bodyOf(rule: Rule): Result<{ constant?: ErrorPage; make?: (t: Txn) => ErrorPage }> {
  const p = rule.params;
  const status = p.status ?? 200;
  const b = p.body;
  const ctype = p.contentType;
  const headers = (): [string, string][] => (ctype === undefined ? [] : [['content-type', ctype]]);
  if (b === undefined) return { ok: true, value: { constant: localResponse(status, reasonOf(status), headers()) } };
  switch (b.kind) {
    case 'string':
      return { ok: true, value: { constant: localResponse(status, reasonOf(status), headers(), b.value) } };
    case 'file':
    case 'lf-file': {
      let text: Buffer;
      try {
        text = readFileSync(b.value);
      } catch (e) {
        return { ok: false, error: `${rule.loc.file}:${rule.loc.line}: cannot read '${b.value}': ${e instanceof Error ? e.message : String(e)}` };
      }
      if (b.kind === 'file') return { ok: true, value: { constant: localResponse(status, reasonOf(status), headers(), text) } };
      const v = compileFmt(rule, text.toString('latin1'));
      if (!v.ok) return v;
      return { ok: true, value: { make: (t) => localResponse(status, reasonOf(status), headers(), v.value.render(t)) } };
    }
    case 'lf-string': {
      const v = compileFmt(rule, b.value);
      if (!v.ok) return v;
      return { ok: true, value: { make: (t) => localResponse(status, reasonOf(status), headers(), v.value.render(t)) } };
    }
    case 'errorfile':
      try {
        return { ok: true, value: { constant: loadErrorFile(status, b.value) } };
      } catch (e) {
        return { ok: false, error: `${rule.loc.file}:${rule.loc.line}: ${e instanceof Error ? e.message : String(e)}` };
      }
    default:
      return { ok: false, error: `${rule.loc.file}:${rule.loc.line}: '${b.kind}' payloads (http-errors sections) are not implemented by the running lb yet` };
  }
}

const deny: ActionCompiler = (rule, ctx) => {
  const p = rule.params;
  const status = p.status ?? 403;
  if (p.body !== undefined || p.contentType !== undefined) {
    const b = bodyOf({ ...rule, params: { ...p, status } });
    if (!b.ok) return b;
    const { constant, make } = b.value;
    return ok({
      name: 'deny',
      run(t, sink) {
        sink.respond(constant ?? make!(t));
        return Next.DONE;
      },
    });
  }
  const own = ctx.errorPages;
  if (own?.has(status) === true) {
    const page = errorPage(status, own);
    return ok({
      name: 'deny',
      run(_t, sink) {
        sink.respond(page);
        return Next.DONE;
      },
    });
  }
  return ok({
    name: 'deny',
    run(_t, sink) {
      sink.deny(status);
      return Next.DONE;
    },
  });
};

const returnAction: ActionCompiler = (rule) => {
  const b = bodyOf(rule);
  if (!b.ok) return b;
  const { constant, make } = b.value;
  return ok({
    name: 'return',
    run(t, sink) {
      sink.respond(constant ?? make!(t));
      return Next.DONE;
    },
  });
};

/** Computes the Location of a redirect rule for one request (see the file comment). */
export function redirectLocation(type: 'location' | 'prefix' | 'scheme', value: string, options: readonly string[], t: Txn): string {
  if (type === 'location') return value;
  const req = t.req;
  let path = '';
  if (req !== null) {
    const target = req.target;
    path = req.path;
    if (!options.includes('drop-query')) {
      const q = target.indexOf('?');
      if (q >= 0) path += target.slice(q);
    }
  }
  let loc: string;
  if (type === 'scheme') loc = `${value}://${req?.get('host') ?? ''}${path}`;
  else loc = value === '/' ? path : value + path;
  if (options.includes('append-slash') && !loc.endsWith('/')) loc += '/';
  return loc;
}

const redirect: ActionCompiler = (rule) => {
  const r = rule.params.redirect;
  if (r === undefined) return fail(rule, 'redirect without a target');
  for (const o of r.options) {
    if (o === 'set-cookie' || o === 'clear-cookie') return fail(rule, `'redirect ... ${o}' is not implemented by the running lb yet`);
  }
  const v = compileFmt(rule, r.value);
  if (!v.ok) return v;
  const code = r.code;
  const reason = reasonOf(code);
  const noCache = code === 302 || code === 303 || code === 307;
  const { type, options } = r;
  const fmt = v.value;
  return ok({
    name: 'redirect',
    run(t, sink) {
      const loc = redirectLocation(type, fmt.render(t), options, t);
      sink.respond(localResponse(code, reason, noCache ? [['location', loc], ['cache-control', 'no-cache']] : [['location', loc]]));
      return Next.DONE;
    },
  });
};

// ------------------------------------------------------------------------------ header actions

function headerAction(name: 'set-header' | 'add-header'): ActionCompiler {
  return (rule, ctx) => {
    const hname = rule.params.header ?? '';
    const v = compileFmt(rule, rule.params.fmt);
    if (!v.ok) return v;
    const fmt = v.value;
    return ok({
      name,
      run(t) {
        const h = head(t, ctx);
        if (h === null) return Next.NEXT;
        // The value is computed before the old header is removed: `set-header X %[hdr(X)],...` sees it.
        const val = fmt.render(t);
        if (name === 'set-header') h.set(hname, val);
        else h.add(hname, val);
        return Next.NEXT;
      },
    });
  };
}

const delHeader: ActionCompiler = (rule, ctx) => {
  const hname = rule.params.header ?? '';
  return ok({
    name: 'del-header',
    run(t) {
      head(t, ctx)?.del(hname);
      return Next.NEXT;
    },
  });
};

/** Turns HAProxy's `\1` back-references into JavaScript's `$1` (and `$` into `$$`). */
function jsReplacement(s: string): string {
  return s.replace(/\$/g, '$$$$').replace(/\\([0-9])/g, '$$$1');
}

function replaceAction(name: 'replace-header' | 'replace-value'): ActionCompiler {
  return (rule, ctx) => {
    const hname = (rule.params.header ?? '').toLowerCase();
    let re: RegExp;
    try {
      // Anchored like HAProxy's regex_exec_match2 on the whole value (or each value).
      re = new RegExp(`^(?:${rule.params.regex ?? ''})$`);
    } catch (e) {
      return fail(rule, `invalid regex: ${e instanceof Error ? e.message : String(e)}`);
    }
    const v = compileFmt(rule, rule.params.replacement);
    if (!v.ok) return v;
    const fmt = v.value;
    return ok({
      name,
      run(t) {
        const h = head(t, ctx);
        if (h === null) return Next.NEXT;
        const repl = jsReplacement(fmt.render(t));
        for (let i = h.indexOf(hname); i >= 0; i = h.indexOf(hname, i + 1)) {
          const old = h.valueAt(i);
          let nv: string;
          if (name === 'replace-header') {
            if (!re.test(old)) continue;
            nv = old.replace(re, repl);
          } else {
            // Each comma-separated value on its own.
            let changed = false;
            const parts = old.split(',').map((part) => {
              const lead = /^\s*/.exec(part)![0];
              const core = part.trim();
              if (!re.test(core)) return part;
              changed = true;
              return lead + core.replace(re, repl);
            });
            if (!changed) continue;
            nv = parts.join(',');
          }
          h.setValueAt(i, nv);
        }
        return Next.NEXT;
      },
    });
  };
}

// ------------------------------------------------------------------------------- request line

function targetAction(name: 'set-path' | 'set-pathq' | 'set-uri' | 'set-query' | 'set-method'): ActionCompiler {
  return (rule) => {
    const v = compileFmt(rule, rule.params.fmt);
    if (!v.ok) return v;
    const fmt = v.value;
    return ok({
      name,
      run(t) {
        const r = t.req;
        if (r === null) return Next.NEXT;
        const val = fmt.render(t);
        switch (name) {
          case 'set-method':
            r.setMethod(val);
            break;
          case 'set-uri':
            r.setTarget(val);
            break;
          case 'set-path':
            r.setPath(val);
            break;
          case 'set-pathq':
            r.setTarget(val);
            break;
          case 'set-query': {
            const p = r.path;
            r.setTarget(val === '' ? p : `${p}?${val}`);
            break;
          }
        }
        return Next.NEXT;
      },
    });
  };
}

/**
 * HAProxy's exp_replace(): builds a new string from `repl` where `\N` is match N of `m` (empty
 * when the group did not match), `\\` a backslash and `\xHH` a byte; any other `\c` is `c`.
 */
export function expandMatches(repl: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c !== '\\' || i + 1 >= repl.length) {
      out += c;
      continue;
    }
    const d = repl[++i] ?? '';
    if (d >= '0' && d <= '9') out += m[Number(d)] ?? '';
    else if (d === 'x' && /^[0-9a-fA-F]{2}$/.test(repl.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(repl.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += d;
  }
  return out;
}

/**
 * `replace-uri` / `replace-path REGEX FMT`: as HAProxy's http_action_replace_uri(), the regex is
 * searched (not anchored) in the whole URI or path, and on a match the WHOLE subject becomes the
 * expanded format: `replace-path /a/(.*) /\1` turns "/x/a/b" into "/b", not "/x/b". The query
 * string is kept by replace-path.
 */
function replaceTarget(name: 'replace-uri' | 'replace-path'): ActionCompiler {
  return (rule) => {
    let re: RegExp;
    try {
      re = new RegExp(rule.params.regex ?? '');
    } catch (e) {
      return fail(rule, `invalid regex: ${e instanceof Error ? e.message : String(e)}`);
    }
    const v = compileFmt(rule, rule.params.replacement);
    if (!v.ok) return v;
    const fmt = v.value;
    return ok({
      name,
      run(t) {
        const r = t.req;
        if (r === null) return Next.NEXT;
        const subject = name === 'replace-uri' ? r.target : r.path;
        const m = re.exec(subject);
        if (m === null) return Next.NEXT;
        const out = expandMatches(fmt.render(t), m);
        if (name === 'replace-uri') r.setTarget(out);
        else r.setPath(out);
        return Next.NEXT;
      },
    });
  };
}

const setStatus: ActionCompiler = (rule) => {
  const status = rule.params.status ?? 200;
  const reason = rule.params.reason;
  return ok({
    name: 'set-status',
    run(t) {
      t.res?.setStatus(status, reason);
      return Next.NEXT;
    },
  });
};

// ------------------------------------------------------------------------------------ tcp rules

/**
 * `http-request use-service prometheus-exporter [if COND]`: the request is answered by a service of
 * lb itself (HAProxy's applets); the service name is the rule's `name` parameter. An unknown
 * service is refused at startup, as haproxy refuses it at parse time.
 */
const useService: ActionCompiler = (rule, ctx) => {
  const name = rule.params.name ?? '';
  const svc = ctx.services?.get(name);
  if (svc === undefined) {
    const known = [...(ctx.services?.keys() ?? [])].join(', ');
    return fail(rule, `'http-request use-service' : unknown service '${name}'${known === '' ? '' : ` (known: ${known})`}`);
  }
  return ok({
    name: 'use-service',
    run(t, sink) {
      sink.respond(svc(t));
      return Next.DONE;
    },
  });
};

const accept: ActionCompiler = () => ok({ name: 'accept', run: () => Next.STOP });
const reject: ActionCompiler = () => ok({ name: 'reject', run: () => Next.DONE });

function notYet(why: string): ActionCompiler {
  return (rule, ctx) => fail(rule, `'${ctx.kind} ${rule.action}' is not implemented by the running lb yet (${why})`);
}

/** The tables, one per rule kind. An action missing here is refused at startup with its line. */
export const ACTIONS: Readonly<Record<RuleKind, ReadonlyMap<string, ActionCompiler>>> = {
  'http-request': new Map<string, ActionCompiler>([
    ['allow', allow],
    ['deny', deny],
    ['redirect', redirect],
    ['return', returnAction],
    ['set-header', headerAction('set-header')],
    ['add-header', headerAction('add-header')],
    ['del-header', delHeader],
    ['replace-header', replaceAction('replace-header')],
    ['replace-value', replaceAction('replace-value')],
    ['set-path', targetAction('set-path')],
    ['set-pathq', targetAction('set-pathq')],
    ['set-uri', targetAction('set-uri')],
    ['set-query', targetAction('set-query')],
    ['set-method', targetAction('set-method')],
    ['replace-uri', replaceTarget('replace-uri')],
    ['replace-path', replaceTarget('replace-path')],
    ['use-service', useService],
    ['tarpit', notYet('tarpit delays are a later issue')],
    ['auth', notYet('userlists are a later issue')],
    ['set-timeout', notYet('per-request timeouts are a later issue')],
  ]),
  'http-response': new Map<string, ActionCompiler>([
    ['allow', allow],
    ['deny', deny],
    ['set-header', headerAction('set-header')],
    ['add-header', headerAction('add-header')],
    ['del-header', delHeader],
    ['replace-header', replaceAction('replace-header')],
    ['replace-value', replaceAction('replace-value')],
    ['set-status', setStatus],
    ['redirect', notYet('response redirects are a later issue')],
    ['return', notYet('response returns are a later issue')],
  ]),
  'tcp-request connection': new Map<string, ActionCompiler>([
    ['accept', accept],
    ['reject', reject],
  ]),
  'tcp-request content': new Map<string, ActionCompiler>([
    ['accept', accept],
    ['reject', reject],
  ]),
};

/** Compiles one rule's action (not its condition). */
export function compileAction(rule: Rule, ctx: ActionContext): Result<CompiledAction> {
  const c = ACTIONS[ctx.kind].get(rule.action);
  if (c === undefined) {
    const why = rule.action.startsWith('track-sc') ? 'stick tables are a later issue' : 'no runtime implementation';
    return fail(rule, `'${ctx.kind} ${rule.action}' is not implemented by the running lb yet (${why})`);
  }
  return c(rule, ctx);
}
