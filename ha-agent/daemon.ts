// The ha-agent daemon: configuration → running instances, trackers, notify queue, control socket.
//
// Lifecycle (DESIGN.md principle 7): start() provisions everything and fails as a whole (a partial
// start is undone by stop()); reload() (SIGHUP) applies a new file or changes nothing; stop()
// (SIGTERM) works after any partial start and is bounded in time.
//
// Reload rules:
// - The new file is parsed and adapted completely first; any error → every diagnostic is logged and
//   the running configuration stays exactly as it was.
// - An instance whose identity (interface, VRID, VIP set, transport, owner-ness; see adapt.ts) is
//   unchanged is updated in place without a transition: priority (through the fsm, so a lower one
//   can make us resign and a higher one preempt), advert interval, preempt settings, auth, tracks
//   (added/removed/re-weighted), notify scripts, GARP settings.
// - An instance whose identity changed is restarted cleanly (shutdown: priority 0 + VIP released,
//   then a fresh start); removed instances are stopped; new ones started.
// - A vrrp_script whose definition changed gets a new tracker; the instances keep the track's
//   current state until the new tracker's first result says otherwise.
//
// Logs: one line per event on stderr, `ISO-TIME LEVEL message` (systemd adds its own prefix; the
// ISO time keeps plain stderr logs useful too). Transitions are also one JSON line each on the
// transition stream (default stdout), written by the notify queue.
import type { Writable } from 'node:stream';
import { AdaptError, adaptInstance, scriptIdentity, trackOk } from './adapt.ts';
import type { InstancePlan, TransportSpec } from './adapt.ts';
import { formatDiagnostic, loadConfigFile } from './config.ts';
import type { KeepalivedConfig, LoadOptions, VrrpScript } from './config.ts';
import { ControlError, ControlServer } from './control.ts';
import type { DaemonStatus, ReloadResult, SwitchoverResponse } from './control.ts';
import { HaAgentError } from './errors.ts';
import { openMulticastTransport } from './net/multicast.ts';
import { primaryIPv4 } from './net/transport.ts';
import type { AdvertTransport } from './net/transport.ts';
import { openUnicastTransport } from './net/unicast.ts';
import { NotifyQueue } from './notify.ts';
import type { NotifyScripts } from './notify.ts';
import { ProcessRunner, errorCode, errorMessage, resolveUser } from './runner.ts';
import type { CommandRunner, UserIds } from './runner.ts';
import { PerlGarpSender } from './net/garp.ts';
import { IpBatch } from './net/ip-batch.ts';
import { SpawnerRunner } from './spawner.ts';
import { InterfaceTracker } from './track/interface.ts';
import { ScriptTracker } from './track/script.ts';
import { VipManager } from './vip.ts';
import { VrrpInstance, systemClock } from './vrrp/instance.ts';
import type { Clock, InstanceStatus, LogLevel, Logger, SwitchoverResult } from './vrrp/instance.ts';

export interface LinkWatch {
  readonly up: boolean;
  start(): void;
  stop(): void;
}

/** Creates a watcher of one interface's link; `onChange` is called on every up/down change. */
export type LinkWatcherFactory = (iface: string, pollMs: number, onChange: (up: boolean, reason: string) => void) => LinkWatch;

export type TransportOpener = (spec: TransportSpec, o: { readonly ttlCheck: boolean; readonly log: Logger }) => Promise<AdvertTransport>;

