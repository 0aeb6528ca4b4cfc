// End to end, mode tcp: a real `lb -d -f cfg` child process with real loopback sockets.
import net from 'node:net';
import test from 'ava';
import { echoServer } from '../../helpers/backends.ts';
import { handshake, makeTestPki, opensslAvailable, OPENSSL_MISSING, startTlsServer } from '../../helpers/certs.ts';
import { freePort, startLb, writeConfig } from './harness.ts';

/** Connects (optionally from `localAddress`), sends `msg`, returns what came back ('' if closed). */
function roundTrip(port: number, msg: string, localAddress?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', ...(localAddress !== undefined ? { localAddress } : {}) });
    let out = '';
    const t = setTimeout(() => s.destroy(), 3000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if (out.length >= msg.length) s.end();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('connect', () => s.write(msg));
  });
}

/** An echo server that remembers which queries reached it (health-check connects send nothing). */
async function queryEcho(): Promise<{ port: number; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const srv = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      queries.push(d.toString('utf8'));
      sock.write(d);
    });
    sock.on('end', () => sock.end());
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return { port, queries, close: () => new Promise<void>((ok) => srv.close(() => ok())) };
}

test('seed L4 MySQL example (loopback, echo backends): round-robin, then SIGTERM stops cleanly', async (t) => {
  const db1 = await queryEcho();
  const db2 = await queryEcho();
  const port = await freePort();
  const cfg = writeConfig(`defaults
mode tcp # Layer 4 mode
timeout connect 5s
timeout client 30s
timeout server 30s
frontend mysql_front
bind 127.0.0.1:${port}
default_backend mysql_servers
backend mysql_servers
balance roundrobin
server db1 127.0.0.1:${db1.port} check
server db2 127.0.0.1:${db2.port} check
`);
  const lb = await startLb(cfg, port);
  try {
    for (let i = 0; i < 4; i++) {
      t.is(await roundTrip(port, `query ${i}`), `query ${i}`, lb.stderr());
    }
    t.deepEqual([db1.queries, db2.queries], [
      ['query 0', 'query 2'],
      ['query 1', 'query 3'],
    ]);
  } finally {
    t.is(await lb.stop(), 0, lb.stderr());
    await db1.close();
    await db2.close();
  }
  t.regex(lb.stderr(), /SIGTERM received, stopping/);
  t.regex(lb.stderr(), /Proxy mysql_front stopped\./);
  // The port is free again.
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
});

test('tcp-request connection reject by src, accept for the others', async (t) => {
  const be = await echoServer();
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:${port}
    acl blocked src 127.0.0.2/32
    tcp-request connection reject if blocked
    default_backend b
backend b
    server s1 127.0.0.1:${be.port}
`);
  const lb = await startLb(cfg, port);
  try {
    t.is(await roundTrip(port, 'hello', '127.0.0.1'), 'hello', lb.stderr());
    t.is(await roundTrip(port, 'hello', '127.0.0.2'), '');
    t.is(be.connections, 1);
  } finally {
    await lb.stop();
    await be.close();
  }
});

test('SNI routing in mode tcp: inspect-delay + use_backend if { req.ssl_sni -i ... }', async (t) => {
  if (!opensslAvailable()) {
    t.log(OPENSSL_MISSING);
    t.pass();
    return;
  }
  const pki = makeTestPki();
  const blog = await startTlsServer({ cert: pki.read(pki.certs.blog.cert), key: pki.read(pki.certs.blog.key) });
  const api = await startTlsServer({ cert: pki.read(pki.certs.api.cert), key: pki.read(pki.certs.api.key) });
  const other = await startTlsServer({ cert: pki.read(pki.certs.example.cert), key: pki.read(pki.certs.example.key) });
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend tls_in
    bind 127.0.0.1:${port}
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend blog if { req.ssl_sni -i blog.example.com }
    use_backend api if { req.ssl_sni -i API.example.com }
    default_backend other
backend blog
    server b 127.0.0.1:${blog.port}
backend api
    server a 127.0.0.1:${api.port}
backend other
    server o 127.0.0.1:${other.port}
`);
  const lb = await startLb(cfg, port);
  try {
    const cn = async (servername: string): Promise<string | undefined> => {
      const r = await handshake(port, { servername });
      return r.ok ? r.cn : `error: ${r.error}`;
    };
    t.is(await cn('blog.example.com'), 'blog.example.com', lb.stderr());
    t.is(await cn('api.example.com'), 'api.example.com');
    t.is(await cn('BLOG.example.com'), 'blog.example.com');
    t.is(await cn('www.example.com'), 'example.com');
  } finally {
    await lb.stop();
    await Promise.all([blog.close(), api.close(), other.close()]);
    pki.cleanup();
  }
});

test('lb -f refuses stick-table / track-sc lines, naming each; lb -c only warns', async (t) => {
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:${port}
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    default_backend b
backend b
    server s1 127.0.0.1:9
`);
  const lb = await startLb(cfg, undefined);
  const code = await lb.exited;
  t.is(code, 1);
  const err = lb.stderr();
  t.regex(err, /lb\.cfg:8\] : 'stick-table' is not supported yet by the running lb: refusing to start\./);
  t.regex(err, /lb\.cfg:9\] : 'http-request track-sc0' is not supported yet by the running lb/);
  t.notRegex(err, /started\./);
  // Asynchronous: a synchronous `lb -c` would stall this file's other tests and their deadlines.
  const { execFile } = await import('node:child_process');
  const check = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(process.execPath, [new URL('../../../bin/lb.js', import.meta.url).pathname, '-c', '-f', cfg], { encoding: 'utf8' }, (_e, stdout, stderr) =>
      resolve({ code: child.exitCode, out: stderr + stdout }),
    );
  });
  t.is(check.code, 0);
  t.regex(check.out, /\[WARNING\].*'stick-table' is parsed but not yet enforced/);
});

test('lb -f refuses -D (daemon) with a clear message', async (t) => {
  const port = await freePort();
  const cfg = writeConfig(`defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen stats
    bind 127.0.0.1:${port}
    stats enable
    stats uri /stats
`);
  const d = await startLb(cfg, undefined, ['-D']);
  t.is(await d.exited, 1);
  t.regex(d.stderr(), /-D \(daemon mode\) is not implemented yet/);
});
