// The runtime API's ONE command table (DESIGN.md principle 1): every command the stats socket
// understands, its access level, its `help` line and what it answers. Texts (answers and errors)
// are HAProxy 2.6's, observed on Debian's haproxy 2.6.12 with socat; the differential test
// (test/runtime/differential.test.ts) replays the same commands on both.
//
// A command returns its answer WITHOUT the empty line that ends every CLI response; the session
// (lb/runtime/session.ts) adds it. Most HAProxy messages end with '\n' (so an empty line follows);
// a few (weight parse errors) do not, and HAProxy then prints no empty line: kept as is.
import net from 'node:net';
import type { Level, RuntimeBackend, RuntimeContext, RuntimeServer, StatRequest } from './context.ts';
import { levelAtLeast, RuntimeCommandError } from './context.ts';
import { usageMessage, type HelpEntry } from './help.ts';
import { renderInfo } from './info.ts';

/** Per-connection state a command may read or change. */
export interface CliSession {
  level: Level;
  /** Interactive (prompt) mode: the connection stays open and each answer ends with "> ". */
  prompt: boolean;
  /** Set by `quit`: the connection closes once this answer is written. */
  quit: boolean;
}

export interface CommandDef extends HelpEntry {
  readonly level: Level;
  /** `rest` are the words after the keyword words. */
  run(rest: readonly string[], ctx: RuntimeContext, session: CliSession): string;
}

export const MSG = {
  permissionDenied: 'Permission denied\n',
  requireBackendServer: "Require 'backend/server'.\n",
  noSuchBackend: 'No such backend.\n',
  noSuchServer: 'No such server.\n',
  noSuchProxy: 'No such proxy.\n',
  cantFindBackend: "Can't find backend.\n",
  variableNotFound: 'Variable not found\n',
  requireWeight: 'Require <weight> or <weight%>.\n',
  stickTables: 'stick tables are not supported by this lb yet.\n',
} as const;

// ---------------------------------------------------------------------------------------------
// Lookups, as HAProxy's CLI resolves "backend/server": split at the first '/', each side a name or
// "#id"; only proxies with the backend capability count.

function findBackend(ctx: RuntimeContext, ref: string): RuntimeBackend | undefined {
  const backends = ctx.backends();
  if (ref.startsWith('#')) {
    const id = Number(ref.slice(1));
    return backends.find((b) => b.id === id);
  }
  return backends.find((b) => b.name === ref);
}

function findServerIn(be: RuntimeBackend, ref: string): RuntimeServer | undefined {
  if (ref.startsWith('#')) {
    const id = Number(ref.slice(1));
    return be.servers.find((s) => s.id === id);
  }
  return be.servers.find((s) => s.name === ref);
}

/** Resolves "B/S" or throws the CLI's error text. */
function resolveServer(ctx: RuntimeContext, ref: string | undefined): { be: RuntimeBackend; srv: RuntimeServer } {
  const slash = ref === undefined ? -1 : ref.indexOf('/');
  if (ref === undefined || slash < 0 || slash === ref.length - 1) throw new RuntimeCommandError(MSG.requireBackendServer);
  const be = findBackend(ctx, ref.slice(0, slash));
  if (be === undefined) throw new RuntimeCommandError(MSG.noSuchBackend);
  const srv = findServerIn(be, ref.slice(slash + 1));
  if (srv === undefined) throw new RuntimeCommandError(MSG.noSuchServer);
  return { be, srv };
}

// ---------------------------------------------------------------------------------------------
// Weights

/**
 * Parses "N" or "N%" as strtol() would (leading blanks, optional sign, digits) and validates it as
 * HAProxy does: absolute 0..256; relative N% of the initial weight, rounded down, capped at 256;
 * a static algorithm only takes 0 or the initial weight. Returns the weight or throws the text.
 */
