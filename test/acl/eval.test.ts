// ACL evaluation: every runtime fetch and predefined ACL, AND/OR/!, named multi-line ACLs,
// anonymous ACLs, -i / -m / -f. Conditions come from real configuration text through the config
// parser, so the table exercises the same path as a running lb.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { AclTable, type CompiledCondition } from '../../lb/acl/eval.ts';
import { Txn, urlParam } from '../../lb/acl/sample.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import { RequestHead } from '../../lb/proxy/http1/index.ts';

/** Compiles `acl` lines and one condition (`if ...`/`unless ...`) of an http frontend. */
function compile(acls: readonly string[], cond: string, mode: 'http' | 'tcp' = 'http'): CompiledCondition {
  const rule = mode === 'http' ? `http-request deny ${cond}` : `tcp-request connection reject ${cond}`;
  const text = `defaults\n mode ${mode}\nfrontend f\n bind 127.0.0.1:1\n${acls.map((a) => ` ${a}\n`).join('')} ${rule}\n default_backend b\nbackend b\n server s 127.0.0.1:2\n`;
  const { model, diagnostics } = parseConfig([{ file: 't.cfg', text }]);
  const alerts = diagnostics.list.filter((d) => d.severity === 'alert');
  if (alerts.length > 0) throw new Error(alerts.map((d) => d.message).join('; '));
  const fe = model.proxies.find((p) => p.name === 'f')!;
  const r = mode === 'http' ? fe.httpRequest[0]! : fe.tcpRequestConnection[0]!;
  const c = new AclTable(fe.acls).compile(r.cond!);
  if (!c.ok) throw new Error(c.error);
  return c.value;
}

/** A transaction with a parsed request (`head` without the final empty line) and L4 facts. */
function txn(head: string | null, l4: Partial<Pick<Txn, 'src' | 'dst' | 'dstPort' | 'srcPort' | 'tls' | 'sni'>> = {}): Txn {
  const t = new Txn().reset(l4.src ?? '192.0.2.10', l4.srcPort ?? 40000, l4.dst ?? '127.0.0.1', l4.dstPort ?? 80);
  if (l4.tls !== undefined) t.tls = l4.tls;
  if (l4.sni !== undefined) t.sni = l4.sni;
  if (head !== null) {
    const req = new RequestHead();
    const n = req.feed(Buffer.from(`${head}\r\n\r\n`, 'latin1'));
    if (n <= 0) throw new Error(`test request did not parse (${n})`);
    t.req = req;
  }
  return t;
}

const GET = (target: string, headers = 'Host: www.example.com'): string => `GET ${target} HTTP/1.1\r\n${headers}`;

type Row = [acls: string[], cond: string, request: string | null, l4: Parameters<typeof txn>[1], expected: boolean];

