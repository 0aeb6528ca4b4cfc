/**
 * What a balance algorithm sees (DESIGN.md principle 3): servers reduced to the few numbers that
 * selection needs, an optional hash key, and notifications from the pool. Algorithms never touch
 * sockets, timers or configuration; the proxy drives everything through {@link Pool}.
 */

/**
 * The request facts the hashing algorithms read. The proxy keeps one object per connection (or a
 * reusable one) and fills it before calling `pick`, so nothing is allocated per pick.
 * Strings carry one byte per char (HTTP heads decoded as latin1), which is what HAProxy hashes.
 */
export interface HashKey {
  /** Client address as Node reports it: "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1". */
  src?: string | undefined;
  /** The request target exactly as received (origin form "/p?q" or absolute form). */
  uri?: string | undefined;
  /**
   * Raw value of the first occurrence of a request header, the name given in lower case, or
   * undefined when absent. The `hdr()` algorithm itself keeps only the first comma-separated value.
   */
  header?(lowerName: string): string | undefined;
}

/** The read-only view of a server that the proxy and the algorithms rely on. */
export interface ServerView {
  /** Numeric id (HAProxy's `id` keyword, otherwise the position in the backend from 1). */
  readonly id: number;
  readonly name: string;
  /** Current user weight, 0..256; 0 means "no new traffic". */
  readonly weight: number;
  /** Operational state from the pool: false for DOWN, MAINT and DRAIN. */
  readonly usable: boolean;
  readonly backup: boolean;
  /** Connections currently assigned to the server. */
  readonly conns: number;
  /** Per-server connection limit; 0 = none. */
  readonly maxconn: number;
}

/** How a server is declared. */
export interface ServerInit<T = unknown> {
  name: string;
  /** Explicit `id`; defaults to the declaration position counted from 1. */
  id?: number;
  /** 0..256, default 1 as in HAProxy. */
  weight?: number;
  backup?: boolean;
  maxconn?: number;
  /** Initial operational state; default true. */
  usable?: boolean;
  /** Anything the proxy wants to find again on the picked server (address, pools...). */
  data?: T;
}

export const MAX_WEIGHT = 256;

/**
 * One server. Fields are public for speed on the hot path, but only {@link Pool} mutates the
 * first group; the `lb*` slots belong to whichever algorithm instance holds the server (a server
 * is in exactly one: the active set's or the backup set's), like HAProxy's per-server lb fields.
 */
export class Server<T = unknown> implements ServerView {
  readonly id: number;
  readonly name: string;
  readonly backup: boolean;
  /** Declaration order from 0. */
  readonly index: number;
  /** The configured weight, the only non-zero value static algorithms accept at runtime. */
  readonly initialWeight: number;
  readonly data: T | undefined;
  weight: number;
  usable: boolean;
  conns = 0;
  maxconn: number;

  /** Position in the algorithm's heap, -1 when not in it. */
  lbPos = -1;
  /** Heap key (virtual time for roundrobin). */
  lbKey = 0;
  /** Virtual time at which the server (re)joined the roundrobin schedule. */
  lbBase = 0;
  /** Picks since lbBase (roundrobin) or the tie-breaking sequence (leastconn). */
  lbCount = 0;
  lbSeq = 0;
  /** Taken out of the heap because it reached maxconn; put back on release. */
  lbParked = false;
  /** Cached consistent-hash node keys, index i = node i (see ring.ts). */
  lbNodes: Uint32Array | undefined = undefined;

  constructor(init: ServerInit<T>, index: number) {
    this.index = index;
    this.id = init.id ?? index + 1;
    this.name = init.name;
    this.backup = init.backup ?? false;
    this.initialWeight = init.weight ?? 1;
    this.weight = this.initialWeight;
    this.maxconn = init.maxconn ?? 0;
    this.usable = init.usable ?? true;
    this.data = init.data;
  }

  /** May receive new traffic: operational and with a non-zero weight. */
  get eligible(): boolean {
    return this.usable && this.weight > 0;
  }

  /** Reached its maxconn: HAProxy would queue rather than send it more. */
  get full(): boolean {
    return this.maxconn > 0 && this.conns >= this.maxconn;
  }
}

/**
 * A selection algorithm over one set of servers (the actives or the backups of a backend).
 * It is built knowing every server of its set and their current state, then kept up to date
 * incrementally by the pool. Notifications only concern servers of its own set.
 */
export interface LbAlgorithm {
  readonly name: string;
  /** True when any runtime weight is honoured; false when only 0 and the initial weight are. */
  readonly dynamic: boolean;
  /**
   * Choose an eligible server that is not full. `avoid` is a preference (the server a retry just
   * failed on): it is returned only when nothing else qualifies. Returns undefined when every
   * eligible server is full or there is none; the pool tells those apart with `hasUsable()`.
   */
  pick(key: HashKey | undefined, avoid: Server | undefined): Server | undefined;
  /** The server became eligible (operational with weight > 0). */
  serverUp(s: Server): void;
  /** The server stopped being eligible. */
  serverDown(s: Server): void;
  /** An eligible server's weight changed from one non-zero value to another. */
  weightChanged(s: Server, oldWeight: number): void;
  /** s.conns was just incremented. */
  connTaken(s: Server): void;
  /** s.conns was just decremented. */
  connReleased(s: Server): void;
}

/** What every algorithm is built from. */
export interface AlgorithmContext {
  /** Every server of the backend (actives and backups), in declaration order. */
  readonly allServers: readonly Server[];
  /** Source of uniform numbers in [0, 1): Math.random unless a test injects its own. */
  readonly random: () => number;
}

export type AlgorithmFactory = (servers: readonly Server[], ctx: AlgorithmContext) => LbAlgorithm;
