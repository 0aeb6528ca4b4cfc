// `npm run drill`: the full failover drills in network namespaces, for both agents, printing a
// markdown table (stdout; progress on stderr). Needs root (namespaces, veths, a bridge).
//
//   node test/drills/run.ts [--agent ha-agent|keepalived|both] [--advert 0.1,1] [--scenario a-link,b-term,…]
//                           [--reps 3] [--heal-window 60] [--soak SECONDS [--soak-load 2] [--soak-cpu 0]]
//
// Without --soak: every scenario × agent × advert_int, `--reps` times each, medians in the table.
// With --soak S: only the soak (S seconds at advert_int 0.05 with a CPU load on node A), per agent.
// Everything is bounded: each scenario has deadlines (scenarios.ts), each child process a lifetime,
// and Ctrl-C / SIGTERM / any exit kill every process and delete every namespace (netns.ts exit hook).
import { parseArgs } from 'node:util';
import { netnsUnavailableReason } from '../helpers/netns.ts';
import type { AgentKind } from './conf.ts';
import { type Row, markdownTable, soakTable } from './report.ts';
import { SCENARIOS, type ScenarioResult, type SoakResult, runScenario, runSoak } from './scenarios.ts';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fail(msg: string): never {
  log(`drill: ${msg}`);
  process.exit(2);
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      agent: { type: 'string', default: 'both' },
      advert: { type: 'string', default: '0.1,1' },
      scenario: { type: 'string', default: SCENARIOS.join(',') },
      reps: { type: 'string', default: '3' },
      'heal-window': { type: 'string', default: '60' },
      soak: { type: 'string' },
      'soak-load': { type: 'string', default: '2' },
      'soak-cpu': { type: 'string', default: '0' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    log('usage: node test/drills/run.ts [--agent ha-agent|keepalived|both] [--advert 0.1,1] [--scenario LIST] [--reps N] [--heal-window S] [--soak S [--soak-load N] [--soak-cpu C]]');
    return 0;
  }
  const why = netnsUnavailableReason();
  if (why !== undefined) fail(`cannot run drills: ${why}`);
  const agents: AgentKind[] = values.agent === 'both' ? ['keepalived', 'ha-agent'] : values.agent === 'ha-agent' || values.agent === 'keepalived' ? [values.agent] : fail(`--agent: ${values.agent}`);
  const adverts = values.advert.split(',').map(Number);
  if (adverts.some((a) => !(a >= 0.01 && a <= 10))) fail(`--advert: ${values.advert}`);
  const scenarios = values.scenario.split(',').map((s) => {
    const id = SCENARIOS.find((x) => x === s);
    return id ?? fail(`--scenario: unknown '${s}' (${SCENARIOS.join(', ')})`);
  });
  const reps = Number(values.reps);
  const healWindowMs = Number(values['heal-window']) * 1000;
  if (!(Number.isInteger(reps) && reps >= 1 && reps <= 50)) fail('--reps: 1..50');

  if (values.soak !== undefined) {
    const durationS = Number(values.soak);
    if (!(durationS >= 5 && durationS <= 3600)) fail('--soak: 5..3600 seconds');
    const results: SoakResult[] = [];
    for (const agent of agents) {
      log(`soak: ${agent}, ${durationS} s at advert_int 0.05, CPU load on A`);
      results.push(await runSoak({ agent, durationS, loadProcs: Number(values['soak-load']), cpu: Number(values['soak-cpu']), log }));
    }
    process.stdout.write(`\n${soakTable(results)}\n`);
    return results.every((r) => r.spurious === 0) ? 0 : 1;
  }

  const rows: Row[] = [];
  for (const agent of agents) {
    for (const advertInt of adverts) {
      for (const id of scenarios) {
        const runs: ScenarioResult[] = [];
        const errors: string[] = [];
        for (let i = 0; i < reps; i++) {
          const started = Date.now();
          try {
            const r = await runScenario(id, { agent, advertInt, healWindowMs, log });
            runs.push(r);
            const t = id.startsWith('d-split') ? `served ${String(r.servedMs)} ms, one master ${String(r.oneMasterMs)} ms` : `failover ${String(r.failoverMs)} ms`;
            log(`${agent} advert ${advertInt} ${id} #${i + 1}: ${t}, failed ${r.failed}/${r.probes}, ${r.final} (${Math.round((Date.now() - started) / 1000)} s)`);
            if (values.verbose) log(`  transitions: ${r.timeline.join(', ')}${r.notes.length > 0 ? `\n  notes: ${r.notes.join('; ')}` : ''}`);
          } catch (err) {
            const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
            errors.push(msg);
            log(`${agent} advert ${advertInt} ${id} #${i + 1}: ERROR ${msg}`);
          }
        }
        rows.push({ agent, advertInt, id, runs, errors });
      }
    }
  }
  process.stdout.write(`\n${markdownTable(rows)}\n`);
  return rows.some((r) => r.errors.length > 0) ? 1 : 0;
}

// Ctrl-C or a kill: exit, and the exit hooks (netns.ts, drill.ts) kill the children and delete the
// namespaces and temp files synchronously.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`drill: ${sig}, cleaning up`);
    process.exit(130);
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
