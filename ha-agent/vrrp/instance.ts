/**
 * The effect layer around the pure fsm (fsm.ts) for one vrrp_instance (DESIGN.md principle 5:
 * effects at the edge). It
 * - owns one timer per fsm timer name (`set-timer` replaces it, `cancel-timer` clears it) on an
 *   injected Clock, so tests run the real fsm on fake time;
 * - turns datagrams from the AdvertTransport into `advert-received` events through decodeAdvert +
 *   ReplayGuard, counting every drop by reason (never throwing on garbage);
 * - executes the fsm's actions in order: send-advert → encodeAdvert → transport.send (synchronous:
 *   the datagram is in the kernel when the step returns); add-vip, del-vip, send-garp and notify →
 *   one serial chain (so `ip addr del` never overtakes the `add` before it, and notify_master runs
 *   once the address is really there). One exception: the MASTER advert of the step that becomes
 *   master waits in the chain behind that step's add-vip and first GARP burst (capped), so a peer
 *   that releases the VIP on hearing it does so after the clients were re-pointed (#sendAfterVip);
 * - keeps what `hactl status` shows, and runs a planned switchover.
 *
 * Nothing here decides VRRP behaviour: every decision is the fsm's. Two things look like decisions
 * and are not: the startup leftover sweep (improvement 3, the fsm's first `del-vip`, done by
 * `removeLeftover()` before the fsm starts) and clearing a switchover's priority override when this
 * instance becomes master again (the override's purpose, "let the peer be master", is over).
 */
import type { AdvertTransport } from '../net/transport.ts';
import type { TransitionEvent } from '../notify.ts';
import type { GarpBurstResult, VipOpResult } from '../vip.ts';
import type { Action, FsmEvent, InstanceState, TimerName, TransitionReason } from './fsm.ts';
import { advertisedPriority, effectivePriority, initialState, masterDownIntervalMs, peerIsFresh, step } from './fsm.ts';
import type { AdvertAuth } from './packet.ts';
import { ADVERT_DROP_REASONS, ReplayGuard, decodeAdvert, encodeAdvert, newBootId, vipSetCount, vipSetDigest } from './packet.ts';
import type { InstanceParams, VrrpState } from './types.ts';

