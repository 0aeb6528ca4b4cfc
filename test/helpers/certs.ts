// Test PKI generated at test time with the `openssl` CLI (never committed keys): a self-signed CA
// and leaf certificates for the names the TLS tests need. EC P-256 keys keep generation fast
// (~10 ms per key). Call makeTestPki() in test.before and pki.cleanup() in test.after.always.
//
// When the CLI is missing, opensslAvailable() is false and the caller must skip loudly
// (see skipWithoutOpenssl below) rather than pretend the tests ran.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';

export interface TestCert {
  /** Certificate only (PEM). */
  readonly cert: string;
  /** Private key only (PEM, PKCS#8). */
  readonly key: string;
  /** Certificate then key in one file, as `cat fullchain.pem privkey.pem > site.pem`. */
  readonly combined: string;
  /** The CN the certificate was issued for (what the tests assert on). */
  readonly cn: string;
}

export interface TestPki {
  readonly dir: string;
  /** CA certificate (PEM) that signed every leaf: give it to clients as `ca`. */
  readonly caCert: string;
  readonly certs: {
    readonly example: TestCert; // CN example.com, SAN example.com
    readonly blog: TestCert; // CN blog.example.com
    readonly api: TestCert; // CN api.example.com
    readonly wildcard: TestCert; // CN *.example.com, SAN *.example.com
    readonly multi: TestCert; // CN multi.test, SANs multi.test www.multi.test alt.other.test, IP 127.0.0.1
    readonly expired: TestCert; // CN expired.test, notAfter before now
    readonly mismatch: TestCert; // CN mismatch.test; `key`/`combined` hold ANOTHER key
  };
  /** Reads a generated file (for composing test files: key-first, directories...). */
  read(path: string): string;
  /** Writes `parts` (file contents) concatenated into `path`; returns path. */
  compose(path: string, ...parts: readonly string[]): string;
  cleanup(): void;
}

let available: boolean | undefined;

/** True when an `openssl` binary answers `openssl version`. */
export function opensslAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Issues a leaf for `cn` with `sans` (full subjectAltName entries) signed by the CA in `dir`. */
function leaf(dir: string, name: string, cn: string, sans: readonly string[], days: number): void {
  const req = ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`];
  if (sans.length > 0) req.push('-addext', `subjectAltName=${sans.join(',')}`);
  openssl(req, dir);
  // `-days -1` yields notAfter one day before notBefore: an already expired certificate,
  // which OpenSSL 3.0's x509 accepts (it has no -not_after option yet).
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', String(days), '-copy_extensions', 'copy', '-out', `${name}.crt`], dir);
}

/** Generates the whole PKI in a fresh temporary directory. Throws when openssl fails. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-pki-'));
  try {
    openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=hapair test CA', '-days', '2'], dir);
    const specs: Array<[keyof TestPki['certs'], string, string[], number]> = [
      ['example', 'example.com', ['DNS:example.com'], 2],
      ['blog', 'blog.example.com', ['DNS:blog.example.com'], 2],
      ['api', 'api.example.com', ['DNS:api.example.com'], 2],
      ['wildcard', '*.example.com', ['DNS:*.example.com'], 2],
      ['multi', 'multi.test', ['DNS:multi.test', 'DNS:www.multi.test', 'DNS:alt.other.test', 'IP:127.0.0.1'], 2],
      ['expired', 'expired.test', ['DNS:expired.test'], -1],
      ['mismatch', 'mismatch.test', ['DNS:mismatch.test'], 2],
    ];
    const certs: Record<string, TestCert> = {};
    for (const [name, cn, sans, days] of specs) {
      leaf(dir, name, cn, sans, days);
      if (name === 'mismatch') {
        // Replace the key by an unrelated one: the certificate no longer matches it.
        openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
      }
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      const combined = join(dir, `${name}.combined.pem`);
      writeFileSync(combined, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
      certs[name] = { cert, key, combined, cn };
    }
    const get = (n: string): TestCert => {
      const c = certs[n];
      if (c === undefined) throw new Error(`test pki: ${n} missing`);
      return c;
    };
    return {
      dir,
      caCert: join(dir, 'ca.pem'),
      certs: {
        example: get('example'), blog: get('blog'), api: get('api'), wildcard: get('wildcard'),
        multi: get('multi'), expired: get('expired'), mismatch: get('mismatch'),
      },
      read: (p) => readFileSync(p, 'utf8'),
      compose(path, ...parts) {
        writeFileSync(path, parts.join(''));
        return path;
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A banner for test files to print when they skip because openssl is absent. */
export const OPENSSL_MISSING = 'SKIPPED: the `openssl` CLI is not installed; TLS tests need it to generate certificates';

// ---------------------------------------------------------------------------------------------
// Real handshakes on 127.0.0.1 port 0


export interface TlsTestServer {
  readonly port: number;
  readonly server: tls.Server;
  close(): Promise<void>;
}

/** A TLS server on 127.0.0.1:0 that closes each connection once the handshake is done. */
export async function startTlsServer(options: tls.TlsOptions): Promise<TlsTestServer> {
  const server = tls.createServer(options, (s) => s.end());
  server.on('tlsClientError', () => {}); // refused handshakes are what some tests expect
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr: string | AddressInfo | null = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('TLS test server has no TCP address');
  const { port } = addr;
  return {
    port,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type HandshakeResult =
  | { readonly ok: true; readonly cn: string | undefined; readonly alpn: string | false | null; readonly protocol: string | null; readonly cipher: string }
  | { readonly ok: false; readonly error: string; readonly code: string | undefined };

/** Connects, records what the server presented, closes. Bounded by a 5 s timeout. */
export function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ ok: false, error: 'timeout', code: 'TIMEOUT' });
    }, 5000);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const cn = sock.getPeerCertificate().subject?.CN;
      resolve({ ok: true, cn: Array.isArray(cn) ? cn.join(',') : cn, alpn: sock.alpnProtocol, protocol: sock.getProtocol(), cipher: sock.getCipher().name });
      sock.end();
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message, code: e.code });
      sock.destroy();
    });
  });
}
