// Benchmark: `lb -c` on a generated ~10,000-line configuration (1,000 backends × 8 servers, one ACL
// and one use_backend rule per backend). Goal (issue 2): under 300 ms wall on this machine.
// Run directly: node test/bench/config-check.ts [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function generateConfig(backends = 1000, servers = 8): string {
  const out: string[] = [
    'global',
    '  log /dev/log local0',
    '  maxconn 50000',
    'defaults',
    '  log global',
    '  mode http',
    '  option httplog',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend www',
    '  bind *:8080',
  ];
  for (let b = 0; b < backends; b++) out.push(`  acl host_${b} hdr(host) -i app${b}.example.com`);
  for (let b = 0; b < backends; b++) out.push(`  use_backend be_${b} if host_${b} !{ src 192.0.2.0/24 }`);
  out.push('  default_backend be_0');
  for (let b = 0; b < backends; b++) {
    out.push(`backend be_${b}`, '  balance roundrobin');
    for (let s = 0; s < servers; s++) out.push(`  server s${s} 10.${b >> 8}.${b & 255}.${s + 1}:8080 check inter 2s fall 3 rise 2 weight ${s + 1}`);
  }
  return out.join('\n') + '\n';
}

export async function benchConfigCheck(runs = 7): Promise<{ lines: number; medianMs: number; runs: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'lb-bench-'));
  try {
    const text = generateConfig();
    const file = join(dir, 'big.cfg');
    writeFileSync(file, text);
    const node = join(ROOT, 'node_modules', '.bin', 'node');
    const lb = join(ROOT, 'bin', 'lb.js');
    const times: number[] = [];
    // one warm-up run fills Node's compile cache, as any second invocation on a host would
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(node, [lb, '-c', '-f', file], { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (r.status !== 0 || !r.stdout.includes('Configuration file is valid')) throw new Error(`lb -c failed: ${r.stderr}`);
      if (i > 0) times.push(Math.round(ms));
    }
    const sorted = [...times].sort((a, b) => a - b);
    const medianMs = sorted[Math.floor(sorted.length / 2)] ?? NaN;
    return { lines: text.split('\n').length - 1, medianMs, runs: times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchConfigCheck(Number(process.argv[2] ?? 7));
  console.log(`lb -c on ${r.lines} lines: median ${r.medianMs} ms (runs: ${r.runs.join(', ')} ms; goal < 300 ms)`);
}
