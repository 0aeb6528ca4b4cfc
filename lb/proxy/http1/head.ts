// The part of HTTP/1 head parsing shared by requests and responses: incremental assembly of a head
// from socket chunks, the field-line loop, framing headers, and the header read/edit API used by
// rules. One H1Head lives per connection and is reused for every message on it: parsing allocates
// nothing when a head arrives in one chunk (the common case); names and values stay offsets into
// the chunk until somebody asks for a string.
import { COLON, COMMA, CR, eqLower, HT, LF, SP, TCHAR, VALUE } from './chars.ts';
import { H1Error, H1E } from './errors.ts';

/** How the body of a parsed message is delimited. */
export const Body = {
  /** No body: requests without CL/TE, HEAD/1xx/204/304 responses, Content-Length: 0. */
  NONE: 0,
  /** Exactly `contentLength` bytes follow. */
  LENGTH: 1,
  /** Chunked transfer coding: feed the bytes to a ChunkedDecoder to find the end. */
  CHUNKED: 2,
  /** Response without length: the body runs until the server closes (connection not reusable). */
  UNTIL_CLOSE: 3,
} as const;
export type BodyKind = (typeof Body)[keyof typeof Body];

export interface H1Options {
  /** tune.bufsize (HAProxy default 16384). */
  bufsize?: number;
  /** tune.maxrewrite (HAProxy default 1024); a head must fit in bufsize - maxrewrite bytes. */
  maxrewrite?: number;
  /**
   * tune.http.maxhdr (HAProxy default 101). As measured on haproxy 2.6, a head may carry
   * maxhdr - 1 field lines: 100 pass, 101 answer 400 (or 502 for a response).
   */
  maxhdr?: number;
}

// Parse states of one message.
const S_IDLE = 0;
const S_PARTIAL = 1;
const S_COMPLETE = 2;
const S_ERROR = 3;

const MAX_CL = Number.MAX_SAFE_INTEGER;

/** Result of H1Head.feed when more bytes are needed (every byte given was absorbed). */
export const NEED_MORE = 0;

export abstract class H1Head {
  /** Buffer holding the parsed head: the chunk it arrived in, or a private one if it was split. */
  buf: Buffer = EMPTY;
  /** Offsets of the head in `buf`: start line up to and including the empty line. */
  start = 0;
  end = 0;
  /** 10 for HTTP/1.0 (and 0.x), 11 for HTTP/1.1 and above (haproxy 2.6 treats 1.2..9.9 as 1.1). */
  version = 11;
  /** Number of field lines in the original head. */
  headerCount = 0;
  /** [nameStart, nameEnd, valueStart, valueEnd] per field line (value trimmed of OWS). */
  readonly fields: Int32Array;
  bodyKind: BodyKind = Body.NONE;
  /** Body length for Body.LENGTH, else -1. */
  contentLength = -1;
  /** Whether the connection may carry another message after this one (version and Connection). */
  keepAlive = true;
  /** Connection header tokens. */
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** Index of the first Host / Upgrade field line, or -1. */
  hostIndex = -1;
  upgradeIndex = -1;
  /** Transfer-Encoding was present (then bodyKind is CHUNKED: anything else is an error). */
  hasTransferEncoding = false;
  /**
   * The original bytes are valid but not in the canonical form we want a server or client to see
   * (bare LF line ends, tabs or repeated spaces in the start line, version other than 1.0/1.1):
   * serialize instead of forwarding them verbatim, as haproxy re-emits every head it parses.
   */
  mustRewrite = false;
  /** Error id (H1E) after feed returned a negative value, else 0. */
  error = 0;

  protected readonly maxHead: number;
  protected readonly maxFields: number;
  protected state = S_IDLE;
  protected secWsKey = false;
  #clCount = 0;
  #teChunked = false;
  #teOther = false;

  // Split heads are assembled here; a fresh buffer each time one completes, since the proxy may
  // still be writing the previous head straight from it.
  #pending: Buffer | null = null;
  #pendingLen = 0;
  #scanFrom = 0;

