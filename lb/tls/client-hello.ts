// Reads a TLS ClientHello from the first bytes of a connection without terminating TLS, so that a
// `mode tcp` frontend can route on `req.ssl_sni` (and see ALPN and offered versions) while the
// encrypted stream passes through untouched.
//
// Incremental by re-parsing: call parseClientHello() with all bytes received so far; it answers
// 'need-more' while they are a valid prefix of a ClientHello, 'ok' once the whole handshake
// message is in, 'invalid' as soon as they cannot be one (the first byte of plain HTTP already
// fails). The caller bounds the wait (`tcp-request inspect-delay`) and the size (maxBytes).
// It never throws: every read is bounds-checked first.
//
// Formats: TLS record (RFC 8446 §5.1, RFC 5246 §6.2.1), ClientHello (RFC 8446 §4.1.2),
// server_name (RFC 6066 §3), ALPN (RFC 7301 §3.1), supported_versions (RFC 8446 §4.2.1).
// A ClientHello may span several handshake records; they are reassembled.

export interface ClientHello {
  /** Version in the first record header (0x0301 for most clients). */
  readonly recordVersion: number;
  /** legacy_version of the ClientHello (0x0303 for TLS 1.2 and 1.3 clients). */
  readonly legacyVersion: number;
  /** supported_versions when present, else [legacyVersion]. GREASE values are kept. */
  readonly versions: readonly number[];
  /** server_name host_name (as sent, ASCII), undefined when absent. */
  readonly sni: string | undefined;
  /** ALPN protocol names in the client's order; empty when absent. */
  readonly alpn: readonly string[];
  /** Number of offered cipher suites. */
  readonly cipherSuites: number;
  /** Bytes of records that carried the ClientHello (where the server-bound stream continues). */
  readonly length: number;
}

export type ClientHelloResult =
  | { readonly status: 'need-more' }
  | { readonly status: 'ok'; readonly hello: ClientHello }
  | { readonly status: 'invalid'; readonly reason: string };

export interface ClientHelloOptions {
  /** Largest number of record bytes accepted for the whole ClientHello (default 16384). */
  readonly maxBytes?: number;
}

const NEED_MORE: ClientHelloResult = { status: 'need-more' };
const RECORD_HEADER = 5;
const MAX_RECORD = 16384; // 2^14, RFC 8446 §5.1
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

