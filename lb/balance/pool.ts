import { BalanceError } from './errors.ts';
import {
  MAX_WEIGHT,
  Server,
  type AlgorithmContext,
  type AlgorithmFactory,
  type HashKey,
  type LbAlgorithm,
  type ServerInit,
} from './types.ts';

export interface PoolOptions {
  /** `option allbackups`: balance over every usable backup instead of only the first. */
  allbackups?: boolean;
  /** Injected randomness for `random`; Math.random by default. */
  random?: () => number;
}

/**
 * The servers of one backend and the algorithm that picks among them.
 *
 * The pool owns every server state change (up/down, weight, connection counts) and forwards it
 * to the algorithm instance of the server's set: one for the active servers and one for the
 * backups. Backups receive traffic only while no active server is eligible (operational with a
 * non-zero weight); then, as in HAProxy, only the first eligible backup in declaration order is
 * used unless `option allbackups` is set.
 *
 * Hot path: `pick`, `take`, `release` allocate nothing. `pick` returning undefined means either
 * "every eligible server is at its maxconn" (queue the request: `hasUsable()` is true) or "no
 * server can take traffic" (503 at once: `hasUsable()` is false).
 *
 * Known difference: HAProxy's hashing algorithms queue on the hashed server when it is full;
 * here the key moves to the next server of the map or ring instead, so `pick` never returns a
 * full server.
 */
export class Pool<T = unknown> {
  readonly servers: readonly Server<T>[];
  readonly algorithmName: string;
  /** True when `setWeight` accepts any weight, false when only 0 and the configured one. */
  readonly dynamicWeights: boolean;
  readonly #active: LbAlgorithm;
  readonly #backup: LbAlgorithm;
  readonly #backups: readonly Server<T>[];
  readonly #allbackups: boolean;
  readonly #byName = new Map<string, Server<T>>();
  /** Eligible active / backup servers. */
  #activeCount = 0;
  #backupCount = 0;
  /** The first eligible backup by declaration order (the one used without allbackups). */
  #firstBackup: Server<T> | undefined;

  constructor(inits: readonly ServerInit<T>[], factory: AlgorithmFactory, options: PoolOptions = {}) {
    const servers = inits.map((init, i) => {
      const s = new Server<T>(init, i);
      if (!Number.isInteger(s.weight) || s.weight < 0 || s.weight > MAX_WEIGHT) {
        throw new BalanceError('ERR_LB_BALANCE_WEIGHT_RANGE', `server '${s.name}': weight ${s.weight} is not in 0..${MAX_WEIGHT}`);
      }
      this.#byName.set(s.name, s);
      return s;
    });
    this.servers = servers;
    this.#allbackups = options.allbackups ?? false;
    const actives = servers.filter((s) => !s.backup);
    this.#backups = servers.filter((s) => s.backup);
    const ctx: AlgorithmContext = { allServers: servers, random: options.random ?? Math.random };
    this.#active = factory(actives, ctx);
    this.#backup = factory(this.#backups, ctx);
    this.algorithmName = this.#active.name;
    this.dynamicWeights = this.#active.dynamic;
    for (const s of actives) if (s.eligible) this.#activeCount++;
    for (const s of this.#backups) if (s.eligible) this.#backupCount++;
    this.#findFirstBackup();
  }

  byName(name: string): Server<T> | undefined {
    return this.#byName.get(name);
  }

  /**
   * A server for a new connection or request, or undefined (see the class comment). `avoid` is
   * the server a retry just failed on: another one is preferred when there is one.
   */
  pick(key?: HashKey, avoid?: Server<T>): Server<T> | undefined {
    // Algorithms work on untyped servers; their index maps them back to Server<T> for free.
    if (this.#activeCount > 0) return this.#typed(this.#active.pick(key, avoid));
    if (this.#backupCount === 0) return undefined;
    if (this.#allbackups) return this.#typed(this.#backup.pick(key, avoid));
    const b = this.#firstBackup;
    return b === undefined || b.full ? undefined : b;
  }

  /** Whether some server could take traffic if it had a free slot (queue) or none can (503). */
  hasUsable(): boolean {
    return this.#activeCount > 0 || this.#backupCount > 0;
  }

  /** Whether the active servers are serving (false: backups or nothing). */
  usingBackups(): boolean {
    return this.#activeCount === 0 && this.#backupCount > 0;
  }

  /** Operational state change: health checks (UP/DOWN) or admin state (READY vs MAINT/DRAIN). */
  setUsable(s: Server<T>, usable: boolean): void {
    this.#own(s);
    if (s.usable === usable) return;
    const was = s.eligible;
    s.usable = usable;
    this.#eligibilityChanged(s, was);
  }

  /**
   * `set weight`: 0..256. Static algorithms only accept 0 and the configured weight, with
   * HAProxy's refusal; the error carries ERR_LB_BALANCE_STATIC_WEIGHT.
   */
  setWeight(s: Server<T>, weight: number): void {
    this.#own(s);
    if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
      throw new BalanceError('ERR_LB_BALANCE_WEIGHT_RANGE', `weight ${weight} is not an integer in 0..${MAX_WEIGHT}`);
    }
    if (!this.dynamicWeights && weight !== 0 && weight !== s.initialWeight) {
      throw new BalanceError(
        'ERR_LB_BALANCE_STATIC_WEIGHT',
        "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.",
      );
    }
    const old = s.weight;
    if (old === weight) return;
    const was = s.eligible;
    s.weight = weight;
    if (was && s.eligible) this.#algo(s).weightChanged(s, old);
    else this.#eligibilityChanged(s, was);
  }

  /** Counts a connection on s (call as soon as s is chosen, before connecting). */
  take(s: Server<T>): void {
    s.conns++;
    this.#algo(s).connTaken(s);
  }

  /** Uncounts a connection taken on s. */
  release(s: Server<T>): void {
    if (s.conns === 0) return;
    s.conns--;
    this.#algo(s).connReleased(s);
  }

  /** Changes a server's maxconn (0 = none); a server that gained room becomes pickable again. */
  setMaxconn(s: Server<T>, maxconn: number): void {
    this.#own(s);
    s.maxconn = maxconn;
    // Algorithms re-check parked servers when a connection is released; this is the same event.
    this.#algo(s).connReleased(s);
  }

  #typed(s: Server | undefined): Server<T> | undefined {
    return s === undefined ? undefined : this.servers[s.index];
  }

  #algo(s: Server<T>): LbAlgorithm {
    return s.backup ? this.#backup : this.#active;
  }

  #eligibilityChanged(s: Server<T>, was: boolean): void {
    const now = s.eligible;
    if (was === now) return;
    const delta = now ? 1 : -1;
    if (s.backup) {
      this.#backupCount += delta;
      this.#findFirstBackup();
    } else {
      this.#activeCount += delta;
    }
    if (now) this.#algo(s).serverUp(s);
    else this.#algo(s).serverDown(s);
  }

  #findFirstBackup(): void {
    this.#firstBackup = undefined;
    for (const b of this.#backups) {
      if (b.eligible) {
        this.#firstBackup = b;
        return;
      }
    }
  }

  #own(s: Server<T>): void {
    if (this.servers[s.index] !== s) {
      throw new BalanceError('ERR_LB_BALANCE_FOREIGN_SERVER', `server '${s.name}' does not belong to this pool`);
    }
  }
}
