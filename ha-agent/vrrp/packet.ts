/**
 * Advert codec: our own VRRP-like datagram, carried over UDP (node:dgram, multicast or unicast).
 *
 * It is not VRRP on the wire (IP protocol 112 needs raw sockets and has no room for a boot id,
 * a sequence number or a real MAC), but it carries the same election data as a VRRPv3 advert
 * (RFC 5798 §5.2) plus what we need to be safer than keepalived.
 *
 * Layout (all integers big-endian / network order):
 *
 * | offset | size   | field                                                                  |
 * |-------:|-------:|------------------------------------------------------------------------|
 * |      0 |      4 | magic "HAVR" (0x48 0x41 0x56 0x52)                                      |
 * |      4 |      1 | format version, 1                                                      |
 * |      5 |      1 | flags: bit 0 = sender is MASTER (1) or BACKUP (0); bit 1 = released    |
 * |        |        | the VIP recently (see `released`); bits 2-7 must be 0                  |
 * |      6 |      1 | VRID 1..255 (RFC 5798 §5.2.3)                                          |
 * |      7 |      1 | priority 0..255 (RFC 5798 §5.2.4; 0 = "I stop being master")          |
 * |      8 |      2 | advert interval in centiseconds, 1..4095 (RFC 5798 §5.2.7, 12 bits)    |
 * |     10 |      1 | sender address family: 4 or 6                                          |
 * |     11 |      1 | auth type: 0 none, 1 PASS, 2 HMAC-SHA256                               |
 * |     12 |      8 | boot id: random 64-bit, new at each process start                      |
 * |     20 |      8 | sequence number, +1 per advert within one boot id (kept below 2^53)    |
 * |     28 |      2 | number of VIPs in the set                                              |
 * |     30 |     32 | SHA-256 of the sorted canonical VIP set (see vipSetDigest)             |
 * |     62 | 4 / 16 | sender's primary address (IPv4 / IPv6)                                 |
 * |  66/78 | 0/8/32 | auth trailer: none; PASS: password, zero padded; HMAC: tag             |
 *
 * The HMAC tag is HMAC-SHA256(key, every byte before the tag), so it covers the header, the auth
 * type (no downgrade to "none" or PASS) and the sender. There is no checksum field: UDP's checksum
 * already catches corruption on the wire, and against forgery only the HMAC helps.
 *
 * Why a digest of the VIP set instead of the addresses: the receiver only has to answer "does the
 * peer protect the same addresses as I do?" (keepalived's check of the advert's address list); it
 * never installs the peer's addresses. A digest answers that in a fixed 32 bytes whatever the
 * number and family of VIPs (VRRP's 8-bit count and per-family list do not fit IPv4+IPv6 sets),
 * and it keeps the datagram small at 20 adverts a second. The count travels alongside so a log line
 * can say "peer has 2 VIPs, we have 3" when the digests differ.
 *
 * `auth_type PASS` works as in keepalived: the 8-byte password travels in clear in every advert, so
 * anyone who can see one datagram can forge the rest. It protects nothing; it only keeps two
 * unrelated clusters that share a VRID apart. Use HMAC (our extension) for authenticity; replay
 * protection (ReplayGuard below) only means something with HMAC too.
 *
 * decodeAdvert never throws: every datagram gets a verdict, and a drop carries one reason from the
 * closed set ADVERT_DROP_REASONS so the agent can count drops per reason (`hactl status`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdvertRole } from './types.ts';
import { canonicalIp, parseIp } from './types.ts';

export const ADVERT_MAGIC = Buffer.from('HAVR', 'latin1');
export const ADVERT_FORMAT_VERSION = 1;
/** Offset of the sender address; everything before it is fixed size. */
const HEADER_LEN = 62;
const PASS_LEN = 8;
const HMAC_LEN = 32;
const FLAG_MASTER = 0x01;
/** The sender left MASTER (released the VIP) recently: a master hearing it re-announces itself (GARP). */
const FLAG_RELEASED = 0x02;
/** RFC 5798 §5.2.7: Max Adver Int is a 12-bit count of centiseconds. */
export const MAX_INTERVAL_CS = 4095;
/** RFC 5798 §5.1.1.3: adverts are sent with TTL (hop limit) 255 and dropped otherwise. */
export const ADVERT_TTL = 255;

