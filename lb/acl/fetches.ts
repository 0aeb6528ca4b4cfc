// Sample-fetch metadata (HAProxy configuration manual 7.3 "Fetching samples"): one table, used by
// the config parser to validate ACLs, conditions and `%[...]` expressions, and later by the proxy to
// find the implementation. Only metadata lives here: no request is touched.

export type MatchMethod = 'str' | 'beg' | 'end' | 'sub' | 'reg' | 'dom' | 'dir' | 'len' | 'int' | 'ip' | 'found' | 'bool' | 'bin';

export const MATCH_METHODS: ReadonlySet<string> = new Set<MatchMethod>(['str', 'beg', 'end', 'sub', 'reg', 'dom', 'dir', 'len', 'int', 'ip', 'found', 'bool', 'bin']);

export type SampleType = 'str' | 'int' | 'bool' | 'ip' | 'meth' | 'bin';

export interface FetchDef {
  readonly name: string;
  readonly type: SampleType;
  /** Minimum and maximum number of parenthesised arguments. */
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Match method an ACL uses when none is given with -m. */
  readonly defaultMatch: MatchMethod;
  /** Needs an HTTP request/response (not usable in a `mode tcp` proxy). */
  readonly http: boolean;
  /** Response-side fetch (http-response rules only). */
  readonly response?: boolean;
  /** Parsed but not yet evaluated by the running lb (stick-table counters). */
  readonly pending?: boolean;
}

function f(name: string, type: SampleType, minArgs: number, maxArgs: number, http: boolean, extra: Partial<FetchDef> = {}): FetchDef {
  const defaultMatch: MatchMethod = type === 'int' ? 'int' : type === 'bool' ? 'bool' : type === 'ip' ? 'ip' : 'str';
  return { name, type, minArgs, maxArgs, defaultMatch, http, ...extra };
}

const FETCH_LIST: readonly FetchDef[] = [
  // layer 4 / internal
  f('always_true', 'bool', 0, 0, false),
  f('always_false', 'bool', 0, 0, false),
  f('src', 'ip', 0, 0, false),
  f('src_port', 'int', 0, 0, false),
  f('dst', 'ip', 0, 0, false),
  f('dst_port', 'int', 0, 0, false),
  f('nbsrv', 'int', 0, 1, false),
  f('be_conn', 'int', 0, 1, false),
  f('fe_conn', 'int', 0, 1, false),
  f('srv_is_up', 'bool', 1, 1, false),
  f('env', 'str', 1, 1, false),
  f('date', 'int', 0, 2, false),
  f('rand', 'int', 0, 1, false),
  // layer 5/6: TLS
  f('ssl_fc', 'bool', 0, 0, false),
  f('ssl_fc_sni', 'str', 0, 0, false),
  f('ssl_fc_alpn', 'str', 0, 0, false),
  f('ssl_fc_protocol', 'str', 0, 0, false),
  f('ssl_c_used', 'bool', 0, 0, false),
  f('req.ssl_sni', 'str', 0, 0, false),
  f('req_ssl_sni', 'str', 0, 0, false),
  f('req.ssl_hello_type', 'int', 0, 0, false),
  f('req.len', 'int', 0, 0, false),
  f('req_len', 'int', 0, 0, false),
  // layer 7: request
  f('method', 'meth', 0, 0, true),
  f('path', 'str', 0, 0, true),
  f('pathq', 'str', 0, 0, true),
  f('url', 'str', 0, 0, true),
  f('query', 'str', 0, 0, true),
  f('base', 'str', 0, 0, true),
  f('url_param', 'str', 0, 2, true),
  f('urlp', 'str', 0, 2, true),
  f('req.ver', 'str', 0, 0, true),
  f('req_ver', 'str', 0, 0, true),
  f('req.proto_http', 'bool', 0, 0, true),
  f('hdr', 'str', 0, 2, true),
  f('req.hdr', 'str', 0, 2, true),
  f('req.fhdr', 'str', 0, 2, true),
  f('hdr_cnt', 'int', 0, 1, true),
  f('req.hdr_cnt', 'int', 0, 1, true),
  f('hdr_val', 'int', 0, 2, true),
  f('req.hdr_val', 'int', 0, 2, true),
  f('hdr_ip', 'ip', 0, 2, true),
  f('req.hdr_ip', 'ip', 0, 2, true),
  f('cook', 'str', 0, 1, true),
  f('req.cook', 'str', 0, 1, true),
  f('http_auth', 'bool', 1, 1, true),
  // layer 7: response
  f('status', 'int', 0, 0, true, { response: true }),
  f('res.hdr', 'str', 0, 2, true, { response: true }),
  f('shdr', 'str', 0, 2, true, { response: true }),
  // stick-table counters: parsed, not evaluated yet
  ...['0', '1', '2', ''].flatMap((n) => {
    const args = n === '' ? 1 : 0;
    const maxA = n === '' ? 2 : 1;
    const pfx = n === '' ? 'sc_' : `sc${n}_`;
    return ['http_req_rate', 'http_req_cnt', 'http_err_rate', 'http_err_cnt', 'conn_cur', 'conn_cnt', 'conn_rate', 'sess_rate', 'sess_cnt', 'bytes_in_rate', 'bytes_out_rate', 'gpc0', 'gpc0_rate', 'get_gpc0', 'inc_gpc0', 'clr_gpc0'].map((c) =>
      f(pfx + c, 'int', args, maxA, false, { pending: true }),
    );
  }),
  ...['http_req_rate', 'http_req_cnt', 'conn_cur', 'conn_cnt', 'conn_rate'].map((c) => f(`src_${c}`, 'int', 0, 1, false, { pending: true })),
  f('table_cnt', 'int', 0, 1, false, { pending: true }),
];