  // Edits applied by rules (see set/add/del). Untouched until the first edit of a message.
  modified = false;
  #deleted: Uint8Array;
  #replaced: (string | undefined)[] = [];
  #added: (string | undefined)[] = [];
  #editsUsed = false;

  constructor(opts: H1Options = {}) {
    const bufsize = opts.bufsize ?? 16384;
    const maxrewrite = opts.maxrewrite ?? 1024;
    this.maxHead = bufsize - maxrewrite;
    if (!(this.maxHead > 0)) throw new H1Error('ERR_H1_BAD_OPTIONS', 'tune.bufsize must exceed tune.maxrewrite');
    this.maxFields = (opts.maxhdr ?? 101) - 1;
    this.fields = new Int32Array(this.maxFields * 4);
    this.#deleted = new Uint8Array(this.maxFields);
  }

  /** Parses the start line at buf[s..len) then the fields; same return convention as parseFields. */
  protected abstract parseHead(buf: Buffer, s: number, len: number): number;

  /** Clears per-message facts before a new message. Subclasses extend it. */
  protected clear(): void {
    this.state = S_IDLE;
    this.headerCount = 0;
    this.bodyKind = Body.NONE;
    this.contentLength = -1;
    this.keepAlive = true;
    this.connClose = false;
    this.connKeepAlive = false;
    this.connUpgrade = false;
    this.hostIndex = -1;
    this.upgradeIndex = -1;
    this.hasTransferEncoding = false;
    this.mustRewrite = false;
    this.error = 0;
    this.secWsKey = false;
    this.#clCount = 0;
    this.#teChunked = false;
    this.#teOther = false;
    if (this.#editsUsed) {
      this.#deleted.fill(0);
      this.#replaced.length = 0;
      this.#added.length = 0;
      this.#editsUsed = false;
    }
    this.modified = false;
  }

  /** True once a whole head has been parsed (until the next message starts). */
  get complete(): boolean {
    return this.state === S_COMPLETE;
  }

  /**
   * Feeds bytes chunk[offset..] as they came from the socket. Returns:
   *  > 0: the head is complete; that many bytes of chunk (from offset) belong to it, the rest is
   *       body or the next pipelined message;
   *  0 (NEED_MORE): every byte was absorbed, the head is not complete yet;
   *  < 0: -errorId (H1E), also kept in `error`; the connection must not be reused.
   * After a complete head or an error, the next feed starts a new message. The parsed head stays
   * valid until then. Empty lines before a start line are skipped, as RFC 9112 §2.2 allows.
   */
  feed(chunk: Buffer, offset = 0): number {
    if (this.state >= S_COMPLETE) this.clear();
    const len = chunk.length;
    if (this.#pendingLen === 0) {
      let s = offset;
      for (;;) {
        const b = chunk[s];
        if (b === LF) s++;
        else if (b === CR && chunk[s + 1] === LF) s += 2;
        else break;
      }
      if (s >= len) return NEED_MORE;
      if (chunk[s] === CR && s + 1 === len) {
        // A CR that may start an empty line: wait for the next byte.
        this.#stash(chunk, s, len);
        return NEED_MORE;
      }
      const r = this.parseHead(chunk, s, len);
      if (r > 0) {
        if (r - s > this.maxHead) return this.#fail(H1E.TOO_LARGE);
        return this.#done(chunk, s, r) - offset;
      }
      if (r < 0) return this.#fail(-r);
      if (len - s >= this.maxHead) return this.#fail(H1E.TOO_LARGE);
      this.#stash(chunk, s, len);
      return NEED_MORE;
    }
    return this.#feedPending(chunk, offset, len);
  }