/** Every reason a datagram can be dropped for; the agent keeps one counter per entry. */
export const ADVERT_DROP_REASONS = [
  'short', // fewer bytes than the smallest possible advert
  'bad-magic', // not one of ours (another protocol on the port)
  'bad-version', // a format version we do not speak
  'malformed', // fields inconsistent: unknown flags, family, auth type, length, sequence
  'wrong-vrid', // another virtual router on the same group/port
  'auth-missing', // we require PASS/HMAC, the advert has no authentication
  'auth-type-mismatch', // the advert uses another auth type than ours
  'auth-mismatch', // PASS password differs
  'hmac-mismatch', // HMAC tag does not verify: forged, corrupted or another key
  'sender-mismatch', // sender field differs from the datagram's source address
  'wrong-vip-set', // peer protects another set of VIPs: a configuration error
  'bad-interval', // interval 0, above 4095 cs, or not the interval we expect
  'replay', // sequence not newer for its boot id, or an old boot id
  'bad-ttl', // multicast advert not received with TTL 255 (checkTtl, socket layer)
] as const;
export type AdvertDropReason = (typeof ADVERT_DROP_REASONS)[number];

/** Authentication as configured (keepalived `authentication {}` plus our HMAC extension). */
export type AdvertAuth =
  | { readonly type: 'none' }
  | { readonly type: 'pass'; readonly password: string }
  | { readonly type: 'hmac'; readonly key: Buffer };

const AUTH_CODE = { none: 0, pass: 1, hmac: 2 } as const;

/** One advert, decoded or to encode. */
export interface Advert {
  readonly role: AdvertRole;
  /**
   * Set for a while after the sender stepped down from MASTER. It may have pointed the clients at
   * itself with a gratuitous ARP, even if nobody heard it as MASTER (a takeover that lasted less
   * than an advert, or an asymmetric partition): the current master re-announces itself.
   */
  readonly released?: boolean;
  readonly vrid: number;
  readonly priority: number;
  /** Advertisement interval in centiseconds (RFC 5798 §5.2.7). */
  readonly intervalCs: number;
  /** Sender's primary address; decodeAdvert returns it canonical (see canonicalIp). */
  readonly sender: string;
  readonly vipCount: number;
  /** 32 bytes, from vipSetDigest. */
  readonly vipDigest: Buffer;
  readonly bootId: bigint;
  readonly seq: number;
}

/** What the receiving instance expects; anything else is a drop. */
export interface DecodeExpect {
  readonly vrid: number;
  readonly auth: AdvertAuth;
  readonly vipDigest: Buffer;
  /** If set, adverts with another interval are dropped as 'bad-interval' (keepalived's behaviour);
   * if unset any 1..4095 cs is accepted and the backup adopts it (RFC 5798 §6.4.2). */
  readonly intervalCs?: number | undefined;
  /** The datagram's source address; if set the sender field must match it. */
  readonly source?: string | undefined;
  /** If set, consulted (and updated) last, once the advert is otherwise valid. */
  readonly replay?: ReplayGuard | undefined;
}

export type DecodeResult =
  | { readonly ok: true; readonly advert: Advert }
  | { readonly ok: false; readonly reason: AdvertDropReason };

/** Thrown by encodeAdvert / vipSetDigest on values the caller should never produce. */
export class AdvertCodecError extends Error {
  readonly code: 'ERR_HA_ADVERT_FIELD' | 'ERR_HA_VIP_ADDRESS';
  constructor(code: AdvertCodecError['code'], message: string) {
    super(message);
    this.name = 'AdvertCodecError';
    this.code = code;
  }
}

