// Typed model of an HAProxy configuration as lb understands it. Plain JSON-serialisable data
// (golden tests compare it deep-equal), produced by lb/config/parser.ts. Times are milliseconds,
// sizes bytes. `line` fields point back to the configuration for runtime errors.
import type { Address, Cidr } from './values.ts';
import type { MatchMethod } from '../acl/fetches.ts';

export type SectionKind = 'global' | 'defaults' | 'frontend' | 'backend' | 'listen' | 'peers' | 'userlist' | 'http-errors' | 'resolvers';
export type ProxyKind = 'defaults' | 'frontend' | 'backend' | 'listen';
export type ProxyMode = 'http' | 'tcp';

export interface Loc {
  file: string;
  line: number;
}

export interface LogTarget {
  /** `global` in a proxy means "use the global log targets". */
  global?: true;
  address?: string;
  facility?: string;
  level?: string;
  minLevel?: string;
  /** `log /dev/log len 1024 format rfc5424 ...` options, raw. */
  options?: string[];
}

export interface StatsSocket {
  address: Address;
  mode?: string;
  level?: 'user' | 'operator' | 'admin';
  expose?: string;
  loc: Loc;
}

export interface GlobalSection {
  log: LogTarget[];
  chroot?: string;
  pidfile?: string;
  user?: string;
  group?: string;
  daemon?: boolean;
  masterWorker?: boolean;
  maxconn?: number;
  nbthread?: number;
  statsSockets: StatsSocket[];
  statsTimeout?: number;
  sslDefaultBindCiphers?: string;
  sslDefaultBindCiphersuites?: string;
  sslDefaultBindOptions?: string[];
  sslDefaultServerCiphers?: string;
  sslDefaultServerOptions?: string[];
  tune: Record<string, number>;
  /** `spread-checks N`: ± N% (0..50) of random jitter on every check interval. */
  spreadChecks?: number;
  /** `setenv`/`presetenv` performed while parsing. */
  env?: Record<string, string>;
}

/** One term of an ACL: `fetch(args) [flags] patterns...`. */
export interface AclTerm {
  fetch: string;
  fetchArgs: string[];
  converters?: string[];
  method: MatchMethod;
  ignoreCase?: true;
  /** Pattern files named with -f (read at parse time). */
  patternFiles?: string[];
  patterns: string[];
  loc: Loc;
}

export interface AclDef {
  name: string;
  /** Several `acl NAME ...` lines with the same name are OR'd. */
  terms: AclTerm[];
}

export type CondTerm = { negated: boolean; acl: string } | { negated: boolean; anonymous: AclTerm };

/** `if|unless` followed by OR-of-AND terms. */
export interface Condition {
  polarity: 'if' | 'unless';
  or: CondTerm[][];
}

export interface Rule {
  action: string;
  params: RuleParams;
  cond?: Condition;
  loc: Loc;
}

/** Union of the parameters rule actions take; each action documents which it sets. */
export interface RuleParams {
  status?: number;
  contentType?: string;
  body?: { kind: 'string' | 'lf-string' | 'file' | 'lf-file' | 'errorfile' | 'errorfiles'; value: string };
  redirect?: { type: 'location' | 'prefix' | 'scheme'; value: string; code: number; options: string[] };
  header?: string;
  value?: string;
  regex?: string;
  replacement?: string;
  fmt?: string;
  trackCounter?: number;
  key?: string;
  table?: string;
  reason?: string;
  timeout?: number;
  name?: string;
}

export interface ServerOptions {
  check?: boolean;
  checkSsl?: boolean;
  inter?: number;
  fastinter?: number;
  downinter?: number;
  fall?: number;
  rise?: number;
  weight?: number;
  maxconn?: number;
  maxqueue?: number;
  backup?: boolean;
  disabled?: boolean;
  port?: number;
  addr?: string;
  ssl?: boolean;
  verify?: 'none' | 'required';
  caFile?: string;
  crt?: string;
  sni?: string;
  alpn?: string;
  slowstart?: number;
  sendProxy?: boolean;
  sendProxyV2?: boolean;
  cookie?: string;
  initAddr?: string;
  observe?: string;
  onError?: string;
  agentCheck?: boolean;
  /** `agent-port`, `agent-addr`, `agent-inter` (ms), `agent-send` (escapes resolved). */
  agentPort?: number;
  agentAddr?: string;
  agentInter?: number;
  agentSend?: string;
  resolvers?: string;
}

export interface Server {
  name: string;
  address: Address;
  /** default-server settings with this line's settings on top. */
  options: ServerOptions;
  loc: Loc;
}

export interface Bind {
  addresses: Address[];
  ssl?: boolean;
  crt?: string[];
  alpn?: string;
  options: Record<string, string | boolean>;
  loc: Loc;
}

