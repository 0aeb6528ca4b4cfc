// Config model (ha-agent/config.ts) → what the daemon needs to run one vrrp_instance: fsm params,
// advert authentication, VIP specs, transport, trackers, notify scripts, GARP schedule, and an
// identity key that tells a reload whether the instance must restart or can be updated in place.
//
// Pure apart from reading the HMAC key file (injectable), so it is tested without a host.
//
// keepalived semantics carried over, and our reading where keepalived's documentation is thin:
// - track_script weight: the weight written in `track_script { NAME weight N }` overrides the
//   vrrp_script's; a vrrp_script without weight has weight 0 (keepalived 2.x), i.e. failure → FAULT.
// - `reverse` (track_script/track_interface item or vrrp_script `weight N reverse`): "the direction
//   of the adjustment of the priority is reversed". We read it as: the same trigger, the opposite
//   sign — `weight 10 reverse` subtracts 10 while the script succeeds, `weight -10 reverse` adds 10
//   while it fails, `weight 0 reverse` is FAULT while it succeeds. The fsm only knows "weight counts
//   while OK (w > 0) / while failing (w < 0)", so a reversed track is handed to it with the weight
//   negated and the result inverted (see trackOk).
// - track_interface without weight: FAULT while down (weight 0 for the fsm); with weight: as scripts.
// - The instance's own interface is tracked (FAULT while down) unless dont_track_primary.
// - Every VIP gets a label `IF:INSTANCE` (15 characters at most) unless it has one: the issue asks
//   for `label IF:NAME`, and the label lets a restarted agent find a leftover VIP (improvement 3).
import { readFileSync } from 'node:fs';
import type { Command, KeepalivedConfig, VirtualIp, VrrpInstance, VrrpScript } from './config.ts';
import type { NotifyScripts } from './notify.ts';
import type { GarpOptions, VipSpec } from './vip.ts';
import { defaultLabel } from './vip.ts';
import type { AdvertAuth } from './vrrp/packet.ts';
import type { InstanceParams } from './vrrp/types.ts';

export type TransportSpec =
  | {
      readonly kind: 'udp-multicast';
      readonly iface: string;
      readonly group: string;
      readonly port: number;
      /** mcast_src_ip/unicast_src_ip when given; else the interface's primary IPv4 address. */
      readonly srcIp?: string;
    }
  | {
      readonly kind: 'udp-unicast';
      readonly iface: string;
      readonly srcIp?: string;
      readonly peers: readonly string[];
      readonly port: number;
    };

/** One track_script entry of one instance. `track` is the name the fsm knows it by. */
export interface ScriptTrackSpec {
  readonly track: string;
  readonly script: VrrpScript;
  /** Weight as the fsm applies it (already negated for `reverse`). */
  readonly weight: number;
  readonly reverse: boolean;
}

/** One track_interface entry. */
export interface InterfaceTrackSpec {
  readonly track: string;
  readonly iface: string;
  readonly weight: number;
  readonly reverse: boolean;
}

export interface InstancePlan {
  readonly name: string;
  /** fsm params without `address`: that is the transport's local address, known once it is open. */
  readonly params: Omit<InstanceParams, 'address'>;
  readonly auth: AdvertAuth;
  /** virtual_ipaddress entries as `ADDR/PREFIX` (what the advert digest covers). */
  readonly vipSet: readonly string[];
  /** virtual_ipaddress + virtual_ipaddress_excluded, as `ip addr` will add them. */
  readonly vips: readonly VipSpec[];
  readonly transport: TransportSpec;
  readonly scripts: readonly ScriptTrackSpec[];
  readonly interfaces: readonly InterfaceTrackSpec[];
  /** FAULT while the instance's own interface is down (not dont_track_primary). */
  readonly trackPrimary: boolean;
  readonly notify: NotifyScripts;
  readonly garp: GarpOptions;
  /** keepalived vrrp_lower_prio_no_advert's sibling: GARPs when a lower master is heard. */
  readonly lowerPrioGarpRepeat: number;
  /** Equal identity → a reload updates the running instance in place; different → restart it. */
  readonly identity: string;
  /** The parts of `identity`, to say what changed. */
  readonly identityParts: Readonly<Record<string, string>>;
}

export interface AdaptOptions {
  /** Reads the HMAC key file; default fs.readFileSync. */
  readonly readKey?: (path: string) => Buffer;
}

export class AdaptError extends Error {
  readonly code = 'ERR_HA_ADAPT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdaptError';
  }
}

/** Name of the fsm track for `track_interface IF`; scripts keep their vrrp_script name. */
export function interfaceTrackName(iface: string): string {
  return `if:${iface}`;
}

/** The fsm's notion of a track's health from the raw result (see `reverse` above). */
export function trackOk(rawOk: boolean, reverse: boolean): boolean {
  return reverse ? !rawOk : rawOk;
}

function fsmWeight(weight: number, reverse: boolean): number {
  return reverse ? -weight : weight;
}

function argvOf(c: Command | undefined): readonly string[] | undefined {
  return c === undefined || c.argv.length === 0 ? undefined : c.argv;
}

function vipSpec(v: VirtualIp, inst: VrrpInstance): VipSpec {
  const dev = v.dev ?? inst.interface;
  return { address: v.address, prefix: v.prefix, dev, label: v.label ?? defaultLabel(dev, inst.name) };
}

