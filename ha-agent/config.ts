// keepalived.conf → typed model (ha-agent's configuration, issue 4 "Configuration").
// Stages: tokenizer.ts (lines, quotes, comments, includes, $VAR, @host) → keywords.ts walking the
// tables of sections.ts (one per block) → here: defaults and cross-checks. Every diagnostic is
// collected; the caller fails at the end if any is an error.
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { Diagnostics, errnoCode } from './config/diagnostics.ts';
import type { Diagnostic } from './config/diagnostics.ts';
import { Parser } from './config/keywords.ts';
import { DEFAULTS } from './config/model.ts';
import type { Auth, GlobalDefs, KeepalivedConfig, VrrpInstance, VrrpScript } from './config/model.ts';
import { topTable } from './config/sections.ts';
import type { InstanceDraft, ScriptDraft, TopDraft } from './config/sections.ts';
import { diskSource, tokenize } from './config/tokenizer.ts';
import type { ConfigSource } from './config/tokenizer.ts';

export type { Diagnostic } from './config/diagnostics.ts';
export { formatDiagnostic } from './config/diagnostics.ts';
export type * from './config/model.ts';
export { DEFAULTS } from './config/model.ts';
export type { ConfigSource } from './config/tokenizer.ts';

export interface LoadOptions {
  /** keepalived's `-i`: which `@ID` lines apply. Default: the host name up to its first dot. */
  readonly configId?: string;
  readonly source?: ConfigSource;
  /**
   * Network interfaces of this host, to warn about unknown ones (keepalived fails on them; we only
   * warn, because `-t` is often run on another machine than the one the file is for). Undefined:
   * read /sys/class/net; null: skip the check.
   */
  readonly interfaces?: ReadonlySet<string> | null;
}

export interface LoadResult {
  /** Present whenever parsing got far enough; trust it only when there is no error diagnostic. */
  readonly config: KeepalivedConfig;
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
}

export function defaultConfigId(): string {
  return hostname().split('.')[0] ?? '';
}

function hostInterfaces(): ReadonlySet<string> | null {
  try {
    return new Set(readdirSync('/sys/class/net'));
  } catch {
    return null;
  }
}

/** Reads and checks `path`; an unreadable main file is reported as a diagnostic at line 0. */
export function loadConfigFile(path: string, opts: LoadOptions = {}): LoadResult {
  const source = opts.source ?? diskSource;
  let text: string;
  try {
    text = source.readFile(path);
  } catch (err) {
    const d = new Diagnostics();
    d.error({ file: path, line: 0 }, `cannot read configuration file: ${errnoCode(err)}`);
    return { config: emptyConfig([path]), diagnostics: d.list, ok: false };
  }
  return parseConfig(path, text, opts);
}

/** Parses `text` as the contents of `file` (includes are read through `opts.source`). */
export function parseConfig(file: string, text: string, opts: LoadOptions = {}): LoadResult {
  const diag = new Diagnostics();
  const source = opts.source ?? diskSource;
  const { tokens, files } = tokenize(file, text, { configId: opts.configId ?? defaultConfigId(), source, diagnostics: diag });
  const top: TopDraft = { global: { enableScriptSecurity: false, garp: {}, ignored: [] }, scripts: [], instances: [] };
  new Parser(tokens, diag, source).parseTop(topTable, top);
  const interfaces = opts.interfaces === undefined ? hostInterfaces() : opts.interfaces;
  const config = finish(top, files, diag, source, interfaces);
  return { config, diagnostics: diag.list, ok: diag.errorCount === 0 };
}

function emptyConfig(files: string[]): KeepalivedConfig {
  return {
    files,
    globalDefs: { enableScriptSecurity: false, vrrpVersion: 2, mcastGroup4: DEFAULTS.mcastGroup4, garp: DEFAULTS.garp, ignored: [] },
    scripts: [],
    instances: [],
  };
}

function finish(
  top: TopDraft, files: string[], diag: Diagnostics, source: ConfigSource, interfaces: ReadonlySet<string> | null,
): KeepalivedConfig {
  const g = top.global;
  const globalDefs: GlobalDefs = {
    ...(g.routerId !== undefined && { routerId: g.routerId }),
    ...(g.scriptUser !== undefined && { scriptUser: g.scriptUser }),
    enableScriptSecurity: g.enableScriptSecurity,
    vrrpVersion: g.vrrpVersion ?? 2,
    mcastGroup4: g.mcastGroup4 ?? DEFAULTS.mcastGroup4,
    garp: { ...DEFAULTS.garp, ...g.garp },
    ...(g.processNice !== undefined && { processNice: g.processNice }),
    ...(g.rtPriority !== undefined && { rtPriority: g.rtPriority }),
    ignored: g.ignored,
  };
  const scripts = top.scripts.flatMap((s) => finishScript(s, diag));
  const instances = top.instances.flatMap((i) => finishInstance(i, globalDefs, top.scripts, diag, source, interfaces));
  crossCheck(instances, diag);
  if (scripts.length > 0 || instances.some((i) => Object.keys(i.notify).length > 0)) {
    if (!globalDefs.enableScriptSecurity) {
      const at = top.scripts[0] ?? top.instances[0] ?? { file: files[0] ?? '', line: 1 };
      diag.warning(at, `scripts are configured but enable_script_security is not set in global_defs; they will run as root (keepalived -t exits 6 for this)`);
    }
  }
  return { files, globalDefs, scripts, instances };
}

