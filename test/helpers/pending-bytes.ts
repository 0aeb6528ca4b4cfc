// Bytes received and not consumed yet, for test clients and servers that frame HTTP by hand.
// Appending to a store that grows by doubling stays linear: concatenating on every read made an
// 8 MiB body cost seconds of CPU in the test process, which also runs lb (its timeouts fired).

export class PendingBytes {
  #store = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  #total = 0;

  /** Adds a read; returns the unconsumed bytes (a view, see view()). */
  append(d: Buffer): Buffer {
    this.#total += d.length;
    if (this.#end + d.length > this.#store.length) {
      const live = this.#end - this.#start;
      const need = live + d.length;
      // Compact in place when half the store is enough, else grow (Buffer.copy handles the overlap).
      const next = need <= this.#store.length >> 1 ? this.#store : Buffer.allocUnsafe(Math.max(65536, need * 2));
      this.#store.copy(next, 0, this.#start, this.#end);
      this.#store = next;
      this.#start = 0;
      this.#end = live;
    }
    d.copy(this.#store, this.#end);
    this.#end += d.length;
    return this.view();
  }

  /** The unconsumed bytes: a view into the store, so copy what must outlive the next append. */
  view(): Buffer {
    return this.#store.subarray(this.#start, this.#end);
  }

  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Bytes appended since creation. */
  get total(): number {
    return this.#total;
  }
}
