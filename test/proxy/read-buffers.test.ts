import test from 'ava';
import { ReadBuffers, type Borrower } from '../../lb/proxy/read-buffers.ts';

test('acquire reuses released buffers before allocating; the free list is bounded', (t) => {
  const rb = new ReadBuffers(64, 1);
  const a = rb.acquire();
  const b = rb.acquire();
  t.not(a, b);
  t.is(a.length, 64);
  rb.release(a);
  rb.release(b);
  t.is(rb.freeCount, 1, 'only maxFree buffers are kept');
  t.is(rb.acquire(), a);
  rb.release(Buffer.alloc(32));
  t.is(rb.freeCount, 0, 'a buffer of another size is not pooled');
});

test('lend keeps the held buffer aside and hands a different one; giveBack recycles them', (t) => {
  const rb = new ReadBuffers(1024);
  const b: Borrower = { lent: null };
  const first = rb.acquire();
  const second = rb.lend(b, first);
  t.not(second, first);
  const third = rb.lend(b, second);
  t.deepEqual(b.lent, [first, second]);
  t.not(third, first);
  rb.giveBack(b);
  t.is(b.lent, null);
  t.is(rb.freeCount, 2);
  t.is(rb.acquire(), second);
  rb.giveBack({ lent: null });
  t.is(rb.freeCount, 1);
});
