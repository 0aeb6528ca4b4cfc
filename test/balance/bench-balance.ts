/**
 * Micro-benchmark of server selection (not a test): ns per pick for each algorithm with 8 and
 * 1,000 servers, picking and releasing at once so the connection counts stay steady. Every loop
 * is bounded in count. Run alone with `node test/balance/bench-balance.ts`; the lead wires
 * `benchBalance()` into `npm run bench`.
 */
import { algorithmFactory, parseBalance, parseHashType } from '../../lb/balance/registry.ts';
import { Pool } from '../../lb/balance/pool.ts';
import type { HashKey, ServerInit } from '../../lb/balance/types.ts';

const CASES: Array<[label: string, balance: string, hashType: string]> = [
  ['roundrobin', 'roundrobin', 'map-based'],
  ['static-rr', 'static-rr', 'map-based'],
  ['leastconn', 'leastconn', 'map-based'],
  ['first', 'first', 'map-based'],
  ['random(2)', 'random', 'map-based'],
  ['source map-based', 'source', 'map-based'],
  ['source consistent', 'source', 'consistent'],
  ['uri map-based', 'uri', 'map-based'],
  ['uri consistent', 'uri', 'consistent'],
  ['url_param', 'url_param user', 'map-based'],
  ['hdr(host)', 'hdr(host)', 'map-based'],
];

const PICKS = 200_000;

/** A small fixed set of request keys, reused so the loop measures selection, not key building. */
function keys(): HashKey[] {
  const out: HashKey[] = [];
  for (let i = 0; i < 64; i++) {
    const host = `h${i}.example.com`;
    out.push({
      src: `10.1.${i}.${(i * 7) & 255}`,
      uri: `/api/v1/items/${i}?user=u${i}&x=1`,
      header: (n: string) => (n === 'host' ? host : undefined),
    });
  }
  return out;
}

export async function benchBalance(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const ks = keys();
  for (const n of [8, 1000]) {
    const inits: ServerInit[] = Array.from({ length: n }, (_, i) => ({ name: `s${i + 1}`, weight: 1 + (i % 4), maxconn: 1000 }));
    for (const [label, balance, hashType] of CASES) {
      const spec = parseBalance(balance.split(' '));
      const ht = parseHashType(hashType.split(' '));
      if (!spec.ok || !ht.ok) throw new Error(`bad bench case ${label}`);
      const pool = new Pool(inits, algorithmFactory(spec.value, ht.value));
      const run = (count: number): number => {
        let sink = 0;
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < count; i++) {
          const s = pool.pick(ks[i & 63]);
          if (s !== undefined) {
            pool.take(s);
            pool.release(s);
            sink += s.id;
          }
        }
        const dt = Number(process.hrtime.bigint() - t0);
        if (sink < 0) throw new Error('unreachable');
        return dt / count;
      };
      run(PICKS / 10); // warm-up: JIT and lazily built maps/rings
      results[`${label} n=${n}`] = Math.round(run(PICKS) * 10) / 10;
      await Promise.resolve();
    }
  }
  return results;
}

if (import.meta.main) {
  const r = await benchBalance();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(28)} ${String(v).padStart(8)} ns/pick`);
}
