// Advert transports between real namespaces on a bridge: multicast and unicast exchange, own-datagram
// and unknown-peer filtering, and the raw-socket TTL check (a sender with TTL != 255 is dropped).
import test, { type ExecutionContext } from 'ava';
import { join } from 'node:path';
import { MemoryTransportHub } from '../../../ha-agent/net/transport.ts';
import { parseIpv4Udp } from '../../../ha-agent/net/raw-ttl.ts';
import { openUnicastTransport } from '../../../ha-agent/net/unicast.ts';
import { openMulticastTransport } from '../../../ha-agent/net/multicast.ts';
import { HaEdgeError } from '../../../ha-agent/runner.ts';
import { NetnsLab, netnsUnavailableReason, type Switch } from '../../helpers/netns.ts';
import { ChildLines } from './child-lines.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'transport-peer.ts');
const PORT = 10112;

test('parseIpv4Udp reads TTL, addresses, ports and copies the payload; rejects garbage', (t) => {
  const payload = Buffer.from('advert');
  const pkt = Buffer.alloc(20 + 8 + payload.length);
  pkt[0] = 0x45;
  pkt[8] = 255;
  pkt[9] = 17;
  Buffer.from([198, 18, 0, 1]).copy(pkt, 12);
  Buffer.from([224, 0, 0, 18]).copy(pkt, 16);
  pkt.writeUInt16BE(1000, 20);
  pkt.writeUInt16BE(PORT, 22);
  pkt.writeUInt16BE(8 + payload.length, 24);
  payload.copy(pkt, 28);
  const d = parseIpv4Udp(pkt);
  t.like(d, { ttl: 255, src: '198.18.0.1', dst: '224.0.0.18', srcPort: 1000, dstPort: PORT });
  t.is(d?.payload.toString(), 'advert');
  pkt[28] = 0x41;
  t.is(d?.payload.toString(), 'advert', 'payload is a copy');
  t.is(parseIpv4Udp(pkt.subarray(0, 20)), undefined);
  const tcp = Buffer.from(pkt);
  tcp[9] = 6;
  t.is(parseIpv4Udp(tcp), undefined);
  const v6 = Buffer.from(pkt);
  v6[0] = 0x60;
  t.is(parseIpv4Udp(v6), undefined);
  const longLen = Buffer.from(pkt);
  longLen.writeUInt16BE(500, 24);
  t.is(parseIpv4Udp(longLen), undefined);
});

test('option validation: bad group, bad unicast addresses, no peers', async (t) => {
  await t.throwsAsync(openMulticastTransport({ iface: 'lo', ifaceAddr: '127.0.0.1', group: '10.0.0.1', port: PORT }), {
    instanceOf: HaEdgeError,
  });
  await t.throwsAsync(openUnicastTransport({ srcIp: 'x', peers: ['127.0.0.2'], port: PORT }), { instanceOf: HaEdgeError });
  await t.throwsAsync(openUnicastTransport({ srcIp: '127.0.0.1', peers: [], port: PORT }), { instanceOf: HaEdgeError });
});

test('unicast on loopback: exchange, own and unknown-peer drops, send never rejects after close', async (t) => {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const a = await openUnicastTransport({ srcIp: '127.0.0.1', peers: ['127.0.0.2'], port });
  const b = await openUnicastTransport({ srcIp: '127.0.0.2', peers: ['127.0.0.1'], port });
  const c = await openUnicastTransport({ srcIp: '127.0.0.3', peers: ['127.0.0.2'], port });
  t.teardown(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
  });
  const got = new Promise<[string, string]>((resolve) => b.onMessage((buf, info) => resolve([buf.toString(), info.address])));
  await c.send(Buffer.from('intruder'));
  t.deepEqual(await a.send(Buffer.from('hello')), { sent: 1, errors: [] });
  t.deepEqual(await got, ['hello', '127.0.0.1']);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(b.stats.dropped['unknown-peer'], 1);
  t.is(b.stats.received, 1);
  await a.close();
  const r = await a.send(Buffer.from('late'));
  t.is(r.sent, 0);
  t.true(r.errors.length > 0);
});

test('memory hub delivers to the others, not to the sender, and can partition', async (t) => {
  const hub = new MemoryTransportHub();
  const a = hub.open('198.18.0.1');
  const b = hub.open('198.18.0.2');
  const seenA: string[] = [];
  const seenB: string[] = [];
  a.onMessage((buf) => seenA.push(buf.toString()));
  b.onMessage((buf, info) => seenB.push(`${buf.toString()}@${info.address}`));
  await a.send(Buffer.from('x'));
  await new Promise((resolve) => setImmediate(resolve));
  hub.connected = false;
  await a.send(Buffer.from('y'));
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(seenA, []);
  t.deepEqual(seenB, ['x@198.18.0.1']);
});

// ---------------------------------------------------------------------------------------------

const skip = netnsUnavailableReason();

