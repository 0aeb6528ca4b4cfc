// Benchmark: `lb -c` on a generated ~10,000-line configuration (1,000 backends × 8 servers, one ACL
// and one use_backend rule per backend). Goal (issue 2): under 300 ms wall on this machine.
// Run directly: node test/bench/config-check.ts [runs]
//
// Wall time depends on how loaded the machine is, so every run also reports the CPU time (user +
// system, all threads) of the lb process: a hook loaded with --import reads process.resourceUsage()
// at the process's 'exit' event and writes it to a file (spawnSync does not report a child's
// rusage). The same is measured for `node -e 0` and `lb -v`: the start-up floor under lb -c.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Writes the process's CPU time (ms, user + system, all threads) to $LB_BENCH_RUSAGE at exit. */
const RUSAGE_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { writeFileSync } from 'node:fs';" +
      "process.on('exit', () => { const u = process.resourceUsage(); writeFileSync(process.env.LB_BENCH_RUSAGE, String((u.userCPUTime + u.systemCPUTime) / 1000)); });",
  );

export interface Sample {
  wallMs: number;
  cpuMs: number;
}

export interface Figures {
  /** Medians over the runs. */
  wallMs: number;
  cpuMs: number;
  runs: Sample[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Runs `node ...args` `runs` times after one warm-up run (which fills Node's compile cache). */
function measure(args: readonly string[], runs: number, dir: string, check: (stdout: string, status: number | null, stderr: string) => void): Figures {
  const node = join(ROOT, 'node_modules', '.bin', 'node');
  const rusage = join(dir, 'rusage');
  const samples: Sample[] = [];
  for (let i = 0; i <= runs; i++) {
    rmSync(rusage, { force: true });
    const t0 = performance.now();
    const r = spawnSync(node, ['--import', RUSAGE_HOOK, ...args], { encoding: 'utf8', env: { ...process.env, LB_BENCH_RUSAGE: rusage } });
    const wallMs = performance.now() - t0;
    check(r.stdout, r.status, r.stderr);
    const cpuMs = Number(readFileSync(rusage, 'utf8'));
    if (i > 0) samples.push({ wallMs: Math.round(wallMs), cpuMs: Math.round(cpuMs) });
  }
  return { wallMs: median(samples.map((s) => s.wallMs)), cpuMs: median(samples.map((s) => s.cpuMs)), runs: samples };
}

export async function benchConfigCheck(runs = 7): Promise<{ lines: number; check: Figures; nodeFloor: Figures; version: Figures }> {
  const dir = mkdtempSync(join(tmpdir(), 'lb-bench-'));
  try {
    const text = generateConfig();
    const file = join(dir, 'big.cfg');
    writeFileSync(file, text);
    const lb = join(ROOT, 'bin', 'lb.js');
    const check = measure([lb, '-c', '-f', file], runs, dir, (stdout, status, stderr) => {
      if (status !== 0 || !stdout.includes('Configuration file is valid')) throw new Error(`lb -c failed: ${stderr}`);
    });
    const nodeFloor = measure(['-e', '0'], runs, dir, (_o, status) => {
      if (status !== 0) throw new Error('node -e 0 failed');
    });
    const version = measure([lb, '-v'], runs, dir, (stdout, status) => {
      if (status !== 0 || !stdout.startsWith('lb version')) throw new Error('lb -v failed');
    });
    return { lines: text.split('\n').length - 1, check, nodeFloor, version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchConfigCheck(Number(process.argv[2] ?? 7));
  const { loadavg } = await import('node:os');
  const row = (label: string, f: Figures): string => `${label.padEnd(28)} wall ${String(f.wallMs).padStart(4)} ms   cpu ${String(f.cpuMs).padStart(4)} ms   (runs wall/cpu: ${f.runs.map((s) => `${s.wallMs}/${s.cpuMs}`).join(', ')})`;
  console.log(`medians of ${r.check.runs.length} runs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; cpu = user + system, all threads`);
  console.log(row(`lb -c on ${r.lines} lines`, r.check) + '   goal: wall < 300 ms');
  console.log(row('lb -v (start-up floor)', r.version));
  console.log(row('node -e 0 (Node start-up)', r.nodeFloor));
}
