// Read buffers for sockets read with `onread` (HAProxy's buffer pool, in spirit).
//
// A socket read with `onread` keeps the buffer it was given until its next read, so a buffer
// cannot be shared between sockets: one socket's read would land on bytes another socket's
// pending write still holds. Each connection therefore owns a buffer, taken from this pool when
// it connects and given back when it ends. Bytes read are handled synchronously in the read
// callback; when the write of them to the peer did not complete at once, the peer socket keeps a
// view of them, so the connection lends its buffer to the session (until that peer socket has
// flushed, checked on the next read and on 'drain') and reads on into another one from the pool.
// A buffer lent to a session that ends is dropped, not recycled: a cancelled write may still
// reference it.
//
// Without the pool, each new connection and each pending write cost a fresh 64 KiB backing store:
// at thousands of connections per second, or on 1 MiB bodies, V8 answered the external memory
// with major GCs, and RSS grew past 200 MiB.

/** What a session keeps: the buffers its pending writes still reference. */
export interface Borrower {
  lent: Buffer[] | null;
}

export class ReadBuffers {
  readonly size: number;
  readonly #maxFree: number;
  readonly #free: Buffer[] = [];

  constructor(size: number, maxFree = 256) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  /** A buffer for a new connection, or for one whose buffer was lent. */
  acquire(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** A connection ended and nothing references `buf` any more. */
  release(buf: Buffer): void {
    if (this.#free.length < this.#maxFree && buf.length === this.size) this.#free.push(buf);
  }

  /** `buf` is referenced by a pending write of `b`: keep it aside; returns the replacement. */
  lend(b: Borrower, buf: Buffer): Buffer {
    (b.lent ??= []).push(buf);
    return this.acquire();
  }

  /** `b`'s pending writes completed: its lent buffers come back to the free list. */
  giveBack(b: Borrower): void {
    const lent = b.lent;
    if (lent === null) return;
    b.lent = null;
    for (const buf of lent) this.release(buf);
  }

  /** Buffers on the free list (tests). */
  get freeCount(): number {
    return this.#free.length;
  }
}

/** Size of a read buffer: a whole 64 KiB socket read (1 MiB bodies cost 4× the reads at 16 KiB). */
export const READ_SIZE = 64 * 1024;

/** The one pool of the data path: tcp and http sessions hand buffers back to the same free list. */
export const readBuffers = new ReadBuffers(READ_SIZE, 32);
