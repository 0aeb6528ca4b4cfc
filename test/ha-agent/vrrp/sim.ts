/**
 * A discrete-event simulator for VRRP instances driven by the pure fsm (ha-agent/vrrp/fsm.ts),
 * reusable by unit tests, property tests, later drills' models and the agent's tests.
 *
 * It plays the effect layer: it keeps each node's armed timers and fires them (never before they
 * are due, optionally late by `jitter`), carries adverts over a simulated network with a per-message
 * `delay` (FIFO per direction, in-flight datagrams lost when the link goes down), and models the
 * host: whether the VIP is on the interface (it survives a crash, which is what improvement 3
 * cleans up). Adverts go through the real codec (encodeAdvert/decodeAdvert with a ReplayGuard) so
 * boot ids and sequence numbers behave as on the wire.
 *
 * Randomness comes only from the injected `rng`, so a failing fast-check seed replays exactly.
 * Simultaneous events are ordered by a random tie key: that is the "arbitrary interleaving".
 */
import type { Action, FsmEvent, InstanceState, TimerName } from '../../../ha-agent/vrrp/fsm.ts';
import { initialState, step } from '../../../ha-agent/vrrp/fsm.ts';
import type { AdvertAuth, AdvertDropReason } from '../../../ha-agent/vrrp/packet.ts';
import { ReplayGuard, decodeAdvert, encodeAdvert, vipSetCount, vipSetDigest } from '../../../ha-agent/vrrp/packet.ts';
import type { InstanceParams, VrrpState } from '../../../ha-agent/vrrp/types.ts';

export interface SimOptions {
  /** Uniform [0, 1) source; all randomness of the simulation. Default: seededRng(1), reproducible. */
  readonly rng?: () => number;
  /** Network delay of one datagram in ms, drawn per datagram. Default 1. */
  readonly delay?: (rng: () => number) => number;
  /** Lateness added to each timer firing in ms (≥ 0). Default 0. */
  readonly jitter?: (rng: () => number) => number;
  readonly auth?: AdvertAuth;
  readonly vips?: readonly string[];
  /** Called after every processed event or command, e.g. to check invariants or measure windows. */
  readonly observe?: (sim: Sim) => void;
}

export interface SimTransition {
  readonly node: number;
  readonly at: number;
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly reason: string;
}

export interface SimNode {
  readonly index: number;
  readonly params: InstanceParams;
  fsm: InstanceState;
  /** The agent process runs. */
  alive: boolean;
  /** The host has the VIP on its interface (survives a crash of the agent). */
  holdsVip: boolean;
  /** The node's own interface is up (its adverts leave and arrive). */
  ifUp: boolean;
  /** What the trackers would report now; replayed after a (re)start. */
  readonly trackTruth: Map<string, { ok: boolean; weight: number }>;
  bootId: bigint;
  seq: number;
  replay: ReplayGuard;
  garps: number;
  advertsSent: number;
  readonly drops: Partial<Record<AdvertDropReason, number>>;
  /** Every action the fsm produced, with the time (for tests that look at the exact sequence). */
  readonly actions: Array<{ at: number; action: Action }>;
}

type QueueItem =
  | { at: number; tie: number; kind: 'timer'; node: number; timer: TimerName; gen: number }
  | { at: number; tie: number; kind: 'deliver'; node: number; bytes: Buffer; sentWhileEpoch: number };

/** Violations the simulator detects itself, whatever the test checks. */
export class SimInvariantError extends Error {
  override name = 'SimInvariantError';
}

export class Sim {
  now = 0;
  readonly nodes: SimNode[];
  linkUp = true;
  readonly transitions: SimTransition[] = [];
  readonly #rng: () => number;
  readonly #delay: (rng: () => number) => number;
  readonly #jitter: (rng: () => number) => number;
  readonly #auth: AdvertAuth;
  readonly #digest: Buffer;
  readonly #vipCount: number;
  readonly #observe: ((sim: Sim) => void) | undefined;
  #queue: QueueItem[] = [];
  /** Armed timer generation per node and name; a queued firing with another generation is stale. */
  readonly #armed: Array<Map<TimerName, number>>;
  #gen = 0;
  /** Link epoch: bumped when the link goes down, so datagrams in flight are lost. */
  #epoch = 0;
  /** Last delivery time per direction, to keep each direction FIFO. */
  readonly #lastDelivery = new Map<string, number>();

  constructor(params: readonly InstanceParams[], options: SimOptions = {}) {
    this.#rng = options.rng ?? seededRng(1);
    this.#delay = options.delay ?? (() => 1);
    this.#jitter = options.jitter ?? (() => 0);
    this.#auth = options.auth ?? { type: 'none' };
    const vips = options.vips ?? ['198.18.0.100/24'];
    this.#digest = vipSetDigest(vips);
    this.#vipCount = vipSetCount(vips);
    this.#observe = options.observe;
    this.#armed = params.map(() => new Map());
    this.nodes = params.map((p, index) => ({
      index,
      params: p,
      fsm: initialState(p),
      alive: false,
      holdsVip: false,
      ifUp: true,
      trackTruth: new Map(p.tracks.map((t) => [t.name, { ok: t.initiallyOk, weight: t.weight }])),
      bootId: 0n,
      seq: 0,
      replay: new ReplayGuard(),
      garps: 0,
      advertsSent: 0,
      drops: {},
      actions: [],
    }));
  }

