// The advert transport contract shared by multicast.ts and unicast.ts. The daemon only sees this
// interface, so its tests can swap in an in-memory transport (`MemoryTransportHub` below).
//
// Contract:
// - send(buf) never rejects: a send error (ENETUNREACH while the link is down, EPERM from a firewall)
//   is a counted fact the daemon reports, not an exception that could take the agent down.
// - onMessage callbacks receive only datagrams that passed the transport-level filters (own source,
//   wrong port/group, unknown unicast peer, TTL != 255 when checked); every dropped datagram is
//   counted by reason in `stats.dropped` and reported to `onDrop` when given.
// - close() is idempotent and safe after a partial open (DESIGN.md principle 7).

import { networkInterfaces } from 'node:os';
import { HaEdgeError } from '../runner.ts';

export interface AdvertInfo {
  /** Source IPv4 address of the datagram. */
  readonly address: string;
  readonly port: number;
  readonly size: number;
  /** The received IP TTL, known only when the raw-socket TTL check is on. */
  readonly ttl?: number;
}

export type MessageCallback = (buf: Buffer, info: AdvertInfo) => void;

/** Why the transport dropped a datagram before the packet decoder saw it. */
export type TransportDropReason = 'own' | 'ttl' | 'unknown-peer' | 'wrong-destination';

export interface SendResult {
  /** Datagrams handed to the kernel (one per unicast peer, one for multicast). */
  readonly sent: number;
  /** One `address: error` line per failed destination. */
  readonly errors: readonly string[];
}

export interface TransportStats {
  sent: number;
  sendErrors: number;
  received: number;
  dropped: Record<TransportDropReason, number>;
}

export interface AdvertTransport {
  send(buf: Buffer): Promise<SendResult>;
  /** Registers a receiver; returns a function that unregisters it. */
  onMessage(cb: MessageCallback): () => void;
  close(): Promise<void>;
  readonly stats: Readonly<TransportStats>;
  /** The local address adverts are sent from (the sender field of our adverts). */
  readonly localAddress: string;
}

export function emptyStats(): TransportStats {
  return { sent: 0, sendErrors: 0, received: 0, dropped: { own: 0, ttl: 0, 'unknown-peer': 0, 'wrong-destination': 0 } };
}

/**
 * The primary IPv4 address of interface `name`. os.networkInterfaces() keys secondary addresses by
 * their label, so the entry under the bare name is the primary one — which is what we want here
 * (the VIP must never be the advert source). Throws ERR_HA_EDGE_NET when there is none.
 */
export function primaryIPv4(name: string): string {
  const entries = networkInterfaces()[name] ?? [];
  const v4 = entries.find((e) => e.family === 'IPv4');
  if (v4 === undefined) throw new HaEdgeError('ERR_HA_EDGE_NET', `interface '${name}' has no IPv4 address`);
  return v4.address;
}

/** Common registry of callbacks and counters used by both transports. */
export class Receivers {
  readonly #cbs = new Set<MessageCallback>();
  readonly stats: TransportStats = emptyStats();
  readonly #onDrop: ((reason: TransportDropReason, info: AdvertInfo) => void) | undefined;

  constructor(onDrop?: (reason: TransportDropReason, info: AdvertInfo) => void) {
    this.#onDrop = onDrop;
  }

  add(cb: MessageCallback): () => void {
    this.#cbs.add(cb);
    return () => this.#cbs.delete(cb);
  }

  deliver(buf: Buffer, info: AdvertInfo): void {
    this.stats.received++;
    for (const cb of this.#cbs) cb(buf, info);
  }

  drop(reason: TransportDropReason, info: AdvertInfo): void {
    this.stats.dropped[reason]++;
    this.#onDrop?.(reason, info);
  }
}

// ---------------------------------------------------------------------------------------------
// In-memory transport for daemon tests: every transport of a hub receives what the others send.

export class MemoryTransportHub {
  readonly #members = new Set<MemoryTransport>();
  /** When false, nothing is delivered (a partitioned network). */
  connected = true;

  open(localAddress: string): AdvertTransport {
    const t = new MemoryTransport(this, localAddress);
    this.#members.add(t);
    return t;
  }

  deliverFrom(sender: MemoryTransport, buf: Buffer): void {
    if (!this.connected) return;
    for (const m of this.#members) {
      if (m !== sender) m.receive(Buffer.from(buf), sender.localAddress);
    }
  }

  leave(t: MemoryTransport): void {
    this.#members.delete(t);
  }
}

class MemoryTransport implements AdvertTransport {
  readonly localAddress: string;
  readonly #hub: MemoryTransportHub;
  readonly #rx = new Receivers();
  #closed = false;

  constructor(hub: MemoryTransportHub, localAddress: string) {
    this.#hub = hub;
    this.localAddress = localAddress;
  }

  get stats(): Readonly<TransportStats> {
    return this.#rx.stats;
  }

  send(buf: Buffer): Promise<SendResult> {
    if (this.#closed) return Promise.resolve({ sent: 0, errors: ['closed'] });
    this.#rx.stats.sent++;
    // Asynchronous like a socket, so a test cannot depend on re-entrant delivery.
    queueMicrotask(() => this.#hub.deliverFrom(this, buf));
    return Promise.resolve({ sent: 1, errors: [] });
  }

  onMessage(cb: MessageCallback): () => void {
    return this.#rx.add(cb);
  }

  receive(buf: Buffer, from: string): void {
    if (this.#closed) return;
    this.#rx.deliver(buf, { address: from, port: 0, size: buf.length, ttl: 255 });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#hub.leave(this);
    return Promise.resolve();
  }
}
