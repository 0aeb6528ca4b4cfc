import type { Server } from './types.ts';

/**
 * A binary min-heap of servers that records each server's position in `lbPos`, so any server can
 * be removed or re-positioned in O(log n) when its key changes. The order is given once at
 * construction (no closure per operation).
 */
export class ServerHeap {
  readonly #items: Server[] = [];
  readonly #less: (a: Server, b: Server) => boolean;

  constructor(less: (a: Server, b: Server) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): Server | undefined {
    return this.#items[0];
  }

  has(s: Server): boolean {
    return s.lbPos >= 0 && this.#items[s.lbPos] === s;
  }

  push(s: Server): void {
    const items = this.#items;
    s.lbPos = items.length;
    items.push(s);
    this.#up(s.lbPos);
  }

  /** Removes and returns the minimum. */
  pop(): Server | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /**
   * The pick loop shared by the heap-ordered algorithms (roundrobin, leastconn, first): the top
   * server with a free slot, any other preferred over `avoid`. Full servers met on the way are
   * popped and parked (`lbParked`: the algorithm re-inserts them when a slot is released).
   * `advance`, when given, moves the picked server's key (its next deadline or sequence); the
   * heap re-sifts it. Returns undefined when no server has a free slot.
   */
  pickFree(avoid: Server | undefined, advance: ((s: Server) => void) | undefined): Server | undefined {
    let held: Server | undefined;
    for (let s = this.peek(); s !== undefined; s = this.peek()) {
      if (s.full) {
        this.pop();
        s.lbParked = true;
      } else if (s === avoid) {
        this.pop();
        held = s;
      } else {
        if (advance !== undefined) {
          advance(s);
          this.update(s);
        }
        if (held !== undefined) this.push(held);
        return s;
      }
    }
    if (held !== undefined) {
      if (advance !== undefined) advance(held);
      this.push(held);
    }
    return held;
  }

  remove(s: Server): void {
    if (!this.has(s)) return;
    const items = this.#items;
    const pos = s.lbPos;
    const last = items.pop()!;
    s.lbPos = -1;
    if (last !== s) {
      items[pos] = last;
      last.lbPos = pos;
      this.#up(pos);
      this.#down(last.lbPos);
    }
  }

  /** Restores the order after s's key changed in either direction. */
  update(s: Server): void {
    if (!this.has(s)) return;
    this.#up(s.lbPos);
    this.#down(s.lbPos);
  }

  #up(pos: number): void {
    const items = this.#items;
    const s = items[pos]!;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = items[parentPos]!;
      if (!this.#less(s, parent)) break;
      items[pos] = parent;
      parent.lbPos = pos;
      pos = parentPos;
    }
    items[pos] = s;
    s.lbPos = pos;
  }

  #down(pos: number): void {
    const items = this.#items;
    const n = items.length;
    const s = items[pos]!;
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = items[l]!;
      if (r < n) {
        const right = items[r]!;
        if (this.#less(right, child)) {
          c = r;
          child = right;
        }
      }
      if (!this.#less(child, s)) break;
      items[pos] = child;
      child.lbPos = pos;
      pos = c;
    }
    items[pos] = s;
    s.lbPos = pos;
  }
}
