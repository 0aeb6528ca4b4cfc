import test from 'ava';
import { ReadBuffers, type Borrower } from '../../lb/proxy/read-buffers.ts';

test('lend: the current buffer goes to the borrower and a different one becomes current', (t) => {
  const rb = new ReadBuffers(1024);
  const first = rb.current;
  const b: Borrower = { lent: null };
  rb.lend(b);
  t.not(rb.current, first);
  t.deepEqual(b.lent, [first]);
  const second = rb.current;
  rb.lend(b);
  t.deepEqual(b.lent, [first, second]);
  t.is(rb.current.length, 1024);
});

test('giveBack: lent buffers are reused before any new allocation, the free list is bounded', (t) => {
  const rb = new ReadBuffers(64, 1);
  const b: Borrower = { lent: null };
  const first = rb.current;
  rb.lend(b);
  rb.lend(b);
  rb.giveBack(b);
  t.is(b.lent, null);
  t.is(rb.freeCount, 1, 'only maxFree buffers are kept');
  const c: Borrower = { lent: null };
  rb.lend(c);
  t.is(rb.current, first, 'the recycled buffer becomes current');
  rb.giveBack({ lent: null });
  t.is(rb.freeCount, 0);
});
