import test from 'ava';
import * as fc from 'fast-check';
import { ChunkedDecoder, LengthCounter } from '../../../lb/proxy/http1/chunked.ts';
import { H1E } from '../../../lb/proxy/http1/errors.ts';

function run(body: string, pieces = 1): { used: number; done: boolean; err: number } {
  const buf = Buffer.from(body, 'latin1');
  const d = new ChunkedDecoder();
  const step = Math.max(1, Math.ceil(buf.length / pieces));
  let used = 0;
  for (let off = 0; off < buf.length; off += step) {
    const r = d.feed(buf, off, Math.min(buf.length, off + step));
    if (r < 0) return { used, done: false, err: -r };
    used += r;
    if (d.done) break;
  }
  return { used, done: d.done, err: 0 };
}

test('finds the end of a chunked body and leaves what follows', (t) => {
  const body = '5\r\nhello\r\n1A;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: v\r\n\r\n';
  const r = run(`${body}GET / HTTP/1.1\r\n`);
  t.true(r.done);
  t.is(r.used, body.length);
});

test('same result for every split of the body', (t) => {
  const body = '5\r\nhello\r\n000a ; q="x y"\r\n0123456789\r\n0\r\nA: b\r\nC: d\r\n\r\n';
  for (let pieces = 1; pieces <= body.length; pieces++) {
    const r = run(`${body}NEXT`, pieces);
    t.true(r.done, `pieces=${pieces}`);
    t.is(r.used, body.length, `pieces=${pieces}`);
  }
});

test('data is skipped, not scanned: a huge chunk costs one step per feed', (t) => {
  const d = new ChunkedDecoder();
  const head = Buffer.from('100000\r\n');
  t.is(d.feed(head), head.length);
  const data = Buffer.alloc(0x100000, 0x0d); // CR bytes inside data are data
  t.is(d.feed(data), data.length);
  t.false(d.done);
  const tail = Buffer.from('\r\n0\r\n\r\n');
  t.is(d.feed(tail), tail.length);
  t.true(d.done);
  t.is(d.feed(Buffer.from('more')), 0);
});

test('errors carry their codes', (t) => {
  t.is(run('G\r\n').err, H1E.CHUNK_SIZE_INVALID);
  t.is(run('5 5\r\n').err, H1E.CHUNK_SIZE_INVALID);
  t.is(run('10000000000000\r\n').err, H1E.CHUNK_SIZE_TOO_BIG);
  t.is(run('FFFFFFFFFFFFF\r\n').err, 0, '2^52-1 is accepted (haproxy 2.6 limit)');
  t.is(run(`0000000000000000000000000000005\r\nhello\r\n0\r\n\r\n`).err, 0, 'leading zeros do not overflow');
  t.is(run('5\r\nhelloXX').err, H1E.CHUNK_DATA_NO_CRLF);
  t.is(run('5\r\nhello\rX').err, H1E.CHUNK_DATA_NO_CRLF);
  t.is(run('5\rX').err, H1E.BARE_CR);
  t.is(run('0\r\n\rX').err, H1E.BARE_CR);
  t.is(run('0\r\n X: 1\r\n\r\n').err, H1E.TRAILER_INVALID, 'folded trailer');
  t.is(run('0\r\nX: a\x00b\r\n\r\n').err, H1E.TRAILER_INVALID, 'NUL in trailer');
  t.is(run('0\r\nX : 1\r\n\r\n').err, H1E.TRAILER_INVALID, 'space before colon');
  const d = new ChunkedDecoder({ maxLine: 10 });
  t.is(d.feed(Buffer.from('5;abcdefghijk\r\n')), -H1E.CHUNK_LINE_TOO_LONG);
  t.is(d.error, H1E.CHUNK_LINE_TOO_LONG);
  t.is(d.feed(Buffer.from('0\r\n\r\n')), -H1E.CHUNK_LINE_TOO_LONG, 'stays failed');
  const t2 = new ChunkedDecoder({ maxTrailers: 8 });
  t.is(t2.feed(Buffer.from('0\r\nAbcdef: 1234\r\n\r\n')), -H1E.TRAILERS_TOO_LARGE);
  d.reset();
  t.is(d.feed(Buffer.from('0\r\n\r\n')), 5, 'usable again after reset');
});

test('property: random chunk sequences decode to the same boundary in any split', (t) => {
  const chunk = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.boolean());
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (chunks, cuts) => {
      let body = '';
      for (const [n, upper, ext] of chunks) {
        const hex = n.toString(16);
        body += `${upper ? hex.toUpperCase() : hex}${ext ? ';x=y' : ''}\r\n${'d'.repeat(n)}\r\n`;
      }
      body += '0\r\n\r\n';
      const buf = Buffer.from(`${body}NEXT`);
      const d = new ChunkedDecoder();
      const points = [...new Set(cuts.map((c) => c % buf.length))].sort((a, b) => a - b);
      points.push(buf.length);
      let used = 0;
      let prev = 0;
      for (const p of points) {
        const r = d.feed(buf, prev, p);
        if (r < 0) return false;
        used += r;
        prev = p;
        if (d.done) break;
      }
      return d.done && used === body.length;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('LengthCounter splits body from what follows', (t) => {
  const c = new LengthCounter();
  c.reset(10);
  t.is(c.feed(4), 4);
  t.false(c.done);
  t.is(c.feed(100), 6);
  t.true(c.done);
  t.is(c.feed(5), 0);
});