/** Monotonic ms clock and one-shot timers; `schedule` returns a cancel function. */
export interface Clock {
  now(): number;
  schedule(fn: () => void, delayMs: number): () => void;
  /**
   * Runs `fn` after the I/O already waiting has been processed. Why: when the event loop was
   * stalled (a spawn on a loaded host blocks it for tens of ms), libuv runs every expired timer
   * before it reads the sockets, so a master-down timer would fire although the master's adverts
   * are sitting in the receive queue — a spurious takeover. Timer events go through `defer` so those
   * adverts reach the fsm first. Absent (fake clocks): run at once.
   */
  defer?(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  schedule: (fn, delayMs) => {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(t);
  },
  // setImmediate runs in libuv's check phase, after the poll phase of the same loop iteration.
  defer: (fn) => {
    setImmediate(fn);
  },
};

/** The part of VipManager an instance uses (tests may pass the real one on a fake runner). */
export interface VipOps {
  add(): Promise<VipOpResult[]>;
  remove(): Promise<VipOpResult[]>;
  removeLeftover(): Promise<VipOpResult[]>;
  hasVip(): Promise<boolean>;
  startGarp(): Promise<GarpBurstResult>;
  garpBurst(repeat?: number): Promise<GarpBurstResult>;
  stopGarp(): void;
  close(): Promise<void>;
}

export interface NotifySink {
  transition(ev: TransitionEvent): unknown;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;

export interface InstanceOptions {
  readonly params: InstanceParams;
  readonly auth: AdvertAuth;
  /** The VIP set the adverts carry a digest of (`ADDR/PREFIX`). */
  readonly vipSet: readonly string[];
  readonly transport: AdvertTransport;
  readonly vip: VipOps;
  readonly notify: NotifySink;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly bootId?: bigint;
  /** GARPs sent when a lower-priority master is heard (split brain repair); default 5. */
  readonly lowerPrioGarpRepeat?: number;
  /** For status only. */
  readonly iface?: string;
  readonly transportKind?: string;
  /** Interfaces that are down before start (the fsm starts in FAULT then); '' = own interface. */
  readonly downAtStart?: readonly string[];
}

export type StateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface TrackView {
  readonly name: string;
  readonly ok: boolean;
  readonly weight: number;
}

export interface InstanceStatus {
  readonly name: string;
  readonly interface: string;
  readonly vrid: number;
  readonly transport: string;
  readonly localAddress: string;
  readonly state: StateName;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly advertisedPriority: number;
  readonly override: number | null;
  readonly advertIntervalMs: number;
  readonly masterDownIntervalMs: number;
  readonly vips: readonly string[];
  /** From `ip addr` on the interface, not from the fsm; null when it could not be read. */
  readonly holdsVip: boolean | null;
  readonly holdsVipError?: string;
  readonly peer: {
    readonly address: string;
    readonly priority: number;
    readonly role: string;
    readonly ageMs: number;
    readonly fresh: boolean;
  } | null;
  readonly tracks: readonly TrackView[];
  readonly downInterfaces: readonly string[];
  readonly lastTransition: {
    readonly from: StateName;
    readonly to: StateName;
    readonly reason: TransitionReason;
    readonly ageMs: number;
    readonly time: string;
  } | null;
  /** Dropped adverts by reason: the codec's reasons plus the transport's (own, unknown-peer, ...). */
  readonly drops: Readonly<Record<string, number>>;
  readonly adverts: { readonly sent: number; readonly received: number; readonly sendErrors: number };
  readonly vipErrors: number;
}

export type SwitchoverOutcome = 'done' | 'refused' | 'timeout' | 'aborted';

export interface SwitchoverResult {
  readonly instance: string;
  readonly outcome: SwitchoverOutcome;
  /** Machine-readable refusal/abort reason: not-master, no-peer, peer-not-ready, peer-is-master,
   * peer-nopreempt, priority-too-low, in-progress, state-changed, stopped. */
  readonly reason?: string;
  readonly message: string;
  /** Priority we advertised during the handover. */
  readonly priority?: number;
  readonly peer?: string;
  /** ms from the request to the first MASTER advert of the peer. */
  readonly peerMasterAfterMs?: number;
  /** ms from the request to our VIP being released (ip addr del done). */
  readonly releasedAfterMs?: number;
  readonly waitedMs?: number;
  readonly boundMs?: number;
}

/** Upper bound of the wait of our first MASTER advert for the VIP and GARP (#sendAfterVip). */
const MASTER_ADVERT_GATE_CAP_MS = 50;

const STATE_NAMES: Readonly<Record<VrrpState, StateName>> = { init: 'INIT', backup: 'BACKUP', master: 'MASTER', fault: 'FAULT' };

/** Name of the fsm track that absorbs a base-priority change on reload (see setParams). */
const PRIORITY_SHIFT_TRACK = 'reload:priority-shift';

interface PendingSwitchover {
  readonly startedAt: number;
  readonly target: number;
  peerMasterAt?: number;
  readonly finish: (r: SwitchoverResult) => void;
  readonly onTransition: (to: VrrpState, reason: TransitionReason) => void;
}

export class VrrpInstance {
  readonly name: string;
  #s: InstanceState;
  #auth: AdvertAuth;
  #digest: Buffer;
  #vipCount: number;
  readonly #vipSet: readonly string[];
  readonly #transport: AdvertTransport;
  #vip: VipOps;
  readonly #notify: NotifySink;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #bootId: bigint;
  #lowerPrioGarpRepeat: number;
  readonly #iface: string;
  readonly #transportKind: string;
  readonly #timers = new Map<TimerName, () => void>();
  readonly #replay = new ReplayGuard();
  readonly #drops: Record<string, number> = {};
  #seq = 0;
  #sent = 0;
  #received = 0;
  #sendErrors = 0;
  #vipErrors = 0;
  #chain: Promise<void> = Promise.resolve();
  readonly #sends = new Set<Promise<unknown>>();
  #busy = false;
  readonly #queue: FsmEvent[] = [];
  #unsubscribe: (() => void) | undefined;
  #started = false;
  #stopped = false;
  #lastTransitionTime: Date | undefined;
  #switchover: PendingSwitchover | undefined;
  /** Tracks removed by a reload: neutral in the fsm, hidden from status. */
  readonly #hiddenTracks = new Set<string>([PRIORITY_SHIFT_TRACK]);
  readonly #transitionListeners = new Set<(from: VrrpState, to: VrrpState, reason: TransitionReason) => void>();
  #lastSendErrorLog = Number.NEGATIVE_INFINITY;
  /** The first GARP burst of the current MASTER period, while our first MASTER advert waits for it. */
  #firstGarp: Promise<void> | undefined;

