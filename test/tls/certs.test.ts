// Certificate store: loading files and directories as HAProxy does, SNI selection through a real
// tls.Server on 127.0.0.1:0, errors naming the broken file, and reload.

import test from 'ava';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertStoreHolder, loadCertStore, type CertStore, type CertStoreResult } from '../../lb/tls/certs.ts';
import { handshake, makeTestPki, OPENSSL_MISSING, opensslAvailable, startTlsServer, type TestPki } from '../helpers/certs.ts';

const hasOpenssl = opensslAvailable();
if (!hasOpenssl) console.error(OPENSSL_MISSING);
const t0 = hasOpenssl ? test : test.skip;

let pki: TestPki;
let dir: string; // the SNI directory described below

test.before(() => {
  if (!hasOpenssl) return;
  pki = makeTestPki();
  const c = pki.certs;
  // Lexical order decides the default: 10-example.pem is first.
  dir = join(pki.dir, 'sni');
  mkdirSync(dir);
  copyFileSync(c.example.combined, join(dir, '10-example.pem'));
  // Key first, then certificate: accepted too.
  pki.compose(join(dir, '20-wildcard.pem'), pki.read(c.wildcard.key), pki.read(c.wildcard.cert));
  // Certificate only, key in HAProxy's companion file FILE.key (which is not loaded on its own).
  copyFileSync(c.blog.cert, join(dir, '30-blog.pem'));
  copyFileSync(c.blog.key, join(dir, '30-blog.pem.key'));
  copyFileSync(c.multi.combined, join(dir, '40-multi.crt'));
  // Reserved extensions, dot files and sub-directories are skipped (junk content would fail).
  for (const n of ['x.ocsp', 'x.issuer', 'x.sctl', 'stray.key', '.hidden']) writeFileSync(join(dir, n), 'junk\n');
  mkdirSync(join(dir, 'sub'));
});

test.after.always(() => {
  if (hasOpenssl) pki.cleanup();
});

function mustLoad(r: CertStoreResult): CertStore {
  if (!r.ok) throw new Error(`load failed: ${r.diagnostics.map((d) => d.message).join(' | ')}`);
  return r.store;
}

t0('a directory loads in lexical order, skips reserved names, and SNI picks exact > wildcard > default', async (t) => {
  const store = mustLoad(loadCertStore({ crt: [dir] }));
  const described = store.describe();
  t.deepEqual(described.map((d) => d.file.slice(dir.length + 1)), ['10-example.pem', '20-wildcard.pem', '30-blog.pem', '40-multi.crt']);
  t.deepEqual(described.map((d) => d.isDefault), [true, false, false, false]);
  t.is(described[2]?.keyFile, join(dir, '30-blog.pem.key'), 'key read from the companion file');
  t.deepEqual(described[3]?.names, ['multi.test', 'www.multi.test', 'alt.other.test'], 'CN + DNS SANs, IP SAN not a name');

  const srv = await startTlsServer({ ...store.defaultServerOptions(), SNICallback: store.SNICallback });
  t.teardown(() => srv.close());
  const cases: Array<[string | undefined, string]> = [
    ['example.com', 'example.com'],
    ['blog.example.com', 'blog.example.com'], // exact beats the wildcard loaded before it
    ['api.example.com', '*.example.com'], // no exact name: the wildcard
    ['x.example.com', '*.example.com'],
    ['a.b.example.com', 'example.com'], // a wildcard covers one label only → default
    ['www.multi.test', 'multi.test'],
    ['ALT.Other.TEST', 'multi.test'], // case-insensitive
    ['unknown.test', 'example.com'], // unknown → default (first file in lexical order)
    [undefined, 'example.com'], // no SNI → default
  ];
  for (const [sni, cn] of cases) {
    const r = await handshake(srv.port, sni === undefined ? {} : { servername: sni });
    t.true(r.ok, `handshake for ${sni ?? '(no SNI)'}`);
    if (r.ok) t.is(r.cn, cn, `served for ${sni ?? '(no SNI)'}`);
  }
});

