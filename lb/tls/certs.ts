// The certificate store of one `bind ... ssl crt FILE|DIR [crt FILE|DIR ...]`, loaded as HAProxy 2.6
// loads it (checked against Debian's `haproxy -c`):
// - a FILE is a PEM with the certificate (+ chain) and the private key, in any order
//   (`cat fullchain.pem privkey.pem > site.pem`); when it has no key, `FILE.key` is read instead.
// - a DIR loads every regular file in it in lexical order except names starting with '.' and
//   names ending in .key, .ocsp, .issuer or .sctl (HAProxy's reserved extensions). Anything else
//   must be a certificate: a stray `notes.txt` or `dh.pem` without a certificate is an error, as in
//   HAProxy (its list of skipped names does NOT include .dh or .crt).
// - the FIRST certificate loaded (config order, then lexical order inside a directory) is the
//   default: served without SNI and for a name no certificate carries (unless strict-sni).
// - each certificate is indexed by every CN and DNS subjectAltName, lowercased; `*.example.com`
//   matches exactly one label (a.example.com, not example.com nor a.b.example.com); an exact
//   name beats a wildcard whatever the load order; for the same name the first loaded wins.
//
// Every tls.SecureContext is created here, once, at load time: the SNI callback only looks a
// context up in a Map (no allocation per handshake beyond OpenSSL's own). A reload builds a whole
// new store and swaps one reference (CertStoreHolder), so a handshake sees either the old store or
// the new one, never a mix.
//
// Not implemented (reported by lb/config, not silently accepted): crt-list, OCSP stapling (.ocsp),
// SCT lists (.sctl), .issuer files, encrypted keys, and HAProxy's RSA+ECDSA pairing of two
// certificates for the same name (we serve the first loaded one to every client).

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { errnoText, hasErrors, readPemBundle, type TlsDiagnostic } from './settings.ts';

/** Extensions HAProxy skips when loading a crt directory (doc: "reserved extensions"). */
export const CRT_DIR_SKIPPED_EXTENSIONS: readonly string[] = ['.key', '.ocsp', '.issuer', '.sctl'];

export interface CertEntry {
  /** The PEM file the certificate came from. */
  readonly file: string;
  /** The file the key came from: `file` or `file.key`. */
  readonly keyFile: string;
  readonly subject: string;
  readonly issuer: string;
  /** CN values then DNS SANs, lowercased, without duplicates: the names this entry is indexed by. */
  readonly names: readonly string[];
  readonly validFrom: Date;
  readonly validTo: Date;
  readonly fingerprint256: string;
  readonly serialNumber: string;
  /** Created once at load. */
  readonly context: tls.SecureContext;
}

export interface CertStoreOptions {
  /** `crt` arguments in configuration order: PEM files or directories. */
  readonly crt: readonly string[];
  /** TLS settings applied to every context (bindTlsSettings().contextOptions). */
  readonly contextOptions?: tls.SecureContextOptions;
  /** `strict-sni`: no default certificate for unknown or missing SNI: the handshake is refused. */
  readonly strictSni?: boolean;
  /** Clock for validity warnings (tests inject it). */
  readonly now?: () => Date;
}

export type CertStoreResult =
  | { readonly ok: true; readonly store: CertStore; readonly diagnostics: readonly TlsDiagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly TlsDiagnostic[] };

/** What describe() reports per certificate (no key material). */
export interface CertDescription {
  readonly file: string;
  readonly keyFile: string;
  readonly isDefault: boolean;
  readonly subject: string;
  readonly issuer: string;
  readonly names: readonly string[];
  /** Names this certificate carries but an earlier certificate already claimed. */
  readonly shadowed: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly expired: boolean;
  readonly fingerprint256: string;
}

type SniDone = (err: Error | null, ctx?: tls.SecureContext) => void;

/** Parses Node's `subjectAltName` string ("DNS:a, DNS:b, IP Address:1.2.3.4"); values with special
 *  characters are JSON-quoted by Node. Returns the DNS names. */
function dnsAltNames(san: string | undefined): string[] {
  if (san === undefined || san === '') return [];
  const out: string[] = [];
  for (const m of san.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    let v = m[1] ?? '';
    if (v.startsWith('"')) {
      try {
        v = String(JSON.parse(v));
      } catch {
        continue;
      }
    }
    if (v !== '') out.push(v);
  }
  return out;
}

/** CN values from Node's multi-line subject string ("C=FR\nCN=example.com"). */
function commonNames(subject: string): string[] {
  const out: string[] = [];
  for (const line of subject.split('\n')) {
    if (!line.startsWith('CN=')) continue;
    let v = line.slice(3);
    if (v.startsWith('"')) {
      try {
        v = String(JSON.parse(v));
      } catch {
        // keep the raw value
      }
    }
    if (v !== '') out.push(v);
  }
  return out;
}

