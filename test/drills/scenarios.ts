// The drill scenarios. Each builds a fresh topology (drill.ts), waits for A MASTER / B BACKUP and a
// client served steadily by A, injects one fault, measures, and tears everything down.
//
// What is measured (times in ms, from the client's probes every 10 ms, each with an 80 ms timeout):
// - failoverMs: from the fault (taken just before the command or signal that injects it; for a
//   link down, just before the command is handed to an `ip` already running, see Drill.armIp) to
//   the end of the first probe answered by node B. Resolution: one probe period (10 ms) plus the probe's RTT.
// - failed: probes that failed and started between fault − 80 ms (one probe timeout: a probe in
//   flight when the fault hits can fail because of it) and the end of the observation window.
// - final: each node's state (from its notify script) and who holds the VIP, at the window's end.
// Split brain (d) measures from the heal instead (taken just before the heal is handed to the
// switch's `bridge` batch, see Drill.multicastFlood): oneMasterMs (exactly one node holds the VIP)
// and servedMs (the client is served again: first success after the last failure).
import { type ProbeRecord, failedBetween, firstAnswerFrom, lastAnswerer, probesBetween, servedAgainAt } from './analyze.ts';
import type { AgentKind, AuthKind } from './conf.ts';
import { type ArmedIp, Drill, PROBE_TIMEOUT_MS } from './drill.ts';
import type { ExecutionContext } from 'ava';