export interface DaemonOptions {
  readonly configFile: string;
  readonly configId?: string;
  /** Control socket path; null = none (tests that call the methods directly). */
  readonly controlSocket?: string | null;
  readonly runner?: CommandRunner;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly openTransport?: TransportOpener;
  readonly watchLink?: LinkWatcherFactory;
  /** Passed to the config loader (tests: `interfaces: null`). */
  readonly loadOptions?: Omit<LoadOptions, 'configId'>;
  readonly readKey?: (path: string) => Buffer;
  /** Where transition JSON lines go; default process.stdout. */
  readonly transitions?: Writable | null;
  /** Check the TTL of received adverts (needs CAP_NET_RAW); 'auto' = when root, falling back. */
  readonly ttlCheck?: boolean | 'auto';
  /** Upper bound of stop(); default 3000 ms. */
  readonly stopTimeoutMs?: number;
  /** Per notify script; default 10 000 ms. */
  readonly notifyTimeoutMs?: number;
  /**
   * Long-lived helpers for the transition path (net/ip-batch.ts, net/garp.ts), started with the
   * daemon: `ip addr add|del` and gratuitous ARP without a spawn. Default: on unless a runner is
   * injected (tests that assert the exact argv of `ip` and `arping` calls).
   */
  readonly helpers?: boolean | { readonly ipCommand?: readonly string[]; readonly perlCommand?: readonly string[] };
  /** Nice value for track and notify scripts (the agent itself may run raised, see sched.ts). */
  readonly scriptNice?: number;
}

interface Running {
  plan: InstancePlan;
  readonly instance: VrrpInstance;
  readonly transport: AdvertTransport;
  vip: VipManager;
  /** '' = own interface; others: track_interface names. */
  readonly links: Map<string, LinkWatch>;
}

interface TrackerEntry {
  readonly identity: string;
  readonly tracker: ScriptTracker | undefined;
  /** Raw result state (before `reverse`): 'ok' | 'failed'. */
  state: 'ok' | 'failed';
  known: boolean;
}

/** `ISO-TIME LEVEL message` on stderr; debug lines only when `verbose`. */
export function stderrLogger(verbose = false): Logger {
  return (level: LogLevel, message: string) => {
    if (level === 'debug' && !verbose) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
  };
}

/** The default link watcher: sysfs polling (track/interface.ts). */
export const sysfsLinkWatcher: LinkWatcherFactory = (iface, pollMs, onChange) => {
  const t = new InterfaceTracker({ iface, pollMs, onChange: (c) => onChange(c.up, c.reason) });
  return {
    get up() {
      return t.up;
    },
    start: () => t.start(),
    stop: () => t.stop(),
  };
};

/** The default transport: node:dgram multicast or unicast, with the TTL check when possible. */
export const udpTransportOpener: TransportOpener = async (spec, o) => {
  const hooks = { onError: (err: Error) => o.log('warn', `transport ${spec.kind} on ${spec.iface}: ${err.message}`) };
  const open = (ttlCheck: boolean): Promise<AdvertTransport> =>
    spec.kind === 'udp-multicast'
      ? openMulticastTransport({
          iface: spec.iface, group: spec.group, port: spec.port, ttlCheck, ...hooks,
          ...(spec.srcIp === undefined ? {} : { ifaceAddr: spec.srcIp }),
        })
      : openUnicastTransport({
          srcIp: spec.srcIp ?? primaryIPv4(spec.iface), peers: spec.peers, port: spec.port, device: spec.iface, ttlCheck, ...hooks,
        });
  if (o.ttlCheck) {
    try {
      return await open(true);
    } catch (err) {
      if (errorCode(err) !== 'ERR_HA_EDGE_RAW') throw err;
      o.log('warn', `TTL check of received adverts unavailable (${errorMessage(err)}); relying on authentication`);
    }
  }
  return open(false);
};

/** arping fallback only (no helper configured): see #vipManager. */
const MIN_GARP_SPACING_MS = 20;

function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
    }),
  ]);
}

export class Daemon {
  readonly #o: DaemonOptions;
  readonly #runner: CommandRunner;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #openTransport: TransportOpener;
  readonly #watchLink: LinkWatcherFactory;
  readonly #running = new Map<string, Running>();
  readonly #trackers = new Map<string, TrackerEntry>();
  #notify: NotifyQueue | undefined;
  #control: ControlServer | undefined;
  #startedAt = new Date();
  #lastReload: ReloadResult | null = null;
  #reloading: Promise<ReloadResult> | undefined;
  #stopping: Promise<void> | undefined;
  #ttlCheck = false;
  #ipBatch: IpBatch | undefined;
  #garp: PerlGarpSender | undefined;
  readonly #spawner: SpawnerRunner | undefined;

