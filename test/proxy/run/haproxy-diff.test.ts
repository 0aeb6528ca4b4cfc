// Differential test: the same configuration run by Debian's haproxy 2.6 and by `lb`, the same
// requests sent to both: routing, header rules and error statuses must agree. Skips loudly when
// haproxy is not installed.
import { spawn } from 'node:child_process';
import test from 'ava';
import { echoHeaders } from './echo-headers.ts';
import { exchange, freePorts, haveCommand, sleep, startLb, writeConfig } from './harness.ts';

const HAVE_HAPROXY = haveCommand('haproxy');

function config(port: number, api: number, web: number, dead: number): string {
  return `global
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f
    bind 127.0.0.1:${port}
    acl is_api path_beg /api/
    acl is_gone path_beg /gone/
    http-request deny if { path_beg /admin/ } !{ src 10.0.0.0/8 }
    http-request deny deny_status 429 if { path /limited }
    http-request return status 404 if { path /missing }
    http-request redirect scheme https code 301 if { path_beg /secure }
    http-request set-header X-Client %[src]
    http-request add-header X-Via lb
    http-request del-header X-Secret
    http-response set-header X-Frame-Options DENY
    use_backend api if is_api
    use_backend dead if is_gone
    default_backend web
backend api
    http-request set-header X-Pool api
    server a 127.0.0.1:${api}
backend web
    http-request set-header X-Pool web
    server w 127.0.0.1:${web}
backend dead
    server d 127.0.0.1:${dead}
`;
}

/** Status line, the response headers rules touch, and the request the backend saw (sorted headers). */
function summary(raw: string): string {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end + 4);
  const lines = head.split('\r\n');
  const keep = lines.slice(1).filter((l) => /^(x-frame-options|location|content-type):/i.test(l)).map((l) => l.toLowerCase());
  const seen = body.startsWith('GET ') ? body.split('\n').filter((l) => /^(get |x-)/i.test(l)).sort() : [];
  return [lines[0] ?? '', ...keep.sort(), ...seen].join('\n');
}

const REQUESTS = [
  'GET /api/users HTTP/1.1\r\nHost: h\r\nX-Secret: s\r\nConnection: close\r\n\r\n',
  'GET /index.html HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  'GET /admin/panel HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  'GET /limited HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  'GET /missing HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  'GET /secure/x?y=1 HTTP/1.1\r\nHost: ex.com\r\nConnection: close\r\n\r\n',
  'GET /gone/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
];

test('same config, same requests: lb answers like haproxy 2.6 (routing, header rules, error statuses)', async (t) => {
  if (!HAVE_HAPROXY) {
    t.log('SKIPPED: haproxy is not installed; the differential test did not run');
    t.pass();
    return;
  }
  const api = await echoHeaders();
  const web = await echoHeaders();
  const [hp, lp, dead] = await freePorts(3);
  const hcfg = writeConfig(config(hp!, api.port, web.port, dead!), 'haproxy.cfg');
  const lcfg = writeConfig(config(lp!, api.port, web.port, dead!), 'lb.cfg');
  const haproxy = spawn('haproxy', ['-db', '-f', hcfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let herr = '';
  haproxy.stderr.setEncoding('utf8');
  haproxy.stderr.on('data', (d: string) => {
    herr += d;
  });
  const lb = await startLb(lcfg, lp);
  try {
    await sleep(300);
    for (const r of REQUESTS) {
      // Up to 10 s each: the refused server's retries take ~3 s (1 s turn-around per retry), on
      // the edge of exchange()'s default wait on a loaded machine. Answers end the wait anyway.
      const [h, l] = await Promise.all([exchange(hp!, r, 10_000), exchange(lp!, r, 10_000)]);
      t.is(summary(l), summary(h), `${r.split('\r\n')[0] ?? ''}\nlb stderr: ${lb.stderr()}\nhaproxy stderr: ${herr}`);
    }
    // Sanity: the comparison saw real answers, not two empty strings.
    t.regex(summary(await exchange(lp!, REQUESTS[0]!)), /^HTTP\/1\.1 200 OK\ncontent-type: text\/plain\nx-frame-options: deny\nget \/api\/users http\/1\.1\nx-client: 127\.0\.0\.1\nx-pool: api\nx-via: lb$/i);
  } finally {
    haproxy.kill('SIGTERM');
    await lb.stop();
    await api.close();
    await web.close();
  }
});
