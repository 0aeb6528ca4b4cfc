import { ServerHeap } from './heap.ts';
import type { HashKey, LbAlgorithm, Server } from './types.ts';

/**
 * `balance first`: the eligible server with the lowest id that still has a free slot under its
 * maxconn; weights are ignored (a weight of 0 still excludes the server, as in HAProxy). A min-heap
 * by id from which full servers are parked until one of their connections is released.
 */
export class First implements LbAlgorithm {
  readonly name: string = 'first';
  readonly dynamic: boolean = true;
  readonly #heap = new ServerHeap(byId);

  constructor(servers: readonly Server[]) {
    for (const s of servers) {
      s.lbPos = -1;
      s.lbParked = false;
      if (s.eligible) this.#heap.push(s);
    }
  }

  pick(_key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    return this.#heap.pickFree(avoid, undefined);
  }


  serverUp(s: Server): void {
    if (!this.#heap.has(s)) this.#heap.push(s);
  }

  serverDown(s: Server): void {
    this.#heap.remove(s);
    s.lbParked = false;
  }

  weightChanged(): void {}

  connTaken(): void {}

  connReleased(s: Server): void {
    if (s.lbParked && !s.full && s.eligible) {
      s.lbParked = false;
      this.#heap.push(s);
    }
  }
}

function byId(a: Server, b: Server): boolean {
  return a.id < b.id;
}
