/**
 * The VRRP state machine of one instance, as a PURE function (DESIGN.md principle 5):
 *
 *     step(state, event, now) → { state, actions }
 *
 * No I/O, no clock, no timers. Time comes in as `now` (ms, monotonic, chosen by the caller);
 * timers go out as `set-timer {timer, at}` / `cancel-timer` actions and come back as `timer`
 * events. One timer of each name exists at a time: `set-timer` replaces the previous deadline.
 * The state remembers every deadline, so a stale or early `timer` event is harmless (ignored or
 * re-armed), which keeps the effect layer simple.
 *
 * It follows RFC 5798 §6 (Initialize §6.4.1, Backup §6.4.2, Master §6.4.3) with keepalived's
 * additions (FAULT, nopreempt, preempt_delay, track weights) and four improvements where keepalived
 * is slow or unsafe, each marked "Improvement N" below:
 *   1. a master whose priority falls below the peer's resigns at once (priority 0 + VIP released);
 *   2. split brain: a master hearing a lower master re-asserts at once with advert + gratuitous ARP,
 *      the lower one releases the VIP (RFC: the lower steps down, the higher silently discards);
 *      and in any heal order, a master re-announces itself (GARP) when it hears a peer again after
 *      a silence or a peer whose adverts say it `released` the VIP recently (a takeover too short,
 *      or too one-sided, for us ever to hear it as MASTER);
 *   3. `startup` first removes a VIP left over by a crashed run;
 *   4. every transition yields one `notify {from, to, reason, at}` for the notify queue and the
 *      JSON transition log.
 * Two smaller ones: a backup also sends adverts (role flag, see packet.ts) so the master knows the
 * peer's current priority; and a preempting backup takes over on the first lower-priority advert
 * instead of waiting for Master_Down_Interval (RFC 5798 §6.4.2 discards it and waits).
 */
import type { AdvertRole, InstanceParams, VrrpState } from './types.ts';
import { canonicalIp, compareAddresses } from './types.ts';

export type TimerName = 'advert' | 'master-down' | 'preempt-delay';
const TIMER_NAMES: readonly TimerName[] = ['advert', 'master-down', 'preempt-delay'];

/** Why a transition happened; also the `reason` of the JSON transition line. */
export type TransitionReason =
  | 'startup' // init → backup (§6.4.1)
  | 'owner' // init/fault → master because priority is 255 (§6.4.1)
  | 'master-down' // backup → master: no advert for Master_Down_Interval (§6.4.2)
  | 'peer-resigned' // backup → master: peer sent priority 0, we waited Skew_Time (§6.4.2)
  | 'preempt' // backup → master: the master advertises a lower priority than ours
  | 'higher-priority-peer' // master → backup: a better master advertises (§6.4.3)
  | 'priority-below-peer' // master → backup: improvement 1
  | 'fault' // → fault: interface down or a weight-0 track failing (keepalived)
  | 'fault-cleared' // fault → backup
  | 'shutdown'; // → init: SIGTERM (§6.4.2/§6.4.3 Shutdown event)

export type FsmEvent =
  | { readonly type: 'startup' }
  | {
      readonly type: 'advert-received';
      readonly sender: string;
      readonly priority: number;
      /** Advert interval of the sender in ms (centiseconds × 10). */
      readonly intervalMs: number;
      readonly role: AdvertRole;
      /** The sender released the VIP recently (packet.ts `released`). */
      readonly released?: boolean;
    }
  | { readonly type: 'timer'; readonly timer: TimerName }
  | { readonly type: 'track-changed'; readonly name: string; readonly ok: boolean; readonly weight?: number }
  | { readonly type: 'shutdown' }
  /** Planned switchover: advertise `priority` (1..255) instead of the effective one; null clears. */
  | { readonly type: 'set-priority-override'; readonly priority: number | null }
  /** `name` defaults to '' = the instance's own interface; other names are track_interface entries. */
  | { readonly type: 'interface-down'; readonly name?: string }
  | { readonly type: 'interface-up'; readonly name?: string };

