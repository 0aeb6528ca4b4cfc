// Idle keep-alive connections to one server (HAProxy's per-server idle list), shared by every
// session of the process. A connection enters the pool only after it completed a response that
// allowed reuse, so every pooled connection has proven it supports keep-alive: that is the list
// HAProxy's `http-reuse safe` lets second and later requests of a session use, and `aggressive`
// and `always` let any request use (see canTakeFromPool in http.ts).
//
// - LIFO: the most recently used connection is taken first (warmest, least likely to have been
//   closed by the server's own idle timeout), the oldest ones age out at the bottom.
// - Bounded by `pool-max-conn`, and by need as HAProxy bounds it: a connection is kept idle only
//   while the server's connections in use plus the idle ones stay within the most used at once
//   (over this and the previous purge periods, HAProxy's "estimated need"), always keeping one.
//   With a new client connection per request under `http-reuse safe` (no first request takes an
//   idle connection), the pool then stays small instead of holding up to pool-max-conn sockets
//   that nothing will use. A connection beyond either bound is closed by the caller.
// - Idle connections older than `pool-purge-delay` are closed by one sweep timer per pool that
//   runs only while the pool is not empty (no per-connection timer, nothing per request).
// - A pooled connection that the server closes (FIN, reset) is removed by the owner's socket
//   handlers through remove(); take() also skips anything already destroyed or half-closed, so a
//   request never goes to a connection known to be closing. The remaining race (the server closes
//   just as we write) is handled by the session: one retry on a fresh connection.
// - A connection the pool gives up (full, purged, found half-closed) is closed with closeIdle(): a
//   reset, as haproxy 2.6 does, so no TIME_WAIT stays behind; stop and reload close with a FIN.

/** What the pool needs of a connection: whether it can carry a request, a way to close it, links. */
export interface Poolable<T extends Poolable<T>> {
  /** Open both ways: not destroyed, no FIN from the server, not ended by us. */
  usable(): boolean;
  /** Closes an idle connection the pool gives up (it may call remove(): a no-op once unlinked). */
  closeIdle(): void;
  /** Closes the connection gracefully (stop, reload). */
  destroy(): void;
  poolPrev: T | null;
  poolNext: T | null;
  /** The pool holding it, or null. */
  pool: IdlePool<T> | null;
  /** performance.now() when it entered the pool. */
  idleSince: number;
}

export class IdlePool<T extends Poolable<T>> {
  readonly maxConn: number;
  readonly purgeDelay: number;
  #top: T | null = null;
  #bottom: T | null = null;
  #size = 0;
  #sweep: NodeJS.Timeout | undefined = undefined;
  /** Most connections to the server in use at once in the current purge period. */
  #maxUsed = 0;
  /** HAProxy's estimate of the connections the server needs, updated each purge period. */
  #estNeed = 0;

  constructor(maxConn: number, purgeDelay: number) {
    this.maxConn = maxConn;
    this.purgeDelay = purgeDelay;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Adds an idle connection; false when the pool is full or holds what the server needs (the
   * caller closes it). `usedByOthers`: the server's other connections in use now (-1: unknown,
   * no need check).
   */
  put(c: T, now: number, usedByOthers = -1): boolean {
    if (this.#size >= this.maxConn || !c.usable()) return false;
    if (usedByOthers >= 0) {
      // c itself was in use a moment ago.
      if (usedByOthers + 1 > this.#maxUsed) this.#maxUsed = usedByOthers + 1;
      const need = Math.max(this.#estNeed, this.#maxUsed);
      if (this.#size > 0 && usedByOthers + this.#size + 1 > need) return false;
    }
    c.pool = this;
    c.idleSince = now;
    c.poolPrev = null;
    c.poolNext = this.#top;
    if (this.#top === null) this.#bottom = c;
    else this.#top.poolPrev = c;
    this.#top = c;
    this.#size++;
    if (this.#sweep === undefined && this.purgeDelay > 0) {
      this.#sweep = setInterval(sweepPool, Math.max(100, this.purgeDelay >> 1), this);
      this.#sweep.unref();
    }
    return true;
  }

  /** The most recently pooled connection that is still open, removed from the pool; or undefined. */
  take(): T | undefined {
    for (;;) {
      const c = this.#top;
      if (c === null) return undefined;
      this.remove(c);
      if (c.usable()) return c;
      c.closeIdle();
    }
  }

  /** Unlinks c (closed by the server, purged, or taken). No-op when c is not in this pool. */
  remove(c: T): void {
    if (c.pool !== this) return;
    if (c.poolPrev === null) this.#top = c.poolNext;
    else c.poolPrev.poolNext = c.poolNext;
    if (c.poolNext === null) this.#bottom = c.poolPrev;
    else c.poolNext.poolPrev = c.poolPrev;
    c.poolPrev = null;
    c.poolNext = null;
    c.pool = null;
    this.#size--;
    if (this.#size === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** Closes connections idle for at least purgeDelay (oldest first, from the bottom). */
  purge(now: number): void {
    // A new period: the estimate moves halfway towards the last period's peak, never below it.
    this.#estNeed = Math.max(this.#maxUsed, (this.#estNeed + this.#maxUsed) >> 1);
    this.#maxUsed = 0;
    for (;;) {
      const c = this.#bottom;
      if (c === null || now - c.idleSince < this.purgeDelay) return;
      this.remove(c);
      c.closeIdle();
    }
  }

  /** Closes every idle connection (stop, reload, server removed): with FIN, as haproxy 2.6 on stop. */
  closeAll(): void {
    for (let c = this.take(); c !== undefined; c = this.take()) c.destroy();
  }
}

function sweepPool<T extends Poolable<T>>(p: IdlePool<T>): void {
  p.purge(performance.now());
}
