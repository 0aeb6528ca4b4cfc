// Action tables of `http-request`, `http-response` and `tcp-request connection|content` rules
// (configuration manual 4.2). Each action parses its own words and stops at `if`/`unless`; the
// caller parses the condition. Actions lb parses but does not enforce yet are marked pending.
import { LB_ERROR_CODES } from '../../errors.ts';
import { suggest, type KwContext } from '../keywords.ts';
import type { RuleParams } from '../model.ts';
import { regexError } from '../acl.ts';
import { alert, int, readableFile, time } from './common.ts';

export interface ActionDef {
  readonly name: string;
  readonly runtime: 'ready' | 'pending';
  /** `args` are the words after the action name, up to (excluding) `if`/`unless`. */
  parse(args: readonly string[], ctx: KwContext, params: RuleParams): boolean;
}

function noArgs(name: string, runtime: 'ready' | 'pending' = 'ready'): ActionDef {
  return {
    name,
    runtime,
    parse(args, ctx) {
      if (args.length > 0) {
        alert(ctx, `'${ctx.keyword} ${name}' : expects 'if', 'unless' or nothing, but found '${args[0] ?? ''}'.`);
        return false;
      }
      return true;
    },
  };
}

/** Header name + log-format value (set-header, add-header). */
function headerValue(name: string): ActionDef {
  return {
    name,
    runtime: 'ready',
    parse(args, ctx, p) {
      if (args.length !== 2) {
        alert(ctx, `'${ctx.keyword} ${name}' expects exactly 2 arguments.`);
        return false;
      }
      p.header = args[0] ?? '';
      p.fmt = args[1] ?? '';
      return checkFormat(ctx, p.fmt);
    },
  };
}

/** Minimal log-format check: `%[` must be closed. Fetch names are validated by the proxy issue. */
function checkFormat(ctx: KwContext, fmt: string): boolean {
  let i = fmt.indexOf('%[');
  while (i >= 0) {
    const close = fmt.indexOf(']', i);
    if (close < 0) {
      alert(ctx, `'${ctx.keyword}' : missing ']' in log-format expression '${fmt}'.`);
      return false;
    }
    i = fmt.indexOf('%[', close);
  }
  return true;
}

function oneFormat(name: string, field: 'fmt' | 'value'): ActionDef {
  return {
    name,
    runtime: 'ready',
    parse(args, ctx, p) {
      if (args.length !== 1) {
        alert(ctx, `'${ctx.keyword} ${name}' expects exactly 1 argument.`);
        return false;
      }
      p[field] = args[0] ?? '';
      return checkFormat(ctx, args[0] ?? '');
    },
  };
}

const HANDLED_STATUS = new Set([200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504]);
export { HANDLED_STATUS };

const denyDef = (name: string): ActionDef => ({
  name,
  runtime: 'ready',
  parse(args, ctx, p) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === 'deny_status' || a === 'status') {
        const v = int(ctx, args[i + 1], 200, 599, `${ctx.keyword} ${name} ${a}`);
        if (v === undefined) return false;
        p.status = v;
        i++;
      } else if (a === 'content-type' || a === 'string' || a === 'lf-string' || a === 'file' || a === 'lf-file' || a === 'errorfile' || a === 'errorfiles' || a === 'hdr') {
        if (!returnBody(args, i, ctx, p)) return false;
        i++;
        if (a === 'hdr') i++;
      } else {
        alert(ctx, `'${ctx.keyword} ${name}' : expects 'deny_status', 'status', 'content-type' or a body, but found '${a ?? ''}'.`);
        return false;
      }
    }
    return true;
  },
});

const BODY_KINDS = ['string', 'lf-string', 'file', 'lf-file', 'errorfile', 'errorfiles'] as const;