export type Action =
  | { readonly type: 'send-advert'; readonly priority: number; readonly role: AdvertRole; readonly released?: boolean }
  | { readonly type: 'add-vip' }
  | { readonly type: 'del-vip' }
  | { readonly type: 'send-garp' }
  | {
      readonly type: 'notify';
      readonly from: VrrpState;
      readonly to: VrrpState;
      readonly reason: TransitionReason;
      readonly at: number;
    }
  | { readonly type: 'set-timer'; readonly timer: TimerName; readonly at: number }
  | { readonly type: 'cancel-timer'; readonly timer: TimerName }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly message: string };

export interface TrackStatus {
  readonly name: string;
  readonly ok: boolean;
  readonly weight: number;
}

/** The last advert heard from another router (for improvement 1, preempt_delay and hactl status). */
export interface PeerInfo {
  readonly address: string;
  readonly priority: number;
  readonly role: AdvertRole;
  readonly intervalMs: number;
  readonly heardAt: number;
  /** Its last advert carried the `released` flag. */
  readonly released?: boolean;
}

export interface Transition {
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly reason: TransitionReason;
  readonly at: number;
}

export interface InstanceState {
  readonly params: InstanceParams;
  readonly state: VrrpState;
  /** One entry per track name, in first-seen order (an array: track names are user text, and a
   * plain object keyed by them would meet `__proto__`). */
  readonly tracks: readonly TrackStatus[];
  /** Interfaces reported down; '' is the instance's own interface. Non-empty → FAULT. */
  readonly downInterfaces: readonly string[];
  readonly override: number | null;
  /** Master_Adver_Interval (RFC 5798 §6.1): the interval learned from the current master. */
  readonly masterAdverIntervalMs: number;
  /** Deadline of each pending timer, null when not armed. */
  readonly timers: Readonly<Record<TimerName, number | null>>;
  /** Whether the pending master-down timer was armed by a priority-0 advert (reason naming only). */
  readonly masterDownCause: 'timeout' | 'peer-resigned';
  readonly peer: PeerInfo | null;
  readonly lastTransition: Transition | null;
  /** When we last left MASTER (null: never): our adverts carry `released` for RELEASED_FLAG_MS. */
  readonly releasedAt?: number | null;
}

export interface StepResult {
  readonly state: InstanceState;
  readonly actions: readonly Action[];
}

/** The state of an instance before `startup`: Initialize (RFC 5798 §6.4.1). */
export function initialState(params: InstanceParams): InstanceState {
  const tracks: TrackStatus[] = [];
  for (const t of params.tracks) {
    if (!tracks.some((x) => x.name === t.name)) tracks.push({ name: t.name, ok: t.initiallyOk, weight: t.weight });
  }
  return {
    params,
    state: 'init',
    tracks,
    downInterfaces: [],
    override: null,
    masterAdverIntervalMs: params.advertIntervalMs,
    timers: { advert: null, 'master-down': null, 'preempt-delay': null },
    masterDownCause: 'timeout',
    peer: null,
    lastTransition: null,
    releasedAt: null,
  };
}

/**
 * keepalived's effective priority: base + Σ(weight > 0 and OK) − Σ(|weight| for weight < 0 and
 * failing), clamped to 1..254 (vrrp_set_effective_priority). The address owner (base 255) ignores
 * weighted tracks and stays 255 — keepalived 2.2.7 -t says "ignoring tracked script … with weights
 * due to address_owner". Weight-0 tracks never change the priority: they cause FAULT instead.
 */
export function effectivePriority(s: InstanceState): number {
  const base = s.params.priority;
  if (base === 255) return 255;
  let total = base;
  for (const t of s.tracks) {
    if (t.weight > 0 && t.ok) total += t.weight;
    else if (t.weight < 0 && !t.ok) total += t.weight;
  }
  return Math.min(254, Math.max(1, total));
}