/** Lists a crt directory as HAProxy does; diagnostics name the directory on failure. */
function listCrtDir(dir: string, diags: TlsDiagnostic[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_READ', file: dir, message: `unable to scan directory '${dir}' : ${errnoText(e)}.` });
    return [];
  }
  // Code-unit order = byte order for ASCII names, like scandir(alphasort) in the C locale.
  names.sort();
  const files: string[] = [];
  for (const n of names) {
    if (n.startsWith('.') || CRT_DIR_SKIPPED_EXTENSIONS.some((ext) => n.endsWith(ext))) continue;
    const full = join(dir, n);
    try {
      if (!statSync(full).isFile()) continue; // sub-directories, sockets...: skipped like HAProxy
    } catch {
      continue; // dangling symlink
    }
    files.push(full);
  }
  return files;
}

/** Loads one PEM file into an entry; every problem becomes a diagnostic naming the file. */
function loadEntry(file: string, opts: CertStoreOptions, diags: TlsDiagnostic[]): CertEntry | undefined {
  const pem = readPemBundle(file, (p) => readFileSync(p, 'utf8'), diags);
  if (pem === undefined) return undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem.leaf);
  } catch (e) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_PARSE', file, message: `unable to load certificate from file '${file}': ${e instanceof Error ? e.message : String(e)}.` });
    return undefined;
  }
  try {
    const key = createPrivateKey(pem.key);
    if (!x509.checkPrivateKey(key)) {
      diags.push({ severity: 'error', code: 'ERR_LB_TLS_KEY_MISMATCH', file, message: `inconsistencies between private key and certificate loaded '${file}'${pem.keyFile === file ? '' : ` (key from '${pem.keyFile}')`}.` });
      return undefined;
    }
  } catch (e) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_KEY_PARSE', file: pem.keyFile, message: `unable to load SSL private key from file '${pem.keyFile}': ${e instanceof Error ? e.message : String(e)}.` });
    return undefined;
  }
  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  const now = opts.now?.() ?? new Date();
  if (validTo.getTime() < now.getTime()) {
    diags.push({ severity: 'warning', code: 'ERR_LB_TLS_CERT_EXPIRED', file, message: `certificate '${file}' (${x509.subject.replaceAll('\n', ', ')}) expired on ${validTo.toISOString()}; clients will reject it.` });
  } else if (validFrom.getTime() > now.getTime()) {
    diags.push({ severity: 'warning', code: 'ERR_LB_TLS_CERT_NOT_YET_VALID', file, message: `certificate '${file}' (${x509.subject.replaceAll('\n', ', ')}) is not valid before ${validFrom.toISOString()}.` });
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({
      ...opts.contextOptions,
      cert: pem.certChain,
      key: pem.key,
      ...(pem.dhparam !== undefined ? { dhparam: pem.dhparam } : {}),
    });
  } catch (e) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_CONTEXT', file, message: `unable to use certificate '${file}': ${e instanceof Error ? e.message : String(e)}.` });
    return undefined;
  }
  const names = [...new Set([...commonNames(x509.subject), ...dnsAltNames(x509.subjectAltName)].map((n) => n.toLowerCase()))];
  return {
    file,
    keyFile: pem.keyFile,
    subject: x509.subject,
    issuer: x509.issuer,
    names,
    validFrom,
    validTo,
    fingerprint256: x509.fingerprint256,
    serialNumber: x509.serialNumber,
    context,
  };
}

/**
 * Loads every `crt` argument. All files are read and checked before answering, so one run reports
 * every broken file. Fails (ok: false) on any error; warnings (expired...) do not prevent loading.
 */
export function loadCertStore(opts: CertStoreOptions): CertStoreResult {
  const diags: TlsDiagnostic[] = [];
  const entries: CertEntry[] = [];
  for (const crt of opts.crt) {
    let isDir = false;
    try {
      isDir = statSync(crt).isDirectory();
    } catch (e) {
      diags.push({ severity: 'error', code: 'ERR_LB_TLS_CERT_READ', file: crt, message: `unable to stat SSL certificate from file '${crt}' : ${errnoText(e)}.` });
      continue;
    }
    const files = isDir ? listCrtDir(crt, diags) : [crt];
    for (const f of files) {
      const e = loadEntry(f, opts, diags);
      if (e !== undefined) entries.push(e);
    }
  }
  if (entries.length === 0 && !hasErrors(diags)) {
    diags.push({ severity: 'error', code: 'ERR_LB_TLS_NO_CERT', message: `no SSL certificate found in ${opts.crt.map((c) => `'${c}'`).join(', ') || '(no crt given)'} (use 'crt').` });
  }
  if (hasErrors(diags)) return { ok: false, diagnostics: diags };
  return { ok: true, store: new CertStore(entries, opts), diagnostics: diags };
}

/** An immutable set of loaded certificates with its SNI index. Build it with loadCertStore(). */
export class CertStore {
  readonly entries: readonly CertEntry[];
  readonly defaultEntry: CertEntry;
  readonly strictSni: boolean;
  readonly contextOptions: tls.SecureContextOptions;
  readonly #exact = new Map<string, CertEntry>();
  /** Keyed by the part after "*." (e.g. "example.com"). */
  readonly #wildcard = new Map<string, CertEntry>();
  readonly #shadowed = new Map<CertEntry, string[]>();