const TABLE: Row[] = [
  // path family
  [[], 'if { path /a/b }', GET('/a/b?x=1'), {}, true],
  [[], 'if { path /a/b }', GET('/a/bc'), {}, false],
  [[], 'if { path_beg /api/ }', GET('/api/users'), {}, true],
  [[], 'if { path_beg /api/ }', GET('/apix'), {}, false],
  [[], 'if { path_end .jpg .png }', GET('/i/x.png?v=2'), {}, true],
  [[], 'if { path_sub admin }', GET('/x/administrator'), {}, true],
  [[], 'if { path_reg ^/u/[0-9]+$ }', GET('/u/42'), {}, true],
  [[], 'if { path_reg ^/u/[0-9]+$ }', GET('/u/4a'), {}, false],
  [[], 'if { path_dir images }', GET('/static/images/a.png'), {}, true],
  [[], 'if { path_dir images }', GET('/static/imagesx/a.png'), {}, false],
  [[], 'if { path -i /ABC }', GET('/abc'), {}, true],
  [[], 'if { path /ABC }', GET('/abc'), {}, false],
  [[], 'if { path /p }', GET('http://h.example/p?q', 'Host: h.example'), {}, true],
  // url, query, url_param, base
  [[], 'if { url /a?b=1 }', GET('/a?b=1'), {}, true],
  [[], 'if { url_beg /a? }', GET('/a?b=1'), {}, true],
  [[], 'if { query b=1&c=2 }', GET('/a?b=1&c=2'), {}, true],
  [[], 'if { query -m found }', GET('/a'), {}, false],
  [[], 'if { url_param(user) bob }', GET('/a?x=1&user=bob'), {}, true],
  [[], 'if { url_param(user) bob }', GET('/a?xuser=bob'), {}, false],
  [[], 'if { url_param(user) -m found }', GET('/a'), {}, false],
  [[], 'if { base www.example.com/a }', GET('/a?z'), {}, true],
  [[], 'if { base_beg www.example.com/ }', GET('/a'), {}, true],
  // headers
  [[], 'if { hdr(host) -i WWW.example.com }', GET('/'), {}, true],
  [[], 'if { hdr(Host) www.example.com }', GET('/'), {}, true],
  [[], 'if { hdr(accept) text/html }', GET('/', 'Host: a\r\nAccept: text/plain, text/html'), {}, true],
  [[], 'if { req.fhdr(accept) text/html }', GET('/', 'Host: a\r\nAccept: text/plain, text/html'), {}, false],
  [[], 'if { hdr_beg(host) www. }', GET('/'), {}, true],
  [[], 'if { hdr_end(host) .example.com }', GET('/'), {}, true],
  [[], 'if { hdr_sub(user-agent) -i mobile android iphone }', GET('/', 'Host: a\r\nUser-Agent: Mozilla (iPhone)'), {}, true],
  [[], 'if { hdr_reg(host) ^w+\\. }', GET('/'), {}, true],
  [[], 'if { hdr_dom(host) example }', GET('/'), {}, true],
  [[], 'if { hdr_dom(host) exam }', GET('/'), {}, false],
  [[], 'if { hdr_cnt(x-a) 3 }', GET('/', 'Host: a\r\nX-A: 1, 2\r\nX-A: 3'), {}, true],
  [[], 'if { hdr_val(content-length) gt 10 }', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11', {}, true],
  [[], 'if { req.hdr(x-missing) -m found }', GET('/'), {}, false],
  [[], 'if { hdr(x-a,1) 1 }', GET('/', 'Host: a\r\nX-A: 1, 2'), {}, true],
  [[], 'if { hdr(x-a,1) 2 }', GET('/', 'Host: a\r\nX-A: 1, 2'), {}, false],
  [[], 'if { hdr(x-a,-1) 2 }', GET('/', 'Host: a\r\nX-A: 1, 2'), {}, true],
  [[], 'if { hdr_ip(x-forwarded-for) 10.0.0.0/8 }', GET('/', 'Host: a\r\nX-Forwarded-For: 10.1.2.3'), {}, true],
  [[], 'if { cook(sid) abc }', GET('/', 'Host: a\r\nCookie: a=1; sid=abc'), {}, true],
  [[], 'if { hdr(host),lower www.example.com }', GET('/', 'Host: WWW.Example.COM'), {}, true],
  // method
  [[], 'if { method POST }', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0', {}, true],
  [[], 'if { method POST }', GET('/'), {}, false],
  [[], 'if { method PROPFIND }', 'PROPFIND / HTTP/1.1\r\nHost: a', {}, true],
  // L4
  [[], 'if { src 192.0.2.0/24 }', GET('/'), {}, true],
  [[], 'if { src 10.0.0.0/8 192.168.0.0/16 }', GET('/'), {}, false],
  [[], 'if { src 192.0.2.10 }', GET('/'), { src: '::ffff:192.0.2.10' }, true],
  [[], 'if { src 2001:db8::/32 }', GET('/'), { src: '2001:db8::5' }, true],
  [[], 'if { src,lower -m str 192.0.2.10 }', GET('/'), {}, true],
  [[], 'if { dst 127.0.0.1 }', GET('/'), {}, true],
  [[], 'if { dst_port 80 443 }', GET('/'), {}, true],
  [[], 'if { dst_port 8000:8999 }', GET('/'), {}, false],
  [[], 'if { src_port ge 1024 }', GET('/'), {}, true],
  [[], 'if { ssl_fc }', GET('/'), {}, false],
  [[], 'if { ssl_fc }', GET('/'), { tls: true }, true],
  [[], 'if { ssl_fc_sni -i API.example.com }', GET('/'), { tls: true, sni: 'api.example.com' }, true],
  [[], 'if { ssl_fc_sni api.example.com }', GET('/'), { tls: false, sni: 'api.example.com' }, false],
  // predefined ACLs
  [[], 'if TRUE', GET('/'), {}, true],
  [[], 'if FALSE', GET('/'), {}, false],
  [[], 'if LOCALHOST', GET('/'), { src: '127.0.0.5' }, true],
  [[], 'if LOCALHOST', GET('/'), { src: '::1' }, true],
  [[], 'if LOCALHOST', GET('/'), {}, false],
  [[], 'if METH_GET', 'HEAD / HTTP/1.1\r\nHost: a', {}, true],
  [[], 'if METH_GET', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0', {}, false],
  [[], 'if METH_POST', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0', {}, true],
  [[], 'if METH_PUT', 'PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0', {}, true],
  [[], 'if METH_DELETE', 'DELETE / HTTP/1.1\r\nHost: a', {}, true],
  [[], 'if METH_OPTIONS', 'OPTIONS * HTTP/1.1\r\nHost: a', {}, true],
  [[], 'if HTTP_1.0', 'GET / HTTP/1.0', {}, true],
  [[], 'if HTTP_1.1', 'GET / HTTP/1.0', {}, false],
  [[], 'if HTTP_1.1', GET('/'), {}, true],
  [[], 'if HTTP', GET('/'), {}, true],
  [[], 'if HTTP_URL_ABS', GET('http://www.example.com/'), {}, true],
  [[], 'if HTTP_URL_ABS', GET('/'), {}, false],
  [[], 'if HTTP_URL_SLASH', GET('/x'), {}, true],
  [[], 'if HTTP_CONTENT', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3', {}, true],
  [[], 'if HTTP_CONTENT', GET('/'), {}, false],
  [[], 'if REQ_CONTENT', GET('/'), {}, false],
  [[], 'if WAIT_END', GET('/'), {}, false],
  // AND, OR, !, unless
  [['acl a path_beg /a', 'acl b method GET'], 'if a b', GET('/a/x'), {}, true],
  [['acl a path_beg /a', 'acl b method POST'], 'if a b', GET('/a/x'), {}, false],
  [['acl a path_beg /a', 'acl b method POST'], 'if a || b', GET('/a/x'), {}, true],
  [['acl a path_beg /a', 'acl b method POST'], 'if b or a', GET('/a/x'), {}, true],
  [['acl a path_beg /a', 'acl b method POST'], 'if a !b', GET('/a/x'), {}, true],
  [['acl a path_beg /a', 'acl b method POST'], 'if !a', GET('/a/x'), {}, false],
  [['acl a path_beg /a'], 'unless a', GET('/a/x'), {}, false],
  [['acl a path_beg /a'], 'unless a', GET('/b'), {}, true],
  [['acl a path_beg /a', 'acl b method POST', 'acl c hdr(host) x'], 'if b c || a', GET('/a'), {}, true],
  [['acl a path_beg /a', 'acl b method POST', 'acl c hdr(host) x'], 'if b c || !a', GET('/a'), {}, false],
  // named ACL over several lines: OR'd
  [['acl static path_end .css', 'acl static path_end .js', 'acl static hdr_beg(host) static.'], 'if static', GET('/app.js'), {}, true],
  [['acl static path_end .css', 'acl static path_end .js', 'acl static hdr_beg(host) static.'], 'if static', GET('/x', 'Host: static.example.com'), {}, true],
  [['acl static path_end .css', 'acl static path_end .js', 'acl static hdr_beg(host) static.'], 'if static', GET('/x'), {}, false],
  // anonymous ACLs mixed with named ones, negated
  [['acl api path_beg /api/'], 'if api !{ src 192.0.2.0/24 }', GET('/api/x'), {}, false],
  [['acl api path_beg /api/'], 'if api !{ src 10.0.0.0/8 }', GET('/api/x'), {}, true],
  // -m methods on other fetches
  [[], 'if { hdr(host) -m reg -i ^WWW }', GET('/'), {}, true],
  [[], 'if { path -m len gt 5 }', GET('/abcdef'), {}, true],
  [[], 'if { hdr(host) -m sub example }', GET('/'), {}, true],
];

for (const [i, [acls, cond, request, l4, expected]] of TABLE.entries()) {
  test(`acl #${i}: ${acls.join(' ; ')}${acls.length > 0 ? ' → ' : ''}${cond} on ${request?.split('\r\n')[0] ?? 'L4'} ${JSON.stringify(l4)} → ${expected}`, (t) => {
    t.is(compile(acls, cond).test(txn(request, l4)), expected);
  });
}

test('-f patternfile: patterns read from a file, comments and blanks skipped', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acl-'));
  const f = join(dir, 'blocked.lst');
  writeFileSync(f, '# blocked networks\n10.0.0.0/8\n\n192.0.2.0/24\n');
  const c = compile([`acl blocked src -f ${f}`], 'if blocked');
  t.true(c.test(txn(GET('/'), { src: '192.0.2.77' })));
  t.true(c.test(txn(GET('/'), { src: '10.9.9.9' })));
  t.false(c.test(txn(GET('/'), { src: '198.51.100.1' })));
});

test('L4 conditions in mode tcp: src / dst_port, and req.ssl_sni from a parsed ClientHello', (t) => {
  const c = compile([], 'if { src 127.0.0.2 } { dst_port 3306 }', 'tcp');
  t.true(c.test(txn(null, { src: '127.0.0.2', dstPort: 3306 })));
  t.false(c.test(txn(null, { src: '127.0.0.2', dstPort: 3307 })));
  const sni = compile([], 'if { req.ssl_sni -i a.example.com }', 'tcp');
  const tx = txn(null);
  t.false(sni.test(tx), 'no ClientHello, no sample');
  tx.hello = { recordVersion: 0x301, legacyVersion: 0x303, versions: [0x304], sni: 'A.example.com', alpn: [], cipherSuites: 3, length: 200 };
  t.true(sni.test(tx));
});

test('a fetch whose ACL has no sample does not match, and its negation does', (t) => {
  t.false(compile([], 'if { hdr(x-nope) a }').test(txn(GET('/'))));
  t.true(compile([], 'if !{ hdr(x-nope) a }').test(txn(GET('/'))));
  // An http fetch on an L4-only transaction (no request yet) has no sample either.
  t.false(compile([], 'if { path /a }').test(txn(null)));
});

test('conditions are compiled once and evaluate without changing the transaction', (t) => {
  const c = compile(['acl a path_beg /a', 'acl a path_beg /b'], 'if a');
  const tx = txn(GET('/b/1'));
  for (let i = 0; i < 1000; i++) t.true(c.test(tx));
  t.is(tx.req?.target, '/b/1');
});

test('url_param parsing edge cases', (t) => {
  t.is(urlParam('/p?a=1&b=2', 'b', '&'), '2');
  t.is(urlParam('/p?a=1&b', 'b', '&'), '');
  t.is(urlParam('/p?ab=1', 'a', '&'), undefined);
  t.is(urlParam('/p', 'a', '&'), undefined);
  t.is(urlParam('/p?a=1;b=3', 'b', ';'), '3');
});

test('fetches not implemented at runtime refuse to compile with their name and line', (t) => {
  const text = 'defaults\n mode http\nfrontend f\n bind 127.0.0.1:1\n acl n nbsrv(b) gt 0\n http-request deny if n\n default_backend b\nbackend b\n server s 127.0.0.1:2\n';
  const { model } = parseConfig([{ file: 't.cfg', text }]);
  const fe = model.proxies.find((p) => p.name === 'f')!;
  const r = new AclTable(fe.acls).compile(fe.httpRequest[0]!.cond!);
  t.false(r.ok);
  if (!r.ok) t.regex(r.error, /^t\.cfg:5: fetch method 'nbsrv' is not implemented by the running lb yet/);
});
