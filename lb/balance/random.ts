import { Ring } from './ring.ts';
import type { AlgorithmContext, HashKey, LbAlgorithm, Server } from './types.ts';

/**
 * `balance random` / `random(<draws>)`: a random 32-bit key looked up on the consistent-hash
 * ring (so weights count and weight changes apply at once), `draws` times, keeping the least
 * loaded by conns/weight: the power of N random choices, default 2. Each draw that lands on a
 * full server walks forward to the next usable one, so a draw never comes back empty-handed
 * while a usable, non-full server exists.
 */
export class RandomDraws implements LbAlgorithm {
  readonly name: string = 'random';
  readonly dynamic: boolean = true;
  readonly #ring: Ring;
  readonly #draws: number;
  readonly #random: () => number;

  constructor(servers: readonly Server[], ctx: AlgorithmContext, draws: number) {
    this.#ring = new Ring(servers);
    this.#draws = draws;
    this.#random = ctx.random;
  }

  pick(_key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    let best: Server | undefined;
    for (let d = 0; d < this.#draws; d++) {
      const s = this.#ring.lookup((this.#random() * 4294967296) >>> 0, avoid);
      if (s === undefined) return undefined;
      if (
        best === undefined ||
        (s !== avoid && (best === avoid || s.conns * best.weight < best.conns * s.weight))
      ) {
        best = s;
      }
    }
    return best;
  }

  serverUp(): void {
    this.#ring.invalidate();
  }

  serverDown(): void {
    this.#ring.invalidate();
  }

  weightChanged(): void {
    this.#ring.invalidate();
  }

  connTaken(): void {}

  connReleased(): void {}
}
