// HAProxy's built-in error responses and `errorfile CODE FILE`, as haproxy 2.6 sends them.
//
// HAProxy keeps every error message in two forms and so do we (measured on Debian's 2.6):
// - the RAW form (the built-in text, or the errorfile's bytes) is what the HTTP/1 layer sends by
//   itself when a request cannot even be parsed (400) or its head does not arrive in time (408):
//   sent as-is, then the connection is closed;
// - every other error (deny, 502, 503, 504...) goes through HAProxy's HTTP engine, which parses the
//   message once at startup and re-emits it like any response: header names lowercased, the
//   Connection header dropped, then `connection: close` added when the client connection is to be
//   closed (HTTP/1.1 response) or `connection: keep-alive` for a kept-alive HTTP/1.0 client. The
//   client connection stays open when the message has a length (content-length or chunked), the
//   message itself did not say `Connection: close` and the request allowed keep-alive. That is why
//   an errorfile like Debian's /etc/haproxy/errors/503.http (HTTP/1.0, no content-length) comes out
//   lowercased and closes the connection: exactly what haproxy 2.6 does with it.
// All forms are built once (at start or errorfile load); sending one is a single write of a
// ready Buffer.
import { readFileSync, statSync } from 'node:fs';
import { Body, ResponseHead } from './http1/index.ts';

/** Statuses HAProxy 2.6 can produce itself and accepts in `errorfile`/`deny_status`. */
export const ERROR_STATUSES: readonly number[] = [200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504];

/**
 * HAProxy 2.6's built-in messages in their raw form, captured byte for byte from Debian's haproxy
 * (400, 408 and 422 as its HTTP/1 layer sends them, the others as `deny_status N` sends them,
 * which is their raw text up to header-name case, which the engine lowercases anyway).
 */
const RAW_DEFAULTS: Readonly<Record<number, string>> = {
  200: "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n",
  400: "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
  401: "HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
  403: "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
  404: "HTTP/1.1 404 Not Found\r\ncontent-length: 83\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n",
  405: "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 146\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n",
  407: "HTTP/1.1 407 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
  408: "HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
  410: "HTTP/1.1 410 Gone\r\ncontent-length: 114\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n",
  413: "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 106\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n",
  425: "HTTP/1.1 425 Too Early\r\ncontent-length: 80\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n",
  429: "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
  500: "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n",
  501: "HTTP/1.1 501 Not Implemented\r\ncontent-length: 136\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n",
  502: "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
  503: "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
  504: "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
  422: "HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n",
};

/** Errors of errorfile loading; `code` is stable. */
export class ErrorFileError extends Error {
  readonly code: 'ERR_LB_ERRORFILE_STATUS' | 'ERR_LB_ERRORFILE_READ' | 'ERR_LB_ERRORFILE_INVALID' | 'ERR_LB_ERRORFILE_TOO_LARGE';
  constructor(code: ErrorFileError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ErrorFileError';
    this.code = code;
  }
}

