// Reading the received TTL of UDP adverts (RFC 5798 §5.1.1.3: an advert whose IP TTL is not 255 must
// be discarded, so that only on-link routers can speak VRRP).
//
// Investigation and decision:
// - node:dgram cannot report a received TTL: there is no IP_RECVTTL / recvmsg ancillary data API.
// - IP_MINTTL (the kernel drops datagrams below a TTL, the GTSM trick) is not settable through
//   node:dgram either, and raw-socket's setOption only takes its own level/option constants table
//   plus raw numbers on *its* socket, not on a dgram socket's fd.
// - raw-socket (installed) opens a SOCK_RAW/IPPROTO_UDP socket. On Linux such a socket receives a copy
//   of every incoming UDP datagram of the network namespace *with the IPv4 header*, after
//   reassembly, so byte 8 is the TTL. That is what we use: when the TTL check is on, the raw socket
//   is the receive path (it is filtered by destination port and, with SO_BINDTODEVICE, by
//   interface), and the dgram socket stays open only to hold the multicast membership, the port
//   (so the kernel does not answer ICMP port-unreachable to unicast adverts) and to send.
// - Costs, stated honestly: it needs CAP_NET_RAW (the agent runs as root for `ip addr` anyway); the
//   raw socket sees all UDP traffic of the interface, each datagram copied to JS and discarded unless
//   the port matches (fine for an HA interface, noticeable on a busy DNS host: bind the transport to
//   a dedicated interface there); the UDP checksum is not verified (the packet decoder's checks and
//   HMAC cover corruption). Without CAP_NET_RAW, opening fails with ERR_HA_EDGE_RAW and the caller
//   decides whether to run without the check.
// - raw-socket is a native addon: any test that loads it needs ava's workerThreads:false (set).

import { createRequire } from 'node:module';
import { HaEdgeError, errorMessage } from '../runner.ts';

/** The part of raw-socket's API we use; the package ships no types. */
interface RawSocket {
  on(event: 'message', cb: (buf: Buffer, source: string) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
  on(event: 'close', cb: () => void): this;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  setOption(level: number, option: number, value: number): void;
  close(): this;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
  Protocol: { UDP: number };
  AddressFamily: { IPv4: number };
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number };
  SocketOption: { SO_BINDTODEVICE: number; SO_RCVBUF: number };
}

let rawModule: RawSocketModule | undefined;

function loadRaw(): RawSocketModule {
  if (rawModule !== undefined) return rawModule;
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('raw-socket');
  } catch (err) {
    throw new HaEdgeError('ERR_HA_EDGE_RAW', `raw-socket cannot be loaded: ${errorMessage(err)}`, { cause: err });
  }
  if (!isRawModule(mod)) throw new HaEdgeError('ERR_HA_EDGE_RAW', 'raw-socket has an unexpected API');
  rawModule = mod;
  return mod;
}

function isRawModule(m: unknown): m is RawSocketModule {
  return typeof m === 'object' && m !== null && 'createSocket' in m && typeof m.createSocket === 'function';
}

export interface RawUdpDatagram {
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** A copy: raw-socket reuses its receive buffer. */
  readonly payload: Buffer;
}

/**
 * Parses one IPv4+UDP packet as read from a raw socket. Returns undefined for anything that is not a
 * well-formed IPv4 UDP datagram (a garbage packet is dropped, never thrown).
 */
export function parseIpv4Udp(pkt: Buffer): RawUdpDatagram | undefined {
  if (pkt.length < 28) return undefined;
  const b0 = pkt.readUInt8(0);
  if (b0 >> 4 !== 4) return undefined;
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < 20 || pkt.length < ihl + 8) return undefined;
  if (pkt.readUInt8(9) !== 17) return undefined;
  const udpLen = pkt.readUInt16BE(ihl + 4);
  if (udpLen < 8 || ihl + udpLen > pkt.length) return undefined;
  return {
    ttl: pkt.readUInt8(8),
    src: pkt.subarray(12, 16).join('.'),
    dst: pkt.subarray(16, 20).join('.'),
    srcPort: pkt.readUInt16BE(ihl),
    dstPort: pkt.readUInt16BE(ihl + 2),
    payload: Buffer.from(pkt.subarray(ihl + 8, ihl + udpLen)),
  };
}

export interface RawUdpReceiverOptions {
  /** Only datagrams to this UDP port are passed on. */
  readonly port: number;
  /** SO_BINDTODEVICE: only datagrams that arrived on this interface. */
  readonly device?: string;
  readonly onDatagram: (d: RawUdpDatagram) => void;
  readonly onError?: (err: Error) => void;
}

export interface RawUdpReceiver {
  close(): void;
}

/** Opens the raw receive path. Throws ERR_HA_EDGE_RAW without CAP_NET_RAW or without the addon. */
export function openRawUdpReceiver(o: RawUdpReceiverOptions): RawUdpReceiver {
  const raw = loadRaw();
  let sock: RawSocket;
  try {
    sock = raw.createSocket({ protocol: raw.Protocol.UDP, addressFamily: raw.AddressFamily.IPv4, bufferSize: 65_535 });
  } catch (err) {
    throw new HaEdgeError('ERR_HA_EDGE_RAW', `cannot open a raw UDP socket (needs CAP_NET_RAW): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    if (o.device !== undefined) {
      const name = Buffer.from(`${o.device}\0`);
      sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, name, name.length);
    }
    sock.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_RCVBUF, 1 << 20);
  } catch (err) {
    sock.close();
    throw new HaEdgeError('ERR_HA_EDGE_RAW', `raw socket option failed: ${errorMessage(err)}`, { cause: err });
  }
  let closed = false;
  sock.on('message', (buf) => {
    // Port check on the raw bytes first: most UDP traffic on the host is not ours.
    if (buf.length < 28) return;
    const ihl = (buf.readUInt8(0) & 0x0f) * 4;
    if (buf.length < ihl + 4 || buf.readUInt16BE(ihl + 2) !== o.port) return;
    const d = parseIpv4Udp(buf);
    if (d !== undefined) o.onDatagram(d);
  });
  sock.on('error', (err) => o.onError?.(err));
  return {
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