/** A fresh random 64-bit boot id; call once per process start. */
export function newBootId(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

/**
 * SHA-256 of a VIP set, independent of spelling and order: each entry `ADDR` or `ADDR/PREFIX`
 * (keepalived's virtual_ipaddress syntax, options after the address already stripped) contributes
 * family byte + address bytes; the prefix length is ignored, as keepalived compares addresses only.
 * Duplicates count once. Throws AdvertCodecError on an entry that is not an address.
 */
export function vipSetDigest(vips: readonly string[]): Buffer {
  const { digest } = canonicalVipSet(vips);
  return digest;
}

/** Number of distinct addresses in a VIP set, as carried next to the digest. */
export function vipSetCount(vips: readonly string[]): number {
  return canonicalVipSet(vips).count;
}

function canonicalVipSet(vips: readonly string[]): { digest: Buffer; count: number } {
  const seen = new Map<string, Buffer>();
  for (const vip of vips) {
    const addr = vip.split('/')[0] ?? '';
    const bytes = parseIp(addr);
    if (bytes === null) throw new AdvertCodecError('ERR_HA_VIP_ADDRESS', `not an IP address: '${vip}'`);
    const entry = Buffer.concat([Buffer.from([bytes.length === 4 ? 4 : 6]), bytes]);
    seen.set(entry.toString('hex'), entry);
  }
  const sorted = [...seen.values()].sort((a, b) => Buffer.compare(a, b));
  const h = createHash('sha256');
  for (const e of sorted) h.update(e);
  return { digest: h.digest(), count: sorted.length };
}

function authTrailerLen(code: number): number {
  return code === AUTH_CODE.pass ? PASS_LEN : code === AUTH_CODE.hmac ? HMAC_LEN : 0;
}

function passBytes(password: string): Buffer {
  // keepalived keeps the first 8 bytes of auth_pass and zero pads (RFC 2338 §5.3.10 style).
  const out = Buffer.alloc(PASS_LEN);
  Buffer.from(password, 'utf8').copy(out, 0, 0, PASS_LEN);
  return out;
}

function intIn(v: number, lo: number, hi: number): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * Encode one advert. Accepts only values that a correct agent produces (VRID 1..255, priority
 * 0..255, interval 1..4095 cs, a parsable sender, a 32-byte digest, seq a safe integer ≥ 0);
 * anything else is a programming error and throws AdvertCodecError rather than sending garbage.
 */
export function encodeAdvert(advert: Advert, auth: AdvertAuth): Buffer {
  const fail = (what: string): never => {
    throw new AdvertCodecError('ERR_HA_ADVERT_FIELD', `cannot encode advert: ${what}`);
  };
  if (!intIn(advert.vrid, 1, 255)) fail(`vrid ${advert.vrid}`);
  if (!intIn(advert.priority, 0, 255)) fail(`priority ${advert.priority}`);
  if (!intIn(advert.intervalCs, 1, MAX_INTERVAL_CS)) fail(`interval ${advert.intervalCs} cs`);
  if (!intIn(advert.vipCount, 0, 0xffff)) fail(`vip count ${advert.vipCount}`);
  if (advert.vipDigest.length !== 32) fail('vip digest must be 32 bytes');
  if (advert.bootId < 0n || advert.bootId > 0xffff_ffff_ffff_ffffn) fail('boot id must be 64-bit unsigned');
  if (!Number.isSafeInteger(advert.seq) || advert.seq < 0) fail(`seq ${advert.seq}`);
  const senderBytes = parseIp(advert.sender) ?? fail(`sender '${advert.sender}'`);
  if (auth.type === 'hmac' && auth.key.length === 0) fail('empty HMAC key');

  const code = AUTH_CODE[auth.type];
  const bodyLen = HEADER_LEN + senderBytes.length;
  const buf = Buffer.alloc(bodyLen + authTrailerLen(code));
  ADVERT_MAGIC.copy(buf, 0);
  buf.writeUInt8(ADVERT_FORMAT_VERSION, 4);
  buf.writeUInt8((advert.role === 'master' ? FLAG_MASTER : 0) | (advert.released === true ? FLAG_RELEASED : 0), 5);
  buf.writeUInt8(advert.vrid, 6);
  buf.writeUInt8(advert.priority, 7);
  buf.writeUInt16BE(advert.intervalCs, 8);
  buf.writeUInt8(senderBytes.length === 4 ? 4 : 6, 10);
  buf.writeUInt8(code, 11);
  buf.writeBigUInt64BE(advert.bootId, 12);
  buf.writeBigUInt64BE(BigInt(advert.seq), 20);
  buf.writeUInt16BE(advert.vipCount, 28);
  advert.vipDigest.copy(buf, 30);
  Buffer.from(senderBytes).copy(buf, HEADER_LEN);
  if (auth.type === 'pass') passBytes(auth.password).copy(buf, bodyLen);
  if (auth.type === 'hmac') {
    createHmac('sha256', auth.key).update(buf.subarray(0, bodyLen)).digest().copy(buf, bodyLen);
  }
  return buf;
}

/**
 * Decode and verify one datagram against what this instance expects. Accepts any bytes; never
 * throws. Checks run cheapest first, authentication before anything that trusts content, and the
 * replay guard last so that only authentic, otherwise valid adverts advance it.
 */
export function decodeAdvert(buf: Uint8Array, expect: DecodeExpect): DecodeResult {
  try {
    return decodeUnsafe(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), expect);
  } catch {
    // Defensive: the checks above make this unreachable, but a verdict is owed for every datagram.
    return { ok: false, reason: 'malformed' };
  }
}

