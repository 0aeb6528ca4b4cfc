import test from 'ava';
import * as fc from 'fast-check';
import { H1E, h1ErrorInfo } from '../../../lb/proxy/http1/errors.ts';
import { Body, NEED_MORE } from '../../../lb/proxy/http1/head.ts';
import { Method, RequestHead } from '../../../lb/proxy/http1/request.ts';
import { REQUEST_HEAD } from './bench-parse.ts';
import { chunksOf, decideRequest } from './decide.ts';
import { REQUEST_VECTORS } from './vectors.ts';

for (const v of REQUEST_VECTORS) {
  test(`request vector: ${v.name} → ${v.expect}`, (t) => {
    const bytes = Buffer.from(v.raw, 'latin1');
    t.is(decideRequest([bytes]), v.expect, 'whole');
    // The same decision byte by byte, and cut in two at a few places.
    t.is(decideRequest(chunksOf(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))), v.expect, 'byte by byte');
    for (const cut of [1, 5, 17, Math.floor(bytes.length / 2), bytes.length - 1]) {
      if (cut > 0 && cut < bytes.length) t.is(decideRequest(chunksOf(bytes, [cut])), v.expect, `cut at ${cut}`);
    }
  });
}

test('every error id has a distinct ERR_H1_ code and a status', (t) => {
  const codes = new Set<string>();
  for (const id of Object.values(H1E)) {
    const info = h1ErrorInfo(id);
    t.regex(info.code, /^ERR_H1_[A-Z0-9_]+$/);
    t.true(info.status >= 400 && info.status < 600);
    codes.add(info.code);
  }
  t.is(codes.size, Object.values(H1E).length);
});

test('typical browser head: fields, lazy strings, framing', (t) => {
  const h = new RequestHead();
  t.is(h.feed(REQUEST_HEAD), REQUEST_HEAD.length);
  t.is(h.methodId, Method.GET);
  t.is(h.method, 'GET');
  t.is(h.target, '/static/app/main.js?v=20240105');
  t.is(h.path, '/static/app/main.js');
  t.is(h.query, 'v=20240105');
  t.is(h.host, 'www.example.com');
  t.is(h.version, 11);
  t.is(h.headerCount, 11);
  t.is(h.nameAt(1), 'User-Agent');
  t.is(h.get('accept-encoding'), 'gzip, deflate, br');
  t.is(h.get('x-missing'), undefined);
  t.is(h.bodyKind, Body.NONE);
  t.true(h.keepAlive);
  t.false(h.mustRewrite);
  t.false(h.expectContinue);
  t.false(h.upgrade);
});

test('pipelined requests in one chunk: each feed reports the bytes its head used', (t) => {
  const a = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
  const b = 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc';
  const c = 'GET /c HTTP/1.1\r\nHost: x\r\n\r\n';
  const buf = Buffer.from(a + b + c);
  const h = new RequestHead();
  let off = 0;
  let r = h.feed(buf, off);
  t.is(r, a.length);
  t.is(h.path, '/a');
  off += r;
  r = h.feed(buf, off);
  t.is(r, b.length - 3);
  t.is(h.path, '/b');
  t.is(h.bodyKind, Body.LENGTH);
  t.is(h.contentLength, 3);
  off += r + h.contentLength;
  r = h.feed(buf, off);
  t.is(r, c.length);
  t.is(h.path, '/c');
  t.is(h.method, 'GET');
});