  // ----- commands (the test's hands) ------------------------------------------------------------

  /** Start the agent on node i (no-op if running): fresh process state, trackers report, startup. */
  startup(i: number): void {
    const n = this.#node(i);
    if (n.alive) return;
    n.alive = true;
    n.fsm = initialState(n.params);
    n.bootId = BigInt(Math.floor(this.#rng() * 2 ** 52)) * 4096n + BigInt(Math.floor(this.#rng() * 4096));
    n.seq = 0;
    n.replay = new ReplayGuard();
    this.#armed[i]?.clear();
    // The agent learns link and track states before it starts the instance.
    if (!n.ifUp) this.#apply(i, { type: 'interface-down' });
    for (const [name, t] of n.trackTruth) this.#apply(i, { type: 'track-changed', name, ok: t.ok, weight: t.weight });
    this.#apply(i, { type: 'startup' });
    this.#observed();
  }

  /** SIGTERM: the fsm's shutdown actions run (priority 0 advert, VIP released), then the process ends. */
  shutdown(i: number): void {
    const n = this.#node(i);
    if (!n.alive) return;
    this.#apply(i, { type: 'shutdown' });
    this.#kill(i);
    this.#observed();
  }

  /** SIGKILL / host crash: nothing runs; the VIP stays on the interface. */
  crash(i: number): void {
    if (!this.#node(i).alive) return;
    this.#kill(i);
    this.#observed();
  }

  track(i: number, name: string, ok: boolean, weight?: number): void {
    const n = this.#node(i);
    const w = weight ?? n.trackTruth.get(name)?.weight ?? 0;
    n.trackTruth.set(name, { ok, weight: w });
    if (n.alive) this.#apply(i, { type: 'track-changed', name, ok, weight: w });
    this.#observed();
  }

  setInterface(i: number, up: boolean): void {
    const n = this.#node(i);
    n.ifUp = up;
    if (n.alive) this.#apply(i, { type: up ? 'interface-up' : 'interface-down' });
    this.#observed();
  }

  override(i: number, priority: number | null): void {
    if (this.#node(i).alive) this.#apply(i, { type: 'set-priority-override', priority });
    this.#observed();
  }

  /** Feed any event to node i's fsm (for tests of odd inputs). */
  inject(i: number, event: FsmEvent): void {
    if (this.#node(i).alive) this.#apply(i, event);
    this.#observed();
  }

  setLink(up: boolean): void {
    if (this.linkUp && !up) this.#epoch++;
    this.linkUp = up;
    this.#observed();
  }

  // ----- time ------------------------------------------------------------------------------------

  /** Process every queued event due at or before `t`, in time order, then set now = t. */
  runUntil(t: number): void {
    // A correct pair exchanges a few events per advert interval; thousands per simulated
    // millisecond mean two nodes answer each other's adverts forever (an advert storm).
    const budget = 1000 + Math.max(0, t - this.now) * 10;
    let processed = 0;
    for (;;) {
      const next = this.#popDue(t);
      if (next === undefined) break;
      if (++processed > budget) throw new SimInvariantError(`event storm: over ${budget} events before ${t} (now ${this.now})`);
      this.now = Math.max(this.now, next.at);
      this.#process(next);
      this.#observed();
    }
    this.now = Math.max(this.now, t);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  // ----- views -----------------------------------------------------------------------------------

  state(i: number): VrrpState {
    const n = this.#node(i);
    return n.alive ? n.fsm.state : 'init';
  }

  /** Indices of running nodes in MASTER state. */
  masters(): number[] {
    return this.nodes.filter((n) => n.alive && n.fsm.state === 'master').map((n) => n.index);
  }

  /** Indices of hosts that have the VIP on their interface (crashed ones included). */
  vipHolders(): number[] {
    return this.nodes.filter((n) => n.holdsVip).map((n) => n.index);
  }

  /** Time of the next queued event, or null when nothing is pending. */
  nextEventAt(): number | null {
    let best: number | null = null;
    for (const q of this.#queue) if (best === null || q.at < best) best = q.at;
    return best;
  }

  // ----- internals -------------------------------------------------------------------------------

  #node(i: number): SimNode {
    const n = this.nodes[i];
    if (n === undefined) throw new RangeError(`no node ${i}`);
    return n;
  }

  #observed(): void {
    this.#observe?.(this);
  }

  #kill(i: number): void {
    const n = this.#node(i);
    n.alive = false;
    n.fsm = initialState(n.params);
    this.#armed[i]?.clear();
    this.#queue = this.#queue.filter((q) => !(q.kind === 'timer' && q.node === i));
  }

  #popDue(t: number): QueueItem | undefined {
    let bestIdx = -1;
    for (let k = 0; k < this.#queue.length; k++) {
      const q = this.#queue[k];
      const b = bestIdx >= 0 ? this.#queue[bestIdx] : undefined;
      if (q === undefined || q.at > t) continue;
      if (b === undefined || q.at < b.at || (q.at === b.at && q.tie < b.tie)) bestIdx = k;
    }
    if (bestIdx < 0) return undefined;
    return this.#queue.splice(bestIdx, 1)[0];
  }

  #process(q: QueueItem): void {
    const n = this.#node(q.node);
    if (q.kind === 'timer') {
      if (!n.alive || this.#armed[q.node]?.get(q.timer) !== q.gen) return;
      this.#armed[q.node]?.delete(q.timer);
      this.#apply(q.node, { type: 'timer', timer: q.timer });
      return;
    }
    if (!n.alive || !n.ifUp || !this.linkUp || q.sentWhileEpoch !== this.#epoch) return;
    const verdict = decodeAdvert(q.bytes, {
      vrid: n.params.vrid,
      auth: this.#auth,
      vipDigest: this.#digest,
      replay: n.replay,
    });
    if (!verdict.ok) {
      n.drops[verdict.reason] = (n.drops[verdict.reason] ?? 0) + 1;
      return;
    }
    const a = verdict.advert;
    this.#apply(q.node, {
      type: 'advert-received',
      sender: a.sender,
      priority: a.priority,
      intervalMs: a.intervalCs * 10,
      role: a.role,
    });
  }

  #apply(i: number, event: FsmEvent): void {
    const n = this.#node(i);
    const { state, actions } = step(n.fsm, event, this.now);
    n.fsm = state;
    for (const action of actions) {
      n.actions.push({ at: this.now, action });
      this.#effect(i, action);
    }
    // The model of the host must agree with the fsm after every step (a running agent holds the
    // VIP exactly when it is master; before `startup` a crashed run's VIP may still be there).
    if (n.alive && n.fsm.state !== 'init' && n.holdsVip !== (n.fsm.state === 'master')) {
      throw new SimInvariantError(
        `node ${i} at ${this.now}: state ${n.fsm.state} but VIP ${n.holdsVip ? 'held' : 'not held'} after ${event.type}`,
      );
    }
  }

  #effect(i: number, action: Action): void {
    const n = this.#node(i);
    switch (action.type) {
      case 'set-timer': {
        if (!(action.at >= this.now)) {
          throw new SimInvariantError(`node ${i}: timer ${action.timer} set in the past (${action.at} < ${this.now})`);
        }
        const gen = ++this.#gen;
        this.#armed[i]?.set(action.timer, gen);
        const late = Math.max(0, this.#jitter(this.#rng));
        this.#queue.push({ at: action.at + late, tie: this.#rng(), kind: 'timer', node: i, timer: action.timer, gen });
        break;
      }
      case 'cancel-timer':
        this.#armed[i]?.delete(action.timer);
        break;
      case 'add-vip':
        n.holdsVip = true;
        break;
      case 'del-vip':
        n.holdsVip = false;
        break;
      case 'send-garp':
        n.garps++;
        break;
      case 'notify':
        this.transitions.push({ node: i, at: action.at, from: action.from, to: action.to, reason: action.reason });
        break;
      case 'send-advert':
        this.#send(i, action.priority, action.role);
        break;
      case 'log':
        break;
    }
  }

  #send(i: number, priority: number, role: 'master' | 'backup'): void {
    const n = this.#node(i);
    n.advertsSent++;
    if (!n.ifUp || !this.linkUp) return;
    const bytes = encodeAdvert(
      {
        role,
        vrid: n.params.vrid,
        priority,
        intervalCs: Math.max(1, Math.round(n.params.advertIntervalMs / 10)),
        sender: n.params.address,
        vipCount: this.#vipCount,
        vipDigest: this.#digest,
        bootId: n.bootId,
        seq: ++n.seq,
      },
      this.#auth,
    );
    for (const peer of this.nodes) {
      if (peer.index === i) continue;
      const key = `${i}>${peer.index}`;
      // FIFO per direction: strictly after the previous datagram (1 µs), so that random tie
      // breaking never reorders two datagrams of one sender (the replay guard would drop one).
      const prev = this.#lastDelivery.get(key);
      const at = Math.max(this.now + Math.max(0, this.#delay(this.#rng)), prev === undefined ? 0 : prev + 0.001);
      this.#lastDelivery.set(key, at);
      this.#queue.push({ at, tie: this.#rng(), kind: 'deliver', node: peer.index, bytes, sentWhileEpoch: this.#epoch });
    }
  }
}

/** Small deterministic PRNG (mulberry32) for reproducible simulations from a fast-check seed. */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Instance parameters with sensible defaults for tests. */
export function instance(over: Partial<InstanceParams> = {}): InstanceParams {
  return {
    name: 'VI_1',
    vrid: 51,
    address: '198.18.0.1',
    priority: 100,
    advertIntervalMs: 100,
    initialState: 'BACKUP',
    nopreempt: false,
    preemptDelayMs: 0,
    tracks: [],
    ...over,
  };
}