t0('match() index: wildcard needs exactly one non-empty label', (t) => {
  const store = mustLoad(loadCertStore({ crt: [pki.certs.wildcard.combined, pki.certs.api.combined] }));
  t.is(store.match('api.example.com')?.file, pki.certs.api.combined);
  t.is(store.match('www.example.com')?.file, pki.certs.wildcard.combined);
  t.is(store.match('example.com'), undefined);
  t.is(store.match('.example.com'), undefined);
  t.is(store.match('a.b.example.com'), undefined);
  t.is(store.select(undefined)?.file, pki.certs.wildcard.combined, 'first crt is the default');
  t.is(store.select('nothing.test')?.file, pki.certs.wildcard.combined);
});

t0('several crt arguments: config order first, the first one is the default', async (t) => {
  const store = mustLoad(loadCertStore({ crt: [pki.certs.api.combined, dir] }));
  t.is(store.defaultEntry.file, pki.certs.api.combined);
  const srv = await startTlsServer({ ...store.defaultServerOptions(), SNICallback: store.SNICallback });
  t.teardown(() => srv.close());
  const none = await handshake(srv.port);
  t.true(none.ok && none.cn === 'api.example.com', 'no SNI → first crt');
  const other = await handshake(srv.port, { servername: 'nobody.invalid' });
  t.true(other.ok && other.cn === 'api.example.com', 'unknown SNI → first crt');
  const exact = await handshake(srv.port, { servername: 'api.example.com' });
  t.true(exact.ok && exact.cn === 'api.example.com');
  const dup = store.describe().find((d) => d.file.endsWith('20-wildcard.pem'));
  t.deepEqual(dup?.shadowed, [], 'wildcard name not shadowed');
});

t0('a name carried twice is served by the first loaded certificate; describe() reports the shadowing', (t) => {
  const store = mustLoad(loadCertStore({ crt: [pki.certs.example.combined, join(dir, '10-example.pem')] }));
  t.is(store.match('example.com')?.file, pki.certs.example.combined);
  t.deepEqual(store.describe()[1]?.shadowed, ['example.com']);
});

t0('strict-sni refuses an unknown name instead of serving the default', async (t) => {
  const store = mustLoad(loadCertStore({ crt: [dir], strictSni: true }));
  const srv = await startTlsServer({ ...store.defaultServerOptions(), SNICallback: store.SNICallback });
  t.teardown(() => srv.close());
  t.false((await handshake(srv.port, { servername: 'unknown.test' })).ok);
  const ok = await handshake(srv.port, { servername: 'blog.example.com' });
  t.true(ok.ok && ok.cn === 'blog.example.com');
});

t0('broken files: every error is collected and names its file', (t) => {
  const bad = join(pki.dir, 'bad');
  mkdirSync(bad);
  copyFileSync(pki.certs.example.combined, join(bad, 'a-good.pem'));
  copyFileSync(pki.certs.mismatch.combined, join(bad, 'b-mismatch.pem'));
  copyFileSync(pki.certs.api.cert, join(bad, 'c-nokey.pem')); // no key, no companion
  writeFileSync(join(bad, 'd-notes.txt'), 'not a certificate\n'); // HAProxy loads (and fails on) it too
  writeFileSync(join(bad, 'e-dh.dh'), '-----BEGIN DH PARAMETERS-----\nAA==\n-----END DH PARAMETERS-----\n');
  copyFileSync(pki.certs.blog.cert, join(bad, 'f-badcompanion.pem'));
  copyFileSync(pki.certs.api.key, join(bad, 'f-badcompanion.pem.key')); // companion of another cert
  const r = loadCertStore({ crt: [bad, join(pki.dir, 'missing.pem')] });
  t.false(r.ok);
  const byCode = r.diagnostics.map((d) => [d.code, d.file?.slice(pki.dir.length + 1)]);
  t.deepEqual(byCode, [
    ['ERR_LB_TLS_KEY_MISMATCH', 'bad/b-mismatch.pem'],
    ['ERR_LB_TLS_KEY_MISSING', 'bad/c-nokey.pem'],
    ['ERR_LB_TLS_CERT_PARSE', 'bad/d-notes.txt'],
    ['ERR_LB_TLS_CERT_PARSE', 'bad/e-dh.dh'],
    ['ERR_LB_TLS_KEY_MISMATCH', 'bad/f-badcompanion.pem'],
    ['ERR_LB_TLS_CERT_READ', 'missing.pem'],
  ]);
  for (const d of r.diagnostics) {
    t.is(d.severity, 'error');
    t.true(d.file !== undefined && d.message.includes(d.file), `message names the file: ${d.message}`);
  }
  t.regex(r.diagnostics[4]?.message ?? '', /f-badcompanion\.pem\.key/, 'mismatch via companion names the key file');
});