/** Maps one instance of a checked configuration; throws AdaptError when the key cannot be read. */
export function adaptInstance(inst: VrrpInstance, config: KeepalivedConfig, o: AdaptOptions = {}): InstancePlan {
  const scripts: ScriptTrackSpec[] = [];
  for (const t of inst.trackScripts) {
    const s = config.scripts.find((x) => x.name === t.name);
    if (s === undefined) throw new AdaptError(`track_script ${t.name} names no vrrp_script`);
    if (scripts.some((x) => x.track === t.name)) continue;
    const reverse = t.reverse || (t.weight === undefined && s.weightReverse);
    scripts.push({ track: t.name, script: s, weight: fsmWeight(t.weight ?? s.weight, reverse), reverse });
  }
  const interfaces: InterfaceTrackSpec[] = [];
  for (const t of inst.trackInterfaces) {
    const track = interfaceTrackName(t.name);
    if (interfaces.some((x) => x.track === track)) continue;
    interfaces.push({ track, iface: t.name, weight: fsmWeight(t.weight ?? 0, t.reverse), reverse: t.reverse });
  }
  const params: Omit<InstanceParams, 'address'> = {
    name: inst.name,
    vrid: inst.virtualRouterId,
    priority: inst.priority,
    advertIntervalMs: inst.advertIntMs,
    initialState: inst.state,
    nopreempt: inst.nopreempt,
    preemptDelayMs: inst.preemptDelayMs,
    // initiallyOk here is the configured start (init_fail); the daemon corrects interface tracks
    // with the link state it reads before the fsm starts.
    tracks: [
      ...scripts.map((s) => ({ name: s.track, weight: s.weight, initiallyOk: trackOk(!s.script.initFail, s.reverse) })),
      ...interfaces.map((i) => ({ name: i.track, weight: i.weight, initiallyOk: trackOk(true, i.reverse) })),
    ],
  };
  const transport: TransportSpec =
    inst.transport === 'udp-unicast'
      ? {
          kind: 'udp-unicast', iface: inst.interface, peers: inst.unicastPeers, port: inst.mcastPort,
          ...(inst.sourceIp !== undefined && { srcIp: inst.sourceIp }),
        }
      : {
          kind: 'udp-multicast', iface: inst.interface, group: inst.mcastGroup, port: inst.mcastPort,
          ...(inst.sourceIp !== undefined && { srcIp: inst.sourceIp }),
        };
  const vips = [...inst.virtualIpaddresses, ...inst.virtualIpaddressesExcluded].map((v) => vipSpec(v, inst));
  const vipSet = inst.virtualIpaddresses.map((v) => `${v.address}/${v.prefix}`);
  const n = {
    master: argvOf(inst.notify.master), backup: argvOf(inst.notify.backup), fault: argvOf(inst.notify.fault),
    stop: argvOf(inst.notify.stop), generic: argvOf(inst.notify.any),
  };
  const notify: NotifyScripts = {
    ...(n.master !== undefined && { master: n.master }),
    ...(n.backup !== undefined && { backup: n.backup }),
    ...(n.fault !== undefined && { fault: n.fault }),
    ...(n.stop !== undefined && { stop: n.stop }),
    ...(n.generic !== undefined && { generic: n.generic }),
  };
  const g = inst.garp;
  const garp: GarpOptions = {
    delayMs: g.masterDelayMs, repeat: g.masterRepeat, refreshMs: g.masterRefreshMs,
    refreshRepeat: g.masterRefreshRepeat, intervalMs: g.intervalMs,
  };
  const identityParts: Record<string, string> = {
    interface: inst.interface,
    vrid: String(inst.virtualRouterId),
    version: String(inst.version),
    vips: vips.map((v) => `${v.address}/${v.prefix} dev ${v.dev} label ${v.label ?? ''}`).sort(byText).join(', '),
    'VIP set': [...vipSet].sort(byText).join(', '),
    transport: JSON.stringify(transport),
    // Crossing 255 changes what the instance is (the address owner), not just a number.
    owner: String(inst.priority === 255),
  };
  const identity = JSON.stringify(identityParts);
  return {
    name: inst.name, params, auth: adaptAuth(inst, o), vipSet, vips, transport, scripts, interfaces,
    trackPrimary: !inst.dontTrackPrimary, notify, garp, lowerPrioGarpRepeat: g.lowerPrioRepeat, identity, identityParts,
  };
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function adaptAuth(inst: VrrpInstance, o: AdaptOptions): AdvertAuth {
  const a = inst.auth;
  if (a === undefined) return { type: 'none' };
  if (a.type === 'PASS') return { type: 'pass', password: a.pass };
  let key: Buffer;
  try {
    key = (o.readKey ?? ((p: string) => readFileSync(p)))(a.keyFile);
  } catch (err) {
    throw new AdaptError(`vrrp_instance ${inst.name}: cannot read auth_key_file ${a.keyFile}: ${String(err)}`, { cause: err });
  }
  if (key.length === 0) throw new AdaptError(`vrrp_instance ${inst.name}: auth_key_file ${a.keyFile} is empty`);
  return { type: 'hmac', key };
}

/** Two auth settings are the same (a reload that changes them clears the replay guard). */
export function sameAuth(a: AdvertAuth, b: AdvertAuth): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'pass' && b.type === 'pass') return a.password === b.password;
  if (a.type === 'hmac' && b.type === 'hmac') return a.key.equals(b.key);
  return true;
}

/** Identity of a vrrp_script's definition: a changed one gets a new tracker on reload. */
export function scriptIdentity(s: VrrpScript): string {
  return JSON.stringify([s.script.argv, s.intervalMs, s.timeoutMs, s.fall, s.rise, s.user ?? '', s.group ?? '', s.initFail]);
}
