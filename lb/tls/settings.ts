// HAProxy's TLS settings (global `ssl-default-bind-*` / `ssl-default-server-*`, the TLS words of a
// `bind` line and of a `server` line) mapped onto Node's tls options. Pure functions of plain
// option objects: lb/config parses the words, this module decides what they mean, and reports
// problems as coded diagnostics (the caller prefixes them with `parsing [file:line]`).
//
// Semantics copied from HAProxy 2.6 (checked against Debian's `haproxy -c`):
// - bind defaults: ssl-min-ver TLSv1.2, server cipher preference (honorCipherOrder).
// - global default options are forced on every bind line: flags are OR'd, while a bind line's own
//   ssl-min-ver / ssl-max-ver override the global ones.
// - `no-tlsv1x` flags are ignored (with a warning) as soon as ssl-min-ver or ssl-max-ver is set.
// - `force-tlsvXX` is min = max = XX; later words override earlier ones, so
//   `force-tlsv12 ssl-min-ver TLSv1.3` disables everything (an error, as in HAProxy).
// - A hole in the enabled range (TLSv1.0 + TLSv1.2 without 1.1) is kept with a warning.
// - OpenSSL ignores unknown names inside a cipher list as long as one name matches; HAProxy
//   inherits that silently. We keep accepting such lists but warn about each unknown name.
//
// SSLv3 cannot be enabled: Node's OpenSSL is built without it (as on most distributions, where
// HAProxy silently behaves the same). `ssl-min-ver SSLv3` therefore starts at TLSv1.0, with a warning.

import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';

// ---------------------------------------------------------------------------------------------
// Diagnostics shared by the whole lb/tls folder

/**
 * Codes of lb/tls diagnostics and errors (DESIGN.md principle 6):
 * - ERR_LB_TLS_CERT_READ: a crt file or directory is missing or unreadable.
 * - ERR_LB_TLS_CERT_PARSE: a crt file holds no certificate, or one OpenSSL cannot parse.
 * - ERR_LB_TLS_CERT_EXPIRED: (warning) the certificate's notAfter is in the past.
 * - ERR_LB_TLS_CERT_NOT_YET_VALID: (warning) the certificate's notBefore is in the future.
 * - ERR_LB_TLS_KEY_MISSING: no private key in the PEM file nor in its `FILE.key` companion.
 * - ERR_LB_TLS_KEY_PARSE: the private key cannot be parsed (or is encrypted: no passphrase support).
 * - ERR_LB_TLS_KEY_MISMATCH: the private key does not belong to the certificate.
 * - ERR_LB_TLS_NO_CERT: a `bind ... ssl` without any certificate (empty directory, no crt).
 * - ERR_LB_TLS_CIPHERS: a cipher list or TLS 1.3 cipher suite list OpenSSL rejects (error), or
 *   names inside it that OpenSSL ignores (warning).
 * - ERR_LB_TLS_VERSION: the TLS version options disable every version (error), or are
 *   ambiguous / ignored / leave a hole (warning).
 * - ERR_LB_TLS_ALPN: an ALPN list the proxy cannot honour (h2/h3 on an HTTP/1.1-only proxy).
 * - ERR_LB_TLS_OPTION: an unknown or unsupported TLS option word.
 * - ERR_LB_TLS_VERIFY: `server ... ssl` verifying without a CA file.
 * - ERR_LB_TLS_CONTEXT: OpenSSL refused to build a context for another reason.
 */
export type TlsErrorCode =
  | 'ERR_LB_TLS_CERT_READ'
  | 'ERR_LB_TLS_CERT_PARSE'
  | 'ERR_LB_TLS_CERT_EXPIRED'
  | 'ERR_LB_TLS_CERT_NOT_YET_VALID'
  | 'ERR_LB_TLS_KEY_MISSING'
  | 'ERR_LB_TLS_KEY_PARSE'
  | 'ERR_LB_TLS_KEY_MISMATCH'
  | 'ERR_LB_TLS_NO_CERT'
  | 'ERR_LB_TLS_CIPHERS'
  | 'ERR_LB_TLS_VERSION'
  | 'ERR_LB_TLS_ALPN'
  | 'ERR_LB_TLS_OPTION'
  | 'ERR_LB_TLS_VERIFY'
  | 'ERR_LB_TLS_CONTEXT';