  #fail(id: number): number {
    this.state = S_ERROR;
    this.error = id;
    this.#pendingLen = 0;
    return -id;
  }

  #done(buf: Buffer, s: number, e: number): number {
    this.buf = buf;
    this.start = s;
    this.end = e;
    this.state = S_COMPLETE;
    return e;
  }

  #stash(chunk: Buffer, s: number, len: number): void {
    const n = len - s;
    let p = this.#pending;
    if (p === null || p.length < n) {
      p = Buffer.allocUnsafe(Math.min(this.maxHead, Math.max(1024, n * 2)));
      this.#pending = p;
    }
    chunk.copy(p, 0, s, len);
    this.#pendingLen = n;
    this.#scanFrom = 0;
    this.state = S_PARTIAL;
  }

  #feedPending(chunk: Buffer, offset: number, len: number): number {
    let p = this.#pending ?? EMPTY;
    const old = this.#pendingLen;
    if (old === 1 && p[0] === CR) {
      // Only a CR was pending: it either ends an empty line before the start line, or is bare.
      if (chunk[offset] !== LF) return this.#fail(H1E.BARE_CR);
      this.#pendingLen = 0;
      this.state = S_IDLE;
      if (offset + 1 >= len) return NEED_MORE;
      const r = this.feed(chunk, offset + 1);
      return r > 0 ? r + 1 : r;
    }
    const n = Math.min(len - offset, this.maxHead - old);
    if (old + n > p.length) {
      const q = Buffer.allocUnsafe(Math.min(this.maxHead, Math.max(p.length * 2, old + n)));
      p.copy(q, 0, 0, old);
      this.#pending = p = q;
    }
    chunk.copy(p, old, offset, offset + n);
    const total = old + n;
    this.#pendingLen = total;
    // Look for the empty line that ends the head, in the new bytes only (two bytes of look-back,
    // since an LF or LF CR at the old end may be completed by the new bytes).
    let i = this.#scanFrom;
    for (;;) {
      const lf = p.indexOf(LF, i);
      if (lf < 0 || lf >= total) break;
      let e = -1;
      if (lf + 1 < total) {
        const b = p[lf + 1];
        if (b === LF) e = lf + 2;
        else if (b === CR && lf + 2 < total && p[lf + 2] === LF) e = lf + 3;
      }
      if (e > 0) {
        const r = this.parseHead(p, 0, e);
        this.#pendingLen = 0;
        this.#pending = null;
        if (r < 0) return this.#fail(-r);
        if (r === 0) return this.#fail(H1E.INVALID_START_LINE); // unreachable: the head is whole
        return this.#done(p, 0, r) - old;
      }
      i = lf + 1;
    }
    this.#scanFrom = Math.max(0, total - 2);
    if (total >= this.maxHead) {
      // Report the first bad byte if there is one, so every chunking yields the same error.
      const r = this.parseHead(p.subarray(0, total), 0, total);
      return this.#fail(r < 0 ? -r : H1E.TOO_LARGE);
    }
    return NEED_MORE;
  }

  /**
   * Parses field lines from buf[i..len) up to and including the empty line. Returns the index
   * after the empty line, 0 if the data ends first, or -errorId. Hot loop: one table load per byte.
   */
  protected parseFields(buf: Buffer, i: number, len: number): number {
    const f = this.fields;
    const max = this.maxFields;
    let n = 0;
    for (;;) {
      let b = buf[i];
      if (b === CR) {
        if (i + 1 >= len) return 0;
        if (buf[i + 1] !== LF) return -H1E.BARE_CR;
        i += 2;
        break;
      }
      if (b === LF) {
        this.mustRewrite = true;
        i++;
        break;
      }
      if (i >= len) return 0;
      if (b === SP || b === HT) return -H1E.OBS_FOLD;
      const ns = i;
      while (TCHAR[(b = buf[i])!] === 1) i++;
      if (b !== COLON) {
        if (i >= len) return 0;
        if (b === SP || b === HT) return -H1E.WS_BEFORE_COLON;
        if (b === CR || b === LF) return i === ns ? -H1E.INVALID_HEADER_NAME : -H1E.MISSING_COLON;
        return -H1E.INVALID_HEADER_NAME;
      }
      if (i === ns) return -H1E.INVALID_HEADER_NAME;
      const ne = i++;
      while ((b = buf[i]) === SP || b === HT) i++;
      const vs = i;
      while (((b = buf[i])! > 0x1f && b !== 0x7f) || b === HT) i++;
      let ve = i;
      if (b === CR) {
        if (i + 1 >= len) return 0;
        if (buf[i + 1] !== LF) return -H1E.BARE_CR;
        i += 2;
      } else if (b === LF) {
        this.mustRewrite = true;
        i++;
      } else if (i >= len) {
        return 0;
      } else {
        return -H1E.INVALID_HEADER_VALUE;
      }
      while (ve > vs && ((b = buf[ve - 1]) === SP || b === HT)) ve--;
      if (n === max) return -H1E.TOO_MANY_HEADERS;
      const k = n << 2;
      f[k] = ns;
      f[k + 1] = ne;
      f[k + 2] = vs;
      f[k + 3] = ve;
      // Framing and routing fields, picked by length first so common fields cost one switch.
      switch (ne - ns) {
        case 4:
          if (eqLower(buf, ns, ne, 'host')) {
            const r = this.#onHost(buf, n, vs, ve);
            if (r < 0) return r;
          }
          break;
        case 6:
          if (eqLower(buf, ns, ne, 'expect')) this.onExpect(buf, vs, ve);
          break;
        case 7:
          if (this.upgradeIndex < 0 && eqLower(buf, ns, ne, 'upgrade')) this.upgradeIndex = n;
          break;
        case 10:
          if (eqLower(buf, ns, ne, 'connection')) this.#onConnection(buf, vs, ve);
          break;
        case 14:
          if (eqLower(buf, ns, ne, 'content-length')) {
            const r = this.#onContentLength(buf, vs, ve);
            if (r < 0) return r;
          }
          break;
        case 17:
          if (eqLower(buf, ns, ne, 'transfer-encoding')) {
            const r = this.#onTransferEncoding(buf, vs, ve);
            if (r < 0) return r;
          } else if (eqLower(buf, ns, ne, 'sec-websocket-key')) {
            this.secWsKey = true;
          }
          break;
        default:
          break;
      }
      n++;
    }
    this.headerCount = n;
    return i;
  }

  /** Requests override this to note `Expect: 100-continue`. */
  protected onExpect(_buf: Buffer, _vs: number, _ve: number): void {}

  #onHost(buf: Buffer, n: number, vs: number, ve: number): number {
    const h = this.hostIndex;
    if (h < 0) {
      this.hostIndex = n;
      return 0;
    }
    // haproxy 2.6 merges identical duplicates and answers 400 to differing ones.
    const f = this.fields;
    const hs = f[(h << 2) + 2]!;
    const he = f[(h << 2) + 3]!;
    if (he - hs !== ve - vs) return -H1E.HOST_MULTIPLE;
    for (let k = 0; k < ve - vs; k++) if (buf[hs + k] !== buf[vs + k]) return -H1E.HOST_MULTIPLE;
    return 0;
  }

  #onConnection(buf: Buffer, vs: number, ve: number): void {
    // Comma-separated tokens; only close, keep-alive and upgrade change what we do.
    let i = vs;
    while (i < ve) {
      let b = buf[i];
      while (i < ve && ((b = buf[i]) === SP || b === HT || b === COMMA)) i++;
      const ts = i;
      while (i < ve && (b = buf[i]) !== COMMA && b !== SP && b !== HT) i++;
      if (eqLower(buf, ts, i, 'close')) this.connClose = true;
      else if (eqLower(buf, ts, i, 'keep-alive')) this.connKeepAlive = true;
      else if (eqLower(buf, ts, i, 'upgrade')) this.connUpgrade = true;
    }
  }

  /**
   * Content-Length: a list of decimal numbers (RFC 9110 §8.6), all equal, across every field line.
   * Signs, spaces inside, empty elements and values above 2^53-1 are refused (haproxy 2.6 takes
   * up to 2^64, which a JS number cannot count exactly: refusing is the safe side).
   */
  #onContentLength(buf: Buffer, vs: number, ve: number): number {
    let i = vs;
    for (;;) {
      let v = 0;
      const ds = i;
      let b = buf[i]!;
      while (i < ve && (b = buf[i]!) >= 0x30 && b <= 0x39) {
        v = v * 10 + (b - 0x30);
        i++;
      }
      if (i === ds || v > MAX_CL) return -H1E.CL_INVALID;
      if (this.#clCount > 0 && v !== this.contentLength) return -H1E.CL_MISMATCH;
      this.contentLength = v;
      this.#clCount++;
      while (i < ve && ((b = buf[i]!) === SP || b === HT)) i++;
      if (i === ve) return 0;
      if (b !== COMMA) return -H1E.CL_INVALID;
      i++;
      while (i < ve && ((b = buf[i]!) === SP || b === HT)) i++;
    }
  }

  /**
   * Transfer-Encoding codings, across every field line. As haproxy 2.6 does: `chunked` must come
   * last and once; an empty element counts as a coding, except after the last comma.
   */
  #onTransferEncoding(buf: Buffer, vs: number, ve: number): number {
    this.hasTransferEncoding = true;
    let i = vs;
    if (i === ve) {
      this.#teOther = true;
      this.#teChunked = false;
      return 0;
    }
    for (;;) {
      let b = buf[i];
      const ts = i;
      while (i < ve && (b = buf[i]) !== COMMA) i++;
      let te = i;
      while (te > ts && ((b = buf[te - 1]) === SP || b === HT)) te--;
      if (eqLower(buf, ts, te, 'chunked')) {
        if (this.#teChunked) return -H1E.TE_NOT_CHUNKED;
        this.#teChunked = true;
      } else {
        if (this.#teChunked) return -H1E.TE_NOT_CHUNKED;
        this.#teOther = true;
      }
      if (i === ve) return 0;
      i++;
      while (i < ve && ((b = buf[i]) === SP || b === HT)) i++;
      if (i === ve) return 0; // trailing comma
    }
  }

  /** Framing facts common to both directions, after the fields. Returns 0 or -errorId. */
  protected framingFromFields(): number {
    if (this.hasTransferEncoding) {
      if (this.#clCount > 0) return -H1E.CL_AND_TE;
      if (!this.#teChunked) return -H1E.TE_NOT_CHUNKED;
      this.bodyKind = Body.CHUNKED;
    } else if (this.#clCount > 0) {
      this.bodyKind = this.contentLength === 0 ? Body.NONE : Body.LENGTH;
    }
    this.keepAlive = this.version === 11 ? !this.connClose : this.connKeepAlive && !this.connClose;
    return 0;
  }

  /** Whether Transfer-Encoding carried codings besides chunked (haproxy answers 422 to those). */
  protected get teOther(): boolean {
    return this.#teOther;
  }

  // ---------------------------------------------------------------------------------------------
  // Header access for rules. Indexes 0..headerCount-1 are the original field lines, the following
  // ones are fields added by rules. Names and values are byte strings (latin1: one char per byte).

  /** Number of field slots (original + added), deleted ones included: use isLive(i). */
  get fieldSlots(): number {
    return this.headerCount + (this.#added.length >> 1);
  }

  isLive(i: number): boolean {
    if (i < this.headerCount) return this.#deleted[i] !== 1;
    return this.#added[(i - this.headerCount) << 1] !== undefined;
  }

  nameAt(i: number): string {
    if (i < this.headerCount) {
      const k = i << 2;
      return this.buf.toString('latin1', this.fields[k], this.fields[k + 1]);
    }
    return this.#added[(i - this.headerCount) << 1] ?? '';
  }

  valueAt(i: number): string {
    if (i < this.headerCount) {
      const r = this.#replaced[i];
      if (r !== undefined) return r;
      const k = i << 2;
      return this.buf.toString('latin1', this.fields[k + 2], this.fields[k + 3]);
    }
    return this.#added[((i - this.headerCount) << 1) + 1] ?? '';
  }

  /** Index of the next live field named `lowerName` (lowercase) at or after `from`, or -1. */
  indexOf(lowerName: string, from = 0): number {
    const n = this.headerCount;
    const f = this.fields;
    const buf = this.buf;
    for (let i = from; i < n; i++) {
      const k = i << 2;
      if (eqLower(buf, f[k]!, f[k + 1]!, lowerName) && this.#deleted[i] !== 1) return i;
    }
    const a = this.#added;
    for (let j = Math.max(0, from - n) << 1; j < a.length; j += 2) {
      const name = a[j];
      if (name !== undefined && name.toLowerCase() === lowerName) return n + (j >> 1);
    }
    return -1;
  }

  /** First live value of `lowerName`, or undefined. */
  get(lowerName: string): string | undefined {
    const i = this.indexOf(lowerName);
    return i < 0 ? undefined : this.valueAt(i);
  }

  /** Number of live fields named `lowerName`. */
  count(lowerName: string): number {
    let c = 0;
    for (let i = this.indexOf(lowerName); i >= 0; i = this.indexOf(lowerName, i + 1)) c++;
    return c;
  }

  /** Appends a field (http-request add-header). */
  add(name: string, value: string): void {
    checkEdit(name, value);
    this.#touch();
    this.#added.push(name, value);
  }

  /** Removes every field named like `name` (case-insensitive; http-request del-header). */
  del(name: string): void {
    checkEdit(name, '');
    const lower = name.toLowerCase();
    for (let i = this.indexOf(lower); i >= 0; i = this.indexOf(lower, i + 1)) this.deleteAt(i);
  }

  /** del then add (http-request set-header). */
  set(name: string, value: string): void {
    this.del(name);
    this.add(name, value);
  }

  /** Replaces the value of field i (http-request replace-header/replace-value, per occurrence). */
  setValueAt(i: number, value: string): void {
    checkEdit(this.nameAt(i), value);
    this.#touch();
    if (i < this.headerCount) this.#replaced[i] = value;
    else this.#added[((i - this.headerCount) << 1) + 1] = value;
  }

  deleteAt(i: number): void {
    checkEdit(this.nameAt(i), '');
    this.#touch();
    if (i < this.headerCount) this.#deleted[i] = 1;
    else {
      const j = (i - this.headerCount) << 1;
      // Keep slots stable for callers iterating by index: mark, do not splice.
      this.#added[j] = undefined;
    }
  }

  protected touchStartLine(): void {
    this.#touch();
  }

  #touch(): void {
    this.#editsUsed = true;
    this.modified = true;
  }

  /** Replacement value of original field i, if a rule changed it. */
  replacedAt(i: number): string | undefined {
    return this.#replaced[i];
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Rules must not change framing behind the parser's back (the proxy forwards the body by the
 * original framing), nor inject line breaks: both would recreate the smuggling this layer stops.
 */
function checkEdit(name: string, value: string): void {
  if (name.length === 0) throw new H1Error('ERR_H1_EDIT_NAME', 'empty header name');
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c > 0xff || TCHAR[c] !== 1) throw new H1Error('ERR_H1_EDIT_NAME', `invalid header name ${JSON.stringify(name)}`);
  }
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c > 0xff || VALUE[c] !== 1) throw new H1Error('ERR_H1_EDIT_VALUE', `invalid byte in value of ${name}`);
  }
  const lower = name.toLowerCase();
  if (lower === 'content-length' || lower === 'transfer-encoding') {
    throw new H1Error('ERR_H1_EDIT_FRAMING', `${name} cannot be edited: the body is framed by the original value`);
  }
}