  constructor(o: InstanceOptions) {
    this.name = o.params.name;
    this.#s = initialState(o.params);
    this.#auth = o.auth;
    this.#vipSet = o.vipSet;
    this.#digest = vipSetDigest(o.vipSet);
    this.#vipCount = vipSetCount(o.vipSet);
    this.#transport = o.transport;
    this.#vip = o.vip;
    this.#notify = o.notify;
    this.#clock = o.clock ?? systemClock;
    this.#log = o.log ?? (() => {});
    this.#bootId = o.bootId ?? newBootId();
    this.#lowerPrioGarpRepeat = o.lowerPrioGarpRepeat ?? 5;
    this.#iface = o.iface ?? '';
    this.#transportKind = o.transportKind ?? '';
    for (const r of ADVERT_DROP_REASONS) this.#drops[r] = 0;
    for (const name of o.downAtStart ?? []) this.#feed({ type: 'interface-down', name });
  }

  get state(): VrrpState {
    return this.#s.state;
  }

  /** The fsm state, read-only (tests and status). */
  get fsm(): InstanceState {
    return this.#s;
  }

  /**
   * Improvement 3 first (a leftover VIP from a crashed run is removed before anything else), then
   * listen and feed the fsm its `startup`.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const swept = await this.#vip.removeLeftover();
    for (const r of swept) {
      if (r.outcome === 'removed') this.#log('warn', `(${this.name}) removed leftover VIP ${r.vip.address}/${r.vip.prefix} from ${r.vip.dev}`);
      if (r.outcome === 'failed') this.#log('error', `(${this.name}) cannot remove leftover VIP: ${r.detail ?? ''}`);
    }
    if (this.#stopped) return;
    this.#unsubscribe = this.#transport.onMessage((buf, info) => this.#onDatagram(buf, info.address));
    this.#feed({ type: 'startup' }, { skipFirstDelVip: true });
  }

  /** Feeds an fsm event from outside (track and interface watchers, tests). */
  feed(ev: FsmEvent): void {
    this.#feed(ev);
  }

  trackChanged(name: string, ok: boolean, weight?: number): void {
    this.#feed({ type: 'track-changed', name, ok, ...(weight === undefined ? {} : { weight }) });
  }

  /** `name` '' is the instance's own interface. */
  interfaceChanged(name: string, up: boolean): void {
    this.#feed(up ? { type: 'interface-up', name } : { type: 'interface-down', name });
  }

  /** Hides a track removed by a reload and makes it neutral (OK, weight 0) in the fsm. */
  removeTrack(name: string): void {
    this.#hiddenTracks.add(name);
    this.#feed({ type: 'track-changed', name, ok: true, weight: 0 });
  }

  /** A track that a reload adds (or re-adds). */
  addTrack(name: string, ok: boolean, weight: number): void {
    this.#hiddenTracks.delete(name);
    this.#feed({ type: 'track-changed', name, ok, weight });
  }

