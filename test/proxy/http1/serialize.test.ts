import test from 'ava';
import { H1Error } from '../../../lb/proxy/http1/errors.ts';
import { RequestHead } from '../../../lb/proxy/http1/request.ts';
import { ResponseHead } from '../../../lb/proxy/http1/response.ts';
import { serializeRequest, serializeResponse, serializeResponseWith } from '../../../lb/proxy/http1/serialize.ts';

function req(raw: string): RequestHead {
  const h = new RequestHead();
  if (h.feed(Buffer.from(raw, 'latin1')) <= 0) throw new Error('parse failed');
  return h;
}

test('unchanged canonical head: the original bytes, not a copy', (t) => {
  const raw = Buffer.from('GET /x HTTP/1.1\r\nHost: a\r\nX-A:  spaced \r\n\r\nBODY');
  const h = new RequestHead();
  t.true(h.feed(raw) > 0);
  const out = serializeRequest(h);
  t.is(out.toString(), 'GET /x HTTP/1.1\r\nHost: a\r\nX-A:  spaced \r\n\r\n');
  t.is(out.buffer, raw.buffer, 'a view on the same memory');
});

test('set, add, del and replace, in one buffer', (t) => {
  const h = req('GET /x?q=1 HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 9.9.9.9\r\nCookie: c=1\r\nAccept: */*\r\nX-Forwarded-For: 8.8.8.8\r\n\r\n');
  h.set('X-Forwarded-For', '1.2.3.4');
  h.add('X-Forwarded-Proto', 'https');
  h.del('cookie');
  h.setValueAt(h.indexOf('accept'), 'text/html');
  t.is(h.get('x-forwarded-for'), '1.2.3.4');
  t.is(h.count('x-forwarded-for'), 1);
  t.is(h.get('cookie'), undefined);
  t.is(
    serializeRequest(h).toString('latin1'),
    'GET /x?q=1 HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n\r\n',
  );
});

test('deleting an added field and re-reading', (t) => {
  const h = req('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  h.add('X-A', '1');
  h.add('X-B', '2');
  h.del('x-a');
  t.is(h.get('x-a'), undefined);
  t.is(h.get('x-b'), '2');
  t.is(serializeRequest(h).toString(), 'GET / HTTP/1.1\r\nHost: a\r\nX-B: 2\r\n\r\n');
});

test('set-path keeps the query; set-method; bare LF heads come out with CRLF', (t) => {
  const h = req('POST /old?k=v HTTP/1.1\nHost: a\nContent-Length: 0\n\n');
  t.true(h.mustRewrite);
  t.is(serializeRequest(h).toString(), 'POST /old?k=v HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
  h.setPath('/new');
  h.setMethod('PUT');
  t.is(h.path, '/new');
  t.is(h.query, 'k=v');
  t.is(serializeRequest(h).toString(), 'PUT /new?k=v HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
});

test('version other than 1.0/1.1 is re-emitted as 1.1', (t) => {
  const h = req('GET   /  HTTP/2.0\r\nHost: a\r\n\r\n');
  t.is(serializeRequest(h).toString(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
});

test('edits are reset with the next message', (t) => {
  const h = req('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  h.add('X-A', '1');
  t.true(h.feed(Buffer.from('GET /2 HTTP/1.1\r\nHost: b\r\n\r\n')) > 0);
  t.false(h.modified);
  t.is(h.get('x-a'), undefined);
  t.is(serializeRequest(h).toString(), 'GET /2 HTTP/1.1\r\nHost: b\r\n\r\n');
});

test('edits refuse injection and framing changes', (t) => {
  const h = req('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  t.throws(() => h.add('X-A', 'a\r\nX-B: b'), { instanceOf: H1Error, code: 'ERR_H1_EDIT_VALUE' });
  t.throws(() => h.add('X A', 'v'), { code: 'ERR_H1_EDIT_NAME' });
  t.throws(() => h.set('Content-Length', '5'), { code: 'ERR_H1_EDIT_FRAMING' });
  t.throws(() => h.del('transfer-encoding'), { code: 'ERR_H1_EDIT_FRAMING' });
  t.throws(() => h.setTarget('/a b'), { code: 'ERR_H1_EDIT_TARGET' });
  t.throws(() => h.add('X-U', 'caf\u20ac'), { code: 'ERR_H1_EDIT_VALUE' });
  t.false(h.modified);
});

test('response: set-status with the standard reason, headers added', (t) => {
  const h = new ResponseHead();
  h.expect(false, false);
  t.true(h.feed(Buffer.from('HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\nok')) > 0);
  t.is(serializeResponse(h).toString(), 'HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 2\r\n\r\n');
  h.setStatus(503);
  h.del('server');
  h.add('Strict-Transport-Security', 'max-age=31536000');
  t.is(serializeResponse(h).toString(), 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n');
  h.setStatus(299, 'Custom');
  t.true(serializeResponse(h).toString().startsWith('HTTP/1.1 299 Custom\r\n'));
});

test('response: serializeResponseWith puts the body bytes right behind the rewritten head', (t) => {
  const h = new ResponseHead();
  h.expect(false, false);
  const wire = Buffer.from('HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello');
  const end = h.feed(wire);
  t.true(end > 0);
  h.add('connection', 'close');
  const head = serializeResponse(h).toString();
  t.is(serializeResponseWith(h, wire, end, wire.length).toString(), `${head}hello`);
  t.is(serializeResponseWith(h, wire, end + 1, end + 3).toString(), `${head}el`);
  t.is(serializeResponseWith(h, wire, end, end).toString(), head);
});
