// log-format compilation and rendering. Expected lines were derived from the manual (8.2) and then
// confirmed against haproxy 2.6.12's own output for the same inputs (see differential.test.ts,
// which checks the same renderer against a live haproxy).
process.env.TZ = 'UTC';

import test from 'ava';
import * as fc from 'fast-check';
import {
  compileLogFormat,
  DEFAULT_FORMATS,
  encodeLogHeader,
  encodeLogString,
  escapeRfc5424,
  HTTPLOG_CLF_FORMAT,
  HTTPLOG_FORMAT,
  HTTPSLOG_FORMAT,
  shouldLog,
  TCPLOG_FORMAT,
  type CompileOptions,
} from '../../lb/log/format.ts';
import { createLogRecord, type LogRecord } from '../../lb/log/record.ts';

const ACCEPT = Date.UTC(2026, 10, 24, 22, 16, 30, 951);

function httpRecord(over: Partial<LogRecord> = {}): LogRecord {
  return Object.assign(createLogRecord(), {
    clientIp: '127.0.0.1',
    clientPort: 42768,
    frontendIp: '127.0.0.1',
    frontendPort: 18080,
    backendSourceIp: '127.0.0.1',
    backendSourcePort: 42956,
    serverIp: '127.0.0.1',
    serverPort: 18001,
    acceptDate: ACCEPT,
    requestDate: ACCEPT,
    frontend: 'fe1',
    backend: 'be1',
    server: 's1',
    Th: 0,
    Ti: 0,
    TR: 0,
    Tw: 0,
    Tc: 1002,
    Tr: 1,
    Ta: 1003,
    Tt: 1003,
    status: 200,
    bytesRead: 137,
    bytesUploaded: 93,
    termState: '----',
    actconn: 1,
    feconn: 1,
    retries: 1,
    requestLine: 'GET /a/b?x=1 HTTP/1.1',
    method: 'GET',
    uri: '/a/b?x=1',
    version: 'HTTP/1.1',
    requestCounter: 3,
    ...over,
  });
}

function render(format: string, rec: LogRecord, opts: CompileOptions<undefined> = {}): string {
  const c = compileLogFormat(format, opts);
  if (!c.ok) throw new Error(c.error);
  return c.value.render(rec, undefined);
}

// ------------------------------------------------------------------------------ default formats

test('option httplog: exact 2.6 format string and rendering', (t) => {
  t.is(DEFAULT_FORMATS.httplog, '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r');
  // Same line haproxy 2.6.12 logged for this request (captured on loopback).
  t.is(
    render(HTTPLOG_FORMAT, httpRecord()),
    '127.0.0.1:42768 [24/Nov/2026:22:16:30.951] fe1 be1/s1 0/0/1002/1/1003 200 137 - - ---- 1/1/0/0/1 0/0 "GET /a/b?x=1 HTTP/1.1"',
  );
});

test('option httplog with captures, TLS frontend, redispatch, queue', (t) => {
  const rec = httpRecord({
    tls: true,
    requestHeaders: ['1wt.eu', null],
    responseHeaders: [],
    requestCookie: 'SID=zz',
    responseCookie: null,
    termState: 'sH--',
    Tr: -1,
    status: 504,
    retries: 3,
    redispatched: true,
    srvQueue: 2,
    backendQueue: 7,
  });
  t.is(
    render(HTTPLOG_FORMAT, rec),
    '127.0.0.1:42768 [24/Nov/2026:22:16:30.951] fe1~ be1/s1 0/0/1002/-1/1003 504 137 SID=zz - sH-- 1/1/0/0/+3 2/7 {1wt.eu|} "GET /a/b?x=1 HTTP/1.1"',
  );
});

test('option httplog for a request that could not be parsed', (t) => {
  const rec = httpRecord({
    backend: 'fe1',
    server: '<NOSRV>',
    TR: -1,
    Tw: -1,
    Tc: -1,
    Tr: -1,
    Ta: 0,
    status: 400,
    bytesRead: 0,
    termState: 'PR--',
    retries: 0,
    requestLine: null,
  });
  t.is(
    render(HTTPLOG_FORMAT, rec),
    '127.0.0.1:42768 [24/Nov/2026:22:16:30.951] fe1 fe1/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"',
  );
});

test('option tcplog: exact format and rendering', (t) => {
  t.is(TCPLOG_FORMAT, '%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq');
  const rec = httpRecord({ Tw: 1, Tc: 0, Tt: 5001, bytesRead: 0, termState: 'cD', backend: 'be1t', frontend: 'fe3', retries: 0 });
  t.is(render(TCPLOG_FORMAT, rec), '127.0.0.1:42768 [24/Nov/2026:22:16:30.951] fe3 be1t/s1 1/0/5001 0 cD 1/1/0/0/0 0/0');
});

