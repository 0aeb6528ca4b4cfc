// `show info`: HAProxy 2.6's process field list (ONE table, DESIGN.md principle 4) and its three
// renderings (plain "Name: value", typed, json). Positions, names, tags and types were read from
// Debian's haproxy 2.6.12 (`show info typed` / `show info json`); test/runtime/differential.test.ts
// compares the field names and their order with a running haproxy.
//
// Where the values come from:
//  - processInfo() below: Pid, Uptime, Uptime_sec, Start_time_sec, Nbproc and Process_num (1),
//    node (hostname), Ulimit-n (/proc/self/limits), Idle_pct (event-loop utilisation), Tainted.
//  - RuntimeContext.info(): everything the proxy counts (Name, Version, Release_date, Nbthread,
//    Maxconn, Hard_maxconn, Maxsock, CurrConns, CumConns, CumReq, ConnRate, SessRate, Jobs,
//    Listeners, TotalBytesOut, SSL counters, ...). A field nobody fills prints 0 (numbers) or is
//    left out (strings), as HAProxy leaves out empty fields.
//  - Always 0 in lb (no equivalent exists in Node): Memmax_MB/_bytes, PoolAlloc/PoolUsed/PoolFailed,
//    Maxpipes/PipesUsed/PipesFree, CompressBps*, Tasks, Run_queue, BusyPolling, DebugCommandsIssued,
//    TotalSplicdedBytesOut (splicing does not exist in Node).
// Positions 45/46 (ZlibMemUsage, MaxZlibMemUsage) exist only in zlib builds; Debian's build (slz)
// does not print them, and neither does lb.
import os from 'node:os';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { InfoValues } from './context.ts';

type Origin = 'Metric' | 'Status' | 'Key' | 'Config' | 'Product';
type Nature = 'Age' | 'Avg' | 'Counter' | 'Duration' | 'Gauge' | 'Limit' | 'Max' | 'Min' | 'Output' | 'Rate';
type Scope = 'Process' | 'Service' | 'System' | 'Cluster';
type FieldType = 'str' | 'u32' | 'u64';

export interface InfoField {
  readonly pos: number;
  readonly name: string;
  readonly origin: Origin;
  readonly nature: Nature;
  readonly scope: Scope;
  readonly type: FieldType;
}

// Letters of the typed output (HAProxy's stats_dump_field_tags()).
const ORIGIN_LETTER: Record<Origin, string> = { Metric: 'M', Status: 'S', Key: 'K', Config: 'C', Product: 'P' };
const NATURE_LETTER: Record<Nature, string> = {
  Age: 'A',
  Avg: 'a',
  Counter: 'C',
  Duration: 'D',
  Gauge: 'G',
  Limit: 'L',
  Max: 'M',
  Min: 'm',
  Output: 'O',
  Rate: 'R',
};
const SCOPE_LETTER: Record<Scope, string> = { Process: 'P', Service: 'S', System: 's', Cluster: 'C' };
const ORIGINS: Record<string, Origin> = { M: 'Metric', S: 'Status', K: 'Key', C: 'Config', P: 'Product' };
const NATURES: Record<string, Nature> = {
  A: 'Age',
  a: 'Avg',
  C: 'Counter',
  D: 'Duration',
  G: 'Gauge',
  L: 'Limit',
  M: 'Max',
  m: 'Min',
  O: 'Output',
  R: 'Rate',
};
const SCOPES: Record<string, Scope> = { P: 'Process', S: 'Service', s: 'System', C: 'Cluster' };

// "pos name tags type", tags as the typed output prints them. `description` (51) is left out by
// HAProxy unless the global `description` is set; its tags are those of `node`, its sibling.
const FIELD_SPECS = `
0 Name POS str|1 Version POS str|2 Release_date POS str|3 Nbthread CGS u32|4 Nbproc CGS u32
5 Process_num KGP u32|6 Pid SGP u32|7 Uptime MDP str|8 Uptime_sec MDP u32|9 Memmax_MB CLP u32
10 PoolAlloc_MB MGP u32|11 PoolUsed_MB MGP u32|12 PoolFailed MCP u32|13 Ulimit-n CLP u32
14 Maxsock CLP u32|15 Maxconn CLP u32|16 Hard_maxconn CLP u32|17 CurrConns MGP u32|18 CumConns MCP u32
19 CumReq MCP u32|20 MaxSslConns MMP u32|21 CurrSslConns MGP u32|22 CumSslConns MCP u32
23 Maxpipes CLP u32|24 PipesUsed MGP u32|25 PipesFree MGP u32|26 ConnRate MRP u32
27 ConnRateLimit CLP u32|28 MaxConnRate MMP u32|29 SessRate MRP u32|30 SessRateLimit CLP u32
31 MaxSessRate MRP u32|32 SslRate MRP u32|33 SslRateLimit CLP u32|34 MaxSslRate MMP u32
35 SslFrontendKeyRate MGP u32|36 SslFrontendMaxKeyRate MMP u32|37 SslFrontendSessionReuse_pct MGP u32
38 SslBackendKeyRate MRP u32|39 SslBackendMaxKeyRate MMP u32|40 SslCacheLookups MCP u32
41 SslCacheMisses MCP u32|42 CompressBpsIn MRP u32|43 CompressBpsOut MRP u32|44 CompressBpsRateLim CLP u32
47 Tasks MGP u32|48 Run_queue MGP u32|49 Idle_pct MaP u32|50 node COS str|51 description COS str
52 Stopping MGP u32|53 Jobs MGP u32|54 Unstoppable_Jobs MGP u32|55 Listeners MGP u32
56 ActivePeers MGP u32|57 ConnectedPeers MGP u32|58 DroppedLogs MGP u32|59 BusyPolling MGP u32
60 FailedResolutions MGP u32|61 TotalBytesOut MGP u64|62 TotalSplicdedBytesOut MGP u64
63 BytesOutRate MRP u64|64 DebugCommandsIssued MGP u32|65 CumRecvLogs MCP u32|66 Build_info POS str
67 Memmax_bytes CLP u32|68 PoolAlloc_bytes MGP u64|69 PoolUsed_bytes MGP u64|70 Start_time_sec MDP u32
71 Tainted SGP str`;

