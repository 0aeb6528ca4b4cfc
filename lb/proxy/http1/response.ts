// HTTP/1.x response heads: the status line, then the shared field loop and response framing
// (RFC 9112 §6.3): no body after HEAD, 1xx, 204 and 304; chunked; Content-Length; else until close.
import { CR, HT, LF, SP } from './chars.ts';
import { H1E } from './errors.ts';
import { Body, H1Head } from './head.ts';
import type { H1Options } from './head.ts';

/** One per server connection. Call expect() before each response, then feed() its chunks. */
export class ResponseHead extends H1Head {
  status = 0;
  reasonStart = 0;
  reasonEnd = 0;
  /** 1xx other than 101: another head follows on the same exchange (feed again after it). */
  interim = false;
  /** 101 to a request that asked to upgrade: from here on the connection is a tunnel. */
  switching = false;
  #forHead = false;
  #upgradeRequested = false;
  #newStatus = 0;
  #newReason: string | null = null;

  constructor(opts: H1Options = {}) {
    super(opts);
  }

  /**
   * Tells what the request was: after HEAD no response carries a body whatever its fields say,
   * and only a request that asked to upgrade may get 101.
   */
  expect(forHead: boolean, upgradeRequested: boolean): void {
    this.#forHead = forHead;
    this.#upgradeRequested = upgradeRequested;
  }

  protected override clear(): void {
    super.clear();
    this.interim = false;
    this.switching = false;
    this.#newStatus = 0;
    this.#newReason = null;
  }

  protected parseHead(buf: Buffer, s: number, len: number): number {
    let i = s;
    if (i + 13 > len) {
      const lf = buf.indexOf(LF, i);
      if (lf < 0 || lf >= len) return 0;
    }
    const maj = (buf[i + 5]!) - 0x30;
    const min = (buf[i + 7]!) - 0x30;
    if (
      buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 || buf[i + 4] !== 0x2f ||
      buf[i + 6] !== 0x2e || maj < 0 || maj > 9 || min < 0 || min > 9
    ) {
      // haproxy 2.6 forwards some junk versions as HTTP/1.1; we answer 502 to them.
      return -H1E.INVALID_VERSION;
    }
    i += 8;
    let b = buf[i];
    if (b !== SP && b !== HT) return -H1E.INVALID_VERSION;
    let canonical = b === SP && maj === 1 && min <= 1;
    i++;
    while ((b = buf[i]) === SP || b === HT) {
      canonical = false;
      i++;
    }
    // Exactly three digits, 100..999 (haproxy 2.6 also passes 2-digit and 4-digit codes: we refuse).
    const d0 = (buf[i]!) - 0x30;
    const d1 = (buf[i + 1]!) - 0x30;
    const d2 = (buf[i + 2]!) - 0x30;
    if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return -H1E.INVALID_STATUS;
    this.status = d0 * 100 + d1 * 10 + d2;
    i += 3;
    b = buf[i];
    if (b === SP || b === HT) {
      i++;
    } else if (b !== CR && b !== LF) {
      return -H1E.INVALID_STATUS;
    }
    // Reason: anything up to the line end (haproxy forwards control bytes there; so do we).
    const rs = i;
    while (i < len && (b = buf[i]) !== CR && b !== LF) i++;
    if (i >= len) return 0;
    this.reasonStart = rs;
    this.reasonEnd = i;
    if (b === CR) {
      if (i + 1 >= len) return 0;
      if (buf[i + 1] !== LF) return -H1E.BARE_CR;
      i += 2;
    } else {
      canonical = false;
      i++;
    }
    this.version = maj > 1 || (maj === 1 && min >= 1) ? 11 : 10;
    this.mustRewrite = !canonical;
    const r = this.parseFields(buf, i, len);
    if (r <= 0) return r;
    const f = this.#finish();
    return f < 0 ? f : r;
  }

  #finish(): number {
    const r = this.framingFromFields();
    if (r < 0) return r;
    // A response has no 422: any coding but a lone chunked is a bad response (haproxy: 502).
    if (this.hasTransferEncoding && this.teOther) return -H1E.TE_NOT_CHUNKED;
    const st = this.status;
    if (st < 200) {
      if (st === 101) {
        if (!this.#upgradeRequested) return -H1E.UNEXPECTED_101;
        this.switching = true;
      } else {
        this.interim = true;
      }
      this.bodyKind = Body.NONE;
    } else if (st === 204 || st === 304 || this.#forHead) {
      this.bodyKind = Body.NONE;
    } else if (!this.hasTransferEncoding && this.contentLength < 0) {
      this.bodyKind = Body.UNTIL_CLOSE;
      this.keepAlive = false;
    }
    return 0;
  }

  /** Reason phrase (possibly empty). */
  get reason(): string {
    if (this.#newReason !== null) return this.#newReason;
    return this.buf.toString('latin1', this.reasonStart, this.reasonEnd);
  }

  /** http-response set-status N [reason R]: without a reason, the standard one is used. */
  setStatus(status: number, reason?: string): void {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status ${status}`);
    const r = reason ?? REASONS[status] ?? '';
    for (let k = 0; k < r.length; k++) {
      const c = r.charCodeAt(k);
      if (c === 0x0d || c === 0x0a || c > 0xff) throw new RangeError('invalid byte in reason');
    }
    this.#newStatus = status;
    this.#newReason = r;
    this.touchStartLine();
  }

  /** Status to send: the rule's if one set it, else the parsed one. */
  get outStatus(): number {
    return this.#newStatus !== 0 ? this.#newStatus : this.status;
  }
  get newReason(): string | null {
    return this.#newReason;
  }
}

/** Standard reason phrases, for set-status without a reason. */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 410: 'Gone', 413: 'Payload Too Large', 414: 'URI Too Long', 421: 'Misdirected Request',
  422: 'Unprocessable Content', 425: 'Too Early', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
