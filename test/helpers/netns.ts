// Network-namespace lab for tests and drills: namespaces, a bridge "switch" with veth ports,
// addresses from 198.18.0.0/15 only, and commands run inside a namespace.
//
// Robustness rules (tests run in parallel ava worker processes):
// - Every name carries a prefix unique to this process and lab: `hp<pid base36>-<3 random>-<short>`,
//   so two workers never collide, and a later run can tell a leftover from a live lab (its pid is dead)
//   and sweep it (`sweepStale()`, called by `NetnsLab.create`).
// - `cleanup()` kills every process it started (by process group) and every process still inside the
//   lab's namespaces (`ip netns pids`), then deletes the namespaces. It runs from ava's `t.teardown`
//   (registered by `create(t)`) even when the test failed, and synchronously from a process 'exit'
//   hook as a last resort.
// - Interface names inside a namespace are short and fixed (`eth0`, `br0`, `p-<node>`): each namespace
//   has its own name space for links, so there is nothing to make unique there.

import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { ProcessRunner, describeResult, errorCode, type RunResult } from '../../ha-agent/runner.ts';

const IP = 'ip';
const runner = new ProcessRunner();

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let netnsProbe: string | undefined | null = null;

/** Why namespace tests cannot run here, or undefined when they can (probed once per process). */
export function netnsUnavailableReason(): string | undefined {
  if (netnsProbe !== null) return netnsProbe;
  if (!isRoot()) {
    netnsProbe = 'not root: network namespace tests need CAP_SYS_ADMIN and CAP_NET_ADMIN';
    return netnsProbe;
  }
  const name = `hp${process.pid.toString(36)}-prb-${randomBytes(2).toString('hex')}`; // swept like a lab if we die
  const add = spawnSync(IP, ['netns', 'add', name], { encoding: 'utf8', timeout: 5000 });
  if (add.status !== 0) {
    netnsProbe = `'ip netns add' failed: ${(add.stderr ?? String(add.error)).trim()}`;
    return netnsProbe;
  }
  const veth = spawnSync(IP, ['-n', name, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0'], {
    encoding: 'utf8',
    timeout: 5000,
  });
  spawnSync(IP, ['netns', 'del', name], { timeout: 5000 });
  netnsProbe = veth.status === 0 ? undefined : `veth unavailable: ${veth.stderr.trim()}`;
  return netnsProbe;
}

export function canNetns(): boolean {
  return netnsUnavailableReason() === undefined;
}

/** True when `addr` (with or without /prefix) lies inside 198.18.0.0/15. */
export function inBenchmarkRange(addr: string): boolean {
  const ip = addr.split('/')[0] ?? '';
  const m = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return m !== null && Number(m[2]) <= 255 && Number(m[3]) <= 255;
}

function assertRange(addr: string): void {
  if (!inBenchmarkRange(addr)) {
    throw new Error(`netns lab: address ${addr} is outside 198.18.0.0/15 (DESIGN.md: test networks)`);
  }
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  /** Do not throw on a non-zero exit; return the result. */
  readonly allowFail?: boolean;
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface Switch {
  readonly ns: string;
  readonly bridge: string;
}

export interface PlugOptions {
  /** Address with prefix, inside 198.18.0.0/15, e.g. 198.18.0.1/24. */
  readonly address?: string;
  readonly ifname?: string;
}

const liveLabs = new Set<NetnsLab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.cleanupSync();
  });
}

export class NetnsLab {
  readonly prefix: string;
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #closed = false;

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /**
   * A new lab. With `t`, cleanup is registered as a teardown of that test. Throws when namespaces
   * are unavailable: call `netnsUnavailableReason()` first and skip loudly.
   */
  static async create(t?: ExecutionContext): Promise<NetnsLab> {
    const why = netnsUnavailableReason();
    if (why !== undefined) throw new Error(`netns lab unavailable: ${why}`);
    await sweepStale();
    const lab = new NetnsLab(`hp${process.pid.toString(36)}-${randomBytes(2).toString('hex').slice(0, 3)}`);
    liveLabs.add(lab);
    installExitHook();
    if (t !== undefined) t.teardown(() => lab.cleanup());
    return lab;
  }

