// HTTP/1.x request heads: the request line, then the shared field loop and request framing.
// Strictness follows Debian's haproxy 2.6 where it rejects, and goes further where the issue asks
// (CL with TE, obs-fold, control bytes in values): see test/proxy/http1/differential.test.ts.
import { CR, eqLower, HT, LF, SP, TCHAR, URI } from './chars.ts';
import { H1Error, H1E } from './errors.ts';
import { Body, H1Head } from './head.ts';
import type { H1Options } from './head.ts';

/** Method ids: known methods are recognised without making a string. */
export const Method = {
  OTHER: 0,
  GET: 1,
  HEAD: 2,
  POST: 3,
  PUT: 4,
  DELETE: 5,
  OPTIONS: 6,
  CONNECT: 7,
  TRACE: 8,
  PATCH: 9,
} as const;
export type MethodId = (typeof Method)[keyof typeof Method];

const METHOD_NAMES = ['', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH'] as const;

function eqExact(buf: Buffer, s: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) if (buf[s + k] !== lit.charCodeAt(k)) return false;
  return true;
}

function methodId(buf: Buffer, s: number, e: number): MethodId {
  switch (e - s) {
    case 3:
      if (eqExact(buf, s, 'GET')) return Method.GET;
      if (eqExact(buf, s, 'PUT')) return Method.PUT;
      return Method.OTHER;
    case 4:
      if (eqExact(buf, s, 'POST')) return Method.POST;
      if (eqExact(buf, s, 'HEAD')) return Method.HEAD;
      return Method.OTHER;
    case 5:
      if (eqExact(buf, s, 'PATCH')) return Method.PATCH;
      if (eqExact(buf, s, 'TRACE')) return Method.TRACE;
      return Method.OTHER;
    case 6:
      return eqExact(buf, s, 'DELETE') ? Method.DELETE : Method.OTHER;
    case 7:
      if (eqExact(buf, s, 'OPTIONS')) return Method.OPTIONS;
      if (eqExact(buf, s, 'CONNECT')) return Method.CONNECT;
      return Method.OTHER;
    default:
      return Method.OTHER;
  }
}

/**
 * One per client connection. feed() socket chunks; once it returns > 0 the fields below describe
 * the request until the next feed() starts the next one.
 */
export class RequestHead extends H1Head {
  methodId: MethodId = Method.GET;
  methodStart = 0;
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /** Start of the path within the target (after scheme://authority in absolute form). */
  pathStart = 0;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  expectContinue = false;
  /** Upgrade requested (Upgrade field plus Connection: upgrade, HTTP/1.1). */
  upgrade = false;
  #target: string | null = null;
  #method: string | null = null;
  #newMethod: string | null = null;
  #newTarget: string | null = null;

  constructor(opts: H1Options = {}) {
    super(opts);
  }

  protected override clear(): void {
    super.clear();
    this.expectContinue = false;
    this.upgrade = false;
    this.#target = null;
    this.#method = null;
    this.#newMethod = null;
    this.#newTarget = null;
  }

  protected override onExpect(buf: Buffer, vs: number, ve: number): void {
    if (eqLower(buf, vs, ve, '100-continue')) this.expectContinue = true;
  }