export const FETCHES: ReadonlyMap<string, FetchDef> = new Map(FETCH_LIST.map((d) => [d.name, d]));

/** ACL-only keywords that are a fetch plus an implicit match method (`path_beg` = `path -m beg`). */
export interface AclAlias {
  readonly fetch: string;
  readonly method: MatchMethod;
}

const ALIAS_BASES = ['path', 'url', 'hdr', 'req.hdr', 'base', 'url_param', 'urlp', 'cook', 'req.cook', 'res.hdr', 'shdr', 'ssl_fc_sni', 'req.ssl_sni', 'req_ssl_sni', 'query'];
const ALIAS_SUFFIXES: readonly MatchMethod[] = ['beg', 'end', 'sub', 'reg', 'dom', 'dir', 'len'];

export const ACL_ALIASES: ReadonlyMap<string, AclAlias> = new Map(
  ALIAS_BASES.flatMap((base) => ALIAS_SUFFIXES.map((m): [string, AclAlias] => [`${base}_${m}`, { fetch: base, method: m }])).filter(
    ([name]) => !FETCHES.has(name),
  ),
);

/** Predefined ACLs (manual 7.4), usable in conditions without an `acl` line. */
export interface PredefinedAcl {
  readonly fetch: string;
  readonly method: MatchMethod;
  readonly patterns: readonly string[];
  readonly http: boolean;
}

export const PREDEFINED_ACLS: ReadonlyMap<string, PredefinedAcl> = new Map<string, PredefinedAcl>([
  ['TRUE', { fetch: 'always_true', method: 'bool', patterns: [], http: false }],
  ['FALSE', { fetch: 'always_false', method: 'bool', patterns: [], http: false }],
  ['LOCALHOST', { fetch: 'src', method: 'ip', patterns: ['127.0.0.1/8', '::1'], http: false }],
  ['HTTP', { fetch: 'req.proto_http', method: 'bool', patterns: [], http: true }],
  ['HTTP_1.0', { fetch: 'req.ver', method: 'str', patterns: ['1.0'], http: true }],
  ['HTTP_1.1', { fetch: 'req.ver', method: 'str', patterns: ['1.1'], http: true }],
  ['HTTP_2.0', { fetch: 'req.ver', method: 'str', patterns: ['2.0'], http: true }],
  ['HTTP_CONTENT', { fetch: 'req.hdr_val', method: 'int', patterns: ['gt', '0'], http: true }],
  ['HTTP_URL_ABS', { fetch: 'url', method: 'reg', patterns: ['^[^/:]*://'], http: true }],
  ['HTTP_URL_SLASH', { fetch: 'url', method: 'beg', patterns: ['/'], http: true }],
  ['HTTP_URL_STAR', { fetch: 'url', method: 'str', patterns: ['*'], http: true }],
  ['METH_CONNECT', { fetch: 'method', method: 'str', patterns: ['CONNECT'], http: true }],
  ['METH_DELETE', { fetch: 'method', method: 'str', patterns: ['DELETE'], http: true }],
  ['METH_GET', { fetch: 'method', method: 'str', patterns: ['GET', 'HEAD'], http: true }],
  ['METH_HEAD', { fetch: 'method', method: 'str', patterns: ['HEAD'], http: true }],
  ['METH_OPTIONS', { fetch: 'method', method: 'str', patterns: ['OPTIONS'], http: true }],
  ['METH_POST', { fetch: 'method', method: 'str', patterns: ['POST'], http: true }],
  ['METH_PUT', { fetch: 'method', method: 'str', patterns: ['PUT'], http: true }],
  ['METH_TRACE', { fetch: 'method', method: 'str', patterns: ['TRACE'], http: true }],
  ['REQ_CONTENT', { fetch: 'req.len', method: 'int', patterns: ['gt', '0'], http: false }],
  ['WAIT_END', { fetch: 'always_false', method: 'bool', patterns: [], http: false }],
]);

/** Names usable in did-you-mean suggestions for an unknown fetch in an ACL. */
export function aclFetchNames(): string[] {
  return [...FETCHES.keys(), ...ACL_ALIASES.keys()];
}

/** Converters (`fetch,conv(args)`) that lb knows by name. */
export const CONVERTERS: ReadonlySet<string> = new Set([
  'lower', 'upper', 'base64', 'b64dec', 'hex', 'json', 'length', 'field', 'word', 'regsub', 'map', 'map_str', 'map_beg', 'map_reg',
  'ipmask', 'add', 'sub', 'mul', 'div', 'mod', 'neg', 'not', 'bool', 'odd', 'even', 'and', 'or', 'xor', 'host_only', 'port_only',
  'url_dec', 'sdbm', 'djb2', 'crc32', 'wt6', 'strcmp', 'concat', 'bytes', 'ltrim', 'rtrim', 'protobuf', 'debug', 'table_http_req_rate',
]);
