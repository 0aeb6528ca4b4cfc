// The idle pool on a fake connection type: LIFO, pool-max-conn, the need bound (HAProxy's
// estimated need: used + idle within the most used at once), purge by age.
import test from 'ava';
import { IdlePool, type Poolable } from '../../../lb/proxy/http-pool.ts';

class Fake implements Poolable<Fake> {
  readonly name: string;
  open = true;
  closed = false;
  poolPrev: Fake | null = null;
  poolNext: Fake | null = null;
  pool: IdlePool<Fake> | null = null;
  idleSince = 0;
  constructor(name: string) {
    this.name = name;
  }
  usable(): boolean {
    return this.open;
  }
  closeIdle(): void {
    this.closed = true;
    this.pool?.remove(this);
  }
  destroy(): void {
    this.closeIdle();
  }
}

test('LIFO and pool-max-conn', (t) => {
  const p = new IdlePool<Fake>(2, 0);
  const [a, b, c] = [new Fake('a'), new Fake('b'), new Fake('c')];
  t.true(p.put(a, 0));
  t.true(p.put(b, 1));
  t.false(p.put(c, 2), 'beyond pool-max-conn');
  t.is(p.take(), b);
  t.is(p.take(), a);
  t.is(p.take(), undefined);
});

test('need bound: idle + used stay within the most used at once, one idle always kept', (t) => {
  const p = new IdlePool<Fake>(100, 0);
  // Three requests were in flight at once; they end one after the other.
  t.true(p.put(new Fake('1'), 0, 2), 'the first one is always kept');
  t.true(p.put(new Fake('2'), 0, 1), '1 used + 1 idle + this one = 3 = the peak');
  t.true(p.put(new Fake('3'), 0, 0));
  t.is(p.size, 3);
  // A new connection per request with 2 in flight at a time, none ever reused (http-reuse safe):
  // the pool does not grow past what was in use at once.
  const q = new IdlePool<Fake>(100, 0);
  let kept = 0;
  for (let i = 0; i < 50; i++) if (q.put(new Fake(`n${i}`), i, 1)) kept++;
  t.is(kept, 1);
  t.is(q.size, 1);
  // Without a usage figure (-1) only pool-max-conn applies.
  const r = new IdlePool<Fake>(3, 0);
  for (let i = 0; i < 5; i++) r.put(new Fake(`m${i}`), i);
  t.is(r.size, 3);
});

test('purge closes connections idle for pool-purge-delay and carries the estimate into the next period', (t) => {
  const p = new IdlePool<Fake>(100, 1000);
  const old = new Fake('old');
  p.put(old, 0, 3);
  p.put(new Fake('x'), 0, 2);
  p.put(new Fake('y'), 0, 1);
  p.purge(1000);
  t.is(p.size, 0);
  t.true(old.closed);
  // The period peaked at 4 in use: the next one keeps up to that many without new peaks.
  for (const n of ['a', 'b', 'c', 'd']) t.true(p.put(new Fake(n), 1500, 0), n);
  t.false(p.put(new Fake('e'), 1500, 0));
  // A period whose peak was 1 moves the estimate halfway: (4 + 1) / 2 → 2.
  p.purge(3000);
  t.is(p.size, 0);
  t.true(p.put(new Fake('f'), 3002, 0));
  t.true(p.put(new Fake('g'), 3002, 0));
  t.false(p.put(new Fake('h'), 3002, 0));
});