test('option httplog clf: quoted strings, unquoted numbers, CLF header lists', (t) => {
  const rec = httpRecord({
    frontend: 'fe2',
    clientPort: 48336,
    acceptDate: Date.UTC(2026, 10, 24, 22, 16, 31, 993),
    requestDate: Date.UTC(2026, 10, 24, 22, 16, 31, 993),
    requestLine: 'GET /c HTTP/1.1',
    Tc: 0,
    Tr: 4990,
    Ta: 4995,
    retries: 0,
    requestCookie: 'SID=zz',
    responseCookie: 'SID=abc',
    requestHeaders: ['127.0.0.1:18081', 'ua "x" {y}'],
    responseHeaders: ['6'],
  });
  // Byte-for-byte what haproxy 2.6.12 logged for this request (User-Agent: ua "x" {y}).
  t.is(
    render(HTTPLOG_CLF_FORMAT, rec),
    '127.0.0.1 - - [24/Nov/2026:22:16:31 +0000] "GET /c HTTP/1.1" 200 137 "" "" 48336 993 "fe2" "be1" "s1" 0 0 0 4990 4995 ---- 1 1 0 0 0 0 0 "SID=zz" "SID=abc" "127.0.0.1:18081" "ua #22x#22 #7By#7D" "6"',
  );
});

test('option httpslog: built-in TLS fetches, plain and TLS', (t) => {
  const plain = render(HTTPSLOG_FORMAT, httpRecord());
  t.true(plain.endsWith('"GET /a/b?x=1 HTTP/1.1" 0/-/-/-/0 -/-/-'), plain);
  const tls = render(
    HTTPSLOG_FORMAT,
    httpRecord({ tls: true, sni: 'example.com', sslVersion: 'TLSv1.3', sslCipher: 'TLS_AES_256_GCM_SHA384' }),
  );
  t.true(tls.endsWith(' 0/0000000000000000/0/0/0 example.com/TLSv1.3/TLS_AES_256_GCM_SHA384'), tls);
  t.true(tls.includes(' fe1~ '));
});

test('option dontlognull drops only streams that carried no client data', (t) => {
  t.false(shouldLog(httpRecord({ bytesUploaded: 0 }), true));
  t.true(shouldLog(httpRecord({ bytesUploaded: 1 }), true));
  t.true(shouldLog(httpRecord({ bytesUploaded: 0 }), false));
});

// ------------------------------------------------------------------------------- custom formats

test('custom log-format with the common variables', (t) => {
  const fmt =
    '%ci %cp %t %tr %ft %b %s %TR %Tw %Tc %Tr %Ta %ST %B %tsc %ac %fc %bc %sc %rc %sq %bq %hr %hs %{+Q}r %HM %HU %HP %HV';
  t.is(
    render(fmt, httpRecord({ clientPort: 35654, Tc: 0, Tr: 4901, Ta: 4901, retries: 0, requestLine: 'GET /p/q?r=s%20t HTTP/1.1', uri: '/p/q?r=s%20t' })),
    '127.0.0.1 35654 24/Nov/2026:22:16:30.951 24/Nov/2026:22:16:30.951 fe1 be1 s1 0 0 0 4901 4901 200 137 ---- 1 1 0 0 0 0 0 "GET /p/q?r=s%20t HTTP/1.1" GET /p/q?r=s%20t /p/q HTTP/1.1',
  );
});

test('%o propagates flags; %{-Q} removes; dates and numbers are never quoted', (t) => {
  const rec = httpRecord({ clientPort: 35654, Tt: 4901, Ta: 4901, Tr: 4901, Tc: 0, retries: 0, logCounter: 0 });
  t.is(
    render('%{+X}cp %{+Q}b %{+Q}o %s %{-Q}b %ms %trg %T %Tl %Ts %U %Th %Ti %Tq %Tt %Tu %Td %ts %lc %f %fi %fp %si %sp %bi %bp %rt %HQ %HPO %CC %CS %ID %%', rec),
    '8B46 "be1" "s1" be1 951 24/Nov/2026:22:16:30 +0000 24/Nov/2026:22:16:30 +0000 24/Nov/2026:22:16:30 +0000 1795558590 93 0 0 0 4901 4901 0 -- 0 "fe1" "127.0.0.1" 18080 "127.0.0.1" 18001 "127.0.0.1" 42956 3 "?x=1" "/a/b" "" "" "" %',
  );
});