export interface Balance {
  algorithm: 'roundrobin' | 'static-rr' | 'leastconn' | 'first' | 'source' | 'uri' | 'url_param' | 'hdr' | 'random' | 'rdp-cookie';
  /** uri: `whole`, `len N`, `depth N`; url_param: the parameter; hdr: header name; random: draws. */
  uriWhole?: boolean;
  uriLen?: number;
  uriDepth?: number;
  param?: string;
  header?: string;
  useDomainOnly?: boolean;
  draws?: number;
}

export interface HttpCheckStep {
  kind: 'send' | 'expect' | 'connect' | 'comment' | 'disable-on-404' | 'send-state';
  /** send: meth/uri/ver/hdr/body; expect: [!]status|string|rstatus|rstring value. */
  method?: string;
  uri?: string;
  version?: string;
  headers?: [string, string][];
  body?: string;
  negate?: boolean;
  match?: string;
  pattern?: string;
  loc: Loc;
}

/**
 * One `tcp-check` rule line, in order (`option tcp-check` runs them). `send` data has the
 * tokenizer's escapes resolved (one char per byte); `send-binary` / `expect binary` keep hex text.
 */
export interface TcpCheckStep {
  action: 'connect' | 'send' | 'send-binary' | 'expect';
  /** connect: `port N`, `addr A`, `ssl`. */
  port?: number;
  addr?: string;
  ssl?: boolean;
  /** send: the bytes as latin1 text; send-binary: hex digits. */
  data?: string;
  /** expect: `[!] string|rstring|binary|rbinary <pattern>`. */
  negate?: boolean;
  match?: 'string' | 'rstring' | 'binary' | 'rbinary';
  pattern?: string;
  comment?: string;
  loc: Loc;
}

export interface HttpChk {
  method: string;
  uri: string;
  version: string;
  /** Headers split off the version of the pre-2.2 form `option httpchk GET / HTTP/1.1\r\nHost:\ x`. */
  headers?: [string, string][];
  body?: string;
}

export interface ForwardFor {
  except?: Cidr;
  header?: string;
  ifNone?: boolean;
}

export interface StickTable {
  type: 'ip' | 'ipv6' | 'integer' | 'string' | 'binary';
  len?: number;
  size: number;
  expire?: number;
  nopurge?: boolean;
  peers?: string;
  store: { name: string; period?: number }[];
  loc: Loc;
}

export interface StickRule {
  kind: 'on' | 'match' | 'store-request' | 'store-response';
  pattern: string;
  table?: string;
  cond?: Condition;
  loc: Loc;
}

export interface StatsSettings {
  enable?: boolean;
  uri?: string;
  realm?: string;
  refresh?: number;
  auth?: { user: string; password: string }[];
  admin?: Condition[];
  hideVersion?: boolean;
  showLegends?: boolean;
  showNode?: string | true;
  scope?: string[];
  httpRequest?: Rule[];
}

/** Settings a defaults section passes on to the proxies that use it. */
export interface ProxySettings {
  mode?: ProxyMode;
  log: LogTarget[];
  /** `option X` (true) / `no option X` (false), for options without arguments. */
  options: Record<string, boolean>;
  httpchk?: HttpChk;
  forwardfor?: ForwardFor;
  timeouts: Record<string, number>;
  retries?: number;
  maxconn?: number;
  balance?: Balance;
  hashType?: string[];
  errorfiles: Record<string, string>;
  defaultServer?: ServerOptions;
  httpCheck: HttpCheckStep[];
  /** `tcp-check` rule lines; a proxy's own lines replace those of its defaults section. */
  tcpCheck?: TcpCheckStep[];
  stats?: StatsSettings;
  tcpRequestInspectDelay?: number;
  logFormat?: string;
}

export interface Proxy extends ProxySettings {
  kind: ProxyKind;
  name: string;
  /** Name (or `<anonymous>` and line) of the defaults section inherited. */
  from?: string;
  loc: Loc;
  binds: Bind[];
  servers: Server[];
  acls: AclDef[];
  httpRequest: Rule[];
  httpResponse: Rule[];
  tcpRequestConnection: Rule[];
  tcpRequestContent: Rule[];
  useBackend: { backend: string; dynamic: boolean; cond?: Condition; loc: Loc }[];
  defaultBackend?: { name: string; loc: Loc };
  stickTable?: StickTable;
  stickRules: StickRule[];
}

export interface PeersSection {
  name: string;
  peers: { name: string; address: Address; loc: Loc }[];
  loc: Loc;
}

export interface Userlist {
  name: string;
  users: { name: string; password: string; insecure: boolean; groups: string[] }[];
  groups: { name: string; users: string[] }[];
  loc: Loc;
}

export interface HttpErrorsSection {
  name: string;
  errorfiles: Record<string, string>;
  loc: Loc;
}

export interface ConfigModel {
  global: GlobalSection;
  defaults: Proxy[];
  proxies: Proxy[];
  peers: PeersSection[];
  userlists: Userlist[];
  httpErrors: HttpErrorsSection[];
}
