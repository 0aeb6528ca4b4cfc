// Shared core of the multicast and unicast advert transports: one node:dgram socket to send (and to
// receive when the TTL is not checked), plus the optional raw-socket receive path of raw-ttl.ts.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { HaEdgeError, errorMessage } from '../runner.ts';
import { openRawUdpReceiver, type RawUdpReceiver } from './raw-ttl.ts';
import {
  Receivers,
  type AdvertInfo,
  type AdvertTransport,
  type MessageCallback,
  type SendResult,
  type TransportDropReason,
  type TransportStats,
} from './transport.ts';

/** RFC 5798 §5.1.1.3: adverts are sent with TTL 255 and a receiver discards any other TTL. */
export const VRRP_TTL = 255;

export interface UdpCoreOptions {
  readonly bindAddress: string;
  readonly port: number;
  readonly localAddress: string;
  readonly destinations: readonly string[];
  /** Interface for SO_BINDTODEVICE on the raw receive path. */
  readonly device?: string;
  readonly ttlCheck: boolean;
  readonly sendTtl: number;
  /** Socket setup after bind (memberships, TTL); throws on failure. */
  readonly setup: (sock: Socket) => void;
  /** Transport-specific filter; `dst` is known on the raw path only. */
  readonly accept: (src: string, dst: string | undefined) => TransportDropReason | undefined;
  readonly onDrop?: (reason: TransportDropReason, info: AdvertInfo) => void;
  readonly onError?: (err: Error) => void;
}

export async function openUdpCore(o: UdpCoreOptions): Promise<AdvertTransport> {
  const rx = new Receivers(o.onDrop);
  // Addresses are always IPv4 literals here. dgram's default lookup (dns.lookup) answers even a
  // literal on the next tick, and a next tick queued from inside promise jobs waits until every
  // queued job has run — including one that spawns a process. Measured: the SIGTERM priority-0
  // advert left ~100 ms late, after the VIP release and notify_stop. A synchronous lookup puts the
  // datagram in the kernel inside send() itself.
  const sock = createSocket({
    type: 'udp4',
    reuseAddr: true,
    lookup: (hostname, _options, callback) => {
      if (isIPv4(hostname)) callback(null, hostname, 4);
      else callback(Object.assign(new Error(`not an IPv4 address: ${hostname}`), { code: 'EINVAL' }), '', 4);
    },
  });
  let raw: RawUdpReceiver | undefined;
  const onSocketError = (err: Error): void => o.onError?.(err);
  sock.on('error', onSocketError);
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      sock.once('error', fail);
      sock.bind({ port: o.port, address: o.bindAddress, exclusive: false }, () => {
        sock.off('error', fail);
        resolve();
      });
    });
    o.setup(sock);
    if (o.ttlCheck) {
      raw = openRawUdpReceiver({
        port: o.port,
        ...(o.device === undefined ? {} : { device: o.device }),
        onDatagram: (d) => {
          const info: AdvertInfo = { address: d.src, port: d.srcPort, size: d.payload.length, ttl: d.ttl };
          const why = o.accept(d.src, d.dst);
          if (why !== undefined) return rx.drop(why, info);
          if (d.ttl !== VRRP_TTL) return rx.drop('ttl', info);
          rx.deliver(d.payload, info);
        },
        onError: onSocketError,
      });
    }
  } catch (err) {
    raw?.close();
    sock.close();
    if (err instanceof HaEdgeError) throw err;
    throw new HaEdgeError('ERR_HA_EDGE_NET', `cannot open UDP transport on ${o.bindAddress}:${o.port}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  sock.on('message', (buf, rinfo) => {
    // With the TTL check on, the raw socket is the receive path: these are duplicates.
    if (raw !== undefined) return;
    const info: AdvertInfo = { address: rinfo.address, port: rinfo.port, size: buf.length };
    const why = o.accept(rinfo.address, undefined);
    if (why !== undefined) return rx.drop(why, info);
    rx.deliver(buf, info);
  });
  return new UdpTransport(sock, raw, rx, o);
}

class UdpTransport implements AdvertTransport {
  readonly localAddress: string;
  readonly #sock: Socket;
  readonly #raw: RawUdpReceiver | undefined;
  readonly #rx: Receivers;
  readonly #destinations: readonly string[];
  readonly #port: number;
  #closed = false;

  constructor(sock: Socket, raw: RawUdpReceiver | undefined, rx: Receivers, o: UdpCoreOptions) {
    this.#sock = sock;
    this.#raw = raw;
    this.#rx = rx;
    this.#destinations = o.destinations;
    this.#port = o.port;
    this.localAddress = o.localAddress;
  }

  get stats(): Readonly<TransportStats> {
    return this.#rx.stats;
  }

  onMessage(cb: MessageCallback): () => void {
    return this.#rx.add(cb);
  }

  async send(buf: Buffer): Promise<SendResult> {
    if (this.#closed) return { sent: 0, errors: ['transport closed'] };
    const errors: string[] = [];
    let sent = 0;
    await Promise.all(
      this.#destinations.map(
        (dst) =>
          new Promise<void>((resolve) => {
            try {
              this.#sock.send(buf, this.#port, dst, (err) => {
                if (err === null || err === undefined) sent++;
                else errors.push(`${dst}: ${err.message}`);
                resolve();
              });
            } catch (err) {
              // ERR_SOCKET_DGRAM_NOT_RUNNING after a concurrent close.
              errors.push(`${dst}: ${errorMessage(err)}`);
              resolve();
            }
          }),
      ),
    );
    this.#rx.stats.sent += sent;
    this.#rx.stats.sendErrors += errors.length;
    return { sent, errors };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#raw?.close();
    return new Promise((resolve) => {
      try {
        this.#sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
