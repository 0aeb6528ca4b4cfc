// The drill harness: one topology, two agents, one client, agent-agnostic.
//
//   switch ns (bridge br0, multicast snooping off) ── p-a ── node A  198.18.0.2/24  agent + responder "A"
//                                                   ── p-b ── node B  198.18.0.3/24  agent + responder "B"
//                                                   ── p-c ── client 198.18.0.50/24 probe.ts → http://198.18.0.100/
//
// - The agent is `ha-agent` (node bin/ha-agent.js -f FILE --control-socket PATH) or Debian's
//   keepalived (`keepalived -n -l -G -D -P -f FILE -p PIDFILE -r VRRP_PIDFILE`: foreground, log to the
//   console only, VRRP subsystem only, and pid files of its own so two instances share one machine).
//   Both read the same generated keepalived.conf (conf.ts); a node's state is learnt from its notify
//   script's file (the same for both agents) and from `ip addr` (who holds the VIP).
// - The client namespace sets net.ipv4.conf.{all,eth0}.arp_accept=1, as routers facing a VRRP pair
//   do, so a gratuitous ARP for the VIP updates (or creates) its neighbour entry at once.
// - Every process runs through NetnsLab (test/helpers/netns.ts): own process group, killed on
//   close, on failure and on process exit; the namespaces are deleted the same way.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { NetnsLab, type Switch } from '../helpers/netns.ts';
import { type ProbeRecord, parseProbeLine, steadyFrom } from './analyze.ts';
import { Batch, type BatchAnswer } from './batch.ts';
import {
  type AgentKind,
  type AuthKind,
  CLIENT_ADDR,
  NODE_ADDR,
  type NodeName,
  VIP,
  VIP_PREFIX,
  effectiveAuth,
  nodeConf,
  notifyScriptText,
  seedPriority,
  trackIntervalFor,
} from './conf.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = dirname(fileURLToPath(import.meta.url));
export const NODES: readonly NodeName[] = ['A', 'B'];
export const PROBE_INTERVAL_MS = 10;
export const PROBE_TIMEOUT_MS = 80;

export interface DrillOptions {
  readonly agent: AgentKind;
  /** Seconds. */
  readonly advertInt: number;
  /** Wanted auth; keepalived at a fractional interval runs without (see conf.ts). Default HMAC for ha-agent, PASS for keepalived. */
  readonly auth?: AuthKind;
  /** Registers cleanup as a teardown of this ava test. */
  readonly t?: ExecutionContext;
  /** Progress lines (stderr of run.ts, t.log in tests). */
  readonly log?: (line: string) => void;
  /** Pin node A's agent to this CPU (the soak puts its load on the same core). */
  readonly pinACpu?: number;
  /** Upper bound of the whole drill's life: every child exits by itself after this. Default 10 min. */
  readonly lifetimeMs?: number;
}

interface AgentProc {
  readonly child: ChildProcess;
  readonly confFile: string;
  readonly socket: string;
  readonly stderr: string[];
}

export interface NodeView {
  /** Last state the notify script reported. */
  readonly state: string;
  readonly vip: boolean;
  readonly alive: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(file: string, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: stderr || (err?.message ?? '') });
    });
  });
}

/** A command held by an idle `ip -batch -` (Drill.armIp). */
export interface ArmedIp {
  /**
   * Hands the command over; resolves when ip has run it, with `sent` the epoch ms taken just before
   * the write (the fault instant) and `out` the `link show dev eth0` that followed it.
   */
  fire(): Promise<BatchAnswer>;
}

/** The sentinel of an `ip` link batch: `link show dev eth0`, complete once its line is in. */
const LINK_SHOWN = (out: string): boolean => /^\d+: eth0[:@]/m.test(out);

export class Drill {
  readonly o: DrillOptions;
  readonly lab: NetnsLab;
  readonly dir: string;
  readonly sw: Switch;
  readonly ns: Readonly<Record<NodeName | 'client', string>>;
  readonly ports: Readonly<Record<NodeName, string>>;
  readonly auth: AuthKind;
  readonly trackInterval: number;
  readonly #agents = new Map<NodeName, AgentProc>();
  readonly #probes: ProbeRecord[] = [];
  #prober: ChildProcess | undefined;
  #closed = false;
  /** Per node, the `ip -4 -o` batch that answers holdsVip (started on first use). */
  readonly #addrBatches = new Map<NodeName, Promise<Batch>>();
  /** The switch's `bridge -d` batch that splits and heals (started on first use). */
  #bridgeBatch: Promise<Batch> | undefined;

