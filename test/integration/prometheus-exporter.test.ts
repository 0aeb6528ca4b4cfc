// `http-request use-service prometheus-exporter if { path /metrics }` in a frontend that also
// forwards traffic, end to end: a real `lb -d -f` child serves HAProxy's exporter metrics on
// /metrics (frontend, backend and server families), other paths still reach the servers, and
// once a server is killed its `haproxy_server_status` moves from state="UP" to state="DOWN"
// (the health checks run).
import test from 'ava';
import { freePorts, startLb, writeConfig } from '../proxy/run/harness.ts';
import { backend, get, waitFor } from './helpers.ts';

/** The value of one sample line `name{labels...}` whose labels include every pair of `want`. */
function sample(text: string, name: string, want: Record<string, string>): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = new Map<string, string>();
    for (const m of line.slice(name.length + 1, close).matchAll(/([a-z_]+)="([^"]*)"/g)) labels.set(m[1] ?? '', m[2] ?? '');
    if (Object.entries(want).every(([k, v]) => labels.get(k) === v)) return line.slice(close + 1).trim();
  }
  return undefined;
}

test.serial('use-service prometheus-exporter: /metrics from a running lb, server status follows the checks', async (t) => {
  const [fe, p1, p2] = await freePorts(3);
  const bes = [backend(p1!), backend(p2!)];
  for (const b of bes) await b.start();
  const cfg = writeConfig(
    `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 300ms
frontend web
    bind 127.0.0.1:${fe}
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
backend app
    option httpchk GET /health
    default-server check inter 150 fall 2 rise 2
    server s1 127.0.0.1:${p1}
    server s2 127.0.0.1:${p2}
`,
    'prometheus.cfg',
  );
  const lb = await startLb(cfg, fe);
  t.teardown(async () => {
    await lb.stop();
    for (const b of bes) await b.kill();
  });
  const metrics = async (): Promise<string> => (await get(fe!, '/metrics')).body;

  const r = await get(fe!, '/metrics');
  t.is(r.status, 200, lb.stderr());
  t.regex(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  t.is(bes[0]!.hits + bes[1]!.hits, 0, '/metrics is answered by lb, not forwarded');
  for (const family of ['haproxy_frontend_', 'haproxy_backend_', 'haproxy_server_']) {
    t.regex(r.body, new RegExp(`^${family}[a-z_]+\\{`, 'm'), `a ${family}* sample`);
  }
  t.truthy(sample(r.body, 'haproxy_frontend_http_requests_total', { proxy: 'web' }), r.body.slice(0, 2000));
  t.truthy(sample(r.body, 'haproxy_backend_status', { proxy: 'app', state: 'UP' }));

  // Other paths still go to the servers.
  const page = await get(fe!, '/index.html');
  t.is(page.status, 200);
  t.regex(page.body, /^Response from backend \d+/);

  const up = await waitFor(async () => sample(await metrics(), 'haproxy_server_status', { proxy: 'app', server: 's2', state: 'UP' }), (v) => v === '1', 5000);
  t.true(up >= 0, `s2 UP in the metrics:\n${await metrics()}`);
  t.is(sample(await metrics(), 'haproxy_server_status', { proxy: 'app', server: 's2', state: 'DOWN' }), '0');

  await bes[1]!.kill();
  const down = await waitFor(async () => sample(await metrics(), 'haproxy_server_status', { proxy: 'app', server: 's2', state: 'DOWN' }), (v) => v === '1', 5000);
  t.true(down >= 0, `s2 DOWN in the metrics after it was killed:\n${lb.stderr()}`);
  const text = await metrics();
  t.is(sample(text, 'haproxy_server_status', { proxy: 'app', server: 's2', state: 'UP' }), '0');
  t.is(sample(text, 'haproxy_server_status', { proxy: 'app', server: 's1', state: 'UP' }), '1', 's1 stays UP');
  t.regex(lb.stderr(), /Server app\/s2 is DOWN/);
});
