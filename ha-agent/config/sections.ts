// One keyword table per keepalived block (DESIGN.md principle 1). Each entry parses its arguments
// into a draft; config.ts turns drafts into the model, applies defaults and cross-checks.
import type { Location } from './diagnostics.ts';
import { block, ignored, table, unsupported, value } from './keywords.ts';
import type { Ctx, KeywordDef, Table } from './keywords.ts';
import type { Command, Garp, Track, Transport, VirtualIp } from './model.ts';
import type { Token } from './tokenizer.ts';
import { address, ifname, int, ipFamily, isMulticast4, seconds, splitCommand } from './values.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface GlobalDraft {
  routerId?: string;
  scriptUser?: { user: string; group?: string };
  enableScriptSecurity: boolean;
  vrrpVersion?: 2 | 3;
  mcastGroup4?: string;
  garp: Partial<Mutable<Garp>>;
  processNice?: number;
  rtPriority?: number;
  ignored: string[];
}

export interface ScriptDraft extends Location {
  name: string;
  script?: Command;
  intervalMs?: number;
  timeoutMs?: number;
  weight?: number;
  weightReverse: boolean;
  fall?: number;
  rise?: number;
  user?: string;
  group?: string;
  initFail: boolean;
}

export interface AuthDraft extends Location {
  type?: 'PASS' | 'HMAC';
  typeAt?: Location;
  pass?: string;
  keyFile?: string;
  keyFileAt?: Location;
}

export interface InstanceDraft extends Location {
  name: string;
  state?: 'MASTER' | 'BACKUP';
  stateAt?: Location;
  interface?: string;
  virtualRouterId?: number;
  priority?: number;
  priorityAt?: Location;
  advertIntMs?: number;
  version?: 2 | 3;
  nopreempt?: Location;
  preemptDelayMs?: number;
  preemptDelayAt?: Location;
  auth?: AuthDraft;
  vips: VirtualIp[];
  excluded: VirtualIp[];
  trackScripts: Track[];
  trackInterfaces: Track[];
  dontTrackPrimary: boolean;
  transport?: Transport;
  transportAt?: Location;
  mcastGroup?: string;
  mcastPort?: number;
  sourceIp?: string;
  sourceIpAt?: Location;
  unicastPeers: string[];
  unicastPeerAt?: Location;
  notify: { master?: Command; backup?: Command; fault?: Command; stop?: Command; any?: Command };
  garp: Partial<Mutable<Garp>>;
}

export interface TopDraft {
  global: GlobalDraft;
  globalAt?: Location;
  scripts: ScriptDraft[];
  instances: InstanceDraft[];
}

// ---------------------------------------------------------------------------------------------
// helpers

function cmd(ctx: Ctx, args: Token[], allowUser: boolean): Command | undefined {
  const first = args[0];
  if (first === undefined) return undefined;
  // keepalived: `notify_master "SCRIPT ARGS" [USER [GROUP]]`; a script with arguments must be
  // quoted, the unquoted words after it are the user and group to run it as.
  if (!allowUser && args.length > 1) {
    ctx.diag.error(args[1] ?? ctx.at, `'${ctx.at.text}' takes one script; quote it when it has arguments: "${args.map((a) => a.text).join(' ')}"`);
    return undefined;
  }
  const argv = splitCommand(first.text);
  if (argv.length === 0) {
    ctx.diag.error(first, `'${ctx.at.text}' has an empty script`);
    return undefined;
  }
  const c: Mutable<Command> = { line: first.text, argv };
  if (args[1]) c.user = args[1].text;
  if (args[2]) c.group = args[2].text;
  return c;
}

