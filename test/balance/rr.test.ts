import test from 'ava';
import { BalanceError } from '../../lb/balance/errors.ts';
import { counts, makePool, picks } from './helpers.ts';

test('roundrobin, 3 equal servers: exactly 1,2,3,1,2,3', (t) => {
  const pool = makePool('roundrobin', [1, 1, 1]);
  t.deepEqual(picks(pool, 9), ['s1', 's2', 's3', 's1', 's2', 's3', 's1', 's2', 's3']);
});

test('roundrobin 100/100/50: every prefix of 1000 picks within ±1 of the ideal share', (t) => {
  const weights = [100, 100, 50];
  const pool = makePool('roundrobin', weights);
  const total = weights.reduce((a, b) => a + b, 0);
  const got = [0, 0, 0];
  let worst = 0;
  for (let i = 1; i <= 1000; i++) {
    const s = pool.pick();
    if (s === undefined) { t.fail('no server'); return; }
    got[s.index] = got[s.index]! + 1;
    for (let j = 0; j < 3; j++) worst = Math.max(worst, Math.abs(got[j]! - (i * weights[j]!) / total));
  }
  t.deepEqual(got, [400, 400, 200]);
  t.true(worst <= 1, `worst deviation ${worst}`);
});

test('roundrobin is smooth: no server more than ceil(w/min) times in a row', (t) => {
  for (const weights of [[100, 100, 50], [5, 1, 1], [3, 7, 1, 10], [256, 1], [2, 3], [1, 1, 1, 1, 200]]) {
    const pool = makePool('roundrobin', weights);
    const min = Math.min(...weights);
    const seq = picks(pool, 2000);
    let run = 1;
    for (let i = 1; i < seq.length; i++) {
      run = seq[i] === seq[i - 1] ? run + 1 : 1;
      const w = weights[Number(seq[i]?.slice(1)) - 1]!;
      if (run > Math.ceil(w / min)) { t.fail(`${weights.join('/')}: ${seq[i]} ${run} times in a row at ${i}`); return; }
    }
    // And the long-run shares are exact per full cycle.
    const c = counts(seq.slice(0, 2000));
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => t.true(Math.abs((c[`s${i + 1}`] ?? 0) - (2000 * w) / total) <= 1.5, `${weights.join('/')} s${i + 1}`));
  }
});

test('roundrobin: weight changes take effect at once; weight 0 means no picks', (t) => {
  const pool = makePool('roundrobin', [100, 100, 50]);
  picks(pool, 101);
  const s3 = pool.byName('s3');
  if (s3 === undefined) { t.fail(); return; }
  pool.setWeight(s3, 100);
  const after = counts(picks(pool, 300));
  for (const n of ['s1', 's2', 's3']) t.true(Math.abs((after[n] ?? 0) - 100) <= 1, `${n}: ${after[n]}`);
  pool.setWeight(s3, 0);
  t.is(counts(picks(pool, 100)).s3, undefined);
  t.true(pool.hasUsable());
  pool.setWeight(s3, 200);
  const c = counts(picks(pool, 400));
  t.is(c.s3, 200);
});

test('roundrobin: failover to the next server while one is down, and back', (t) => {
  const pool = makePool('roundrobin', [1, 1, 1]);
  t.deepEqual(picks(pool, 1), ['s1']);
  const s2 = pool.byName('s2');
  if (s2 === undefined) { t.fail(); return; }
  pool.setUsable(s2, false);
  t.deepEqual(picks(pool, 4), ['s3', 's1', 's3', 's1']);
  pool.setUsable(s2, true);
  const back = picks(pool, 6);
  t.deepEqual(counts(back), { s1: 2, s2: 2, s3: 2 });
});

