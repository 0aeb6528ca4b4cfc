// Raw HTTP/1 vectors shared by the unit tests (which assert our exact error code) and the
// differential test (which asserts Debian's haproxy 2.6 decides the same: forward or refuse).
// `haproxy` records, with the reason, every place where we decide differently on purpose.

export interface Vector {
  name: string;
  /** Bytes, as a latin1 string (one char per byte). */
  raw: string;
  /** 'ok' or the ERR_H1_... code our parser must return. */
  expect: string;
  /**
   * Where haproxy 2.6 differs on purpose: what it does instead ('forwards' or a status), or the
   * list of outcomes it shows when its answer depends on timing.
   */
  haproxy?: { does: 'forwards' | number | ('forwards' | number)[]; why: string };
}

const R = 'POST / HTTP/1.1\r\nHost: a\r\n';
const G = 'GET / HTTP/1.1\r\nHost: a\r\n';

/** Request heads (with a body where framing matters). Decided by RequestHead (+ ChunkedDecoder). */
export const REQUEST_VECTORS: Vector[] = [
  { name: 'plain GET', raw: `${G}\r\n`, expect: 'ok' },
  { name: 'LF-only line ends (haproxy accepts)', raw: 'GET / HTTP/1.1\nHost: a\n\n', expect: 'ok' },
  { name: 'empty lines before the request line', raw: `\r\n\r\n${G}\r\n`, expect: 'ok' },
  { name: 'missing Host in HTTP/1.1 (haproxy 2.6 forwards)', raw: 'GET / HTTP/1.1\r\n\r\n', expect: 'ok' },
  { name: 'identical duplicate Host', raw: `${G}Host: a\r\n\r\n`, expect: 'ok' },
  { name: 'differing duplicate Host', raw: `${G}Host: b\r\n\r\n`, expect: 'ERR_H1_HOST_MULTIPLE' },
  { name: 'identical duplicate Content-Length', raw: `${R}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx`, expect: 'ok' },
  { name: 'Content-Length list of equal values', raw: `${R}Content-Length: 1, 1\r\n\r\nx`, expect: 'ok' },
  { name: 'differing duplicate Content-Length', raw: `${R}Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx`, expect: 'ERR_H1_CL_MISMATCH' },
  { name: 'Content-Length list of differing values', raw: `${R}Content-Length: 1, 2\r\n\r\nxx`, expect: 'ERR_H1_CL_MISMATCH' },
  { name: 'signed Content-Length +', raw: `${R}Content-Length: +1\r\n\r\nx`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'signed Content-Length -', raw: `${R}Content-Length: -1\r\n\r\nx`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'non-digit Content-Length', raw: `${R}Content-Length: 1a\r\n\r\nx`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'empty Content-Length', raw: `${R}Content-Length: \r\n\r\n`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'space inside Content-Length', raw: `${R}Content-Length: 1 1\r\n\r\nx`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'Content-Length trailing comma', raw: `${R}Content-Length: 1,\r\n\r\nx`, expect: 'ERR_H1_CL_INVALID' },
  { name: 'overflowing Content-Length (23 digits)', raw: `${R}Content-Length: 99999999999999999999999\r\n\r\n`, expect: 'ERR_H1_CL_INVALID' },
  {
    name: 'Content-Length 2^53+1',
    raw: `${R}Content-Length: 9007199254740993\r\n\r\n`,
    expect: 'ERR_H1_CL_INVALID',
    haproxy: { does: 'forwards', why: 'haproxy counts to 2^64; a JS number cannot count exactly past 2^53, so we refuse' },
  },
  {
    name: 'Content-Length with Transfer-Encoding',
    raw: `${R}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: 'ERR_H1_CL_AND_TE',
    haproxy: { does: 'forwards', why: 'haproxy drops Content-Length and forwards; the issue asks for 400 (classic smuggling vector)' },
  },
  { name: 'Transfer-Encoding: gzip', raw: `${R}Transfer-Encoding: gzip\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: chunked, gzip', raw: `${R}Transfer-Encoding: chunked, gzip\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: chunked, chunked', raw: `${R}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'two Transfer-Encoding: chunked lines', raw: `${R}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: xchunked', raw: `${R}Transfer-Encoding: xchunked\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: chunked;q=1', raw: `${R}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'empty Transfer-Encoding', raw: `${R}Transfer-Encoding: \r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: gzip, chunked (422)', raw: `${R}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_UNSUPPORTED' },
  { name: 'Transfer-Encoding: Chunked (case-insensitive)', raw: `${R}Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`, expect: 'ok' },
  { name: 'Transfer-Encoding in HTTP/1.0 (haproxy forwards as chunked)', raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', expect: 'ok' },
  {
    name: 'obs-fold',
    raw: `${G}X-A: b\r\n c\r\n\r\n`,
    expect: 'ERR_H1_OBS_FOLD',
    haproxy: { does: 'forwards', why: 'haproxy unfolds into spaces; the issue asks for 400 (RFC 9112 §5.2 allows either)' },
  },
  { name: 'obs-fold on the first field line', raw: 'GET / HTTP/1.1\r\n X-A: b\r\nHost: a\r\n\r\n', expect: 'ERR_H1_OBS_FOLD' },
  { name: 'obs-fold inside Content-Length', raw: `${R}Content-Length: 1\r\n 0\r\n\r\nx`, expect: 'ERR_H1_OBS_FOLD' },
  { name: 'whitespace before the colon', raw: `${G}X-A : b\r\n\r\n`, expect: 'ERR_H1_WS_BEFORE_COLON' },
  { name: 'Transfer-Encoding with space before the colon', raw: `${R}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, expect: 'ERR_H1_WS_BEFORE_COLON' },
  { name: 'invalid name char (', raw: `${G}X(A: b\r\n\r\n`, expect: 'ERR_H1_INVALID_HEADER_NAME' },
  { name: 'empty header name', raw: `${G}: b\r\n\r\n`, expect: 'ERR_H1_INVALID_HEADER_NAME' },
  { name: 'non-ASCII header name', raw: `${G}X\xc3\xa9: b\r\n\r\n`, expect: 'ERR_H1_INVALID_HEADER_NAME' },
  { name: 'field line without colon', raw: `${G}XA\r\n\r\n`, expect: 'ERR_H1_MISSING_COLON' },
  {
    name: 'NUL in a value',
    raw: `${G}X-A: b\x00c\r\n\r\n`,
    expect: 'ERR_H1_INVALID_HEADER_VALUE',
    haproxy: { does: 'forwards', why: 'haproxy 2.6 forwards NUL; RFC 9110 §5.5 says reject or replace, the issue says reject' },
  },
  {
    name: 'control byte in a value',
    raw: `${G}X-A: b\x01c\r\n\r\n`,
    expect: 'ERR_H1_INVALID_HEADER_VALUE',
    haproxy: { does: 'forwards', why: 'haproxy 2.6 forwards CTLs in values; we refuse them (issue: invalid values)' },
  },
  {
    name: 'DEL in a value',
    raw: `${G}X-A: b\x7fc\r\n\r\n`,
    expect: 'ERR_H1_INVALID_HEADER_VALUE',
    haproxy: { does: 'forwards', why: 'DEL is not a field-vchar; haproxy forwards it' },
  },
  { name: 'HT and obs-text in a value', raw: `${G}X-A: b\tc\xff\r\n\r\n`, expect: 'ok' },
  { name: 'bare CR inside a value', raw: `${G}X-A: b\rc\r\n\r\n`, expect: 'ERR_H1_BARE_CR' },
  { name: 'bare CR as a field line end', raw: 'GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n', expect: 'ERR_H1_BARE_CR' },
  { name: 'bare CR after the request line', raw: 'GET / HTTP/1.1\rHost: a\r\n\r\n', expect: 'ERR_H1_BARE_CR' },
  { name: 'invalid method token', raw: 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_METHOD' },
  { name: 'unusual but valid method token', raw: 'M-S.E~A! / HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ok' },
  { name: 'request line starting with a space', raw: ' GET / HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_METHOD' },
  { name: 'space inside the target', raw: 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_VERSION' },
  { name: '# in the target', raw: 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_TARGET' },
  { name: 'control byte in the target', raw: 'GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_TARGET' },
  { name: 'non-ASCII byte in the target', raw: 'GET /a\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_TARGET' },
  { name: 'quotes and braces in the target (haproxy forwards)', raw: 'GET /a"b{c}|^`\\ HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ok' },
  { name: 'missing version (HTTP/0.9 style)', raw: 'GET /\r\n\r\n', expect: 'ERR_H1_INVALID_START_LINE' },
  { name: 'missing target', raw: 'GET  HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_START_LINE' },
  { name: 'lowercase version', raw: 'GET / http/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_VERSION' },
  { name: 'version HTTP/1.10', raw: 'GET / HTTP/1.10\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_VERSION' },
  { name: 'version HTTP/1', raw: 'GET / HTTP/1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_VERSION' },
  { name: 'space after the version', raw: 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n', expect: 'ERR_H1_INVALID_VERSION' },
  { name: 'version HTTP/2.0 (haproxy handles as 1.1)', raw: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', expect: 'ok' },
  { name: 'two spaces and a tab in the request line', raw: 'GET  /\tHTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ok' },
  { name: 'absolute-form target, same host', raw: 'GET http://A:80/x HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ok' },
  { name: 'absolute-form target, other host', raw: 'GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_AUTHORITY_MISMATCH' },
  { name: 'absolute-form target, other port', raw: 'GET http://a:8080/x HTTP/1.1\r\nHost: a\r\n\r\n', expect: 'ERR_H1_AUTHORITY_MISMATCH' },
  { name: 'WebSocket upgrade without key', raw: `${G}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, expect: 'ERR_H1_WS_KEY_MISSING' },
  {
    name: 'WebSocket upgrade with key',
    raw: `${G}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    expect: 'ok',
  },
  { name: '100 header lines', raw: `GET / HTTP/1.1\r\n${'X: a\r\n'.repeat(100)}\r\n`, expect: 'ok' },
  { name: '101 header lines', raw: `GET / HTTP/1.1\r\n${'X: a\r\n'.repeat(101)}\r\n`, expect: 'ERR_H1_TOO_MANY_HEADERS' },
  { name: '14000-byte head', raw: `${G}X-A: ${'a'.repeat(14000 - G.length - 9)}\r\n\r\n`, expect: 'ok' },
  { name: '16000-byte head', raw: `${G}X-A: ${'a'.repeat(16000 - G.length - 9)}\r\n\r\n`, expect: 'ERR_H1_TOO_LARGE' },
  { name: '16000-byte target', raw: `GET /${'a'.repeat(16000)} HTTP/1.1\r\nHost: a\r\n\r\n`, expect: 'ERR_H1_TOO_LARGE' },
  // Chunked bodies (decided by ChunkedDecoder after the head).
  { name: 'chunked body', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: 'ok' },
  { name: 'chunk size with leading zeros and extensions', raw: `${R}Transfer-Encoding: chunked\r\n\r\n0005 ; a="b c"\r\nhello\r\n0\r\n\r\n`, expect: 'ok' },
  { name: 'chunk lines ending in bare LF (haproxy accepts)', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n`, expect: 'ok' },
  { name: 'chunked with trailer', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`, expect: 'ok' },
  { name: 'chunk size 0x5', raw: `${R}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_SIZE_INVALID' },
  { name: 'negative chunk size', raw: `${R}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_SIZE_INVALID' },
  { name: 'empty chunk size', raw: `${R}Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_SIZE_INVALID' },
  { name: 'space before chunk size', raw: `${R}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_SIZE_INVALID' },
  { name: 'chunk size 2^52', raw: `${R}Transfer-Encoding: chunked\r\n\r\n10000000000000\r\nhello`, expect: 'ERR_H1_CHUNK_SIZE_TOO_BIG' },
  { name: 'chunk size of 17 hex digits', raw: `${R}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nhello`, expect: 'ERR_H1_CHUNK_SIZE_TOO_BIG' },
  { name: '20000-byte chunk extension', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5;${'a'.repeat(20000)}\r\nhello\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_LINE_TOO_LONG' },
  { name: 'bare CR after chunk size', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n`, expect: 'ERR_H1_BARE_CR' },
  { name: 'chunk data longer than its size', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n`, expect: 'ERR_H1_CHUNK_DATA_NO_CRLF' },
  {
    name: 'trailer with invalid name',
    raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX(T: 1\r\n\r\n`,
    expect: 'ERR_H1_TRAILER_INVALID',
    haproxy: {
      does: ['forwards', 400],
      why: 'haproxy 2.6 forwards trailer names that are not tokens or answers 400, depending on timing; we always refuse',
    },
  },
  { name: 'trailer without colon', raw: `${R}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nXT\r\n\r\n`, expect: 'ERR_H1_TRAILER_INVALID' },
];

const OK = 'HTTP/1.1 200 OK\r\n';

/** Response heads, decided by ResponseHead (after a GET that asked for no upgrade). */
export const RESPONSE_VECTORS: Vector[] = [
  { name: 'plain 200', raw: `${OK}Content-Length: 2\r\n\r\nok`, expect: 'ok' },
  { name: 'no reason phrase', raw: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok', expect: 'ok' },
  { name: 'control byte in reason (haproxy forwards)', raw: 'HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok', expect: 'ok' },
  { name: 'HTTP/1.0 response', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', expect: 'ok' },
  { name: 'LF-only response', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', expect: 'ok' },
  { name: 'no length: until close', raw: `${OK}\r\nokokok`, expect: 'ok' },
  { name: 'status 600 (haproxy forwards)', raw: 'HTTP/1.1 600 X\r\nContent-Length: 2\r\n\r\nok', expect: 'ok' },
  { name: 'status abc', raw: 'HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok', expect: 'ERR_H1_INVALID_STATUS' },
  { name: 'no version', raw: '200 OK\r\n\r\nok', expect: 'ERR_H1_INVALID_VERSION' },
  {
    name: 'status with 4 digits',
    raw: 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
    expect: 'ERR_H1_INVALID_STATUS',
    haproxy: { does: 'forwards', why: 'a status is three digits (RFC 9110 §15); haproxy passes 2000 through' },
  },
  {
    name: 'junk version HTTX/1.1',
    raw: 'HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expect: 'ERR_H1_INVALID_VERSION',
    haproxy: { does: 'forwards', why: 'haproxy rewrites it to HTTP/1.1; we refuse what is not HTTP' },
  },
  { name: 'differing duplicate Content-Length', raw: `${OK}Content-Length: 2\r\nContent-Length: 3\r\n\r\nok`, expect: 'ERR_H1_CL_MISMATCH' },
  { name: 'identical duplicate Content-Length', raw: `${OK}Content-Length: 2\r\nContent-Length: 2\r\n\r\nok`, expect: 'ok' },
  { name: 'invalid Content-Length', raw: `${OK}Content-Length: 2x\r\n\r\nok`, expect: 'ERR_H1_CL_INVALID' },
  {
    name: 'Content-Length with Transfer-Encoding',
    raw: `${OK}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
    expect: 'ERR_H1_CL_AND_TE',
    haproxy: { does: 'forwards', why: 'haproxy drops Content-Length; the issue asks for 502' },
  },
  { name: 'Transfer-Encoding: gzip', raw: `${OK}Transfer-Encoding: gzip\r\n\r\nok`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: gzip, chunked', raw: `${OK}Transfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'Transfer-Encoding: chunked, chunked', raw: `${OK}Transfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`, expect: 'ERR_H1_TE_NOT_CHUNKED' },
  { name: 'chunked HTTP/1.0 response (haproxy forwards)', raw: 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', expect: 'ok' },
  {
    name: 'obs-fold',
    raw: `${OK}X-A: b\r\n c\r\nContent-Length: 2\r\n\r\nok`,
    expect: 'ERR_H1_OBS_FOLD',
    haproxy: { does: 'forwards', why: 'haproxy unfolds; the issue asks to refuse obs-fold' },
  },
  { name: 'invalid header name', raw: `${OK}X(A: b\r\nContent-Length: 2\r\n\r\nok`, expect: 'ERR_H1_INVALID_HEADER_NAME' },
  { name: 'space before colon', raw: `${OK}X-A : b\r\nContent-Length: 2\r\n\r\nok`, expect: 'ERR_H1_WS_BEFORE_COLON' },
  { name: 'bare CR', raw: `${OK}X-A: b\rc\r\nContent-Length: 2\r\n\r\nok`, expect: 'ERR_H1_BARE_CR' },
  { name: '204 with Content-Length (no body)', raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', expect: 'ok' },
  { name: '304 with Content-Length (no body)', raw: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', expect: 'ok' },
  { name: '101 to a request that asked for no upgrade', raw: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', expect: 'ERR_H1_UNEXPECTED_101' },
  { name: '101 header lines', raw: `${OK}${'X: a\r\n'.repeat(100)}Content-Length: 2\r\n\r\nok`, expect: 'ERR_H1_TOO_MANY_HEADERS' },
];