function drop(reason: AdvertDropReason): DecodeResult {
  return { ok: false, reason };
}

function decodeUnsafe(buf: Buffer, expect: DecodeExpect): DecodeResult {
  if (buf.length < HEADER_LEN + 4) return drop('short');
  if (!buf.subarray(0, 4).equals(ADVERT_MAGIC)) return drop('bad-magic');
  if (buf.readUInt8(4) !== ADVERT_FORMAT_VERSION) return drop('bad-version');

  const flags = buf.readUInt8(5);
  const family = buf.readUInt8(10);
  const code = buf.readUInt8(11);
  if ((flags & ~(FLAG_MASTER | FLAG_RELEASED)) !== 0) return drop('malformed');
  if (family !== 4 && family !== 6) return drop('malformed');
  if (code !== AUTH_CODE.none && code !== AUTH_CODE.pass && code !== AUTH_CODE.hmac) return drop('malformed');
  const addrLen = family === 4 ? 4 : 16;
  const bodyLen = HEADER_LEN + addrLen;
  if (buf.length !== bodyLen + authTrailerLen(code)) return drop(buf.length < bodyLen ? 'short' : 'malformed');

  const vrid = buf.readUInt8(6);
  if (vrid !== expect.vrid) return drop('wrong-vrid');

  const auth = expect.auth;
  if (code !== AUTH_CODE[auth.type]) return drop(code === AUTH_CODE.none ? 'auth-missing' : 'auth-type-mismatch');
  if (auth.type === 'pass') {
    if (!timingSafeEqual(buf.subarray(bodyLen, bodyLen + PASS_LEN), passBytes(auth.password))) {
      return drop('auth-mismatch');
    }
  } else if (auth.type === 'hmac') {
    const want = createHmac('sha256', auth.key).update(buf.subarray(0, bodyLen)).digest();
    if (!timingSafeEqual(buf.subarray(bodyLen, bodyLen + HMAC_LEN), want)) return drop('hmac-mismatch');
  }

  const sender = addressText(buf.subarray(HEADER_LEN, bodyLen));
  if (expect.source !== undefined && canonicalIp(expect.source) !== sender) return drop('sender-mismatch');

  const vipDigest = Buffer.from(buf.subarray(30, 62));
  if (expect.vipDigest.length !== 32 || !timingSafeEqual(vipDigest, expect.vipDigest)) return drop('wrong-vip-set');

  const intervalCs = buf.readUInt16BE(8);
  if (intervalCs < 1 || intervalCs > MAX_INTERVAL_CS) return drop('bad-interval');
  if (expect.intervalCs !== undefined && intervalCs !== expect.intervalCs) return drop('bad-interval');

  const seq64 = buf.readBigUInt64BE(20);
  if (seq64 > BigInt(Number.MAX_SAFE_INTEGER)) return drop('malformed');
  const bootId = buf.readBigUInt64BE(12);
  const seq = Number(seq64);
  if (expect.replay !== undefined && !expect.replay.accept(sender, bootId, seq)) return drop('replay');

  return {
    ok: true,
    advert: {
      role: (flags & FLAG_MASTER) !== 0 ? 'master' : 'backup',
      released: (flags & FLAG_RELEASED) !== 0,
      vrid,
      priority: buf.readUInt8(7),
      intervalCs,
      sender,
      vipCount: buf.readUInt16BE(28),
      vipDigest,
      bootId,
      seq,
    },
  };
}