function returnBody(args: readonly string[], i: number, ctx: KwContext, p: RuleParams): boolean {
  const k = args[i] ?? '';
  const v = args[i + 1];
  if (v === undefined) {
    alert(ctx, `'${ctx.keyword}' : '${k}' expects an argument.`);
    return false;
  }
  if (k === 'content-type') p.contentType = v;
  else if (k === 'hdr') {
    if (args[i + 2] === undefined) {
      alert(ctx, `'${ctx.keyword}' : 'hdr' expects <name> and <value>.`);
      return false;
    }
  } else {
    if (p.body !== undefined) {
      alert(ctx, `'${ctx.keyword}' : '${k}' : a payload was already defined.`);
      return false;
    }
    if ((k === 'file' || k === 'lf-file') && !readableFile(ctx, v)) {
      alert(ctx, `'${ctx.keyword}' : '${k}' : cannot open file '${v}'.`);
      return false;
    }
    const kind = BODY_KINDS.find((b) => b === k);
    if (kind === undefined) {
      alert(ctx, `'${ctx.keyword}' : unknown payload type '${k}'.`);
      return false;
    }
    p.body = { kind, value: v };
  }
  return true;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

const redirectDef: ActionDef = {
  name: 'redirect',
  runtime: 'ready',
  parse(args, ctx, p) {
    const type = args[0];
    if (type !== 'location' && type !== 'prefix' && type !== 'scheme') {
      alert(ctx, `'${ctx.keyword} redirect' expects 'location', 'prefix' or 'scheme', but found '${type ?? ''}'.`);
      return false;
    }
    const value = args[1];
    if (value === undefined) {
      alert(ctx, `'${ctx.keyword} redirect' : missing argument after '${type}'.`);
      return false;
    }
    let code = 302;
    const options: string[] = [];
    for (let i = 2; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a === 'code') {
        const v = args[i + 1];
        const n = v === undefined ? NaN : Number(v);
        if (!REDIRECT_CODES.has(n)) {
          alert(ctx, `'${ctx.keyword} redirect': unsupported HTTP code '${v ?? ''}' (must be one of 301, 302, 303, 307 or 308).`);
          return false;
        }
        code = n;
        i++;
      } else if (a === 'drop-query' || a === 'append-slash') options.push(a);
      else if (a === 'set-cookie' || a === 'clear-cookie') {
        options.push(a, args[i + 1] ?? '');
        i++;
      } else {
        alert(ctx, `'${ctx.keyword} redirect' expects 'code', 'drop-query', 'append-slash', 'set-cookie' or 'clear-cookie', but found '${a}'.`);
        return false;
      }
    }
    p.redirect = { type, value, code, options };
    return checkFormat(ctx, value);
  },
};

const returnDef: ActionDef = {
  name: 'return',
  runtime: 'ready',
  parse(args, ctx, p) {
    p.status = 200;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? '';
      if (a === 'status') {
        const v = int(ctx, args[i + 1], 200, 599, `${ctx.keyword} return status`);
        if (v === undefined) return false;
        p.status = v;
        i++;
      } else if (['content-type', 'string', 'lf-string', 'file', 'lf-file', 'errorfile', 'errorfiles', 'hdr'].includes(a)) {
        if (!returnBody(args, i, ctx, p)) return false;
        i += a === 'hdr' ? 2 : 1;
      } else if (a === 'default-errorfiles') {
        // accepted: use the proxy's errorfiles
      } else {
        alert(ctx, `'${ctx.keyword} return' : unknown keyword '${a}'.`);
        return false;
      }
    }
    return true;
  },
};

function delHeader(): ActionDef {
  return {
    name: 'del-header',
    runtime: 'ready',
    parse(args, ctx, p) {
      if (args.length !== 1 && !(args.length === 3 && args[1] === '-m')) {
        alert(ctx, `'${ctx.keyword} del-header' expects exactly 1 argument.`);
        return false;
      }
      p.header = args[0] ?? '';
      return true;
    },
  };
}

function replaceHeader(name: string): ActionDef {
  return {
    name,
    runtime: 'ready',
    parse(args, ctx, p) {
      if (args.length !== 3) {
        alert(ctx, `'${ctx.keyword} ${name}' expects exactly 3 arguments.`);
        return false;
      }
      p.header = args[0] ?? '';
      p.regex = args[1] ?? '';
      p.replacement = args[2] ?? '';
      const e = regexError(p.regex);
      if (e !== undefined) {
        alert(ctx, `'${ctx.keyword} ${name}' : invalid regex '${p.regex}' (${e}).`);
        return false;
      }
      return true;
    },
  };
}