function finishScript(s: ScriptDraft, diag: Diagnostics): VrrpScript[] {
  if (s.script === undefined) {
    diag.error(s, `vrrp_script '${s.name}' has no 'script'`);
    return [];
  }
  const intervalMs = s.intervalMs ?? DEFAULTS.scriptIntervalMs;
  return [{
    name: s.name, file: s.file, line: s.line, script: s.script, intervalMs,
    // keepalived: a script without timeout may run for a whole interval.
    timeoutMs: s.timeoutMs ?? intervalMs,
    weight: s.weight ?? 0, weightReverse: s.weightReverse, fall: s.fall ?? 1, rise: s.rise ?? 1,
    ...(s.user !== undefined && { user: s.user }),
    ...(s.group !== undefined && { group: s.group }),
    initFail: s.initFail,
  }];
}

function finishAuth(i: InstanceDraft, diag: Diagnostics, source: ConfigSource): Auth | undefined {
  const a = i.auth;
  if (a === undefined) return undefined;
  if (a.type === undefined) {
    if (a.typeAt === undefined) diag.error(a, `authentication block without auth_type`);
    return undefined;
  }
  if (a.type === 'PASS') {
    if (a.keyFileAt) diag.error(a.keyFileAt, `auth_key_file is only used with auth_type HMAC`);
    if (a.pass === undefined || a.pass === '') {
      diag.error(a, `auth_type PASS needs auth_pass`);
      return undefined;
    }
    return { type: 'PASS', pass: a.pass };
  }
  if (a.pass !== undefined) diag.error(a.typeAt ?? a, `auth_type HMAC takes auth_key_file, not auth_pass`);
  if (a.keyFile === undefined || a.keyFileAt === undefined) {
    diag.error(a.typeAt ?? a, `auth_type HMAC needs auth_key_file PATH`);
    return undefined;
  }
  const path = isAbsolute(a.keyFile) ? a.keyFile : join(dirname(a.keyFileAt.file), a.keyFile);
  const st = source.stat(path);
  if (st === undefined) diag.error(a.keyFileAt, `auth_key_file '${path}' does not exist`);
  else if (!st.isFile) diag.error(a.keyFileAt, `auth_key_file '${path}' is not a regular file`);
  else if (st.size === 0) diag.error(a.keyFileAt, `auth_key_file '${path}' is empty`);
  else if ((st.mode & 0o004) !== 0) diag.error(a.keyFileAt, `auth_key_file '${path}' is world-readable; chmod o-r it`);
  else return { type: 'HMAC', keyFile: path };
  return undefined;
}

