// The effect layer alone (ha-agent/vrrp/instance.ts) with hand-driven timers and datagrams.
import test from 'ava';
import { FakeRunner } from '../../../ha-agent/runner.ts';
import { VipManager } from '../../../ha-agent/vip.ts';
import { Receivers } from '../../../ha-agent/net/transport.ts';
import type { AdvertTransport } from '../../../ha-agent/net/transport.ts';
import { VrrpInstance } from '../../../ha-agent/vrrp/instance.ts';
import type { Clock } from '../../../ha-agent/vrrp/instance.ts';
import { encodeAdvert, vipSetCount, vipSetDigest } from '../../../ha-agent/vrrp/packet.ts';
import { flush } from './fakes.ts';

/** Timers fire only when the test says so; `defer` queues like setImmediate would. */
class ManualClock implements Clock {
  t = 0;
  readonly timers: { fn: () => void; at: number; live: boolean }[] = [];
  readonly deferred: (() => void)[] = [];
  now(): number {
    return this.t;
  }
  schedule(fn: () => void, delayMs: number): () => void {
    const e = { fn, at: this.t + delayMs, live: true };
    this.timers.push(e);
    return () => {
      e.live = false;
    };
  }
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }
}

function setup(): { inst: VrrpInstance; clock: ManualClock; rx: Receivers } {
  const clock = new ManualClock();
  const rx = new Receivers();
  const transport: AdvertTransport = {
    send: () => Promise.resolve({ sent: 1, errors: [] }),
    onMessage: (cb) => rx.add(cb),
    close: () => Promise.resolve(),
    stats: rx.stats,
    localAddress: '198.18.0.2',
  };
  const vip = new VipManager({ runner: new FakeRunner((c) => (c.args[0] === '-j' ? { stdout: '[]' } : {})), vips: [{ address: '198.18.0.100', prefix: 24, dev: 'eth0' }] });
  const inst = new VrrpInstance({
    params: { name: 'VI_1', vrid: 51, address: '198.18.0.2', priority: 100, advertIntervalMs: 100, initialState: 'BACKUP', nopreempt: false, preemptDelayMs: 0, tracks: [] },
    auth: { type: 'none' }, vipSet: ['198.18.0.100/24'], transport, vip, notify: { transition: () => undefined }, clock,
  });
  return { inst, clock, rx };
}

const advert = (seq: number): Buffer =>
  encodeAdvert(
    { role: 'master', vrid: 51, priority: 150, intervalCs: 10, sender: '198.18.0.1', vipCount: vipSetCount(['198.18.0.100/24']), vipDigest: vipSetDigest(['198.18.0.100/24']), bootId: 7n, seq },
    { type: 'none' },
  );

test('after a stalled loop, an advert already received wins over the expired master-down timer', async (t) => {
  const { inst, clock, rx } = setup();
  await inst.start();
  t.is(inst.state, 'backup');
  rx.deliver(advert(1), { address: '198.18.0.1', port: 7112, size: 0 });
  const md = inst.fsm.timers['master-down'];
  t.is(typeof md, 'number');
  // The loop was stalled past the deadline: the timer callback runs first (libuv: timers before I/O)...
  clock.t = (md ?? 0) + 50;
  const expired = clock.timers.filter((e) => e.live && e.at <= clock.t);
  for (const e of expired) e.fn();
  t.is(inst.state, 'backup', 'the timer event must wait for pending I/O');
  // ...then the poll phase delivers the master's advert that arrived during the stall...
  rx.deliver(advert(2), { address: '198.18.0.1', port: 7112, size: 0 });
  // ...then the deferred timer event runs, finds itself re-armed by the advert, and does nothing.
  for (const fn of clock.deferred.splice(0)) fn();
  t.is(inst.state, 'backup');
  t.true((inst.fsm.timers['master-down'] ?? 0) > clock.t);
  await flush();
  await inst.stop();
});

test('without an advert the deferred master-down timer still makes us master', async (t) => {
  const { inst, clock } = setup();
  await inst.start();
  clock.t = (inst.fsm.timers['master-down'] ?? 0) + 1;
  for (const e of clock.timers.filter((x) => x.live && x.at <= clock.t)) e.fn();
  for (const fn of clock.deferred.splice(0)) fn();
  t.is(inst.state, 'master');
  t.is(inst.fsm.lastTransition?.reason, 'master-down');
  await flush();
  await inst.stop();
  t.is(inst.state, 'init');
});

