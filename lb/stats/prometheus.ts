// Prometheus text exposition (format 0.0.4) with the names, types, labels and HELP texts of
// HAProxy 2.6's own exporter (promex), generated from the column table: a column with a `prom`
// entry becomes haproxy_{frontend,listener,backend,server}_<name>. Order follows promex: process
// metrics, then per kind (frontend, listener, backend, server) metric by metric in column order,
// each metric listing every object, so HELP/TYPE appear once per metric.
//
// Written directly rather than with prom-client: the exporter is a pure function of a snapshot,
// the names come from the table, and promex's own quirks (one HELP for the six http_responses
// codes, state-per-label gauges, NaN for empty fields, "%f" seconds) are easier to match by hand.
import { COLUMNS, columnValue, type Column, type Kind, type Row, type ValueOptions } from './columns.ts';
import { proxyRows } from './rows.ts';
import type { CheckInfo, ProcessStats, ServerStats, StatsSource } from './source.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4';

const PREFIX: Record<Kind, string> = { F: 'haproxy_frontend_', L: 'haproxy_listener_', B: 'haproxy_backend_', S: 'haproxy_server_' };

/** The check status names promex enumerates, in its order. */
export const PROM_CHECK_STATES = [
  'HANA', 'SOCKERR', 'L4OK', 'L4TOUT', 'L4CON', 'L6OK', 'L6TOUT', 'L6RSP', 'L7TOUT', 'L7RSP',
  'L7OK', 'L7OKC', 'L7STS', 'PROCERR', 'PROCTOUT', 'PROCOK',
] as const;
const SERVER_STATES = ['DOWN', 'UP', 'MAINT', 'DRAIN', 'NOLB'] as const;
const LISTENER_STATES = ['WAITING', 'OPEN', 'FULL'] as const;
const UPDOWN = ['DOWN', 'UP'] as const;

type ProcGetter = (p: ProcessStats) => number;
/** Process metrics we can fill from ProcessStats, in promex's order. */
const PROCESS_METRICS: readonly (readonly [string, 'gauge' | 'counter', string, ProcGetter])[] = [
  ['nbthread', 'gauge', 'Number of started threads (global.nbthread)', (p) => p.nbthread],
  ['nbproc', 'gauge', 'Number of started worker processes (historical, always 1)', () => 1],
  ['relative_process_id', 'gauge', 'Relative worker process number (1)', (p) => p.relativePid],
  ['uptime_seconds', 'gauge', 'How long ago this worker process was started (seconds)', (p) => p.uptimeSec],
  ['max_fds', 'gauge', 'Hard limit on the number of per-process file descriptors', (p) => p.ulimitN],
  ['max_sockets', 'gauge', 'Hard limit on the number of per-process sockets', (p) => p.maxsock],
  ['max_connections', 'gauge', 'Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)', (p) => p.maxconn],
  ['current_connections', 'gauge', 'Current number of connections on this worker process', (p) => p.currConns],
  ['max_pipes', 'gauge', 'Hard limit on the number of pipes for splicing, 0=unlimited', (p) => p.maxpipes],
  ['pipes_used_total', 'counter', 'Current number of pipes in use in this worker process', (p) => p.pipesUsed],
  ['pipes_free_total', 'counter', 'Current number of allocated and available pipes in this worker process', (p) => p.pipesFree],
  ['current_connection_rate', 'gauge', 'Number of front connections created on this worker process over the last second', (p) => p.connRate],
  ['current_tasks', 'gauge', 'Total number of tasks in the current worker process (active + sleeping)', (p) => p.tasks],
  ['current_run_queue', 'gauge', 'Total number of active tasks+tasklets in the current worker process', (p) => p.runQueue],
  ['idle_time_percent', 'gauge', 'Percentage of last second spent waiting in the current worker thread', (p) => p.idlePct],
  ['bytes_out_rate', 'gauge', 'Number of bytes emitted by current worker process over the last second', (p) => p.bytesOutRate],
];

/** Label values as the exposition format requires (promex itself does not escape). */
function labelValue(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function labels(pairs: readonly (readonly [string, string])[]): string {
  return '{' + pairs.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',') + '}';
}

function baseLabels(row: Row): [string, string][] {
  const out: [string, string][] = [['proxy', row.px.name]];
  if (row.kind === 'L') out.push(['listener', row.li.name]);
  if (row.kind === 'S') out.push(['server', row.sv.name]);
  return out;
}

/** promex's server state: DRAIN/NOLB/MAINT override UP/DOWN. */
export function promServerState(sv: ServerStats): (typeof SERVER_STATES)[number] {
  let st: (typeof SERVER_STATES)[number] = 'DOWN';
  if (sv.state === 'running' || sv.state === 'starting') st = sv.admin.drain ? 'DRAIN' : 'UP';
  else if (sv.state === 'stopping') st = 'NOLB';
  if (sv.admin.maint) st = 'MAINT';
  return st;
}

