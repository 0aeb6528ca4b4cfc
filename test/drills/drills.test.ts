// Short form of the failover drills (issue 4, "Drills"): each scenario once, ha-agent at
// advert_int 0.1, in real network namespaces. The full form with both agents, advert_int 1,
// repetitions and the soak is `npm run drill` (run.ts): THAT is where the issue's speed goals are
// judged, with medians over repetitions and keepalived measured side by side in the same run.
//
// What this short form asserts, and why not the issue's goals themselves: `npm test` runs these
// drills concurrently with the rest of the suite on a 2-core machine, where one run's timing moves
// by 20–60 ms with the load (keepalived itself misses its own 0.074 s reference here). A gate on
// the goals would pass or fail by the phase of the fault and the load of the moment. So each
// scenario asserts the MECHANISM bound that a regression would break, and logs the goal verdict:
//   (a) link down / SIGKILL: B takes over within Master_Down_Interval (3 × 0.1 + skew 0.061 s)
//       plus 100 ms for VIP + ARP + first answer; a slow effect path (e.g. a spawn per action:
//       0.57 s before it was removed) fails it. The link-down fault starts when its command is
//       handed to an `ip` already running (Drill.armIp): a fresh `ip` took 190–310 ms to bring the
//       link down under load, which had been charged to the agents.
//   (b) SIGTERM: B takes over in under half of Master_Down_Interval (180 ms): only the priority-0
//       advert can do that; without it B would wait the full interval.
//   (c) track fails: under Master_Down_Interval: only the immediate resign can do that
//       (keepalived waits for the peer's timeout: 1.66 s).
//   (d) split brain: exactly one VIP holder and the client served again within 1 s of the heal
//       (the goal itself: a blackhole of seconds is what a regression looks like). The heal is
//       handed to a `bridge -batch -` and the VIP is polled through `ip -batch -` (batch.ts): a
//       spawn per heal and two per 10 ms poll had added up to ~1 s under load.
//   (e) switchover: hactl succeeds, B ends as MASTER, at most 2 failed probes (goal 0: logged).
// Measurement tolerance DRILL_TOLERANCE_MS (default 10 ms = one probe period) is added to bounds.
//
// Skipped loudly (a console banner and skipped tests naming the reason) when not root or when
// network namespaces are unavailable; keepalived's self-check also when keepalived is missing.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { netnsUnavailableReason } from '../helpers/netns.ts';
import type { AgentKind } from './conf.ts';
import { goalFor, measuredMs, meetsGoal } from './report.ts';
import { SCENARIOS, SCENARIO_TITLE, type ScenarioId, type ScenarioResult, runScenario } from './scenarios.ts';

const TOLERANCE_MS = Number(process.env.DRILL_TOLERANCE_MS ?? '10');
const why = netnsUnavailableReason();
if (why !== undefined) console.error(`\n*** SKIPPING failover drills (test/drills): ${why} ***\n`);

function keepalivedMissing(): string | undefined {
  const r = spawnSync('keepalived', ['-v'], { encoding: 'utf8', timeout: 5000 });
  return r.error === undefined ? undefined : `keepalived not runnable: ${r.error.message}`;
}

function summary(r: ScenarioResult): string {
  const time = r.id.startsWith('d-split') ? `served ${String(r.servedMs)} ms, one master ${String(r.oneMasterMs)} ms after heal` : `fault → B answers ${String(r.failoverMs)} ms`;
  return `${r.agent} advert ${r.advertInt} ${r.id}: ${time}; failed probes ${r.failed}/${r.probes}; final: ${r.final}; transitions: ${r.timeline.join(', ')}${r.notes.length > 0 ? `; notes: ${r.notes.join('; ')}` : ''}`;
}

async function drill(t: ExecutionContext, agent: AgentKind, id: ScenarioId): Promise<ScenarioResult> {
  const r = await runScenario(id, { agent, advertInt: 0.1, t, log: (l) => t.log(l), healWindowMs: 5000 });
  t.log(summary(r));
  return r;
}

/** Master_Down_Interval at advert_int 0.1 for B (priority 100 in conf.ts): RFC 5798 §6.1. */
const MDI_MS = 3 * 100 + Math.round(((256 - 100) * 100) / 256);

