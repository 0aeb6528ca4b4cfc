// Parser unit tests: defaults inheritance, capability matrix, conditions, pending keywords,
// health-check request bytes.
import test from 'ava';
import { parseConfig } from '../../lb/config/parser.ts';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { httpCheckRequest } from '../../lb/config/httpchk.ts';
import type { Proxy } from '../../lb/config/model.ts';

function parse(text: string): { proxies: Map<string, Proxy>; diags: string[]; alerts: boolean; defaults: Proxy[] } {
  const r = parseConfig([{ file: 't.cfg', text }], { env: {} });
  return {
    proxies: new Map(r.model.proxies.map((p) => [`${p.kind}:${p.name}`, p])),
    diags: r.diagnostics.list.map(formatDiagnostic),
    alerts: r.diagnostics.hasAlerts,
    defaults: r.model.defaults,
  };
}

const lines = (...l: string[]): string => l.join('\n') + '\n';

test('a proxy inherits the last defaults section before it', (t) => {
  const r = parse(lines('defaults', 'mode http', 'timeout client 5s', 'backend a', 'defaults', 'mode tcp', 'backend b'));
  t.is(r.proxies.get('backend:a')?.mode, 'http');
  t.is(r.proxies.get('backend:a')?.timeouts['client'], 5000);
  t.is(r.proxies.get('backend:b')?.mode, 'tcp');
  // a new defaults section starts from scratch
  t.is(r.proxies.get('backend:b')?.timeouts['client'], undefined);
});

test('`from NAME` picks a named defaults section, and defaults may chain with from', (t) => {
  const r = parse(lines('defaults base', 'mode http', 'timeout connect 3s', 'defaults tcpd from base', 'mode tcp', 'defaults', 'retries 7', 'backend a from base', 'backend b from tcpd', 'backend c'));
  const a = r.proxies.get('backend:a');
  const b = r.proxies.get('backend:b');
  const c = r.proxies.get('backend:c');
  t.is(a?.mode, 'http');
  t.is(a?.from, 'base');
  t.is(b?.mode, 'tcp');
  t.is(b?.timeouts['connect'], 3000);
  t.is(c?.mode, undefined);
  t.is(c?.retries, 7);
  t.false(r.alerts, r.diags.join('\n'));
});

test('settings changed in the proxy do not leak back into its defaults', (t) => {
  const r = parse(lines('defaults d', 'mode http', 'option httplog', 'timeout server 1s', 'backend a', 'timeout server 9s', 'no option httplog', 'backend b'));
  t.is(r.proxies.get('backend:a')?.timeouts['server'], 9000);
  t.is(r.proxies.get('backend:a')?.options['httplog'], false);
  t.is(r.proxies.get('backend:b')?.timeouts['server'], 1000);
  t.is(r.proxies.get('backend:b')?.options['httplog'], true);
});

test('default-server settings apply under each server line', (t) => {
  const r = parse(lines('defaults', 'mode http', 'default-server inter 3s fall 3 rise 2', 'backend b', 'server s1 10.0.0.1:80 check rise 5', 'server s2 10.0.0.2:80'));
  const [s1, s2] = r.proxies.get('backend:b')?.servers ?? [];
  t.deepEqual(s1?.options, { inter: 3000, fall: 3, rise: 5, weight: 1, check: true });
  t.deepEqual(s2?.options, { inter: 3000, fall: 3, rise: 2, weight: 1 });
});

test('frontend and backend may share a name, two backends may not', (t) => {
  t.false(parse(lines('defaults', 'mode http', 'frontend x', 'bind :80', 'default_backend x', 'backend x')).alerts);
  t.true(parse(lines('backend x', 'backend x')).alerts);
});

test('capability matrix: warnings for ignored keywords, alerts where haproxy alerts', (t) => {
  const r = parse(lines('defaults', 'mode http', 'frontend f', 'bind :80', 'balance roundrobin', 'default_backend b', 'backend b', 'bind :81', 'server s 10.0.0.1:80'));
  t.true(r.diags.includes("[WARNING] config : parsing [t.cfg:5] : 'balance' ignored because frontend 'f' has no backend capability."));
  t.true(r.diags.includes("[WARNING] config : parsing [t.cfg:8] : 'bind' ignored because backend 'b' has no frontend capability."));
  t.false(r.alerts);
});

