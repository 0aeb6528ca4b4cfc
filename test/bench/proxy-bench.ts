// Side-by-side benchmark: Debian's haproxy (nbthread 1) and lb's L4 proxy, same machine, same
// run, same 3 local backends, interleaved rounds (haproxy, lb, haproxy, lb, ...).
//
// Placement: each proxy is pinned to core 0 (`taskset -c 0`); this process — load generator and
// backends, on raw `net` sockets — pins itself to core 1. With two cores the load generator may be
// the bottleneck; CPU time per request of each proxy (/proc/PID/stat utime+stime) is therefore
// reported next to req/s: it is the figure that does not depend on who saturates first.
//
//   node test/bench/proxy-bench.ts [--seconds 5] [--rounds 3] [--modes l4-small,l4-1mib]
//   node test/bench/proxy-bench.ts --serve-l4 PORT P1,P2,P3 [--http-port PORT H1,H2,H3]
//                                    (the lb runner, used internally)
//   LB_NODE_FLAGS="--max-semi-space-size=4" node test/bench/proxy-bench.ts ...   (V8 flags for lb; default: those of bin/launch.js)
//   LB_CPU_PROF=DIR: the lb runner writes a --cpu-prof profile into DIR when it stops.
//   LB_BENCH_MEM=1: the lb runner prints its memory use (V8 heap, external, array buffers) every 2 s.
//
// HTTP load comes from Debian's `wrk` when installed (one thread, pinned to the load core; set
// LB_BENCH_WRK=0 for the Node generator): the Node generator costs more CPU per request than the
// proxies, so with it both proxies idled at 15-50% and CPU µs/request was inflated by wake-ups.
//
// HTTP modes (issue 5's L7 goals) run against three raw-socket HTTP backends answering every GET
// with a fixed response: keep-alive small responses, a new connection per request (the client
// sends `Connection: close`), and 1 MiB response bodies on keep-alive connections.
//
// Modes are a table (MODES): an HTTP mode adds an entry with its own haproxy section, lb runner
// kind and load function (keep-alive small responses, new connection per request, 1 MiB bodies).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { handleHttpClient, handleHttpConnection, rawClientOf } from '../../lb/proxy/http.ts';
import { ListenerGroup } from '../../lb/proxy/listener.ts';
import { handleTcpConnection, tcpClientRead } from '../../lb/proxy/tcp.ts';
import { createBackend, createFrontend, createServer, hasFreeSlot, type Listener, type RuntimeServer, type ServerPicker } from '../../lb/proxy/types.ts';

const SELF = fileURLToPath(import.meta.url);
const HAPROXY = '/usr/sbin/haproxy';
const MiB = 1024 * 1024;
const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux

export type ProxyName = 'haproxy' | 'lb';

export interface Mode {
  readonly name: string;
  /** Which runner/haproxy section serves it. */
  readonly kind: 'l4' | 'http';
  /** Concurrent client connections. */
  readonly connections: number;
  /** l4: bytes per request, echoed back. http: response body size. */
  readonly messageSize: number;
  /** http: a new connection per request (`Connection: close`). */
  readonly newConn?: boolean;
}

export const MODES: readonly Mode[] = [
  { name: 'l4-small', kind: 'l4', connections: 50, messageSize: 64 },
  { name: 'l4-1mib', kind: 'l4', connections: 8, messageSize: MiB },
  { name: 'http-ka', kind: 'http', connections: 50, messageSize: 64 },
  { name: 'http-newconn', kind: 'http', connections: 50, messageSize: 64, newConn: true },
  { name: 'http-1mib', kind: 'http', connections: 8, messageSize: MiB },
];

export interface BenchOptions {
  seconds?: number;
  rounds?: number;
  warmupSeconds?: number;
  modes?: readonly string[];
  /** Core for the proxies, and for this process; undefined = do not pin. */
  proxyCore?: number | undefined;
  loadCore?: number | undefined;
  log?: (line: string) => void;
}

export interface RoundResult {
  readonly mode: string;
  readonly proxy: ProxyName;
  readonly round: number;
  readonly reqPerSec: number;
  /** Payload MiB/s in each direction. */
  readonly mibPerSec: number;
  readonly p99us: number;
  /** Proxy CPU (user+system) per request, µs. */
  readonly cpuUsPerReq: number;
  /** Proxy CPU use over the round, % of one core. */
  readonly cpuPct: number;
  readonly rssMiB: number;
}