function activeCheck(sv: ServerStats): CheckInfo | undefined {
  const c = sv.check;
  return c !== undefined && c.enabled && !c.paused ? c : undefined;
}

function num(v: number | string | undefined, seconds: boolean): string {
  if (typeof v !== 'number') return 'NaN';
  return seconds ? (v / 1000).toFixed(6) : String(v);
}

interface Sample {
  labels: [string, string][];
  value: string;
}

/** Samples of one column for one row, or [] when promex skips that object. */
function samples(col: Column, row: Row, vo: ValueOptions): Sample[] {
  const p = col.prom;
  if (p === undefined) return [];
  if (p.httpOnly === true && row.px.mode !== 'http') return [];
  const base = baseLabels(row);
  const flag = (states: readonly string[], cur: string): Sample[] =>
    states.map((s) => ({ labels: [...base, ['state', s]], value: s === cur ? '1' : '0' }));
  const counts = (states: readonly string[], list: readonly string[]): Sample[] =>
    states.map((s) => ({ labels: [...base, ['state', s]], value: String(list.filter((x) => x === s).length) }));
  switch (col.name) {
    case 'status':
      if (row.kind === 'F') return flag(UPDOWN, row.fe.status === 'STOP' ? 'DOWN' : 'UP');
      if (row.kind === 'L') return flag(LISTENER_STATES, row.li.status);
      if (row.kind === 'B') return flag(UPDOWN, row.sum.up ? 'UP' : 'DOWN');
      return flag(SERVER_STATES, promServerState(row.sv));
    case 'check_status': {
      if (row.kind !== 'S') return [];
      const c = activeCheck(row.sv);
      return c === undefined ? [] : flag(PROM_CHECK_STATES, c.status);
    }
    case 'check_code':
    case 'check_duration': {
      if (row.kind !== 'S') return [];
      const c = activeCheck(row.sv);
      if (c === undefined) return [];
      const v = col.name === 'check_code' ? (c.code ?? 0) : (c.durationMs ?? 0);
      return [{ labels: base, value: num(v, p.seconds === true) }];
    }
    case 'agg_server_status':
    case 'agg_server_check_status':
      if (row.kind !== 'B' || row.be.servers.length === 0) return [];
      return counts(SERVER_STATES, row.be.servers.map(promServerState));
    case 'agg_check_status': {
      if (row.kind !== 'B' || row.be.servers.length === 0) return [];
      const st: string[] = [];
      for (const sv of row.be.servers) {
        const c = activeCheck(sv);
        if (c !== undefined) st.push(c.status);
      }
      return counts(PROM_CHECK_STATES, st);
    }
    default: {
      const code = col.name.startsWith('hrsp_') ? col.name.slice(5) : undefined;
      return [{ labels: code === undefined ? base : [...base, ['code', code]], value: num(columnValue(col, row, vo), p.seconds === true) }];
    }
  }
}

export interface PrometheusOptions {
  /** Leave out servers in MAINT (promex's no-maint option). */
  noMaint?: boolean;
}

export function renderPrometheus(source: StatsSource, opts: PrometheusOptions = {}): string {
  const out: string[] = [];
  const header = (name: string, help: string, type: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  for (const [name, type, help, get] of PROCESS_METRICS) {
    header(`haproxy_process_${name}`, help, type);
    out.push(`haproxy_process_${name} ${get(source.process)}`);
  }
  header('haproxy_process_build_info', 'Build info', 'gauge');
  out.push(`haproxy_process_build_info${labels([['version', source.process.version]])} 1`);

  const all: Row[] = source.proxies.flatMap((px) => proxyRows(px, { hideMaint: opts.noMaint === true }));
  // promex always fills the proxy fields without the show-legends flags.
  const vo: ValueOptions = { legends: false, hideDown: false };
  for (const kind of ['F', 'L', 'B', 'S'] as const) {
    const rows = all.filter((r) => r.kind === kind);
    const headerDone = new Set<string>();
    for (const col of COLUMNS) {
      const p = col.prom;
      if (p === undefined || !p.kinds.includes(kind)) continue;
      const metric = PREFIX[kind] + p.name;
      const lines: string[] = [];
      for (const row of rows) {
        for (const s of samples(col, row, vo)) lines.push(`${metric}${labels(s.labels)} ${s.value}`);
      }
      if (lines.length === 0) continue;
      if (!headerDone.has(metric)) {
        header(metric, p.help ?? col.desc, p.type);
        headerDone.add(metric);
      }
      out.push(...lines);
    }
  }
  return out.join('\n') + '\n';
}