  protected parseHead(buf: Buffer, s: number, len: number): number {
    let i = s;
    let b = buf[i];
    while (TCHAR[(b = buf[i])!] === 1) i++;
    if (i >= len) return 0;
    if (i === s) return -H1E.INVALID_METHOD;
    if (b !== SP && b !== HT) return b === CR || b === LF ? -H1E.INVALID_START_LINE : -H1E.INVALID_METHOD;
    this.methodStart = s;
    this.methodEnd = i;
    let canonical = b === SP;
    i++;
    while ((b = buf[i]) === SP || b === HT) {
      canonical = false;
      i++;
    }
    const ts = i;
    while (URI[(b = buf[i])!] === 1) i++;
    if (i >= len) return 0;
    if (b !== SP && b !== HT) {
      // No version (HTTP/0.9 style) or a byte haproxy refuses in a target.
      return b === CR || b === LF ? -H1E.INVALID_START_LINE : -H1E.INVALID_TARGET;
    }
    if (i === ts) return -H1E.INVALID_START_LINE;
    this.targetStart = ts;
    this.targetEnd = i;
    if (b !== SP) canonical = false;
    i++;
    while ((b = buf[i]) === SP || b === HT) {
      canonical = false;
      i++;
    }
    // "HTTP/" DIGIT "." DIGIT, then the line end: nothing else, not even a space.
    if (i + 9 > len) {
      const lf = buf.indexOf(LF, i);
      if (lf < 0 || lf >= len) return 0;
      return -H1E.INVALID_VERSION;
    }
    const maj = (buf[i + 5]!) - 0x30;
    const min = (buf[i + 7]!) - 0x30;
    if (
      buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 || buf[i + 4] !== 0x2f ||
      buf[i + 6] !== 0x2e || maj < 0 || maj > 9 || min < 0 || min > 9
    ) {
      return -H1E.INVALID_VERSION;
    }
    i += 8;
    b = buf[i];
    if (b === CR) {
      if (i + 1 >= len) return 0;
      if (buf[i + 1] !== LF) return -H1E.BARE_CR;
      i += 2;
    } else if (b === LF) {
      canonical = false;
      i++;
    } else {
      return -H1E.INVALID_VERSION;
    }
    // haproxy 2.6 handles 1.2..9.9 as 1.1 and 0.x as 1.0 (measured), re-emitting the version.
    this.version = maj > 1 || (maj === 1 && min >= 1) ? 11 : 10;
    if (maj !== 1 || min > 1) canonical = false;
    this.mustRewrite = !canonical;
    this.methodId = methodId(buf, s, this.methodEnd);
    const r = this.parseFields(buf, i, len);
    if (r <= 0) return r;
    const f = this.#finish(buf);
    return f < 0 ? f : r;
  }