export interface TlsDiagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: TlsErrorCode;
  /** Human text; names the file when one is involved (no file:line prefix: the caller adds it). */
  readonly message: string;
  /** The file concerned, when there is one. */
  readonly file?: string;
}

/** Thrown by APIs that cannot return diagnostics (e.g. a reload asked for by the runtime API). */
export class TlsError extends Error {
  readonly code: TlsErrorCode;
  readonly diagnostics: readonly TlsDiagnostic[];
  constructor(code: TlsErrorCode, message: string, diagnostics: readonly TlsDiagnostic[] = []) {
    super(message);
    this.name = 'TlsError';
    this.code = code;
    this.diagnostics = diagnostics;
  }
}

export function hasErrors(diags: readonly TlsDiagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

// ---------------------------------------------------------------------------------------------
// TLS versions

/** HAProxy's version names in order; index = rank. SSLv3 exists in the syntax only. */
const VERSIONS = ['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type HaproxyTlsVersion = (typeof VERSIONS)[number];
const NODE_VERSION: Record<HaproxyTlsVersion, tls.SecureVersion | undefined> = {
  SSLv3: undefined, // not in Node's OpenSSL
  'TLSv1.0': 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};
/** OpenSSL option that disables one version; used only for holes inside [min, max]. */
const NO_VERSION_OPTION: Record<HaproxyTlsVersion, number> = {
  SSLv3: constants.SSL_OP_NO_SSLv3,
  'TLSv1.0': constants.SSL_OP_NO_TLSv1,
  'TLSv1.1': constants.SSL_OP_NO_TLSv1_1,
  'TLSv1.2': constants.SSL_OP_NO_TLSv1_2,
  'TLSv1.3': constants.SSL_OP_NO_TLSv1_3,
};
const DEFAULT_MIN = 3; // TLSv1.2, HAProxy's default for bind and server lines since 2.2

const FLAG_VERSION: Record<string, number> = { sslv3: 0, tlsv10: 1, tlsv11: 2, tlsv12: 3, tlsv13: 4 };

/** One side's version words, before merging with the global defaults. */
interface VersionWords {
  min: number | undefined;
  max: number | undefined;
  /** Bit i set = version i disabled by `no-...`. */
  noFlags: number;
}

function versionRank(v: string): number | undefined {
  const i = (VERSIONS as readonly string[]).indexOf(v);
  return i < 0 ? undefined : i;
}

// ---------------------------------------------------------------------------------------------
// Option words (ssl-default-bind-options, ssl-default-server-options and the bind/server line)

/** Flags besides versions; `strict-sni` only means something on bind lines. */
interface OtherFlags {
  noTlsTickets: boolean;
  preferClientCiphers: boolean;
  strictSni: boolean;
}

interface ParsedWords extends VersionWords, OtherFlags {}

/**
 * Reads HAProxy TLS option words in order: `ssl-min-ver V`, `ssl-max-ver V`, `no-sslv3`,
 * `no-tlsv1x`, `force-sslv3`, `force-tlsv1x`, `no-tls-tickets`, `prefer-client-ciphers`,
 * `strict-sni` (bind side only). Unknown words are errors.
 */
function parseWords(words: readonly string[], where: string, side: 'bind' | 'server', diags: TlsDiagnostic[]): ParsedWords {
  const p: ParsedWords = { min: undefined, max: undefined, noFlags: 0, noTlsTickets: false, preferClientCiphers: false, strictSni: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w === 'ssl-min-ver' || w === 'ssl-max-ver') {
      const v = words[i + 1] ?? '';
      i++;
      const r = versionRank(v);
      if (r === undefined) {
        diags.push({ severity: 'error', code: 'ERR_LB_TLS_VERSION', message: `${where} : '${w}' : unknown ssl/tls version string '${v}'.` });
        continue;
      }
      if (w === 'ssl-min-ver') p.min = r;
      else p.max = r;
      continue;
    }
    const m = /^(no|force)-(sslv3|tlsv1[0-3])$/.exec(w);
    if (m !== null) {
      const r = FLAG_VERSION[m[2] ?? ''] ?? 0;
      if (m[1] === 'no') p.noFlags |= 1 << r;
      else p.min = p.max = r;
      continue;
    }
    if (w === 'no-tls-tickets') p.noTlsTickets = true;
    else if (w === 'prefer-client-ciphers' && side === 'bind') p.preferClientCiphers = true;
    else if (w === 'strict-sni' && side === 'bind') p.strictSni = true;
    else diags.push({ severity: 'error', code: 'ERR_LB_TLS_OPTION', message: `${where} : unknown or unsupported TLS option '${w}'.` });
  }
  return p;
}

export interface VersionRange {
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion;
  /** SSL_OP_NO_* bits for versions disabled inside [min, max]. */
  readonly secureOptions: number;
}

/**
 * Computes the enabled version range as HAProxy's ssl_sock_prepare_ctx does: explicit min/max
 * win over no-* flags (ignored with a warning); default min TLSv1.2; a hole is warned about.
 */
function resolveVersions(local: VersionWords, global: VersionWords, where: string, diags: TlsDiagnostic[]): VersionRange | undefined {
  const min0 = local.min ?? global.min;
  const max0 = local.max ?? global.max;
  let disabled = local.noFlags | global.noFlags;
  if (disabled !== 0 && (min0 !== undefined || max0 !== undefined)) {
    diags.push({ severity: 'warning', code: 'ERR_LB_TLS_VERSION', message: `${where} : no-sslv3/no-tlsv1x are ignored when ssl-min-ver or ssl-max-ver is set. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.` });
    disabled = 0;
  }
  let min = min0;
  if (min === undefined) {
    if (max0 === undefined || max0 >= DEFAULT_MIN) min = DEFAULT_MIN;
    else {
      diags.push({ severity: 'warning', code: 'ERR_LB_TLS_VERSION', message: `${where} : ssl-min-ver is not configured and ssl-max-ver is lower than the default ssl-min-ver (TLSv1.2); ssl-min-ver set to ${VERSIONS[max0] ?? '?'}. Use 'ssl-min-ver' to fix this.` });
      min = max0;
    }
  }
  const max = max0 ?? VERSIONS.length - 1;
  if (min === 0 && max >= 1) {
    diags.push({ severity: 'warning', code: 'ERR_LB_TLS_VERSION', message: `${where} : SSLv3 is not available in this TLS library; TLSv1.0 is the lowest version enabled.` });
  }
  let lo: number | undefined;
  let hi: number | undefined;
  let hole: number | undefined;
  let secureOptions = 0;
  for (let i = 1; i < VERSIONS.length; i++) {
    const on = i >= min && i <= max && (disabled & (1 << i)) === 0;
    if (on) {
      if (lo === undefined) lo = i;
      else if (hole !== undefined) {
        diags.push({ severity: 'warning', code: 'ERR_LB_TLS_VERSION', message: `${where} : SSL/TLS versions range not contiguous. Hole found for ${VERSIONS[hole] ?? '?'}. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.` });
        hole = undefined;
      }
      hi = i;
    } else if (lo !== undefined) {
      hole = i;
    }
  }
  if (lo === undefined || hi === undefined) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_VERSION', message: `${where} : all SSL/TLS versions are disabled.` });
    return undefined;
  }
  for (let i = lo + 1; i < hi; i++) if ((disabled & (1 << i)) !== 0) secureOptions |= NO_VERSION_OPTION[VERSIONS[i] ?? 'SSLv3'];
  const nodeMin = NODE_VERSION[VERSIONS[lo] ?? 'TLSv1.2'];
  const nodeMax = NODE_VERSION[VERSIONS[hi] ?? 'TLSv1.3'];
  if (nodeMin === undefined || nodeMax === undefined) return undefined; // unreachable: lo, hi ≥ 1
  return { minVersion: nodeMin, maxVersion: nodeMax, secureOptions };
}

