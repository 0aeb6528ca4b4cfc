// Byte classes for the HTTP/1 parsers, as 256-entry lookup tables: one indexed load per byte is
// the cheapest test V8 can do in the hot loops (no branches on ranges, no string work).

export const HT = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const COMMA = 0x2c;

function table(pred: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = pred(b) ? 1 : 0;
  return t;
}

/** RFC 9110 tchar: the bytes allowed in a method and a header name. */
export const TCHAR: Uint8Array = table(
  (b) =>
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)),
);

/**
 * Header value bytes that need no further look: SP, HT, VCHAR and obs-text. Everything else stops
 * the value loop: CR and LF (line end), and the rejected ones (NUL, other CTLs, DEL). HAProxy 2.6
 * forwards NUL and CTLs in values; we refuse them on purpose (RFC 9110 §5.5: NUL must be refused).
 */
export const VALUE: Uint8Array = table((b) => b === SP || b === HT || (b >= 0x21 && b !== 0x7f));

/**
 * Request-target bytes, as HAProxy 2.6 accepts them (measured): 0x21-0x7f except '#'. Space, CTLs,
 * '#' and bytes >= 0x80 answer 400; quotes, braces, backslash, '<' '>' and DEL are forwarded.
 */
export const URI: Uint8Array = table((b) => b >= 0x21 && b <= 0x7f && b !== 0x23);

/** Hex digit value + 1 (0 = not a hex digit), for chunk sizes. */
export const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let d = 0; d < 10; d++) t[0x30 + d] = d + 1;
  for (let d = 0; d < 6; d++) {
    t[0x41 + d] = d + 11;
    t[0x61 + d] = d + 11;
  }
  return t;
})();

/**
 * Compares buf[start..end) with an all-lowercase ASCII string, ignoring the case of letters in buf.
 * OR-ing 0x20 folds letters only; `lower` never holds a byte where that folding would collide
 * (its non-letters are '-', digits and the like, whose bit 0x20 is already set).
 */
export function eqLower(buf: Uint8Array, start: number, end: number, lower: string): boolean {
  const n = lower.length;
  if (end - start !== n) return false;
  for (let k = 0; k < n; k++) {
    const b = buf[start + k]!;
    const c = lower.charCodeAt(k);
    if (b !== c && (b | 0x20) !== c) return false;
  }
  return true;
}
