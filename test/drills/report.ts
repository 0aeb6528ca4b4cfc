// Goals (issue 4) and the markdown table of `npm run drill`.
import { median } from './analyze.ts';
import type { AgentKind } from './conf.ts';
import { SCENARIO_TITLE, type ScenarioId, type ScenarioResult, type SoakResult } from './scenarios.ts';

export interface Goal {
  /** Upper bound of the measured time in ms (fault → B's first answer; heal → served for (d)). */
  readonly maxMs?: number;
  /** Upper bound of failed probes. */
  readonly maxFailed?: number;
  /** keepalived 2.2.7 in this topology, measured by the issue's author. */
  readonly reference: string;
}

/** The issue's goals, by advert interval (only the intervals the issue gives goals for). */
export function goalFor(id: ScenarioId, advertInt: number): Goal | undefined {
  if (advertInt === 0.1) {
    switch (id) {
      case 'a-link':
      case 'a-host':
      case 'a-kill':
        return { maxMs: 350, reference: '0.32 s' };
      case 'b-term':
        return { maxMs: 80, reference: '0.074 s' };
      case 'c-track':
        return { maxMs: 300, reference: '1.66 s' };
      case 'd-split':
      case 'd-split-loser-first':
        return { maxMs: 1000, reference: '42–45 s blackhole' };
      case 'e-switchover':
        return { maxFailed: 0, reference: 'no switchover' };
    }
  }
  if (advertInt === 1) {
    if (id === 'a-link' || id === 'a-host' || id === 'a-kill') return { maxMs: 3700, reference: '≈3.6 s' };
    if (id === 'c-track') return { reference: '4.85 s' };
  }
  return undefined;
}

/** The time a scenario is judged by. */
export function measuredMs(r: ScenarioResult): number | null | undefined {
  return r.id === 'd-split' || r.id === 'd-split-loser-first' ? r.servedMs : r.failoverMs;
}

export function meetsGoal(r: ScenarioResult, g: Goal, toleranceMs = 0): boolean {
  const ms = measuredMs(r);
  if (g.maxMs !== undefined && (ms === null || ms === undefined || ms > g.maxMs + toleranceMs)) return false;
  if (g.maxFailed !== undefined && r.failed > g.maxFailed) return false;
  return true;
}

function fmtS(ms: number | null | undefined): string {
  if (ms === undefined) return '–';
  if (ms === null) return 'never';
  return `${(ms / 1000).toFixed(3)} s`;
}

export interface Row {
  readonly agent: AgentKind;
  readonly advertInt: number;
  readonly id: ScenarioId;
  readonly runs: readonly ScenarioResult[];
  readonly errors: readonly string[];
}

/** Median over runs; `never` counts as +∞ (so the median is `never` when most runs never got there). */
function medianMs(xs: readonly (number | null | undefined)[]): number | null | undefined {
  const known = xs.filter((x): x is number | null => x !== undefined);
  if (known.length === 0) return undefined;
  const m = median(known.map((x) => (x === null ? Number.POSITIVE_INFINITY : x)));
  return m === undefined || !Number.isFinite(m) ? null : m;
}

export function markdownTable(rows: readonly Row[]): string {
  const out = [
    '| agent | advert_int | scenario | time (median) | runs | failed probes (median) | goal | keepalived ref. | final state (last run) | notes |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const times = row.runs.map(measuredMs);
    const med = medianMs(times);
    const failed = median(row.runs.map((r) => r.failed));
    const goal = goalFor(row.id, row.advertInt);
    const last = row.runs.at(-1);
    const goalText =
      goal === undefined
        ? '–'
        : [goal.maxMs !== undefined ? `≤ ${(goal.maxMs / 1000).toFixed(2)} s` : '', goal.maxFailed !== undefined ? `${goal.maxFailed} failed` : '']
            .filter((s) => s !== '')
            .join(', ') || '–';
    const verdict =
      goal === undefined || row.runs.length === 0
        ? ''
        : row.runs.every((r) => meetsGoal(r, goal))
          ? ' ✅'
          : row.runs.some((r) => meetsGoal(r, goal))
            ? ' ⚠️'
            : ' ❌';
    let time = fmtS(med);
    if (row.id === 'd-split' || row.id === 'd-split-loser-first') time = `served ${fmtS(med)}, one master ${fmtS(medianMs(row.runs.map((r) => r.oneMasterMs)))}`;
    const all = times.length > 1 ? ` (${times.map(fmtS).join(', ')})` : '';
    const notes = [...new Set([...(last?.notes ?? []), ...row.errors])].join('; ');
    out.push(
      `| ${row.agent} | ${row.advertInt} | ${SCENARIO_TITLE[row.id]} | ${time}${all} | ${row.runs.length}${row.errors.length > 0 ? ` (+${row.errors.length} errors)` : ''} | ${failed ?? '–'} | ${goalText}${verdict} | ${goal?.reference ?? '–'} | ${last?.final ?? '–'} | ${notes.replaceAll('|', '/')} |`,
    );
  }
  return out.join('\n');
}

export function soakTable(results: readonly SoakResult[]): string {
  const out = ['| agent | advert_int | duration | CPU load on A | spurious transitions (goal 0) | failed probes | final state |', '|---|---|---|---|---|---|---|'];
  for (const r of results) {
    out.push(
      `| ${r.agent} | ${r.advertInt} | ${r.durationS} s | ${r.loadProcs} busy loops pinned with the agent | ${r.spurious}${r.spurious === 0 ? ' ✅' : ` ❌ (${r.transitions.slice(0, 4).join(', ')})`} | ${r.failed} / ${r.probes} | ${r.final} |`,
    );
  }
  return out.join('\n');
}
