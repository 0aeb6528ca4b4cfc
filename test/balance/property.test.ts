/**
 * For any sequence of up/down/weight/maxconn changes, takes, releases and picks, on every
 * algorithm and both hash types: pick never returns an ineligible or full server (nor a server
 * of the wrong tier), and returns undefined only when no eligible server has a free slot.
 */
import test from 'ava';
import { array, assert, boolean, constant, integer, oneof, property, record, type Arbitrary } from 'fast-check';
import type { Pool } from '../../lb/balance/pool.ts';
import type { Server } from '../../lb/balance/types.ts';
import { key, makePool, seeded } from './helpers.ts';

const ALGOS: Array<[string, string]> = [
  ['roundrobin', 'map-based'],
  ['static-rr', 'map-based'],
  ['leastconn', 'map-based'],
  ['first', 'map-based'],
  ['random', 'map-based'],
  ['random(3)', 'map-based'],
  ['source', 'map-based'],
  ['source', 'consistent'],
  ['uri', 'map-based'],
  ['uri whole', 'consistent djb2'],
  ['url_param u', 'map-based'],
  ['hdr(X-K)', 'consistent'],
];

type Op =
  | { op: 'pick'; k: number; avoid: number }
  | { op: 'up'; s: number; v: boolean }
  | { op: 'weight'; s: number; w: number }
  | { op: 'release'; s: number };

const opArb = (n: number): Arbitrary<Op> =>
  oneof(
    { weight: 5, arbitrary: record({ op: constant('pick' as const), k: integer({ min: -1, max: 50 }), avoid: integer({ min: -1, max: n - 1 }) }) },
    { weight: 2, arbitrary: record({ op: constant('up' as const), s: integer({ min: 0, max: n - 1 }), v: boolean() }) },
    { weight: 1, arbitrary: record({ op: constant('weight' as const), s: integer({ min: 0, max: n - 1 }), w: integer({ min: 0, max: 256 }) }) },
    { weight: 2, arbitrary: record({ op: constant('release' as const), s: integer({ min: 0, max: n - 1 }) }) },
  );

function expectedTier(pool: Pool, allbackups: boolean): Set<Server> {
  const actives = pool.servers.filter((s) => !s.backup && s.eligible);
  if (actives.length > 0) return new Set(actives);
  const backups = pool.servers.filter((s) => s.backup && s.eligible);
  return new Set(allbackups ? backups : backups.slice(0, 1));
}

for (const [algo, hashType] of ALGOS) {
  test(`${algo} (${hashType}): never an unusable or full server; undefined only when none is free`, (t) => {
    assert(
      property(
        array(
          record({
            weight: integer({ min: 0, max: 256 }),
            maxconn: integer({ min: 0, max: 3 }),
            backup: boolean(),
            usable: boolean(),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        boolean(),
        integer(),
        array(opArb(7), { maxLength: 120 }),
        (inits, allbackups, seed, ops) => {
          const pool = makePool(algo, inits, { hashType, allbackups, random: seeded(seed) });
          const n = pool.servers.length;
          for (const o of ops) {
            if (o.op === 'pick') {
              const k = o.k < 0 ? undefined : key({ src: `10.0.0.${o.k}`, uri: `/p/${o.k}?u=${o.k}`, headers: { 'x-k': `v${o.k}` } });
              const avoid = o.avoid < 0 ? undefined : pool.servers[o.avoid % n];
              const s = pool.pick(k, avoid);
              const tier = expectedTier(pool, allbackups);
              const free = [...tier].filter((x) => !x.full);
              if (s === undefined) {
                if (free.length > 0) return false;
                if (pool.hasUsable() !== tier.size > 0) return false;
              } else {
                if (!tier.has(s) || s.full || !s.eligible) return false;
                if (avoid !== undefined && s === avoid && free.some((x) => x !== avoid)) return false;
                pool.take(s);
              }
            } else if (o.op === 'up') {
              pool.setUsable(pool.servers[o.s % n]!, o.v);
            } else if (o.op === 'weight') {
              const s = pool.servers[o.s % n]!;
              const w = pool.dynamicWeights ? o.w : o.w % 2 === 0 ? 0 : s.initialWeight;
              pool.setWeight(s, w);
            } else {
              pool.release(pool.servers[o.s % n]!);
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
    t.pass();
  });
}
