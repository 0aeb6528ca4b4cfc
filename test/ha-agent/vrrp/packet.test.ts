import test from 'ava';
import * as fc from 'fast-check';
import { createHmac } from 'node:crypto';
import type { Advert, AdvertAuth, DecodeExpect } from '../../../ha-agent/vrrp/packet.ts';
import {
  ADVERT_DROP_REASONS,
  AdvertCodecError,
  ReplayGuard,
  checkTtl,
  decodeAdvert,
  encodeAdvert,
  newBootId,
  vipSetCount,
  vipSetDigest,
} from '../../../ha-agent/vrrp/packet.ts';

const VIPS = ['198.18.0.100/24', '2001:db8::100/64'];
const digest = vipSetDigest(VIPS);
const HMAC: AdvertAuth = { type: 'hmac', key: Buffer.from('a key of some length, 32 bytes!!') };
const PASS: AdvertAuth = { type: 'pass', password: 'mysecret' };
const NONE: AdvertAuth = { type: 'none' };

function advert(over: Partial<Advert> = {}): Advert {
  return {
    role: 'master',
    vrid: 51,
    priority: 101,
    intervalCs: 10,
    sender: '198.18.0.1',
    vipCount: 2,
    vipDigest: digest,
    bootId: 0x0123_4567_89ab_cdefn,
    seq: 1,
    ...over,
  };
}

function expect(auth: AdvertAuth, over: Partial<DecodeExpect> = {}): DecodeExpect {
  return { vrid: 51, auth, vipDigest: digest, ...over };
}

test('round trip with each auth type, IPv4 and IPv6 senders', (t) => {
  for (const auth of [NONE, PASS, HMAC]) {
    for (const sender of ['198.18.0.1', '2001:db8::1']) {
      const a = advert({ sender, role: 'backup', priority: 0, seq: 42 });
      const r = decodeAdvert(encodeAdvert(a, auth), expect(auth));
      t.true(r.ok, `${auth.type} ${sender}`);
      if (!r.ok) continue;
      t.is(r.advert.role, 'backup');
      t.is(r.advert.priority, 0);
      t.is(r.advert.seq, 42);
      t.is(r.advert.bootId, a.bootId);
      t.is(r.advert.intervalCs, 10);
      t.is(r.advert.vipCount, 2);
      t.is(r.advert.sender, sender === '198.18.0.1' ? sender : '2001:db8:0:0:0:0:0:1');
    }
  }
});

test('byte layout matches the table at the top of packet.ts', (t) => {
  const buf = encodeAdvert(advert({ seq: 7 }), NONE);
  t.is(buf.length, 66);
  t.is(buf.toString('latin1', 0, 4), 'HAVR');
  t.is(buf[4], 1);
  t.is(buf[5], 1); // master flag
  t.is(buf[6], 51);
  t.is(buf[7], 101);
  t.is(buf.readUInt16BE(8), 10);
  t.is(buf[10], 4);
  t.is(buf[11], 0);
  t.is(buf.readBigUInt64BE(12), 0x0123_4567_89ab_cdefn);
  t.is(buf.readBigUInt64BE(20), 7n);
  t.is(buf.readUInt16BE(28), 2);
  t.deepEqual(buf.subarray(30, 62), digest);
  t.deepEqual([...buf.subarray(62, 66)], [198, 18, 0, 1]);
  t.is(encodeAdvert(advert(), PASS).length, 74);
  t.is(encodeAdvert(advert(), HMAC).length, 98);
  t.is(encodeAdvert(advert({ sender: '2001:db8::1' }), HMAC).length, 110);
  // PASS: keepalived keeps 8 bytes, zero padded, in clear.
  t.deepEqual(encodeAdvert(advert(), { type: 'pass', password: 'abc' }).subarray(66), Buffer.from('abc\0\0\0\0\0'));
  // HMAC: over every byte before the tag.
  const h = encodeAdvert(advert(), HMAC);
  const key = HMAC.type === 'hmac' ? HMAC.key : Buffer.alloc(0);
  t.deepEqual(h.subarray(66), createHmac('sha256', key).update(h.subarray(0, 66)).digest());
});

test('VIP digest ignores order, duplicates, spelling and prefix; differs for another set', (t) => {
  t.deepEqual(vipSetDigest(['2001:DB8:0::100/128', '198.18.0.100', '198.18.0.100/32']), digest);
  t.is(vipSetCount(['198.18.0.100', '198.18.0.100/32']), 1);
  t.notDeepEqual(vipSetDigest(['198.18.0.101/24', '2001:db8::100/64']), digest);
  t.throws(() => vipSetDigest(['not-an-ip']), { instanceOf: AdvertCodecError });
});