function trackSc(n: number): ActionDef {
  return {
    name: `track-sc${n}`,
    runtime: 'pending',
    parse(args, ctx, p) {
      if (args.length === 0) {
        alert(ctx, `'${ctx.keyword} track-sc${n}' expects a sample fetch expression.`);
        return false;
      }
      p.trackCounter = n;
      p.key = args[0] ?? '';
      if (args[1] === 'table') {
        if (args[2] === undefined) {
          alert(ctx, `'${ctx.keyword} track-sc${n}' : missing table name after 'table'.`);
          return false;
        }
        p.table = args[2];
        if (args.length > 3) {
          alert(ctx, `'${ctx.keyword} track-sc${n}' : unexpected argument '${args[3] ?? ''}'.`);
          return false;
        }
      } else if (args.length > 1) {
        alert(ctx, `'${ctx.keyword} track-sc${n}' : unexpected argument '${args[1] ?? ''}'.`);
        return false;
      }
      return true;
    },
  };
}

/**
 * `replace-uri` / `replace-path` <match-regex> <replace-format>: two arguments in HAProxy (unlike
 * replace-header, which names a header first). The regex is applied to the whole URI or path.
 */
function replaceTarget(name: 'replace-uri' | 'replace-path'): ActionDef {
  return {
    name,
    runtime: 'ready',
    parse(args, ctx, p) {
      if (args.length !== 2) {
        alert(ctx, `'${ctx.keyword} ${name}' expects exactly 2 arguments <match-regex> and <replace-format>.`);
        return false;
      }
      p.regex = args[0] ?? '';
      p.replacement = args[1] ?? '';
      const e = regexError(p.regex);
      if (e !== undefined) {
        alert(ctx, `'${ctx.keyword} ${name}' : invalid regex '${p.regex}' (${e}).`);
        return false;
      }
      return checkFormat(ctx, p.replacement);
    },
  };
}

/** Services lb itself provides to `http-request use-service` (HAProxy's built-in applets). */
export const USE_SERVICES: readonly string[] = ['prometheus-exporter'];

/** `use-service <name>`: only HAProxy's `prometheus-exporter` is provided; the name is kept in `name`. */
const useServiceDef: ActionDef = {
  name: 'use-service',
  runtime: 'ready',
  parse(args, ctx, p) {
    const svc = args[0];
    if (svc === undefined) {
      alert(ctx, `'${ctx.keyword} use-service' expects a service name.`);
      return false;
    }
    if (!USE_SERVICES.includes(svc)) {
      const lua = svc.startsWith('lua.') ? ' (Lua services are not supported by lb)' : '';
      alert(ctx, `'${ctx.keyword} use-service' : '${svc}' unknown service name${lua}; lb provides ${USE_SERVICES.map((n) => `'${n}'`).join(', ')}.`);
      return false;
    }
    if (args.length > 1) {
      alert(ctx, `'${ctx.keyword} use-service ${svc}' : unexpected argument '${args[1] ?? ''}'.`);
      return false;
    }
    p.name = svc;
    return true;
  },
};

const setStatus: ActionDef = {
  name: 'set-status',
  runtime: 'ready',
  parse(args, ctx, p) {
    const v = int(ctx, args[0], 100, 999, `${ctx.keyword} set-status`);
    if (v === undefined) return false;
    p.status = v;
    if (args[1] === 'reason') {
      if (args[2] === undefined) {
        alert(ctx, `'${ctx.keyword} set-status' : missing reason.`);
        return false;
      }
      p.reason = args[2];
    } else if (args.length > 1) {
      alert(ctx, `'${ctx.keyword} set-status' : unexpected argument '${args[1] ?? ''}'.`);
      return false;
    }
    return true;
  },
};

const authDef: ActionDef = {
  name: 'auth',
  runtime: 'ready',
  parse(args, ctx, p) {
    if (args[0] === 'realm' && args[1] !== undefined) {
      p.value = args[1];
      return true;
    }
    if (args.length === 0) return true;
    alert(ctx, `'${ctx.keyword} auth' expects 'realm' <name> or nothing.`);
    return false;
  },
};

