// The virtual IP: `ip addr add|del` and gratuitous ARP, every call through the injected runner.
//
// Choices, and why:
// - Reading state: `ip -j addr show dev IF` (JSON). os.networkInterfaces() keys secondary addresses
//   by their *label* ("eth0:VI_1"), so a VIP added with a label looks like a different interface, and
//   /sys has no IPv4 addresses at all. `ip -j` reports every address with its label and flags.
// - Idempotence: add on a present address and del on an absent one are successes ("present",
//   "absent"). Both the extack wording of current iproute2 ("Address already assigned", "Address not
//   found") and the older RTNETLINK wording ("File exists", "Cannot assign requested address") are
//   recognised; commands run with LC_ALL=C so the text is stable.
// - Fast path (the daemon's default, see net/ip-batch.ts and net/garp.ts): `addr add|del` go to a
//   long-lived `ip -force -batch -` child and GARPs to a long-lived perl AF_PACKET helper, so a
//   transition spawns no process (a spawn stalls node's event loop 10-70 ms on a loaded host).
//   What follows describes the per-call fallback, used when no helper is given or it is down.
// - GARP: `arping -U -c 1 -I IF VIP`. iputils-arping sends the frame at once but then waits one
//   interval (1 s) before exiting, and `-i` takes whole seconds only, so a burst of `repeat` GARPs is
//   `repeat` arping processes started back to back (spaced by garp_interval when set) instead of one
//   arping with `-c repeat` (which would space them 1 s apart). The burst promise resolves when all
//   have exited (~1 s), but the frames are on the wire within milliseconds: callers should not hold
//   a state transition on it.
// - keepalived's schedule: a burst of garp_master_repeat at transition to MASTER, a second burst
//   garp_master_delay later (0 = none), then garp_master_refresh_repeat every garp_master_refresh
//   (0 = never). Defaults are keepalived's: delay 5 s, repeat 5, refresh 0, refresh_repeat 1.
// - IPv6 VIPs are added/removed the same way, but no unsolicited NA is sent (not implemented).

import { isIPv4 } from 'node:net';
import type { GarpSender } from './net/garp.ts';
import type { IpExec } from './net/ip-batch.ts';
import { HaEdgeError, SCRIPT_ENV, describeResult, errorMessage, type CommandRunner, type RunResult } from './runner.ts';

export interface VipSpec {
  readonly address: string;
  readonly prefix: number;
  readonly dev: string;
  /** `IF:NAME`, at most 15 characters, must start with `dev:` (the kernel's rule). */
  readonly label?: string;
}

export interface GarpOptions {
  /** garp_master_delay: ms until the second burst after becoming master; 0 = no second burst. */
  readonly delayMs: number;
  /** garp_master_repeat: GARPs per VIP in each transition burst. */
  readonly repeat: number;
  /** garp_master_refresh: ms between refresh bursts while master; 0 = no refresh. */
  readonly refreshMs: number;
  /** garp_master_refresh_repeat: GARPs per VIP in each refresh burst. */
  readonly refreshRepeat: number;
  /** garp_interval: ms between two GARPs on an interface; 0 = back to back. */
  readonly intervalMs: number;
}

export const KEEPALIVED_GARP_DEFAULTS: GarpOptions = {
  delayMs: 5000,
  repeat: 5,
  refreshMs: 0,
  refreshRepeat: 1,
  intervalMs: 0,
};

export interface VipManagerOptions {
  readonly runner: CommandRunner;
  readonly vips: readonly VipSpec[];
  readonly garp?: Partial<GarpOptions>;
  readonly ipPath?: string;
  readonly arpingPath?: string;
  /** Per command; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Called for every failure and notable event, one line each. */
  readonly log?: (line: string) => void;
  /**
   * `ip addr add|del` through a long-lived `ip -batch` child instead of a spawn per call (the
   * daemon's default; see net/ip-batch.ts). When it cannot answer, the runner is used.
   */
  readonly ipExec?: IpExec;
  /** Gratuitous ARP through a long-lived AF_PACKET helper (net/garp.ts); `arping -U` when unavailable. */
  readonly garpSender?: GarpSender;
}