/** The field table in HAProxy's order. Two names contain a space in HAProxy ("Unstoppable Jobs", "Build info"). */
export const INFO_FIELDS: readonly InfoField[] = FIELD_SPECS.split(/[|\n]/)
  .map((s) => s.trim())
  .filter((s) => s !== '')
  .map((s) => {
    const [pos = '', name = '', tags = '', typeText = ''] = s.split(' ');
    const type: FieldType = typeText === 'str' || typeText === 'u64' ? typeText : 'u32';
    return {
      pos: Number(pos),
      name: name.replace('_Jobs', ' Jobs').replace('Build_info', 'Build info'),
      origin: ORIGINS[tags[0] ?? ''] ?? 'Metric',
      nature: NATURES[tags[1] ?? ''] ?? 'Gauge',
      scope: SCOPES[tags[2] ?? ''] ?? 'Process',
      type,
    };
  });

/** "0d 0h01m28s" as HAProxy prints Uptime. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${d}d ${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s`;
}

/** Soft "Max open files" of this process, from /proc/self/limits; 0 when unreadable. */
function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

let lastElu = performance.eventLoopUtilization();

/**
 * What the process itself knows. `startMs` is when lb started (epoch ms). Idle_pct is the share of
 * time the event loop was idle since the previous call (HAProxy: idle share of the polling loop).
 */
export function processInfo(startMs: number, nowMs: number): InfoValues {
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  const upSec = Math.max(0, Math.floor((nowMs - startMs) / 1000));
  return {
    Nbproc: 1,
    Process_num: 1,
    Pid: process.pid,
    Uptime: formatUptime(upSec),
    Uptime_sec: upSec,
    'Ulimit-n': openFilesLimit(),
    Idle_pct: Math.round((1 - (Number.isFinite(elu.utilization) ? elu.utilization : 0)) * 100),
    node: os.hostname(),
    Start_time_sec: Math.floor(startMs / 1000),
    Tainted: '0',
  };
}

interface Sample {
  field: InfoField;
  value: string | number | bigint;
}

/** Fields with their values, in order; string fields with no value are left out as HAProxy does. */
function samples(values: InfoValues): Sample[] {
  const out: Sample[] = [];
  for (const field of INFO_FIELDS) {
    const v = values[field.name];
    if (field.type === 'str') {
      if (v === undefined || v === '') continue;
      out.push({ field, value: String(v) });
    } else {
      out.push({ field, value: v === undefined || v === '' ? 0 : typeof v === 'string' ? Number(v) || 0 : v });
    }
  }
  return out;
}

/** `show info [typed|json]` text (without the CLI's terminating empty line). */
export function renderInfo(values: InfoValues, format: 'plain' | 'typed' | 'json'): string {
  const list = samples(values);
  if (format === 'plain') return list.map((s) => `${s.field.name}: ${s.value}\n`).join('');
  if (format === 'typed') {
    return list
      .map((s) => {
        const f = s.field;
        const tags = ORIGIN_LETTER[f.origin] + NATURE_LETTER[f.nature] + SCOPE_LETTER[f.scope];
        return `${f.pos}.${f.name}.1:${tags}:${f.type}:${s.value}\n`;
      })
      .join('');
  }
  const items = list.map((s) => {
    const f = s.field;
    const value = f.type === 'str' ? JSON.stringify(String(s.value)) : String(s.value);
    return (
      `{"field":{"pos":${f.pos},"name":${JSON.stringify(f.name)}},"processNum":1,` +
      `"tags":{"origin":"${f.origin}","nature":"${f.nature}","scope":"${f.scope}"},` +
      `"value":{"type":"${f.type}","value":${value}}}`
    );
  });
  return `[${items.join(',')}]\n`;
}
