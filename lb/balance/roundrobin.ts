import { ServerHeap } from './heap.ts';
import type { HashKey, LbAlgorithm, Server } from './types.ts';

/**
 * `balance roundrobin`: weighted, smooth and dynamic, with O(log n) picks.
 *
 * Each server has a virtual deadline; the earliest one is served, ties going to the lower id so
 * equal weights give 1,2,3,1,2,3. After its k-th pick since joining at virtual time `base`, a
 * server of weight w is due again at base + (k + ½)/w. Deadlines at half steps (the Sainte-Laguë
 * divisor sequence) interleave servers instead of serving them in bursts: 100/100/50 gives
 * 1,2,3,1,2 | 1,2,3,1,2..., the light server once per 2.5 rounds. This is the visible behaviour
 * of HAProxy's fwrr and nginx's smooth WRR, but with a heap instead of nginx's O(n) scan.
 * Weight changes and returning servers restart from the current virtual time, so they take
 * effect at once without a burst of "owed" picks. Full servers are parked out of the heap until a
 * connection is released, which keeps picks O(log n) while some servers sit at maxconn.
 */
export class RoundRobin implements LbAlgorithm {
  readonly name: string = 'roundrobin';
  readonly dynamic: boolean = true;
  readonly #heap = new ServerHeap(rrLess);
  /** Virtual time: the deadline of the last pick. */
  #now = 0;

  constructor(servers: readonly Server[]) {
    for (const s of servers) {
      s.lbPos = -1;
      s.lbParked = false;
      if (s.eligible) this.#join(s);
    }
  }

  pick(_key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    return this.#heap.pickFree(avoid, this.#advanceFn);
  }

  readonly #advanceFn = (s: Server): void => {
    this.#advance(s);
  };


  serverUp(s: Server): void {
    if (!this.#heap.has(s)) this.#join(s);
  }

  serverDown(s: Server): void {
    this.#heap.remove(s);
    s.lbParked = false;
  }

  weightChanged(s: Server): void {
    if (this.#heap.has(s)) {
      this.#rebase(s);
      this.#heap.update(s);
    }
  }

  connTaken(): void {}

  connReleased(s: Server): void {
    if (s.lbParked && !s.full && s.eligible) {
      s.lbParked = false;
      this.#join(s);
    }
  }

  #join(s: Server): void {
    this.#rebase(s);
    this.#heap.push(s);
  }

  #rebase(s: Server): void {
    s.lbBase = this.#now;
    s.lbCount = 0;
    s.lbKey = this.#now + 0.5 / s.weight;
  }

  #advance(s: Server): void {
    if (s.lbKey > this.#now) this.#now = s.lbKey;
    s.lbCount++;
    // Recomputed from the count rather than accumulated, so equal weights give bit-identical
    // deadlines and the id tie-break stays exact.
    s.lbKey = s.lbBase + (2 * s.lbCount + 1) / (2 * s.weight);
  }
}

function rrLess(a: Server, b: Server): boolean {
  return a.lbKey < b.lbKey || (a.lbKey === b.lbKey && a.id < b.id);
}
