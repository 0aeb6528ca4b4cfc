// In-process daemon tests: two (or more) Daemons on fake hosts, their adverts over an in-memory
// hub, their fsm timers on a fake clock. Everything below the fsm is real: codec, replay guard,
// VipManager (on a fake runner), notify queue, config loader and adapter.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { MemoryTransportHub } from '../../../ha-agent/net/transport.ts';
import type { AdvertTransport } from '../../../ha-agent/net/transport.ts';
import { ReplayGuard, decodeAdvert, encodeAdvert, newBootId, vipSetCount, vipSetDigest } from '../../../ha-agent/vrrp/packet.ts';
import type { Advert } from '../../../ha-agent/vrrp/packet.ts';
import { FakeClock, flush, instanceConf, makeNode, tempDir, writeConf } from './fakes.ts';
import type { TestNode } from './fakes.ts';

const VIP = '198.18.0.100';
const A = '198.18.0.1';
const B = '198.18.0.2';

interface Pair {
  clock: FakeClock;
  hub: MemoryTransportHub;
  a: TestNode;
  b: TestNode;
  dir: string;
  confA: string;
  confB: string;
}

async function pair(confA: string, confB: string, o: { startB?: boolean } = {}): Promise<Pair> {
  const clock = new FakeClock();
  const hub = new MemoryTransportHub();
  const dir = tempDir();
  const fa = writeConf(dir, 'a.conf', confA);
  const fb = writeConf(dir, 'b.conf', confB);
  const a = makeNode({ hub, clock, address: A, configFile: fa });
  const b = makeNode({ hub, clock, address: B, configFile: fb });
  await a.daemon.start();
  if (o.startB !== false) await b.daemon.start();
  return { clock, hub, a, b, dir, confA: fa, confB: fb };
}

function state(n: TestNode, name = 'VI_1'): string | undefined {
  return n.daemon.instances.get(name)?.state;
}

async function stopAll(...nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.daemon.stop()));
}

/** Records every datagram a node sends, decoded without replay check. */
function sniff(hub: MemoryTransportHub, vips = [`${VIP}/24`]): Advert[] {
  const seen: Advert[] = [];
  const t = hub.open('198.18.0.250');
  t.onMessage((buf) => {
    const r = decodeAdvert(buf, { vrid: 51, auth: { type: 'none' }, vipDigest: vipSetDigest(vips) });
    if (r.ok) seen.push(r.advert);
  });
  return seen;
}