/** The priority we put in adverts and use in elections: effective, lowered by a switchover override. */
export function advertisedPriority(s: InstanceState): number {
  const eff = effectivePriority(s);
  return s.override === null ? eff : Math.min(eff, s.override);
}

/** keepalived FAULT: an interface down, or a weight-0 track failing. */
export function isFaulted(s: InstanceState): boolean {
  return s.downInterfaces.length > 0 || s.tracks.some((t) => t.weight === 0 && !t.ok);
}

/** RFC 5798 §6.1: Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256. */
export function skewTimeMs(priority: number, masterAdverIntervalMs: number): number {
  return ((256 - priority) * masterAdverIntervalMs) / 256;
}

/** RFC 5798 §6.1: Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time. */
export function masterDownIntervalMs(priority: number, masterAdverIntervalMs: number): number {
  return 3 * masterAdverIntervalMs + skewTimeMs(priority, masterAdverIntervalMs);
}

/**
 * Whether this instance preempts a lower-priority master. RFC 5798 §6.1: the owner (255) always
 * preempts. keepalived: `nopreempt` only works with initial state BACKUP ("nopreempt will not work
 * with initial state MASTER - clearing") and not for priority 255 ("nopreempt is incompatible with
 * priority 255. resetting nopreempt"); both messages from keepalived 2.2.7 -t.
 */
export function preemptEnabled(params: InstanceParams): boolean {
  if (params.priority === 255) return true;
  return !(params.nopreempt && params.initialState === 'BACKUP');
}