/** The regression bound each scenario must meet in the short form (see the header). */
const MECHANISM_BOUND: Record<ScenarioId, { maxMs?: number; maxFailed?: number; why: string }> = {
  'a-link': { maxMs: MDI_MS + 100, why: 'Master_Down_Interval + 100 ms' },
  'a-kill': { maxMs: MDI_MS + 100, why: 'Master_Down_Interval + 100 ms' },
  'a-host': { maxMs: MDI_MS + 100, why: 'Master_Down_Interval + 100 ms' },
  'b-term': { maxMs: Math.floor(MDI_MS / 2), why: 'half of Master_Down_Interval: the priority-0 path' },
  'c-track': { maxMs: MDI_MS, why: 'under Master_Down_Interval: the immediate resign' },
  'd-split': { maxMs: 1000, why: 'served again within 1 s of the heal' },
  'd-split-loser-first': { maxMs: 1000, why: 'served again within 1 s of the heal' },
  'e-switchover': { maxFailed: 2, why: 'at most 2 failed probes' },
};

function assertBoundAndLogGoal(t: ExecutionContext, r: ScenarioResult): void {
  const goal = goalFor(r.id, r.advertInt);
  const ms = measuredMs(r);
  if (goal !== undefined) {
    const met = meetsGoal(r, goal, TOLERANCE_MS);
    t.log(
      `issue goal ${goal.maxMs !== undefined ? `≤ ${goal.maxMs} ms` : ''}${goal.maxFailed !== undefined ? `${goal.maxFailed} failed probes` : ''}: ` +
        `${met ? 'MET' : 'MISSED'} (measured ${String(ms)} ms, ${r.failed} failed probes; keepalived reference ${goal.reference}; judged over repetitions by npm run drill)`,
    );
  }
  const b = MECHANISM_BOUND[r.id];
  if (b.maxMs !== undefined) {
    t.true(ms !== null && ms !== undefined && ms <= b.maxMs + TOLERANCE_MS, `${String(ms)} ms > ${b.maxMs} ms (+${TOLERANCE_MS}): ${b.why}`);
  }
  if (b.maxFailed !== undefined) t.true(r.failed <= b.maxFailed, `${r.failed} failed probes > ${b.maxFailed}: ${b.why}`);
}

const run = why === undefined ? test.serial : test.skip;
const suffix = why === undefined ? '' : ` [skipped: ${why}]`;

for (const id of SCENARIOS) {
  run(`ha-agent, advert_int 0.1: ${SCENARIO_TITLE[id]}${suffix}`, async (t) => {
    const r = await drill(t, 'ha-agent', id);
    assertBoundAndLogGoal(t, r);
    if (id.startsWith('d-split')) {
      t.not(r.oneMasterMs, null, 'never exactly one VIP holder after the heal');
      t.true((r.oneMasterMs ?? Number.POSITIVE_INFINITY) <= 1000 + TOLERANCE_MS, `one master only after ${String(r.oneMasterMs)} ms`);
      t.regex(r.final, /^A MASTER \+VIP, B BACKUP$/, 'the higher priority (A) wins after the heal');
      return;
    }
    t.regex(r.final, /B MASTER \+VIP$/, 'B ends as MASTER holding the VIP');
    // After SIGKILL alone the dead agent cannot remove its VIP (documented in the drill notes);
    // in every other scenario A must have let it go.
    if (id !== 'a-kill' && id !== 'a-host') t.notRegex(r.final, /^A [^,]*\+VIP/, 'A released the VIP');
    if (id === 'e-switchover') t.true(r.notes.some((n) => n.startsWith('hactl switchover exit 0')), r.notes.join('; '));
  });
}

// Harness self-check against the reference implementation: keepalived's SIGTERM failover, which
// the issue's author measured at 0.074 s in this topology. Bound: 0.25 s (3× the reference), since
// this checks that the harness measures a real, fast takeover, not keepalived's speed.
const kaWhy = why ?? keepalivedMissing();
if (why === undefined && kaWhy !== undefined) console.error(`\n*** SKIPPING keepalived drill self-check: ${kaWhy} ***\n`);
(kaWhy === undefined ? test.serial : test.skip)(`harness self-check: keepalived, advert_int 0.1: ${SCENARIO_TITLE['b-term']}${kaWhy === undefined ? '' : ` [skipped: ${kaWhy}]`}`, async (t) => {
  const r = await drill(t, 'keepalived', 'b-term');
  t.not(r.failoverMs, null, 'B never answered');
  t.true((r.failoverMs ?? Number.POSITIVE_INFINITY) <= 250, `keepalived SIGTERM failover measured ${String(r.failoverMs)} ms (reference 74 ms)`);
  // The parent may still be exiting when the window ends, hence "STOP" with or without "agent dead".
  t.regex(r.final, /^A (agent dead \(last STOP\)|STOP), B MASTER \+VIP$/);
});