test('HTTP/1.0 and 1.1 keep-alive defaults', (t) => {
  const h = new RequestHead();
  const ka = (s: string): boolean => {
    t.true(h.feed(Buffer.from(s)) > 0, s);
    return h.keepAlive;
  };
  t.true(ka('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
  t.false(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
  t.false(ka('GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n'));
  t.false(ka('GET / HTTP/1.0\r\n\r\n'));
  t.true(ka('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'));
  t.is(h.version, 10);
});

test('Expect: 100-continue is noted for HTTP/1.1 only', (t) => {
  const h = new RequestHead();
  t.true(h.feed(Buffer.from('PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n')) > 0);
  t.true(h.expectContinue);
  t.is(h.contentLength, 9);
  t.true(h.feed(Buffer.from('PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n')) > 0);
  t.false(h.expectContinue);
  t.true(h.feed(Buffer.from('PUT /x HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n')) > 0);
  t.false(h.expectContinue);
});

test('Upgrade needs both the Upgrade field and Connection: upgrade', (t) => {
  const h = new RequestHead();
  t.true(h.feed(Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n')) > 0);
  t.true(h.upgrade);
  t.true(h.isWebSocket);
  t.true(h.feed(Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n')) > 0);
  t.false(h.upgrade);
  t.true(h.feed(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n')) > 0);
  t.true(h.upgrade);
  t.false(h.isWebSocket);
});

test('absolute-form target: path and host', (t) => {
  const h = new RequestHead();
  t.true(h.feed(Buffer.from('GET http://user@Example.com:80/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n')) > 0);
  t.is(h.path, '/p/q');
  t.is(h.query, 'x=1');
  t.is(h.target, 'http://user@Example.com:80/p/q?x=1');
});

test('non-canonical heads are flagged for re-serialisation', (t) => {
  const h = new RequestHead();
  t.true(h.feed(Buffer.from('GET / HTTP/1.1\nHost: a\n\n')) > 0);
  t.true(h.mustRewrite);
  t.true(h.feed(Buffer.from('GET  / HTTP/1.1\r\nHost: a\r\n\r\n')) > 0);
  t.true(h.mustRewrite);
  t.true(h.feed(Buffer.from('GET / HTTP/1.2\r\nHost: a\r\n\r\n')) > 0);
  t.true(h.mustRewrite);
  t.is(h.version, 11);
  t.true(h.feed(Buffer.from('GET / HTTP/0.9\r\n\r\n')) > 0);
  t.is(h.version, 10);
  t.true(h.feed(Buffer.from('GET / HTTP/1.0\r\n\r\n')) > 0);
  t.false(h.mustRewrite);
});

test('too-large limit follows bufsize - maxrewrite, also when the head arrives in pieces', (t) => {
  const mk = (n: number): Buffer => Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(n - 23)}\r\n\r\n`);
  t.is(mk(1000).length, 1000);
  const opts = { bufsize: 2024, maxrewrite: 1024 };
  t.is(new RequestHead(opts).feed(mk(1000)), 1000);
  t.is(new RequestHead(opts).feed(mk(1001)), -H1E.TOO_LARGE);
  const h = new RequestHead(opts);
  const big = mk(1001);
  t.is(h.feed(big.subarray(0, 500)), NEED_MORE);
  t.is(h.feed(big.subarray(500)), -H1E.TOO_LARGE);
  t.is(h.error, H1E.TOO_LARGE);
  const h2 = new RequestHead(opts);
  t.is(h2.feed(mk(1000).subarray(0, 999)), NEED_MORE);
  t.is(h2.feed(mk(1000).subarray(999)), 1);
  // A stream of bytes with no end of head stops at the limit, not later.
  const h3 = new RequestHead(opts);
  let r = 0;
  let fed = 0;
  while (r === 0 && fed < 5000) {
    r = h3.feed(Buffer.from('GET /aaaaaaaaaa'.slice(fed === 0 ? 0 : 4)));
    fed += 11;
  }
  t.is(r, -H1E.TOO_LARGE);
  t.true(fed <= 1100);
});

test('a head split across chunks lives in a private buffer; body bytes after it are left', (t) => {
  const h = new RequestHead();
  t.is(h.feed(Buffer.from('POST /u HTTP/1.1\r\nHost: a\r\nContent-Le')), NEED_MORE);
  t.false(h.complete);
  const second = Buffer.from('ngth: 4\r\n\r\nbody');
  t.is(h.feed(second), second.length - 4);
  t.true(h.complete);
  t.is(h.contentLength, 4);
  t.is(h.path, '/u');
  t.is(h.buf.subarray(h.start, h.end).toString(), 'POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n');
});

test('a lone CR between pipelined requests waits for its LF', (t) => {
  const h = new RequestHead();
  t.is(h.feed(Buffer.from('\r')), NEED_MORE);
  t.is(h.feed(Buffer.from('\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')), 28);
  t.is(h.method, 'GET');
  t.is(h.feed(Buffer.from('\r')), NEED_MORE);
  t.is(h.feed(Buffer.from('X')), -H1E.BARE_CR);
});

// Valid heads built from parts, split at random points: the parse is the same for every chunking.
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const headArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD', 'PURGE'),
  path: fc.stringMatching(/^\/[a-z0-9/?=&%.]{0,40}$/),
  v: fc.constantFrom('1.0', '1.1'),
  fields: fc.array(fc.tuple(token, value), { maxLength: 20 }),
  lf: fc.boolean(),
});

test('property: any chunking of a valid head gives the same parse', (t) => {
  fc.assert(
    fc.property(headArb, fc.array(fc.nat(), { maxLength: 8 }), (spec, rawCuts) => {
      const eol = spec.lf ? '\n' : '\r\n';
      const fields = spec.fields.filter(([n]) => !['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade', 'expect'].includes(n.toLowerCase()));
      const text = `${spec.method} ${spec.path} HTTP/${spec.v}${eol}${fields.map(([n, v]) => `${n}: ${v}${eol}`).join('')}${eol}`;
      const bytes = Buffer.from(`${text}NEXT`, 'latin1');
      const whole = new RequestHead();
      const r = whole.feed(bytes);
      if (r !== text.length) return false;
      const cuts = [...new Set(rawCuts.map((c) => 1 + (c % (bytes.length - 1))))].sort((a, b) => a - b);
      const pieces = chunksOf(bytes, cuts);
      const h = new RequestHead();
      let used = 0;
      for (const p of pieces) {
        const x = h.feed(p);
        if (x < 0) return false;
        if (x > 0) {
          used += x;
          break;
        }
        used += p.length;
      }
      if (used !== text.length || !h.complete) return false;
      if (h.method !== spec.method || h.target !== spec.path || h.headerCount !== fields.length) return false;
      for (let i = 0; i < fields.length; i++) {
        if (h.nameAt(i) !== whole.nameAt(i) || h.valueAt(i) !== (fields[i]?.[1] ?? '')) return false;
      }
      return h.version === whole.version && h.keepAlive === whole.keepAlive && h.mustRewrite === spec.lf;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('property: random bytes never crash and chunking never changes the verdict', (t) => {
  const alphabet = fc.constantFrom(...'GET / HTTP/1.1\r\n:Host a\x00\t ,-chunked0123456789'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 6 }), (chars, rawCuts) => {
      const bytes = Buffer.from(`GET / HTTP/1.1\r\n${chars.join('')}\r\n\r\n`, 'latin1');
      const cuts = [...new Set(rawCuts.map((c) => 1 + (c % (bytes.length - 1))))].sort((a, b) => a - b);
      return decideRequest([bytes]) === decideRequest(chunksOf(bytes, cuts));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