// ---------------------------------------------------------------------------------------------
// Ciphers

/**
 * Builds Node's single `ciphers` string from HAProxy's two settings: Node sends the entries named
 * TLS_* to SSL_CTX_set_ciphersuites (TLS 1.3) and the rest to SSL_CTX_set_cipher_list. When only
 * one of the two is configured, the other keeps Node's default part.
 */
function nodeCiphers(list: string | undefined, suites: string | undefined): string | undefined {
  if (list === undefined && suites === undefined) return undefined;
  const defaults = tls.DEFAULT_CIPHERS.split(':');
  const defSuites = defaults.filter((c) => c.startsWith('TLS_')).join(':');
  const defList = defaults.filter((c) => !c.startsWith('TLS_')).join(':');
  return `${suites ?? defSuites}:${list ?? defList}`;
}

/** True when OpenSSL accepts `ciphers` (Node syntax) in a context. */
function cipherError(ciphers: string): string | undefined {
  try {
    tls.createSecureContext({ ciphers });
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Validates a cipher list (`kind` 'list') or TLS 1.3 suite list (`kind` 'suites') the way
 * OpenSSL will use it: an error when OpenSSL rejects the whole list, a warning for each plain
 * name (no `!-+@` prefix) that matches nothing, because OpenSSL drops those silently.
 */
function checkCipherString(value: string, kind: 'list' | 'suites', label: string, diags: TlsDiagnostic[]): boolean {
  if (kind === 'suites') {
    const bad = value.split(':').filter((s) => s !== '' && !s.startsWith('TLS_'));
    if (bad.length > 0 || value.trim() === '') {
      diags.push({ severity: 'error', code: 'ERR_LB_TLS_CIPHERS', message: `${label} : unable to set TLS 1.3 cipher suites to '${value}' (TLS 1.3 suite names start with TLS_: ${bad.join(', ') || 'empty list'}).` });
      return false;
    }
  }
  const probe = kind === 'list' ? nodeCiphers(value, undefined) : nodeCiphers(undefined, value);
  const whole = cipherError(probe ?? value);
  // A list with only unknown names: Node/OpenSSL says "no cipher match".
  if (whole !== undefined) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CIPHERS', message: `${label} : unable to set ${kind === 'list' ? 'SSL cipher list' : 'TLS 1.3 cipher suites'} to '${value}' (${whole}).` });
    return false;
  }
  for (const name of value.split(':')) {
    if (name === '' || /^[!+\-@]/.test(name)) continue;
    // Each name alone must select something. OpenSSL ignores unknown TLS 1.3 suite names even
    // alone, so those are checked against OpenSSL's (short, fixed) TLS 1.3 table instead.
    if (kind === 'list' && name.startsWith('TLS_')) {
      diags.push({ severity: 'warning', code: 'ERR_LB_TLS_CIPHERS', message: `${label} : '${name}' is a TLS 1.3 suite; it belongs in the ciphersuites setting and is ignored in a cipher list.` });
      continue;
    }
    const unknown = kind === 'suites' ? !suiteKnown(name) : cipherError(name) !== undefined;
    if (unknown) {
      diags.push({ severity: 'warning', code: 'ERR_LB_TLS_CIPHERS', message: `${label} : cipher '${name}' matches nothing and is ignored by OpenSSL.` });
    }
  }
  return true;
}

/** TLS 1.3 suites OpenSSL knows (its whole TLS 1.3 table is tiny and stable). */
function suiteKnown(name: string): boolean {
  return ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256'].includes(name);
}

// ---------------------------------------------------------------------------------------------
// ALPN

/** What the proxy can speak on a decrypted connection. */
export type ProxyMode = 'http' | 'tcp';

const HTTP1_ALPN = new Set(['http/1.1', 'http/1.0']);

/**
 * Parses `alpn a,b,c`. In `mode http`, our proxy speaks HTTP/1.x only: advertising h2 would let a
 * client pick it and then send an HTTP/2 preface our HTTP/1 parser rejects. We choose a WARNING and
 * drop the protocols we cannot speak rather than an error, because `alpn h2,http/1.1` is in most
 * real HAProxy configurations and every browser offering h2 also offers http/1.1, so they keep
 * working over HTTP/1.1. A list left empty by that (`alpn h2`) is an error: the configuration asks
 * for something we cannot serve at all. In `mode tcp` the bytes are forwarded untouched to a
 * server that may speak h2, so the list is kept as is. QUIC-only names (h3, hq-interop) are errors.
 */
function parseAlpn(value: string, mode: ProxyMode, label: string, diags: TlsDiagnostic[]): string[] | undefined {
  const names = value.split(',');
  if (names.some((n) => n === '' || n.length > 255)) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_ALPN', message: `${label} : 'alpn' : invalid protocol list '${value}'.` });
    return undefined;
  }
  const quic = names.filter((n) => n === 'h3' || n === 'hq-interop' || n.startsWith('h3-'));
  if (quic.length > 0) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_ALPN', message: `${label} : 'alpn' : ${quic.join(', ')} exist only over QUIC, which lb does not support.` });
    return undefined;
  }
  if (mode === 'tcp') return names;
  const kept = names.filter((n) => HTTP1_ALPN.has(n));
  const dropped = names.filter((n) => !HTTP1_ALPN.has(n));
  if (kept.length === 0) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_ALPN', message: `${label} : 'alpn ${value}' : lb speaks HTTP/1.x only in mode http; offer http/1.1.` });
    return undefined;
  }
  if (dropped.length > 0) {
    diags.push({ severity: 'warning', code: 'ERR_LB_TLS_ALPN', message: `${label} : 'alpn' : lb speaks HTTP/1.x only in mode http; not advertising ${dropped.join(', ')} (clients fall back to ${kept.join(', ')}).` });
  }
  return kept;
}

