import { fullHash } from './hash.ts';
import type { Server } from './types.ts';

/**
 * Nodes per unit of weight: HAProxy's BE_WEIGHT_SCALE, so a weight-1 server has 16 points on the
 * ring and a weight-100 server 1600.
 */
export const NODES_PER_WEIGHT = 16;
/** HAProxy spaces server ids by 256 weights x 16 nodes when numbering ring nodes. */
const ID_STRIDE = 256 * NODES_PER_WEIGHT;

/**
 * HAProxy's consistent-hash ring (`hash-type consistent`, and the draws of `random`).
 *
 * Each eligible server owns weight x 16 points; point i of server `id` sits at
 * fullHash(id x 4096 + i), so a server keeps its points whatever happens to the others: when one
 * of N servers leaves, only the keys that were on its points move (about 1/N of them), and weight
 * changes add or remove points at the end of its list. A key hash h goes to the closest point,
 * looking both ways round the ring (ties to the point before), as HAProxy does.
 *
 * Points live in two parallel sorted arrays; lookups are a binary search. The arrays are rebuilt
 * lazily at the next lookup after a change, in O(P log P) for P points; per-server point keys are
 * cached so rebuilding does not rehash.
 */
export class Ring {
  #keys = new Uint32Array(0);
  #owners: Server[] = [];
  #dirty = true;
  /** Cursor for the round-robin fallback walk. */
  #cursor = 0;
  readonly #servers: readonly Server[];

  constructor(servers: readonly Server[]) {
    this.#servers = servers;
  }

  invalidate(): void {
    this.#dirty = true;
  }

  /** Number of points; refreshes the ring first. */
  size(): number {
    if (this.#dirty) this.#rebuild();
    return this.#keys.length;
  }

  /** The server owning the point closest to h, or undefined on an empty ring. */
  closest(h: number): Server | undefined {
    const n = this.size();
    if (n === 0) return undefined;
    return this.#owners[this.#closestIndex(h, n)];
  }

  /**
   * The closest eligible, non-full server to h, walking forward round the ring when the closest
   * one is full or is `avoid` (returned only if it is the sole candidate).
   */
  lookup(h: number, avoid: Server | undefined): Server | undefined {
    const n = this.size();
    if (n === 0) return undefined;
    const i = this.#walk(this.#closestIndex(h, n), n, avoid);
    return i < 0 ? undefined : this.#owners[i];
  }

  /** Round robin over the points (weighted by their count), for keys that are absent. */
  next(avoid: Server | undefined): Server | undefined {
    const n = this.size();
    if (n === 0) return undefined;
    const i = this.#walk(this.#cursor >= n ? 0 : this.#cursor, n, avoid);
    if (i < 0) return undefined;
    this.#cursor = i + 1;
    return this.#owners[i];
  }

  /** Index of the first usable point from i on (avoid's only as a last resort), or -1. */
  #walk(i: number, n: number, avoid: Server | undefined): number {
    const owners = this.#owners;
    let avoided = -1;
    for (let k = 0; k < n; k++) {
      const s = owners[i]!;
      if (!s.full) {
        if (s !== avoid) return i;
        if (avoided < 0) avoided = i;
      }
      i = i + 1 === n ? 0 : i + 1;
    }
    return avoided;
  }

  #closestIndex(h: number, n: number): number {
    const keys = this.#keys;
    // First point with key >= h (binary search), wrapping to 0 past the end.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const next = lo === n ? 0 : lo;
    const prev = next === 0 ? n - 1 : next - 1;
    // Distances measured round the ring in unsigned 32-bit arithmetic.
    const dp = (h - keys[prev]!) >>> 0;
    const dn = (keys[next]! - h) >>> 0;
    return dp <= dn ? prev : next;
  }

  #rebuild(): void {
    this.#dirty = false;
    const live: Server[] = [];
    let total = 0;
    for (const s of this.#servers) {
      if (!s.eligible) continue;
      live.push(s);
      total += s.weight * NODES_PER_WEIGHT;
    }
    // Sort (key, owner) pairs packed into one float64: key x 2^20 + owner index is exact below
    // 2^52, and ties between equal keys fall to the earlier-declared server.
    const packed = new Float64Array(total);
    let p = 0;
    for (let o = 0; o < live.length; o++) {
      const s = live[o]!;
      const count = s.weight * NODES_PER_WEIGHT;
      const nodes = nodeKeys(s, count);
      for (let i = 0; i < count; i++) packed[p++] = nodes[i]! * 1048576 + o;
    }
    packed.sort();
    const keys = new Uint32Array(total);
    const owners: Server[] = Array.from({ length: total });
    for (let i = 0; i < total; i++) {
      const v = packed[i]!;
      const o = v % 1048576;
      keys[i] = (v - o) / 1048576;
      owners[i] = live[o]!;
    }
    this.#keys = keys;
    this.#owners = owners;
  }
}

/** The first `count` point keys of a server, from its cache (extended when the weight grew). */
function nodeKeys(s: Server, count: number): Uint32Array {
  const cached = s.lbNodes;
  if (cached !== undefined && cached.length >= count) return cached;
  const keys = new Uint32Array(Math.max(count, cached?.length ?? 0));
  const base = Math.imul(s.id, ID_STRIDE);
  for (let i = 0; i < keys.length; i++) keys[i] = fullHash((base + i) >>> 0);
  s.lbNodes = keys;
  return keys;
}