test('separators: runs collapse, leading ones vanish, empty variables do not double them', (t) => {
  const rec = httpRecord();
  t.is(render('  a   b %hr  %hs c ', rec), 'a b c ');
  t.is(render('%hr %hs %ci', rec), '127.0.0.1');
  t.is(render('%hr %hs %ci', httpRecord({ requestHeaders: ['h'], responseHeaders: null })), '{h} 127.0.0.1');
  t.is(render('x%hr %ci', rec), 'x 127.0.0.1');
  t.is(render('%{+Q}HM%{+Q}HM %ST%B', rec), '"GET""GET" 200137');
  t.is(render('[%HQ] [%{+Q}HQ]', httpRecord({ uri: '/noq' })), '[] [""]');
});

test('X flag: IPv4, IPv6, ports, counters, timestamp; ignored on plain numbers', (t) => {
  const v4 = httpRecord({ clientPort: 44594 });
  t.is(render('%{+X}ci %{+Q,+X}cp %{+X}Ts %{+X}ST %{+Q}ST %{+X}lc %{+X}rt %{+X}B', v4), '7F000001 AE32 6B060CBE 200 200 0000 0003 137');
  const v6 = httpRecord({ clientIp: '::1', frontendIp: '2001:db8::ffff:1.2.3.4' });
  t.is(render('%{+X}ci %{+X}fi', v6), '00000000000000000000000000000001 20010DB8000000000000FFFF01020304');
  t.is(render('%{+X}ci', httpRecord({ clientIp: '::ffff:127.0.0.1' })), '00000000000000000000FFFF7F000001');
});

test('absent values: - unquoted, "" quoted; ports too', (t) => {
  const rec = httpRecord({ serverIp: null, serverPort: -1, uniqueId: null, requestCookie: null });
  t.is(render('%si %sp %ID %CC %{+Q}si %{+Q}sp %{+Q}CC', rec), '- - - - "" "" ""');
});

test('non-printable characters, quotes and # are #XX-encoded in %r and headers (8.6)', (t) => {
  const rec = httpRecord({
    requestLine: 'GET /x\u0001"y#z\u00e9 HTTP/1.1',
    uri: '/x\u0001"y#z\u00e9',
    requestHeaders: ['a{b|c}d "e" #f'],
  });
  t.is(render('%{+Q}r %HU %hr', rec), '"GET /x#01#22y#23z#E9 HTTP/1.1" /x#01#22y#23z#E9 {a#7Bb#7Cc#7Dd #22e#22 #23f}');
  // Outside Latin-1 (decoded text): its UTF-8 bytes.
  t.is(encodeLogString('\u20ac'), '#E2#82#AC');
  t.is(encodeLogHeader('plain text'), 'plain text');
});

test('E flag escapes ", \\ and ] with a backslash; sample values are not #-encoded', (t) => {
  const v = 'a"b]c\\d#';
  const opts: CompileOptions<undefined> = { resolveSample: (e) => (e === 'var(txn.e)' ? () => v : null) };
  t.is(render('%{+E}[var(txn.e)] %{+E,+Q}[var(txn.e)] %[var(txn.e)] %{+Q}[var(txn.e)]', httpRecord(), opts), 'a\\"b\\]c\\\\d# "a\\"b\\]c\\\\d#" a"b]c\\d# "a"b]c\\d#"');
  t.is(escapeRfc5424('plain'), 'plain');
});

test('sample expressions: resolver first, built-ins next, empty → - / ""', (t) => {
  const calls: string[] = [];
  const opts: CompileOptions<{ host: string }> = {
    resolveSample: (expr) => {
      calls.push(expr);
      if (expr === 'req.hdr(host)') return (_r, ctx) => ctx.host;
      if (expr === 'bad') return { error: 'bad fetch' };
      return null;
    },
  };
  const c = compileLogFormat('%[req.hdr(host)] [%[src]] %[str(x y)] %{+Q}[str()] %[str()] %[src,ipmask(8)x', opts);
  t.false(c.ok);
  const ok = compileLogFormat('%[req.hdr(host)] [%{+Q}[src]] %[str(x y)] %{+Q}[str()] %[str()] %[dst_port] %[ssl_fc]', opts);
  if (!ok.ok) throw new Error(ok.error);
  t.is(ok.value.render(httpRecord(), { host: 'example.org' }), 'example.org ["127.0.0.1"] x y "" - 18080 0');
  t.true(calls.includes('req.hdr(host)'));
  const bad = compileLogFormat('%[bad]', opts);
  t.deepEqual(bad, { ok: false, error: 'bad fetch' });
  const unknown = compileLogFormat('%[nosuch(1)]', opts);
  t.false(unknown.ok);
  if (!unknown.ok) t.regex(unknown.error, /unknown fetch method 'nosuch'/);
  const conv = compileLogFormat('%[src,foo]');
  if (!conv.ok) t.regex(conv.error, /unknown converter 'foo'/);
  else t.fail('unknown converter accepted');
});

