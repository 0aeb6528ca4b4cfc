// ClientHello parsing from real node:tls ClientHellos (captured by a plain TCP server that never
// answers), fed whole, at every split point, re-framed into several records, and fuzzed.
import net from 'node:net';
import tls from 'node:tls';
import test from 'ava';
import * as fc from 'fast-check';
import { parseClientHello } from '../../lb/tls/client-hello.ts';

/** Connects with node:tls to a TCP server that only records, and returns the first flight. */
async function captureHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const parts: Buffer[] = [];
  let conn: net.Socket | undefined;
  const server = net.createServer((s) => {
    conn = s;
    s.on('data', (d: Buffer) => parts.push(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
  client.on('error', () => {});
  const deadline = performance.now() + 3000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    if (parseClientHello(Buffer.concat(parts)).status !== 'need-more') break;
  }
  client.destroy();
  conn?.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return Buffer.concat(parts);
}

/** Re-frames a single-record ClientHello into records of at most `size` handshake bytes. */
function reframe(rec: Buffer, size: number): Buffer {
  const body = rec.subarray(5);
  const out: Buffer[] = [];
  for (let o = 0; o < body.length; o += size) {
    const frag = body.subarray(o, o + size);
    const h = Buffer.from([22, rec[1] ?? 3, rec[2] ?? 1, frag.length >> 8, frag.length & 0xff]);
    out.push(h, frag);
  }
  return Buffer.concat(out);
}

let helloH2: Buffer;
let helloNoSni: Buffer;
let helloTls12: Buffer;

test.before(async () => {
  helloH2 = await captureHello({ servername: 'db.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
  helloNoSni = await captureHello({});
  helloTls12 = await captureHello({ servername: 'legacy.example.org', maxVersion: 'TLSv1.2' });
});

test('real ClientHello: SNI, ALPN, versions', (t) => {
  const r = parseClientHello(helloH2);
  if (r.status !== 'ok') {
    t.fail(JSON.stringify(r));
    return;
  }
  t.is(r.hello.sni, 'db.example.com');
  t.deepEqual(r.hello.alpn, ['h2', 'http/1.1']);
  t.true(r.hello.versions.includes(0x0304), 'TLS 1.3 offered');
  t.true(r.hello.versions.includes(0x0303));
  t.is(r.hello.legacyVersion, 0x0303);
  t.true(r.hello.cipherSuites > 3);
  t.is(r.hello.length, helloH2.length);
});

test('no servername (IP address target): sni undefined, no ALPN', (t) => {
  const r = parseClientHello(helloNoSni);
  if (r.status !== 'ok') {
    t.fail(JSON.stringify(r));
    return;
  }
  t.is(r.hello.sni, undefined);
  t.deepEqual(r.hello.alpn, []);
});

test('TLS 1.2-only client: no TLS 1.3 in versions', (t) => {
  const r = parseClientHello(helloTls12);
  if (r.status !== 'ok') {
    t.fail(JSON.stringify(r));
    return;
  }
  t.is(r.hello.sni, 'legacy.example.org');
  t.false(r.hello.versions.includes(0x0304));
});

test('every prefix is need-more, the whole is ok (byte-by-byte arrival)', (t) => {
  for (let n = 0; n < helloH2.length; n++) {
    const r = parseClientHello(helloH2.subarray(0, n));
    if (r.status !== 'need-more') {
    t.fail(`prefix ${n}: ${JSON.stringify(r)}`);
    return;
  }
  }
  t.is(parseClientHello(helloH2).status, 'ok');
});

test('a ClientHello split over several records is reassembled, at every prefix too', (t) => {
  for (const size of [1, 7, 100, 512]) {
    const multi = reframe(helloH2, size);
    const r = parseClientHello(multi);
    if (r.status !== 'ok') {
    t.fail(`size ${size}: ${JSON.stringify(r)}`);
    return;
  }
    t.is(r.hello.sni, 'db.example.com');
    t.is(r.hello.length, multi.length);
  }
  const multi = reframe(helloH2, 100);
  for (let n = 0; n < multi.length; n++) {
    if (parseClientHello(multi.subarray(0, n)).status !== 'need-more') {
    t.fail(`prefix ${n}`);
    return;
  }
  }
});

test('non-TLS and malformed input is rejected early', (t) => {
  t.is(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).status, 'invalid');
  t.is(parseClientHello(Buffer.from([22, 2, 0])).status, 'invalid', 'SSLv2-ish version');
  t.is(parseClientHello(Buffer.from([22, 3, 1, 0, 0])).status, 'invalid', 'empty record');
  t.is(parseClientHello(Buffer.from([22, 3, 1, 0x40, 1])).status, 'invalid', 'record over 2^14');
  t.is(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 2])).status, 'invalid', 'ServerHello, not ClientHello');
  // Corrupt the extensions length: the message no longer adds up.
  const bad = Buffer.from(helloH2);
  const sidLen = bad[5 + 4 + 34] ?? 0;
  const csOff = 5 + 4 + 35 + sidLen;
  const csLen = bad.readUInt16BE(csOff);
  const compOff = csOff + 2 + csLen;
  const extOff = compOff + 1 + (bad[compOff] ?? 0);
  bad.writeUInt16BE(bad.readUInt16BE(extOff) + 1, extOff);
  t.is(parseClientHello(bad).status, 'invalid');
  // An oversized hello is refused once its declared size exceeds the bound.
  t.is(parseClientHello(helloH2, { maxBytes: 100 }).status, 'invalid');
});

test('fuzz: never throws, on random bytes and on mutated real hellos', (t) => {
  const check = (b: Uint8Array): boolean => {
    const r = parseClientHello(b);
    return r.status === 'ok' || r.status === 'need-more' || r.status === 'invalid';
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 3000 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => check(Buffer.concat([Buffer.from([22, 3, 1, 1, 0, 1, 0, 0, 0xfc]), tail]))),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(helloH2.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(helloH2.length), (muts, cut) => {
      const b = Buffer.from(helloH2);
      for (const [i, v] of muts) b[i] = v;
      return check(b) && check(b.subarray(0, cut));
    }),
    { numRuns: 5000 },
  );
  t.pass();
});