  private constructor(o: DrillOptions, lab: NetnsLab, dir: string, sw: Switch, ns: Drill['ns'], ports: Drill['ports']) {
    this.o = o;
    this.lab = lab;
    this.dir = dir;
    this.sw = sw;
    this.ns = ns;
    this.ports = ports;
    this.auth = effectiveAuth(o.agent, o.advertInt, o.auth ?? (o.agent === 'ha-agent' ? 'HMAC' : 'PASS'));
    this.trackInterval = trackIntervalFor(o.agent, o.advertInt);
  }

  /** Builds the topology, starts responders and agents, and waits for A MASTER / B BACKUP. */
  static async start(o: DrillOptions): Promise<Drill> {
    const lab = await NetnsLab.create(o.t);
    const dir = mkdtempSync(join(tmpdir(), 'hapair-drill-'));
    trackDir(dir);
    let drill: Drill | undefined;
    try {
      const sw = await lab.addSwitch();
      const nsA = await lab.addNs('a');
      const nsB = await lab.addNs('b');
      const nsC = await lab.addNs('c');
      const pA = await lab.plug(sw, nsA, { address: `${NODE_ADDR.A}/${VIP_PREFIX}` });
      const pB = await lab.plug(sw, nsB, { address: `${NODE_ADDR.B}/${VIP_PREFIX}` });
      await lab.plug(sw, nsC, { address: `${CLIENT_ADDR}/${VIP_PREFIX}` });
      for (const key of ['net.ipv4.conf.all.arp_accept', 'net.ipv4.conf.eth0.arp_accept']) await lab.sysctl(nsC, key, '1');
      drill = new Drill(o, lab, dir, sw, { A: nsA, B: nsB, client: nsC }, { A: pA, B: pB });
      await drill.#startResponders();
      for (const node of NODES) drill.#writeNodeFiles(node);
      for (const node of NODES) drill.startAgent(node);
      await drill.waitConverged();
      return drill;
    } catch (err) {
      if (drill !== undefined) {
        o.log?.(`drill start failed; agent logs:\n${drill.agentLogs()}`);
        await drill.close();
      } else {
        await lab.cleanup();
        removeDir(dir);
      }
      throw err;
    }
  }

  get lifetimeMs(): number {
    return this.o.lifetimeMs ?? 600_000;
  }

  file(node: NodeName, what: 'conf' | 'state' | 'notify' | 'ok' | 'sock' | 'key' | 'pid' | 'vrrp.pid'): string {
    if (what === 'key') return join(this.dir, 'hmac.key');
    return join(this.dir, `${node}.${what}`);
  }

