// Advert transport over UDP unicast (`transport udp-unicast`, keepalived's unicast_src_ip and
// unicast_peer): bound to unicast_src_ip:PORT, each advert sent to every peer at PORT with TTL 255.
//
// Datagrams from an address that is not a listed peer are dropped ('unknown-peer'), as keepalived
// does for unicast; our own address is dropped ('own'). TTL: see raw-ttl.ts (`ttlCheck`); on the raw
// path the destination must be unicast_src_ip and the interface `device` when given.

import { isIPv4 } from 'node:net';
import { HaEdgeError } from '../runner.ts';
import type { AdvertInfo, AdvertTransport, TransportDropReason } from './transport.ts';
import { VRRP_TTL, openUdpCore } from './udp.ts';

export interface UnicastOptions {
  readonly srcIp: string;
  readonly peers: readonly string[];
  readonly port: number;
  /** Interface for SO_BINDTODEVICE on the raw receive path (the instance's `interface`). */
  readonly device?: string;
  readonly ttlCheck?: boolean;
  /** TTL of sent datagrams; 255 per RFC 5798 — other values exist for tests only. */
  readonly sendTtl?: number;
  readonly onDrop?: (reason: TransportDropReason, info: AdvertInfo) => void;
  readonly onError?: (err: Error) => void;
}

export async function openUnicastTransport(o: UnicastOptions): Promise<AdvertTransport> {
  for (const a of [o.srcIp, ...o.peers]) {
    if (!isIPv4(a)) throw new HaEdgeError('ERR_HA_EDGE_NET', `'${a}' is not an IPv4 address`);
  }
  if (o.peers.length === 0) throw new HaEdgeError('ERR_HA_EDGE_NET', 'unicast transport needs at least one unicast_peer');
  const peers = new Set(o.peers);
  const ttl = o.sendTtl ?? VRRP_TTL;
  return openUdpCore({
    bindAddress: o.srcIp,
    port: o.port,
    localAddress: o.srcIp,
    destinations: [...peers],
    ...(o.device === undefined ? {} : { device: o.device }),
    ttlCheck: o.ttlCheck ?? false,
    sendTtl: ttl,
    setup: (sock) => sock.setTTL(ttl),
    accept: (src, dst) => {
      if (src === o.srcIp) return 'own';
      if (!peers.has(src)) return 'unknown-peer';
      if (dst !== undefined && dst !== o.srcIp) return 'wrong-destination';
      return undefined;
    },
    ...(o.onDrop === undefined ? {} : { onDrop: o.onDrop }),
    ...(o.onError === undefined ? {} : { onError: o.onError }),
  });
}
