import { WeightMap } from './map.ts';
import type { AlgorithmContext, HashKey, LbAlgorithm, Server } from './types.ts';

/**
 * `balance static-rr`: round robin over HAProxy's static weight map (see map.ts). Weights are
 * those of the configuration; at runtime a server can only be set to 0 or back to its configured
 * weight (the pool enforces it), and a server coming up is reinserted as soon as the map is
 * recomputed. Picks are O(1).
 */
export class StaticRr implements LbAlgorithm {
  readonly name: string = 'static-rr';
  readonly dynamic: boolean = false;
  readonly #map: WeightMap;

  constructor(servers: readonly Server[], ctx: AlgorithmContext) {
    this.#map = new WeightMap(servers, ctx.allServers);
  }

  pick(_key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    return this.#map.nextRr(avoid);
  }

  serverUp(): void {
    this.#map.invalidate();
  }

  serverDown(): void {
    this.#map.invalidate();
  }

  weightChanged(): void {
    this.#map.invalidate();
  }

  connTaken(): void {}

  connReleased(): void {}
}
