import type { Server } from './types.ts';

/**
 * HAProxy's static server map, shared by `static-rr` and map-based hashing: an array of
 * `tot` slots (the sum of the eligible servers' reduced weights) where each server appears as
 * many times as its weight, spread evenly. Weights are first divided by their greatest common
 * divisor over the whole backend, so 100/100/50 gives a 5-slot map, not 250; that is what makes
 * `hash % tot` land on the same server as HAProxy.
 *
 * Filling follows HAProxy's documented property (the first declared server wins ties, so with
 * equal weights the map is the declaration order and the first backup comes first): for every
 * slot, each eligible server adds its weight to a score; the server whose score, counted in whole
 * map lengths (rounded down after adding one length), is the largest takes the slot and pays one
 * map length. Building costs O(servers x slots); it happens only when a server goes up or down,
 * lazily at the next pick so a burst of state changes rebuilds once.
 */
export class WeightMap {
  /** Slot → server; length is `tot`. */
  slots: Server[] = [];
  /** The next slot for round robin. */
  #rr = 0;
  readonly #servers: readonly Server[];
  readonly #div: number;
  #dirty = true;

  constructor(servers: readonly Server[], allServers: readonly Server[]) {
    this.#servers = servers;
    this.#div = weightGcd(allServers);
  }

  /** Marks the map stale after an eligibility change. */
  invalidate(): void {
    this.#dirty = true;
  }

  /** Brings the map up to date; returns its length. */
  refresh(): number {
    if (this.#dirty) this.#rebuild();
    return this.slots.length;
  }

  /**
   * Round robin over the map from the last position, skipping full servers and `avoid`
   * (returned only if it is the sole candidate). O(1) unless many slots are full.
   */
  nextRr(avoid: Server | undefined): Server | undefined {
    const tot = this.refresh();
    if (tot === 0) return undefined;
    const slots = this.slots;
    let idx = this.#rr;
    let avoided: Server | undefined;
    let avoidedNext = 0;
    for (let n = 0; n < tot; n++) {
      const s = slots[idx]!;
      idx = idx + 1 === tot ? 0 : idx + 1;
      if (!s.full) {
        if (s !== avoid) {
          this.#rr = idx;
          return s;
        }
        if (avoided === undefined) {
          avoided = s;
          avoidedNext = idx;
        }
      }
    }
    if (avoided !== undefined) this.#rr = avoidedNext;
    return avoided;
  }

  /**
   * The server for hash h: slot h mod tot. If that server is full (or is `avoid`), the next
   * slots are tried in order; HAProxy would instead queue on the hashed server (see the report
   * in the pool's documentation).
   */
  lookup(h: number, avoid: Server | undefined): Server | undefined {
    const tot = this.refresh();
    if (tot === 0) return undefined;
    const slots = this.slots;
    let idx = h % tot;
    let avoided: Server | undefined;
    for (let n = 0; n < tot; n++) {
      const s = slots[idx]!;
      if (!s.full) {
        if (s !== avoid) return s;
        avoided = s;
      }
      idx = idx + 1 === tot ? 0 : idx + 1;
    }
    return avoided;
  }

  #rebuild(): void {
    this.#dirty = false;
    const div = this.#div;
    const live: Server[] = [];
    const w: number[] = [];
    let tot = 0;
    for (const s of this.#servers) {
      if (!s.eligible) continue;
      const ew = Math.max(1, Math.floor(s.weight / div));
      live.push(s);
      w.push(ew);
      tot += ew;
    }
    const slots: Server[] = Array.from({ length: tot });
    const score = new Float64Array(live.length);
    for (let o = 0; o < tot; o++) {
      let best = -1;
      let max = 0;
      for (let i = 0; i < live.length; i++) {
        const sc = score[i]! + w[i]!;
        score[i] = sc;
        // C integer division truncates toward zero; sc + tot is never negative here.
        const v = Math.trunc((sc + tot) / tot);
        if (best < 0 || v > max) {
          max = v;
          best = i;
        }
      }
      slots[o] = live[best]!;
      score[best] = score[best]! - tot;
    }
    this.slots = slots;
    if (this.#rr >= tot) this.#rr = 0;
  }
}

/** Greatest common divisor of the non-zero configured weights (1 when there is none). */
export function weightGcd(servers: readonly Server[]): number {
  let g = 0;
  for (const s of servers) {
    let w = s.initialWeight;
    if (w === 0) continue;
    let a = g;
    while (w !== 0) {
      const t = a % w;
      a = w;
      w = t;
    }
    g = a;
    if (g === 1) break;
  }
  return g === 0 ? 1 : g;
}