const CONNECTION_CLOSE = Buffer.from('connection: close\r\n', 'latin1');
const CONNECTION_KEEP_ALIVE = Buffer.from('connection: keep-alive\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * One error (or locally generated) response, with its wire forms precomputed. `keepAlive(ka)`
 * says whether the client connection may stay open after it; `bytes(ka, reqVersion)` gives the
 * Buffer to write for that outcome.
 */
export class ErrorPage {
  readonly status: number;
  /** The bytes as loaded: sent verbatim by the HTTP/1 layer (400 on a bad request, 408). */
  readonly raw: Buffer;
  /** Whether the message can be followed by another one on the same connection. */
  readonly reusable: boolean;
  readonly #close: Buffer;
  readonly #keep: Buffer;
  readonly #keep10: Buffer;

  constructor(raw: Buffer, origin: string) {
    const h = new ResponseHead({ bufsize: Math.max(16384, raw.length + 1025) });
    h.expect(false, false);
    const n = h.feed(raw);
    if (n <= 0) throw new ErrorFileError('ERR_LB_ERRORFILE_INVALID', `${origin}: not a valid HTTP response head`);
    if (h.interim || h.switching) throw new ErrorFileError('ERR_LB_ERRORFILE_INVALID', `${origin}: interim status ${h.status}`);
    this.status = h.status;
    this.raw = raw;
    const body = raw.subarray(n);
    let head = `HTTP/1.${h.version === 11 ? 1 : 0} ${h.status}${h.reasonEnd > h.reasonStart ? ` ${h.reason}` : ''}\r\n`;
    for (let i = 0; i < h.fieldSlots; i++) {
      if (!h.isLive(i)) continue;
      const name = h.nameAt(i).toLowerCase();
      if (name === 'connection') continue;
      head += `${name}: ${h.valueAt(i)}\r\n`;
    }
    const hasLength = h.bodyKind !== Body.UNTIL_CLOSE;
    this.reusable = hasLength && !h.connClose;
    const line = Buffer.from(head, 'latin1');
    this.#close = Buffer.concat(h.version === 11 ? [line, CONNECTION_CLOSE, CRLF, body] : [line, CRLF, body]);
    this.#keep = Buffer.concat([line, CRLF, body]);
    this.#keep10 = Buffer.concat([line, CONNECTION_KEEP_ALIVE, CRLF, body]);
  }

  /** Whether the client connection stays open after this page, given what the request allowed. */
  keepAlive(requestKeepAlive: boolean): boolean {
    return requestKeepAlive && this.reusable;
  }

  /** The engine-form bytes for the chosen outcome (see keepAlive) and the request's version. */
  bytes(keepAlive: boolean, requestVersion: number): Buffer {
    if (!keepAlive) return this.#close;
    return requestVersion === 10 ? this.#keep10 : this.#keep;
  }
}

/** Error pages by status. A proxy's own pages come first, then the defaults. */
export type ErrorPages = ReadonlyMap<number, ErrorPage>;

function buildDefaults(): Map<number, ErrorPage> {
  const m = new Map<number, ErrorPage>();
  for (const [k, v] of Object.entries(RAW_DEFAULTS)) m.set(Number(k), new ErrorPage(Buffer.from(v, 'latin1'), `built-in ${k}`));
  return m;
}

/** HAProxy's built-in pages (the statuses of ERROR_STATUSES plus 422). */
export const DEFAULT_ERROR_PAGES: ErrorPages = buildDefaults();

/**
 * The page for `status`: from `own` (errorfile of the proxy handling the error) when present,
 * else HAProxy's built-in one. A status without a built-in page (a rule's deny_status is
 * checked against ERROR_STATUSES by the configuration) falls back to 500's page shape.
 */
export function errorPage(status: number, own?: ErrorPages): ErrorPage {
  return own?.get(status) ?? DEFAULT_ERROR_PAGES.get(status) ?? localResponse(status, REASON_FALLBACK[status] ?? 'Unknown', []);
}

const REASON_FALLBACK: Readonly<Record<number, string>> = { 421: 'Misdirected Request', 414: 'URI Too Long', 422: 'Unprocessable Content' };

/** Largest errorfile haproxy accepts (tune.bufsize default). */
export const MAX_ERRORFILE_SIZE = 16384;

/**
 * `errorfile CODE FILE`: reads FILE once (at start or reload) and checks it as HAProxy does: the
 * code must be one HAProxy generates, the file must hold a valid HTTP response head and fit in a
 * buffer. Throws ErrorFileError with a stable code otherwise.
 */
export function loadErrorFile(status: number, file: string, bufsize = MAX_ERRORFILE_SIZE): ErrorPage {
  if (!ERROR_STATUSES.includes(status)) {
    throw new ErrorFileError('ERR_LB_ERRORFILE_STATUS', `errorfile: status code ${status} not handled (expected one of ${ERROR_STATUSES.join(', ')})`);
  }
  let raw: Buffer;
  try {
    if (statSync(file).size > bufsize) throw new ErrorFileError('ERR_LB_ERRORFILE_TOO_LARGE', `errorfile ${file}: larger than the buffer size (${bufsize})`);
    raw = readFileSync(file);
  } catch (err) {
    if (err instanceof ErrorFileError) throw err;
    throw new ErrorFileError('ERR_LB_ERRORFILE_READ', `errorfile ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return new ErrorPage(raw, `errorfile ${file}`);
}

/** Loads several errorfiles into a map for a frontend or backend (`errorfile` lines in order; a later one wins). */
export function loadErrorFiles(files: Iterable<readonly [number, string]>): Map<number, ErrorPage> {
  const m = new Map<number, ErrorPage>();
  for (const [status, file] of files) m.set(status, loadErrorFile(status, file));
  return m;
}

/**
 * A response built by a rule (`http-request return`, `redirect`): HAProxy's engine form, with a
 * content-length so the connection can stay open. `headers` are [name, value] pairs, written in
 * lowercase after content-length, as haproxy 2.6 emits them.
 */
export function localResponse(status: number, reason: string, headers: readonly (readonly [string, string])[], body: Buffer | string = ''): ErrorPage {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  let head = `HTTP/1.1 ${status} ${reason}\r\ncontent-length: ${b.length}\r\n`;
  for (const [n, v] of headers) {
    if (/[\r\n]/.test(n) || /[\r\n]/.test(v)) throw new RangeError('line break in a header of a local response');
    head += `${n.toLowerCase()}: ${v}\r\n`;
  }
  return new ErrorPage(Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), b]), `local ${status}`);
}