export function parseWeight(text: string, iweight: number, dynamic: boolean): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(text);
  if (m === null) throw new RuntimeCommandError('Empty weight string empty or preceded by garbage');
  // strtol saturates; anything that long is out of range anyway.
  const magnitude = Number((m[2] ?? '').slice(0, 15));
  let w = m[1] === '-' ? -magnitude : magnitude;
  let rest = text.slice(m[0].length);
  const relative = rest.startsWith('%');
  if (relative) rest = rest.slice(1);
  if (rest !== '') throw new RuntimeCommandError('Trailing garbage in weight string');
  if (relative) {
    if (w < 0) throw new RuntimeCommandError('Relative weight must be positive.\n');
    w = Math.min(256, Math.floor((iweight * w) / 100));
  } else if (w < 0 || w > 256) {
    throw new RuntimeCommandError('Absolute weight can only be between 0 and 256 inclusive.\n');
  }
  if (w !== 0 && w !== iweight && !dynamic) {
    throw new RuntimeCommandError("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n");
  }
  return w;
}

function setWeight(ctx: RuntimeContext, ref: string | undefined, value: string | undefined): string {
  const { be, srv } = resolveServer(ctx, ref);
  if (value === undefined || value === '') return MSG.requireWeight;
  const w = parseWeight(value, srv.iweight, be.dynamicWeights);
  ctx.setServerWeight(be.name, srv.name, w);
  return '';
}

// ---------------------------------------------------------------------------------------------
// set server B/S addr A [port P]

const BY_CLI = " by 'stats socket command'\n";