export const SCENARIOS = ['a-link', 'a-kill', 'a-host', 'b-term', 'c-track', 'd-split', 'd-split-loser-first', 'e-switchover'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

export const SCENARIO_TITLE: Readonly<Record<ScenarioId, string>> = {
  'a-link': '(a) host death: master link down',
  'a-kill': '(a) SIGKILL of the master agent only',
  'a-host': '(a) host death: SIGKILL + link down',
  'b-term': '(b) SIGTERM of the master agent',
  'c-track': "(c) master's track script fails",
  'd-split': '(d) split brain, then heal (both ports at once)',
  'd-split-loser-first': "(d) split brain, heal the loser's side first",
  'e-switchover': '(e) planned switchover',
};

export interface ScenarioOptions {
  readonly agent: AgentKind;
  /** Seconds. */
  readonly advertInt: number;
  readonly auth?: AuthKind;
  readonly t?: ExecutionContext;
  readonly log?: (line: string) => void;
  /** Split brain: how long to wait after the heal for one master and a served client. */
  readonly healWindowMs?: number;
}

export interface ScenarioResult {
  readonly id: ScenarioId;
  readonly agent: AgentKind;
  readonly advertInt: number;
  readonly auth: AuthKind;
  readonly trackInterval: number;
  /** Fault → first answer from B; null if B never answered in the window; undefined for (d). */
  readonly failoverMs?: number | null;
  /** (d): heal → exactly one node holds the VIP. */
  readonly oneMasterMs?: number | null;
  /** (d): heal → client served again. */
  readonly servedMs?: number | null;
  readonly failed: number;
  readonly probes: number;
  readonly final: string;
  readonly notes: readonly string[];
  /** Notify-reported transitions of both nodes from the fault (or heal) on, e.g. "B→MASTER +312 ms". */
  readonly timeline: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long to wait for B's first answer: generous multiples of Master_Down_Interval and the track interval. */
function failoverDeadlineMs(d: Drill): number {
  return Math.round(5 * 3 * d.o.advertInt * 1000 + 2 * d.trackInterval * 1000 + 2000);
}

/** After B's first answer, keep probing this long (late failures, duplicate VIP, flapping). */
function settleMs(d: Drill): number {
  return Math.max(500, Math.round(5 * d.o.advertInt * 1000));
}

export async function runScenario(id: ScenarioId, o: ScenarioOptions): Promise<ScenarioResult> {
  if (id === 'e-switchover' && o.agent === 'keepalived') {
    // keepalived has no switchover command; the closest is a reload with a lower priority.
    return runSwitchoverByReload(o);
  }
  const d = await Drill.start({ agent: o.agent, advertInt: o.advertInt, ...(o.auth ? { auth: o.auth } : {}), ...(o.t ? { t: o.t } : {}), ...(o.log ? { log: o.log } : {}) });
  try {
    return id === 'd-split' || id === 'd-split-loser-first' ? await splitBrain(d, o, id) : await failover(d, id);
  } catch (err) {
    o.log?.(`${id} failed: ${err instanceof Error ? err.message : String(err)}\n${d.agentLogs()}`);
    throw err;
  } finally {
    await d.close();
  }
}

function base(d: Drill, id: ScenarioId): Pick<ScenarioResult, 'id' | 'agent' | 'advertInt' | 'auth' | 'trackInterval'> {
  return { id, agent: d.o.agent, advertInt: d.o.advertInt, auth: d.auth, trackInterval: d.trackInterval };
}

/** Scenarios (a), (b), (c), (e): inject, wait for B's first answer, settle, look. */
async function failover(d: Drill, id: ScenarioId): Promise<ScenarioResult> {
  const deadline = failoverDeadlineMs(d);
  await d.startProbing(deadline + settleMs(d) + 10_000);
  const notes: string[] = [];
  // a-link: `ip` is started and idle before the fault instant (Drill.armIp says why).
  const armed = id === 'a-link' ? await d.armIp('A', 'link set dev eth0 down') : undefined;
  let tFault = Date.now();
  switch (id) {
    case 'a-link':
      if (armed === undefined) throw new Error('a-link: ip not armed');
      tFault = await fireLinkDown(armed, notes);
      break;
    case 'a-kill':
      d.signalAgent('A', 'SIGKILL', true);
      break;
    case 'a-host':
      d.signalAgent('A', 'SIGKILL', true);
      await d.link('A', false);
      break;
    case 'b-term':
      d.signalAgent('A', 'SIGTERM');
      break;
    case 'c-track':
      d.setTrack('A', false);
      break;
    case 'e-switchover': {
      const r = await d.hactl('A', ['switchover'], deadline);
      notes.push(`hactl switchover exit ${r.code}${r.code === 0 ? '' : `: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`}`);
      break;
    }
    case 'd-split':
    case 'd-split-loser-first':
      throw new Error(`${id} is not a failover scenario`);
  }
  const answered = await d.waitFor(() => firstAnswerFrom(d.probes, 'B', tFault) !== undefined, deadline, 5);
  if (answered !== undefined) await sleep(settleMs(d));
  await d.stopProbing();
  const view = await d.view();
  const first = firstAnswerFrom(d.probes, 'B', tFault);
  if (process.env.DRILL_DEBUG === '1') d.o.log?.(`fault at ${new Date(tFault).toISOString()}\n${d.agentLogs()}`);
  if (view.A.vip && view.B.vip) notes.push('both nodes hold the VIP (duplicate address)');
  if (id === 'a-kill' && view.A.vip) notes.push("the killed agent's VIP stays on A's eth0 and A's responder keeps answering until B's gratuitous ARP");
  const last = lastAnswerer(d.probes, Number.POSITIVE_INFINITY);
  if (last !== 'B') notes.push(`client last answered by ${last ?? 'nobody'}`);
  const own = ownTimeline(d, tFault);
  if (own.length > 0) notes.push(`agents' own logs: ${own.join(', ')}`);
  return {
    ...base(d, id),
    failoverMs: first === undefined ? null : first.e - tFault,
    failed: failedBetween(d.probes, tFault - PROBE_TIMEOUT_MS, Number.POSITIVE_INFINITY),
    probes: probesBetween(d.probes, tFault, Number.POSITIVE_INFINITY),
    final: Drill.describe(view),
    notes,
    timeline: timeline(d, tFault),
  };
}

/** Fires an armed `link set dev eth0 down`; returns the fault instant, checks that eth0 is down. */
async function fireLinkDown(armed: ArmedIp, notes: string[]): Promise<number> {
  const done = await armed.fire();
  const flags = /^\d+: eth0[:@][^<\n]*<([^>]*)>/m.exec(done.out)?.[1];
  if (flags === undefined || flags.split(',').includes('UP')) throw new Error(`eth0 is not down after the command: ${done.out.trim()}`);
  notes.push(`link down confirmed by ip +${done.at - done.sent} ms`);
  return done.sent;
}

/**
 * (d) Cut multicast between the nodes at the switch (`bridge link set dev PORT mcast_flood off` on
 * both node ports; broadcast, hence ARP, still flows), wait until both hold the VIP, heal, and
 * measure until exactly one node holds it and the client is served again.
 *
 * Two heals. `d-split`: flooding back on both ports at once, so each master hears the other within
 * an advert interval (the winner hears the loser's lower-priority advert and re-asserts with a
 * gratuitous ARP — keepalived 2.2.7 does this too). `d-split-loser-first`: the loser's port (B)
 * first, the winner's 3 advert intervals later — an asymmetric heal: B hears A and steps down
 * before A ever hears B as a master, so nothing tells the winner to send a gratuitous ARP and the
 * client keeps the loser's MAC until its neighbour entry expires. That is the blackhole the issue
 * measured on keepalived (42–45 s).
 */
async function splitBrain(d: Drill, o: ScenarioOptions, id: 'd-split' | 'd-split-loser-first'): Promise<ScenarioResult> {
  const healWindow = o.healWindowMs ?? 5000;
  const splitDeadline = Math.round(2 * 3 * d.o.advertInt * 1000 + 3000);
  await d.startProbing(splitDeadline + healWindow + 15_000);
  const notes: string[] = [];
  await d.multicastFlood(false);
  const both = await d.waitFor(async () => {
    const v = await d.view();
    return v.A.vip && v.B.vip && v.A.state === 'MASTER' && v.B.state === 'MASTER';
  }, splitDeadline, 20);
  if (both === undefined) throw new Error(`split brain did not happen within ${splitDeadline} ms: ${Drill.describe(await d.view())}`);
  // Let the gratuitous ARPs of the new master settle, as in a real outage that lasts a while.
  await sleep(Math.max(300, 3 * d.o.advertInt * 1000));
  const servedBy = lastAnswerer(d.probes, Date.now());
  // The heal instant is the write of the first heal command to the switch's bridge batch, started
  // and idle since the split (Drill.multicastFlood): a fresh `ip netns exec … bridge` spawned at
  // the heal was charged to the agents. Everything after the write is counted.
  let tHeal: number;
  if (id === 'd-split') {
    const r = await d.multicastFlood(true);
    tHeal = r.sent;
    notes.push(`heal confirmed by bridge +${r.at - r.sent} ms`);
  } else {
    const r = await d.multicastFlood(true, 'B');
    tHeal = r.sent;
    await sleep(Math.round(3 * d.o.advertInt * 1000));
    const r2 = await d.multicastFlood(true, 'A');
    notes.push(`B's port healed (confirmed +${r.at - r.sent} ms), A's at +${r2.sent - tHeal} ms (confirmed +${r2.at - r2.sent} ms)`);
  }
  notes.push(`during the split the client was served by ${servedBy ?? 'nobody'}`);
  let oneSince: number | undefined;
  let served: number | undefined;
  const stableMs = 1000;
  const done = await d.waitFor(
    async () => {
      const [a, b] = await Promise.all([d.holdsVip('A'), d.holdsVip('B')]);
      const now = Date.now();
      if (a !== b) oneSince ??= now;
      else oneSince = undefined;
      served = servedAgainAt(d.probes, tHeal, now);
      return oneSince !== undefined && served !== undefined && now - Math.max(served, oneSince) >= stableMs;
    },
    healWindow + stableMs,
    10,
  );
  await d.stopProbing();
  const view = await d.view();
  const end = Date.now();
  if (done === undefined) notes.push(`not settled within ${healWindow} ms after the heal`);
  const winner = view.A.vip && !view.B.vip ? 'A' : view.B.vip && !view.A.vip ? 'B' : undefined;
  if (winner !== undefined) notes.push(`winner ${winner}`);
  const own = ownTimeline(d, tHeal);
  if (own.length > 0) notes.push(`agents' own logs: ${own.join(', ')}`);
  return {
    ...base(d, id),
    oneMasterMs: oneSince === undefined ? null : oneSince - tHeal,
    servedMs: served === undefined || done === undefined ? null : served - tHeal,
    failed: failedBetween(d.probes, tHeal - PROBE_TIMEOUT_MS, end),
    probes: probesBetween(d.probes, tHeal, end),
    final: Drill.describe(view),
    notes,
    timeline: timeline(d, tHeal),
  };
}

/**
 * keepalived's nearest thing to a planned switchover: rewrite A's configuration with a priority
 * below B's (90 + track weight 2 = 92 < 102) and reload it (SIGHUP to the parent).
 */
async function runSwitchoverByReload(o: ScenarioOptions): Promise<ScenarioResult> {
  const d = await Drill.start({ agent: o.agent, advertInt: o.advertInt, ...(o.auth ? { auth: o.auth } : {}), ...(o.t ? { t: o.t } : {}), ...(o.log ? { log: o.log } : {}) });
  try {
    const deadline = failoverDeadlineMs(d);
    await d.startProbing(deadline + settleMs(d) + 10_000);
    d.writeConf('A', 90);
    const tFault = Date.now();
    d.signalAgent('A', 'SIGHUP');
    const answered = await d.waitFor(() => firstAnswerFrom(d.probes, 'B', tFault) !== undefined, deadline, 5);
    if (answered !== undefined) await sleep(settleMs(d));
    await d.stopProbing();
    const view = await d.view();
    const first = firstAnswerFrom(d.probes, 'B', tFault);
    return {
      ...base(d, 'e-switchover'),
      failoverMs: first === undefined ? null : first.e - tFault,
      failed: failedBetween(d.probes, tFault - PROBE_TIMEOUT_MS, Number.POSITIVE_INFINITY),
      probes: probesBetween(d.probes, tFault, Number.POSITIVE_INFINITY),
      final: Drill.describe(view),
      notes: ['keepalived has no switchover command: A reloaded (SIGHUP) with priority 90 instead'],
      timeline: timeline(d, tFault),
    };
  } finally {
    await d.close();
  }
}

export interface SoakOptions {
  readonly agent: AgentKind;
  readonly durationS: number;
  /** Seconds; the issue's soak runs 0.05. */
  readonly advertInt?: number;
  readonly cpu?: number;
  /** Busy-loop processes pinned with A's agent. */
  readonly loadProcs?: number;
  readonly log?: (line: string) => void;
  readonly t?: ExecutionContext;
}

export interface SoakResult {
  readonly agent: AgentKind;
  readonly advertInt: number;
  readonly durationS: number;
  readonly loadProcs: number;
  /** State changes of either node after convergence (goal 0). */
  readonly spurious: number;
  readonly transitions: readonly string[];
  readonly failed: number;
  readonly probes: number;
  readonly final: string;
}

/**
 * The soak: converged pair at advert_int 0.05, A's agent and `loadProcs` bounded busy loops pinned
 * to the same CPU, the client probing throughout; every state change after convergence is spurious.
 */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const advertInt = o.advertInt ?? 0.05;
  const cpu = o.cpu ?? 0;
  const loadProcs = o.loadProcs ?? 2;
  const durationMs = o.durationS * 1000;
  const d = await Drill.start({
    agent: o.agent,
    advertInt,
    pinACpu: cpu,
    lifetimeMs: durationMs + 120_000,
    ...(o.t ? { t: o.t } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  try {
    await d.startProbing(durationMs + 5000);
    const t0 = Date.now();
    d.startCpuLoad('A', cpu, loadProcs, durationMs);
    let lastReport = t0;
    while (Date.now() - t0 < durationMs) {
      await sleep(Math.min(1000, durationMs - (Date.now() - t0)));
      if (Date.now() - lastReport >= 30_000) {
        lastReport = Date.now();
        o.log?.(`soak ${o.agent}: ${Math.round((lastReport - t0) / 1000)} s, transitions so far ${countAfter(d, t0).length}, failed probes ${failedBetween(d.probes, t0, lastReport)}`);
      }
    }
    await d.stopProbing();
    const transitions = countAfter(d, t0);
    const probes: readonly ProbeRecord[] = d.probes;
    return {
      agent: o.agent,
      advertInt,
      durationS: o.durationS,
      loadProcs,
      spurious: transitions.length,
      transitions,
      failed: failedBetween(probes, t0, Number.POSITIVE_INFINITY),
      probes: probesBetween(probes, t0, Number.POSITIVE_INFINITY),
      final: Drill.describe(await d.view()),
    };
  } finally {
    await d.close();
  }
}

/** Both nodes' notify-reported transitions from t0 on, in time order. */
function timeline(d: Drill, t0: number): string[] {
  const all: { at: number; text: string }[] = [];
  for (const node of ['A', 'B'] as const) {
    for (const tr of d.transitions(node)) if (tr.at >= t0 - 50) all.push({ at: tr.at, text: `${node}→${tr.state} ${tr.at >= t0 ? '+' : ''}${Math.round(tr.at - t0)} ms` });
  }
  return all.toSorted((x, y) => x.at - y.at).map((x) => x.text);
}

/** Both agents' own transition records from t0 on (ha-agent only: see Drill.agentTransitions). */
function ownTimeline(d: Drill, t0: number): string[] {
  const all: { at: number; text: string }[] = [];
  for (const node of ['A', 'B'] as const) {
    for (const tr of d.agentTransitions(node)) if (tr.at >= t0 - 50) all.push({ at: tr.at, text: `${node}→${tr.state} ${tr.at >= t0 ? '+' : ''}${Math.round(tr.at - t0)} ms` });
  }
  return all.toSorted((x, y) => x.at - y.at).map((x) => x.text);
}

function countAfter(d: Drill, t0: number): string[] {
  const out: string[] = [];
  for (const node of ['A', 'B'] as const) {
    for (const tr of d.transitions(node)) if (tr.at >= t0) out.push(`${node}→${tr.state} at +${Math.round(tr.at - t0)} ms`);
  }
  return out;
}
