// lb/tls: certificate store with SNI selection (certs.ts), HAProxy TLS settings → Node options
// (settings.ts), and ClientHello parsing for SNI routing without termination (client-hello.ts).
export { CertStore, CertStoreHolder, CRT_DIR_SKIPPED_EXTENSIONS, loadCertStore } from './certs.ts';
export type { CertDescription, CertEntry, CertStoreOptions, CertStoreResult } from './certs.ts';
export { bindInputFromRecord, bindTlsSettings, hasErrors, readPemBundle, serverTlsSettings, TlsError } from './settings.ts';
export type {
  BindTlsInput, BindTlsSettings, PemBundle, ProxyMode, ServerSni, ServerTlsDefaults, ServerTlsInput, ServerTlsSettings,
  SettingsResult, TlsDefaults, TlsDiagnostic, TlsErrorCode,
} from './settings.ts';