/** Whether the last advert heard still describes a live peer: heard within its Master_Down_Interval. */
export function peerIsFresh(s: InstanceState, now: number): boolean {
  const p = s.peer;
  if (p === null) return false;
  return now - p.heardAt <= masterDownIntervalMs(advertisedPriority(s), p.intervalMs);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Working copy plus the actions produced so far, for one step. */
interface Ctx {
  s: Omit<Mutable<InstanceState>, 'timers'> & { timers: Record<TimerName, number | null> };
  readonly now: number;
  readonly out: Action[];
}

/**
 * Apply one event. Accepts any state produced by initialState/step, any event (fields out of range
 * are logged and ignored, never thrown on) and any finite `now`. Deadlines emitted are ≥ now.
 */
export function step(state: InstanceState, event: FsmEvent, now: number): StepResult {
  const ctx: Ctx = { s: { ...state, timers: { ...state.timers } }, now, out: [] };
  if (!Number.isFinite(now)) {
    log(ctx, 'warn', `ignored ${event.type}: clock value ${String(now)} is not finite`);
    return { state, actions: ctx.out };
  }
  switch (event.type) {
    case 'startup':
      onStartup(ctx);
      break;
    case 'shutdown':
      onShutdown(ctx);
      break;
    case 'timer':
      onTimer(ctx, event.timer);
      break;
    case 'advert-received':
      onAdvert(ctx, event);
      break;
    case 'track-changed':
      onTrack(ctx, event);
      break;
    case 'interface-down':
    case 'interface-up':
      onInterface(ctx, event.name ?? '', event.type === 'interface-up');
      break;
    case 'set-priority-override':
      onOverride(ctx, event.priority);
      break;
    default:
      log(ctx, 'warn', `ignored unknown event ${JSON.stringify(event satisfies never)}`);
  }
  return { state: ctx.s, actions: ctx.out };
}

// ---------------------------------------------------------------------------------------------
// helpers that emit actions

function log(ctx: Ctx, level: 'debug' | 'info' | 'warn', message: string): void {
  ctx.out.push({ type: 'log', level, message: `(${ctx.s.params.name}) ${message}` });
}

function setTimer(ctx: Ctx, timer: TimerName, at: number): void {
  // Never in the past, whatever the arithmetic: a caller's timer that fires "immediately" is fine.
  const when = Math.max(at, ctx.now);
  ctx.s.timers[timer] = when;
  ctx.out.push({ type: 'set-timer', timer, at: when });
}

function cancelTimer(ctx: Ctx, timer: TimerName): void {
  if (ctx.s.timers[timer] === null) return;
  ctx.s.timers[timer] = null;
  ctx.out.push({ type: 'cancel-timer', timer });
}

function cancelAllTimers(ctx: Ctx): void {
  for (const t of TIMER_NAMES) cancelTimer(ctx, t);
}

/**
 * How long our adverts say `released` after we left MASTER: long enough to reach a master that
 * hears us again after a short partition (several adverts, at least a second).
 */
export function releasedFlagMs(advertIntervalMs: number): number {
  return Math.max(1000, 5 * advertIntervalMs);
}

function sendAdvert(ctx: Ctx, priority: number, role: AdvertRole): void {
  const at = ctx.s.releasedAt ?? null;
  const released = role === 'backup' && at !== null && ctx.now - at < releasedFlagMs(ownInterval(ctx));
  ctx.out.push(released ? { type: 'send-advert', priority, role, released } : { type: 'send-advert', priority, role });
}

function transition(ctx: Ctx, to: VrrpState, reason: TransitionReason): void {
  const from = ctx.s.state;
  if (from === 'master' && to !== 'master') ctx.s.releasedAt = ctx.now;
  ctx.s.state = to;
  ctx.s.lastTransition = { from, to, reason, at: ctx.now };
  log(ctx, 'info', `${from.toUpperCase()} → ${to.toUpperCase()} (${reason}), priority ${advertisedPriority(ctx.s)}`);
  // Improvement 4: one notify per transition, after the VIP/advert actions of the same step, so
  // notify_master runs once the address is in place and notify_backup once it is gone.
  ctx.out.push({ type: 'notify', from, to, reason, at: ctx.now });
}

function ownInterval(ctx: Ctx): number {
  return ctx.s.params.advertIntervalMs;
}

/** RFC 5798 §6.4.1 (owner) and §6.4.2 "If the Master_Down_Timer fires": become master. */
function enterMaster(ctx: Ctx, reason: TransitionReason): void {
  cancelTimer(ctx, 'master-down');
  cancelTimer(ctx, 'preempt-delay');
  // Clients first, then the peer: the VIP and the gratuitous ARP come before our first MASTER
  // advert (the effect layer sends it once they are done, see instance.ts), because a master that
  // hears it steps down and releases the VIP — had it done so before our GARP, the clients would
  // still point at it (a planned switchover measured 7 failed probes that way).
  ctx.out.push({ type: 'add-vip' });
  ctx.out.push({ type: 'send-garp' });
  sendAdvert(ctx, advertisedPriority(ctx.s), 'master');
  setTimer(ctx, 'advert', ctx.now + ownInterval(ctx));
  transition(ctx, 'master', reason);
}

/**
 * RFC 5798 §6.4.1 (non-owner) and §6.4.3 (a better master is heard): become backup and wait
 * `downIn` for the master's adverts. We also announce our own priority with a backup advert (and
 * keep doing so every interval) so the master can apply improvement 1.
 */
function enterBackup(ctx: Ctx, reason: TransitionReason, masterIntervalMs: number, downIn?: number): void {
  if (ctx.s.state === 'master') {
    ctx.out.push({ type: 'del-vip' });
    ctx.s.releasedAt = ctx.now; // before our first BACKUP advert, which carries `released`
  }
  cancelTimer(ctx, 'preempt-delay');
  ctx.s.masterAdverIntervalMs = masterIntervalMs;
  ctx.s.masterDownCause = 'timeout';
  const prio = advertisedPriority(ctx.s);
  setTimer(ctx, 'master-down', ctx.now + (downIn ?? masterDownIntervalMs(prio, masterIntervalMs)));
  sendAdvert(ctx, prio, 'backup');
  setTimer(ctx, 'advert', ctx.now + ownInterval(ctx));
  transition(ctx, 'backup', reason);
}

/**
 * keepalived FAULT. A master sends priority 0 first (RFC 5798 §6.4.3 Shutdown behaviour) so the
 * backup takes over after Skew_Time instead of Master_Down_Interval, then releases the VIP; a
 * backup sends a backup advert with priority 0 so the master knows it has no standby.
 */
function enterFault(ctx: Ctx): void {
  const from = ctx.s.state;
  if (from === 'master') {
    sendAdvert(ctx, 0, 'master');
    ctx.out.push({ type: 'del-vip' });
  } else if (from === 'backup') {
    sendAdvert(ctx, 0, 'backup');
  }
  cancelAllTimers(ctx);
  transition(ctx, 'fault', 'fault');
}

/** Leave Initialize or FAULT: the same choice as RFC 5798 §6.4.1 Startup. */
function comeUp(ctx: Ctx, reason: TransitionReason): void {
  const p = ctx.s.params;
  if (advertisedPriority(ctx.s) === 255) {
    enterMaster(ctx, 'owner');
    return;
  }
  // keepalived-like: `state MASTER` is only a hint. We start as backup but wait one advert
  // interval + Skew_Time instead of the full Master_Down_Interval: a running master is heard
  // within one interval, and without one we become master ~3 intervals sooner.
  const prio = advertisedPriority(ctx.s);
  const downIn =
    p.initialState === 'MASTER'
      ? p.advertIntervalMs + skewTimeMs(prio, p.advertIntervalMs)
      : masterDownIntervalMs(prio, p.advertIntervalMs);
  enterBackup(ctx, reason, p.advertIntervalMs, downIn);
}

// ---------------------------------------------------------------------------------------------
// event handlers

/** RFC 5798 §6.4.1 Startup event. */
function onStartup(ctx: Ctx): void {
  if (ctx.s.state !== 'init') {
    log(ctx, 'debug', `startup ignored in state ${ctx.s.state}`);
    return;
  }
  // Improvement 3: a crashed run may have left the VIP on the interface; remove it before
  // anything else so a BACKUP start never answers for the VIP.
  ctx.out.push({ type: 'del-vip' });
  ctx.s.peer = null;
  ctx.s.masterAdverIntervalMs = ctx.s.params.advertIntervalMs;
  if (isFaulted(ctx.s)) {
    transition(ctx, 'fault', 'fault');
    return;
  }
  comeUp(ctx, 'startup');
}

/** RFC 5798 §6.4.2 / §6.4.3 Shutdown event. */
function onShutdown(ctx: Ctx): void {
  const from = ctx.s.state;
  if (from === 'init') return;
  if (from === 'master') {
    // §6.4.3: send an advert with priority 0 so the backup takes over after Skew_Time.
    sendAdvert(ctx, 0, 'master');
    ctx.out.push({ type: 'del-vip' });
  } else if (from === 'backup') {
    sendAdvert(ctx, 0, 'backup');
  }
  cancelAllTimers(ctx);
  ctx.s.override = null;
  transition(ctx, 'init', 'shutdown');
}

function onTimer(ctx: Ctx, timer: TimerName): void {
  if (!TIMER_NAMES.includes(timer)) {
    log(ctx, 'warn', `ignored unknown timer ${JSON.stringify(timer)}`);
    return;
  }
  const due = ctx.s.timers[timer];
  if (due === null) return; // cancelled or replaced after the effect layer armed it: stale
  if (ctx.now < due) {
    // Fired early (clock granularity): re-arm for the remembered deadline.
    setTimer(ctx, timer, due);
    return;
  }
  ctx.s.timers[timer] = null;
  const st = ctx.s.state;
  switch (timer) {
    case 'advert': {
      // §6.4.3 "If the Adver_Timer fires": send an advert and re-arm. Backups announce too.
      // Re-armed on the absolute schedule (deadline + interval), not "now + interval": a timer that
      // fires late under CPU load would otherwise push every later advert back by the same lag, and
      // the lags add up towards the peer's Master_Down_Interval. More than a whole interval late:
      // start a fresh schedule rather than send a catch-up burst.
      if (st === 'master' || st === 'backup') {
        sendAdvert(ctx, advertisedPriority(ctx.s), st);
        const next = due + ownInterval(ctx);
        setTimer(ctx, 'advert', next > ctx.now ? next : ctx.now + ownInterval(ctx));
      }
      break;
    }
    case 'master-down':
      // §6.4.2 "If the Master_Down_Timer fires": transition to master.
      if (st === 'backup') enterMaster(ctx, ctx.s.masterDownCause === 'peer-resigned' ? 'peer-resigned' : 'master-down');
      break;
    case 'preempt-delay':
      // keepalived preempt_delay: the delay since we first saw a lower-priority master is over.
      if (st === 'backup' && lowerMasterStillThere(ctx)) enterMaster(ctx, 'preempt');
      break;
  }
}

/** A fresh master advert with a priority below ours, and we may preempt. */
function lowerMasterStillThere(ctx: Ctx): boolean {
  const p = ctx.s.peer;
  return (
    p !== null &&
    p.role === 'master' &&
    p.priority > 0 &&
    p.priority < advertisedPriority(ctx.s) &&
    preemptEnabled(ctx.s.params) &&
    peerIsFresh(ctx.s, ctx.now)
  );
}

/** In BACKUP, facing a lower-priority master: preempt now, or start the preempt_delay wait. */
function preemptLowerMaster(ctx: Ctx): void {
  const delay = ctx.s.params.preemptDelayMs;
  if (delay > 0) {
    if (ctx.s.timers['preempt-delay'] === null) {
      log(ctx, 'info', `lower-priority master heard; preempting in ${delay} ms (preempt_delay)`);
      setTimer(ctx, 'preempt-delay', ctx.now + delay);
    }
    return;
  }
  enterMaster(ctx, 'preempt');
}

function onAdvert(ctx: Ctx, ev: Extract<FsmEvent, { type: 'advert-received' }>): void {
  if (
    typeof ev.sender !== 'string' ||
    !Number.isInteger(ev.priority) ||
    ev.priority < 0 ||
    ev.priority > 255 ||
    !Number.isFinite(ev.intervalMs) ||
    ev.intervalMs <= 0 ||
    (ev.role !== 'master' && ev.role !== 'backup')
  ) {
    log(ctx, 'warn', `ignored malformed advert event ${JSON.stringify(ev)}`);
    return;
  }
  const sender = canonicalIp(ev.sender) ?? ev.sender;
  if (sender === (canonicalIp(ctx.s.params.address) ?? ctx.s.params.address)) {
    log(ctx, 'debug', 'ignored our own advert (multicast loopback)');
    return;
  }
  const prev = ctx.s.peer;
  const mine = advertisedPriority(ctx.s);
  // Heard again after a silence longer than its Master_Down_Interval (a partition healed, the peer
  // restarted): while we could not hear it, it may have been MASTER and pointed the clients at
  // itself — and it may already have stepped down (it heard us before we heard it, an asymmetric
  // heal), so no lower-priority MASTER advert will ever reach us to trigger improvement 2.
  const returning = prev === null || ctx.now - prev.heardAt > masterDownIntervalMs(mine, prev.intervalMs);
  const released = ev.released === true;
  // Edge-triggered: one re-announcement per release (a lost advert is covered by the next one).
  const newlyReleased = released && !(prev !== null && prev.address === sender && prev.released === true && !returning);
  ctx.s.peer = { address: sender, priority: ev.priority, role: ev.role, intervalMs: ev.intervalMs, heardAt: ctx.now, released };
  if (ev.role !== 'master') {
    // Backup adverts only inform (peer priority for improvement 1 and status): no election. But a
    // peer that may have pointed the clients at itself makes a master re-announce itself
    // (improvement 2 in any heal order, and after a takeover too short for us to hear it).
    if (ctx.s.state === 'master' && (returning || newlyReleased)) {
      log(ctx, 'info', `peer ${sender} ${returning ? 'heard again after a silence' : 'released the VIP'}: gratuitous ARP to re-point clients`);
      ctx.out.push({ type: 'send-garp' });
    }
    return;
  }

  if (ctx.s.state === 'backup') {
    // RFC 5798 §6.4.2 "If an ADVERTISEMENT is received".
    if (ev.priority === 0) {
      // The master resigned: wait only Skew_Time, so the highest backup wins.
      setTimer(ctx, 'master-down', ctx.now + skewTimeMs(mine, ctx.s.masterAdverIntervalMs));
      ctx.s.masterDownCause = 'peer-resigned';
      cancelTimer(ctx, 'preempt-delay');
      return;
    }
    const lower = ev.priority < mine;
    if (lower && preemptEnabled(ctx.s.params) && ctx.s.params.preemptDelayMs === 0) {
      // RFC: discard and let Master_Down_Timer expire; we take over now instead (the old master
      // steps down as soon as it hears our higher advert, §6.4.3).
      enterMaster(ctx, 'preempt');
      return;
    }
    // Accept this master: adopt its interval, restart Master_Down_Timer. keepalived does the same
    // for a lower master while preempt_delay runs, so the wait does not end in a master-down.
    ctx.s.masterAdverIntervalMs = ev.intervalMs;
    ctx.s.masterDownCause = 'timeout';
    setTimer(ctx, 'master-down', ctx.now + masterDownIntervalMs(mine, ev.intervalMs));
    if (!lower) cancelTimer(ctx, 'preempt-delay');
    else if (preemptEnabled(ctx.s.params)) preemptLowerMaster(ctx);
    return;
  }

  if (ctx.s.state === 'master') {
    // RFC 5798 §6.4.3 "If an ADVERTISEMENT is received".
    if (ev.priority === 0) {
      // The other master resigned: re-assert so backups reset their timers.
      sendAdvert(ctx, mine, 'master');
      setTimer(ctx, 'advert', ctx.now + ownInterval(ctx));
      return;
    }
    const peerWins = ev.priority > mine || (ev.priority === mine && compareAddresses(sender, ctx.s.params.address) > 0);
    if (peerWins) {
      enterBackup(ctx, 'higher-priority-peer', ev.intervalMs);
      return;
    }
    // Improvement 2 (split brain): the RFC discards a lower master's advert, and keepalived then
    // leaves switches and clients pointing at the loser until they expire (measured 42-45 s).
    // Re-assert at once: an advert makes the loser step down, a gratuitous ARP repairs caches.
    log(ctx, 'warn', `another master ${sender} (priority ${ev.priority}) heard; we win with ${mine}: re-asserting`);
    sendAdvert(ctx, mine, 'master');
    ctx.out.push({ type: 'send-garp' });
    setTimer(ctx, 'advert', ctx.now + ownInterval(ctx));
  }
}

function onTrack(ctx: Ctx, ev: Extract<FsmEvent, { type: 'track-changed' }>): void {
  if (typeof ev.name !== 'string' || typeof ev.ok !== 'boolean') {
    log(ctx, 'warn', `ignored malformed track event ${JSON.stringify(ev)}`);
    return;
  }
  const weightGiven = ev.weight !== undefined;
  if (weightGiven && !(Number.isInteger(ev.weight) && Math.abs(ev.weight ?? 0) <= 254)) {
    log(ctx, 'warn', `ignored track ${ev.name}: weight ${String(ev.weight)} outside -254..254`);
    return;
  }
  const before = snapshot(ctx.s);
  const idx = ctx.s.tracks.findIndex((t) => t.name === ev.name);
  const old = idx >= 0 ? ctx.s.tracks[idx] : undefined;
  // keepalived 2.x: a vrrp_script's weight defaults to 0 (failure → FAULT).
  const updated: TrackStatus = { name: ev.name, ok: ev.ok, weight: weightGiven ? (ev.weight ?? 0) : (old?.weight ?? 0) };
  const tracks = [...ctx.s.tracks];
  if (idx >= 0) tracks[idx] = updated;
  else tracks.push(updated);
  ctx.s.tracks = tracks;
  if (old?.ok !== ev.ok) log(ctx, 'info', `track ${ev.name} is ${ev.ok ? 'OK' : 'FAILING'} (weight ${updated.weight})`);
  reconcile(ctx, before, true);
}

function onInterface(ctx: Ctx, name: string, up: boolean): void {
  if (typeof name !== 'string') return;
  const before = snapshot(ctx.s);
  const rest = ctx.s.downInterfaces.filter((n) => n !== name);
  ctx.s.downInterfaces = up ? rest : [...rest, name];
  reconcile(ctx, before, true);
}

/** Planned switchover (`hactl switchover`): lower the advertised priority, keep the VIP. */
function onOverride(ctx: Ctx, priority: number | null): void {
  if (priority !== null && !(Number.isInteger(priority) && priority >= 1 && priority <= 255)) {
    log(ctx, 'warn', `ignored priority override ${String(priority)}: must be 1..255 or null`);
    return;
  }
  const before = snapshot(ctx.s);
  ctx.s.override = priority;
  log(ctx, 'info', priority === null ? 'priority override cleared' : `priority override ${priority}`);
  // No resign here (improvement 1 is for a sick master): a healthy master keeps the VIP and
  // advertises the lower priority at once, the peer preempts, and we step down when we hear it
  // (§6.4.3) — the VIP is never unowned, so no client request fails.
  reconcile(ctx, before, false);
}

interface Snapshot {
  readonly priority: number;
}

function snapshot(s: InstanceState): Snapshot {
  return { priority: advertisedPriority(s) };
}

/**
 * After a track, interface or override change: enter or leave FAULT, and make the new priority
 * known. `mayResign` enables improvement 1.
 */
function reconcile(ctx: Ctx, before: Snapshot, mayResign: boolean): void {
  const st = ctx.s.state;
  if (st === 'init') return;
  const faulted = isFaulted(ctx.s);
  if (faulted) {
    if (st !== 'fault') enterFault(ctx);
    return;
  }
  if (st === 'fault') {
    comeUp(ctx, 'fault-cleared');
    return;
  }
  const prio = advertisedPriority(ctx.s);
  if (prio === before.priority) return;
  log(ctx, 'info', `priority ${before.priority} → ${prio}`);
  if (st === 'master') {
    const peer = ctx.s.peer;
    if (mayResign && prio < before.priority && peer !== null && peer.priority > prio && peerIsFresh(ctx.s, ctx.now)) {
      // Improvement 1: we are now worse than the live peer. keepalived keeps advertising the lower
      // priority and the peer waits Master_Down_Interval (measured 1.66 s at advert_int 0.1).
      // Resign like a shutdown (§6.4.3: priority 0), so the peer takes over after Skew_Time.
      sendAdvert(ctx, 0, 'master');
      enterBackup(ctx, 'priority-below-peer', ctx.s.masterAdverIntervalMs);
      return;
    }
    sendAdvert(ctx, prio, 'master');
    setTimer(ctx, 'advert', ctx.now + ownInterval(ctx));
    return;
  }
  // backup: tell the master at once, and preempt if we now beat it.
  sendAdvert(ctx, prio, 'backup');
  if (lowerMasterStillThere(ctx)) preemptLowerMaster(ctx);
}
