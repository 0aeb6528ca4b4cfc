// Coded parse errors of the HTTP/1 layer. The parsers never throw on bad input (the hot path stays
// exception-free): they return the negated numeric id, and this table gives its stable code, the
// status a proxy answers for a request (a bad response always becomes 502), and a short reason.
// Statuses match what Debian's haproxy 2.6 answers for the same bytes (see the differential test).

export interface H1ErrorInfo {
  /** Stable code, ERR_H1_... */
  readonly code: string;
  /** Status the proxy answers when a request fails this way. */
  readonly status: number;
  readonly message: string;
}

// Numeric ids (erasableSyntaxOnly: a const object, not an enum). 0 is never an error.
export const H1E = {
  TOO_LARGE: 1,
  TOO_MANY_HEADERS: 2,
  BARE_CR: 3,
  INVALID_METHOD: 4,
  INVALID_TARGET: 5,
  INVALID_VERSION: 6,
  INVALID_START_LINE: 7,
  OBS_FOLD: 8,
  INVALID_HEADER_NAME: 9,
  WS_BEFORE_COLON: 10,
  MISSING_COLON: 11,
  INVALID_HEADER_VALUE: 12,
  CL_INVALID: 13,
  CL_MISMATCH: 14,
  CL_AND_TE: 15,
  TE_NOT_CHUNKED: 16,
  TE_UNSUPPORTED: 17,
  HOST_MULTIPLE: 18,
  AUTHORITY_MISMATCH: 19,
  WS_KEY_MISSING: 20,
  INVALID_STATUS: 21,
  UNEXPECTED_101: 22,
  CHUNK_SIZE_INVALID: 23,
  CHUNK_SIZE_TOO_BIG: 24,
  CHUNK_LINE_TOO_LONG: 25,
  CHUNK_DATA_NO_CRLF: 26,
  TRAILERS_TOO_LARGE: 27,
  TRAILER_INVALID: 28,
} as const;

export type H1ErrorId = (typeof H1E)[keyof typeof H1E];

const INFO: Readonly<Record<H1ErrorId, H1ErrorInfo>> = {
  1: { code: 'ERR_H1_TOO_LARGE', status: 400, message: 'message head larger than tune.bufsize - tune.maxrewrite' },
  2: { code: 'ERR_H1_TOO_MANY_HEADERS', status: 400, message: 'more header lines than tune.http.maxhdr allows' },
  3: { code: 'ERR_H1_BARE_CR', status: 400, message: 'CR not followed by LF' },
  4: { code: 'ERR_H1_INVALID_METHOD', status: 400, message: 'method is not a token' },
  5: { code: 'ERR_H1_INVALID_TARGET', status: 400, message: 'invalid byte in request target' },
  6: { code: 'ERR_H1_INVALID_VERSION', status: 400, message: 'version is not HTTP/digit.digit' },
  7: { code: 'ERR_H1_INVALID_START_LINE', status: 400, message: 'malformed request or status line' },
  8: { code: 'ERR_H1_OBS_FOLD', status: 400, message: 'obsolete line folding (line starting with SP or HT)' },
  9: { code: 'ERR_H1_INVALID_HEADER_NAME', status: 400, message: 'header name is empty or not a token' },
  10: { code: 'ERR_H1_WS_BEFORE_COLON', status: 400, message: 'whitespace between header name and colon' },
  11: { code: 'ERR_H1_MISSING_COLON', status: 400, message: 'header line without a colon' },
  12: { code: 'ERR_H1_INVALID_HEADER_VALUE', status: 400, message: 'NUL, control byte or DEL in a header value' },
  13: { code: 'ERR_H1_CL_INVALID', status: 400, message: 'Content-Length is not a list of decimal numbers below 2^53' },
  14: { code: 'ERR_H1_CL_MISMATCH', status: 400, message: 'differing Content-Length values' },
  15: { code: 'ERR_H1_CL_AND_TE', status: 400, message: 'both Content-Length and Transfer-Encoding' },
  16: { code: 'ERR_H1_TE_NOT_CHUNKED', status: 400, message: 'Transfer-Encoding does not end with a single chunked' },
  17: { code: 'ERR_H1_TE_UNSUPPORTED', status: 422, message: 'transfer coding other than chunked' },
  18: { code: 'ERR_H1_HOST_MULTIPLE', status: 400, message: 'several Host headers with different values' },
  19: { code: 'ERR_H1_AUTHORITY_MISMATCH', status: 400, message: 'absolute-form target authority differs from Host' },
  20: { code: 'ERR_H1_WS_KEY_MISSING', status: 400, message: 'WebSocket upgrade without Sec-WebSocket-Key' },
  21: { code: 'ERR_H1_INVALID_STATUS', status: 502, message: 'status is not three digits from 100 to 999' },
  22: { code: 'ERR_H1_UNEXPECTED_101', status: 502, message: '101 Switching Protocols to a request that asked for no upgrade' },
  23: { code: 'ERR_H1_CHUNK_SIZE_INVALID', status: 400, message: 'chunk size line is not hex [; extensions]' },
  24: { code: 'ERR_H1_CHUNK_SIZE_TOO_BIG', status: 400, message: 'chunk size of 2^52 or more' },
  25: { code: 'ERR_H1_CHUNK_LINE_TOO_LONG', status: 400, message: 'chunk size line (with extensions) too long' },
  26: { code: 'ERR_H1_CHUNK_DATA_NO_CRLF', status: 400, message: 'chunk data not followed by CRLF' },
  27: { code: 'ERR_H1_TRAILERS_TOO_LARGE', status: 400, message: 'trailer section too large' },
  28: { code: 'ERR_H1_TRAILER_INVALID', status: 400, message: 'invalid trailer field line' },
};

const UNKNOWN: H1ErrorInfo = { code: 'ERR_H1_UNKNOWN', status: 400, message: 'unknown HTTP/1 error' };
const BY_ID = new Map<number, H1ErrorInfo>(Object.entries(INFO).map(([k, v]) => [Number(k), v]));

/** Describes an error id (as kept in `error`, or the negated value a parser returned: both work). */
export function h1ErrorInfo(id: number): H1ErrorInfo {
  return BY_ID.get(id < 0 ? -id : id) ?? UNKNOWN;
}

/** Error thrown by the non-hot-path API (header edits with invalid names or values). */
export class H1Error extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'H1Error';
    this.code = code;
  }
}