/** `[weight N [reverse]]` after a tracked object's name (track_script / track_interface items). */
function trackItem(ctx: Ctx, words: Token[], kind: string): Track | undefined {
  const name = words[0];
  if (name === undefined) return undefined;
  const t: Mutable<Track> = { name: name.text, reverse: false, file: name.file, line: name.line };
  let i = 1;
  if (words[i]?.text === 'weight') {
    const w = int(ctx.diag, words[i + 1], `${kind} ${name.text} weight`, -253, 253);
    if (words[i + 1] === undefined) ctx.diag.error(words[i] ?? name, `'weight' needs a value`);
    if (w !== undefined) t.weight = w;
    i += 2;
    if (words[i]?.text === 'reverse') {
      t.reverse = true;
      i++;
    }
  }
  const extra = words[i];
  if (extra) {
    ctx.diag.error(extra, `unexpected '${extra.text}' after ${kind} ${name.text} (expected 'weight N [reverse]')`);
    return undefined;
  }
  return t;
}

const flag = <T>(name: string, set: (t: T) => void): KeywordDef<T> => value<T>(name, { min: 0 }, (t) => set(t));

function garpKeywords<T extends { garp: Partial<Mutable<Garp>> }>(prefix: string): KeywordDef<T>[] {
  return [
    value<T>(`${prefix}garp_master_delay`, {}, (t, [a], ctx) => {
      const v = seconds(ctx.diag, a, ctx.at.text, 0, 3600_000);
      if (v !== undefined) t.garp.masterDelayMs = v;
    }),
    value<T>(`${prefix}garp_master_repeat`, {}, (t, [a], ctx) => {
      const v = int(ctx.diag, a, ctx.at.text, 1, 255);
      if (v !== undefined) t.garp.masterRepeat = v;
    }),
    value<T>(`${prefix}garp_master_refresh`, {}, (t, [a], ctx) => {
      const v = seconds(ctx.diag, a, ctx.at.text, 0, 86_400_000);
      if (v !== undefined) t.garp.masterRefreshMs = v;
    }),
    value<T>(`${prefix}garp_master_refresh_repeat`, {}, (t, [a], ctx) => {
      const v = int(ctx.diag, a, ctx.at.text, 1, 255);
      if (v !== undefined) t.garp.masterRefreshRepeat = v;
    }),
    value<T>(`${prefix}garp_lower_prio_repeat`, {}, (t, [a], ctx) => {
      const v = int(ctx.diag, a, ctx.at.text, 0, 255);
      if (v !== undefined) t.garp.lowerPrioRepeat = v;
    }),
    value<T>(`${prefix}garp_interval`, {}, (t, [a], ctx) => {
      const v = seconds(ctx.diag, a, ctx.at.text, 0, 1000_000);
      if (v !== undefined) t.garp.intervalMs = v;
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// global_defs

export const globalDefsTable: Table<GlobalDraft> = table<GlobalDraft>('global_defs', [
  value('router_id', {}, (g, [a]) => {
    if (a) g.routerId = a.text;
  }),
  value('script_user', { min: 1, max: 2 }, (g, [u, grp]) => {
    if (u) g.scriptUser = grp ? { user: u.text, group: grp.text } : { user: u.text };
  }),
  flag('enable_script_security', (g) => {
    g.enableScriptSecurity = true;
  }),
  value('vrrp_version', {}, (g, [a], ctx) => {
    const v = int(ctx.diag, a, 'vrrp_version', 2, 3);
    if (v === 2 || v === 3) g.vrrpVersion = v;
  }),
  value('vrrp_mcast_group4', {}, (g, [a], ctx) => {
    const v = address(ctx.diag, a, 'vrrp_mcast_group4');
    if (v !== undefined && a) {
      if (isMulticast4(v)) g.mcastGroup4 = v;
      else ctx.diag.error(a, `vrrp_mcast_group4 '${v}' is not an IPv4 multicast address (224.0.0.0/4)`);
    }
  }),
  ...garpKeywords<GlobalDraft>('vrrp_'),
  value('vrrp_garp_lower_prio_delay', {}, (g, [a], ctx) => {
    if (seconds(ctx.diag, a, ctx.at.text, 0, 3600_000) !== undefined) g.ignored.push(ctx.at.text);
  }),
  // Mail, SNMP, D-Bus and LVS settings: common in operators' files, meaningless to ha-agent.
  ignored('notification_email', 'ha-agent sends no mail; use notify scripts', true),
  ignored('notification_email_from', 'ha-agent sends no mail'),
  ignored('smtp_server', 'ha-agent sends no mail'),
  ignored('smtp_connect_timeout', 'ha-agent sends no mail'),
  ignored('smtp_helo_name', 'ha-agent sends no mail'),
  ignored('enable_traps', 'no SNMP'),
  ignored('enable_dbus', 'no D-Bus'),
  ignored('lvs_id', 'no LVS'),
  ignored('vrrp_skip_check_adv_addr', 'adverts are checked against the VIP set or its digest'),
  ignored('vrrp_check_unicast_src', 'unicast adverts are always checked against unicast_peer'),
  ignored('max_auto_priority', 'the real-time priority is never raised automatically'),
  // The agent's own CPU scheduling (ha-agent/sched.ts applies them at start).
  value('vrrp_priority', {}, (g, [a], ctx) => {
    const v = int(ctx.diag, a, 'vrrp_priority', -20, 19);
    if (v !== undefined) g.processNice = v;
  }),
  value('vrrp_rt_priority', {}, (g, [a], ctx) => {
    if (a === undefined) return;
    // keepalived clamps a value above 99 to 99 with a warning; below 1 is an error.
    const big = /^\d+$/.test(a.text) && Number(a.text) > 99;
    if (big) ctx.diag.warning(a, `vrrp_rt_priority ${a.text} greater than maximum 99 - setting to maximum`);
    const v = big ? 99 : int(ctx.diag, a, 'vrrp_rt_priority', 1, 99);
    if (v !== undefined) g.rtPriority = v;
  }),
  ignored('vrrp_no_swap', 'no memory locking'),
  ignored('checker_no_swap', 'no checker'),
  ignored('vrrp_gna_interval', 'no IPv6 unsolicited neighbour advertisements'),
  ignored('vrrp_startup_delay', 'not implemented'),
  unsupported('vrrp_strict', 'it changes packet handling (no unicast, no PASS auth, iptables rules); remove it'),
  unsupported('vrrp_iptables', 'ha-agent never edits the firewall'),
  unsupported('vrrp_mcast_group6', 'IPv6 multicast transport is not implemented'),
  unsupported('dynamic_interfaces', 'interfaces must exist at start'),
  unsupported('use_pid_dir', 'ha-agent runs in the foreground under systemd and writes no pid file'),
]);

// ---------------------------------------------------------------------------------------------
// vrrp_script NAME

export const vrrpScriptTable: Table<ScriptDraft> = table<ScriptDraft>('vrrp_script', [
  value('script', {}, (s, args, ctx) => {
    const c = cmd(ctx, args, false);
    if (c) s.script = c;
  }),
  // Extension: keepalived takes whole seconds (1..4294); we also accept fractions down to 10 ms so
  // that a failing check can move the VIP well under a second.
  value('interval', {}, (s, [a], ctx) => {
    const v = seconds(ctx.diag, a, 'interval', 10, 4294_000);
    if (v !== undefined) s.intervalMs = v;
  }),
  value('timeout', {}, (s, [a], ctx) => {
    const v = seconds(ctx.diag, a, 'timeout', 10, 4294_000);
    if (v !== undefined) s.timeoutMs = v;
  }),
  value('weight', { min: 1, max: 2 }, (s, [a, rev], ctx) => {
    const v = int(ctx.diag, a, 'weight', -253, 253);
    if (v !== undefined) s.weight = v;
    if (rev) {
      if (rev.text === 'reverse') s.weightReverse = true;
      else ctx.diag.error(rev, `unexpected '${rev.text}' after weight (only 'reverse' may follow)`);
    }
  }),
  value('fall', {}, (s, [a], ctx) => {
    const v = int(ctx.diag, a, 'fall', 1, 2_147_483_647);
    if (v !== undefined) s.fall = v;
  }),
  value('rise', {}, (s, [a], ctx) => {
    const v = int(ctx.diag, a, 'rise', 1, 2_147_483_647);
    if (v !== undefined) s.rise = v;
  }),
  value('user', { min: 1, max: 2 }, (s, [u, g]) => {
    if (u) s.user = u.text;
    if (g) s.group = g.text;
  }),
  flag('init_fail', (s) => {
    s.initFail = true;
  }),
]);

// ---------------------------------------------------------------------------------------------
// vrrp_instance NAME and its sub-blocks

const SCOPES = new Set(['global', 'site', 'link', 'host', 'nowhere']);

/** `ADDR[/PREFIX] [dev IF] [label L] [brd ADDR] [scope S]` (keepalived's virtual_ipaddress line). */
function vip(ctx: Ctx, words: Token[]): VirtualIp | undefined {
  const first = words[0];
  if (first === undefined) return undefined;
  const diag = ctx.diag;
  const [addr, pfx, ...rest] = first.text.split('/');
  const family = ipFamily(addr ?? '');
  if (family === undefined || rest.length > 0) {
    diag.error(first, `invalid virtual IP address '${first.text}'`);
    return undefined;
  }
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (pfx !== undefined) {
    if (!/^\d{1,3}$/.test(pfx) || Number(pfx) > max) {
      diag.error(first, `invalid prefix length '/${pfx}' in '${first.text}' (0..${max})`);
      return undefined;
    }
    prefix = Number(pfx);
  }
  const v: Mutable<VirtualIp> = { address: addr ?? '', prefix, family, file: first.file, line: first.line };
  let ok = true;
  for (let i = 1; i < words.length; i += 2) {
    const k = words[i];
    const arg = words[i + 1];
    if (k === undefined) break;
    if (!['dev', 'label', 'brd', 'scope'].includes(k.text)) {
      diag.error(k, `unknown option '${k.text}' in virtual IP '${first.text}' (ha-agent supports dev, label, brd, scope)`);
      ok = false;
      break;
    }
    if (arg === undefined) {
      diag.error(k, `'${k.text}' needs a value in virtual IP '${first.text}'`);
      ok = false;
      break;
    }
    if (k.text === 'dev') {
      const d = ifname(diag, arg, 'dev');
      if (d === undefined) ok = false;
      else v.dev = d;
    } else if (k.text === 'label') {
      v.label = arg.text;
    } else if (k.text === 'brd') {
      if (ipFamily(arg.text) !== 4 || family !== 4) {
        diag.error(arg, `brd '${arg.text}' must be an IPv4 address of an IPv4 virtual IP`);
        ok = false;
      } else v.brd = arg.text;
    } else if (SCOPES.has(arg.text) || /^\d{1,3}$/.test(arg.text)) {
      v.scope = arg.text;
    } else {
      diag.error(arg, `invalid scope '${arg.text}' (global, site, link, host, nowhere or a number)`);
      ok = false;
    }
  }
  return ok ? v : undefined;
}

const authTable = table<AuthDraft>('authentication', [
  // keepalived's PASS sends the password in clear text in every advert: anyone on the segment can
  // read and replay it. It protects nothing; kept only so existing files load. Use HMAC.
  value('auth_type', {}, (a, [t], ctx) => {
    if (t === undefined) return;
    a.typeAt = t;
    if (t.text === 'PASS' || t.text === 'HMAC') a.type = t.text;
    else if (t.text === 'AH') ctx.diag.error(t, `auth_type AH (IPsec AH) is not supported by ha-agent; use auth_type HMAC with auth_key_file`);
    else ctx.diag.error(t, `unknown auth_type '${t.text}' (PASS or HMAC)`);
  }),
  value('auth_pass', {}, (a, [p], ctx) => {
    if (p === undefined) return;
    if (p.text.length > 8) ctx.diag.warning(p, `auth_pass is longer than 8 characters; keepalived truncates it to '${p.text.slice(0, 8)}' and so does ha-agent`);
    a.pass = p.text.slice(0, 8);
  }),
  // Extension: auth_key_file PATH, used with auth_type HMAC. The file holds the shared key (its raw
  // bytes); it must exist, be non-empty and not be world-readable. A relative path is relative to
  // the directory of the file that names it.
  value('auth_key_file', {}, (a, [p]) => {
    if (p === undefined) return;
    a.keyFile = p.text;
    a.keyFileAt = p;
  }),
]);

function trackList(kind: string, pick: (i: InstanceDraft) => Track[]): KeywordDef<InstanceDraft> {
  return block<InstanceDraft>(kind, { repeatable: true }, (inst, _args, ctx, body) => {
    body.items((words) => {
      const t = trackItem(ctx, words, kind);
      if (!t) return;
      if (kind === 'track_interface' && ifname(ctx.diag, words[0], kind) === undefined) return;
      const list = pick(inst);
      const dup = list.find((x) => x.name === t.name);
      if (dup) ctx.diag.error(t, `${kind} '${t.name}' listed twice (first at line ${dup.line})`);
      else list.push(t);
    });
  });
}

function vipList(name: string, pick: (i: InstanceDraft) => VirtualIp[]): KeywordDef<InstanceDraft> {
  return block<InstanceDraft>(name, { repeatable: true }, (inst, _args, ctx, body) => {
    body.items((words) => {
      const v = vip(ctx, words);
      if (v) pick(inst).push(v);
    });
  });
}

function notifyKw(name: string, key: 'master' | 'backup' | 'fault' | 'stop' | 'any'): KeywordDef<InstanceDraft> {
  return value<InstanceDraft>(name, { min: 1, max: 3 }, (inst, args, ctx) => {
    const c = cmd(ctx, args, true);
    if (c) inst.notify[key] = c;
  });
}

export const vrrpInstanceTable: Table<InstanceDraft> = table<InstanceDraft>('vrrp_instance', [
  value('state', {}, (inst, [a], ctx) => {
    if (a === undefined) return;
    if (a.text === 'MASTER' || a.text === 'BACKUP') {
      inst.state = a.text;
      inst.stateAt = a;
    } else ctx.diag.error(a, `unknown state '${a.text}' (MASTER or BACKUP)`);
  }),
  value('interface', {}, (inst, [a], ctx) => {
    const v = ifname(ctx.diag, a, 'interface');
    if (v !== undefined) inst.interface = v;
  }),
  value('virtual_router_id', {}, (inst, [a], ctx) => {
    const v = int(ctx.diag, a, 'virtual_router_id', 1, 255);
    if (v !== undefined) inst.virtualRouterId = v;
  }),
  value('priority', {}, (inst, [a], ctx) => {
    const v = int(ctx.diag, a, 'priority', 1, 255);
    if (v !== undefined) {
      inst.priority = v;
      inst.priorityAt = ctx.at;
    }
  }),
  // keepalived's range 0.01..255 s. Fractions are always allowed (keepalived rounds them under
  // VRRPv2; our adverts carry centiseconds whatever the version), in steps of 0.01 s.
  value('advert_int', {}, (inst, [a], ctx) => {
    const v = seconds(ctx.diag, a, 'advert_int', 10, 255_000, 10);
    if (v !== undefined) inst.advertIntMs = v;
  }),
  value('version', {}, (inst, [a], ctx) => {
    const v = int(ctx.diag, a, 'version', 2, 3);
    if (v === 2 || v === 3) inst.version = v;
  }),
  // Extension: `vrrp_version 2|3` also accepted inside vrrp_instance, as an alias of keepalived's
  // per-instance `version` (keepalived itself only knows vrrp_version in global_defs).
  value('vrrp_version', {}, (inst, [a], ctx) => {
    const v = int(ctx.diag, a, 'vrrp_version', 2, 3);
    if (v === 2 || v === 3) inst.version = v;
  }),
  value('nopreempt', { min: 0 }, (inst, _a, ctx) => {
    inst.nopreempt = ctx.at;
  }),
  value('preempt_delay', {}, (inst, [a], ctx) => {
    const v = seconds(ctx.diag, a, 'preempt_delay', 0, 1000_000);
    if (v !== undefined) {
      inst.preemptDelayMs = v;
      inst.preemptDelayAt = ctx.at;
    }
  }),
  block('authentication', {}, (inst, _args, ctx, body) => {
    const a: AuthDraft = { file: ctx.at.file, line: ctx.at.line };
    inst.auth = a;
    body.table(authTable, a);
  }),
  vipList('virtual_ipaddress', (i) => i.vips),
  vipList('virtual_ipaddress_excluded', (i) => i.excluded),
  trackList('track_script', (i) => i.trackScripts),
  trackList('track_interface', (i) => i.trackInterfaces),
  flag('dont_track_primary', (i) => {
    i.dontTrackPrimary = true;
  }),
  // Extension: transport udp-multicast|udp-unicast. Adverts travel in UDP datagrams instead of IP
  // protocol 112. Default udp-multicast; like keepalived, a unicast_peer block alone switches the
  // instance to udp-unicast.
  value('transport', {}, (inst, [a], ctx) => {
    if (a === undefined) return;
    if (a.text === 'udp-multicast' || a.text === 'udp-unicast') {
      inst.transport = a.text;
      inst.transportAt = a;
    } else ctx.diag.error(a, `unknown transport '${a.text}' (udp-multicast or udp-unicast)`);
  }),
  // Extension: mcast_group ADDR, the IPv4 multicast group of udp-multicast (default: global_defs'
  // vrrp_mcast_group4, else 224.0.0.18, VRRP's group).
  value('mcast_group', {}, (inst, [a], ctx) => {
    const v = address(ctx.diag, a, 'mcast_group');
    if (v === undefined || a === undefined) return;
    if (isMulticast4(v)) inst.mcastGroup = v;
    else ctx.diag.error(a, `mcast_group '${v}' is not an IPv4 multicast address (224.0.0.0/4)`);
  }),
  // Extension: mcast_port N, the UDP port of adverts for both transports (default 7112; see
  // DEFAULTS.mcastPort in model.ts for why).
  value('mcast_port', {}, (inst, [a], ctx) => {
    const v = int(ctx.diag, a, 'mcast_port', 1, 65535);
    if (v !== undefined) inst.mcastPort = v;
  }),
  value('unicast_src_ip', {}, (inst, [a], ctx) => {
    const v = address(ctx.diag, a, 'unicast_src_ip');
    if (v !== undefined) {
      inst.sourceIp = v;
      inst.sourceIpAt = ctx.at;
    }
  }),
  // keepalived's mcast_src_ip sets the same thing: the source address of our adverts.
  value('mcast_src_ip', {}, (inst, [a], ctx) => {
    const v = address(ctx.diag, a, 'mcast_src_ip');
    if (v !== undefined) inst.sourceIp = v;
  }),
  block('unicast_peer', { repeatable: true }, (inst, _args, ctx, body) => {
    inst.unicastPeerAt ??= ctx.at;
    body.items((words) => {
      const a = words[0];
      const v = address(ctx.diag, a, 'unicast_peer');
      if (words.length > 1) {
        ctx.diag.error(words[1] ?? ctx.at, `unicast_peer options are not supported by ha-agent ('${words[1]?.text ?? ''}')`);
        return;
      }
      if (v === undefined || a === undefined) return;
      if (inst.unicastPeers.includes(v)) ctx.diag.error(a, `unicast_peer ${v} listed twice`);
      else inst.unicastPeers.push(v);
    });
  }),
  notifyKw('notify_master', 'master'),
  notifyKw('notify_backup', 'backup'),
  notifyKw('notify_fault', 'fault'),
  notifyKw('notify_stop', 'stop'),
  notifyKw('notify', 'any'),
  ...garpKeywords<InstanceDraft>(''),
  ignored('smtp_alert', 'ha-agent sends no mail; use notify scripts'),
  ignored('debug', 'use the agent log level'),
  unsupported('use_vmac', 'virtual MAC interfaces are not implemented'),
  unsupported('vmac_xmit_base', 'virtual MAC interfaces are not implemented'),
  unsupported('native_ipv6', 'IPv6 instances are not implemented'),
  unsupported('virtual_routes', 'routes are not managed', true),
  unsupported('virtual_rules', 'routing rules are not managed', true),
  unsupported('track_process', 'only track_script and track_interface are implemented', true),
  unsupported('track_file', 'only track_script and track_interface are implemented', true),
  unsupported('track_bfd', 'only track_script and track_interface are implemented', true),
  unsupported('strict_mode', 'see vrrp_strict'),
  unsupported('lvs_sync_daemon_interface', 'no LVS'),
]);

// ---------------------------------------------------------------------------------------------
// top level

function named(ctx: Ctx, args: Token[], kind: string): string | undefined {
  const n = args[0];
  if (n === undefined) {
    ctx.diag.error(ctx.at, `${kind} needs a name`);
    return undefined;
  }
  return n.text;
}

export const topTable: Table<TopDraft> = table<TopDraft>('the top level', [
  block('global_defs', {}, (top, _args, ctx, body) => {
    if (top.globalAt) ctx.diag.error(ctx.at, `second global_defs block (first at line ${top.globalAt.line}); merge them`);
    top.globalAt ??= ctx.at;
    body.table(globalDefsTable, top.global);
  }),
  block('vrrp_script', { min: 1, repeatable: true }, (top, args, ctx, body) => {
    const name = named(ctx, args, 'vrrp_script');
    if (name === undefined) return;
    const s: ScriptDraft = { name, file: ctx.at.file, line: ctx.at.line, weightReverse: false, initFail: false };
    const dup = top.scripts.find((x) => x.name === name);
    if (dup) ctx.diag.error(ctx.at, `vrrp_script '${name}' defined twice (first at line ${dup.line})`);
    else top.scripts.push(s);
    body.table(vrrpScriptTable, s);
  }),
  block('vrrp_instance', { min: 1, repeatable: true }, (top, args, ctx, body) => {
    const name = named(ctx, args, 'vrrp_instance');
    if (name === undefined) return;
    const inst: InstanceDraft = {
      name, file: ctx.at.file, line: ctx.at.line, vips: [], excluded: [], trackScripts: [], trackInterfaces: [],
      dontTrackPrimary: false, unicastPeers: [], notify: {}, garp: {},
    };
    const dup = top.instances.find((x) => x.name === name);
    if (dup) ctx.diag.error(ctx.at, `vrrp_instance '${name}' defined twice (first at line ${dup.line})`);
    else top.instances.push(inst);
    body.table(vrrpInstanceTable, inst);
  }),
  unsupported('vrrp_sync_group', 'sync groups are not implemented', true),
  unsupported('vrrp_track_process', 'use a vrrp_script', true),
  unsupported('vrrp_track_file', 'use a vrrp_script', true),
  unsupported('static_ipaddress', 'ha-agent manages only virtual IPs', true),
  unsupported('static_routes', 'ha-agent manages only virtual IPs', true),
  unsupported('static_rules', 'ha-agent manages only virtual IPs', true),
  unsupported('virtual_server', 'ha-agent does no LVS load balancing; that is lb\'s job', true),
  unsupported('virtual_server_group', 'ha-agent does no LVS load balancing; that is lb\'s job', true),
  unsupported('bfd_instance', 'BFD is not implemented', true),
  unsupported('linkbeat_use_polling', 'interface state comes from netlink/sysfs'),
]);
