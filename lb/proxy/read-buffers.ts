// Read buffers for server connections read with `onread` (HAProxy's buffer pool, in spirit).
//
// Every server socket of a proxy mode reads into the same buffer: its bytes are handled
// synchronously in the read callback, so the next read of any socket may reuse it. The exception
// is a write to the client that did not complete at once: the client socket keeps a view of the
// bytes until it flushes. Then the current buffer is lent to that session and another one (from
// the free list, or new) becomes current. The session gives its lent buffers back once its
// client socket has nothing pending (checked on the next read and on 'drain'). A buffer lent to
// a session that ends is dropped, not recycled: a cancelled write may still reference it.
//
// Without the pool, each pending write cost a fresh 64 KiB backing store: on 1 MiB bodies that is
// ~1 GB/s of external memory for V8 to collect, RSS over 200 MiB and major GCs.

/** What a session keeps: the buffers its pending client writes still reference. */
export interface Borrower {
  lent: Buffer[] | null;
}

export class ReadBuffers {
  readonly size: number;
  readonly #maxFree: number;
  readonly #free: Buffer[] = [];
  /** Where the next read of any server socket goes. */
  current: Buffer;

  constructor(size: number, maxFree = 64) {
    this.size = size;
    this.#maxFree = maxFree;
    this.current = Buffer.allocUnsafeSlow(size);
  }

  /** The current buffer is referenced by a pending write of `b`: lend it, switch to another. */
  lend(b: Borrower): void {
    (b.lent ??= []).push(this.current);
    this.current = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** `b`'s client socket flushed everything: its lent buffers come back to the free list. */
  giveBack(b: Borrower): void {
    const lent = b.lent;
    if (lent === null) return;
    b.lent = null;
    for (const buf of lent) if (this.#free.length < this.#maxFree) this.#free.push(buf);
  }

  /** Buffers on the free list (tests). */
  get freeCount(): number {
    return this.#free.length;
  }
}
