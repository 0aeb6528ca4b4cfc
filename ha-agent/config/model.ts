// Typed model of keepalived.conf as ha-agent understands it. Durations are integer milliseconds;
// every named object keeps the location it was declared at so that later stages (the daemon,
// hactl) can point operators at the right line.
import type { Location } from './diagnostics.ts';

/** A command line as written (`line`) and split into argv with shell-like quoting (`argv`). */
export interface Command {
  readonly line: string;
  readonly argv: readonly string[];
  /** keepalived's optional `USER [GROUP]` after a notify script. */
  readonly user?: string;
  readonly group?: string;
}

export interface Garp {
  /** Delay before the second burst of gratuitous ARPs after becoming master (keepalived default 5 s). */
  readonly masterDelayMs: number;
  /** Number of gratuitous ARPs per burst (keepalived default 5). */
  readonly masterRepeat: number;
  /** Period of the optional refresh burst while master; 0 = off. */
  readonly masterRefreshMs: number;
  readonly masterRefreshRepeat: number;
  /** Gap between two gratuitous ARPs of one burst; 0 = back to back. */
  readonly intervalMs: number;
  /** Number of gratuitous ARPs when an advert of lower priority is received while master. */
  readonly lowerPrioRepeat: number;
}

export interface GlobalDefs {
  readonly routerId?: string;
  readonly scriptUser?: { readonly user: string; readonly group?: string };
  readonly enableScriptSecurity: boolean;
  readonly vrrpVersion: 2 | 3;
  readonly mcastGroup4: string;
  readonly garp: Garp;
  /** `vrrp_priority`: the agent's nice value (-20..19); absent = ha-agent's default (sched.ts). */
  readonly processNice?: number;
  /** `vrrp_rt_priority`: SCHED_RR priority 1..99; absent = not real time. */
  readonly rtPriority?: number;
  /** Keywords accepted for compatibility that ha-agent does not act on (each also got a warning). */
  readonly ignored: readonly string[];
}

export interface VrrpScript extends Location {
  readonly name: string;
  readonly script: Command;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly weight: number;
  readonly weightReverse: boolean;
  readonly fall: number;
  readonly rise: number;
  readonly user?: string;
  readonly group?: string;
  readonly initFail: boolean;
}

export interface VirtualIp extends Location {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
  readonly dev?: string;
  readonly label?: string;
  readonly brd?: string;
  readonly scope?: string;
}

export interface Track extends Location {
  readonly name: string;
  /** Absent: the track has no weight (a failure puts the instance in FAULT, keepalived's rule). */
  readonly weight?: number;
  readonly reverse: boolean;
}

export type Auth =
  | { readonly type: 'PASS'; readonly pass: string }
  | { readonly type: 'HMAC'; readonly keyFile: string };

export type Transport = 'udp-multicast' | 'udp-unicast';

export interface Notify {
  readonly master?: Command;
  readonly backup?: Command;
  readonly fault?: Command;
  readonly stop?: Command;
  /** `notify SCRIPT`: called for every transition with `INSTANCE NAME STATE PRIORITY` appended. */
  readonly any?: Command;
}

export interface VrrpInstance extends Location {
  readonly name: string;
  readonly state: 'MASTER' | 'BACKUP';
  readonly interface: string;
  readonly virtualRouterId: number;
  readonly priority: number;
  readonly advertIntMs: number;
  readonly version: 2 | 3;
  readonly nopreempt: boolean;
  readonly preemptDelayMs: number;
  readonly auth?: Auth;
  readonly virtualIpaddresses: readonly VirtualIp[];
  readonly virtualIpaddressesExcluded: readonly VirtualIp[];
  readonly trackScripts: readonly Track[];
  readonly trackInterfaces: readonly Track[];
  readonly dontTrackPrimary: boolean;
  readonly transport: Transport;
  readonly mcastGroup: string;
  readonly mcastPort: number;
  readonly sourceIp?: string;
  readonly unicastPeers: readonly string[];
  readonly notify: Notify;
  readonly garp: Garp;
}

export interface KeepalivedConfig {
  readonly files: readonly string[];
  readonly globalDefs: GlobalDefs;
  readonly scripts: readonly VrrpScript[];
  readonly instances: readonly VrrpInstance[];
}

/** Defaults, keepalived's where keepalived has one. */
export const DEFAULTS = {
  priority: 100,
  advertIntMs: 1000,
  mcastGroup4: '224.0.0.18',
  // Our UDP transport needs a port; 112 is VRRP's IP protocol number, not a port. 5405 was
  // considered and rejected: it is corosync's default, which often runs on the same HA hosts.
  // 7112 is unassigned in /etc/services, recalls protocol 112, needs no privilege (> 1023) and is
  // below Linux's ephemeral range (32768+), so no client socket will ever hold it.
  mcastPort: 7112,
  scriptIntervalMs: 1000,
  garp: {
    masterDelayMs: 5000,
    masterRepeat: 5,
    masterRefreshMs: 0,
    masterRefreshRepeat: 1,
    intervalMs: 0,
    lowerPrioRepeat: 5,
  } satisfies Garp,
} as const;