// ---------------------------------------------------------------------------------------------
// bind side

/** Global `ssl-default-bind-*` (or `ssl-default-server-*`) settings, as written. */
export interface TlsDefaults {
  readonly ciphers?: string;
  readonly ciphersuites?: string;
  readonly curves?: string;
  /** Option words in order, e.g. ['ssl-min-ver', 'TLSv1.2', 'no-tls-tickets']. */
  readonly options?: readonly string[];
}

/** The TLS words of one `bind` line. */
export interface BindTlsInput {
  /** Used in messages, e.g. "bind :443" (file:line is added by the caller). */
  readonly label?: string;
  readonly mode: ProxyMode;
  readonly ciphers?: string;
  readonly ciphersuites?: string;
  /** `curves` (or the older single-curve `ecdhe`). */
  readonly curves?: string;
  readonly alpn?: string;
  /** Option words in order: ssl-min-ver V, ssl-max-ver V, no-*, force-*, no-tls-tickets, prefer-client-ciphers, strict-sni. */
  readonly options?: readonly string[];
}

export interface BindTlsSettings {
  /** For tls.createSecureContext: apply to EVERY context of the bind (default and SNI ones), since
   * OpenSSL keeps the version range and cipher list of the context a handshake started with only
   * partly when SNI switches contexts. Has no cert/key: the cert store adds those. */
  readonly contextOptions: tls.SecureContextOptions;
  /** For tls.createServer / new tls.TLSSocket({isServer}): ALPN offered, undefined = no ALPN. */
  readonly alpnProtocols: readonly string[] | undefined;
  /** `strict-sni`: refuse handshakes whose SNI matches no certificate (no default certificate). */
  readonly strictSni: boolean;
}