test('drop reasons: short, bad-magic, bad-version, malformed', (t) => {
  const good = encodeAdvert(advert(), NONE);
  const reason = (b: Uint8Array, e = expect(NONE)) => {
    const r = decodeAdvert(b, e);
    return r.ok ? 'ok' : r.reason;
  };
  t.is(reason(Buffer.alloc(0)), 'short');
  t.is(reason(good.subarray(0, 65)), 'short');
  const magic = Buffer.from(good);
  magic[0] = 0x47;
  t.is(reason(magic), 'bad-magic');
  const ver = Buffer.from(good);
  ver[4] = 2;
  t.is(reason(ver), 'bad-version');
  const flags = Buffer.from(good);
  flags[5] = 0x81;
  t.is(reason(flags), 'malformed');
  const fam = Buffer.from(good);
  fam[10] = 5;
  t.is(reason(fam), 'malformed');
  const authCode = Buffer.from(good);
  authCode[11] = 9;
  t.is(reason(authCode), 'malformed');
  t.is(reason(Buffer.concat([good, Buffer.alloc(1)])), 'malformed');
  const fam6 = Buffer.from(good);
  fam6[10] = 6; // claims IPv6 but carries 4 address bytes
  t.is(reason(fam6), 'short');
  const hugeSeq = Buffer.from(good);
  hugeSeq.writeBigUInt64BE(2n ** 60n, 20);
  t.is(reason(hugeSeq), 'malformed');
});

test('drop reasons: wrong-vrid, wrong-vip-set, bad-interval, sender-mismatch', (t) => {
  const reason = (b: Uint8Array, e: DecodeExpect) => {
    const r = decodeAdvert(b, e);
    return r.ok ? 'ok' : r.reason;
  };
  t.is(reason(encodeAdvert(advert({ vrid: 52 }), NONE), expect(NONE)), 'wrong-vrid');
  t.is(reason(encodeAdvert(advert({ vipDigest: vipSetDigest(['198.18.0.7']) }), NONE), expect(NONE)), 'wrong-vip-set');
  const zeroInt = encodeAdvert(advert(), NONE);
  zeroInt.writeUInt16BE(0, 8);
  t.is(reason(zeroInt, expect(NONE)), 'bad-interval');
  zeroInt.writeUInt16BE(4096, 8);
  t.is(reason(zeroInt, expect(NONE)), 'bad-interval');
  t.is(reason(encodeAdvert(advert({ intervalCs: 100 }), NONE), expect(NONE, { intervalCs: 10 })), 'bad-interval');
  t.is(reason(encodeAdvert(advert({ intervalCs: 100 }), NONE), expect(NONE)), 'ok');
  t.is(reason(encodeAdvert(advert(), NONE), expect(NONE, { source: '198.18.0.9' })), 'sender-mismatch');
  t.is(reason(encodeAdvert(advert(), NONE), expect(NONE, { source: '198.18.0.1' })), 'ok');
});

test('authentication: missing, type mismatch, PASS mismatch, HMAC forged or tampered', (t) => {
  const reason = (b: Uint8Array, e: DecodeExpect) => {
    const r = decodeAdvert(b, e);
    return r.ok ? 'ok' : r.reason;
  };
  t.is(reason(encodeAdvert(advert(), NONE), expect(HMAC)), 'auth-missing');
  t.is(reason(encodeAdvert(advert(), NONE), expect(PASS)), 'auth-missing');
  t.is(reason(encodeAdvert(advert(), PASS), expect(HMAC)), 'auth-type-mismatch');
  t.is(reason(encodeAdvert(advert(), HMAC), expect(NONE)), 'auth-type-mismatch');
  t.is(reason(encodeAdvert(advert(), { type: 'pass', password: 'other' }), expect(PASS)), 'auth-mismatch');
  // keepalived compares 8 bytes only: a longer password with the same first 8 bytes matches.
  t.is(reason(encodeAdvert(advert(), { type: 'pass', password: 'mysecret-and-more' }), expect(PASS)), 'ok');
  t.is(reason(encodeAdvert(advert(), { type: 'hmac', key: Buffer.from('another key') }), expect(HMAC)), 'hmac-mismatch');
  // Tampering with any covered byte (here: raise the priority) breaks the tag.
  const tampered = encodeAdvert(advert(), HMAC);
  tampered[7] = 255;
  t.is(reason(tampered, expect(HMAC)), 'hmac-mismatch');
  // PASS protects nothing: an attacker who saw one advert forges any priority.
  const forged = encodeAdvert(advert(), PASS);
  forged[7] = 255;
  t.is(reason(forged, expect(PASS)), 'ok');
});

test('replay guard: sequence must grow per boot id; a new boot is a restart; an old boot stays dead', (t) => {
  const g = new ReplayGuard();
  const e = expect(HMAC, { replay: g });
  const send = (bootId: bigint, seq: number) => {
    const r = decodeAdvert(encodeAdvert(advert({ bootId, seq }), HMAC), e);
    return r.ok ? 'ok' : r.reason;
  };
  t.is(send(1n, 1), 'ok');
  t.is(send(1n, 2), 'ok');
  t.is(send(1n, 2), 'replay', 'same sequence replayed');
  t.is(send(1n, 1), 'replay', 'older sequence');
  t.is(send(2n, 1), 'ok', 'restart with a new boot id starts over');
  t.is(send(1n, 99), 'replay', 'old boot id after a newer one');
  t.is(send(2n, 2), 'ok');
  // Another sender has its own history.
  const other = decodeAdvert(encodeAdvert(advert({ bootId: 1n, seq: 1, sender: '198.18.0.2' }), HMAC), e);
  t.true(other.ok);
  // Forged adverts are dropped before they can poison the guard.
  const forged = encodeAdvert(advert({ bootId: 3n, seq: 1 }), { type: 'hmac', key: Buffer.from('x') });
  t.false(decodeAdvert(forged, e).ok);
  t.is(send(2n, 3), 'ok', 'boot 2 still current after a forged boot 3');
});