  /**
   * Reload without a transition: new non-identity params (priority, advert interval, preempt
   * settings, initial-state hint), auth and GARP repeat. A base-priority change goes through the fsm
   * so that it is advertised at once and can make us resign or preempt: the new params are put in
   * place with a compensating track that keeps the advertised priority unchanged, then that track is
   * neutralised with a `track-changed` event — the fsm sees "priority changed" and reacts exactly as
   * to a track (improvement 1 included). Crossing 255 is an identity change (the caller restarts).
   */
  setParams(params: Omit<InstanceParams, 'address'>, auth: AdvertAuth, lowerPrioGarpRepeat: number): void {
    const old = this.#s.params;
    const next: InstanceParams = { ...params, address: old.address };
    const delta = old.priority - next.priority;
    const tracks = this.#s.tracks.filter((t) => t.name !== PRIORITY_SHIFT_TRACK);
    if (delta !== 0) tracks.push({ name: PRIORITY_SHIFT_TRACK, ok: delta > 0, weight: delta });
    this.#s = { ...this.#s, params: next, tracks };
    if (delta !== 0) this.#feed({ type: 'track-changed', name: PRIORITY_SHIFT_TRACK, ok: true, weight: 0 });
    if (!sameAuthShallow(this.#auth, auth)) this.#replay.clear();
    this.#auth = auth;
    this.#lowerPrioGarpRepeat = lowerPrioGarpRepeat;
  }

  /**
   * Reload with other GARP settings: the VIP manager is replaced. When MASTER, the new schedule
   * starts with one burst (harmless, and the refresh period takes effect now, not at the next
   * transition).
   */
  setVip(vip: VipOps): void {
    const old = this.#vip;
    this.#vip = vip;
    this.#enqueue(() => {
      old.stopGarp();
      if (this.#s.state === 'master') void vip.startGarp().catch((err: unknown) => this.#log('warn', `(${this.name}) gratuitous ARP: ${String(err)}`));
      return Promise.resolve();
    });
  }

  /** Planned priority override (switchover); null clears it. */
  setPriorityOverride(priority: number | null): void {
    this.#feed({ type: 'set-priority-override', priority });
  }

  onTransition(cb: (from: VrrpState, to: VrrpState, reason: TransitionReason) => void): () => void {
    this.#transitionListeners.add(cb);
    return () => this.#transitionListeners.delete(cb);
  }

  /** Resolves when every VIP/notify effect queued so far has run. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /**
   * SIGTERM path: the fsm's shutdown (a master sends priority 0 and releases the VIP, notify STOP),
   * then wait for those effects and the last sends, stop timers and listening. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#switchover?.finish(this.#result('aborted', 'stopped', 'the instance is stopping'));
    if (this.#started) this.#feed({ type: 'shutdown' });
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#chain;
    await Promise.allSettled([...this.#sends]);
    this.#vip.stopGarp();
  }

  // -------------------------------------------------------------------------------------------
  // status

  async status(): Promise<InstanceStatus> {
    const s = this.#s;
    const now = this.#clock.now();
    let holdsVip: boolean | null = null;
    let holdsVipError: string | undefined;
    try {
      holdsVip = await this.#vip.hasVip();
    } catch (err) {
      holdsVipError = err instanceof Error ? err.message : String(err);
    }
    const drops: Record<string, number> = { ...this.#drops };
    const td = this.#transport.stats.dropped;
    for (const [k, v] of Object.entries(td)) drops[k === 'ttl' ? 'bad-ttl' : k] = (drops[k === 'ttl' ? 'bad-ttl' : k] ?? 0) + v;
    const lt = s.lastTransition;
    const adv = advertisedPriority(s);
    return {
      name: this.name,
      interface: this.#iface,
      vrid: s.params.vrid,
      transport: this.#transportKind,
      localAddress: s.params.address,
      state: STATE_NAMES[s.state],
      basePriority: s.params.priority,
      effectivePriority: effectivePriority(s),
      advertisedPriority: adv,
      override: s.override,
      advertIntervalMs: s.params.advertIntervalMs,
      masterDownIntervalMs: masterDownIntervalMs(adv, s.masterAdverIntervalMs),
      vips: this.#vipSet,
      holdsVip,
      ...(holdsVipError === undefined ? {} : { holdsVipError }),
      peer:
        s.peer === null
          ? null
          : {
              address: s.peer.address, priority: s.peer.priority, role: s.peer.role,
              ageMs: Math.round(now - s.peer.heardAt), fresh: peerIsFresh(s, now),
            },
      tracks: s.tracks.filter((t) => !this.#hiddenTracks.has(t.name)).map((t) => ({ name: t.name, ok: t.ok, weight: t.weight })),
      downInterfaces: s.downInterfaces.map((n) => (n === '' ? this.#iface : n)),
      lastTransition:
        lt === null
          ? null
          : {
              from: STATE_NAMES[lt.from], to: STATE_NAMES[lt.to], reason: lt.reason, ageMs: Math.round(now - lt.at),
              time: (this.#lastTransitionTime ?? new Date()).toISOString(),
            },
      drops,
      adverts: { sent: this.#sent, received: this.#received, sendErrors: this.#sendErrors },
      vipErrors: this.#vipErrors,
    };
  }

  // -------------------------------------------------------------------------------------------
  // switchover

  /**
   * Planned handover (`hactl switchover`): advertise a priority just below the peer's (fsm
   * `set-priority-override`) while keeping the VIP; the peer preempts, and when its MASTER advert
   * arrives the fsm steps down and releases the VIP (RFC 5798 §6.4.3). Both hold the VIP for that
   * instant, never neither, so no client request fails. Bounded by 3 × Master_Down_Interval (+ our
   * preempt_delay, assuming the peer is configured alike); on timeout the override is cleared.
   *
   * The wire format does not carry the peer's nopreempt flag. What we can see: a fresh BACKUP peer
   * that advertises a priority above ours yet stays BACKUP is not preempting (nopreempt, or a
   * preempt_delay running), so a switchover would wait in vain: refused as `peer-nopreempt`. A
   * nopreempt peer with a lower priority is only found out by the timeout.
   */
  switchover(): Promise<SwitchoverResult> {
    const s = this.#s;
    const now = this.#clock.now();
    const refuse = (reason: string, message: string): Promise<SwitchoverResult> =>
      Promise.resolve({ instance: this.name, outcome: 'refused', reason, message });
    if (this.#stopped) return refuse('stopped', 'the instance is stopping');
    if (this.#switchover !== undefined) return refuse('in-progress', 'a switchover of this instance is already running');
    if (s.state !== 'master') return refuse('not-master', `this node is ${STATE_NAMES[s.state]} for ${this.name}, not MASTER`);
    const peer = s.peer;
    if (peer === null || !peerIsFresh(s, now)) {
      const age = peer === null ? 'never heard' : `last heard ${Math.round(now - peer.heardAt)} ms ago`;
      return refuse('no-peer', `no peer heard recently (${age}): nobody would take over`);
    }
    if (peer.priority === 0) return refuse('peer-not-ready', `peer ${peer.address} advertises priority 0 (FAULT or stopping)`);
    if (peer.role === 'master') return refuse('peer-is-master', `peer ${peer.address} also claims MASTER (split brain); wait until it resolves`);
    const mine = advertisedPriority(s);
    if (peer.priority > mine) {
      return refuse(
        'peer-nopreempt',
        `peer ${peer.address} advertises priority ${peer.priority}, above ours (${mine}), yet stays BACKUP: it has nopreempt or a preempt_delay running, so it would not take over`,
      );
    }
    const target = Math.min(mine, peer.priority - 1);
    if (target < 1) return refuse('priority-too-low', `peer ${peer.address} advertises priority ${peer.priority}; we cannot go below it`);
    const boundMs = Math.ceil(3 * masterDownIntervalMs(target, peer.intervalMs) + s.params.preemptDelayMs);
    const startedAt = now;
    return new Promise<SwitchoverResult>((resolve) => {
      let cancelTimer: (() => void) | undefined;
      let done = false;
      const finish = (r: SwitchoverResult): void => {
        if (done) return;
        done = true;
        cancelTimer?.();
        this.#switchover = undefined;
        resolve(r);
      };
      const pending: PendingSwitchover = {
        startedAt,
        target,
        finish,
        onTransition: (to, reason) => {
          if (to === 'backup' && reason === 'higher-priority-peer') {
            // The VIP release is queued behind this transition: report once it is done.
            void this.#chain.then(() => {
              const end = this.#clock.now();
              finish({
                ...this.#base(pending, peer.address, boundMs),
                outcome: 'done',
                message: `peer ${peer.address} is MASTER; VIP released after ${Math.round(end - startedAt)} ms`,
                releasedAfterMs: Math.round(end - startedAt),
                waitedMs: Math.round(end - startedAt),
              });
            });
          } else if (to !== 'master') {
            finish({ ...this.#base(pending, peer.address, boundMs), outcome: 'aborted', reason: 'state-changed', message: `left MASTER for ${STATE_NAMES[to]} (${reason}) during the switchover` });
          }
        },
      };
      this.#switchover = pending;
      cancelTimer = this.#clock.schedule(() => {
        if (done) return;
        this.#switchover = undefined;
        this.#feed({ type: 'set-priority-override', priority: null });
        finish({
          ...this.#base(pending, peer.address, boundMs),
          outcome: 'timeout',
          reason: 'peer-did-not-take-over',
          message: `peer ${peer.address} did not become MASTER within ${boundMs} ms (nopreempt or preempt_delay on the peer?); priority restored, this node stays MASTER`,
          waitedMs: boundMs,
        });
      }, boundMs);
      this.#log('info', `(${this.name}) switchover: advertising priority ${target} (peer ${peer.address} has ${peer.priority}), waiting up to ${boundMs} ms`);
      this.#feed({ type: 'set-priority-override', priority: target });
    });
  }

  #base(p: PendingSwitchover, peer: string, boundMs: number): Omit<SwitchoverResult, 'outcome' | 'message'> {
    return {
      instance: this.name, priority: p.target, peer, boundMs,
      ...(p.peerMasterAt === undefined ? {} : { peerMasterAfterMs: Math.round(p.peerMasterAt - p.startedAt) }),
    };
  }

