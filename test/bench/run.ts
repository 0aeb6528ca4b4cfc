// `npm run bench`: every benchmark of the project, one after the other, each in its own process so
// one cannot warm up or pollute another. Kept out of `npm test`. Each script prints its own table;
// the proxy benchmark runs our lb and Debian's haproxy side by side, interleaved, and prints ratios.
// `npm run bench -- proxy` (or any list of names) runs only those.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const BENCHES: ReadonlyArray<{ name: string; file: string; what: string }> = [
  { name: 'config', file: 'test/bench/config-check.ts', what: 'lb -c on a generated 10,000-line config (goal < 300 ms)' },
  { name: 'balance', file: 'test/balance/bench-balance.ts', what: 'server selection, ns per pick' },
  { name: 'parse', file: 'test/proxy/http1/bench-parse.ts', what: 'HTTP/1 head parsing, ns per head' },
  { name: 'log', file: 'test/log/bench-log.ts', what: 'log line rendering, ns per line' },
  { name: 'checks', file: 'test/checks/bench-checks.ts', what: 'health checks: CPU for 1,000 servers at inter 1s (goal < 10% of a core)' },
  { name: 'proxy', file: 'test/bench/proxy-bench.ts', what: 'lb vs haproxy, same backends, interleaved rounds: ratios' },
];

const only = process.argv.slice(2);
let failed = 0;
for (const b of BENCHES) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  console.log(`\n=== ${b.name}: ${b.what}`);
  const file = join(root, b.file);
  if (!existsSync(file)) {
    console.log(`(missing: ${b.file})`);
    failed++;
    continue;
  }
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.log(`(${b.name} exited with ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exitCode = failed === 0 ? 0 : 1;