export type VipOutcome = 'added' | 'present' | 'removed' | 'absent' | 'failed';

export interface VipOpResult {
  readonly vip: VipSpec;
  readonly outcome: VipOutcome;
  /** The command line and stderr for 'failed'. */
  readonly detail?: string;
}

export interface IfAddress {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly label?: string;
  readonly secondary: boolean;
}

export interface GarpBurstResult {
  readonly sent: number;
  readonly failed: number;
}

/** Spacing of arping processes when the helper was configured but is unavailable (see garpBurst). */
const ARPING_MIN_SPACING_MS = 20;

const PRESENT_RE = /File exists|already assigned/i;
const ABSENT_RE = /Cannot assign requested address|Address not found/i;

/** keepalived-style default label `dev:name`, trimmed to the kernel's 15 characters. */
export function defaultLabel(dev: string, name: string): string {
  return `${dev}:${name.replaceAll(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 15);
}

export class VipManager {
  readonly #runner: CommandRunner;
  readonly #vips: readonly VipSpec[];
  readonly #garp: GarpOptions;
  readonly #ip: string;
  readonly #arping: string;
  readonly #timeoutMs: number;
  readonly #log: (line: string) => void;
  readonly #ipExec: IpExec | undefined;
  readonly #garpSender: GarpSender | undefined;
  #secondBurst: NodeJS.Timeout | undefined;
  #refresh: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(o: VipManagerOptions) {
    for (const v of o.vips) {
      if (v.label !== undefined && (!v.label.startsWith(`${v.dev}:`) || v.label.length > 15)) {
        throw new HaEdgeError('ERR_HA_EDGE_VIP', `label '${v.label}' must start with '${v.dev}:' and be at most 15 characters`);
      }
    }
    this.#runner = o.runner;
    this.#vips = o.vips;
    this.#garp = { ...KEEPALIVED_GARP_DEFAULTS, ...o.garp };
    this.#ip = o.ipPath ?? 'ip';
    this.#arping = o.arpingPath ?? 'arping';
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#log = o.log ?? (() => {});
    this.#ipExec = o.ipExec;
    this.#garpSender = o.garpSender;
  }

  get vips(): readonly VipSpec[] {
    return this.#vips;
  }

  /** Adds every VIP; an already present VIP is a success. Never throws: failures are in the result. */
  async add(): Promise<VipOpResult[]> {
    const out: VipOpResult[] = [];
    for (const vip of this.#vips) {
      const args = ['addr', 'add', `${vip.address}/${vip.prefix}`, 'dev', vip.dev];
      if (vip.label !== undefined) args.push('label', vip.label);
      const r = await this.#runIp(args);
      if (r.code === 0) out.push({ vip, outcome: 'added' });
      else if (PRESENT_RE.test(r.stderr)) out.push({ vip, outcome: 'present' });
      else out.push(this.#failed(vip, args, r));
    }
    return out;
  }

  /** Removes every VIP; an absent VIP is a success. Never throws. */
  async remove(): Promise<VipOpResult[]> {
    const out: VipOpResult[] = [];
    for (const vip of this.#vips) out.push(await this.#del(vip));
    return out;
  }

  /** Every address on `dev`, from `ip -j addr show dev DEV`. Throws ERR_HA_EDGE_VIP on failure. */
  async addresses(dev: string): Promise<IfAddress[]> {
    const args = ['-j', 'addr', 'show', 'dev', dev];
    const r = await this.#run(this.#ip, args);
    if (r.code !== 0) throw new HaEdgeError('ERR_HA_EDGE_VIP', describeResult(this.#ip, args, r));
    return parseIpJson(r.stdout);
  }

  /** Whether `vip` (default: every configured VIP) is on its interface now. */
  async hasVip(vip?: VipSpec): Promise<boolean> {
    const wanted = vip === undefined ? this.#vips : [vip];
    const byDev = new Map<string, IfAddress[]>();
    for (const v of wanted) {
      let addrs = byDev.get(v.dev);
      if (addrs === undefined) {
        addrs = await this.addresses(v.dev);
        byDev.set(v.dev, addrs);
      }
      if (!addrs.some((a) => sameAddress(a.local, v.address))) return false;
    }
    return true;
  }

  /**
   * Startup cleanup (a crashed run may have left the VIP): removes each configured VIP found on its
   * interface, and any address carrying one of our configured labels. An address that is the
   * interface's primary, unlabelled address is kept and reported as 'present': that is the address
   * owner's real address (priority 255), not a leftover.
   */
  async removeLeftover(): Promise<VipOpResult[]> {
    const out: VipOpResult[] = [];
    const labels = new Set(this.#vips.flatMap((v) => (v.label === undefined ? [] : [v.label])));
    const devs = [...new Set(this.#vips.map((v) => v.dev))];
    for (const dev of devs) {
      let addrs: IfAddress[];
      try {
        addrs = await this.addresses(dev);
      } catch (err) {
        this.#log(`vip: cannot list addresses of ${dev}: ${errorMessage(err)}`);
        for (const vip of this.#vips.filter((v) => v.dev === dev)) {
          out.push({ vip, outcome: 'failed', detail: errorMessage(err) });
        }
        continue;
      }
      for (const a of addrs) {
        const configured = this.#vips.find((v) => v.dev === dev && sameAddress(v.address, a.local));
        const ours = a.label !== undefined && labels.has(a.label);
        if (configured === undefined && !ours) continue;
        const vip: VipSpec = configured ?? { address: a.local, prefix: a.prefixlen, dev };
        const alias = a.label !== undefined && a.label !== dev;
        if (!ours && !alias && !a.secondary) {
          out.push({ vip, outcome: 'present', detail: 'primary address of the interface: kept' });
          continue;
        }
        // Delete with the prefix actually on the interface, which may differ from the config's.
        const r = await this.#del({ ...vip, prefix: a.prefixlen });
        out.push({ ...r, vip });
        if (r.outcome === 'removed') this.#log(`vip: removed leftover ${a.local}/${a.prefixlen} from ${dev}`);
      }
    }
    return out;
  }

  /**
   * One burst of gratuitous ARP for every IPv4 VIP: `repeat` arping processes per VIP, started back
   * to back (or garp_interval apart). Resolves when they have all exited.
   */
  async garpBurst(repeat = this.#garp.repeat): Promise<GarpBurstResult> {
    const helper = this.#garpSender;
    if (helper?.available === true) {
      // One line per frame to the helper: no process, no event-loop stall; spacing as configured.
      const sends: Promise<boolean>[] = [];
      for (const vip of this.#vips) {
        if (!isIPv4(vip.address)) continue;
        for (let i = 0; i < repeat; i++) {
          if (this.#garp.intervalMs > 0 && sends.length > 0) await sleep(this.#garp.intervalMs);
          sends.push(helper.send(vip.dev, vip.address));
        }
      }
      const ok = await Promise.all(sends);
      const failed = ok.filter((x) => !x).length;
      if (failed > 0) this.#log(`vip: ${failed} of ${ok.length} gratuitous ARPs not sent by the helper`);
      return { sent: ok.length - failed, failed };
    }
    const runs: Promise<RunResult>[] = [];
    // arping fallback: a process per GARP, so never back to back (each spawn stalls the event loop;
    // spaced, the advert timer runs between two spawns).
    const spacing = Math.max(this.#garp.intervalMs, this.#garpSender === undefined ? this.#garp.intervalMs : ARPING_MIN_SPACING_MS);
    for (const vip of this.#vips) {
      if (!isIPv4(vip.address)) continue;
      for (let i = 0; i < repeat; i++) {
        if (spacing > 0 && runs.length > 0) await sleep(spacing);
        runs.push(this.#run(this.#arping, ['-U', '-c', '1', '-I', vip.dev, vip.address]));
      }
    }
    const results = await Promise.all(runs);
    const failed = results.filter((r) => r.code !== 0);
    for (const r of failed.slice(0, 1)) this.#log(`vip: gratuitous ARP failed: ${describeResult(this.#arping, [], r)}`);
    return { sent: results.length - failed.length, failed: failed.length };
  }

  /**
   * keepalived's schedule after becoming master: a burst now, a second burst after garp_master_delay,
   * then refresh bursts every garp_master_refresh. Returns the first burst's promise; later bursts
   * run on timers until `stopGarp()`.
   */
  startGarp(): Promise<GarpBurstResult> {
    this.stopGarp();
    if (this.#garp.delayMs > 0) {
      this.#secondBurst = setTimeout(() => {
        this.#secondBurst = undefined;
        this.#track(this.garpBurst());
      }, this.#garp.delayMs);
      this.#secondBurst.unref();
    }
    if (this.#garp.refreshMs > 0) {
      this.#refresh = setInterval(() => this.#track(this.garpBurst(this.#garp.refreshRepeat)), this.#garp.refreshMs);
      this.#refresh.unref();
    }
    const first = this.garpBurst();
    this.#track(first);
    return first;
  }

  /** Cancels the second burst and the refresh (on leaving MASTER). */
  stopGarp(): void {
    if (this.#secondBurst !== undefined) clearTimeout(this.#secondBurst);
    if (this.#refresh !== undefined) clearInterval(this.#refresh);
    this.#secondBurst = undefined;
    this.#refresh = undefined;
  }

  /** Stops timers and waits for GARP processes still running (lifecycle: stop after any start). */
  async close(): Promise<void> {
    this.stopGarp();
    await Promise.allSettled([...this.#inflight]);
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    p.then(
      () => this.#inflight.delete(p),
      (err: unknown) => {
        this.#inflight.delete(p);
        this.#log(`vip: gratuitous ARP burst failed: ${String(err)}`);
      },
    );
  }

  async #del(vip: VipSpec): Promise<VipOpResult> {
    const args = ['addr', 'del', `${vip.address}/${vip.prefix}`, 'dev', vip.dev];
    const r = await this.#runIp(args);
    if (r.code === 0) return { vip, outcome: 'removed' };
    if (ABSENT_RE.test(r.stderr)) return { vip, outcome: 'absent' };
    return this.#failed(vip, args, r);
  }

  #failed(vip: VipSpec, args: readonly string[], r: RunResult): VipOpResult {
    const detail = describeResult(this.#ip, args, r);
    this.#log(`vip: ${detail}`);
    return { vip, outcome: 'failed', detail };
  }

  /** addr add|del: the batch helper when there is one and it answers, else a process. */
  async #runIp(args: readonly string[]): Promise<RunResult> {
    if (this.#ipExec !== undefined) {
      const r = await this.#ipExec.exec(args);
      if (r.spawnError === undefined) return r;
      this.#log(`vip: ip batch helper unavailable (${r.spawnError}); running ${this.#ip} ${args.join(' ')}`);
    }
    return this.#run(this.#ip, args);
  }

  #run(file: string, args: readonly string[]): Promise<RunResult> {
    return this.#runner.run(file, args, { timeoutMs: this.#timeoutMs, env: SCRIPT_ENV });
  }
}

/** Parses `ip -j addr show` output into a flat address list; tolerant of unknown fields. */
export function parseIpJson(text: string): IfAddress[] {
  let data: unknown;
  try {
    data = JSON.parse(text === '' ? '[]' : text);
  } catch (err) {
    throw new HaEdgeError('ERR_HA_EDGE_VIP', `unparseable 'ip -j addr' output: ${String(err)}`);
  }
  const out: IfAddress[] = [];
  if (!Array.isArray(data)) return out;
  for (const link of data as unknown[]) {
    if (!isRecord(link)) continue;
    const info: unknown = link.addr_info;
    if (!Array.isArray(info)) continue;
    for (const a of info as unknown[]) {
      if (!isRecord(a)) continue;
      if ((a.family !== 'inet' && a.family !== 'inet6') || typeof a.local !== 'string') continue;
      out.push({
        family: a.family,
        local: a.local,
        prefixlen: typeof a.prefixlen === 'number' ? a.prefixlen : 32,
        ...(typeof a.label === 'string' ? { label: a.label } : {}),
        secondary: a.secondary === true,
      });
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
