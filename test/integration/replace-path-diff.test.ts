// `http-request replace-path REGEX FMT` and `replace-uri REGEX FMT` (two arguments, as haproxy
// 2.6 takes them), run by Debian's haproxy and by `lb -d -f` on the same config: the request line
// the backend sees must be identical. HAProxy searches the regex anywhere in the path/URI and then
// replaces the WHOLE path/URI with the expanded format (http_action_replace_uri), which is what
// "/x/a/b" → "/b" below pins down. Skips loudly when haproxy is not installed.
import { spawn } from 'node:child_process';
import test from 'ava';
import { echoHeaders } from '../proxy/run/echo-headers.ts';
import { exchange, freePorts, haveCommand, sleep, startLb, writeConfig } from '../proxy/run/harness.ts';

const HAVE_HAPROXY = haveCommand('haproxy');

function config(port: number, be: number): string {
  return `defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f
    bind 127.0.0.1:${port}
    http-request replace-path /a/(.*) /\\1 if { path_sub /a/ }
    http-request replace-uri ^/old/([^?]*)(.*) /new/\\1\\2 if { path_beg /old/ }
    http-request replace-path ^/v([0-9]+)/(.*)$ /api/\\2/version-\\1
    http-request replace-path (.*) /p\\1 if { path_beg /wrap }
    default_backend b
backend b
    server s 127.0.0.1:${be}
`;
}

const PATHS = ['/a/b', '/x/a/b', '/a/b?q=1', '/old/thing?x=y', '/v2/users/7', '/wrap/me?z', '/untouched?k=v', '/old'];

/** The request line the backend saw. */
function seen(raw: string): string {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return `${raw.split('\r\n')[0] ?? ''} | ${body.split('\n')[0] ?? ''}`;
}

test('replace-path / replace-uri: lb rewrites like haproxy 2.6', async (t) => {
  const echo = await echoHeaders();
  const [hp, lp] = await freePorts(2);
  const lb = await startLb(writeConfig(config(lp!, echo.port), 'lb-replace.cfg'), lp);
  t.teardown(async () => {
    await lb.stop();
    await echo.close();
  });
  const req = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`;
  // What lb does, asserted on its own (these hold with or without haproxy installed).
  const expected: Record<string, string> = {
    '/a/b': 'GET /b HTTP/1.1',
    '/x/a/b': 'GET /b HTTP/1.1',
    '/a/b?q=1': 'GET /b?q=1 HTTP/1.1',
    '/old/thing?x=y': 'GET /new/thing?x=y HTTP/1.1',
    '/v2/users/7': 'GET /api/users/7/version-2 HTTP/1.1',
    '/wrap/me?z': 'GET /p/wrap/me?z HTTP/1.1',
    '/untouched?k=v': 'GET /untouched?k=v HTTP/1.1',
  };
  for (const [p, line] of Object.entries(expected)) {
    t.is(seen(await exchange(lp!, req(p))), `HTTP/1.1 200 OK | ${line}`, `${p}\n${lb.stderr()}`);
  }
  if (!HAVE_HAPROXY) {
    t.log('SKIPPED: haproxy is not installed; the differential half did not run');
    return;
  }
  const haproxy = spawn('haproxy', ['-db', '-f', writeConfig(config(hp!, echo.port), 'haproxy-replace.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let herr = '';
  haproxy.stderr.setEncoding('utf8');
  haproxy.stderr.on('data', (d: string) => {
    herr += d;
  });
  t.teardown(() => {
    haproxy.kill('SIGTERM');
  });
  // haproxy is ready once it answers (bounded: 5 s).
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (await exchange(hp!, req('/untouched'), 1000)) === '') await sleep(50);
  for (const p of PATHS) {
    const [h, l] = await Promise.all([exchange(hp!, req(p)), exchange(lp!, req(p))]);
    t.is(seen(l), seen(h), `${p}\nhaproxy: ${herr}`);
  }
});
