// End to end, mode http: a real `lb -d -f cfg` child process, real backends, real curl.
import test from 'ava';
import { httpResponder, type TestBackend } from '../../helpers/backends.ts';
import { curl, exchange, freePort, haveCommand, startLb, writeConfig } from './harness.ts';

const HAVE_CURL = haveCommand('curl');

async function responders(names: readonly (string | number)[]): Promise<TestBackend[]> {
  return Promise.all(names.map((n) => httpResponder(n)));
}

test('seed round-robin hands-on: curl six times → 1, 2, 3, 1, 2, 3', async (t) => {
  if (!HAVE_CURL) {
    t.log('SKIPPED: curl is not installed');
    t.pass();
    return;
  }
  const bs = await responders([8001, 8002, 8003]);
  const port = await freePort();
  // The seed's hands-on config, with loopback test ports for :80 and 8001..8003, and without
  // chroot/user/group/daemon/log /dev/log (a test runs unprivileged in the foreground).
  const cfg = writeConfig(`global
defaults
    mode http
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web_frontend
    bind 127.0.0.1:${port}
    default_backend web_backend
backend web_backend
    balance roundrobin
    server backend1 127.0.0.1:${bs[0]!.port} check
    server backend2 127.0.0.1:${bs[1]!.port} check
    server backend3 127.0.0.1:${bs[2]!.port} check
`);
  const lb = await startLb(cfg, port);
  try {
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push((await curl([`http://127.0.0.1:${port}/`])).stdout);
    t.deepEqual(bodies, [8001, 8002, 8003, 8001, 8002, 8003].map((n) => `Response from backend ${n}`), lb.stderr());
  } finally {
    t.is(await lb.stop(), 0);
    await Promise.all(bs.map((b) => b.close()));
  }
});

test('seed Exercise 1: path routing /api/ → api pool, /static/ → static pool, rest → default', async (t) => {
  if (!HAVE_CURL) {
    t.log('SKIPPED: curl is not installed');
    t.pass();
    return;
  }
  const bs = await responders(['api1', 'api2', 'static1', 'web1']);
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend http_front
    bind 127.0.0.1:${port}
    acl is_api path_beg /api/
    acl is_static path_beg /static/
    use_backend api_servers if is_api
    use_backend static_servers if is_static
    default_backend web_servers
backend api_servers
    balance roundrobin
    server api1 127.0.0.1:${bs[0]!.port}
    server api2 127.0.0.1:${bs[1]!.port}
backend static_servers
    server static1 127.0.0.1:${bs[2]!.port}
backend web_servers
    server web1 127.0.0.1:${bs[3]!.port}
`);
  const lb = await startLb(cfg, port);
  try {
    const get = async (p: string): Promise<string> => (await curl([`http://127.0.0.1:${port}${p}`])).stdout;
    t.is(await get('/api/users'), 'Response from backend api1', lb.stderr());
    t.is(await get('/api/users'), 'Response from backend api2');
    t.is(await get('/static/app.css'), 'Response from backend static1');
    t.is(await get('/'), 'Response from backend web1');
    t.is(await get('/apix'), 'Response from backend web1');
    t.is(await get('/static'), 'Response from backend web1');
  } finally {
    await lb.stop();
    await Promise.all(bs.map((b) => b.close()));
  }
});

test('http-request deny / redirect / return and header rules, end to end', async (t) => {
  const { echoHeaders } = await import('./echo-headers.ts');
  const be = await echoHeaders();
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:${port}
    acl admin path_beg /admin/
    http-request deny if admin !LOCALHOST
    http-request deny deny_status 429 if { path /limited }
    http-request redirect scheme https code 301 if { path_beg /secure }
    http-request redirect prefix /new drop-query if { path_beg /old }
    http-request return status 200 content-type text/plain string "pong" if { path /ping }
    http-request set-header X-Client %[src]
    http-request add-header X-Via lb
    http-request del-header X-Secret
    http-request replace-header X-Ver (.*) v-\\1
    http-response set-header X-Frame-Options DENY
    http-response del-header Server
    default_backend b
backend b
    http-request set-header X-Backend b
    server s1 127.0.0.1:${be.port}
`);
  const lb = await startLb(cfg, port);
  try {
    const r1 = await exchange(port, 'GET /limited HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    t.regex(r1, /^HTTP\/1\.1 429 Too Many Requests\r\n/, lb.stderr());
    const r2 = await exchange(port, 'GET /secure/a?b=1 HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n');
    t.is(r2, 'HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://ex.com/secure/a?b=1\r\nconnection: close\r\n\r\n');
    const r3 = await exchange(port, 'GET /old/x?q=1 HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n');
    t.is(r3, 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new/old/x\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n');
    const r4 = await exchange(port, 'GET /ping HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    t.is(r4, 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\npong');
    // LOCALHOST is true over loopback: /admin/ goes through.
    const r5 = await exchange(port, 'GET /admin/x HTTP/1.1\r\nHost: h\r\nX-Secret: s\r\nX-Ver: 3\r\nConnection: close\r\n\r\n');
    t.regex(r5, /^HTTP\/1\.1 200 /);
    t.regex(r5, /\r\nx-frame-options: DENY\r\n/i);
    t.notRegex(r5, /\r\nserver:/i);
    const echoed = r5.slice(r5.indexOf('\r\n\r\n') + 4);
    t.regex(echoed, /^x-client: 127\.0\.0\.1$/im);
    t.regex(echoed, /^x-via: lb$/im);
    t.regex(echoed, /^x-backend: b$/im);
    t.regex(echoed, /^x-ver: v-3$/im);
    t.notRegex(echoed, /x-secret/i);
  } finally {
    await lb.stop();
    await be.close();
  }
});

test('bind ssl crt terminates TLS: SNI picks the certificate, ssl_fc and ssl_fc_sni reach the rules', async (t) => {
  const { makeTestPki, opensslAvailable, OPENSSL_MISSING } = await import('../../helpers/certs.ts');
  if (!opensslAvailable()) {
    t.log(OPENSSL_MISSING);
    t.pass();
    return;
  }
  const tls = await import('node:tls');
  const pki = makeTestPki();
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend https_in
    bind 127.0.0.1:${port} ssl crt ${pki.certs.example.combined} crt ${pki.certs.api.combined}
    http-request return status 200 content-type text/plain lf-string "fc=%[ssl_fc] sni=%[ssl_fc_sni]" if { ssl_fc }
`);
  const lb = await startLb(cfg, port);
  try {
    const ask = (servername: string): Promise<{ cn: string; body: string }> =>
      new Promise((resolve, reject) => {
        let cn = '';
        const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
          const subject = s.getPeerCertificate().subject as { CN?: unknown } | undefined;
          cn = typeof subject?.CN === 'string' ? subject.CN : '';
          s.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        });
        let out = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => {
          out += d;
        });
        s.on('error', reject);
        s.on('close', () => {
          resolve({ cn, body: out.slice(out.indexOf('\r\n\r\n') + 4) });
        });
      });
    const a = await ask('api.example.com');
    t.is(a.body, 'fc=1 sni=api.example.com', lb.stderr());
    t.is(a.cn, 'api.example.com');
    const b = await ask('unknown.test');
    t.is(b.body, 'fc=1 sni=unknown.test');
    t.is(b.cn, 'example.com', 'the first crt is the default certificate');
  } finally {
    await lb.stop();
    pki.cleanup();
  }
});
