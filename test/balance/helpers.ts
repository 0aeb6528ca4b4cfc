/** A fake pool builder for the balance tests: servers named s1..sN with the given weights. */
import { algorithmFactory, parseBalance, parseHashType } from '../../lb/balance/registry.ts';
import { Pool, type PoolOptions } from '../../lb/balance/pool.ts';
import type { HashKey, ServerInit } from '../../lb/balance/types.ts';

export function makePool(
  balance: string,
  servers: ReadonlyArray<number | Partial<ServerInit>>,
  opts: PoolOptions & { hashType?: string } = {},
): Pool {
  const spec = parseBalance(balance.split(' '));
  if (!spec.ok) throw new Error(spec.error);
  const ht = parseHashType((opts.hashType ?? 'map-based').split(' '));
  if (!ht.ok) throw new Error(ht.error);
  const inits: ServerInit[] = servers.map((s, i) =>
    typeof s === 'number' ? { name: `s${i + 1}`, weight: s } : { name: `s${i + 1}`, ...s },
  );
  return new Pool(inits, algorithmFactory(spec.value, ht.value), opts);
}

/** Names of n successive picks (undefined shown as '-'). */
export function picks(pool: Pool, n: number, k?: HashKey): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pool.pick(k)?.name ?? '-');
  return out;
}

export function counts(names: readonly string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of names) c[n] = (c[n] ?? 0) + 1;
  return c;
}

/** A deterministic PRNG (mulberry32) so random-based tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function key(k: { uri?: string; src?: string; headers?: Record<string, string> }): HashKey {
  return { uri: k.uri, src: k.src, header: (n: string) => k.headers?.[n] };
}