/** Canonical text of an IP literal ('' when it is not one), as glibc's inet_ntop() prints it. */
function canonicalIp(text: string): string {
  if (net.isIPv4(text)) return text;
  if (!net.isIPv6(text)) return '';
  let compressed: string;
  try {
    // URL applies RFC 5952 compression (longest zero run, leftmost on ties), as inet_ntop does.
    compressed = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return '';
  }
  // inet_ntop prints IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses dotted.
  const m = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (m === null) return compressed;
  const hi = Number.parseInt(m[2] ?? '0', 16);
  const lo = Number.parseInt(m[3] ?? '0', 16);
  return `::${m[1] ?? ''}${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function setServerAddr(ctx: RuntimeContext, be: RuntimeBackend, srv: RuntimeServer, rest: readonly string[]): string {
  const addrText = rest[2];
  if (addrText === undefined || addrText === '') return 'set server <b>/<s> addr requires an address and optionally a port.\n';
  const addr = canonicalIp(addrText);
  if (addr === '') return `Invalid addr '${addrText}'${BY_CLI}`;
  const parts: string[] = [];
  const addrChanged = addr !== srv.addr;
  parts.push(addrChanged ? `IP changed from '${srv.addr}' to '${addr}'` : 'no need to change the addr');
  let newPort: number | undefined;
  if (rest[3] === 'port') {
    const portText = rest[4] ?? '';
    const digits = /^\d+/.exec(portText);
    if (portText.startsWith('+') || portText.startsWith('-')) {
      // Port offsets (HAProxy's port mapping) need a server declared with a mapped port; lb never has one.
      parts.push(
        "can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive.",
      );
    } else if (digits === null) {
      parts.push(`problem converting port '${portText}' to an int`);
    } else {
      // HAProxy stores the port in 16 bits: 70000 becomes 4464.
      const p = Number(digits[0].slice(0, 10)) % 65536;
      if (p === srv.port) parts.push('no need to change the port');
      else {
        parts.push(`port changed from '${srv.port}' to '${p}'`);
        newPort = p;
      }
    }
  }
  if (addrChanged || newPort !== undefined) ctx.setServerAddr(be.name, srv.name, addrChanged ? addr : srv.addr, newPort);
  return parts.join(', ') + BY_CLI;
}

const SET_SERVER_USAGE =
  'usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n';
/** `set server` options HAProxy has and lb does not implement yet: a clear answer, never a silent success. */
const SET_SERVER_PENDING = new Set(['agent', 'agent-addr', 'agent-port', 'agent-send', 'check-addr', 'check-port', 'fqdn', 'health', 'ssl']);

function setServer(rest: readonly string[], ctx: RuntimeContext): string {
  const { be, srv } = resolveServer(ctx, rest[0]);
  const what = rest[1] ?? '';
  switch (what) {
    case 'state': {
      const st = rest[2];
      if (st !== 'ready' && st !== 'drain' && st !== 'maint') return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
      ctx.setServerAdmin(be.name, srv.name, st);
      return '';
    }
    case 'weight':
      return setWeight(ctx, rest[0], rest[2]);
    case 'addr':
      return setServerAddr(ctx, be, srv, rest);
    default:
      if (SET_SERVER_PENDING.has(what)) return `'set server <srv> ${what}' is not supported by this lb yet.\n`;
      return SET_SERVER_USAGE;
  }
}

// ---------------------------------------------------------------------------------------------
// show servers state

// HAProxy's healthcheck_status enum values (HCHK_STATUS_*), keyed by the stats names.
export const CHECK_STATUS_CODES: Readonly<Record<string, number>> = {
  UNK: 0,
  INI: 1,
  START: 2,
  CHECKED: 3,
  HANA: 4,
  SOCKERR: 5,
  L4OK: 6,
  L4TOUT: 7,
  L4CON: 8,
  L6OK: 9,
  L6TOUT: 10,
  L6RSP: 11,
  L7TOUT: 12,
  L7RSP: 13,
  // 14 is HCHK_STATUS_L57DATA, a marker, never a status (checked: L7OK is 15, L7STS 17 on 2.6).
  L7OK: 15,
  L7OKC: 16,
  L7STS: 17,
  PROCERR: 18,
  PROCTOUT: 19,
  PROCOK: 20,
};
const CHECK_RESULT_CODES = { unknown: 0, neutral: 1, failed: 2, passed: 3, condpass: 4 } as const;
const OP_STATE_CODES = { stopped: 0, starting: 1, running: 2, stopping: 3 } as const;
const ADMIN_BITS = { FMAINT: 0x01, IMAINT: 0x02, CMAINT: 0x04, FDRAIN: 0x08, IDRAIN: 0x10, RMAINT: 0x20, HMAINT: 0x40 } as const;
// CHK_ST_* bits that `show servers state` exposes.
const CHK_CONFIGURED = 0x02;
const CHK_ENABLED = 0x04;
const CHK_PAUSED = 0x08;
const CHK_AGENT = 0x10;

export const SERVERS_STATE_VERSION = '1';
export const SERVERS_STATE_HEADER =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';

function checkBits(c: { configured: boolean; enabled: boolean; paused: boolean }, agent: boolean): number {
  return (c.configured ? CHK_CONFIGURED : 0) | (c.enabled ? CHK_ENABLED : 0) | (c.paused ? CHK_PAUSED : 0) | (agent && c.configured ? CHK_AGENT : 0);
}

/** One `show servers state` line (also the format of `server-state-file`). */
export function serverStateLine(be: RuntimeBackend, s: RuntimeServer, nowMs: number): string {
  const admin = s.admin.reduce((acc, f) => acc | ADMIN_BITS[f], 0);
  const since = Math.max(0, Math.floor((nowMs - s.lastChange) / 1000));
  return [
    be.id,
    be.name,
    s.id,
    s.name,
    s.addr === '' ? '-' : s.addr,
    OP_STATE_CODES[s.opState],
    admin,
    s.uweight,
    s.iweight,
    since,
    CHECK_STATUS_CODES[s.check.status] ?? 0,
    CHECK_RESULT_CODES[s.check.result],
    s.check.health,
    checkBits(s.check, false),
    checkBits(s.agent, true),
    be.forcedId ? 1 : 0,
    s.forcedId ? 1 : 0,
    s.fqdn ?? '-',
    s.port,
    '-',
    s.useSsl ? 1 : 0,
    s.check.port,
    s.check.addr ?? '-',
    s.agent.addr ?? '-',
    s.agent.port,
  ].join(' ');
}

function showServersState(rest: readonly string[], ctx: RuntimeContext): string {
  let list = ctx.backends();
  const ref = rest[0];
  if (ref !== undefined && ref !== '') {
    const be = findBackend(ctx, ref);
    if (be === undefined) return MSG.cantFindBackend;
    list = [be];
  }
  const now = ctx.now();
  let out = `${SERVERS_STATE_VERSION}\n${SERVERS_STATE_HEADER}\n`;
  for (const be of list) for (const s of be.servers) out += serverStateLine(be, s, now) + '\n';
  return out;
}

// ---------------------------------------------------------------------------------------------
// show stat / show info

function parseStatRequest(rest: readonly string[], ctx: RuntimeContext, level: Level): StatRequest | string {
  let format: StatRequest['format'] = 'csv';
  let up = false;
  let noMaint = false;
  for (const a of rest) {
    if (a === 'typed' || a === 'json') format = a;
    else if (a === 'up') up = true;
    else if (a === 'no-maint') noMaint = true;
    else if (a === 'desc') return "'show stat desc' is not supported by this lb yet.\n";
  }
  let proxyId = -1;
  let typeMask = -1;
  let serverId = -1;
  // The filter counts only when all three words are there, wherever the flags are (HAProxy reads
  // the 3 words after "show stat" positionally: `show stat typed web 4 1` looks for proxy "typed").
  const [px, type, sid] = rest;
  if (px !== undefined && px !== '' && type !== undefined && type !== '' && sid !== undefined && sid !== '') {
    if (/^-?\d+$/.test(px)) proxyId = Number(px);
    else {
      const id = ctx.proxyId(px);
      if (id === undefined) return MSG.noSuchProxy;
      proxyId = id;
    }
    typeMask = atoi(type);
    serverId = atoi(sid);
  }
  return { format, desc: false, up, noMaint, proxyId, typeMask, serverId, legends: levelAtLeast(level, 'operator') };
}

/** C's atoi(): leading blanks, sign and digits; 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m?.[1] !== undefined ? Number.parseInt(m[1], 10) : 0;
}

/** Fills what the context leaves out of `show info`: Build info mirrors Version as in HAProxy. */
function infoValues(ctx: RuntimeContext): Record<string, string | number | bigint | undefined> {
  const v: Record<string, string | number | bigint | undefined> = { ...ctx.info() };
  if (v['Build info'] === undefined) v['Build info'] = v['Version'];
  return v;
}

// ---------------------------------------------------------------------------------------------
// The table. Usage and help texts are HAProxy's except where lb accepts less (noted).

function serverCmd(
  words: string[],
  usage: string,
  help: string,
  act: (ctx: RuntimeContext, be: RuntimeBackend, srv: RuntimeServer, rest: readonly string[]) => string,
): CommandDef {
  return {
    words,
    usage,
    help,
    level: 'admin',
    run(rest, ctx) {
      const { be, srv } = resolveServer(ctx, rest[0]);
      return act(ctx, be, srv, rest);
    },
  };
}

function checkToggle(kind: 'health' | 'agent', enable: boolean): CommandDef['run'] {
  return (rest, ctx) => {
    const { be, srv } = resolveServer(ctx, rest[0]);
    const view = kind === 'health' ? srv.check : srv.agent;
    if (enable && !view.configured) {
      return kind === 'health' ? 'Health check was not configured on this server, cannot enable.\n' : 'Agent was not configured on this server, cannot enable.\n';
    }
    ctx.setCheckEnabled(be.name, srv.name, kind, enable);
    return '';
  };
}

export const COMMANDS: readonly CommandDef[] = [
  {
    words: ['clear', 'counters'],
    usage: 'clear counters [all]',
    help: 'clear max statistics counters (or all counters)',
    level: 'operator',
    run(rest, ctx, session) {
      const all = rest[0] === 'all';
      if (all && !levelAtLeast(session.level, 'admin')) return MSG.permissionDenied;
      ctx.clearCounters(all);
      return '';
    },
  },
  {
    // Placeholder until stick tables exist (then the real command replaces this entry).
    words: ['clear', 'table'],
    usage: 'clear table <table> [<filter>]*',
    help: 'remove an entry from a table (filter: data/key)',
    level: 'operator',
    run: () => MSG.stickTables,
  },
  { words: ['disable', 'agent'], usage: 'disable agent', help: 'disable agent checks', level: 'admin', run: checkToggle('agent', false) },
  { words: ['disable', 'health'], usage: 'disable health', help: 'disable health checks', level: 'admin', run: checkToggle('health', false) },
  serverCmd(['disable', 'server'], 'disable server (DEPRECATED)', "disable a server for maintenance (use 'set server' instead)", (ctx, be, srv) => {
    ctx.setServerAdmin(be.name, srv.name, 'maint');
    return '';
  }),
  { words: ['enable', 'agent'], usage: 'enable agent', help: 'enable agent checks', level: 'admin', run: checkToggle('agent', true) },
  { words: ['enable', 'health'], usage: 'enable health', help: 'enable health checks', level: 'admin', run: checkToggle('health', true) },
  serverCmd(['enable', 'server'], 'enable server  (DEPRECATED)', "enable a disabled server (use 'set server' instead)", (ctx, be, srv) => {
    ctx.setServerAdmin(be.name, srv.name, 'ready');
    return '';
  }),
  {
    words: ['get', 'weight'],
    usage: 'get weight <bk>/<srv>',
    help: "report a server's current weight",
    level: 'user',
    run(rest, ctx) {
      const { srv } = resolveServer(ctx, rest[0]);
      return `${srv.uweight} (initial ${srv.iweight})\n`;
    },
  },
  {
    words: ['operator'],
    usage: 'operator',
    help: 'lower the level of the current CLI session to operator',
    level: 'user',
    run(_rest, _ctx, session) {
      // A session can only lower its level, never raise it.
      if (!levelAtLeast(session.level, 'operator')) return MSG.permissionDenied;
      session.level = 'operator';
      return '';
    },
  },
  {
    words: ['set', 'server'],
    usage: 'set server <bk>/<srv> [opts]',
    help: "change a server's state, weight, address or ssl",
    level: 'admin',
    run: (rest, ctx) => setServer(rest, ctx),
  },
  {
    words: ['set', 'weight'],
    usage: 'set weight <bk>/<srv>  (DEPRECATED)',
    help: "change a server's weight (use 'set server' instead)",
    level: 'admin',
    run: (rest, ctx) => setWeight(ctx, rest[0], rest[1]),
  },
  {
    words: ['show', 'backend'],
    usage: 'show backend',
    help: 'list backends in the current running config',
    level: 'user',
    run: (_rest, ctx) => '# name\n' + ctx.backends().map((b) => `${b.name}\n`).join(''),
  },
  {
    words: ['show', 'cli', 'level'],
    usage: 'show cli level',
    help: 'display the level of the current CLI session',
    level: 'user',
    run: (_rest, _ctx, session) => `${session.level}\n`,
  },
  {
    words: ['show', 'env'],
    usage: 'show env [var]',
    help: 'dump environment variables known to the process',
    level: 'operator',
    run(rest, ctx) {
      const env = ctx.env();
      const name = rest[0];
      if (name !== undefined && name !== '') {
        const v = env[name];
        return v === undefined ? MSG.variableNotFound : `${name}=${v}\n`;
      }
      return Object.entries(env)
        .filter((e): e is [string, string] => e[1] !== undefined)
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
    },
  },
  {
    // HAProxy also takes `desc` and `float`; lb answers them with a clear refusal (see run()).
    words: ['show', 'info'],
    usage: 'show info [json|typed]*',
    help: 'report information about the running process',
    level: 'user',
    run(rest, ctx) {
      let format: 'plain' | 'typed' | 'json' = 'plain';
      for (const a of rest) {
        if (a === 'typed' || a === 'json') format = a;
        else if (a === 'desc' || a === 'float') return `'show info ${a}' is not supported by this lb yet.\n`;
      }
      return renderInfo(infoValues(ctx), format);
    },
  },
  {
    words: ['show', 'servers', 'state'],
    usage: 'show servers state [<backend>]',
    help: 'dump volatile server information (all or for a single backend)',
    level: 'user',
    run: (rest, ctx) => showServersState(rest, ctx),
  },
  {
    // HAProxy's usage also lists `desc`, which lb refuses (no field descriptions yet).
    words: ['show', 'stat'],
    usage: 'show stat [json|no-maint|typed|up]*',
    help: 'report counters for each proxy and server',
    level: 'user',
    run(rest, ctx, session) {
      const req = parseStatRequest(rest, ctx, session.level);
      return typeof req === 'string' ? req : ctx.renderStat(req);
    },
  },
  {
    // Placeholder until stick tables exist.
    words: ['show', 'table'],
    usage: 'show table <table> [<filter>]*',
    help: "report table usage stats or dump this table's contents (filter: data/key)",
    level: 'user',
    run: () => MSG.stickTables,
  },
  {
    words: ['show', 'version'],
    usage: 'show version',
    help: 'show version of the current process',
    level: 'user',
    run: (_rest, ctx) => `${String(ctx.info()['Version'] ?? '')}\n`,
  },
  {
    words: ['user'],
    usage: 'user',
    help: 'lower the level of the current CLI session to user',
    level: 'user',
    run(_rest, _ctx, session) {
      session.level = 'user';
      return '';
    },
  },
  {
    words: ['help'],
    usage: 'help [<command>]',
    help: 'list matching or all commands',
    level: 'user',
    tail: true,
    run: (rest) => usageMessage(COMMANDS, rest, true),
  },
  {
    words: ['prompt'],
    usage: 'prompt',
    help: 'toggle interactive mode with prompt',
    level: 'user',
    tail: true,
    run(_rest, _ctx, session) {
      session.prompt = !session.prompt;
      return '';
    },
  },
  {
    words: ['quit'],
    usage: 'quit',
    help: 'disconnect',
    level: 'user',
    tail: true,
    run(_rest, _ctx, session) {
      session.quit = true;
      return '';
    },
  },
];

/** The entry whose words all equal the first words of `args` (the longest such entry). */
export function findCommand(args: readonly string[]): { def: CommandDef; rest: string[] } | undefined {
  let best: CommandDef | undefined;
  for (const def of COMMANDS) {
    if (def.words.length > args.length) continue;
    if (def.words.every((w, i) => args[i] === w) && (best === undefined || def.words.length > best.words.length)) best = def;
  }
  return best === undefined ? undefined : { def: best, rest: args.slice(best.words.length) };
}

/**
 * Runs one command (already split into words) and returns its answer without the terminating
 * empty line. Unknown commands get the usage listing, commands above the session's level
 * "Permission denied", and a RuntimeCommandError thrown by the context its message.
 */
export function runCommand(args: readonly string[], ctx: RuntimeContext, session: CliSession): string {
  const found = findCommand(args);
  if (found === undefined) return usageMessage(COMMANDS, args, false);
  if (!levelAtLeast(session.level, found.def.level)) return MSG.permissionDenied;
  try {
    return found.def.run(found.rest, ctx, session);
  } catch (err) {
    if (err instanceof RuntimeCommandError) return err.message;
    throw err;
  }
}