test('two agents on one network elect exactly one MASTER, and only it holds the VIP', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  t.is(state(p.a), 'master');
  t.is(state(p.b), 'backup');
  t.true(p.a.host.holds(VIP));
  t.false(p.b.host.holds(VIP));
  // The VIP got the label IF:INSTANCE and a GARP burst followed.
  t.deepEqual(p.a.host.calls('ip').find((c) => c[2] === 'add'), ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0', 'label', 'eth0:VI_1']);
  t.true(p.a.host.calls('arping').some((c) => c.includes(VIP)));
  // Transitions were written as JSON lines with time, instance, from, to, reason.
  const rec: unknown = JSON.parse(p.a.transitions.at(-1) ?? '{}');
  t.like(rec, { instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master-down' });
  const sa = await p.a.daemon.status();
  const ia = sa.instances[0];
  t.is(ia?.state, 'MASTER');
  t.is(ia?.holdsVip, true);
  t.like(ia?.peer, { address: B, priority: 100, role: 'backup' });
  const sb = await p.b.daemon.status();
  t.is(sb.instances[0]?.holdsVip, false);
  t.like(sb.instances[0]?.peer, { address: A, priority: 150, role: 'master' });
  t.like(sb.instances[0]?.lastTransition, { from: 'INIT', to: 'BACKUP', reason: 'startup' });
});

test('a leftover VIP from a crashed run is removed before anything else', async (t) => {
  const clock = new FakeClock();
  const hub = new MemoryTransportHub();
  const conf = writeConf(tempDir(), 'b.conf', instanceConf({ priority: 100 }));
  const b = makeNode({ hub, clock, address: B, configFile: conf });
  b.host.addrs.get('eth0')?.push({ local: VIP, prefixlen: 24, label: 'eth0:VI_1' });
  await b.daemon.start();
  t.teardown(() => b.daemon.stop());
  const argv = b.host.runner.argv;
  t.deepEqual(argv[0], ['ip', '-j', 'addr', 'show', 'dev', 'eth0']);
  t.deepEqual(argv[1], ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
  t.false(b.host.holds(VIP));
  t.is(state(b), 'backup');
  t.true(b.logs.some((l) => l.includes('removed leftover VIP')));
});

test('SIGTERM path: the master sends priority 0, releases the VIP, runs notify_stop; the backup takes over after Skew_Time', async (t) => {
  const p = await pair(
    instanceConf({ priority: 150, state: 'MASTER', extra: '  notify_stop "/usr/local/bin/on-stop arg"\n' }),
    instanceConf({ priority: 100 }),
  );
  t.teardown(() => stopAll(p.a, p.b));
  p.a.host.scripts.set('/usr/local/bin/on-stop', 0);
  await p.clock.advance(1000);
  t.is(state(p.a), 'master');
  const seen = sniff(p.hub);
  const stoppedAt = p.clock.now();
  await p.a.daemon.stop();
  await flush();
  const last = seen.filter((a) => a.sender === A).at(-1);
  t.is(last?.priority, 0);
  t.is(last?.role, 'master');
  t.false(p.a.host.holds(VIP));
  t.deepEqual(p.a.host.calls('ip').at(-1), ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
  t.true(p.a.host.calls('/usr/local/bin/on-stop').some((c) => c[1] === 'arg'));
  t.like(JSON.parse(p.a.transitions.at(-1) ?? '{}'), { from: 'MASTER', to: 'STOP', reason: 'shutdown' });
  // Skew_Time at priority 100 and 100 ms: (256-100)*100/256 ≈ 61 ms, not Master_Down_Interval.
  await p.clock.advance(70);
  t.is(state(p.b), 'master');
  t.true(p.b.host.holds(VIP));
  t.true(p.clock.now() - stoppedAt <= 70);
});

test('reload: a priority change applies without a transition; below the peer the master resigns at once', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  const transitionsBefore = p.a.transitions.length;
  const seen = sniff(p.hub);
  writeFileSync(p.confA, instanceConf({ priority: 140, state: 'MASTER', extra: '  notify_master "/bin/true"\n' }));
  const r = await p.a.daemon.reload();
  t.true(r.ok);
  t.true(r.changes.some((c) => c.includes('priority 150 → 140 (no transition)')), r.changes.join('\n'));
  t.true(r.changes.some((c) => c.includes('notify scripts updated')));
  await flush();
  t.is(state(p.a), 'master');
  t.is(p.a.transitions.length, transitionsBefore);
  // The new priority is advertised at once (no wait for the next advert timer).
  t.is(seen.filter((a) => a.sender === A).at(-1)?.priority, 140);
  const st = await p.a.daemon.status();
  t.like(st.instances[0], { basePriority: 140, advertisedPriority: 140, state: 'MASTER' });
  t.deepEqual(st.instances[0]?.tracks, []);

  // 90 < the peer's 100: improvement 1 through the fsm, priority 0 first, VIP released.
  writeFileSync(p.confA, instanceConf({ priority: 90, state: 'MASTER' }));
  const r2 = await p.a.daemon.reload();
  t.true(r2.changes.some((c) => c.includes('priority 140 → 90 (MASTER → BACKUP)')), r2.changes.join('\n'));
  await flush();
  t.is(state(p.a), 'backup');
  t.is(p.a.daemon.instances.get('VI_1')?.fsm.lastTransition?.reason, 'priority-below-peer');
  t.is(seen.filter((a) => a.sender === A).find((a) => a.priority === 0)?.role, 'master');
  await p.clock.advance(100);
  t.is(state(p.b), 'master');
  t.false(p.a.host.holds(VIP));
});

test('reload: an invalid file changes nothing and reports every diagnostic', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  writeFileSync(p.confA, `${instanceConf({ priority: 140 })}\nvrrp_instance broken {\n  priority 300\n  blah\n}\n`);
  const r = await p.a.daemon.reload();
  t.false(r.ok);
  t.true(r.diagnostics.length >= 2, r.diagnostics.join('\n'));
  t.true(r.diagnostics.some((d) => d.includes(':15]') || d.includes('priority')), r.diagnostics.join('\n'));
  t.is(state(p.a), 'master');
  const st = await p.a.daemon.status();
  t.is(st.instances[0]?.basePriority, 150);
  t.false(st.lastReload?.ok ?? true);
  t.true(p.a.logs.some((l) => l.includes('keeping the running configuration unchanged')));
});

test('reload: a VRID change restarts the instance cleanly; a new track is applied in place', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  p.a.host.scripts.set('/bin/check', 1);
  // In place: a failing track with weight -20 → 130, still above the peer: no transition.
  writeFileSync(p.confA, instanceConf({
    priority: 150, state: 'MASTER',
    global: 'vrrp_script chk {\n  script "/bin/check"\n  interval 0.05\n  weight -20\n}\n',
    extra: '  track_script {\n    chk\n  }\n',
  }));
  const r = await p.a.daemon.reload();
  t.true(r.changes.some((c) => c.includes('track chk added')), r.changes.join('\n'));
  for (let i = 0; i < 50 && p.a.host.calls('/bin/check').length === 0; i++) await new Promise((res) => setTimeout(res, 10));
  await flush();
  const st = await p.a.daemon.status();
  t.like(st.instances[0], { state: 'MASTER', effectivePriority: 130 });
  t.deepEqual(st.instances[0]?.tracks, [{ name: 'chk', ok: false, weight: -20 }]);

  // Identity change: the old instance shuts down (priority 0, VIP released), a new one starts.
  writeFileSync(p.confA, instanceConf({ priority: 150, state: 'MASTER', vrid: 52 }));
  const r2 = await p.a.daemon.reload();
  t.true(r2.changes.some((c) => c.startsWith('VI_1: restarted (vrid changed)')), r2.changes.join('\n'));
  t.true(r2.changes.some((c) => c.includes('vrrp_script chk: no longer tracked')));
  t.is(p.a.daemon.instances.get('VI_1')?.fsm.params.vrid, 52);
  t.false(p.a.host.holds(VIP));
  t.true(p.a.transitions.some((l) => l.includes('"to":"STOP"')));
});

test('switchover: the master hands over to the peer, which holds the VIP before we release it', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  // Invariant for "no failed request": at every effect, at least one host holds the VIP.
  let unowned = 0;
  const check = (): void => {
    if (!p.a.host.holds(VIP) && !p.b.host.holds(VIP)) unowned++;
  };
  p.a.host.observers.push(check);
  p.b.host.observers.push(check);
  const pending = p.a.daemon.switchover(undefined);
  await p.clock.advance(50);
  const res = await pending;
  t.is(res.results.length, 1);
  const r = res.results[0];
  t.is(r?.outcome, 'done', r?.message);
  t.is(r?.priority, 99);
  t.is(typeof r?.peerMasterAfterMs, 'number');
  t.is(typeof r?.releasedAfterMs, 'number');
  t.is(state(p.a), 'backup');
  t.is(state(p.b), 'master');
  t.true(p.b.host.holds(VIP));
  t.false(p.a.host.holds(VIP));
  t.is(unowned, 0);
  // The override stays while the peer is master (else we would preempt straight back)...
  await p.clock.advance(1000);
  t.is(state(p.b), 'master');
  t.is(p.a.daemon.instances.get('VI_1')?.fsm.override, 99);
  // ...and switching back from B works; A's override is cleared once it is MASTER again.
  const back = p.b.daemon.switchover('VI_1');
  await p.clock.advance(50);
  t.is((await back).results[0]?.outcome, 'done');
  t.is(state(p.a), 'master');
  await flush();
  t.is(p.a.daemon.instances.get('VI_1')?.fsm.override, null);
  // B's own priority (100) is below A's 150: its override is no longer needed.
  await p.clock.advance(300);
  t.is(p.b.daemon.instances.get('VI_1')?.fsm.override, null);
  // Round trips do not ratchet priorities down: the next handover uses 99 again.
  for (let i = 0; i < 3; i++) {
    const again = p.a.daemon.switchover('VI_1');
    await p.clock.advance(50);
    t.like((await again).results[0], { outcome: 'done', priority: 99 });
    const ret = p.b.daemon.switchover('VI_1');
    await p.clock.advance(50);
    t.like((await ret).results[0], { outcome: 'done', priority: 98 });
    await p.clock.advance(300);
  }
  t.is(state(p.a), 'master');
  t.is(unowned, 0);
});