function invalid(reason: string): ClientHelloResult {
  return { status: 'invalid', reason };
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

/**
 * Parses `data` (bytes received so far, from the first byte of the connection).
 * Accepts any Uint8Array; returns need-more / ok / invalid, never throws.
 */
export function parseClientHello(data: Uint8Array, opts: ClientHelloOptions = {}): ClientHelloResult {
  const maxBytes = opts.maxBytes ?? 16384;
  // Walk the records, checking each header as soon as its bytes are there.
  let pos = 0;
  let msgLen = -1; // handshake body length, known once the first 4 handshake bytes are in
  let have = 0; // handshake bytes collected
  const fragments: Uint8Array[] = [];
  let recordVersion = -1;
  for (;;) {
    if (data.length <= pos) return NEED_MORE;
    if (data[pos] !== HANDSHAKE) return invalid(pos === 0 ? 'not a TLS handshake record' : 'non-handshake record inside ClientHello');
    if (data.length < pos + 2) return NEED_MORE;
    if (data[pos + 1] !== 3) return invalid('bad record version');
    if (data.length < pos + 3) return NEED_MORE;
    const minor = data[pos + 2]!;
    if (minor > 4) return invalid('bad record version');
    if (recordVersion < 0) recordVersion = 0x0300 | minor;
    if (data.length < pos + RECORD_HEADER) return NEED_MORE;
    const recLen = u16(data, pos + 3);
    if (recLen === 0 || recLen > MAX_RECORD) return invalid('bad record length');
    const fragStart = pos + RECORD_HEADER;
    // Records holding the ClientHello carry nothing else, so the whole record must fit.
    if (fragStart + recLen > maxBytes) return invalid('ClientHello larger than the inspect buffer');
    const avail = Math.min(recLen, data.length - fragStart);
    // Check the handshake header early (it may itself be split across records: rare but legal).
    if (msgLen < 0) {
      const hdr = collect(fragments, data.subarray(fragStart, fragStart + avail), have, 4);
      if (hdr.length >= 1 && hdr[0] !== CLIENT_HELLO) return invalid('handshake message is not a ClientHello');
      if (hdr.length >= 4) {
        msgLen = (hdr[1]! << 16) | (hdr[2]! << 8) | hdr[3]!;
        if (msgLen < 38) return invalid('ClientHello too short');
        if (4 + msgLen > maxBytes) return invalid('ClientHello larger than the inspect buffer');
      }
    }
    if (avail < recLen) {
      // The record is incomplete. If the message ends inside this record, we still need the rest
      // of the record anyway (its bytes belong to the same record), so simply wait.
      return NEED_MORE;
    }
    fragments.push(data.subarray(fragStart, fragStart + recLen));
    have += recLen;
    pos = fragStart + recLen;
    if (msgLen >= 0 && have >= 4 + msgLen) {
      if (have > 4 + msgLen) return invalid('trailing data after ClientHello in its record');
      break;
    }
  }
  const msg = fragments.length === 1 ? fragments[0]! : concat(fragments, have);
  return parseBody(msg.subarray(4, 4 + msgLen), recordVersion, pos);
}

/** The first `want` handshake bytes from earlier fragments plus `next`, for the header check. */
function collect(fragments: readonly Uint8Array[], next: Uint8Array, have: number, want: number): Uint8Array {
  if (fragments.length === 0) return next.subarray(0, want);
  const all = concat([...fragments, next], have + next.length);
  return all.subarray(0, want);
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function parseBody(b: Uint8Array, recordVersion: number, length: number): ClientHelloResult {
  let p = 0;
  const legacyVersion = u16(b, 0);
  p = 2 + 32; // legacy_version, random
  const sidLen = b[p]!;
  if (sidLen > 32) return invalid('session id longer than 32 bytes');
  p += 1 + sidLen;
  if (b.length < p + 2) return invalid('truncated cipher suites');
  const csLen = u16(b, p);
  if (csLen < 2 || csLen % 2 !== 0) return invalid('bad cipher suites length');
  p += 2 + csLen;
  if (b.length < p + 1) return invalid('truncated compression methods');
  const compLen = b[p]!;
  if (compLen < 1) return invalid('no compression method');
  p += 1 + compLen;
  if (b.length < p) return invalid('truncated compression methods');
  let sni: string | undefined;
  let alpn: string[] = [];
  let versions: number[] | undefined;
  if (b.length > p) {
    if (b.length < p + 2) return invalid('truncated extensions');
    const extLen = u16(b, p);
    p += 2;
    if (p + extLen !== b.length) return invalid('extensions length does not match the message');
    const seen = new Set<number>();
    while (p < b.length) {
      if (b.length < p + 4) return invalid('truncated extension header');
      const type = u16(b, p);
      const len = u16(b, p + 2);
      p += 4;
      if (b.length < p + len) return invalid('truncated extension');
      if (seen.has(type)) return invalid(`duplicate extension ${type}`);
      seen.add(type);
      const ext = b.subarray(p, p + len);
      p += len;
      if (type === EXT_SERVER_NAME) {
        const r = parseServerName(ext);
        if (typeof r !== 'string' && r !== undefined) return r;
        sni = r;
      } else if (type === EXT_ALPN) {
        const r = parseAlpn(ext);
        if (!Array.isArray(r)) return r;
        alpn = r;
      } else if (type === EXT_SUPPORTED_VERSIONS) {
        const r = parseVersions(ext);
        if (!Array.isArray(r)) return r;
        versions = r;
      }
    }
  }
  return {
    status: 'ok',
    hello: { recordVersion, legacyVersion, versions: versions ?? [legacyVersion], sni, alpn, cipherSuites: csLen / 2, length },
  };
}

/** RFC 6066 §3: ServerNameList; returns the host_name, undefined if none, or an invalid result. */
function parseServerName(e: Uint8Array): string | undefined | ClientHelloResult {
  // An empty extension is what servers send back; a client must send a list.
  if (e.length < 2 || u16(e, 0) !== e.length - 2) return invalid('bad server_name list length');
  let p = 2;
  let host: string | undefined;
  while (p < e.length) {
    if (e.length < p + 3) return invalid('truncated server_name entry');
    const nameType = e[p]!;
    const len = u16(e, p + 1);
    p += 3;
    if (e.length < p + len) return invalid('truncated server_name entry');
    if (nameType === 0) {
      if (host !== undefined) return invalid('more than one host_name');
      if (len === 0 || len > 255) return invalid('bad host_name length');
      for (let i = p; i < p + len; i++) {
        const c = e[i]!;
        if (c < 0x21 || c > 0x7e) return invalid('host_name is not printable ASCII');
      }
      host = Buffer.from(e.buffer, e.byteOffset + p, len).toString('latin1');
    }
    p += len;
  }
  return host;
}

/** RFC 7301 §3.1: ProtocolNameList of non-empty names. */
function parseAlpn(e: Uint8Array): string[] | ClientHelloResult {
  if (e.length < 2 || u16(e, 0) !== e.length - 2 || e.length === 2) return invalid('bad ALPN list length');
  const out: string[] = [];
  let p = 2;
  while (p < e.length) {
    const len = e[p]!;
    p += 1;
    if (len === 0 || e.length < p + len) return invalid('bad ALPN protocol name');
    out.push(Buffer.from(e.buffer, e.byteOffset + p, len).toString('latin1'));
    p += len;
  }
  return out;
}

/** RFC 8446 §4.2.1: client form, a 1-byte length then 2-byte versions. */
function parseVersions(e: Uint8Array): number[] | ClientHelloResult {
  if (e.length < 3 || e[0]! !== e.length - 1 || (e.length - 1) % 2 !== 0) return invalid('bad supported_versions');
  const out: number[] = [];
  for (let p = 1; p < e.length; p += 2) out.push(u16(e, p));
  return out;
}