  #result(outcome: SwitchoverOutcome, reason: string, message: string): SwitchoverResult {
    return { instance: this.name, outcome, reason, message };
  }

  // -------------------------------------------------------------------------------------------
  // the fsm loop

  #onDatagram(buf: Buffer, source: string): void {
    if (this.#stopped) return;
    const r = decodeAdvert(buf, { vrid: this.#s.params.vrid, auth: this.#auth, vipDigest: this.#digest, source, replay: this.#replay });
    if (!r.ok) {
      this.#drops[r.reason] = (this.#drops[r.reason] ?? 0) + 1;
      this.#log('debug', `(${this.name}) dropped advert from ${source}: ${r.reason}`);
      return;
    }
    this.#received++;
    const a = r.advert;
    const sw = this.#switchover;
    if (sw !== undefined && sw.peerMasterAt === undefined && a.role === 'master' && a.priority > sw.target) {
      sw.peerMasterAt = this.#clock.now();
    }
    this.#feed({ type: 'advert-received', sender: a.sender, priority: a.priority, intervalMs: a.intervalCs * 10, role: a.role, released: a.released === true });
    // After a switchover we stay "drained" (override) so as not to preempt straight back. Keep the
    // override just below the current master's priority rather than where the handover left it:
    // otherwise each round trip of switchovers would lower both nodes' priorities by one more.
    if (this.#s.state === 'backup' && this.#s.override !== null && this.#switchover === undefined && a.role === 'master' && a.priority > 0) {
      const desired = a.priority - 1;
      if (desired >= effectivePriority(this.#s)) this.#feed({ type: 'set-priority-override', priority: null });
      else if (desired >= 1 && desired !== this.#s.override) this.#feed({ type: 'set-priority-override', priority: desired });
    }
  }

  #feed(ev: FsmEvent, opts: { skipFirstDelVip?: boolean } = {}): void {
    this.#queue.push(ev);
    if (this.#busy) return;
    this.#busy = true;
    try {
      let skip = opts.skipFirstDelVip === true;
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        const before = this.#s.state;
        const r = step(this.#s, next, this.#clock.now());
        this.#s = r.state;
        for (const a of r.actions) {
          if (skip && a.type === 'del-vip') {
            // Improvement 3 already ran (removeLeftover in start()).
            skip = false;
            continue;
          }
          this.#execute(a, r.actions);
        }
        // A switchover's override has done its job once we are MASTER again for any reason.
        if (before !== 'master' && this.#s.state === 'master' && this.#s.override !== null && this.#switchover === undefined) {
          this.#queue.push({ type: 'set-priority-override', priority: null });
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  #execute(a: Action, all: readonly Action[]): void {
    switch (a.type) {
      case 'send-advert':
        if (a.role === 'master' && all.indexOf(a) > all.findIndex((x) => x.type === 'add-vip') && all.some((x) => x.type === 'add-vip')) {
          this.#sendAfterVip(a.priority);
        } else {
          this.#sendAdvert(a.priority, a.role, a.released === true);
        }
        break;
      case 'add-vip':
        this.#enqueue(async () => {
          for (const r of await this.#vip.add()) {
            if (r.outcome === 'failed') {
              this.#vipErrors++;
              this.#log('error', `(${this.name}) cannot add VIP: ${r.detail ?? ''}`);
            }
          }
        });
        break;
      case 'del-vip':
        this.#enqueue(async () => {
          this.#vip.stopGarp();
          for (const r of await this.#vip.remove()) {
            if (r.outcome === 'failed') {
              this.#vipErrors++;
              this.#log('error', `(${this.name}) cannot remove VIP: ${r.detail ?? ''}`);
            }
          }
        });
        break;
      case 'send-garp': {
        // After add-vip in the same step: keepalived's schedule (burst, second burst, refresh).
        // Otherwise (split brain re-assert): one burst of vrrp_garp_lower_prio_repeat.
        const fresh = all.some((x) => x.type === 'add-vip');
        // Not awaited: arping lingers ~1 s after sending, which must not delay a later del-vip.
        this.#enqueue(() => {
          const p = fresh ? this.#vip.startGarp() : this.#vip.garpBurst(this.#lowerPrioGarpRepeat);
          p.catch((err: unknown) => this.#log('warn', `(${this.name}) gratuitous ARP: ${String(err)}`));
          if (fresh) this.#firstGarp = p.then(() => undefined, () => undefined);
          return Promise.resolve();
        });
        break;
      }
      case 'notify': {
        const time = new Date();
        this.#lastTransitionTime = time;
        const priority = advertisedPriority(this.#s);
        for (const l of this.#transitionListeners) l(a.from, a.to, a.reason);
        this.#switchover?.onTransition(a.to, a.reason);
        this.#enqueue(() => {
          this.#notify.transition({
            instance: this.name,
            from: STATE_NAMES[a.from],
            // keepalived's notify_stop: the instance stopping is its STOP "state".
            to: a.to === 'init' && a.reason === 'shutdown' ? 'STOP' : STATE_NAMES[a.to],
            reason: a.reason,
            priority,
            time,
          });
          return Promise.resolve();
        });
        break;
      }
      case 'set-timer': {
        this.#timers.get(a.timer)?.();
        const timer = a.timer;
        const fire = (): void => {
          // Stale: cancelled or re-armed (e.g. by an advert read in between, see Clock.defer).
          if (this.#timers.get(timer) !== cancel) return;
          this.#timers.delete(timer);
          this.#feed({ type: 'timer', timer });
        };
        const cancel = this.#clock.schedule(() => {
          if (this.#clock.defer === undefined) fire();
          else this.#clock.defer(fire);
        }, a.at - this.#clock.now());
        this.#timers.set(timer, cancel);
        break;
      }
      case 'cancel-timer':
        this.#timers.get(a.timer)?.();
        this.#timers.delete(a.timer);
        break;
      case 'log':
        this.#log(a.level, a.message);
        break;
    }
  }

  /**
   * Our first MASTER advert after becoming master: sent once the VIP is on the interface and the
   * first gratuitous ARP burst has gone out (the fsm lists them first: clients before the peer),
   * or after GATE_CAP at the latest — never later than half an advert interval, so a slow `ip` or
   * an arping fallback (whose burst only "ends" when the processes exit, ~1 s) cannot silence us.
   * A master that hears this advert releases the VIP at once; by then the clients already point here.
   */
  #sendAfterVip(priority: number): void {
    let sent = false;
    let release: () => void = () => {};
    const capped = new Promise<void>((resolve) => {
      release = resolve;
    });
    const go = (): void => {
      release();
      if (sent) return;
      sent = true;
      cancel();
      // Still MASTER? A later step may have moved on (and sent its own advert).
      if (this.#stopped || this.#s.state !== 'master') return;
      this.#sendAdvert(priority, 'master');
    };
    const cap = Math.min(MASTER_ADVERT_GATE_CAP_MS, this.#s.params.advertIntervalMs / 2);
    const cancel = this.#clock.schedule(go, cap);
    this.#firstGarp = undefined;
    this.#enqueue(async () => {
      // Queued after add-vip and send-garp of the same step: the VIP is there, the burst started.
      // The chain (a later del-vip, notify) never waits longer than the cap either.
      await Promise.race([this.#firstGarp, capped]);
      go();
    });
  }

  #enqueue(fn: () => Promise<void>): void {
    this.#chain = this.#chain.then(fn).catch((err: unknown) => {
      this.#log('error', `(${this.name}) ${String(err)}`);
    });
  }