test('conditions: AND by juxtaposition, or, negation, anonymous ACLs', (t) => {
  const r = parse(lines('defaults', 'mode http', 'frontend f', 'bind :80', 'acl a path /a', 'acl b path /b', 'use_backend x if a !b or { src 10.0.0.0/8 } || ! a', 'default_backend x', 'backend x'));
  const u = r.proxies.get('frontend:f')?.useBackend[0];
  t.deepEqual(
    u?.cond?.or.map((g) => g.map((c) => ('acl' in c ? `${c.negated ? '!' : ''}${c.acl}` : `${c.negated ? '!' : ''}{${c.anonymous.fetch}}`))),
    [['a', '!b'], ['{src}'], ['!a']],
  );
});

test('acl lines with the same name are ORed into one definition', (t) => {
  const r = parse(lines('defaults', 'mode http', 'frontend f', 'bind :80', 'acl a path /a', 'acl a path_beg /b', 'default_backend x', 'backend x'));
  const acl = r.proxies.get('frontend:f')?.acls[0];
  t.is(acl?.terms.length, 2);
  t.deepEqual(acl?.terms.map((x) => x.method), ['str', 'beg']);
});

test('dynamic use_backend names are accepted without a backend check', (t) => {
  const r = parse(lines('defaults', 'mode http', 'frontend f', 'bind :80', 'use_backend be_%[req.hdr(host),lower] if TRUE', 'default_backend x', 'backend x'));
  t.false(r.alerts, r.diags.join('\n'));
  t.true(r.proxies.get('frontend:f')?.useBackend[0]?.dynamic);
});

test('pending keywords are accepted with a warning that names them', (t) => {
  const r = parse(lines('defaults', 'mode http', 'frontend f', 'bind :80', 'stick-table type ip size 1k', 'http-request track-sc0 src', 'default_backend x', 'backend x'));
  t.false(r.alerts);
  t.true(r.diags.includes("[WARNING] config : parsing [t.cfg:5] : 'stick-table' is parsed but not yet enforced by this lb."));
  t.true(r.diags.includes("[WARNING] config : parsing [t.cfg:6] : 'http-request track-sc0' is parsed but not yet enforced by this lb."));
});

test('every diagnostic is collected: several errors in one file', (t) => {
  const r = parse(lines('defaults', 'mode http', 'backend b', 'blance x', 'server s', 'timeout server 5q'));
  t.is(r.diags.filter((d) => d.startsWith('[ALERT]')).length, 3);
});

test("seed httpchk → haproxy 2.6's exact request bytes", (t) => {
  const r = parse(lines('defaults', 'mode http', 'backend b', 'option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost'));
  t.is(httpCheckRequest(r.proxies.get('backend:b')?.httpchk), 'GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
});

test('httpchk defaults and body, as captured from haproxy 2.6', (t) => {
  t.is(httpCheckRequest({ method: 'OPTIONS', uri: '/', version: 'HTTP/1.0' }), 'OPTIONS / HTTP/1.0\r\n\r\n');
  const r = parse(lines('backend b', 'option httpchk POST /x HTTP/1.1\\r\\nHost:\\ a\\r\\nX-Y:\\ z\\r\\n\\r\\nbody'));
  t.is(httpCheckRequest(r.proxies.get('backend:b')?.httpchk), 'POST /x HTTP/1.1\r\nhost: a\r\nx-y: z\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbody');
});

test('http-check send builds the same request as the legacy form', (t) => {
  const r = parse(lines('backend b', 'option httpchk', 'http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost'));
  const p = r.proxies.get('backend:b');
  t.is(httpCheckRequest(p?.httpchk, p?.httpCheck[0]), 'GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
});

test('option httpslog is accepted; the log format options replace each other, the last one wins', (t) => {
  const r = parse(lines('defaults', 'mode http', 'option httplog', 'frontend a', 'bind :80', 'option httpslog', 'frontend b', 'bind :81', 'option tcplog', 'frontend c', 'bind :82'));
  t.false(r.alerts, r.diags.join('\n'));
  const a = r.proxies.get('frontend:a')?.options;
  t.is(a?.['httpslog'], true);
  t.is(a?.['httplog'], undefined);
  t.is(r.proxies.get('frontend:b')?.options['tcplog'], true);
  t.is(r.proxies.get('frontend:b')?.options['httplog'], undefined);
  t.is(r.proxies.get('frontend:c')?.options['httplog'], true);
});
