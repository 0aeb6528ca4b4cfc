// Short form of the failover drills (issue 4, "Drills"): each scenario once, ha-agent at
// advert_int 0.1, in real network namespaces, asserting the issue's goals. The full form with both
// agents, advert_int 1, repetitions and the soak is `npm run drill` (run.ts).
//
// Tolerance: the time goals get DRILL_TOLERANCE_MS (default 10 ms) on top: one probe period, the
// resolution of the measurement itself (the client probes every 10 ms, so a takeover is seen up to
// 10 ms + one RTT after it happens). No other slack: on a machine so loaded that the goals are
// missed, the test fails and says by how much; raise DRILL_TOLERANCE_MS there knowingly.
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

function assertGoal(t: ExecutionContext, r: ScenarioResult): void {
  const goal = goalFor(r.id, r.advertInt);
  if (goal === undefined) {
    t.fail(`no goal for ${r.id}`);
    return;
  }
  const ms = measuredMs(r);
  t.true(
    meetsGoal(r, goal, TOLERANCE_MS),
    `goal missed: ${goal.maxMs !== undefined ? `${String(ms)} ms > ${goal.maxMs} ms (+${TOLERANCE_MS} ms tolerance)` : ''}${goal.maxFailed !== undefined ? ` ${r.failed} failed probes > ${goal.maxFailed}` : ''} (keepalived: ${goal.reference})`,
  );
}

const run = why === undefined ? test.serial : test.skip;
const suffix = why === undefined ? '' : ` [skipped: ${why}]`;

for (const id of SCENARIOS) {
  run(`ha-agent, advert_int 0.1: ${SCENARIO_TITLE[id]}${suffix}`, async (t) => {
    const r = await drill(t, 'ha-agent', id);
    assertGoal(t, r);
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
