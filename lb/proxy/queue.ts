// The backend queue: connections that found every usable server at its `maxconn` wait here, first
// in first out, until a slot frees up or `timeout queue` expires (HAProxy's pendconn list). A
// doubly linked list so that a waiter leaving early (timeout, client gone) is removed in O(1).

/** Something waiting for a server slot. `dequeued()` is called when it is handed a chance to pick. */
export interface QueueWaiter {
  dequeued(): void;
}

/** Handle of one queued waiter; pass it back to remove() when the waiter gives up. */
export interface QueueEntry {
  readonly waiter: QueueWaiter;
  prev: QueueEntry | null;
  next: QueueEntry | null;
  linked: boolean;
}

export class WaitQueue {
  #head: QueueEntry | null = null;
  #tail: QueueEntry | null = null;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  /** Appends a waiter at the tail. */
  push(waiter: QueueWaiter): QueueEntry {
    const e: QueueEntry = { waiter, prev: this.#tail, next: null, linked: true };
    if (this.#tail === null) this.#head = e;
    else this.#tail.next = e;
    this.#tail = e;
    this.#length++;
    return e;
  }

  /** Removes and returns the oldest waiter, or undefined when empty. */
  shift(): QueueWaiter | undefined {
    const e = this.#head;
    if (e === null) return undefined;
    this.remove(e);
    return e.waiter;
  }

  /** Unlinks an entry; a no-op when it already left the queue. */
  remove(e: QueueEntry): void {
    if (!e.linked) return;
    if (e.prev === null) this.#head = e.next;
    else e.prev.next = e.next;
    if (e.next === null) this.#tail = e.prev;
    else e.next.prev = e.prev;
    e.prev = null;
    e.next = null;
    e.linked = false;
    this.#length--;
  }
}
