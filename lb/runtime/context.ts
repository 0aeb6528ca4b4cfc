// What the runtime API (the stats socket CLI) needs from the running proxy. The lead implements
// RuntimeContext over the real runtime; tests implement it over a fake pool. Everything crossing this
// interface is plain data keyed by names, so a master process could one day forward commands to
// workers without sharing objects (DESIGN.md principle 3: small interfaces).

/** Access levels of a CLI connection, lowest first (HAProxy's ACCESS_LVL_USER/OPER/ADMIN). */
export type Level = 'user' | 'operator' | 'admin';

export const LEVELS: readonly Level[] = ['user', 'operator', 'admin'];

export function levelAtLeast(have: Level, need: Level): boolean {
  return LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}

/** HAProxy's server operational states (SRV_ST_*), printed as 0..3 in `show servers state`. */
export type ServerOpState = 'stopped' | 'starting' | 'running' | 'stopping';

/**
 * HAProxy's server admin flags (SRV_ADMF_*): F = forced from the CLI or stats page, I = inherited
 * from a tracked server, C = `disabled` in the configuration, R = DNS resolution failed,
 * H = no hostname resolved yet. `show servers state` prints their bit sum.
 */
export type AdminFlag = 'FMAINT' | 'IMAINT' | 'CMAINT' | 'FDRAIN' | 'IDRAIN' | 'RMAINT' | 'HMAINT';

/** Counter outcome of the last check (HAProxy's CHK_RES_*). */
export type CheckResultKind = 'unknown' | 'neutral' | 'failed' | 'passed' | 'condpass';

export interface CheckView {
  /** `check` (or `agent-check`) is on the server line. */
  readonly configured: boolean;
  /** Not turned off with `disable health|agent`. */
  readonly enabled: boolean;
  /** Checks suspended because the server is in maintenance. */
  readonly paused: boolean;
}

export interface HealthCheckView extends CheckView {
  /** Stats name of the last status: 'INI', 'L4OK', 'L7STS', ... (lb/checks/status.ts names). */
  readonly status: string;
  readonly result: CheckResultKind;
  /** HAProxy's health counter: 0 .. rise+fall-1 (rise+fall-1 when UP and healthy). */
  readonly health: number;
  /** `port` on the server line; 0 when the check uses the server's port. */
  readonly port: number;
  /** `addr` on the server line; absent when the check uses the server's address. */
  readonly addr?: string;
}

export interface AgentCheckView extends CheckView {
  readonly port: number;
  readonly addr?: string;
}

/** A snapshot of one server, as `show servers state` and `get weight` need it. */
export interface RuntimeServer {
  /** `id` on the server line, else its position (1-based) in the backend. */
  readonly id: number;
  readonly name: string;
  /** The id was set with the `id` keyword (HAProxy's SRV_F_FORCED_ID). */
  readonly forcedId: boolean;
  /** Current address (after `set server addr`); '' when none is known yet (fqdn unresolved). */
  readonly addr: string;
  /** Current port; 0 when the server uses the client's port. */
  readonly port: number;
  readonly fqdn?: string;
  readonly useSsl: boolean;
  readonly opState: ServerOpState;
  readonly admin: readonly AdminFlag[];
  /** Current user weight (after `set weight`/`set server weight`/agent), 0..256. */
  readonly uweight: number;
  /** Weight from the configuration. */
  readonly iweight: number;
  /** Epoch milliseconds of the last operational or admin state change. */
  readonly lastChange: number;
  readonly check: HealthCheckView;
  readonly agent: AgentCheckView;
}

/** A proxy with the backend capability (`backend` or `listen`). */
export interface RuntimeBackend {
  readonly id: number;
  readonly name: string;
  readonly forcedId: boolean;
  /**
   * False for algorithms whose weights are fixed at start (static-rr, first, map-based hashing):
   * HAProxy then only accepts a new weight of 0 or the initial weight.
   */
  readonly dynamicWeights: boolean;
  /** In configuration order. */
  readonly servers: readonly RuntimeServer[];
}

/**
 * `show stat` request, as HAProxy's CLI parses it: flags anywhere on the line, and the optional
 * filter `<iid|proxy> <type> <sid>` (all three or none). -1 means "all" for each filter part;
 * typeMask is HAProxy's bit mask: 1 frontends, 2 backends, 4 servers.
 */
export interface StatRequest {
  readonly format: 'csv' | 'typed' | 'json';
  /** `desc`: add field descriptions (typed/json). */
  readonly desc: boolean;
  /** `up`: only servers that are UP. */
  readonly up: boolean;
  /** `no-maint`: hide servers in maintenance. */
  readonly noMaint: boolean;
  readonly proxyId: number;
  readonly typeMask: number;
  readonly serverId: number;
  /** Fill addr, cookie and algo: HAProxy does so for CLI sessions at operator or admin level. */
  readonly legends: boolean;
}

/** `show info` values keyed by HAProxy's field names (lb/runtime/info.ts lists them). */
export type InfoValues = Readonly<Record<string, string | number | bigint | undefined>>;

/**
 * Thrown by a RuntimeContext mutation that cannot be done; the CLI prints `message` (add the
 * trailing '\n' yourself when HAProxy prints an empty line after it, as for most messages).
 */
export class RuntimeCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeCommandError';
  }
}

/**
 * Implemented by the lead over the real runtime. Mutations are synchronous: the CLI answers after
 * they return, so a script running `set server ...; show servers state` sees its own change.
 */
export interface RuntimeContext {
  /** Proxies with the backend capability (backend and listen sections) in configuration order. */
  backends(): readonly RuntimeBackend[];
  /** Id of any proxy (frontends too) by name, for the `show stat <proxy> <type> <sid>` filter. */
  proxyId(name: string): number | undefined;
  /**
   * `set server B/S state ready|drain|maint` and `enable|disable server B/S`, with HAProxy's
   * semantics: ready clears FMAINT and FDRAIN; drain sets FDRAIN and clears FMAINT; maint sets
   * FMAINT and clears FDRAIN. Other flags (CMAINT, IMAINT...) are untouched.
   */
  setServerAdmin(backend: string, server: string, state: 'ready' | 'drain' | 'maint'): void;
  /** Sets the user weight (already validated: 0..256, and 0 or iweight on static backends). */
  setServerWeight(backend: string, server: string, weight: number): void;
  /** `set server B/S addr A [port P]`: A is a literal IPv4/IPv6 address. */
  setServerAddr(backend: string, server: string, addr: string, port?: number): void;
  /** `enable|disable health|agent B/S`: only called for enable when the check is configured. */
  setCheckEnabled(backend: string, server: string, kind: 'health' | 'agent', enabled: boolean): void;
  /** `clear counters` resets max values and rates; `clear counters all` every counter. */
  clearCounters(all: boolean): void;
  /** Live `show info` values; fields it leaves out are filled by lb/runtime/info.ts (see there). */
  info(): InfoValues;
  /** The stats table rendered as `show stat` prints it (lb/stats renderers), ending with '\n'. */
  renderStat(req: StatRequest): string;
  /** The process environment `show env` dumps (usually process.env). */
  env(): Readonly<Record<string, string | undefined>>;
  /** Clock in epoch milliseconds (injected so tests control `srv_time_since_last_change`). */
  now(): number;
}