test('switchover refusals: not master, no peer heard, peer with nopreempt above us', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }), { startB: false });
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  t.is(state(p.a), 'master');
  const alone = await p.a.daemon.switchover('VI_1');
  t.like(alone.results[0], { outcome: 'refused', reason: 'no-peer' });
  t.true(p.a.host.holds(VIP));

  // B joins with nopreempt and a higher priority: it stays BACKUP, so a handover would never happen.
  writeFileSync(p.confB, instanceConf({ priority: 200, extra: '  nopreempt\n' }));
  await p.b.daemon.start();
  await p.clock.advance(1000);
  t.is(state(p.b), 'backup');
  const np = await p.a.daemon.switchover('VI_1');
  t.like(np.results[0], { outcome: 'refused', reason: 'peer-nopreempt' });
  const notMaster = await p.b.daemon.switchover(undefined);
  t.like(notMaster.results[0], { outcome: 'refused', reason: 'not-master' });
  await t.throwsAsync(() => p.a.daemon.switchover('nope'), { code: 'ERR_HA_CONTROL_BAD_ARG' });
  t.is(state(p.a), 'master');
});

test('switchover to a nopreempt peer below us times out and restores our priority', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100, extra: '  nopreempt\n' }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  const pending = p.a.daemon.switchover('VI_1');
  await p.clock.advance(2000);
  const r = (await pending).results[0];
  t.like(r, { outcome: 'timeout', reason: 'peer-did-not-take-over' });
  t.is(state(p.a), 'master');
  t.is(p.a.daemon.instances.get('VI_1')?.fsm.override, null);
  t.true(p.a.host.holds(VIP));
});