const tarpitTimeout: ActionDef = {
  name: 'set-timeout',
  runtime: 'ready',
  parse(args, ctx, p) {
    if (args[0] !== 'server' && args[0] !== 'tunnel' && args[0] !== 'client') {
      alert(ctx, `'${ctx.keyword} set-timeout' expects 'server', 'tunnel' or 'client'.`);
      return false;
    }
    p.name = args[0];
    const t = time(ctx, args[1], `${ctx.keyword} set-timeout`);
    if (t === undefined) return false;
    p.timeout = t;
    return true;
  },
};

function table(defs: readonly ActionDef[]): ReadonlyMap<string, ActionDef> {
  return new Map(defs.map((d) => [d.name, d]));
}

export const HTTP_REQUEST_ACTIONS = table([
  noArgs('allow'),
  denyDef('deny'),
  denyDef('tarpit'),
  redirectDef,
  returnDef,
  headerValue('set-header'),
  headerValue('add-header'),
  delHeader(),
  replaceHeader('replace-header'),
  replaceHeader('replace-value'),
  replaceTarget('replace-uri'),
  replaceTarget('replace-path'),
  oneFormat('set-path', 'fmt'),
  oneFormat('set-pathq', 'fmt'),
  oneFormat('set-uri', 'fmt'),
  oneFormat('set-query', 'fmt'),
  oneFormat('set-method', 'fmt'),
  authDef,
  tarpitTimeout,
  trackSc(0),
  trackSc(1),
  trackSc(2),
  useServiceDef,
]);

export const HTTP_RESPONSE_ACTIONS = table([
  noArgs('allow'),
  denyDef('deny'),
  redirectDef,
  returnDef,
  headerValue('set-header'),
  headerValue('add-header'),
  delHeader(),
  replaceHeader('replace-header'),
  replaceHeader('replace-value'),
  setStatus,
  trackSc(0),
  trackSc(1),
  trackSc(2),
]);

export const TCP_CONNECTION_ACTIONS = table([noArgs('accept'), noArgs('reject'), trackSc(0), trackSc(1), trackSc(2)]);
export const TCP_CONTENT_ACTIONS = table([noArgs('accept'), noArgs('reject'), trackSc(0), trackSc(1), trackSc(2)]);

/** HAProxy actions lb knows but does not parse (so the message says so, not "unknown"). */
export const UNSUPPORTED_ACTIONS = new Set([
  'set-var', 'unset-var', 'set-log-level', 'set-tos', 'set-mark', 'set-nice', 'set-src', 'set-src-port', 'set-dst', 'set-dst-port', 'capture',
  'add-acl', 'del-acl', 'set-map', 'del-map', 'sc-inc-gpc0', 'sc-inc-gpc1', 'sc-set-gpt0', 'lua', 'cache-use', 'cache-store',
  'normalize-uri', 'early-hint', 'disable-l7-retry', 'do-resolve', 'wait-for-body', 'wait-for-handshake', 'send-spoe-group', 'silent-drop',
  'strict-mode', 'set-bandwidth-limit', 'reject', 'expect-proxy', 'expect-netscaler-cip', 'switch-mode', 'set-priority-class', 'set-priority-offset',
]);

/** Reports an unknown or unsupported action. */
export function reportUnknownAction(ctx: KwContext, action: string, known: ReadonlyMap<string, ActionDef>): void {
  if (UNSUPPORTED_ACTIONS.has(action.replace(/\(.*$/, ''))) {
    ctx.diags.alert(ctx.where, `'${ctx.keyword} ${action}' is an HAProxy action that is not supported by lb.`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
    return;
  }
  const s = suggest(action, known.keys());
  const dym = s === undefined ? '' : `; did you mean '${s}' maybe ?`;
  ctx.diags.alert(
    ctx.where,
    `'${ctx.keyword}' expects ${[...known.keys()].map((k) => `'${k}'`).join(', ')}, but got '${action}'${dym}`,
    LB_ERROR_CODES.ERR_LB_CONFIG_UNKNOWN_KEYWORD,
  );
}