  constructor(o: DaemonOptions) {
    this.#o = o;
    // Default: scripts and commands forked by a perl helper (spawner.ts: a spawn from node blocks
    // the event loop 10-30 ms on a loaded host), node's own spawn as its fallback.
    this.#spawner = o.runner === undefined ? new SpawnerRunner({
      fallback: new ProcessRunner(), log: (l) => this.#log('warn', l), ...(o.scriptNice === undefined ? {} : { childNice: o.scriptNice }),
    }) : undefined;
    this.#runner = o.runner ?? this.#spawner ?? new ProcessRunner();
    this.#clock = o.clock ?? systemClock;
    this.#log = o.log ?? stderrLogger();
    this.#openTransport = o.openTransport ?? udpTransportOpener;
    this.#watchLink = o.watchLink ?? sysfsLinkWatcher;
  }

  get instances(): ReadonlyMap<string, VrrpInstance> {
    return new Map([...this.#running].map(([k, r]) => [k, r.instance]));
  }

  /**
   * Loads the configuration and starts everything. Throws HaAgentError ERR_HA_CONFIG_INVALID (with
   * every diagnostic logged) or the error of the first part that cannot start; in both cases what
   * did start has been stopped again.
   */
  async start(): Promise<void> {
    this.#startedAt = new Date();
    const ttl = this.#o.ttlCheck ?? 'auto';
    this.#ttlCheck = ttl === 'auto' ? process.getuid?.() === 0 : ttl;
    const loaded = this.#load();
    if (loaded.plans === undefined) {
      throw new HaAgentError('ERR_HA_CONFIG_INVALID', `configuration ${this.#o.configFile} is invalid (every error is logged above)`);
    }
    const { config, plans } = loaded;
    try {
      await this.#startHelpers();
      this.#notify = new NotifyQueue({
        runner: this.#runner,
        timeoutMs: this.#o.notifyTimeoutMs ?? 10_000,
        scripts: notifyScripts(plans),
        ...this.#scriptUser(config),
        ...(this.#o.transitions === null ? {} : { jsonl: { stream: this.#o.transitions ?? process.stdout } }),
        log: (l) => this.#log('warn', l),
      });
      // The control socket first: a second agent pointed at a live socket must fail here, before
      // it touches a VIP or sends an advert.
      if (this.#o.controlSocket !== null) {
        this.#control = await ControlServer.listen(this.#o.controlSocket ?? '/run/ha-agent.sock', this, (l) => this.#log('info', l));
        this.#log('info', `control socket ${this.#control.path}`);
      }
      this.#syncTrackers(config, plans);
      for (const plan of plans) await this.#startInstance(plan);
      this.#startTrackers();
      this.#log('info', `started with ${plans.length} instance(s) from ${this.#o.configFile}`);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Pre-starts the transition helpers, so that no transition pays for a spawn. */
  async #startHelpers(): Promise<void> {
    if (this.#spawner !== undefined && (await this.#spawner.start())) this.#log('debug', 'process spawner helper ready');
    const h = this.#o.helpers ?? this.#o.runner === undefined;
    if (h === false) return;
    const opts = h === true ? {} : h;
    const log = (l: string): void => this.#log('warn', l);
    this.#ipBatch = new IpBatch({ log, ...(opts.ipCommand === undefined ? {} : { command: opts.ipCommand }) });
    this.#ipBatch.start();
    this.#garp = new PerlGarpSender({ log, ...(opts.perlCommand === undefined ? {} : { command: opts.perlCommand }) });
    if (await this.#garp.start()) this.#log('debug', 'gratuitous ARP helper ready (AF_PACKET)');
  }

  /** Parses and adapts the file; logs every diagnostic. `plans` undefined when unusable. */
  #load(): { config: KeepalivedConfig; plans?: InstancePlan[]; diagnostics: string[] } {
    const r = loadConfigFile(this.#o.configFile, {
      ...this.#o.loadOptions,
      ...(this.#o.configId === undefined ? {} : { configId: this.#o.configId }),
    });
    const diagnostics = r.diagnostics.map((d) => formatDiagnostic(d));
    for (const d of r.diagnostics) this.#log(d.severity === 'error' ? 'error' : 'warn', formatDiagnostic(d));
    if (!r.ok) return { config: r.config, diagnostics };
    const plans: InstancePlan[] = [];
    for (const inst of r.config.instances) {
      try {
        plans.push(adaptInstance(inst, r.config, this.#o.readKey === undefined ? {} : { readKey: this.#o.readKey }));
      } catch (err) {
        if (!(err instanceof AdaptError)) throw err;
        this.#log('error', err.message);
        diagnostics.push(`error: ${err.message}`);
        return { config: r.config, diagnostics };
      }
    }
    return { config: r.config, plans, diagnostics };
  }

  #scriptUser(config: KeepalivedConfig): { user?: UserIds } {
    const su = config.globalDefs.scriptUser;
    if (su === undefined) return {};
    try {
      return { user: resolveUser(su.user, su.group) };
    } catch (err) {
      this.#log('error', `script_user: ${errorMessage(err)}; scripts run as the agent's user`);
      return {};
    }
  }

  // -------------------------------------------------------------------------------------------
  // trackers

  /** Creates trackers for scripts that are used and new or changed; stops unused ones. */
  #syncTrackers(config: KeepalivedConfig, plans: readonly InstancePlan[]): string[] {
    const changes: string[] = [];
    const used = new Map<string, VrrpScript>();
    for (const p of plans) for (const s of p.scripts) used.set(s.script.name, s.script);
    for (const [name, e] of this.#trackers) {
      const s = used.get(name);
      if (s === undefined || scriptIdentity(s) !== e.identity) {
        void e.tracker?.stop();
        this.#trackers.delete(name);
        if (s === undefined) changes.push(`vrrp_script ${name}: no longer tracked`);
      }
    }
    for (const [name, s] of used) {
      if (this.#trackers.has(name)) continue;
      const entry: TrackerEntry = { identity: scriptIdentity(s), tracker: undefined, state: s.initFail ? 'failed' : 'ok', known: false };
      let user: UserIds | undefined;
      try {
        const u = s.user ?? config.globalDefs.scriptUser?.user;
        const g = s.user !== undefined ? s.group : config.globalDefs.scriptUser?.group;
        user = u === undefined ? undefined : resolveUser(u, g);
      } catch (err) {
        this.#log('error', `vrrp_script ${name}: ${errorMessage(err)}; the track counts as failing`);
        entry.state = 'failed';
        entry.known = true;
        this.#trackers.set(name, entry);
        continue;
      }
      try {
        const tracker = new ScriptTracker({
          name, script: s.script.argv, runner: this.#runner, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs,
          fall: s.fall, rise: s.rise, initFail: s.initFail, ...(user === undefined ? {} : { user }),
          // Every result, not only changes: keeps instances in sync after a reload replaced the
          // tracker, and forwards a change in the same tick as the script's exit (no added latency).
          onResult: (_r, state) => this.#onScriptState(name, state),
          onChange: (c) => this.#log('info', `vrrp_script ${name}: ${c.previous.toUpperCase()} → ${c.state.toUpperCase()} (${c.reason})`),
        });
        this.#trackers.set(name, { ...entry, tracker });
        changes.push(`vrrp_script ${name}: tracker (re)started`);
      } catch (err) {
        this.#log('error', `vrrp_script ${name}: ${errorMessage(err)}; the track counts as failing`);
        this.#trackers.set(name, { ...entry, state: 'failed', known: true });
      }
    }
    return changes;
  }

  #startTrackers(): void {
    for (const e of this.#trackers.values()) e.tracker?.start();
    // Trackers that cannot run (bad user, bad script line) are failing from the start.
    for (const [name, e] of this.#trackers) if (e.tracker === undefined) this.#onScriptState(name, 'failed');
  }

  #onScriptState(name: string, state: 'ok' | 'failed'): void {
    const e = this.#trackers.get(name);
    if (e !== undefined) {
      e.state = state;
      e.known = true;
    }
    for (const r of this.#running.values()) {
      for (const s of r.plan.scripts) {
        if (s.script.name !== name) continue;
        const ok = trackOk(state === 'ok', s.reverse);
        if (r.instance.fsm.tracks.find((t) => t.name === s.track)?.ok !== ok) r.instance.trackChanged(s.track, ok);
      }
    }
  }

  #scriptOk(name: string, reverse: boolean, fallback: boolean): boolean {
    const e = this.#trackers.get(name);
    return e === undefined ? fallback : trackOk(e.state === 'ok', reverse);
  }

  // -------------------------------------------------------------------------------------------
  // instances

  async #startInstance(plan: InstancePlan): Promise<void> {
    const transport = await this.#openTransport(plan.transport, { ttlCheck: this.#ttlCheck, log: this.#log });
    const links = new Map<string, LinkWatch>();
    let instance: VrrpInstance | undefined;
    const pollMs = Math.max(10, Math.min(100, plan.params.advertIntervalMs));
    try {
      if (plan.trackPrimary) {
        links.set('', this.#watchLink(plan.transport.iface, pollMs, (up, reason) => {
          this.#log(up ? 'info' : 'warn', `(${plan.name}) interface ${reason}`);
          instance?.interfaceChanged('', up);
        }));
      }
      for (const t of plan.interfaces) links.set(t.iface, this.#interfaceWatch(plan.name, t.iface, pollMs, () => instance));
      const params = {
        ...plan.params,
        address: transport.localAddress,
        tracks: plan.params.tracks.map((t) => {
          const s = plan.scripts.find((x) => x.track === t.name);
          if (s !== undefined) return { ...t, initiallyOk: this.#scriptOk(s.script.name, s.reverse, t.initiallyOk) };
          const i = plan.interfaces.find((x) => x.track === t.name);
          if (i !== undefined) return { ...t, initiallyOk: trackOk(links.get(i.iface)?.up ?? false, i.reverse) };
          return t;
        }),
      };
      const vip = this.#vipManager(plan);
      instance = new VrrpInstance({
        params, auth: plan.auth, vipSet: plan.vipSet, transport, vip, notify: this.#notifyQueue(), clock: this.#clock,
        log: this.#log, lowerPrioGarpRepeat: plan.lowerPrioGarpRepeat, iface: plan.transport.iface,
        transportKind: plan.transport.kind, downAtStart: links.get('')?.up === false ? [''] : [],
      });
      this.#running.set(plan.name, { plan, instance, transport, vip, links });
      await instance.start();
      for (const l of links.values()) l.start();
      this.#log('info', `(${plan.name}) started: vrid ${plan.params.vrid} on ${plan.transport.iface} from ${transport.localAddress}, ${plan.transport.kind}, priority ${plan.params.priority}, advert_int ${plan.params.advertIntervalMs} ms`);
    } catch (err) {
      for (const l of links.values()) l.stop();
      if (this.#running.get(plan.name)?.instance === instance) this.#running.delete(plan.name);
      await instance?.stop();
      await transport.close();
      throw err;
    }
  }

  #interfaceWatch(name: string, iface: string, pollMs: number, inst: () => VrrpInstance | undefined): LinkWatch {
    return this.#watchLink(iface, pollMs, (up, reason) => {
      this.#log(up ? 'info' : 'warn', `(${name}) track_interface ${reason}`);
      const r = this.#running.get(name);
      const t = r?.plan.interfaces.find((x) => x.iface === iface);
      if (t !== undefined) inst()?.trackChanged(t.track, trackOk(up, t.reverse));
    });
  }

  /**
   * With the GARP helper, GARPs are frames written to a pipe and garp_interval 0 (back to back,
   * keepalived's default) is kept. Without it every GARP is an `arping` process, and each spawn
   * blocks the event loop (measured 20-70 ms on a loaded 2-core host): five back to back delayed our
   * adverts by ~300 ms, so garp_interval is raised to MIN_GARP_SPACING_MS there (VipManager does the
   * same when the helper is configured but down).
   */
  #vipManager(plan: InstancePlan): VipManager {
    const garp = this.#garp === undefined ? { ...plan.garp, intervalMs: Math.max(plan.garp.intervalMs, MIN_GARP_SPACING_MS) } : plan.garp;
    return new VipManager({
      runner: this.#runner, vips: plan.vips, garp, log: (l) => this.#log('warn', `(${plan.name}) ${l}`),
      ...(this.#ipBatch === undefined ? {} : { ipExec: this.#ipBatch }),
      ...(this.#garp === undefined ? {} : { garpSender: this.#garp }),
    });
  }

  #notifyQueue(): NotifyQueue {
    if (this.#notify === undefined) throw new Error('notify queue not created');
    return this.#notify;
  }

  async #stopInstance(r: Running, bound: number): Promise<void> {
    const stopped = r.instance.stop(); // sends priority 0 synchronously when MASTER
    for (const l of r.links.values()) l.stop();
    const done = await within(stopped.then(() => true), bound);
    if (done === undefined) this.#log('warn', `(${r.plan.name}) did not stop within ${bound} ms`);
    await r.transport.close();
    await within(r.vip.close(), 1500);
    if (this.#running.get(r.plan.name) === r) this.#running.delete(r.plan.name);
  }

  // -------------------------------------------------------------------------------------------
  // reload

  /** SIGHUP. Serialised: a reload during a reload waits for it and then runs. */
  reload(): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      try {
        return await this.#reload();
      } catch (err) {
        this.#log('error', `reload failed: ${errorMessage(err)}`);
        return { ok: false, time: new Date().toISOString(), diagnostics: [errorMessage(err)], changes: [] };
      }
    };
    const p = (this.#reloading ?? Promise.resolve()).then(run, run);
    this.#reloading = p;
    return p;
  }

  async #reload(): Promise<ReloadResult> {
    const time = new Date().toISOString();
    if (this.#stopping !== undefined) return { ok: false, time, diagnostics: ['the agent is stopping'], changes: [] };
    this.#log('info', `reload: reading ${this.#o.configFile}`);
    const loaded = this.#load();
    if (loaded.plans === undefined) {
      this.#log('error', 'reload: the new configuration has errors; keeping the running configuration unchanged');
      const res = { ok: false, time, diagnostics: loaded.diagnostics, changes: [] };
      this.#lastReload = res;
      return res;
    }
    const { config, plans } = loaded;
    const changes: string[] = [];
    const byName = new Map(plans.map((p) => [p.name, p]));
    // 1. removed or identity-changed instances stop first (frees their transport port and VIPs).
    const restart: InstancePlan[] = [];
    for (const [name, r] of [...this.#running]) {
      const next = byName.get(name);
      if (next === undefined) {
        await this.#stopInstance(r, this.#o.stopTimeoutMs ?? 3000);
        changes.push(`${name}: removed (stopped, VIP released)`);
      } else if (next.identity !== r.plan.identity) {
        await this.#stopInstance(r, this.#o.stopTimeoutMs ?? 3000);
        restart.push(next);
        changes.push(`${name}: restarted (${identityDiff(r.plan, next)} changed)`);
      }
    }
    // 2. trackers for the new script set.
    changes.push(...this.#syncTrackers(config, plans));
    this.#notify?.setScripts(notifyScripts(plans));
    // 3. in-place updates.
    for (const plan of plans) {
      const r = this.#running.get(plan.name);
      if (r === undefined || restart.includes(plan)) continue;
      changes.push(...this.#updateInPlace(r, plan));
    }
    // 4. restarts and new instances.
    for (const plan of plans) {
      if (this.#running.has(plan.name)) continue;
      try {
        await this.#startInstance(plan);
        if (!restart.includes(plan)) changes.push(`${plan.name}: added`);
      } catch (err) {
        this.#log('error', `(${plan.name}) cannot start: ${errorMessage(err)}`);
        changes.push(`${plan.name}: cannot start: ${errorMessage(err)}`);
      }
    }
    this.#startTrackers();
    for (const c of changes) this.#log('info', `reload: ${c}`);
    if (changes.length === 0) this.#log('info', 'reload: no change');
    const res: ReloadResult = { ok: true, time, diagnostics: loaded.diagnostics, changes };
    this.#lastReload = res;
    return res;
  }

  #updateInPlace(r: Running, plan: InstancePlan): string[] {
    const out: string[] = [];
    const old = r.plan;
    const inst = r.instance;
    const name = plan.name;
    const p0 = old.params;
    const p1 = plan.params;
    const paramsChanged =
      p0.priority !== p1.priority || p0.advertIntervalMs !== p1.advertIntervalMs || p0.nopreempt !== p1.nopreempt ||
      p0.preemptDelayMs !== p1.preemptDelayMs || p0.initialState !== p1.initialState;
    const authChanged = JSON.stringify(authKey(old.auth)) !== JSON.stringify(authKey(plan.auth));
    r.plan = plan;
    if (paramsChanged || authChanged || old.lowerPrioGarpRepeat !== plan.lowerPrioGarpRepeat) {
      const before = inst.state;
      inst.setParams(p1, plan.auth, plan.lowerPrioGarpRepeat);
      if (p0.priority !== p1.priority) {
        out.push(`${name}: priority ${p0.priority} → ${p1.priority}${inst.state === before ? ' (no transition)' : ` (${before.toUpperCase()} → ${inst.state.toUpperCase()})`}`);
      }
      if (p0.advertIntervalMs !== p1.advertIntervalMs) out.push(`${name}: advert_int ${p0.advertIntervalMs} → ${p1.advertIntervalMs} ms`);
      if (p0.nopreempt !== p1.nopreempt || p0.preemptDelayMs !== p1.preemptDelayMs) out.push(`${name}: preempt settings updated`);
      if (authChanged) out.push(`${name}: authentication updated`);
    }
    // Tracks: removed → neutral and hidden; added or re-weighted → current state with new weight.
    const oldTracks = new Map([...old.scripts.map((s) => [s.track, s.weight] as const), ...old.interfaces.map((i) => [i.track, i.weight] as const)]);
    const newTracks = new Map([...plan.scripts.map((s) => [s.track, s.weight] as const), ...plan.interfaces.map((i) => [i.track, i.weight] as const)]);
    for (const t of oldTracks.keys()) {
      if (!newTracks.has(t)) {
        inst.removeTrack(t);
        out.push(`${name}: track ${t} removed`);
      }
    }
    const pollMs = Math.max(10, Math.min(100, p1.advertIntervalMs));
    for (const i of old.interfaces) {
      if (!plan.interfaces.some((x) => x.iface === i.iface)) {
        r.links.get(i.iface)?.stop();
        r.links.delete(i.iface);
      }
    }
    for (const i of plan.interfaces) {
      if (!r.links.has(i.iface)) {
        const w = this.#interfaceWatch(name, i.iface, pollMs, () => inst);
        r.links.set(i.iface, w);
        w.start();
      }
    }
    for (const s of plan.scripts) {
      const was = oldTracks.get(s.track);
      const wasReverse = old.scripts.find((x) => x.track === s.track)?.reverse;
      if (was === s.weight && wasReverse === s.reverse) continue;
      inst.addTrack(s.track, this.#scriptOk(s.script.name, s.reverse, !s.script.initFail), s.weight);
      out.push(was === undefined ? `${name}: track ${s.track} added` : `${name}: track ${s.track} weight ${was} → ${s.weight}`);
    }
    for (const i of plan.interfaces) {
      const was = oldTracks.get(i.track);
      const wasReverse = old.interfaces.find((x) => x.track === i.track)?.reverse;
      if (was === i.weight && wasReverse === i.reverse) continue;
      inst.addTrack(i.track, trackOk(r.links.get(i.iface)?.up ?? false, i.reverse), i.weight);
      out.push(was === undefined ? `${name}: track ${i.track} added` : `${name}: track ${i.track} weight ${was} → ${i.weight}`);
    }
    if (old.trackPrimary !== plan.trackPrimary) {
      if (plan.trackPrimary) {
        const w = this.#watchLink(plan.transport.iface, pollMs, (up, reason) => {
          this.#log(up ? 'info' : 'warn', `(${name}) interface ${reason}`);
          inst.interfaceChanged('', up);
        });
        r.links.set('', w);
        w.start();
        if (!w.up) inst.interfaceChanged('', false);
      } else {
        r.links.get('')?.stop();
        r.links.delete('');
        inst.interfaceChanged('', true);
      }
      out.push(`${name}: dont_track_primary ${plan.trackPrimary ? 'removed' : 'set'}`);
    }
    if (JSON.stringify(old.notify) !== JSON.stringify(plan.notify)) out.push(`${name}: notify scripts updated`);
    if (JSON.stringify(old.garp) !== JSON.stringify(plan.garp)) {
      const vip = this.#vipManager(plan);
      const oldVip = r.vip;
      r.vip = vip;
      inst.setVip(vip);
      void oldVip.close();
      out.push(`${name}: GARP settings updated`);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // control handler

  async status(): Promise<DaemonStatus> {
    const instances: InstanceStatus[] = [];
    for (const r of this.#running.values()) instances.push(await r.instance.status());
    return {
      pid: process.pid,
      configFile: this.#o.configFile,
      startedAt: this.#startedAt.toISOString(),
      uptimeMs: Date.now() - this.#startedAt.getTime(),
      lastReload: this.#lastReload,
      instances,
    };
  }

  /** `hactl switchover [--instance NAME]`: that instance, or every instance this node is MASTER of. */
  async switchover(name: string | undefined): Promise<SwitchoverResponse> {
    if (this.#stopping !== undefined) throw new ControlError('ERR_HA_CONTROL_FAILED', 'the agent is stopping');
    let targets: Running[];
    if (name !== undefined) {
      const r = this.#running.get(name);
      if (r === undefined) {
        throw new ControlError('ERR_HA_CONTROL_BAD_ARG', `no vrrp_instance '${name}' (have: ${[...this.#running.keys()].join(', ') || 'none'})`);
      }
      targets = [r];
    } else {
      targets = [...this.#running.values()].filter((r) => r.instance.state === 'master');
      if (targets.length === 0) {
        return {
          results: [...this.#running.values()].map((r) => ({
            instance: r.plan.name, outcome: 'refused', reason: 'not-master',
            message: `this node is ${r.instance.state.toUpperCase()} for ${r.plan.name}, not MASTER`,
          })),
        };
      }
    }
    const results: SwitchoverResult[] = [];
    for (const r of targets) {
      const res = await r.instance.switchover();
      this.#log(res.outcome === 'done' ? 'info' : 'warn', `(${r.plan.name}) switchover ${res.outcome}: ${res.message}`);
      results.push(res);
    }
    return { results };
  }

  // -------------------------------------------------------------------------------------------
  // stop

  /**
   * SIGTERM: every instance runs the fsm's shutdown (a master sends priority 0 and releases its VIP),
   * notify_stop scripts run, then everything closes. Bounded by stopTimeoutMs (+ a short grace for
   * arping processes); safe after a partial start and idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const bound = this.#o.stopTimeoutMs ?? 3000;
    const started = Date.now();
    // Instances first: each master's priority-0 advert leaves synchronously inside stop(), before
    // any tracker is killed or a VIP released, so the peer's Skew_Time starts now.
    const stopping = [...this.#running.values()].map((r) => this.#stopInstance(r, bound));
    for (const e of this.#trackers.values()) void e.tracker?.stop();
    await Promise.all(stopping);
    await this.#ipBatch?.close();
    await this.#garp?.close();
    const left = Math.max(100, bound - (Date.now() - started));
    if (this.#notify !== undefined && (await within(this.#notify.close().then(() => true), left)) === undefined) {
      this.#log('warn', `notify scripts still running after ${bound} ms; not waiting for them`);
    }
    await this.#control?.close();
    await this.#spawner?.close();
    this.#trackers.clear();
    this.#log('info', 'stopped');
  }
}

function notifyScripts(plans: readonly InstancePlan[]): Record<string, NotifyScripts> {
  return Object.fromEntries(plans.map((p) => [p.name, p.notify]));
}

function authKey(a: InstancePlan['auth']): unknown {
  return a.type === 'hmac' ? { type: 'hmac', key: a.key.toString('base64') } : a;
}

function identityDiff(a: InstancePlan, b: InstancePlan): string {
  const keys = Object.keys(b.identityParts).filter((k) => a.identityParts[k] !== b.identityParts[k]);
  return keys.length === 0 ? 'identity' : keys.join(', ');
}
