import { fullHash, type HashFn } from './hash.ts';
import { headerHash, sourceHash, uriHash, urlParamHash, type UriKeyOptions } from './keys.ts';
import { WeightMap } from './map.ts';
import { Ring } from './ring.ts';
import type { AlgorithmContext, HashKey, LbAlgorithm, Server } from './types.ts';

/** What is hashed. */
export type HashKeySpec =
  | { readonly kind: 'source' }
  | { readonly kind: 'uri'; readonly uri: UriKeyOptions }
  | { readonly kind: 'url_param'; readonly param: string }
  | { readonly kind: 'hdr'; readonly header: string; readonly useDomainOnly: boolean };

/** `hash-type <method> [<function>] [avalanche]`, resolved. */
export interface HashTypeSpec {
  readonly method: 'map-based' | 'consistent';
  readonly fn: HashFn;
  readonly fnName: string;
  readonly avalanche: boolean;
}

const SOURCE = 0;
const URI = 1;
const URL_PARAM = 2;
const HDR = 3;

/**
 * `source`, `uri`, `url_param` and `hdr()` over either HAProxy's static map (map-based:
 * server = map[hash mod total weight], static weights) or the consistent-hash ring (dynamic
 * weights, minimal remapping). An absent key falls back to round robin over the same table.
 * Picks are O(1) (map) or O(log points) (ring) plus the key scan.
 */
export class HashAlgorithm implements LbAlgorithm {
  readonly name: string;
  readonly dynamic: boolean;
  readonly #map: WeightMap | undefined;
  readonly #ring: Ring | undefined;
  readonly #kind: number;
  readonly #fn: HashFn;
  readonly #avalanche: boolean;
  readonly #consistent: boolean;
  readonly #uri: UriKeyOptions | undefined;
  readonly #name: string;
  readonly #domainOnly: boolean;

  constructor(servers: readonly Server[], ctx: AlgorithmContext, key: HashKeySpec, type: HashTypeSpec) {
    this.name = key.kind;
    this.#consistent = type.method === 'consistent';
    this.dynamic = this.#consistent;
    if (this.#consistent) this.#ring = new Ring(servers);
    else this.#map = new WeightMap(servers, ctx.allServers);
    this.#fn = type.fn;
    this.#avalanche = type.avalanche;
    this.#uri = undefined;
    this.#name = '';
    this.#domainOnly = false;
    switch (key.kind) {
      case 'source':
        this.#kind = SOURCE;
        break;
      case 'uri':
        this.#kind = URI;
        this.#uri = key.uri;
        break;
      case 'url_param':
        this.#kind = URL_PARAM;
        this.#name = key.param;
        break;
      case 'hdr':
        this.#kind = HDR;
        this.#name = key.header.toLowerCase();
        this.#domainOnly = key.useDomainOnly;
        break;
    }
  }

  pick(key: HashKey | undefined, avoid: Server | undefined): Server | undefined {
    const h = key === undefined ? -1 : this.hashOf(key);
    if (this.#ring !== undefined) return h < 0 ? this.#ring.next(avoid) : this.#ring.lookup(h, avoid);
    const map = this.#map!;
    return h < 0 ? map.nextRr(avoid) : map.lookup(h, avoid);
  }

  /** The final 32-bit hash HAProxy would place on its map or ring, or -1 when the key is absent. */
  hashOf(key: HashKey): number {
    let h: number;
    switch (this.#kind) {
      case SOURCE:
        if (key.src === undefined) return -1;
        h = sourceHash(key.src);
        // HAProxy hashes addresses without the configured function; only consistent hashing
        // mixes them, whatever the modifier says.
        if (h < 0) return -1;
        return this.#consistent ? fullHash(h) : h;
      case URI:
        if (key.uri === undefined) return -1;
        h = uriHash(key.uri, this.#uri!, this.#fn);
        break;
      case URL_PARAM:
        if (key.uri === undefined) return -1;
        h = urlParamHash(key.uri, this.#name, this.#fn);
        break;
      default: {
        const v = key.header?.(this.#name);
        if (v === undefined) return -1;
        h = headerHash(v, this.#domainOnly, this.#fn);
      }
    }
    if (h < 0) return -1;
    return this.#avalanche ? fullHash(h) : h;
  }

  serverUp(): void {
    this.#changed();
  }

  serverDown(): void {
    this.#changed();
  }

  weightChanged(): void {
    this.#changed();
  }

  connTaken(): void {}

  connReleased(): void {}

  #changed(): void {
    this.#map?.invalidate();
    this.#ring?.invalidate();
  }
}