  #writeNodeFiles(node: NodeName, priority?: number): void {
    writeFileSync(this.file(node, 'ok'), 'ok\n');
    writeFileSync(this.file(node, 'notify'), notifyScriptText(this.file(node, 'state')), { mode: 0o700 });
    chmodSync(this.file(node, 'notify'), 0o700);
    if (this.auth === 'HMAC' && !existsSync(this.file(node, 'key'))) writeFileSync(this.file(node, 'key'), 'drill-shared-hmac-key-0123456789\n', { mode: 0o600 });
    this.writeConf(node, priority);
  }

  /** (Re)writes a node's keepalived.conf, optionally with another base priority. */
  writeConf(node: NodeName, priority?: number): void {
    const text = nodeConf({
      agent: this.o.agent,
      node,
      advertInt: this.o.advertInt,
      auth: this.auth,
      keyFile: this.file(node, 'key'),
      trackFile: this.file(node, 'ok'),
      trackInterval: this.trackInterval,
      notifyScript: this.file(node, 'notify'),
      priority: priority ?? seedPriority(node),
    });
    writeFileSync(this.file(node, 'conf'), text, { mode: 0o600 });
  }

  async #startResponders(): Promise<void> {
    const ready = NODES.map((node) => {
      const child = this.lab.spawn(this.ns[node], [process.execPath, join(HERE, 'responder.ts'), node, '80', String(this.lifetimeMs)]);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`responder ${node} did not start`)), 10_000);
        child.stdout?.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`responder ${node} exited with ${String(code)}`));
        });
      });
    });
    await Promise.all(ready);
  }

  agentArgv(node: NodeName): string[] {
    const conf = this.file(node, 'conf');
    const argv =
      this.o.agent === 'ha-agent'
        ? [process.execPath, join(ROOT, 'bin', 'ha-agent.js'), '-f', conf, '--control-socket', this.file(node, 'sock')]
        : ['keepalived', '-n', '-l', '-G', '-D', '-P', '-f', conf, '-p', this.file(node, 'pid'), '-r', this.file(node, 'vrrp.pid')];
    return node === 'A' && this.o.pinACpu !== undefined ? ['taskset', '-c', String(this.o.pinACpu), ...argv] : argv;
  }

  /** Starts the agent of `node` (its process group is tracked by the lab). */
  startAgent(node: NodeName): void {
    const child = this.lab.spawn(this.ns[node], this.agentArgv(node), { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    const keep = (b: Buffer): void => {
      stderr.push(b.toString());
      if (stderr.length > 400) stderr.splice(0, stderr.length - 400);
    };
    child.stderr?.on('data', keep);
    child.stdout?.on('data', keep);
    this.#agents.set(node, { child, confFile: this.file(node, 'conf'), socket: this.file(node, 'sock'), stderr });
  }

  agent(node: NodeName): AgentProc {
    const a = this.#agents.get(node);
    if (a === undefined) throw new Error(`no agent on node ${node}`);
    return a;
  }

  /** Sends `signal` to the agent's main process, or with `group` to its whole process group. */
  signalAgent(node: NodeName, signal: NodeJS.Signals, group = false): void {
    const pid = this.agent(node).child.pid;
    if (pid === undefined) throw new Error(`agent ${node} has no pid`);
    process.kill(group ? -pid : pid, signal);
  }

  agentLogs(): string {
    return NODES.map((n) => `--- agent ${n} (${this.o.agent}) ---\n${(this.#agents.get(n)?.stderr ?? []).join('').split('\n').slice(-60).join('\n')}`).join('\n');
  }

  /**
   * States written by the notify script, oldest first, with their epoch-ms times. Sorted by the
   * time each script started (its `date`), not by file order: keepalived runs notify scripts
   * concurrently, so a BACKUP line can land before the MASTER line it follows.
   */
  transitions(node: NodeName): { readonly at: number; readonly state: string }[] {
    let text: string;
    try {
      text = readFileSync(this.file(node, 'state'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [at = '0', state = '?'] = l.split(' ');
        return { at: Number(at) * 1000, state };
      })
      .toSorted((x, y) => x.at - y.at);
  }

  /**
   * ha-agent's own transition records (the JSON lines on its stdout, timed by the agent when its
   * state machine steps), oldest first; [] for keepalived. The notify script's time comes later by
   * a fork and a `date` (100–250 ms on a loaded host): these show when the agent itself moved.
   */
  agentTransitions(node: NodeName): { readonly at: number; readonly state: string }[] {
    const out: { at: number; state: string }[] = [];
    for (const line of (this.#agents.get(node)?.stderr ?? []).join('').split('\n')) {
      if (!line.startsWith('{"time":')) continue;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch {
        continue; // a line cut by the output buffer's limit
      }
      if (typeof j === 'object' && j !== null && 'time' in j && 'to' in j && typeof j.time === 'string' && typeof j.to === 'string') {
        out.push({ at: Date.parse(j.time), state: j.to });
      }
    }
    return out;
  }

  state(node: NodeName): string {
    return this.transitions(node).at(-1)?.state ?? 'NONE';
  }

  /**
   * Whether node's eth0 holds the VIP, asked of a batch started on first use (Batch says why: two
   * spawned `ip addr show` per 10 ms poll saw the split-brain heal hundreds of ms late under load).
   * The request is `addr show to VIP/32` then, as its sentinel, `addr show to NODE_ADDR/32` (the
   * node's own address is always there); no `link show` ever goes to this batch (Batch's caveat).
   */
  async holdsVip(node: NodeName): Promise<boolean> {
    const own = ` inet ${NODE_ADDR[node]}/`;
    const sentinel = `addr show dev eth0 to ${NODE_ADDR[node]}/32`;
    let started = this.#addrBatches.get(node);
    if (started === undefined) {
      started = Batch.start(this.lab, this.ns[node], ['ip', '-4', '-o'], { lines: [sentinel], complete: (out) => out.includes(own) });
      this.#addrBatches.set(node, started);
    }
    const r = await (await started).send({ lines: [`addr show dev eth0 to ${VIP}/32`, sentinel], complete: (out) => out.includes(own) });
    return r.out.includes(` ${VIP}/${VIP_PREFIX} `);
  }

  /** False once the agent's main process has exited (killed or stopped). */
  agentAlive(node: NodeName): boolean {
    const c = this.#agents.get(node)?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async view(): Promise<Record<NodeName, NodeView>> {
    const [a, b] = await Promise.all([this.holdsVip('A'), this.holdsVip('B')]);
    return { A: { state: this.state('A'), vip: a, alive: this.agentAlive('A') }, B: { state: this.state('B'), vip: b, alive: this.agentAlive('B') } };
  }

  static describe(v: Record<NodeName, NodeView>): string {
    return NODES.map((n) => `${n} ${v[n].alive ? v[n].state : `agent dead (last ${v[n].state})`}${v[n].vip ? ' +VIP' : ''}`).join(', ');
  }

  /** Polls `cond` every `pollMs` until true (returns the time it became true) or the deadline (undefined). */
  async waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 10): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await cond()) return Date.now();
      if (Date.now() >= deadline) return undefined;
      await sleep(pollMs);
    }
  }

  /** A MASTER holding the VIP, B not MASTER and without it. */
  async waitConverged(timeoutMs = 3 * this.o.advertInt * 1000 + 8000): Promise<void> {
    const ok = await this.waitFor(
      async () => {
        const v = await this.view();
        return v.A.state === 'MASTER' && v.A.vip && v.B.state === 'BACKUP' && !v.B.vip;
      },
      timeoutMs,
      25,
    );
    if (ok === undefined) throw new Error(`agents did not converge to A MASTER / B BACKUP within ${timeoutMs} ms: ${Drill.describe(await this.view())}\n${this.agentLogs()}`);
  }

  get probes(): readonly ProbeRecord[] {
    return this.#probes;
  }

  /** Starts the client's prober (bounded by `durationMs`) and waits for `steady` answers in a row from A. */
  async startProbing(durationMs: number, steady = 20): Promise<void> {
    const child = this.lab.spawn(this.ns.client, [
      process.execPath,
      join(HERE, 'probe.ts'),
      VIP,
      '80',
      String(PROBE_INTERVAL_MS),
      String(PROBE_TIMEOUT_MS),
      String(durationMs),
    ]);
    this.#prober = child;
    let buf = '';
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const p = parseProbeLine(l);
        if (p !== undefined) this.#probes.push(p);
      }
    });
    child.stderr?.on('data', (b: Buffer) => this.o.log?.(`probe: ${b.toString().trim()}`));
    const ok = await this.waitFor(() => steadyFrom(this.#probes, 'A', steady), 10_000, 20);
    if (ok === undefined) {
      const tail = this.#probes.slice(-5).map((p) => JSON.stringify(p)).join(' ');
      throw new Error(`client is not served steadily by A (${steady} probes in a row): last probes ${tail}; ${Drill.describe(await this.view())}`);
    }
  }

  /** Stops the prober and waits until its last in-flight probes are recorded. */
  async stopProbing(): Promise<void> {
    const child = this.#prober;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PROBE_TIMEOUT_MS + 1000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // The child is `ip netns exec … node probe.ts`: `ip` execs, so the pid is the prober's own.
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
  }

  /** `ip link set dev eth0 down|up` inside a node (the host's own side of its link). */
  async link(node: NodeName, up: boolean): Promise<void> {
    const r = await run('ip', ['-n', this.ns[node], 'link', 'set', 'dev', 'eth0', up ? 'up' : 'down']);
    if (r.code !== 0) throw new Error(`ip link set ${up ? 'up' : 'down'} failed on ${node}: ${r.stderr}`);
  }

  /**
   * Starts `ip -batch -` in node's namespace and waits until it is idle on its stdin, so that a
   * fault can later be injected by handing it one line: the fault instant is the write, not the
   * start of a process. Why: under load, `ip link set` run from the test process (execFile: fork
   * of a large process, exec, ip's own start) took 190–310 ms before the link actually went down
   * (A's agent saw eth0 down 250 ms after a fault instant taken before execFile), and the drill
   * charged those to the agents' failover. What remains between the write and the link going down
   * (the batch's wake-up at nice -20 and one netlink request) is still counted, so the measurement
   * stays conservative. The batch runs this one command, then exits.
   */
  async armIp(node: NodeName, command: string, timeoutMs = 10_000): Promise<ArmedIp> {
    const sentinel = { lines: ['link show dev eth0'], complete: LINK_SHOWN };
    const batch = await Batch.start(this.lab, this.ns[node], ['ip'], sentinel, timeoutMs);
    return {
      fire: async () => {
        try {
          return await batch.send({ lines: [command, ...sentinel.lines], complete: LINK_SHOWN });
        } finally {
          batch.end();
        }
      },
    };
  }

  /**
   * Multicast flooding towards the nodes' bridge ports (default both) on (heal) or off (split),
   * through the switch's `bridge -d -batch -` (started on the first call, so it is idle before the
   * heal: Batch says why). Resolves once `bridge -d link show` confirms every port's new flag;
   * `sent` is the instant just before the command was written (the heal instant).
   */
  async multicastFlood(on: boolean, only?: NodeName): Promise<BatchAnswer> {
    const ports = NODES.filter((n) => only === undefined || n === only).map((n) => this.ports[n]);
    const flags = (out: string): string[] => [...out.matchAll(/\bmcast_flood (on|off)\b/g)].map((m) => m[1] ?? '');
    this.#bridgeBatch ??= Batch.start(this.lab, this.sw.ns, ['bridge', '-d'], { lines: [`link show dev ${this.ports.A}`], complete: (out) => flags(out).length === 1 });
    const batch = await this.#bridgeBatch;
    const r = await batch.send({
      lines: [...ports.map((p) => `link set dev ${p} mcast_flood ${on ? 'on' : 'off'}`), ...ports.map((p) => `link show dev ${p}`)],
      complete: (out) => flags(out).length === ports.length,
    });
    // One `N: PORT@…` block per port, each with its own mcast_flood flag.
    for (const p of ports) {
      const block = new RegExp(`^\\d+: ${p}[:@][\\s\\S]*?\\bmcast_flood (on|off)\\b`, 'm').exec(r.out);
      if (block?.[1] !== (on ? 'on' : 'off')) throw new Error(`bridge link set dev ${p} mcast_flood ${on ? 'on' : 'off'} did not take: ${r.out.trim()}`);
    }
    return r;
  }

  /** Makes node's track script fail (removes its file) or pass again. */
  setTrack(node: NodeName, ok: boolean): void {
    if (ok) writeFileSync(this.file(node, 'ok'), 'ok\n');
    else rmSync(this.file(node, 'ok'), { force: true });
  }

  /** `hactl --socket … switchover` (ha-agent only); resolves with its exit code and output. */
  hactl(node: NodeName, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(process.execPath, [join(ROOT, 'bin', 'hactl.js'), '--socket', this.file(node, 'sock'), ...args], timeoutMs);
  }

  /** Starts `count` bounded busy loops in node's namespace, pinned to `cpu` (the soak's CPU load). */
  startCpuLoad(node: NodeName, cpu: number, count: number, durationMs: number): void {
    const loop = `const end=Date.now()+${Math.floor(durationMs)};let x=0;while(Date.now()<end){x=(x*31+7)%1000003}`;
    for (let i = 0; i < count; i++) {
      const c = this.lab.spawn(this.ns[node], ['taskset', '-c', String(cpu), process.execPath, '-e', loop], { stdio: 'ignore' });
      c.on('error', () => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stopProbing().catch(() => undefined);
    await this.lab.cleanup();
    removeDir(this.dir);
  }
}

// Temp directories of live drills, removed on any exit too (run.ts's Ctrl-C path ends in exit).
const liveDirs = new Set<string>();
let dirHook = false;

function trackDir(dir: string): void {
  liveDirs.add(dir);
  if (dirHook) return;
  dirHook = true;
  process.on('exit', () => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

function removeDir(dir: string): void {
  liveDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}