export type SettingsResult<T> =
  | { readonly ok: true; readonly value: T; readonly diagnostics: readonly TlsDiagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly TlsDiagnostic[] };

function finish<T>(value: T | undefined, diags: TlsDiagnostic[]): SettingsResult<T> {
  return value === undefined || hasErrors(diags) ? { ok: false, diagnostics: diags } : { ok: true, value, diagnostics: diags };
}

/**
 * Merges the global `ssl-default-bind-*` settings with one bind line's TLS words into Node
 * options. Every cipher string is validated by building a context, so an invalid list is a
 * configuration error now and never a failure at the first handshake.
 */
export function bindTlsSettings(global: TlsDefaults, bind: BindTlsInput): SettingsResult<BindTlsSettings> {
  const diags: TlsDiagnostic[] = [];
  const label = bind.label ?? 'bind';
  const g = parseWords(global.options ?? [], 'ssl-default-bind-options', 'bind', diags);
  const b = parseWords(bind.options ?? [], label, 'bind', diags);
  const range = resolveVersions(b, g, label, diags);
  const list = bind.ciphers ?? global.ciphers;
  const suites = bind.ciphersuites ?? global.ciphersuites;
  if (list !== undefined) checkCipherString(list, 'list', bind.ciphers !== undefined ? `${label} : ciphers` : 'ssl-default-bind-ciphers', diags);
  if (suites !== undefined) checkCipherString(suites, 'suites', bind.ciphersuites !== undefined ? `${label} : ciphersuites` : 'ssl-default-bind-ciphersuites', diags);
  const alpn = bind.alpn === undefined ? undefined : parseAlpn(bind.alpn, bind.mode, label, diags);
  if (range === undefined || hasErrors(diags)) return { ok: false, diagnostics: diags };

  let secureOptions = range.secureOptions;
  if (b.noTlsTickets || g.noTlsTickets) secureOptions |= constants.SSL_OP_NO_TICKET;
  const ciphers = nodeCiphers(list, suites);
  const curves = bind.curves ?? global.curves;
  const contextOptions: tls.SecureContextOptions = {
    minVersion: range.minVersion,
    maxVersion: range.maxVersion,
    // HAProxy enforces the server's order unless prefer-client-ciphers; Node's default is the client's.
    honorCipherOrder: !(b.preferClientCiphers || g.preferClientCiphers),
    ...(secureOptions !== 0 ? { secureOptions } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
    ...(curves !== undefined ? { ecdhCurve: curves } : {}),
  };
  const probe = contextError(contextOptions);
  if (probe !== undefined) diags.push({ severity: 'error', code: curves !== undefined && /curve|group/i.test(probe) ? 'ERR_LB_TLS_OPTION' : 'ERR_LB_TLS_CONTEXT', message: `${label} : ${probe}` });
  return finish({ contextOptions, alpnProtocols: alpn, strictSni: b.strictSni || g.strictSni }, diags);
}

function contextError(opts: tls.SecureContextOptions): string | undefined {
  try {
    tls.createSecureContext(opts);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Splits a bind line's option record (keyword → value, or true for a flag; the shape lb/config
 * keeps in Bind.options) into BindTlsInput. Returns the words it does not know as TLS words in
 * `rest`, so the caller can decide which of them are non-TLS bind options.
 */
export function bindInputFromRecord(options: Readonly<Record<string, string | boolean>>, mode: ProxyMode, alpn?: string): { input: BindTlsInput; rest: string[] } {
  const words: string[] = [];
  const rest: string[] = [];
  let ciphers: string | undefined;
  let ciphersuites: string | undefined;
  let curves: string | undefined;
  for (const [k, v] of Object.entries(options)) {
    if (v === false) continue;
    if (k === 'ciphers' && typeof v === 'string') ciphers = v;
    else if (k === 'ciphersuites' && typeof v === 'string') ciphersuites = v;
    else if ((k === 'curves' || k === 'ecdhe') && typeof v === 'string') curves = v;
    else if ((k === 'ssl-min-ver' || k === 'ssl-max-ver') && typeof v === 'string') words.push(k, v);
    else if (/^(no|force)-(sslv3|tlsv1[0-3])$/.test(k) || k === 'no-tls-tickets' || k === 'prefer-client-ciphers' || k === 'strict-sni') words.push(k);
    else rest.push(k);
  }
  const input: BindTlsInput = {
    mode,
    options: words,
    ...(ciphers !== undefined ? { ciphers } : {}),
    ...(ciphersuites !== undefined ? { ciphersuites } : {}),
    ...(curves !== undefined ? { curves } : {}),
    ...(alpn !== undefined ? { alpn } : {}),
  };
  return { input, rest };
}

// ---------------------------------------------------------------------------------------------
// server side (re-encryption)

/** The TLS words of one `server` line (after default-server merging). */
export interface ServerTlsInput {
  readonly label?: string;
  readonly mode: ProxyMode;
  readonly verify?: 'none' | 'required';
  /** A PEM file of CAs, or '@system-ca' for Node's bundled roots. */
  readonly caFile?: string;
  /** Client certificate (PEM with key, or with a FILE.key companion) presented to the server. */
  readonly crt?: string;
  /** `sni <expr>`: a sample expression; `str(NAME)` is resolved here, others per connection. */
  readonly sni?: string;
  readonly verifyhost?: string;
  readonly alpn?: string;
  readonly ciphers?: string;
  readonly ciphersuites?: string;
  /** Option words: ssl-min-ver, ssl-max-ver, no-*, force-*, no-tls-tickets. */
  readonly options?: readonly string[];
}

/** Global server-side defaults: `ssl-server-verify` and `ssl-default-server-*`. */
export interface ServerTlsDefaults extends TlsDefaults {
  readonly verify?: 'none' | 'required';
}

export type ServerSni =
  | { readonly kind: 'none' }
  | { readonly kind: 'literal'; readonly name: string }
  /** A sample expression (e.g. `req.hdr(host)`, `ssl_fc_sni`): the proxy evaluates it per connection. */
  | { readonly kind: 'expression'; readonly expression: string };

export interface ServerTlsSettings {
  /** Spread into tls.connect({...connectOptions, socket|host, port, servername}). Built once per server. */
  readonly connectOptions: tls.ConnectionOptions;
  readonly sni: ServerSni;
  readonly verify: 'none' | 'required';
}

/**
 * Maps `server ... ssl [verify none|required] [ca-file F] [sni E] [verifyhost H] [crt F] [alpn L]
 * [ciphers C] [ssl-min-ver V]` onto tls.connect options. HAProxy's rules:
 * - verify defaults to `ssl-server-verify` (itself `required`); verifying without ca-file is an error.
 * - with verify required, the certificate's names are checked against the SNI sent, else against
 *   verifyhost, else not at all (Node would check the IP address we connect to: we replace that).
 */
export function serverTlsSettings(global: ServerTlsDefaults, server: ServerTlsInput, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SettingsResult<ServerTlsSettings> {
  const diags: TlsDiagnostic[] = [];
  const label = server.label ?? 'server';
  const verify = server.verify ?? global.verify ?? 'required';
  const g = parseWords(global.options ?? [], 'ssl-default-server-options', 'server', diags);
  const s = parseWords(server.options ?? [], label, 'server', diags);
  const range = resolveVersions(s, g, label, diags);
  const list = server.ciphers ?? global.ciphers;
  const suites = server.ciphersuites ?? global.ciphersuites;
  if (list !== undefined) checkCipherString(list, 'list', `${label} : ciphers`, diags);
  if (suites !== undefined) checkCipherString(suites, 'suites', `${label} : ciphersuites`, diags);
  const alpn = server.alpn === undefined ? undefined : parseAlpn(server.alpn, server.mode, label, diags);

  let ca: string | undefined;
  if (verify === 'required') {
    if (server.caFile === undefined) {
      diags.push({ severity: 'error', code: 'ERR_LB_TLS_VERIFY', message: `${label} : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.` });
    } else if (server.caFile !== '@system-ca') {
      try {
        ca = read(server.caFile);
        if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
          diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_PARSE', file: server.caFile, message: `${label} : unable to load CA file '${server.caFile}': no certificate in it.` });
        }
      } catch (e) {
        diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_READ', file: server.caFile, message: `${label} : unable to load CA file '${server.caFile}': ${errnoText(e)}.` });
      }
    }
  }

  let clientCert: { cert: string; key: string } | undefined;
  if (server.crt !== undefined) {
    const pem = readPemBundle(server.crt, read, diags);
    if (pem !== undefined) clientCert = { cert: pem.certChain, key: pem.key };
  }

  const sni = parseServerSni(server.sni, label, diags);
  if (range === undefined || hasErrors(diags)) return { ok: false, diagnostics: diags };

  let secureOptions = range.secureOptions;
  if (s.noTlsTickets || g.noTlsTickets) secureOptions |= constants.SSL_OP_NO_TICKET;
  const ciphers = nodeCiphers(list, suites);
  const hasSni = sni.kind !== 'none';
  const verifyhost = server.verifyhost;
  const connectOptions: tls.ConnectionOptions = {
    minVersion: range.minVersion,
    maxVersion: range.maxVersion,
    rejectUnauthorized: verify === 'required',
    ...(secureOptions !== 0 ? { secureOptions } : {}),
    ...(ciphers !== undefined ? { ciphers } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(clientCert !== undefined ? clientCert : {}),
    ...(alpn !== undefined ? { ALPNProtocols: alpn } : {}),
    ...(sni.kind === 'literal' ? { servername: sni.name } : {}),
    // Node checks `servername || host`; HAProxy checks the SNI, else verifyhost, else nothing.
    // `hostname` is the servername when one was sent (a name), else the address connected to.
    checkServerIdentity: (hostname: string, cert: tls.PeerCertificate): Error | undefined => {
      if (verify !== 'required') return undefined;
      if (hasSni && hostname !== '' && isIP(hostname) === 0) return tls.checkServerIdentity(hostname, cert);
      if (verifyhost !== undefined) return tls.checkServerIdentity(verifyhost, cert);
      return undefined;
    },
  };
  const probe = contextError({ ...connectOptions });
  if (probe !== undefined) diags.push({ severity: 'error', code: 'ERR_LB_TLS_CONTEXT', message: `${label} : ${probe}` });
  return finish({ connectOptions, sni, verify }, diags);
}

function parseServerSni(sni: string | undefined, label: string, diags: TlsDiagnostic[]): ServerSni {
  if (sni === undefined) return { kind: 'none' };
  const m = /^str\((.*)\)$/.exec(sni);
  if (m !== null) {
    const name = m[1] ?? '';
    if (name === '' || isIP(name) !== 0) {
      diags.push({ severity: 'warning', code: 'ERR_LB_TLS_OPTION', message: `${label} : 'sni ${sni}' : an SNI must be a host name; none will be sent.` });
      return { kind: 'none' };
    }
    return { kind: 'literal', name: name.toLowerCase() };
  }
  return { kind: 'expression', expression: sni };
}

// ---------------------------------------------------------------------------------------------
// PEM files (shared with certs.ts)

export interface PemBundle {
  /** Leaf certificate then chain, PEM. */
  readonly certChain: string;
  /** The leaf alone, PEM. */
  readonly leaf: string;
  readonly key: string;
  /** Where the key came from: the file itself or its `.key` companion. */
  readonly keyFile: string;
  /** DH parameters found in the file (HAProxy loads them too). */
  readonly dhparam?: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?\r?\n-----END \1-----/g;

interface PemBlocks {
  certs: string[];
  keys: string[];
  encryptedKeys: number;
  dh: string | undefined;
}

function pemBlocks(text: string): PemBlocks {
  const out: PemBlocks = { certs: [], keys: [], encryptedKeys: 0, dh: undefined };
  for (const m of text.matchAll(PEM_BLOCK)) {
    const type = m[1] ?? '';
    if (type === 'CERTIFICATE') out.certs.push(m[0]);
    else if (type === 'ENCRYPTED PRIVATE KEY') out.encryptedKeys++;
    else if (type.endsWith('PRIVATE KEY')) out.keys.push(m[0]);
    else if (type === 'DH PARAMETERS') out.dh = m[0];
  }
  return out;
}

export function errnoText(e: unknown): string {
  const code = e instanceof Error && 'code' in e ? e.code : undefined;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads a PEM file holding a certificate (+ chain) and a private key, in any order, as HAProxy's
 * `crt`: when the file has no key, the key is read from `FILE.key`. Does not check that they
 * match (certs.ts does, with X509Certificate.checkPrivateKey). Errors name the file.
 */
export function readPemBundle(file: string, read: (path: string) => string, diags: TlsDiagnostic[]): PemBundle | undefined {
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_READ', file, message: `unable to stat SSL certificate from file '${file}' : ${errnoText(e)}.` });
    return undefined;
  }
  const blocks = pemBlocks(text);
  if (blocks.certs.length === 0) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_PARSE', file, message: `unable to load certificate from file '${file}': no PEM certificate in it.` });
    return undefined;
  }
  let key = blocks.keys[0];
  let keyFile = file;
  if (key === undefined && blocks.encryptedKeys > 0) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_KEY_PARSE', file, message: `unable to load SSL private key from file '${file}': encrypted private keys are not supported (no passphrase support).` });
    return undefined;
  }
  if (key === undefined) {
    keyFile = `${file}.key`;
    let companion: string | undefined;
    try {
      companion = read(keyFile);
    } catch {
      companion = undefined;
    }
    key = companion === undefined ? undefined : pemBlocks(companion).keys[0];
    if (key === undefined) {
      diags.push({ severity: 'error', code: 'ERR_LB_TLS_KEY_MISSING', file, message: `No Private Key found in '${file}' nor in '${keyFile}'.` });
      return undefined;
    }
  }
  const leaf = blocks.certs[0] ?? '';
  return { certChain: `${blocks.certs.join('\n')}\n`, leaf, key: `${key}\n`, keyFile, ...(blocks.dh !== undefined ? { dhparam: blocks.dh } : {}) };
}