test('compile errors use haproxy wording', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['%zz', /^no such format variable 'zz'\. If you wanted to emit the '%' character verbatim/],
    ['%[src', /^missing ']' after 'src'\./],
    ['%ci %', /^truncated line after '%'\./],
    ['%{+Q}', /^parse argument modifier without variable name near '%\{\+Q\}'/],
    ['%{+Q', /^truncated line after '\+Q'\./],
    ['%[]', /missing fetch method/],
    ['% x', /^unexpected variable name near ' ' at position 1/],
  ];
  for (const [src, re] of cases) {
    const c = compileLogFormat(src);
    if (c.ok) t.fail(`'${src}' compiled`);
    else t.regex(c.error, re, src);
  }
});

test('unknown flags are ignored like haproxy does, with a warning', (t) => {
  const c = compileLogFormat('%{Q}r %{+Z}b');
  if (!c.ok) throw new Error(c.error);
  t.is(c.value.warnings.length, 2);
  t.is(c.value.render(httpRecord(), undefined), 'GET /a/b?x=1 HTTP/1.1 be1');
});

test('usesHttp flags HTTP-only variables', (t) => {
  const tcp = compileLogFormat(TCPLOG_FORMAT);
  const http = compileLogFormat(HTTPLOG_FORMAT);
  t.true(tcp.ok && !tcp.value.usesHttp);
  t.true(http.ok && http.value.usesHttp);
});

test('dates follow the local time zone for %t/%tr/%Tl and stay GMT for %T/%trg', (t) => {
  const saved = process.env.TZ;
  process.env.TZ = 'Asia/Kolkata';
  try {
    t.is(render('%t|%tr|%T|%Tl|%trg|%trl', httpRecord()), '25/Nov/2026:03:46:30.951|25/Nov/2026:03:46:30.951|24/Nov/2026:22:16:30 +0000|25/Nov/2026:03:46:30 +0530|24/Nov/2026:22:16:30 +0000|25/Nov/2026:03:46:30 +0530');
  } finally {
    process.env.TZ = saved;
  }
});

test('the date cache does not leak a previous second', (t) => {
  const c = compileLogFormat('%t');
  if (!c.ok) throw new Error(c.error);
  t.is(c.value.render(httpRecord({ acceptDate: ACCEPT }), undefined), '24/Nov/2026:22:16:30.951');
  t.is(c.value.render(httpRecord({ acceptDate: ACCEPT + 49 }), undefined), '24/Nov/2026:22:16:31.000');
  t.is(c.value.render(httpRecord({ acceptDate: ACCEPT + 86_400_000 }), undefined), '25/Nov/2026:22:16:30.951');
});

// ------------------------------------------------------------------------------------ property

const VAR_NAMES = ['ci', 'cp', 't', 'tr', 'ft', 'b', 's', 'TR', 'Tw', 'Tc', 'Tr', 'Ta', 'ST', 'B', 'tsc', 'ts', 'ac', 'hr', 'hs', 'hrl', 'r', 'HM', 'HU', 'HP', 'HPO', 'HQ', 'HV', 'CC', 'Tl', 'T', 'trg', 'si', 'sp', 'ID', 'rc', 'o', '[src]', '[ssl_fc_err,hex]', '[str(a b)]'];
const tokenArb = fc.oneof(
  fc.constantFrom(...VAR_NAMES).chain((v) =>
    fc.subarray(['+Q', '-Q', '+X', '+E', '-E', 'zz']).map((flags) => (flags.length > 0 ? `%{${flags.join(',')}}${v}` : `%${v}`)),
  ),
  fc.string({ maxLength: 6 }),
  fc.constantFrom(' ', '  ', '%%', '%', '%{', '%[', '"', '{', ']'),
);

test('property: compiling never throws; rendering any record never throws and equals its recompilation', (t) => {
  const recordArb = fc.record({
    clientIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('')),
    clientPort: fc.integer({ min: -1, max: 65535 }),
    acceptDate: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    requestLine: fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
    uri: fc.string({ unit: 'binary', maxLength: 30 }),
    requestHeaders: fc.option(fc.array(fc.option(fc.string({ unit: 'binary', maxLength: 10 })), { maxLength: 3 })),
    termState: fc.string({ maxLength: 5 }),
    Tr: fc.integer({ min: -1, max: 1e9 }),
    serverIp: fc.option(fc.oneof(fc.ipV4(), fc.ipV6())),
  });
  fc.assert(
    fc.property(fc.array(tokenArb, { maxLength: 12 }), recordArb, (tokens, over) => {
      const src = tokens.join('');
      const c = compileLogFormat(src);
      if (!c.ok) return typeof c.error === 'string' && c.error.length > 0;
      const rec = Object.assign(httpRecord(), over);
      const line = c.value.render(rec, undefined);
      const again = compileLogFormat(src);
      return typeof line === 'string' && again.ok && again.value.render(rec, undefined) === line;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
