import { ServerHeap } from './heap.ts';
import type { HashKey, LbAlgorithm, Server } from './types.ts';

/**
 * `balance leastconn`: the server with the lowest conns/weight, round robin among equals.
 *
 * A heap ordered by conns/weight (compared exactly by cross-multiplication, so 1/3 equals 2/6),
 * then by a sequence number renewed whenever a server is picked or its load changes: among equally
 * loaded servers the one that waited longest goes first, which is HAProxy's "round-robin within
 * groups of servers of the same load". Full servers are parked until a connection is released.
 */
export class LeastConn implements LbAlgorithm {
  readonly name: string = 'leastconn';
  readonly dynamic: boolean = true;
  readonly #heap = new ServerHeap(lcLess);
  #seq = 0;

  constructor(servers: readonly Server[]) {
    for (const s of servers) {
      s.lbPos = -1;
      s.lbParked = false;
      if (s.eligible) this.#insert(s);
    }
  }

  pick(_key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    return this.#heap.pickFree(avoid, this.#stamp);
  }

  /** Ties on load go round robin: the picked server moves behind its equals. */
  readonly #stamp = (s: Server): void => {
    s.lbSeq = ++this.#seq;
  };


  serverUp(s: Server): void {
    if (!this.#heap.has(s)) this.#insert(s);
  }

  serverDown(s: Server): void {
    this.#heap.remove(s);
    s.lbParked = false;
  }

  weightChanged(s: Server): void {
    this.#heap.update(s);
  }

  connTaken(s: Server): void {
    this.#loadChanged(s);
  }

  connReleased(s: Server): void {
    if (s.lbParked) {
      if (!s.full && s.eligible) {
        s.lbParked = false;
        this.#insert(s);
      }
      return;
    }
    this.#loadChanged(s);
  }

  #loadChanged(s: Server): void {
    if (this.#heap.has(s)) {
      s.lbSeq = ++this.#seq;
      this.#heap.update(s);
    }
  }

  #insert(s: Server): void {
    s.lbSeq = ++this.#seq;
    this.#heap.push(s);
  }
}

function lcLess(a: Server, b: Server): boolean {
  // conns/weight compared without division; weights are > 0 for servers in the heap.
  const l = a.conns * b.weight;
  const r = b.conns * a.weight;
  return l < r || (l === r && a.lbSeq < b.lbSeq);
}