export interface ModeSummary {
  readonly mode: string;
  readonly haproxy: Median;
  readonly lb: Median;
  /** lb / haproxy for each metric (req/s and MiB/s > 1 is better, p99 / cpu / rss < 1 is better). */
  readonly ratio: Median;
}

type Median = Omit<RoundResult, 'mode' | 'proxy' | 'round'>;

export interface BenchResult {
  readonly rounds: readonly RoundResult[];
  readonly summary: readonly ModeSummary[];
}

// ---------------------------------------------------------------- lb runner (child process)

function rrPicker(servers: RuntimeServer[]): ServerPicker {
  let next = 0;
  return {
    pick(): RuntimeServer | undefined {
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(next + k) % servers.length];
        if (s !== undefined && hasFreeSlot(s)) {
          next = (next + k + 1) % servers.length;
          return s;
        }
      }
      return undefined;
    },
    hasUsable: () => true,
    taken() {},
    released() {},
  };
}

/** Builds the runtime structures directly (no config parser) and serves until killed. */
async function serveL4(port: number, backendPorts: number[], httpPort: number, httpPorts: number[]): Promise<void> {
  const servers = backendPorts.map((p, i) => createServer(`s${i + 1}`, '127.0.0.1', p));
  const be = createBackend({ name: 'be', servers, picker: rrPicker(servers), timeouts: { connect: 5000, server: 30000 } });
  const fe = createFrontend({ name: 'fe', selectBackend: () => be, timeouts: { client: 30000 } });
  const hservers = httpPorts.map((p, i) => createServer(`h${i + 1}`, '127.0.0.1', p));
  const hbe = createBackend({ name: 'hbe', mode: 'http', servers: hservers, picker: rrPicker(hservers), timeouts: { connect: 5000, server: 30000 } });
  const hfe = createFrontend({ name: 'hfe', mode: 'http', selectBackend: () => hbe, timeouts: { client: 30000, httpRequest: 10000, httpKeepAlive: 10000 } });
  const listeners: Listener[] = [{ bind: { host: '127.0.0.1', port }, frontend: fe, backlog: 1024, clientRead: tcpClientRead }];
  if (httpPort > 0) listeners.push({ bind: { host: '127.0.0.1', port: httpPort }, frontend: hfe, backlog: 1024 });
  // As lb/proxy/runtime.ts: plain http listeners accept raw TCP handles.
  const group = new ListenerGroup(listeners, {
    onConnection: (s, l) => (l.frontend.mode === 'http' ? handleHttpConnection(s, l.frontend) : handleTcpConnection(s, l.frontend)),
    rawAccept: (l) => l.frontend.mode === 'http',
    onRawConnection: (c, l) => handleHttpClient(rawClientOf(c), l.frontend),
  });
  await group.start();
  if (process.env.LB_BENCH_MEM === '1') {
    // Where the RSS goes (V8 heap, external/array buffers, the rest): one line every 2 s.
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    setInterval(() => {
      const m = process.memoryUsage();
      process.stderr.write(`[mem] rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} arrayBuffers ${mib(m.arrayBuffers)}\n`);
    }, 2000).unref();
  }
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void group.stop().then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- backends and load generator

async function listen(server: net.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

function onEchoData(this: net.Socket, d: Buffer): void {
  if (!this.write(d)) this.pause();
}
function onEchoDrain(this: net.Socket): void {
  this.resume();
}

/** Echo backends: cheap enough to share core 1 with the load generator. */
async function startEchoBackends(n: number): Promise<{ ports: number[]; close(): Promise<void> }> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < n; i++) {
    servers.push(
      net.createServer({ noDelay: true }, (s) => {
        sockets.add(s);
        s.on('data', onEchoData);
        s.on('drain', onEchoDrain);
        s.on('error', () => {});
        s.once('close', () => sockets.delete(s));
      }),
    );
  }
  const ports: number[] = [];
  for (const s of servers) ports.push(await listen(s));
  return {
    ports,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CLOSE_LC = Buffer.from('onnection: close');
const CLOSE_UC = Buffer.from('onnection: Close');

/**
 * HTTP backends: every request head (GETs without body) gets a fixed response; the path picks its
 * size (/big → 1 MiB). Keep-alive unless the request says close.
 */
async function startHttpBackends(n: number): Promise<{ ports: number[]; close(): Promise<void> }> {
  const small = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 64\r\n\r\n${'x'.repeat(64)}`);
  const big = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${MiB}\r\n\r\n`), Buffer.alloc(MiB, 0x62)]);
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < n; i++) {
    servers.push(
      net.createServer({ noDelay: true }, (s) => {
        sockets.add(s);
        // Byte-level scan (no strings): this shares the load core with the generator.
        let tail: Buffer | null = null;
        s.on('data', (chunk: Buffer) => {
          const d = tail === null ? chunk : Buffer.concat([tail, chunk]);
          let from = 0;
          for (;;) {
            const e = d.indexOf(CRLFCRLF, from);
            if (e < 0) break;
            s.write(d[from + 5] === 0x62 /* GET /b */ ? big : small);
            const c = d.indexOf(CLOSE_LC, from);
            if ((c >= 0 && c < e) || (d.indexOf(CLOSE_UC, from) >= 0 && d.indexOf(CLOSE_UC, from) < e)) s.end();
            from = e + 4;
          }
          tail = from < d.length ? d.subarray(from) : null;
        });
        s.on('error', () => {});
        s.once('close', () => sockets.delete(s));
      }),
    );
  }
  const ports: number[] = [];
  for (const s of servers) ports.push(await listen(s));
  return {
    ports,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

/** Incremental response framing for the load generator: content-length responses only. */
class RespReader {
  need = -1;
  got = 0;
  head = '';
  /** Feeds bytes; returns the number of responses completed. */
  feed(d: Buffer): number {
    let done = 0;
    let off = 0;
    while (off < d.length) {
      if (this.need < 0) {
        const text = this.head + d.toString('latin1', off, Math.min(d.length, off + 4096));
        const e = text.indexOf('\r\n\r\n');
        if (e < 0) {
          this.head = text.slice(-3);
          return done;
        }
        const m = /content-length: *(\d+)/i.exec(text.slice(0, e));
        const consumed = e + 4 - this.head.length;
        this.head = '';
        off += consumed;
        this.need = Number(m?.[1] ?? 0);
        this.got = 0;
      }
      const take = Math.min(this.need - this.got, d.length - off);
      this.got += take;
      off += take;
      if (this.got === this.need) {
        this.need = -1;
        done++;
      }
    }
    return done;
  }
}

const WRK = '/usr/bin/wrk';
/** Set by benchL4: the core wrk is pinned to (the load core). */
let wrkCore: number | undefined;

/** wrk (Debian's package) when installed and not disabled with LB_BENCH_WRK=0. */
function useWrk(): boolean {
  return process.env.LB_BENCH_WRK !== '0' && existsSync(WRK);
}

const WRK_UNIT: Readonly<Record<string, number>> = { us: 1, ms: 1000, s: 1e6 };

/**
 * HTTP load with wrk: one thread, `connections` keep-alive connections, each with one request in
 * flight (no pipelining), the same for both proxies. With newConn, every request says
 * `Connection: close` and wrk reconnects after each response. A C generator costs far less CPU
 * per request than the Node one below, so the proxies, not the generator, set the pace.
 */
async function runWrk(port: number, mode: Mode, seconds: number): Promise<LoadResult> {
  const path = mode.messageSize >= MiB ? '/big' : '/small';
  const args = ['-t1', `-c${mode.connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '--timeout', '5s'];
  if (mode.newConn === true) args.push('-H', 'Connection: close');
  args.push(`http://127.0.0.1:${port}${path}`);
  const child = pinned(wrkCore, WRK, args);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const reqs = /(\d+) requests in ([\d.]+)(us|ms|s),/.exec(out);
  if (code !== 0 || reqs === null) throw new Error(`wrk failed (${code}): ${out}`);
  const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)/m.exec(out);
  const p99us = p99 === null ? 0 : Number(p99[1]) * (WRK_UNIT[p99[2] ?? 'us'] ?? 1);
  return { requests: Number(reqs[1]), seconds: (Number(reqs[2]) * (WRK_UNIT[reqs[3] ?? 's'] ?? 1e6)) / 1e6, p99us };
}

/** HTTP load: keep-alive ping-pong per connection, or one connection per request. Bounded in time. */
async function runHttpLoad(port: number, mode: Mode, seconds: number): Promise<LoadResult> {
  if (useWrk()) return runWrk(port, mode, seconds);
  const path = mode.messageSize >= MiB ? '/big' : '/small';
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nhost: bench\r\n${mode.newConn === true ? 'connection: close\r\n' : ''}\r\n`);
  const hist = createHistogram();
  let requests = 0;
  const run = { stopping: false };
  const live = new Set<net.Socket>();
  const workers: Promise<void>[] = [];
  const worker = async (): Promise<void> => {
    while (!run.stopping) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
        live.add(s);
        const rr = new RespReader();
        let t0 = process.hrtime.bigint();
        const send = (): void => {
          t0 = process.hrtime.bigint();
          s.write(req);
        };
        s.on('connect', send);
        s.on('data', (d: Buffer) => {
          if (rr.feed(d) === 0) return;
          requests++;
          const dt = Number(process.hrtime.bigint() - t0);
          hist.record(dt > 0 ? dt : 1);
          if (run.stopping || mode.newConn === true) {
            s.destroy();
            return;
          }
          send();
        });
        s.on('error', () => {});
        s.on('close', () => {
          live.delete(s);
          resolve();
        });
      });
    }
  };
  const start = performance.now();
  // With newConn, latency includes the connection setup (t0 is taken on connect).
  for (let i = 0; i < mode.connections; i++) workers.push(worker());
  await new Promise((r) => setTimeout(r, seconds * 1000));
  run.stopping = true;
  const elapsed = (performance.now() - start) / 1000;
  const counted = requests;
  await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 2000))]);
  for (const s of live) s.destroy();
  return { requests: counted, seconds: elapsed, p99us: hist.percentile(99) / 1000 };
}

interface LoadResult {
  requests: number;
  seconds: number;
  p99us: number;
}

/**
 * N connections doing ping-pong: send `size` bytes, wait for `size` bytes back, repeat until the
 * deadline. Bounded in time; connections are closed at the end.
 */
async function runL4Load(port: number, mode: Mode, seconds: number): Promise<LoadResult> {
  const msg = Buffer.alloc(mode.messageSize, 0x61);
  const hist = createHistogram();
  let requests = 0;
  let stopping = false;
  const socks: net.Socket[] = [];
  const finished: Promise<void>[] = [];
  for (let i = 0; i < mode.connections; i++) {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    socks.push(s);
    finished.push(
      new Promise<void>((resolve) => {
        let got = 0;
        let t0 = 0n;
        const send = (): void => {
          got = 0;
          t0 = process.hrtime.bigint();
          s.write(msg);
        };
        s.on('connect', send);
        s.on('data', (d: Buffer) => {
          got += d.length;
          if (got < mode.messageSize) return;
          requests++;
          const dt = Number(process.hrtime.bigint() - t0);
          hist.record(dt > 0 ? dt : 1);
          if (stopping) {
            s.destroy();
            return;
          }
          send();
        });
        s.on('error', () => {});
        s.on('close', () => resolve());
      }),
    );
  }
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stopping = true;
  const elapsed = (performance.now() - start) / 1000;
  const counted = requests;
  // Give in-flight requests a moment, then cut whatever is left.
  await Promise.race([Promise.all(finished), new Promise((r) => setTimeout(r, 2000))]);
  for (const s of socks) s.destroy();
  return { requests: counted, seconds: elapsed, p99us: hist.percentile(99) / 1000 };
}

// ---------------------------------------------------------------- proxies under test

interface Running {
  readonly name: ProxyName;
  readonly pid: number;
  readonly port: number;
  readonly httpPort: number;
  stop(): Promise<void>;
}

function pinned(core: number | undefined, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  // taskset execs the command: the child PID is the proxy's own PID.
  return core === undefined
    ? spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn('taskset', ['-c', String(core), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

async function waitListening(port: number, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, 3000);
  await exited;
  clearTimeout(t);
}

async function startHaproxy(dir: string, backendPorts: number[], httpPorts: number[], core: number | undefined): Promise<Running> {
  const port = await freePort();
  const httpPort = await freePort();
  const cfg = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'listen l4',
    `  bind 127.0.0.1:${port}`,
    '  balance roundrobin',
    ...backendPorts.map((p, i) => `  server s${i + 1} 127.0.0.1:${p}`),
    'listen l7',
    '  mode http',
    `  bind 127.0.0.1:${httpPort}`,
    '  balance roundrobin',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    ...httpPorts.map((p, i) => `  server h${i + 1} 127.0.0.1:${p}`),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  const child = pinned(core, HAPROXY, ['-db', '-f', file]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on('data', () => {});
  try {
    await waitListening(port, 5000);
  } catch (err) {
    await stopChild(child);
    throw new Error(`haproxy did not start: ${stderr}`, { cause: err });
  }
  await waitListening(httpPort, 5000);
  return { name: 'haproxy', pid: child.pid ?? 0, port, httpPort, stop: () => stopChild(child) };
}

async function startLb(backendPorts: number[], httpPorts: number[], core: number | undefined): Promise<Running> {
  const port = await freePort();
  const httpPort = await freePort();
  // Default: the flags bin/launch.js gives a running lb (v8FlagsFor), so the bench measures what runs.
  const flags = (process.env.LB_NODE_FLAGS ?? '--max-semi-space-size=1 --v8-pool-size=1').split(' ').filter((f) => f !== '');
  const prof = process.env.LB_CPU_PROF;
  if (prof !== undefined && prof !== '') flags.push('--cpu-prof', `--cpu-prof-dir=${prof}`);
  // As bin/launch.js runs lb: glibc's arenas bounded, and Node's compile cache on (the install's,
  // see compileCacheDir in bin/launch.js), which also caches the type-stripped sources: without it every start strips the
  // .ts files with a WASM compiler that then stays resident (~20 MiB more RSS than a real lb).
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.MALLOC_ARENA_MAX ??= '2';
  env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'hapair-compile-cache');
  const child = pinned(core, process.execPath, [...flags, SELF, '--serve-l4', String(port), backendPorts.join(','), '--http-port', String(httpPort), httpPorts.join(',')], env);
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lb runner exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
  });
  return { name: 'lb', pid: child.pid ?? 0, port, httpPort, stop: () => stopChild(child) };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime field 14, stime field 15 (1-based, man proc).
  return Number(fields[11]) + Number(fields[12]);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] === undefined ? 0 : Number(m[1]) / 1024;
}

async function measure(p: Running, mode: Mode, seconds: number, round: number): Promise<RoundResult> {
  const c0 = cpuTicks(p.pid);
  const load = mode.kind === 'http' ? await runHttpLoad(p.httpPort, mode, seconds) : await runL4Load(p.port, mode, seconds);
  const c1 = cpuTicks(p.pid);
  const rss = rssMiB(p.pid);
  const cpuUs = (c1 - c0) * TICK_US;
  const reqPerSec = load.requests / load.seconds;
  return {
    mode: mode.name,
    proxy: p.name,
    round,
    reqPerSec,
    mibPerSec: (reqPerSec * mode.messageSize) / MiB,
    p99us: load.p99us,
    cpuUsPerReq: load.requests > 0 ? cpuUs / load.requests : 0,
    cpuPct: (cpuUs / (load.seconds * 1e6)) * 100,
    rssMiB: rss,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

const METRICS = ['reqPerSec', 'mibPerSec', 'p99us', 'cpuUsPerReq', 'cpuPct', 'rssMiB'] as const;

function medians(rs: readonly RoundResult[]): Median {
  const m = (k: (typeof METRICS)[number]): number => median(rs.map((r) => r[k]));
  return { reqPerSec: m('reqPerSec'), mibPerSec: m('mibPerSec'), p99us: m('p99us'), cpuUsPerReq: m('cpuUsPerReq'), cpuPct: m('cpuPct'), rssMiB: m('rssMiB') };
}

function ratios(lb: Median, ha: Median): Median {
  const r = (k: (typeof METRICS)[number]): number => (ha[k] === 0 ? 0 : lb[k] / ha[k]);
  return { reqPerSec: r('reqPerSec'), mibPerSec: r('mibPerSec'), p99us: r('p99us'), cpuUsPerReq: r('cpuUsPerReq'), cpuPct: r('cpuPct'), rssMiB: r('rssMiB') };
}

function pin(core: number | undefined): void {
  if (core === undefined) return;
  // -a: every thread of this process (libuv pool, V8 helpers), not only the main one.
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

/**
 * Runs the L4 modes for both proxies, interleaved, and returns every round plus medians and
 * lb/haproxy ratios. Bounded: (warmup + rounds × seconds) × 2 proxies × modes.
 */
export async function benchL4(opts: BenchOptions = {}): Promise<BenchResult> {
  const seconds = opts.seconds ?? 5;
  const rounds = Math.max(1, opts.rounds ?? 3);
  const warmup = opts.warmupSeconds ?? 1;
  const proxyCore = 'proxyCore' in opts ? opts.proxyCore : 0;
  const loadCore = 'loadCore' in opts ? opts.loadCore : 1;
  const log = opts.log ?? (() => {});
  const modes = MODES.filter((m) => opts.modes === undefined || opts.modes.includes(m.name));
  pin(loadCore);
  wrkCore = loadCore;
  if (modes.some((m) => m.kind === 'http')) log(useWrk() ? `http modes: load from ${WRK} (one thread, pinned with the backends)` : 'http modes: load from the Node generator (install wrk for a cheaper one)');
  const dir = mkdtempSync(join(tmpdir(), 'lb-bench-'));
  const backends = await startEchoBackends(3);
  const httpBackends = await startHttpBackends(3);
  const running: Running[] = [];
  const results: RoundResult[] = [];
  try {
    // One start and stop first, so that every measured lb starts with a warm compile cache.
    await (await startLb(backends.ports, httpBackends.ports, proxyCore)).stop();
    for (const mode of modes) {
      // Fresh proxies per mode: RSS under one load is not inflated by the peak of another (freed
      // memory often stays with the process).
      for (const p of running.splice(0)) await p.stop();
      running.push(await startHaproxy(dir, backends.ports, httpBackends.ports, proxyCore));
      running.push(await startLb(backends.ports, httpBackends.ports, proxyCore));
      for (const p of running) {
        if (mode.kind === 'http') await runHttpLoad(p.httpPort, mode, warmup);
        else await runL4Load(p.port, mode, warmup);
      }
      for (let r = 0; r < rounds; r++) {
        for (const p of running) {
          const res = await measure(p, mode, seconds, r);
          log(
            `${mode.name} round ${r + 1} ${p.name.padEnd(7)} ${res.reqPerSec.toFixed(0)} req/s, p99 ${res.p99us.toFixed(0)} µs, ` +
              `${res.cpuUsPerReq.toFixed(2)} µs CPU/req, RSS ${res.rssMiB.toFixed(1)} MiB`,
          );
          results.push(res);
        }
      }
    }
  } finally {
    for (const p of running) await p.stop();
    await backends.close();
    await httpBackends.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const summary: ModeSummary[] = modes.map((m) => {
    const ha = medians(results.filter((r) => r.mode === m.name && r.proxy === 'haproxy'));
    const lb = medians(results.filter((r) => r.mode === m.name && r.proxy === 'lb'));
    return { mode: m.name, haproxy: ha, lb, ratio: ratios(lb, ha) };
  });
  return { rounds: results, summary };
}

/** Formats the summary as a fixed-width table. */
export function formatSummary(summary: readonly ModeSummary[]): string {
  const head = ['mode', 'proxy', 'req/s', 'MiB/s', 'p99 µs', 'CPU µs/req', 'CPU %', 'RSS MiB'];
  const rows: string[][] = [head];
  const fmt = (m: Median, digits: number): string[] => [
    m.reqPerSec.toFixed(digits === 2 ? 2 : 0),
    m.mibPerSec.toFixed(digits === 2 ? 2 : 1),
    m.p99us.toFixed(digits === 2 ? 2 : 0),
    m.cpuUsPerReq.toFixed(2),
    m.cpuPct.toFixed(digits === 2 ? 2 : 0),
    m.rssMiB.toFixed(digits === 2 ? 2 : 1),
  ];
  for (const s of summary) {
    rows.push([s.mode, 'haproxy', ...fmt(s.haproxy, 0)]);
    rows.push([s.mode, 'lb', ...fmt(s.lb, 0)]);
    rows.push([s.mode, 'lb/haproxy', ...fmt(s.ratio, 2)]);
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] === SELF) {
  const serve = argValue('--serve-l4');
  if (serve !== undefined) {
    const hp = argValue('--http-port');
    const hports = hp === undefined ? [] : (process.argv[process.argv.indexOf('--http-port') + 2] ?? '').split(',').map(Number);
    await serveL4(Number(serve), (process.argv[process.argv.indexOf('--serve-l4') + 2] ?? '').split(',').map(Number), Number(hp ?? 0), hports);
  } else {
    const res = await benchL4({
      seconds: Number(argValue('--seconds') ?? 5),
      rounds: Number(argValue('--rounds') ?? 3),
      ...(argValue('--modes') !== undefined ? { modes: (argValue('--modes') ?? '').split(',') } : {}),
      log: (l) => process.stdout.write(`${l}\n`),
    });
    process.stdout.write(`\n${formatSummary(res.summary)}\n`);
  }
}