/** A VipOps whose add and first GARP burst finish when the test says so; records the order of effects. */
function gatedSetup(): { inst: VrrpInstance; clock: ManualClock; events: string[]; finishAdd: () => void; finishGarp: () => void } {
  const clock = new ManualClock();
  const rx = new Receivers();
  const events: string[] = [];
  const transport: AdvertTransport = {
    send: (buf) => {
      events.push(`advert ${buf[5] === 1 ? 'master' : 'backup'}`);
      return Promise.resolve({ sent: 1, errors: [] });
    },
    onMessage: (cb) => rx.add(cb),
    close: () => Promise.resolve(),
    stats: rx.stats,
    localAddress: '198.18.0.2',
  };
  let finishAdd: () => void = () => {};
  let finishGarp: () => void = () => {};
  const vip = {
    add: () => {
      events.push('add-vip started');
      return new Promise<[]>((resolve) => {
        finishAdd = () => {
          events.push('add-vip done');
          resolve([]);
        };
      });
    },
    remove: () => Promise.resolve([]),
    removeLeftover: () => Promise.resolve([]),
    hasVip: () => Promise.resolve(false),
    startGarp: () => {
      events.push('garp started');
      return new Promise<{ sent: number; failed: number }>((resolve) => {
        finishGarp = () => {
          events.push('garp done');
          resolve({ sent: 5, failed: 0 });
        };
      });
    },
    garpBurst: () => Promise.resolve({ sent: 0, failed: 0 }),
    stopGarp: () => {},
    close: () => Promise.resolve(),
  };
  const inst = new VrrpInstance({
    params: { name: 'VI_1', vrid: 51, address: '198.18.0.2', priority: 100, advertIntervalMs: 200, initialState: 'BACKUP', nopreempt: false, preemptDelayMs: 0, tracks: [] },
    auth: { type: 'none' }, vipSet: ['198.18.0.100/24'], transport, vip, notify: { transition: () => undefined }, clock,
  });
  return { inst, clock, events, finishAdd: () => finishAdd(), finishGarp: () => finishGarp() };
}

function fireDue(clock: ManualClock): void {
  for (const e of clock.timers.filter((x) => x.live && x.at <= clock.t)) {
    e.live = false;
    e.fn();
  }
  for (const fn of clock.deferred.splice(0)) fn();
}

test('becoming MASTER: the first MASTER advert leaves only after the VIP is added and the first GARP burst is out', async (t) => {
  const { inst, clock, events, finishAdd, finishGarp } = gatedSetup();
  await inst.start();
  clock.t = inst.fsm.timers['master-down'] ?? NaN;
  fireDue(clock);
  t.is(inst.state, 'master');
  await flush();
  t.deepEqual(events.filter((e) => e.startsWith('advert master')), [], 'not before the VIP is there');
  finishAdd();
  await flush();
  t.true(events.includes('garp started'));
  t.deepEqual(events.filter((e) => e.startsWith('advert master')), [], 'not before the GARP burst is out');
  finishGarp();
  await flush();
  const order = events.filter((e) => !e.startsWith('advert backup'));
  t.deepEqual(order, ['add-vip started', 'add-vip done', 'garp started', 'garp done', 'advert master']);
});

test('becoming MASTER: a slow VIP command delays the first MASTER advert by the cap at most (half an interval, ≤ 50 ms)', async (t) => {
  const { inst, clock, events } = gatedSetup();
  await inst.start();
  clock.t = inst.fsm.timers['master-down'] ?? NaN;
  fireDue(clock);
  await flush();
  t.false(events.includes('advert master'));
  clock.t += 49;
  fireDue(clock);
  t.false(events.includes('advert master'), 'still waiting at 49 ms');
  clock.t += 1;
  fireDue(clock);
  t.true(events.includes('advert master'), 'sent at the 50 ms cap although add-vip never finished');
  t.is(events.filter((e) => e === 'advert master').length, 1);
});