test('dropped adverts are counted by reason: forged HMAC, replay, wrong VRID, garbage', async (t) => {
  const dir = tempDir();
  const key = join(dir, 'key');
  writeFileSync(key, 'a shared secret of some length', { mode: 0o600 });
  const auth = `  authentication {\n    auth_type HMAC\n    auth_key_file ${key}\n  }\n`;
  const clock = new FakeClock();
  const hub = new MemoryTransportHub();
  // Record B's datagrams to replay them later.
  const fromB: Buffer[] = [];
  const recording = (tr: AdvertTransport): AdvertTransport => ({
    send: (buf) => {
      fromB.push(Buffer.from(buf));
      return tr.send(buf);
    },
    onMessage: (cb) => tr.onMessage(cb),
    close: () => tr.close(),
    get stats() {
      return tr.stats;
    },
    localAddress: tr.localAddress,
  });
  const a = makeNode({ hub, clock, address: A, configFile: writeConf(dir, 'a.conf', instanceConf({ priority: 150, state: 'MASTER', auth })) });
  const b = makeNode({ hub, clock, address: B, configFile: writeConf(dir, 'b.conf', instanceConf({ priority: 100, auth })), wrap: recording });
  await a.daemon.start();
  await b.daemon.start();
  t.teardown(() => stopAll(a, b));
  await clock.advance(1000);
  t.is(state(a), 'master');
  // A rogue on B's address (so the sender check passes and the later checks are reached).
  const rogue = hub.open(B);
  const base: Advert = {
    role: 'master', vrid: 51, priority: 254, intervalCs: 10, sender: B, vipCount: vipSetCount([`${VIP}/24`]),
    vipDigest: vipSetDigest([`${VIP}/24`]), bootId: newBootId(), seq: 1,
  };
  await rogue.send(encodeAdvert(base, { type: 'hmac', key: Buffer.from('wrong key') }));
  await rogue.send(encodeAdvert(base, { type: 'hmac', key: Buffer.from('wrong key') }));
  await rogue.send(encodeAdvert({ ...base, vrid: 52 }, { type: 'hmac', key: Buffer.from('a shared secret of some length') }));
  await rogue.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await rogue.send(Buffer.alloc(200, 0x41));
  const replayed = fromB.at(-2);
  t.not(replayed, undefined, 'no datagram recorded from B');
  await rogue.send(replayed ?? Buffer.alloc(0));
  await flush();
  const st = await a.daemon.status();
  const d = st.instances[0]?.drops ?? {};
  t.is(d['hmac-mismatch'], 2);
  t.is(d['wrong-vrid'], 1);
  t.is(d.replay, 1);
  t.is(d.short, 1);
  t.is(d['bad-magic'], 1);
  // None of it moved the election: a forged priority 254 MASTER advert did not make A step down.
  t.is(state(a), 'master');
  t.true(a.host.holds(VIP));
  // Sanity: B's genuine adverts still pass (they are counted as received).
  t.true((st.instances[0]?.adverts.received ?? 0) > 0);
  const guard = new ReplayGuard();
  t.true(decodeAdvert(fromB.at(-1) ?? Buffer.alloc(0), { vrid: 51, auth: { type: 'hmac', key: Buffer.from('a shared secret of some length') }, vipDigest: vipSetDigest([`${VIP}/24`]), replay: guard }).ok);
});

