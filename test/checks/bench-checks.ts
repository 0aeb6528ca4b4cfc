// Benchmark: 1,000 servers with HTTP checks at `inter 1s` (1,000 checks/s) against a tiny HTTP
// server in a CHILD process, for 10 s; reports this process's CPU (user + system) as a percentage
// of one core. Budget (issue 3): under 10%.
// Run: node_modules/.bin/node test/checks/bench-checks.ts
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BackendHealth, CheckScheduler } from '../../lb/checks/index.ts';

export interface BenchChecksResult {
  servers: number;
  seconds: number;
  checks: number;
  /** Servers whose last check did not pass (should be 0). */
  failed: number;
  checksPerSecond: number;
  /** User + system CPU of this process, % of one core. */
  cpuPercent: number;
  userPercent: number;
}

const SERVER = `
const net = require('node:net');
const res = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nok');
const s = net.createServer((c) => { c.on('error', () => {}); c.once('data', () => c.end(res)); });
s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => console.log(s.address().port));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

export async function benchChecks(servers = 1000, seconds = 10): Promise<BenchChecksResult> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const [first]: unknown[] = await once(child.stdout, 'data');
    const port = Number(String(first).trim());
    const be = new BackendHealth({ name: 'bench' });
    const sched = new CheckScheduler();
    for (let i = 0; i < servers; i++) {
      const state = be.add({ name: `s${i}`, check: { rise: 2, fall: 3 } }, { setUsable: () => {}, setWeight: () => {} });
      sched.add({ state, host: '127.0.0.1', port, check: { type: 'http', inter: 1000, timeoutCheck: 1000, timeoutConnect: 1000, http: { request: { method: 'GET', uri: '/health' } } } });
    }
    sched.start();
    // Warm-up: one full interval so that the start-up staggering has settled.
    await new Promise((r) => setTimeout(r, 1500));
    // Nobody subscribes to lb:check:result during the measurement (as in production): the
    // scheduler's own counter gives the number of checks, the server states the failures.
    const c0 = sched.completed;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = process.cpuUsage(cpu0);
    const elapsed = (performance.now() - t0) / 1000;
    const done = sched.completed - c0;
    await sched.stop();
    const failed = be.servers.filter((s) => s.check?.last.status !== 'L7OK').length;
    return {
      servers,
      seconds: Math.round(elapsed * 10) / 10,
      checks: done,
      failed,
      checksPerSecond: Math.round(done / elapsed),
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 10,
      userPercent: Math.round((cpu.user / 1e6 / elapsed) * 1000) / 10,
    };
  } finally {
    child.stdin?.end();
    child.kill();
  }
}

if (import.meta.main) {
  const r = await benchChecks();
  console.log(JSON.stringify(r));
}
