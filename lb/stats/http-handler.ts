// The stats page as a pure function: request + `stats ...` settings + snapshot → a response, or an
// admin request for the caller to apply. Behaviour checked against haproxy 2.6:
// - URIs beginning with `stats uri` are served; options anywhere after it: ";csv", ";json",
//   ";norefresh", ";up", ";no-maint", "scope=NAME" (after ? or ;), ";st=CODE" (admin result banner).
// - With `stats auth` users, a request without valid Basic credentials gets 401 with
//   `WWW-Authenticate: Basic realm="<stats realm>"` (default "HAProxy Statistics").
// - A POST is the admin form. Without `stats admin` allowing it, haproxy answers 303 to
//   "<uri>;st=DENY" (not 403) and so do we; with admin, the parsed action is returned to the
//   caller, which applies it and answers with adminRedirect(uri, result).
// - Every answer carries "cache-control: no-cache"; a `refresh: N` header unless ";norefresh".
import { renderCsv } from './csv.ts';
import { renderHtml, type HtmlOptions } from './html.ts';
import type { StatsSource } from './source.ts';
import { renderJson } from './typed.ts';

export interface StatsUser {
  user: string;
  password: string;
}

export interface StatsHttpConfig {
  /** `stats uri` (HAProxy's default is "/haproxy?stats"). */
  uri: string;
  /** `stats realm`; default "HAProxy Statistics". */
  realm?: string;
  /** `stats auth` entries; empty = no authentication. */
  users: readonly StatsUser[];
  /** `stats refresh` in seconds; 0 = none. */
  refresh: number;
  hideVersion: boolean;
  showLegends: boolean;
  productName?: string;
}

export interface StatsHttpRequest {
  method: string;
  /** Request target as received (path and query). */
  uri: string;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Result of `stats admin if COND` for this request (false when there is no `stats admin`). */
  srcIsAdminAllowed: boolean;
  /** Request body (the admin form, application/x-www-form-urlencoded). */
  body?: string;
}

