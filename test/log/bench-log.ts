// Micro-benchmark: cost of rendering one `option httplog` line (target < 1 µs, DESIGN.md's hot-path
// budget). Run alone with `node test/log/bench-log.ts`, or import benchLog() from a bench runner.
// Records vary per iteration (port, date crossing seconds, timers) so caches and V8 cannot fold it.

import { compileLogFormat, HTTPLOG_FORMAT, TCPLOG_FORMAT } from '../../lb/log/format.ts';
import { createLogRecord } from '../../lb/log/record.ts';

export interface LogBenchResult {
  name: string;
  lines: number;
  nsPerLine: number;
  /** Sum of the rendered lengths: printed so the work cannot be optimised away. */
  chars: number;
}

function bench(name: string, format: string, lines: number): LogBenchResult {
  const c = compileLogFormat(format);
  if (!c.ok) throw new Error(c.error);
  const f = c.value;
  const recs = Array.from({ length: 64 }, (_, i) =>
    Object.assign(createLogRecord(), {
      clientIp: '10.0.1.' + (i + 2),
      clientPort: 30000 + i,
      acceptDate: 1_795_558_590_951 + i * 37,
      requestDate: 1_795_558_590_951 + i * 37,
      frontend: 'http-in',
      backend: 'static',
      server: 'srv' + (i % 3),
      TR: i % 7,
      Tw: 0,
      Tc: 1,
      Tr: 20 + i,
      Ta: 30 + i,
      Tt: 30 + i,
      status: 200,
      bytesRead: 2750 + i,
      termState: '----',
      actconn: 10,
      feconn: 9,
      beconn: 8,
      srvConn: 3,
      requestLine: 'GET /index.html?id=' + i + ' HTTP/1.1',
      method: 'GET',
      uri: '/index.html?id=' + i,
      version: 'HTTP/1.1',
    }),
  );
  let chars = 0;
  // Warm-up so the closures are optimised before timing.
  for (let i = 0; i < 20_000; i++) chars += f.render(recs[i & 63] ?? recs[0]!, undefined).length;
  chars = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < lines; i++) {
    const r = recs[i & 63] ?? recs[0]!;
    r.acceptDate += 1; // moves through seconds like real traffic
    r.requestDate = r.acceptDate;
    chars += f.render(r, undefined).length;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, lines, nsPerLine: ns / lines, chars };
}

export async function benchLog(lines = 1_000_000): Promise<LogBenchResult[]> {
  await Promise.resolve();
  return [bench('httplog', HTTPLOG_FORMAT, lines), bench('tcplog', TCPLOG_FORMAT, lines)];
}

if (import.meta.main) {
  for (const r of await benchLog()) {
    console.log(`${r.name}: ${r.nsPerLine.toFixed(0)} ns/line over ${r.lines} lines (${r.chars} chars)${r.name === 'httplog' ? (r.nsPerLine < 1000 ? ' — under the 1 µs target' : ' — OVER the 1 µs target') : ''}`);
  }
}
