/**
 * HAProxy's key hash functions (`hash-type ... sdbm|djb2|wt6|crc32 [avalanche]`), written from the
 * algorithms' published descriptions so that a key lands on the same server as under HAProxy.
 *
 * Every function hashes the bytes of `s` in [start, end): a string holding one byte per char
 * (HTTP heads decoded as latin1), so the hot path never allocates a Buffer. All arithmetic is
 * unsigned 32-bit: `Math.imul` for products and `>>> 0` to bring sums back into [0, 2^32).
 */

/** A hash of s[start, end) as an unsigned 32-bit integer. */
export type HashFn = (s: string, start: number, end: number) => number;

/**
 * sdbm (from the sdbm database library): h = h * 65599 + c for each byte, starting at 0.
 * 65599 = 2^16 + 2^6 - 1, which is why it is usually written with two shifts and a subtraction.
 */
export function sdbm(s: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, 65599) + (s.charCodeAt(i) & 0xff)) >>> 0;
  return h;
}

/** djb2 (Dan Bernstein, comp.lang.c): h = h * 33 + c for each byte, starting at 5381. */
export function djb2(s: string, start: number, end: number): number {
  let h = 5381;
  for (let i = start; i < end; i++) h = (Math.imul(h, 33) + (s.charCodeAt(i) & 0xff)) >>> 0;
  return h;
}

/**
 * wt6, designed for HAProxy: two 32-bit lanes seeded with fixed patterns. Each byte is mixed into
 * one lane by xor-then-complement and into the other by add-then-complement; the lanes then swap
 * while being rotated left by two data-dependent amounts (initially 6 and 18), and the next
 * rotation amounts are taken from the low 16 bits of (h0 >> 16) ^ h1 (5 low bits and the top 5).
 * The result is the xor of the lanes. Checked against haproxy 2.6's `wt6` converter in the tests.
 */
export function wt6(s: string, start: number, end: number): number {
  let h0 = 0xa53c965a;
  let h1 = 0x5ca6953a;
  let step0 = 6;
  let step1 = 18;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) & 0xff;
    h0 = ~(h0 ^ c);
    h1 = ~(h1 + c);
    // A rotation by 0 must leave the value unchanged: (x >>> 32) is x in JS, hence the guards.
    const t = step0 === 0 ? h1 : (h1 << step0) | (h1 >>> (32 - step0));
    h1 = step1 === 0 ? h0 : (h0 << step1) | (h0 >>> (32 - step1));
    h0 = t;
    const m = ((h0 >>> 16) ^ h1) & 0xffff;
    step0 = m & 0x1f;
    step1 = m >>> 11;
  }
  return (h0 ^ h1) >>> 0;
}

/** The reflected CRC-32 table for polynomial 0xEDB88320 (Ethernet, gzip, PNG). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as in Ethernet/gzip/PNG: initial value all ones, reflected, final complement. */
export function crc32(s: string, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The `avalanche` modifier: Bob Jenkins' 4-byte full-avalanche integer hash (six add/xor-shift
 * rounds with fixed constants), so that every input bit flips each output bit with probability
 * about 1/2, then (since HAProxy 1.9-ish, and in the 2.6 we compare against) a final product by
 * the prime 3221225473 = 0xC0000001, which only stirs the two top bits (a + a<<30 + a<<31) so
 * values spread better around the consistent-hash ring. HAProxy also hashes ring node keys
 * with it. Checked against haproxy 2.6's `sdbm(1)`/`djb2(1)`/... converters in the tests.
 */
export function fullHash(a: number): number {
  a = (a + 0x7ed55d16 + (a << 12)) | 0;
  a = a ^ 0xc761c23c ^ (a >>> 19);
  a = (a + 0x165667b1 + (a << 5)) | 0;
  a = ((a + 0xd3a2646c) | 0) ^ (a << 9);
  a = (a + 0xfd7046c5 + (a << 3)) | 0;
  a = a ^ 0xb55a4f09 ^ (a >>> 16);
  return Math.imul(a, 0xc0000001 | 0) >>> 0;
}

/** Keyword → function, for `hash-type <method> <function>`. */
export const HASH_FUNCTIONS: Readonly<Record<string, HashFn>> = { sdbm, djb2, wt6, crc32 };