  name(short: string): string {
    return `${this.prefix}-${short}`;
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /** Creates namespace `<prefix>-<short>` with `lo` up; returns its full name. */
  async addNs(short: string): Promise<string> {
    this.#assertOpen();
    const ns = this.name(short);
    await this.#ip(['netns', 'add', ns]);
    this.#namespaces.push(ns);
    await this.#ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A switch: its own namespace holding bridge `br0`, up, with multicast snooping off so that
   * multicast is flooded to every port (drills turn flooding off per port to cut a node off).
   */
  async addSwitch(short = 'sw'): Promise<Switch> {
    const ns = await this.addNs(short);
    await this.#ip(['-n', ns, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0']);
    await this.#ip(['-n', ns, 'link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0']);
    await this.#ip(['-n', ns, 'link', 'set', 'br0', 'up']);
    return { ns, bridge: 'br0' };
  }

  /**
   * Connects namespace `ns` to the switch by a veth pair: `ifname` (default eth0) inside `ns`,
   * port `p-<short of ns>` on the bridge. Returns the port name (for `bridge link set dev PORT`).
   */
  async plug(sw: Switch, ns: string, o: PlugOptions = {}): Promise<string> {
    const ifname = o.ifname ?? 'eth0';
    const short = ns.startsWith(`${this.prefix}-`) ? ns.slice(this.prefix.length + 1) : ns;
    const port = `p-${short}`.slice(0, 15);
    if (o.address !== undefined) assertRange(o.address);
    await this.#ip(['link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw.ns]);
    await this.#ip(['-n', sw.ns, 'link', 'set', port, 'master', sw.bridge]);
    await this.#ip(['-n', sw.ns, 'link', 'set', port, 'up']);
    if (o.address !== undefined) await this.#ip(['-n', ns, 'addr', 'add', o.address, 'dev', ifname]);
    await this.#ip(['-n', ns, 'link', 'set', ifname, 'up']);
    return port;
  }

  /** addNs + plug: a node on the switch with one address. */
  async addNode(short: string, sw: Switch, address: string): Promise<string> {
    const ns = await this.addNs(short);
    await this.plug(sw, ns, { address });
    return ns;
  }

  /** Writes a sysctl inside `ns` (e.g. net.ipv4.conf.all.arp_accept=1). */
  async sysctl(ns: string, key: string, value: string): Promise<void> {
    await this.exec(ns, ['sysctl', '-qw', `${key}=${value}`]);
  }

  /** Runs argv inside `ns` to completion; throws with the stderr line on failure unless allowFail. */
  async exec(ns: string, argv: readonly string[], o: ExecOptions = {}): Promise<RunResult> {
    this.#assertOpen();
    const [file, ...rest] = argv;
    if (file === undefined) throw new Error('netns lab: empty argv');
    const args = ['netns', 'exec', ns, file, ...rest];
    const r = await runner.run(IP, args, {
      timeoutMs: o.timeoutMs ?? 10_000,
      ...(o.input === undefined ? {} : { input: o.input }),
      ...(o.env === undefined ? {} : { env: o.env }),
    });
    if (o.allowFail !== true && r.code !== 0) throw new Error(`netns lab: ${describeResult(IP, args, r)}`);
    return r;
  }

  /**
   * Starts argv inside `ns` as a tracked child in its own process group; cleanup kills the group.
   * stdio defaults to pipes so a test can read the child's output.
   */
  spawn(ns: string, argv: readonly string[], o: SpawnOptions = {}): ChildProcess {
    this.#assertOpen();
    const child = spawn(IP, ['netns', 'exec', ns, ...argv], { stdio: 'pipe', ...o, detached: true });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Kills every started process and deletes every namespace. Safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    liveLabs.delete(this);
    for (const child of this.#children) killGroup(child);
    const waits = [...this.#children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 2000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    await Promise.all(waits);
    for (const ns of this.#namespaces.toReversed()) await deleteNamespace(ns);
    this.#namespaces.length = 0;
  }

  /** Synchronous variant for the process 'exit' hook. */
  cleanupSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    liveLabs.delete(this);
    for (const child of this.#children) killGroup(child);
    for (const ns of this.#namespaces.toReversed()) deleteNamespaceSync(ns);
    this.#namespaces.length = 0;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`netns lab ${this.prefix} is already cleaned up`);
  }

  async #ip(args: readonly string[]): Promise<void> {
    const r = await runner.run(IP, args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`netns lab: ${describeResult(IP, args, r)}`);
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function killPids(text: string): void {
  for (const tok of text.split(/\s+/)) {
    const pid = Number(tok);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  const pids = await runner.run(IP, ['netns', 'pids', ns], { timeoutMs: 5000 });
  killPids(pids.stdout);
  await runner.run(IP, ['netns', 'del', ns], { timeoutMs: 5000 });
}

function deleteNamespaceSync(ns: string): void {
  const pids = spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 });
  killPids(pids.stdout ?? '');
  spawnSync(IP, ['netns', 'del', ns], { timeout: 5000 });
}

const LAB_NAME = /^hp([0-9a-z]+)-[0-9a-z]{3}-/;

/** Deletes namespaces left by a lab whose process is dead (a crashed or SIGKILLed test run). */
export async function sweepStale(): Promise<string[]> {
  const list = await runner.run(IP, ['netns', 'list'], { timeoutMs: 5000 });
  const swept: string[] = [];
  for (const line of list.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = LAB_NAME.exec(ns);
    if (m === null) continue;
    const pid = Number.parseInt(m[1] ?? '', 36);
    if (pid === process.pid || pidAlive(pid)) continue;
    await deleteNamespace(ns);
    swept.push(ns);
  }
  return swept;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}
