// track_interface: is the link usable? Polled from sysfs, not watched with `ip monitor link`.
//
// Why polling: reading /sys/class/net/IF/{flags,operstate,carrier} is three tiny reads (~10 µs each)
// with no child process to supervise, restart, parse or kill on reload, and the 100 ms default
// period is well under one advert interval at advert_int 0.1-1, so detection latency is dominated by
// the kernel's carrier handling, not by us. `ip monitor link` would save at most one poll period but
// adds a long-running child whose death or buffered output silently stops tracking.
// Inside a network namespace this reads the namespace's links as long as sysfs was mounted for it
// (`ip netns exec` does that).
//
// Verdict: up = IFF_UP set in `flags` AND (operstate "up", or operstate "unknown" with carrier 1 —
// drivers without operstate support, such as dummy or tun, report "unknown"). A missing interface is
// down (keepalived: FAULT).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LinkStatus {
  readonly up: boolean;
  readonly exists: boolean;
  readonly adminUp: boolean;
  readonly operstate: string;
  readonly carrier: boolean | undefined;
}

export interface InterfaceChange {
  readonly iface: string;
  readonly up: boolean;
  readonly status: LinkStatus;
  readonly reason: string;
}

export interface InterfaceTrackerOptions {
  readonly iface: string;
  /** Poll period; default 100 ms. */
  readonly pollMs?: number;
  /** Default /sys/class/net; injectable for tests. */
  readonly sysfsRoot?: string;
  readonly onChange?: (change: InterfaceChange) => void;
}

const IFF_UP = 0x1;

/** Reads the link status of `iface` once. */
export function readLinkStatus(iface: string, sysfsRoot = '/sys/class/net'): LinkStatus {
  const dir = join(sysfsRoot, iface);
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(join(dir, f), 'utf8').trim();
    } catch {
      // carrier is unreadable (EINVAL) while the link is administratively down.
      return undefined;
    }
  };
  const flags = read('flags');
  if (flags === undefined) return { up: false, exists: false, adminUp: false, operstate: 'missing', carrier: undefined };
  const adminUp = (Number.parseInt(flags, 16) & IFF_UP) !== 0;
  const operstate = read('operstate') ?? 'unknown';
  const c = read('carrier');
  const carrier = c === undefined ? undefined : c === '1';
  const up = adminUp && (operstate === 'up' || (operstate === 'unknown' && carrier === true));
  return { up, exists: true, adminUp, operstate, carrier };
}

function describe(s: LinkStatus): string {
  if (!s.exists) return 'interface missing';
  if (!s.adminUp) return 'administratively down';
  return `operstate ${s.operstate}, carrier ${s.carrier === undefined ? '?' : s.carrier ? 1 : 0}`;
}

export class InterfaceTracker {
  readonly iface: string;
  readonly #o: InterfaceTrackerOptions;
  #status: LinkStatus;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: InterfaceTrackerOptions) {
    this.#o = o;
    this.iface = o.iface;
    this.#status = readLinkStatus(o.iface, o.sysfsRoot);
  }

  get up(): boolean {
    return this.#status.up;
  }

  get status(): LinkStatus {
    return this.#status;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.poll(), this.#o.pollMs ?? 100);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads now and reports a change; also what the timer calls. Returns the new status. */
  poll(): LinkStatus {
    const s = readLinkStatus(this.iface, this.#o.sysfsRoot);
    const changed = s.up !== this.#status.up;
    this.#status = s;
    if (changed) this.#o.onChange?.({ iface: this.iface, up: s.up, status: s, reason: `${this.iface}: ${describe(s)}` });
    return s;
  }
}