async function peer(lab: NetnsLab, ns: string, opts: object): Promise<ChildLines> {
  const child = lab.spawn(ns, [process.execPath, FIXTURE, JSON.stringify(opts)]);
  const lines = new ChildLines(child);
  await lines.waitFor((l) => l.ev === 'ready' || l.ev === 'error', 10_000).then((l) => {
    if (l.ev === 'error') throw new Error(`fixture failed in ${ns}: ${String(l.message)}`);
  });
  return lines;
}

async function topology(t: ExecutionContext, nodes: number): Promise<{ lab: NetnsLab; sw: Switch; ns: (i: number) => string }> {
  const lab = await NetnsLab.create(t);
  const sw = await lab.addSwitch();
  const ns: string[] = [];
  for (let i = 1; i <= nodes; i++) ns.push(await lab.addNode(`n${i}`, sw, `198.18.1.${i}/24`));
  return { lab, sw, ns: (i) => ns[i - 1] ?? '' };
}

const isMsg = (data: string) => (l: Record<string, unknown>) => l.ev === 'message' && l.data === data;

if (skip === undefined) {
  test('netns multicast: exchange both ways, TTL check drops a TTL-64 sender', async (t) => {
    const { lab, ns } = await topology(t, 3);
    const [n1, n2, n3] = [ns(1), ns(2), ns(3)];
    const base = { kind: 'multicast', iface: 'eth0', port: PORT, group: '224.0.0.18' };
    const a = await peer(lab, n1, base);
    const b = await peer(lab, n2, { ...base, ttlCheck: true });
    const c = await peer(lab, n3, { ...base, sendTtl: 64 });

    a.send({ send: 'from-a' });
    const atB = await b.waitFor(isMsg('from-a'));
    t.like(atB.info, { address: '198.18.1.1', port: PORT, ttl: 255 });
    const atC = await c.waitFor(isMsg('from-a'));
    t.like(atC.info, { address: '198.18.1.1' });

    b.send({ send: 'from-b' });
    t.like((await a.waitFor(isMsg('from-b'))).info, { address: '198.18.1.2' });

    c.send({ send: 'forged' });
    const drop = await b.waitFor((l) => l.ev === 'drop');
    t.is(drop.reason, 'ttl');
    t.like(drop.info, { address: '198.18.1.3', ttl: 64 });
    // Without the check, n1 accepts it (node:dgram cannot see the TTL): the reason the option exists.
    await a.waitFor(isMsg('forged'));
    // After the forged one, b still hears good adverts and never delivered the forged one.
    a.send({ send: 'after' });
    await b.waitFor(isMsg('after'));
    t.false(b.lines.some(isMsg('forged')));
    // Nobody hears itself.
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.false(a.lines.some(isMsg('from-a')));
    t.false(b.lines.some(isMsg('from-b')));
  });

  test('netns unicast: peers exchange, unknown peer dropped, TTL check drops TTL 64', async (t) => {
    const { lab, ns } = await topology(t, 4);
    const [n1, n2, n3, n4] = [ns(1), ns(2), ns(3), ns(4)];
    const base = { kind: 'unicast', port: PORT };
    const b = await peer(lab, n2, { ...base, srcIp: '198.18.1.2', peers: ['198.18.1.1', '198.18.1.3'], ttlCheck: true, device: 'eth0' });
    const a = await peer(lab, n1, { ...base, srcIp: '198.18.1.1', peers: ['198.18.1.2'] });
    const c = await peer(lab, n3, { ...base, srcIp: '198.18.1.3', peers: ['198.18.1.2'], sendTtl: 64 });
    const d = await peer(lab, n4, { ...base, srcIp: '198.18.1.4', peers: ['198.18.1.2'] });

    a.send({ send: 'a-to-b' });
    t.like((await b.waitFor(isMsg('a-to-b'))).info, { address: '198.18.1.1', ttl: 255 });
    b.send({ send: 'b-to-peers' });
    t.like((await a.waitFor(isMsg('b-to-peers'))).info, { address: '198.18.1.2' });
    await c.waitFor(isMsg('b-to-peers'));
    t.like(await b.waitFor((l) => l.ev === 'sent'), { sent: 2 });

    c.send({ send: 'low-ttl' });
    t.like(await b.waitFor((l) => l.ev === 'drop' && l.reason === 'ttl'), { info: { address: '198.18.1.3', ttl: 64 } });
    d.send({ send: 'stranger' });
    t.like(await b.waitFor((l) => l.ev === 'drop' && l.reason === 'unknown-peer'), { info: { address: '198.18.1.4' } });
    a.send({ send: 'still-fine' });
    await b.waitFor(isMsg('still-fine'));
    t.false(b.lines.some((l) => l.ev === 'message' && (l.data === 'low-ttl' || l.data === 'stranger')));
  });
} else {
  test.skip(`netns multicast/unicast transports — SKIPPED: ${skip}`, () => {});
}
