// Body framing trackers. The proxy forwards body bytes unchanged; these only tell it where the
// current message ends, so the connection can carry the next one (and so a bad chunk stops the
// exchange instead of desynchronising the two sides). Neither copies data: chunk data is skipped
// by arithmetic, only size lines and trailers are looked at byte by byte.
import { COLON, CR, HEX, HT, LF, SEMI, SP, TCHAR, VALUE } from './chars.ts';
import { H1E } from './errors.ts';

// Decoder states.
const SIZE_START = 0;
const SIZE = 1;
const SIZE_WS = 2;
const EXT = 3;
const SIZE_CR = 4;
const DATA = 5;
const DATA_END = 6;
const DATA_CR = 7;
const TRAILER_START = 8;
const T_NAME = 9;
const T_VALUE = 10;
const T_CR = 11;
const END_CR = 12;
const DONE = 13;
const FAILED = 14;

/** haproxy 2.6 refuses chunk sizes of 2^52 and above (measured: 2^52-1 passes). */
const MAX_CHUNK = 2 ** 52;

export interface ChunkedOptions {
  /** Longest chunk-size line, extensions included (default: bufsize - maxrewrite = 15360). */
  maxLine?: number;
  /** Largest trailer section (default 15360, the room haproxy has for a head). */
  maxTrailers?: number;
}

/**
 * Tracks one chunked body (RFC 9112 §7.1). Accepts what haproxy 2.6 accepts: hex sizes with any
 * number of leading zeros, SP/HT before extensions, extensions of any bytes but CR/LF, bare LF as
 * a line end. Refuses bare CR, a missing CRLF after data, sizes >= 2^52, over-long lines, and
 * trailer lines that would be invalid header lines (obs-fold and control bytes included, where
 * haproxy unfolds or forwards them).
 */
export class ChunkedDecoder {
  /** Error id (H1E) once feed returned a negative value. */
  error = 0;
  #state = SIZE_START;
  #size = 0;
  #remaining = 0;
  #line = 0;
  #trailers = 0;
  readonly #maxLine: number;
  readonly #maxTrailers: number;

  constructor(opts: ChunkedOptions = {}) {
    this.#maxLine = opts.maxLine ?? 15360;
    this.#maxTrailers = opts.maxTrailers ?? 15360;
  }

  /** Prepares for the next chunked body. */
  reset(): void {
    this.#state = SIZE_START;
    this.#size = 0;
    this.#remaining = 0;
    this.#line = 0;
    this.#trailers = 0;
    this.error = 0;
  }

  /** True once the last chunk and the trailer section have been seen. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Looks at buf[offset..end). Returns how many of those bytes belong to the body (all of them,
   * unless the body ends inside: then `done` is true and the rest is the next message), or
   * -errorId (H1E). Feeding after done returns 0.
   */
  feed(buf: Uint8Array, offset = 0, end: number = buf.length): number {
    let st = this.#state;
    if (st === DONE) return 0;
    if (st === FAILED) return -this.error;
    let i = offset;
    while (i < end) {
      if (st === DATA) {
        const take = Math.min(this.#remaining, end - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) st = DATA_END;
        continue;
      }
      const b = buf[i++]!;
      switch (st) {
        case SIZE_START: {
          const d = HEX[b]!;
          if (d === 0) return this.#fail(H1E.CHUNK_SIZE_INVALID);
          this.#size = d - 1;
          this.#line = 1;
          st = SIZE;
          break;
        }
        case SIZE: {
          const d = HEX[b]!;
          if (d !== 0) {
            const s = this.#size * 16 + (d - 1);
            if (s >= MAX_CHUNK) return this.#fail(H1E.CHUNK_SIZE_TOO_BIG);
            this.#size = s;
            if (++this.#line > this.#maxLine) return this.#fail(H1E.CHUNK_LINE_TOO_LONG);
          } else if (b === CR) st = SIZE_CR;
          else if (b === LF) st = this.#sizeLineEnd();
          else if (b === SP || b === HT) st = SIZE_WS;
          else if (b === SEMI) st = EXT;
          else return this.#fail(H1E.CHUNK_SIZE_INVALID);
          break;
        }
        case SIZE_WS:
        case EXT:
          if (b === CR) st = SIZE_CR;
          else if (b === LF) st = this.#sizeLineEnd();
          else if (st === SIZE_WS && b === SEMI) st = EXT;
          else if (st === SIZE_WS && b !== SP && b !== HT) return this.#fail(H1E.CHUNK_SIZE_INVALID);
          if (++this.#line > this.#maxLine) return this.#fail(H1E.CHUNK_LINE_TOO_LONG);
          break;
        case SIZE_CR:
          if (b !== LF) return this.#fail(H1E.BARE_CR);
          st = this.#sizeLineEnd();
          break;
        case DATA_END:
          if (b === CR) st = DATA_CR;
          else if (b === LF) st = SIZE_START;
          else return this.#fail(H1E.CHUNK_DATA_NO_CRLF);
          break;
        case DATA_CR:
          if (b !== LF) return this.#fail(H1E.CHUNK_DATA_NO_CRLF);
          st = SIZE_START;
          break;
        case TRAILER_START:
          if (b === CR) st = END_CR;
          else if (b === LF) {
            this.#state = DONE;
            return i - offset;
          } else if (TCHAR[b] === 1) st = T_NAME;
          else return this.#fail(H1E.TRAILER_INVALID);
          break;
        case T_NAME:
          if (b === COLON) st = T_VALUE;
          else if (TCHAR[b] !== 1) return this.#fail(H1E.TRAILER_INVALID);
          break;
        case T_VALUE:
          if (b === CR) st = T_CR;
          else if (b === LF) st = TRAILER_START;
          else if (VALUE[b] !== 1) return this.#fail(H1E.TRAILER_INVALID);
          break;
        case T_CR:
          if (b !== LF) return this.#fail(H1E.BARE_CR);
          st = TRAILER_START;
          break;
        default: // END_CR
          if (b !== LF) return this.#fail(H1E.BARE_CR);
          this.#state = DONE;
          return i - offset;
      }
      if (st >= TRAILER_START && ++this.#trailers > this.#maxTrailers) return this.#fail(H1E.TRAILERS_TOO_LARGE);
    }
    this.#state = st;
    return i - offset;
  }

  #sizeLineEnd(): number {
    if (this.#size === 0) return TRAILER_START;
    this.#remaining = this.#size;
    return DATA;
  }

  #fail(id: number): number {
    this.#state = FAILED;
    this.error = id;
    return -id;
  }
}

/** Tracks a Content-Length body: how much of each chunk belongs to it, and when it is over. */
export class LengthCounter {
  remaining = 0;

  reset(contentLength: number): void {
    this.remaining = contentLength;
  }

  /** Given `available` bytes, returns how many belong to the body (the rest is the next message). */
  feed(available: number): number {
    const take = available < this.remaining ? available : this.remaining;
    this.remaining -= take;
    return take;
  }

  get done(): boolean {
    return this.remaining === 0;
  }
}