  /** Use loadCertStore(); `entries` must be non-empty and already validated. */
  constructor(entries: readonly CertEntry[], opts: Pick<CertStoreOptions, 'strictSni' | 'contextOptions'> = {}) {
    const first = entries[0];
    if (first === undefined) throw new RangeError('CertStore needs at least one certificate');
    this.entries = entries;
    this.defaultEntry = first;
    this.strictSni = opts.strictSni ?? false;
    this.contextOptions = opts.contextOptions ?? {};
    for (const e of entries) {
      for (const name of e.names) {
        const wild = name.startsWith('*.') && !name.slice(2).includes('*');
        const map = wild ? this.#wildcard : this.#exact;
        const key = wild ? name.slice(2) : name;
        if (map.has(key)) {
          const list = this.#shadowed.get(e) ?? [];
          list.push(name);
          this.#shadowed.set(e, list);
        } else map.set(key, e);
      }
    }
  }

  /** The certificate carrying `servername` (exact, then one-label wildcard), or undefined. */
  match(servername: string): CertEntry | undefined {
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    // "*.example.com" needs a non-empty first label: ".example.com" does not match.
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }

  /** What a handshake with this SNI (undefined = none sent) is served; undefined = refused (strict-sni). */
  select(servername: string | undefined): CertEntry | undefined {
    const hit = servername === undefined || servername === '' ? undefined : this.match(servername);
    if (hit !== undefined) return hit;
    return this.strictSni ? undefined : this.defaultEntry;
  }

  /**
   * For tls.createServer({SNICallback}) / new tls.TLSSocket({SNICallback}). Node calls it only when
   * the client sent an SNI; an unknown name gets the default context (or an error under strict-sni,
   * which aborts the handshake as HAProxy's strict-sni does).
   */
  readonly SNICallback = (servername: string, done: SniDone): void => {
    const e = this.select(servername);
    if (e === undefined) done(new Error(`strict-sni: no certificate for '${servername}'`));
    else done(null, e.context);
  };

  /**
   * Options for tls.createServer(), or for server.setSecureContext() after a reload: the default
   * certificate's material plus the bind's settings. (Node's server cannot take a ready
   * SecureContext for its default, so this one is built from the same PEM once more by Node.)
   */
  defaultServerOptions(): tls.SecureContextOptions {
    const pem = readDefaultPem(this.defaultEntry);
    return { ...this.contextOptions, ...pem };
  }

  /** One line of facts per certificate, in load order, for `lb -c -d`-style diagnostics and tests. */
  describe(now: Date = new Date()): CertDescription[] {
    return this.entries.map((e) => ({
      file: e.file,
      keyFile: e.keyFile,
      isDefault: e === this.defaultEntry,
      subject: e.subject,
      issuer: e.issuer,
      names: e.names,
      shadowed: this.#shadowed.get(e) ?? [],
      notBefore: e.validFrom.toISOString(),
      notAfter: e.validTo.toISOString(),
      expired: e.validTo.getTime() < now.getTime(),
      fingerprint256: e.fingerprint256,
    }));
  }
}

/** Re-reads the default entry's PEM (only for defaultServerOptions: at start and on reload). */
function readDefaultPem(e: CertEntry): { cert: string; key: string } {
  const diags: TlsDiagnostic[] = [];
  const pem = readPemBundle(e.file, (p) => readFileSync(p, 'utf8'), diags);
  if (pem === undefined) throw new Error(diags.map((d) => d.message).join('; '));
  return { cert: pem.certChain, key: pem.key };
}

/**
 * The reloadable handle a listener keeps: handshakes always go through `current`, and reload()
 * replaces it in one assignment only when the new store loads without error (the old one keeps
 * serving otherwise, as an HAProxy reload that fails its config check keeps the old process).
 */
export class CertStoreHolder {
  #store: CertStore;
  #options: CertStoreOptions;
  readonly #servers = new Set<tls.Server>();

  constructor(store: CertStore, options: CertStoreOptions) {
    this.#store = store;
    this.#options = options;
  }

  get current(): CertStore {
    return this.#store;
  }

  /** Stable function to give Node once; it always consults the current store. */
  readonly SNICallback = (servername: string, done: SniDone): void => {
    this.#store.SNICallback(servername, done);
  };

  /** Keeps a tls.Server's default (no-SNI) context in step with swaps. */
  attach(server: tls.Server): void {
    this.#servers.add(server);
    server.once('close', () => this.#servers.delete(server));
  }

  /** Installs `store` (built elsewhere); returns the previous one. */
  swap(store: CertStore, options?: CertStoreOptions): CertStore {
    const prev = this.#store;
    this.#store = store;
    if (options !== undefined) this.#options = options;
    if (this.#servers.size > 0) {
      const def = store.defaultServerOptions();
      for (const s of this.#servers) s.setSecureContext(def);
    }
    return prev;
  }

  /** Loads the same `crt` paths again (or `options`) and swaps on success. */
  reload(options: CertStoreOptions = this.#options): CertStoreResult {
    const r = loadCertStore(options);
    if (r.ok) this.swap(r.store, options);
    return r;
  }
}