t0('an unparsable key and an encrypted key are errors naming the file', (t) => {
  const f1 = pki.compose(join(pki.dir, 'garbled.pem'), pki.read(pki.certs.api.cert), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
  const f2 = pki.compose(join(pki.dir, 'encrypted.pem'), pki.read(pki.certs.api.cert), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
  const r = loadCertStore({ crt: [f1, f2] });
  t.false(r.ok);
  t.deepEqual(r.diagnostics.map((d) => [d.code, d.file]), [['ERR_LB_TLS_KEY_PARSE', f1], ['ERR_LB_TLS_KEY_PARSE', f2]]);
  t.regex(r.diagnostics[1]?.message ?? '', /encrypted/);
});

t0('an expired certificate loads with a warning naming the file', (t) => {
  const r = loadCertStore({ crt: [pki.certs.expired.combined] });
  t.true(r.ok);
  t.deepEqual(r.diagnostics.map((d) => [d.severity, d.code, d.file]), [['warning', 'ERR_LB_TLS_CERT_EXPIRED', pki.certs.expired.combined]]);
  if (r.ok) t.true(r.store.describe()[0]?.expired);
  // Injected clock: the same certificate seen from before its dates is "not yet valid".
  const early = loadCertStore({ crt: [pki.certs.example.combined], now: () => new Date('2000-01-01T00:00:00Z') });
  t.deepEqual(early.diagnostics.map((d) => d.code), ['ERR_LB_TLS_CERT_NOT_YET_VALID']);
  t.deepEqual(loadCertStore({ crt: [pki.certs.example.combined] }).diagnostics, [], 'a valid certificate: no warning');
});

t0('an empty directory is an error (no certificate for the bind)', (t) => {
  const empty = join(pki.dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'only.key'), 'skipped\n');
  const r = loadCertStore({ crt: [empty] });
  t.false(r.ok);
  t.deepEqual(r.diagnostics.map((d) => d.code), ['ERR_LB_TLS_NO_CERT']);
});

t0('contexts are created once at load: the SNI callback hands out the same objects', (t) => {
  const store = mustLoad(loadCertStore({ crt: [dir] }));
  const seen: unknown[] = [];
  for (let i = 0; i < 3; i++) store.SNICallback('blog.example.com', (_e, ctx) => seen.push(ctx));
  t.is(seen[0], store.match('blog.example.com')?.context);
  t.is(seen[0], seen[1]);
  t.is(seen[1], seen[2]);
});

t0('reload swaps the whole store atomically and keeps the old one when the new one fails', async (t) => {
  const first = mustLoad(loadCertStore({ crt: [pki.certs.example.combined] }));
  const holder = new CertStoreHolder(first, { crt: [pki.certs.example.combined] });
  const srv = await startTlsServer({ ...first.defaultServerOptions(), SNICallback: holder.SNICallback });
  holder.attach(srv.server);
  t.teardown(() => srv.close());
  const before = await handshake(srv.port, { servername: 'blog.example.com' });
  t.true(before.ok && before.cn === 'example.com', 'blog unknown yet → default');

  const r = holder.reload({ crt: [pki.certs.api.combined, pki.certs.blog.combined] });
  t.true(r.ok);
  t.not(holder.current, first);
  const sni = await handshake(srv.port, { servername: 'blog.example.com' });
  t.true(sni.ok && sni.cn === 'blog.example.com', 'new certificate served by SNI');
  const noSni = await handshake(srv.port);
  t.true(noSni.ok && noSni.cn === 'api.example.com', 'the server default follows the new store');

  const current = holder.current;
  const failed = holder.reload({ crt: [pki.certs.mismatch.combined] });
  t.false(failed.ok);
  t.is(holder.current, current, 'failed reload keeps the running store');
  const still = await handshake(srv.port, { servername: 'blog.example.com' });
  t.true(still.ok && still.cn === 'blog.example.com');
});