test('roundrobin skips full servers; undefined with hasUsable() when all are full', (t) => {
  const pool = makePool('roundrobin', [{ maxconn: 1 }, { maxconn: 2 }]);
  const taken = [];
  for (let i = 0; i < 3; i++) {
    const s = pool.pick();
    if (s === undefined) { t.fail(`undefined at ${i}`); return; }
    pool.take(s);
    taken.push(s.name);
  }
  t.deepEqual(counts(taken), { s1: 1, s2: 2 });
  t.is(pool.pick(), undefined);
  t.true(pool.hasUsable(), 'full is not the same as unusable');
  const s1 = pool.byName('s1');
  if (s1 === undefined) { t.fail(); return; }
  pool.release(s1);
  t.is(pool.pick()?.name, 's1');
  for (const s of pool.servers) pool.setUsable(s, false);
  t.is(pool.pick(), undefined);
  t.false(pool.hasUsable());
});

test('avoid is a preference: another server if any, else the avoided one', (t) => {
  for (const algo of ['roundrobin', 'static-rr', 'leastconn', 'first', 'random', 'source']) {
    const pool = makePool(algo, [1, 1]);
    const s1 = pool.byName('s1');
    const s2 = pool.byName('s2');
    if (s1 === undefined || s2 === undefined) { t.fail(); return; }
    for (let i = 0; i < 5; i++) t.is(pool.pick({ src: '192.0.2.1' }, s1), s2, algo);
    pool.setUsable(s2, false);
    t.is(pool.pick({ src: '192.0.2.1' }, s1), s1, `${algo}: sole server`);
  }
});

test('static-rr follows the weight map and only accepts weight 0 or the configured one', (t) => {
  const pool = makePool('static-rr', [100, 100, 50]);
  // HAProxy's map for 2/2/1 (after dividing by the gcd 50): s1 s2 s1 s2 s3.
  t.deepEqual(picks(pool, 10), ['s1', 's2', 's1', 's2', 's3', 's1', 's2', 's1', 's2', 's3']);
  const s1 = pool.byName('s1');
  if (s1 === undefined) { t.fail(); return; }
  const err = t.throws(() => pool.setWeight(s1, 50), { instanceOf: BalanceError });
  t.is(err?.code, 'ERR_LB_BALANCE_STATIC_WEIGHT');
  pool.setWeight(s1, 0);
  t.deepEqual(counts(picks(pool, 30)), { s2: 20, s3: 10 });
  pool.setWeight(s1, 100);
  t.deepEqual(counts(picks(pool, 50)), { s1: 20, s2: 20, s3: 10 });
  t.throws(() => pool.setWeight(s1, 257), { instanceOf: BalanceError });
});

test('backups take over only when every active is down, the first one unless allbackups', (t) => {
  const servers = [{ weight: 1 }, { weight: 1 }, { backup: true }, { backup: true }];
  for (const allbackups of [false, true]) {
    const pool = makePool('roundrobin', servers, { allbackups });
    const [a1, a2, b1] = pool.servers;
    if (a1 === undefined || a2 === undefined || b1 === undefined) { t.fail(); return; }
    t.deepEqual(counts(picks(pool, 10)), { s1: 5, s2: 5 });
    pool.setUsable(a1, false);
    t.deepEqual(counts(picks(pool, 10)), { s2: 10 });
    t.false(pool.usingBackups());
    pool.setUsable(a2, false);
    t.true(pool.usingBackups());
    t.deepEqual(counts(picks(pool, 10)), allbackups ? { s3: 5, s4: 5 } : { s3: 10 });
    pool.setUsable(b1, false);
    t.deepEqual(counts(picks(pool, 4)), { s4: 4 });
    pool.setUsable(b1, true);
    // An active coming back takes over again; so does an active whose weight returns from 0.
    pool.setWeight(a2, 0);
    pool.setUsable(a2, true);
    t.true(pool.usingBackups(), 'weight 0 actives do not count');
    pool.setWeight(a2, 1);
    t.deepEqual(counts(picks(pool, 4)), { s2: 4 });
  }
});