function addressText(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(bytes.readUInt16BE(i).toString(16));
  return g.join(':');
}

interface PeerReplayState {
  bootId: bigint;
  seq: number;
  /** Boot ids this sender used before the current one, newest last. */
  retired: bigint[];
}

/**
 * Replay protection keyed by (sender, boot id). For one sender it accepts a sequence number only
 * if it is newer than the last accepted one of the same boot id; a boot id never seen from that
 * sender is a restart and is accepted (the previous one is retired); a retired boot id is refused
 * for good. Memory is bounded: at most `maxSenders` senders (least recently accepted evicted) and
 * `maxRetired` retired boot ids each, so forged senders cannot grow it without limit.
 *
 * Known limit: after OUR restart the guard is empty, so a datagram captured from the peer's
 * previous boot could be accepted once until the peer's current boot id is seen (one advert
 * interval later). Closing that needs synchronised clocks or a challenge; we accept the gap.
 */
export class ReplayGuard {
  readonly #peers = new Map<string, PeerReplayState>();
  readonly #maxSenders: number;
  readonly #maxRetired: number;

  constructor(options: { maxSenders?: number; maxRetired?: number } = {}) {
    this.#maxSenders = options.maxSenders ?? 64;
    this.#maxRetired = options.maxRetired ?? 16;
  }

  /** Decide for one authentic advert and remember it when accepted. Never throws. */
  accept(sender: string, bootId: bigint, seq: number): boolean {
    const peer = this.#peers.get(sender);
    if (peer === undefined) {
      this.#remember(sender, { bootId, seq, retired: [] });
      return true;
    }
    if (peer.bootId === bootId) {
      if (seq <= peer.seq) return false;
      peer.seq = seq;
      this.#remember(sender, peer);
      return true;
    }
    if (peer.retired.includes(bootId)) return false;
    peer.retired.push(peer.bootId);
    if (peer.retired.length > this.#maxRetired) peer.retired.shift();
    peer.bootId = bootId;
    peer.seq = seq;
    this.#remember(sender, peer);
    return true;
  }

  /** Forget everything (configuration reload with another key). */
  clear(): void {
    this.#peers.clear();
  }

  get size(): number {
    return this.#peers.size;
  }

  #remember(sender: string, state: PeerReplayState): void {
    // Re-insert so Map order is least recently accepted first.
    this.#peers.delete(sender);
    this.#peers.set(sender, state);
    while (this.#peers.size > this.#maxSenders) {
      const oldest = this.#peers.keys().next();
      if (oldest.done === true) break;
      this.#peers.delete(oldest.value);
    }
  }
}

/**
 * RFC 5798 §5.1.1.3 (and §5.1.2.3 for the IPv6 hop limit): a multicast advert must arrive with
 * TTL 255, proving it was not routed. Sending with 255 and reading the received TTL are the socket
 * layer's job; node:dgram does not report the received TTL, so `undefined` means "cannot tell":
 * accepted, with checked=false so the caller can say so in `hactl status`. Unicast adverts may be
 * routed, so the socket layer should not call this for them (keepalived does the same by default).
 */
export function checkTtl(
  ttl: number | undefined,
): { readonly ok: true; readonly checked: boolean } | { readonly ok: false; readonly reason: 'bad-ttl' } {
  if (ttl === undefined) return { ok: true, checked: false };
  return ttl === ADVERT_TTL ? { ok: true, checked: true } : { ok: false, reason: 'bad-ttl' };
}