function finishInstance(
  i: InstanceDraft, g: GlobalDefs, scripts: readonly ScriptDraft[], diag: Diagnostics, source: ConfigSource,
  interfaces: ReadonlySet<string> | null,
): VrrpInstance[] {
  let ok = true;
  const need = (v: unknown, what: string): void => {
    if (v === undefined) {
      diag.error(i, `vrrp_instance ${i.name} has no ${what}`);
      ok = false;
    }
  };
  need(i.interface, 'interface');
  need(i.virtualRouterId, 'virtual_router_id');
  if (i.vips.length === 0) diag.warning(i, `vrrp_instance ${i.name} has no virtual_ipaddress; at least one is sensible`);
  // keepalived: the instance's family is the first VIP's; others must match it.
  const fam = i.vips[0]?.family;
  for (const v of i.vips) {
    if (v.family !== fam) diag.error(v, `virtual IP ${v.address} is IPv${v.family} but this instance is IPv${fam ?? 4} (set by its first virtual IP)`);
    if (v.label !== undefined) {
      const dev = v.dev ?? i.interface ?? '';
      if (v.label !== dev && !v.label.startsWith(`${dev}:`)) diag.error(v, `label '${v.label}' must start with '${dev}:' (Linux requires the interface name as prefix)`);
      else if (v.label.length > 15) diag.error(v, `label '${v.label}' is longer than 15 characters`);
    }
  }
  if (fam === 6) diag.error(i.vips[0] ?? i, `IPv6 instances are not implemented by ha-agent`);
  for (const t of i.trackScripts) {
    const s = scripts.find((x) => x.name === t.name);
    if (s === undefined) {
      diag.error(t, `track_script '${t.name}' names no vrrp_script`);
      ok = false;
    } else if (s.line > t.line && s.file === t.file) {
      diag.warning(t, `vrrp_script '${t.name}' is defined after its use (line ${s.line}); keepalived would not find it`);
    }
  }
  for (const t of [...i.trackInterfaces, ...(i.interface ? [{ name: i.interface, file: i.file, line: i.line }] : [])]) {
    if (interfaces && !interfaces.has(t.name)) diag.warning(t, `interface ${t.name} does not exist on this host`);
  }
  // keepalived (vrrp_parser/vrrp.c): without priority, MASTER means owner (255) else 100; without
  // state, priority 255 means MASTER, else BACKUP.
  const priority = i.priority ?? (i.state === 'MASTER' ? 255 : DEFAULTS.priority);
  const state = i.state ?? (priority === 255 ? 'MASTER' : 'BACKUP');
  if (priority === 255 && state === 'BACKUP' && i.priorityAt) {
    diag.warning(i.priorityAt, `priority 255 marks the address owner, which always starts as MASTER; state BACKUP is ignored`);
  }
  if (priority === 255 && (i.trackScripts.some((t) => t.weight !== 0) || i.trackInterfaces.length > 0) && i.priorityAt) {
    diag.warning(i.priorityAt, `tracks with weights do not change the priority of an address owner (priority 255)`);
  }
  if (state === 'MASTER' && i.nopreempt) diag.warning(i.nopreempt, `nopreempt has no effect with state MASTER; use state BACKUP`);
  if (state === 'MASTER' && i.preemptDelayAt) diag.warning(i.preemptDelayAt, `preempt_delay has no effect with state MASTER; use state BACKUP`);
  // keepalived switches to unicast when unicast_peer is given; an explicit contradiction is an error.
  let transport = i.transport ?? (i.unicastPeers.length > 0 ? 'udp-unicast' : 'udp-multicast');
  if (transport === 'udp-multicast' && i.unicastPeers.length > 0 && i.transportAt) {
    diag.error(i.transportAt, `unicast_peer is given but transport is udp-multicast; remove one of them`);
  }
  if (transport === 'udp-unicast' && i.unicastPeers.length === 0) {
    diag.error(i.transportAt ?? i.unicastPeerAt ?? i, `transport udp-unicast needs a unicast_peer block with at least one address`);
    transport = 'udp-unicast';
  }
  if (i.sourceIpAt && i.unicastPeers.length === 0 && transport === 'udp-multicast') {
    diag.error(i.sourceIpAt, `unicast_src_ip without unicast_peer (keepalived falls back to multicast); add unicast_peer or use mcast_src_ip`);
  }
  const auth = finishAuth(i, diag, source);
  if (!ok || i.interface === undefined || i.virtualRouterId === undefined) return [];
  return [{
    name: i.name, file: i.file, line: i.line, state, interface: i.interface, virtualRouterId: i.virtualRouterId,
    priority, advertIntMs: i.advertIntMs ?? DEFAULTS.advertIntMs, version: i.version ?? g.vrrpVersion,
    nopreempt: i.nopreempt !== undefined && state === 'BACKUP',
    preemptDelayMs: state === 'BACKUP' ? (i.preemptDelayMs ?? 0) : 0,
    ...(auth !== undefined && { auth }),
    virtualIpaddresses: i.vips, virtualIpaddressesExcluded: i.excluded,
    trackScripts: i.trackScripts, trackInterfaces: i.trackInterfaces, dontTrackPrimary: i.dontTrackPrimary,
    transport, mcastGroup: i.mcastGroup ?? g.mcastGroup4, mcastPort: i.mcastPort ?? DEFAULTS.mcastPort,
    ...(i.sourceIp !== undefined && { sourceIp: i.sourceIp }),
    unicastPeers: i.unicastPeers, notify: i.notify, garp: { ...g.garp, ...i.garp },
  }];
}

function crossCheck(instances: readonly VrrpInstance[], diag: Diagnostics): void {
  for (let a = 0; a < instances.length; a++) {
    for (let b = a + 1; b < instances.length; b++) {
      const x = instances[a];
      const y = instances[b];
      if (!x || !y) continue;
      if (x.virtualRouterId === y.virtualRouterId && x.interface === y.interface && x.mcastPort === y.mcastPort) {
        diag.error(y, `vrrp_instance ${y.name} uses virtual_router_id ${y.virtualRouterId} on ${y.interface}, like ${x.name} (line ${x.line})`);
      }
    }
  }
}
