// The scheduler's queue: a binary min-heap of checks on (due, seq). The keys live in typed arrays
// parallel to the items, and sifting never touches an item: it compares contiguous numbers and
// moves pointers. Loading `due` from each Task instead (a boxed double behind the object) and
// writing back its heap index cost a cache miss or two per level: with 1,000 servers at
// `inter 1s`, the sift-down of each popped check was the costliest JavaScript of the check path.
// The price: remove() searches (it is rare: a server leaving the configuration).

/** What the heap reads of an item when it is pushed. */
export interface HeapItem {
  readonly due: number;
  /** Unique; orders items of equal `due` (lower first). */
  readonly seq: number;
}

export class DueHeap<T extends HeapItem> {
  readonly #items: T[] = [];
  #dues = new Float64Array(64);
  #seqs = new Float64Array(64);

  get size(): number {
    return this.#items.length;
  }

  /** The item with the smallest (due, seq), left in place. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** The `due` of peek(), Infinity when empty (no item is touched). */
  peekDue(): number {
    return this.#items.length > 0 ? (this.#dues[0] ?? Infinity) : Infinity;
  }

  /** Queues `t` at its current `due` and `seq` (later changes to them are not seen). */
  push(t: T): void {
    const h = this.#items;
    const n = h.length;
    if (n >= this.#dues.length) {
      const d = new Float64Array(this.#dues.length * 2);
      d.set(this.#dues);
      this.#dues = d;
      const s = new Float64Array(this.#seqs.length * 2);
      s.set(this.#seqs);
      this.#seqs = s;
    }
    h.push(t);
    this.#up(n, t, t.due, t.seq);
  }

  /** Removes and returns the smallest item. */
  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  /** Removes `t` if it is queued here (a linear search). */
  remove(t: T): void {
    const i = this.#items.indexOf(t);
    if (i >= 0) this.#removeAt(i);
  }

  has(t: T): boolean {
    return this.#items.includes(t);
  }

  clear(): void {
    this.#items.length = 0;
  }

  #removeAt(i: number): void {
    const h = this.#items;
    const last = h.pop();
    const n = h.length;
    if (last === undefined || i >= n) return;
    const due = this.#dues[n] ?? 0;
    const seq = this.#seqs[n] ?? 0;
    // The last item fills the hole: down if it is larger than the hole's children, else up.
    if (!this.#down(i, last, due, seq)) this.#up(i, last, due, seq);
  }

  /** Places (t, due, seq) at the hole `i` or above it. */
  #up(i: number, t: T, due: number, seq: number): void {
    const h = this.#items;
    const dues = this.#dues;
    const seqs = this.#seqs;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = dues[p] ?? 0;
      const ps = seqs[p] ?? 0;
      if (due > pd || (due === pd && seq > ps)) break;
      const pt = h[p];
      if (pt === undefined) break;
      h[i] = pt;
      dues[i] = pd;
      seqs[i] = ps;
      i = p;
    }
    h[i] = t;
    dues[i] = due;
    seqs[i] = seq;
  }

  /** Places (t, due, seq) at the hole `i` or below it; false (nothing written) when it belongs above `i`. */
  #down(i: number, t: T, due: number, seq: number): boolean {
    const h = this.#items;
    const dues = this.#dues;
    const seqs = this.#seqs;
    const n = h.length;
    if (i > 0) {
      const p = (i - 1) >> 1;
      const pd = dues[p] ?? 0;
      if (due < pd || (due === pd && seq < (seqs[p] ?? 0))) return false;
    }
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      // The smaller child; equal dues go to the lower seq.
      let c = l;
      let cd = dues[l] ?? 0;
      let cs = seqs[l] ?? 0;
      const r = l + 1;
      if (r < n) {
        const rd = dues[r] ?? 0;
        const rs = seqs[r] ?? 0;
        if (rd < cd || (rd === cd && rs < cs)) {
          c = r;
          cd = rd;
          cs = rs;
        }
      }
      if (cd > due || (cd === due && cs > seq)) break;
      const ct = h[c];
      if (ct === undefined) break;
      h[i] = ct;
      dues[i] = cd;
      seqs[i] = cs;
      i = c;
    }
    h[i] = t;
    dues[i] = due;
    seqs[i] = seq;
    return true;
  }
}
