/**
 * Plain parameter and state types shared by the advert codec (packet.ts) and the pure VRRP state
 * machine (fsm.ts). Deliberately independent of the keepalived.conf model (ha-agent/config.ts): the
 * agent maps its configuration onto these, so the fsm can be tested without a parser.
 *
 * Units: every time in the fsm is in milliseconds on one monotonic clock chosen by the caller
 * (the agent uses performance.now(); tests inject their own). The wire format carries the advert
 * interval in centiseconds, like VRRPv3 (RFC 5798 §5.2.7); the codec converts.
 */

/** RFC 5798 §6.4 states plus keepalived's FAULT. 'init' is both the state before `startup` and the
 * state after `shutdown` (RFC §6.4.2/§6.4.3: "transition to the Initialize state"). */
export type VrrpState = 'init' | 'backup' | 'master' | 'fault';

/** Role of the sender of an advert. RFC VRRP only lets the master speak; our format lets a backup
 * announce itself too (flag bit, see packet.ts) so the master knows the peer's current priority:
 * improvement 1 (resign at once when we fall below the peer) and `hactl status` both need it. A
 * backup advert never resets a master-down timer and never takes part in an election. */
export type AdvertRole = 'master' | 'backup';

/** One tracked object (vrrp_script, track_interface with a weight, ...), with keepalived's weight
 * semantics: 0 → failing puts the instance in FAULT; > 0 → added while OK; < 0 → subtracted while
 * failing. keepalived limits weights to -253..253 (the config parser checks that). */
export interface TrackParams {
  readonly name: string;
  readonly weight: number;
  /** keepalived's `init_fail`: the track starts failing until its first success. */
  readonly initiallyOk: boolean;
}

/** What the fsm needs to know about one vrrp_instance. */
export interface InstanceParams {
  readonly name: string;
  readonly vrid: number;
  /** Our primary address on the VRRP interface: sender of our adverts, tie breaker (RFC 5798 §6.4.3). */
  readonly address: string;
  /** Configured priority 1..255; 255 is the address owner (RFC 5798 §5.2.4). */
  readonly priority: number;
  /** Advertisement_Interval in ms (keepalived `advert_int` × 1000). */
  readonly advertIntervalMs: number;
  /** keepalived `state MASTER|BACKUP`: only a hint, the election decides. */
  readonly initialState: 'MASTER' | 'BACKUP';
  readonly nopreempt: boolean;
  /** keepalived `preempt_delay` in ms, 0 = preempt at once. */
  readonly preemptDelayMs: number;
  readonly tracks: readonly TrackParams[];
}

/** Address family byte values used on the wire. */
export type AddressFamily = 4 | 6;

/**
 * Parse a textual IPv4 or IPv6 address into network-order bytes, or null if it is not one.
 * Pure (no node:net), so the fsm can use it for the RFC 5798 tie break. Accepts IPv4 dotted quads
 * without leading zeros and IPv6 in any RFC 4291 text form, including an embedded IPv4 tail; a zone
 * (`%eth0`) is rejected because adverts never carry one.
 */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIpv6(text);
  return parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  if (text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === null) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      out.push(Number.parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...Array.from({ length: halves.length === 2 ? fill : 0 }, () => 0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Compare two addresses as RFC 5798 §6.4.3 does for the tie break ("the primary IPvX address of the
 * sender is greater than the local primary IPvX address"): as unsigned integers in network order.
 * Unparsable addresses sort lowest, so garbage never wins an election. Returns <0, 0 or >0.
 */
export function compareAddresses(a: string, b: string): number {
  const x = parseIp(a);
  const y = parseIp(b);
  if (x === null || y === null) return (x === null ? 0 : 1) - (y === null ? 0 : 1);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Canonical text of an address (IPv4 dotted, IPv6 fully expanded lower case), or null. Used to
 * compare a sender with our own address whatever spelling the configuration used. */
export function canonicalIp(text: string): string | null {
  const b = parseIp(text);
  if (b === null) return null;
  if (b.length === 4) return Array.from(b).join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return g.join(':');
}
