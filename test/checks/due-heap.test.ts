// The scheduler's queue against a sorted-array model: random pushes (many equal dues), pops and
// removals (from the middle too) must always come out in (due, seq) order.
import test from 'ava';
import * as fc from 'fast-check';
import { DueHeap, type HeapItem } from '../../lb/checks/due-heap.ts';

/** Mutable: a re-pushed item gets a new due and seq, as the scheduler's tasks do. */
type Item = { -readonly [K in keyof HeapItem]: HeapItem[K] };

type Op = { op: 'push'; due: number } | { op: 'pop' } | { op: 'remove'; pick: number } | { op: 'repush'; pick: number; due: number };

// Pushes outweigh the rest so that the heap grows several levels deep; few distinct dues make
// ties on `due` common, so `seq` decides often.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('push' as const), due: fc.integer({ min: 0, max: 6 }) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('pop' as const) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('repush' as const), pick: fc.nat(), due: fc.integer({ min: 0, max: 6 }) }), weight: 1 },
);

test('DueHeap pops in (due, seq) order through pushes, pops and removals, past its initial capacity', (t) => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 600 }), (ops) => {
      const heap = new DueHeap<Item>();
      const model: Item[] = [];
      const all: Item[] = [];
      let seq = 0;
      const byOrder = (a: Item, b: Item): number => a.due - b.due || a.seq - b.seq;
      for (const o of ops) {
        if (o.op === 'push') {
          const it = { due: o.due, seq: seq++ };
          all.push(it);
          heap.push(it);
          model.push(it);
        } else if (o.op === 'pop') {
          model.sort(byOrder);
          const want = model.shift();
          if (heap.pop() !== want) return false;
        } else {
          const it = all[o.pick % Math.max(1, all.length)];
          if (it === undefined) continue;
          heap.remove(it);
          const i = model.indexOf(it);
          if (i >= 0) model.splice(i, 1);
          if (heap.has(it)) return false;
          if (o.op === 'repush') {
            it.due = o.due;
            it.seq = seq++;
            heap.push(it);
            model.push(it);
          }
        }
        if (heap.size !== model.length) return false;
        model.sort(byOrder);
        if (heap.peek() !== model[0] || heap.peekDue() !== (model[0]?.due ?? Infinity)) return false;
      }
      model.sort(byOrder);
      if (heap.peek() !== model[0]) return false;
      for (const want of model) if (heap.pop() !== want) return false;
      return heap.size === 0;
    }),
    { numRuns: 300 },
  );
  // Capacity growth: more items than the initial 64 key slots, popped back in order.
  const heap = new DueHeap<Item>();
  const items = Array.from({ length: 1000 }, (_, i) => ({ due: (i * 7919) % 1000, seq: i }));
  for (const it of items) heap.push(it);
  const out: number[] = [];
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x.due);
  t.deepEqual(out, [...out].sort((a, b) => a - b));
  t.is(out.length, 1000);
});

test('DueHeap.clear() unqueues everything', (t) => {
  const heap = new DueHeap<Item>();
  const a = { due: 1, seq: 0 };
  const b = { due: 2, seq: 1 };
  heap.push(a);
  heap.push(b);
  heap.clear();
  t.is(heap.size, 0);
  t.false(heap.has(a));
  t.is(heap.peekDue(), Infinity);
  t.is(heap.pop(), undefined);
  // A cleared item can be queued again.
  heap.push(b);
  t.is(heap.pop(), b);
});

test('DueHeap: an item removed from the middle is replaced by a smaller one that must move up', (t) => {
  // Pushed in this order the heap is exactly this array: [0, 1, 5, 2, 3, 6, 6, 5']; removing the
  // first 6 (index 5) puts the last item (5, seq 4) under (5, seq 9): it must go above it.
  const spec: [number, number][] = [[0, 0], [1, 1], [5, 9], [2, 2], [3, 3], [6, 5], [6, 6], [5, 4]];
  const items = spec.map(([due, seq]) => ({ due, seq }));
  const heap = new DueHeap<Item>();
  for (const it of items) heap.push(it);
  const gone = items[5];
  if (gone === undefined) throw new Error('fixture');
  heap.remove(gone);
  const out: string[] = [];
  for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(`${x.due}/${x.seq}`);
  t.deepEqual(out, ['0/0', '1/1', '2/2', '3/3', '5/4', '5/9', '6/6']);
});
