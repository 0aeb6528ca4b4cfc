import test from 'ava';
import { H1E } from '../../../lb/proxy/http1/errors.ts';
import { Body, NEED_MORE } from '../../../lb/proxy/http1/head.ts';
import { ResponseHead } from '../../../lb/proxy/http1/response.ts';
import { chunksOf, decideResponse } from './decide.ts';
import { RESPONSE_VECTORS } from './vectors.ts';

for (const v of RESPONSE_VECTORS) {
  test(`response vector: ${v.name} → ${v.expect}`, (t) => {
    const bytes = Buffer.from(v.raw, 'latin1');
    t.is(decideResponse([bytes]), v.expect, 'whole');
    t.is(decideResponse(chunksOf(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))), v.expect, 'byte by byte');
  });
}

function parse(raw: string, forHead = false, upgrade = false): ResponseHead {
  const h = new ResponseHead();
  h.expect(forHead, upgrade);
  const r = h.feed(Buffer.from(raw, 'latin1'));
  if (r <= 0) throw new Error(`parse failed: ${r}`);
  return h;
}

test('status, reason and Content-Length framing', (t) => {
  const h = parse('HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\n');
  t.is(h.status, 404);
  t.is(h.reason, 'Not Found');
  t.is(h.bodyKind, Body.LENGTH);
  t.is(h.contentLength, 12);
  t.true(h.keepAlive);
});

test('no body after HEAD, 204, 304 and 1xx whatever the fields say', (t) => {
  t.is(parse('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n', true).bodyKind, Body.NONE);
  t.is(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', true).bodyKind, Body.NONE);
  t.is(parse('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n').bodyKind, Body.NONE);
  t.is(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n').bodyKind, Body.NONE);
  t.true(parse('HTTP/1.1 304 Not Modified\r\n\r\n').keepAlive, '304 without length keeps the connection');
  const c = parse('HTTP/1.1 100 Continue\r\n\r\n');
  t.true(c.interim);
  t.is(c.bodyKind, Body.NONE);
});

test('100 Continue then the final response on the same parser', (t) => {
  const h = new ResponseHead();
  h.expect(false, false);
  const buf = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
  const r1 = h.feed(buf);
  t.is(r1, 25);
  t.true(h.interim);
  const r2 = h.feed(buf, r1);
  t.is(r1 + r2, buf.length);
  t.is(h.status, 201);
  t.false(h.interim);
  t.is(h.bodyKind, Body.NONE);
});

test('chunked, until-close and HTTP/1.0 defaults', (t) => {
  t.is(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').bodyKind, Body.CHUNKED);
  const u = parse('HTTP/1.1 200 OK\r\n\r\n');
  t.is(u.bodyKind, Body.UNTIL_CLOSE);
  t.false(u.keepAlive);
  t.false(parse('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n').keepAlive);
  t.true(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n').keepAlive);
  t.false(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n').keepAlive);
});

test('101 only when the request asked to upgrade', (t) => {
  const h = parse('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', false, true);
  t.true(h.switching);
  t.is(h.bodyKind, Body.NONE);
  const bad = new ResponseHead();
  bad.expect(false, false);
  t.is(bad.feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n')), -H1E.UNEXPECTED_101);
});

test('incomplete status line waits, then completes', (t) => {
  const h = new ResponseHead();
  h.expect(false, false);
  t.is(h.feed(Buffer.from('HTTP/1.1 2')), NEED_MORE);
  t.is(h.feed(Buffer.from('00 OK\r\n\r\n')), 9);
  t.is(h.status, 200);
});

test('a too-large response head is an error (502 at the proxy)', (t) => {
  const h = new ResponseHead({ bufsize: 1024, maxrewrite: 24 });
  h.expect(false, false);
  t.is(h.feed(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(1000)}\r\n\r\n`)), -H1E.TOO_LARGE);
});