export interface StatsHttpResponse {
  kind: 'response';
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const ADMIN_ACTIONS = [
  'ready', 'drain', 'maint', 'dhlth', 'ehlth', 'hrunn', 'hnolb', 'hdown', 'dagent', 'eagent',
  'arunn', 'adown', 'shutdown',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** What the admin form asks for; the caller applies it to the runtime. */
export interface StatsAdminRequest {
  kind: 'admin';
  action: AdminAction;
  /** The form's `b`: "#<proxy id>" as haproxy's page sends it, or a backend name. */
  backend: { id: number } | { name: string };
  servers: string[];
}

/** Request is not for the stats URI: let the proxy handle it. */
export interface StatsPass {
  kind: 'pass';
}

export type StatsHttpResult = StatsHttpResponse | StatsAdminRequest | StatsPass;

/** Result codes of an admin action, shown as a banner after the redirect (";st=CODE"). */
export type AdminResult = 'DONE' | 'PART' | 'NONE' | 'ERRP' | 'EXCD' | 'DENY';

export const DEFAULT_REALM = 'HAProxy Statistics';

const UNAUTHORIZED_BODY =
  '<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n';

function authorized(header: string | undefined, users: readonly StatsUser[]): boolean {
  if (users.length === 0) return true;
  if (header === undefined) return false;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m?.[1] === undefined) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  return users.some((u) => u.user === user && u.password === pass);
}

interface UriOptions {
  csv: boolean;
  json: boolean;
  norefresh: boolean;
  up: boolean;
  noMaint: boolean;
  scope: string;
  st: AdminResult | undefined;
}

const ADMIN_RESULTS: readonly string[] = ['DONE', 'PART', 'NONE', 'ERRP', 'EXCD', 'DENY'];
function isAdminResult(s: string): s is AdminResult {
  return ADMIN_RESULTS.includes(s);
}
function isAdminAction(s: string): s is AdminAction {
  return (ADMIN_ACTIONS as readonly string[]).includes(s);
}

/** Options in the part of the URI after `stats uri` (haproxy looks for them anywhere in it). */
export function parseStatsUri(rest: string): UriOptions {
  const scopeMatch = /(?:^|[?;&])scope=([^&;#]*)/.exec(rest);
  const stMatch = /;st=([A-Z]{4})/.exec(rest);
  const st = stMatch?.[1];
  let scope = '';
  if (scopeMatch?.[1] !== undefined) {
    try {
      scope = decodeURIComponent(scopeMatch[1].replaceAll('+', ' '));
    } catch {
      scope = scopeMatch[1];
    }
  }
  return {
    csv: rest.includes(';csv'),
    json: rest.includes(';json'),
    norefresh: rest.includes(';norefresh'),
    up: rest.includes(';up'),
    noMaint: rest.includes(';no-maint'),
    // HAProxy keeps at most 20 characters of the scope (STAT_SCOPE_TXT_MAXLEN).
    scope: scope.slice(0, 20),
    st: st !== undefined && isAdminResult(st) ? st : undefined,
  };
}

function baseHeaders(contentType: string): Record<string, string> {
  return { 'cache-control': 'no-cache', 'content-type': contentType };
}

/** The 303 haproxy sends after an admin POST. */
export function adminRedirect(statsUri: string, result: AdminResult): StatsHttpResponse {
  return {
    kind: 'response',
    status: 303,
    headers: { ...baseHeaders('text/plain'), 'content-length': '0', location: `${statsUri};st=${result}` },
    body: '',
  };
}

/** Parses the admin form; undefined fields make it invalid (ERRP). */
export function parseAdminForm(body: string): { action: string; backend: string; servers: string[] } {
  const params = new URLSearchParams(body);
  return { action: params.get('action') ?? '', backend: params.get('b') ?? '', servers: params.getAll('s') };
}

export function handleStatsRequest(req: StatsHttpRequest, cfg: StatsHttpConfig, source: StatsSource): StatsHttpResult {
  if (!req.uri.startsWith(cfg.uri)) return { kind: 'pass' };
  if (!authorized(req.headers['authorization'], cfg.users)) {
    return {
      kind: 'response',
      status: 401,
      headers: {
        'content-length': String(Buffer.byteLength(UNAUTHORIZED_BODY)),
        ...baseHeaders('text/html'),
        'www-authenticate': `Basic realm="${cfg.realm ?? DEFAULT_REALM}"`,
      },
      body: UNAUTHORIZED_BODY,
    };
  }
  if (req.method.toUpperCase() === 'POST') {
    if (!req.srcIsAdminAllowed) return adminRedirect(cfg.uri, 'DENY');
    const form = parseAdminForm(req.body ?? '');
    const action = form.action;
    if (!isAdminAction(action) || form.backend === '') return adminRedirect(cfg.uri, 'ERRP');
    if (form.servers.length === 0) return adminRedirect(cfg.uri, 'NONE');
    const idMatch = /^#(\d+)$/.exec(form.backend);
    return {
      kind: 'admin',
      action,
      backend: idMatch?.[1] !== undefined ? { id: Number(idMatch[1]) } : { name: form.backend },
      servers: form.servers,
    };
  }
  const opts = parseStatsUri(req.uri.slice(cfg.uri.length));
  const filter = { scope: opts.scope, hideDown: opts.up, hideMaint: opts.noMaint };
  const refresh = cfg.refresh > 0 && !opts.norefresh ? { refresh: String(cfg.refresh) } : {};
  if (opts.csv) {
    return { kind: 'response', status: 200, headers: { ...baseHeaders('text/plain'), ...refresh }, body: renderCsv(source, { ...filter, legends: cfg.showLegends }) };
  }
  if (opts.json) {
    return { kind: 'response', status: 200, headers: { ...baseHeaders('application/json'), ...refresh }, body: renderJson(source, { ...filter, legends: cfg.showLegends }) };
  }
  const html: HtmlOptions = {
    ...filter,
    uri: cfg.uri,
    showLegends: cfg.showLegends,
    hideVersion: cfg.hideVersion,
    admin: req.srcIsAdminAllowed,
    refresh: opts.norefresh ? 0 : cfg.refresh,
    productName: cfg.productName ?? 'HAProxy',
  };
  if (opts.st !== undefined) html.notice = opts.st;
  return { kind: 'response', status: 200, headers: { ...baseHeaders('text/html'), ...refresh }, body: renderHtml(source, html) };
}
