// Advert transport over UDP multicast (the default, `transport udp-multicast`).
//
// - Bound with SO_REUSEADDR to GROUP:PORT: binding to the group address (not 0.0.0.0) means unicast
//   datagrams to the same port are not delivered here, and several instances on one host can share
//   the port. The membership is joined on the interface's own address
//   (addMembership(group, ifaceAddr)), and sends leave by that interface (setMulticastInterface) with
//   TTL 255 and loopback off.
// - Own datagrams are ignored by source address (a second socket on the same host, or loopback turned
//   on by a kernel default, would otherwise make us hear ourselves).
// - TTL: see raw-ttl.ts. With `ttlCheck: true` the raw receive path delivers only TTL-255 datagrams
//   whose destination is the group and that arrived on `device`; without it, the TTL is unchecked
//   (node:dgram cannot see it) and the packet layer's checks (HMAC) are the defence.

import { isIPv4 } from 'node:net';
import { HaEdgeError } from '../runner.ts';
import { primaryIPv4, type AdvertInfo, type AdvertTransport, type TransportDropReason } from './transport.ts';
import { VRRP_TTL, openUdpCore } from './udp.ts';

export const DEFAULT_GROUP = '224.0.0.18';

export interface MulticastOptions {
  /** Interface name; its primary IPv4 address is used unless `ifaceAddr` is given. */
  readonly iface: string;
  readonly ifaceAddr?: string;
  readonly group?: string;
  readonly port: number;
  /** Receive through the raw socket and drop datagrams whose TTL is not 255 (needs CAP_NET_RAW). */
  readonly ttlCheck?: boolean;
  /** TTL of sent datagrams; 255 per RFC 5798 — other values exist for tests only. */
  readonly sendTtl?: number;
  readonly onDrop?: (reason: TransportDropReason, info: AdvertInfo) => void;
  readonly onError?: (err: Error) => void;
}

export async function openMulticastTransport(o: MulticastOptions): Promise<AdvertTransport> {
  const group = o.group ?? DEFAULT_GROUP;
  const first = Number(group.split('.')[0]);
  if (!isIPv4(group) || first < 224 || first > 239) {
    throw new HaEdgeError('ERR_HA_EDGE_NET', `'${group}' is not an IPv4 multicast group`);
  }
  const local = o.ifaceAddr ?? primaryIPv4(o.iface);
  return openUdpCore({
    bindAddress: group,
    port: o.port,
    localAddress: local,
    destinations: [group],
    device: o.iface,
    ttlCheck: o.ttlCheck ?? false,
    sendTtl: o.sendTtl ?? VRRP_TTL,
    setup: (sock) => {
      sock.addMembership(group, local);
      sock.setMulticastInterface(local);
      sock.setMulticastTTL(o.sendTtl ?? VRRP_TTL);
      sock.setMulticastLoopback(false);
    },
    accept: (src, dst) => {
      if (src === local) return 'own';
      if (dst !== undefined && dst !== group) return 'wrong-destination';
      return undefined;
    },
    ...(o.onDrop === undefined ? {} : { onDrop: o.onDrop }),
    ...(o.onError === undefined ? {} : { onError: o.onError }),
  });
}