  #finish(buf: Buffer): number {
    const r = this.framingFromFields();
    if (r < 0) return r;
    // haproxy answers 422 when chunked comes last but other codings precede it.
    if (this.bodyKind === Body.CHUNKED && this.teOther) return -H1E.TE_UNSUPPORTED;
    if (this.version === 11) {
      if (this.upgradeIndex >= 0 && this.connUpgrade) {
        this.upgrade = true;
        const k = this.upgradeIndex << 2;
        // haproxy 2.6 refuses a WebSocket upgrade that lacks its key.
        if (eqLower(buf, this.fields[k + 2]!, this.fields[k + 3]!, 'websocket') && !this.secWsKey) {
          return -H1E.WS_KEY_MISSING;
        }
      }
    } else {
      this.expectContinue = false;
    }
    return this.#checkAuthority(buf);
  }

  /**
   * Absolute-form target (scheme://authority/path): the authority must name the same host as the
   * Host field, ignoring userinfo, case and the scheme's default port, as haproxy 2.6 checks.
   */
  #checkAuthority(buf: Buffer): number {
    const ts = this.targetStart;
    const te = this.targetEnd;
    this.pathStart = ts;
    const b0 = buf[ts]!;
    if (b0 === 0x2f || b0 === 0x2a) return 0; // origin-form or *
    let i = ts;
    let b = b0;
    while (i < te && (((b = buf[i]!) | 0x20) >= 0x61 && (b | 0x20) <= 0x7a || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2d || b === 0x2e)) i++;
    if (i === ts || i + 2 >= te || b !== 0x3a || buf[i + 1] !== 0x2f || buf[i + 2] !== 0x2f) return 0; // authority-form
    const schemeEnd = i;
    let as = i + 3;
    let ae = as;
    while (ae < te && (b = buf[ae]!) !== 0x2f && b !== 0x3f) ae++;
    this.pathStart = ae;
    if (this.hostIndex < 0 || ae === as) return 0;
    for (let k = as; k < ae; k++) if (buf[k] === 0x40) as = k + 1;
    const k = this.hostIndex << 2;
    let hs = this.fields[k + 2]!;
    let he = this.fields[k + 3]!;
    ae = stripDefaultPort(buf, ts, schemeEnd, as, ae);
    he = stripDefaultPort(buf, ts, schemeEnd, hs, he);
    if (ae - as !== he - hs) return -H1E.AUTHORITY_MISMATCH;
    for (; as < ae; as++, hs++) {
      const x = buf[as]!;
      const y = buf[hs]!;
      if (x !== y && ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 0x61 || (x | 0x20) > 0x7a)) return -H1E.AUTHORITY_MISMATCH;
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Lazy views for rules and logs: strings are made on first use, then cached for this message.

  /** The method as a string (constant for known methods). */
  get method(): string {
    if (this.#newMethod !== null) return this.#newMethod;
    if (this.methodId !== Method.OTHER) return METHOD_NAMES[this.methodId];
    return (this.#method ??= this.buf.toString('latin1', this.methodStart, this.methodEnd));
  }

  /** The request target as sent (the `url` fetch). */
  get target(): string {
    if (this.#newTarget !== null) return this.#newTarget;
    return (this.#target ??= this.buf.toString('latin1', this.targetStart, this.targetEnd));
  }

  /** Path without the query (the `path` fetch); for absolute form, without scheme and authority. */
  get path(): string {
    const t = this.target;
    const from = this.#newTarget === null ? this.pathStart - this.targetStart : 0;
    const q = t.indexOf('?', from);
    return t.slice(from, q < 0 ? t.length : q);
  }

  /** Query string after '?', or '' when there is none (the `query` fetch). */
  get query(): string {
    const t = this.target;
    const q = t.indexOf('?');
    return q < 0 ? '' : t.slice(q + 1);
  }

  /** Host field value, or undefined. */
  get host(): string | undefined {
    return this.get('host');
  }

  get isHead(): boolean {
    return this.methodId === Method.HEAD && this.#newMethod === null;
  }

  /** Whether the first live Upgrade field asks for websocket. */
  get isWebSocket(): boolean {
    const v = this.upgrade ? this.get('upgrade') : undefined;
    return v !== undefined && v.toLowerCase() === 'websocket';
  }

  /** http-request set-method. */
  setMethod(m: string): void {
    if (m.length === 0) throw new H1Error('ERR_H1_EDIT_METHOD', 'empty method');
    for (let k = 0; k < m.length; k++) {
      const c = m.charCodeAt(k);
      if (c > 0xff || TCHAR[c] !== 1) throw new H1Error('ERR_H1_EDIT_METHOD', `invalid method ${JSON.stringify(m)}`);
    }
    this.#newMethod = m;
    this.touchStartLine();
  }

  /** http-request set-uri (whole target) — set-path/set-query build on it. */
  setTarget(t: string): void {
    if (t.length === 0) throw new H1Error('ERR_H1_EDIT_TARGET', 'empty request target');
    for (let k = 0; k < t.length; k++) {
      const c = t.charCodeAt(k);
      if (c > 0xff || URI[c] !== 1) throw new H1Error('ERR_H1_EDIT_TARGET', `invalid byte in request target ${JSON.stringify(t)}`);
    }
    this.#newTarget = t;
    this.touchStartLine();
  }

  /** http-request set-path: keeps the query. */
  setPath(p: string): void {
    const q = this.query;
    this.setTarget(q === '' && !this.target.includes('?') ? p : `${p}?${q}`);
  }

  /** Replacement method / target, if a rule set one. */
  get newMethod(): string | null {
    return this.#newMethod;
  }
  get newTarget(): string | null {
    return this.#newTarget;
  }
}

/** Returns the end of host[:port] without ":80" (http) or ":443" (https), the default ports. */
function stripDefaultPort(buf: Buffer, ss: number, se: number, hs: number, he: number): number {
  if (he - hs > 3 && buf[he - 3] === 0x3a && buf[he - 2] === 0x38 && buf[he - 1] === 0x30 && eqLower(buf, ss, se, 'http')) return he - 3;
  if (he - hs > 4 && buf[he - 4] === 0x3a && buf[he - 3] === 0x34 && buf[he - 2] === 0x34 && buf[he - 1] === 0x33 && eqLower(buf, ss, se, 'https')) {
    return he - 4;
  }
  return he;
}