test('a failing track script makes the master resign in the same tick as the script result', async (t) => {
  const global = 'vrrp_script chk {\n  script "/bin/check"\n  interval 0.05\n  weight -60\n}\n';
  const extra = '  track_script {\n    chk\n  }\n';
  const clock = new FakeClock();
  const hub = new MemoryTransportHub();
  const dir = tempDir();
  const a = makeNode({ hub, clock, address: A, configFile: writeConf(dir, 'a.conf', instanceConf({ priority: 150, state: 'MASTER', global, extra })) });
  const b = makeNode({ hub, clock, address: B, configFile: writeConf(dir, 'b.conf', instanceConf({ priority: 100 })) });
  a.host.scripts.set('/bin/check', 0);
  await a.daemon.start();
  await b.daemon.start();
  t.teardown(() => stopAll(a, b));
  await clock.advance(1000);
  t.is(state(a), 'master');
  const seen = sniff(hub);
  const frozen = clock.now();
  a.host.scripts.set('/bin/check', 1);
  const runs = a.host.calls('/bin/check').length;
  // Real time: the tracker runs every 50 ms. Fake time does not move: nothing waits on an fsm timer.
  for (let i = 0; i < 100 && a.host.calls('/bin/check').length < runs + 2; i++) await new Promise((res) => setTimeout(res, 10));
  await flush();
  t.is(clock.now(), frozen);
  t.is(state(a), 'backup');
  t.is(a.daemon.instances.get('VI_1')?.fsm.lastTransition?.reason, 'priority-below-peer');
  t.is(seen.find((x) => x.sender === A)?.priority, 0);
  // The backup waits only Skew_Time after the priority-0 advert.
  await clock.advance(70);
  t.is(state(b), 'master');
});

test('own interface down → FAULT (priority 0 sent, VIP released); up again → back in the election', async (t) => {
  const p = await pair(instanceConf({ priority: 150, state: 'MASTER' }), instanceConf({ priority: 100 }));
  t.teardown(() => stopAll(p.a, p.b));
  await p.clock.advance(1000);
  p.a.links.set('eth0', false);
  await flush();
  t.is(state(p.a), 'fault');
  t.false(p.a.host.holds(VIP));
  await p.clock.advance(70);
  t.is(state(p.b), 'master');
  p.a.links.set('eth0', true);
  await p.clock.advance(500);
  t.is(state(p.a), 'master');
  t.is(state(p.b), 'backup');
});