  #sendAdvert(priority: number, role: 'master' | 'backup', released = false): void {
    const p = this.#s.params;
    let buf: Buffer;
    try {
      buf = encodeAdvert(
        {
          role, ...(released ? { released } : {}), vrid: p.vrid, priority, intervalCs: Math.max(1, Math.min(4095, Math.round(p.advertIntervalMs / 10))),
          sender: p.address, vipCount: this.#vipCount, vipDigest: this.#digest, bootId: this.#bootId, seq: ++this.#seq,
        },
        this.#auth,
      );
    } catch (err) {
      this.#log('error', `(${this.name}) cannot encode advert: ${String(err)}`);
      return;
    }
    const send = this.#transport.send(buf).then((r) => {
      this.#sent += r.sent;
      if (r.errors.length > 0) {
        this.#sendErrors += r.errors.length;
        const now = this.#clock.now();
        // One line per second at most: a link down at advert_int 0.05 would flood the journal.
        if (now - this.#lastSendErrorLog >= 1000) {
          this.#lastSendErrorLog = now;
          this.#log('warn', `(${this.name}) advert send failed: ${r.errors.join('; ')}`);
        }
      }
    }, (err: unknown) => {
      // The transport contract says send never rejects; a broken one must not take us down.
      this.#sendErrors++;
      this.#log('error', `(${this.name}) advert send threw: ${String(err)}`);
    });
    this.#sends.add(send);
    void send.then(() => this.#sends.delete(send));
  }
}

function sameAuthShallow(a: AdvertAuth, b: AdvertAuth): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'pass' && b.type === 'pass') return a.password === b.password;
  if (a.type === 'hmac' && b.type === 'hmac') return a.key.equals(b.key);
  return true;
}
