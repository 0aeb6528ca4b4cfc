// End to end, `server ... ssl`: lb re-encrypts towards a TLS backend (certificates from
// test/helpers/certs.ts). verify required + the right CA → 200; a CA that did not sign the
// server's certificate → 503 (handshake refused, no server left); verify none → 200; verify
// required without ca-file → haproxy's configuration error.
import tls from 'node:tls';
import test from 'ava';
import { makeTestPki, opensslAvailable, OPENSSL_MISSING, type TestPki } from '../../helpers/certs.ts';
import { curl, freePorts, startLb, writeConfig } from './harness.ts';

const hasOpenssl = opensslAvailable();
if (!hasOpenssl) console.log(OPENSSL_MISSING);
const maybe = hasOpenssl ? test.serial : test.skip;

let pki: TestPki | undefined;
let other: TestPki | undefined;
test.before(() => {
  if (!hasOpenssl) return;
  pki = makeTestPki();
  other = makeTestPki();
});
test.after.always(() => {
  pki?.cleanup();
  other?.cleanup();
});

/** An HTTPS origin answering every request with 200 and a body naming it; counts handshakes. */
async function tlsOrigin(p: TestPki): Promise<{ port: number; secured: () => number; close(): Promise<void> }> {
  let n = 0;
  const body = 'hello over tls';
  const srv = tls.createServer({ cert: p.read(p.certs.example.cert), key: p.read(p.certs.example.key) }, (s) => {
    n++;
    s.on('error', () => {});
    s.on('data', () => s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`));
    s.on('end', () => s.end());
  });
  srv.on('tlsClientError', () => {});
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const a = srv.address();
  return { port: typeof a === 'object' && a !== null ? a.port : 0, secured: () => n, close: () => new Promise<void>((ok) => srv.close(() => ok())) };
}

maybe('ssl verify required with the right CA → 200, with a wrong CA → 503, verify none → 200', async (t) => {
  const p = pki!;
  const origin = await tlsOrigin(p);
  const [port] = await freePorts(1);
  const cfg = writeConfig(`defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  retries 0
frontend f
  bind 127.0.0.1:${port}
  use_backend good if { path_beg /good }
  use_backend wrong if { path_beg /wrong }
  default_backend none
backend good
  server s1 127.0.0.1:${origin.port} ssl verify required ca-file ${p.caCert}
backend wrong
  server s1 127.0.0.1:${origin.port} ssl verify required ca-file ${other!.caCert}
backend none
  server s1 127.0.0.1:${origin.port} ssl verify none
`);
  const lb = await startLb(cfg, port);
  try {
    const good = await curl(['-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${port}/good`]);
    t.is(good.stdout, 'hello over tls\n200', lb.stderr());
    const before = origin.secured();
    const wrong = await curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/wrong`]);
    t.is(wrong.stdout, '503', lb.stderr());
    t.is(origin.secured(), before, 'the origin never completed a handshake with a client that refused its certificate');
    const none = await curl(['-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${port}/none`]);
    t.is(none.stdout, 'hello over tls\n200', lb.stderr());
  } finally {
    t.is(await lb.stop(), 0, lb.stderr());
    await origin.close();
  }
});

maybe("ssl with verify required (the default) and no ca-file is haproxy's configuration error", async (t) => {
  const [port, sp] = await freePorts(2);
  const cfg = writeConfig(`defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:${port}
  default_backend b
backend b
  server s1 127.0.0.1:${sp} ssl
`);
  const lb = await startLb(cfg, undefined);
  t.is(await lb.exited, 1);
  t.regex(lb.stderr(), /lb\.cfg:10: server 's1' : verify is enabled by default but no CA file specified/);
});