test('replay guard memory is bounded', (t) => {
  const g = new ReplayGuard({ maxSenders: 4, maxRetired: 2 });
  for (let i = 0; i < 100; i++) t.true(g.accept(`198.18.1.${i}`, 1n, 1));
  t.is(g.size, 4);
  t.true(g.accept('198.18.0.1', 1n, 1));
  t.true(g.accept('198.18.0.1', 2n, 1));
  t.true(g.accept('198.18.0.1', 3n, 1));
  t.true(g.accept('198.18.0.1', 4n, 1));
  t.false(g.accept('198.18.0.1', 3n, 5), 'recently retired boot id refused');
});

test('encode refuses values a correct agent never produces', (t) => {
  for (const bad of [
    advert({ vrid: 0 }),
    advert({ vrid: 256 }),
    advert({ priority: 256 }),
    advert({ priority: -1 }),
    advert({ intervalCs: 0 }),
    advert({ intervalCs: 4096 }),
    advert({ sender: 'eth0' }),
    advert({ seq: -1 }),
    advert({ seq: 1.5 }),
    advert({ vipDigest: Buffer.alloc(3) }),
    advert({ bootId: 2n ** 64n }),
  ]) {
    t.throws(() => encodeAdvert(bad, NONE), { instanceOf: AdvertCodecError, message: /cannot encode/ });
  }
  t.throws(() => encodeAdvert(advert(), { type: 'hmac', key: Buffer.alloc(0) }), { instanceOf: AdvertCodecError });
});

test('checkTtl: 255 passes, anything else is bad-ttl, unknown is accepted but marked unchecked', (t) => {
  t.deepEqual(checkTtl(255), { ok: true, checked: true });
  t.deepEqual(checkTtl(254), { ok: false, reason: 'bad-ttl' });
  t.deepEqual(checkTtl(1), { ok: false, reason: 'bad-ttl' });
  t.deepEqual(checkTtl(undefined), { ok: true, checked: false });
});

test('boot ids are random 64-bit values', (t) => {
  const a = newBootId();
  const b = newBootId();
  t.not(a, b);
  t.true(a >= 0n && a < 2n ** 64n);
});

test('property: decode never throws and always gives a known verdict, on garbage and on mutated adverts', (t) => {
  const reasons = new Set<string>(ADVERT_DROP_REASONS);
  const good = [encodeAdvert(advert(), NONE), encodeAdvert(advert(), PASS), encodeAdvert(advert(), HMAC)];
  const datagram = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc
      .record({
        base: fc.constantFrom(...good),
        edits: fc.array(fc.tuple(fc.nat(120), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        cut: fc.option(fc.nat(120)),
      })
      .map(({ base, edits, cut }) => {
        const b = Buffer.from(base);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        return cut === null ? b : b.subarray(0, cut);
      }),
  );
  fc.assert(
    fc.property(datagram, fc.constantFrom(NONE, PASS, HMAC), (buf, auth) => {
      const r = decodeAdvert(buf, expect(auth, { replay: new ReplayGuard() }));
      if (!r.ok) return reasons.has(r.reason);
      // Whatever was accepted must re-encode to the same bytes (nothing was silently ignored).
      return Buffer.from(buf).equals(encodeAdvert(r.advert, auth));
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: HMAC rejects every single-byte change', (t) => {
  const base = encodeAdvert(advert(), HMAC);
  fc.assert(
    fc.property(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const b = Buffer.from(base);
      b[i] = (b[i] ?? 0) ^ x;
      return !decodeAdvert(b, expect(HMAC)).ok;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('the released flag (bit 1) round-trips, covered by the HMAC; other flag bits stay malformed', (t) => {
  const b = encodeAdvert(advert({ role: 'backup', released: true }), HMAC);
  t.is(b[5], 0x02);
  const r = decodeAdvert(b, expect(HMAC));
  t.true(r.ok && r.advert.released === true && r.advert.role === 'backup');
  const plain = decodeAdvert(encodeAdvert(advert(), HMAC), expect(HMAC));
  t.true(plain.ok && plain.advert.released === false);
  const forged = Buffer.from(encodeAdvert(advert({ role: 'backup' }), HMAC));
  forged[5] = 0x02; // set the flag without the key
  const f = decodeAdvert(forged, expect(HMAC));
  t.false(f.ok);
  const bit2 = Buffer.from(encodeAdvert(advert(), NONE));
  bit2[5] = 0x04;
  const m = decodeAdvert(bit2, expect(NONE));
  t.true(!m.ok && m.reason === 'malformed');
});
