// Rule actions and the rule engine on parsed requests: each action, configuration order, the first
// terminal action wins, exact redirect/return/deny answers (captured from Debian's haproxy 2.6).
import test from 'ava';
import { AclTable } from '../../lb/acl/eval.ts';
import { Txn } from '../../lb/acl/sample.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import type { ErrorPage } from '../../lb/proxy/http-errors.ts';
import { RequestHead, ResponseHead } from '../../lb/proxy/http1/index.ts';
import { actionContext, compileRuleSet, Next, type RuleSet } from '../../lb/rules/engine.ts';

class Sink {
  denied: number | undefined;
  page: ErrorPage | undefined;
  deny(status: number): void {
    this.denied = status;
  }
  respond(page: ErrorPage): void {
    this.page = page;
  }
  text(version = 11, ka = true): string {
    return this.page === undefined ? '' : this.page.bytes(ka, version).toString('latin1');
  }
}

function rules(lines: readonly string[], kind: 'http-request' | 'http-response' = 'http-request'): RuleSet {
  const text = `defaults\n mode http\nfrontend f\n bind 127.0.0.1:1\n${lines.map((l) => ` ${l}\n`).join('')} default_backend b\nbackend b\n server s 127.0.0.1:2\n`;
  const { model, diagnostics } = parseConfig([{ file: 'r.cfg', text }]);
  const alerts = diagnostics.list.filter((d) => d.severity === 'alert');
  if (alerts.length > 0) throw new Error(alerts.map((d) => d.message).join('; '));
  const fe = model.proxies.find((p) => p.name === 'f')!;
  const r = compileRuleSet(kind === 'http-request' ? fe.httpRequest : fe.httpResponse, new AclTable(fe.acls), actionContext(kind, undefined));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function req(head: string, src = '192.0.2.1'): Txn {
  const t = new Txn().reset(src, 40000, '127.0.0.1', 80);
  const r = new RequestHead();
  if (r.feed(Buffer.from(`${head}\r\n\r\n`, 'latin1')) <= 0) throw new Error('bad test request');
  t.req = r;
  return t;
}

function headers(t: Txn, which: 'req' | 'res' = 'req'): string[] {
  const h = which === 'req' ? t.req! : t.res!;
  const out: string[] = [];
  for (let i = 0; i < h.fieldSlots; i++) if (h.isLive(i)) out.push(`${h.nameAt(i)}: ${h.valueAt(i)}`);
  return out;
}

test('deny: 403 by default, deny_status N, custom body', (t) => {
  const rs = rules(['http-request deny if { path /a }', 'http-request deny deny_status 429 if { path /b }', 'http-request deny deny_status 400 content-type text/plain string "nope" if { path /c }']);
  let s = new Sink();
  t.is(rs.run(req('GET /a HTTP/1.1\r\nHost: h'), s), Next.DONE);
  t.is(s.denied, 403);
  s = new Sink();
  rs.run(req('GET /b HTTP/1.1\r\nHost: h'), s);
  t.is(s.denied, 429);
  s = new Sink();
  rs.run(req('GET /c HTTP/1.1\r\nHost: h'), s);
  t.is(s.text(), 'HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\ncontent-type: text/plain\r\n\r\nnope');
  s = new Sink();
  t.is(rs.run(req('GET /d HTTP/1.1\r\nHost: h'), s), Next.NEXT);
  t.is(s.denied, undefined);
});

const REDIRECTS: [rule: string, target: string, host: string | null, expected: string][] = [
  ['redirect scheme https', '/s/x?a=1', 'ex.com:8080', 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://ex.com:8080/s/x?a=1\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect scheme https code 301 drop-query', '/dq/x?a=1', 'ex.com:8080', 'HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://ex.com:8080/dq/x\r\n\r\n'],
  ['redirect prefix /new', '/p/x?a=1', 'ex.com', 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new/p/x?a=1\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect prefix /new2 drop-query append-slash', '/q/x?a=1', 'ex.com', 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new2/q/x/\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect prefix /new2 drop-query append-slash', '/q/x/', 'ex.com', 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new2/q/x/\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect location /loc%[path] code 307', '/l/x?a', 'ex.com', 'HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: /loc/l/x\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect location https://x%[req.hdr(host)]', '/host', 'ex.com:8080', 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://xex.com:8080\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect location /y code 303', '/', 'h', 'HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /y\r\ncache-control: no-cache\r\n\r\n'],
  ['redirect location /y code 308', '/', 'h', 'HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /y\r\n\r\n'],
  ['redirect scheme https', '/s/x', null, 'HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https:///s/x\r\ncache-control: no-cache\r\n\r\n'],
];

for (const [rule, target, host, expected] of REDIRECTS) {
  test(`http-request ${rule} on ${target} (Host ${host ?? 'absent'}) answers exactly as haproxy 2.6`, (t) => {
    const s = new Sink();
    const head = host === null ? `GET ${target} HTTP/1.0` : `GET ${target} HTTP/1.1\r\nHost: ${host}`;
    t.is(rules([`http-request ${rule}`]).run(req(head), s), Next.DONE);
    t.is(s.text(), expected);
  });
}

test('return: status, content-type and string; bare status', (t) => {
  let s = new Sink();
  rules(['http-request return status 200 content-type text/plain string "hello world"']).run(req('GET /r HTTP/1.1\r\nHost: h'), s);
  t.is(s.text(), 'HTTP/1.1 200 OK\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n\r\nhello world');
  s = new Sink();
  rules(['http-request return status 404']).run(req('GET /r HTTP/1.1\r\nHost: h'), s);
  t.is(s.text(), 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
  s = new Sink();
  rules(['http-request return status 200 content-type text/plain lf-string "you are %[src]"']).run(req('GET / HTTP/1.1\r\nHost: h'), s);
  t.regex(s.text(), /\r\n\r\nyou are 192\.0\.2\.1$/);
});

test('header actions: set, add, del, replace-header, replace-value, in order', (t) => {
  const tx = req('GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: 2\r\nX-Del: d\r\nAccept: text/html, text/plain\r\nX-Url: http://old.example/p');
  const r = rules([
    'http-request set-header X-A one',
    'http-request add-header X-A two',
    'http-request del-header x-del',
    'http-request set-header X-Client %[src]:%[src_port]',
    'http-request replace-value Accept ^text/(.*)$ app/\\1',
    'http-request replace-header X-Url ^http://old\\.example(.*)$ https://new.example\\1',
  ]).run(tx, new Sink());
  t.is(r, Next.NEXT);
  t.deepEqual(headers(tx), ['Host: h', 'Accept: app/html, app/plain', 'X-Url: https://new.example/p', 'X-A: one', 'X-A: two', 'X-Client: 192.0.2.1:40000']);
});

test('request line actions: set-path keeps the query, set-query, set-uri, set-method', (t) => {
  let tx = req('GET /a?q=1 HTTP/1.1\r\nHost: h');
  rules(['http-request set-path /b%[path]']).run(tx, new Sink());
  t.is(tx.req!.target, '/b/a?q=1');
  tx = req('GET /a?q=1 HTTP/1.1\r\nHost: h');
  rules(['http-request set-query x=2']).run(tx, new Sink());
  t.is(tx.req!.target, '/a?x=2');
  tx = req('GET /a?q=1 HTTP/1.1\r\nHost: h');
  rules(['http-request set-uri /z', 'http-request set-method POST']).run(tx, new Sink());
  t.is(tx.req!.target, '/z');
  t.is(tx.req!.method, 'POST');
});

test('rules run in configuration order and the first terminal action wins', (t) => {
  const rs = rules([
    'http-request set-header X-Step 1',
    'http-request redirect location /first if { path_beg /a }',
    'http-request deny if { path_beg /a }',
    'http-request set-header X-Step 2',
  ]);
  const s = new Sink();
  const tx = req('GET /a HTTP/1.1\r\nHost: h');
  t.is(rs.run(tx, s), Next.DONE);
  t.regex(s.text(), /location: \/first/);
  t.is(s.denied, undefined);
  t.deepEqual(headers(tx).filter((h) => h.startsWith('X-Step')), ['X-Step: 1']);
  const tx2 = req('GET /b HTTP/1.1\r\nHost: h');
  t.is(rs.run(tx2, new Sink()), Next.NEXT);
  t.deepEqual(headers(tx2).filter((h) => h.startsWith('X-Step')), ['X-Step: 2']);
});

test('allow stops the rule set without answering; later rules do not run', (t) => {
  const rs = rules(['http-request allow if { src 192.0.2.0/24 }', 'http-request deny']);
  const s = new Sink();
  t.is(rs.run(req('GET / HTTP/1.1\r\nHost: h'), s), Next.STOP);
  t.is(s.denied, undefined);
  t.is(rs.run(req('GET / HTTP/1.1\r\nHost: h', '198.51.100.1'), s), Next.DONE);
  t.is(s.denied, 403);
});

test('http-response: set-header, del-header, set-status with and without reason', (t) => {
  const tx = req('GET / HTTP/1.1\r\nHost: h');
  const res = new ResponseHead();
  res.expect(false, false);
  t.true(res.feed(Buffer.from('HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n', 'latin1')) > 0);
  tx.res = res;
  rules(['http-response set-header X-Frame-Options DENY', 'http-response del-header Server', 'http-response set-status 503 reason "Go away" if { status 200 }'], 'http-response').run(tx, new Sink());
  t.deepEqual(headers(tx, 'res'), ['Content-Length: 0', 'X-Frame-Options: DENY']);
  t.is(res.outStatus, 503);
  t.is(res.reason, 'Go away');
  rules(['http-response set-status 404'], 'http-response').run(tx, new Sink());
  t.is(res.reason, 'Not Found');
});

test('actions the running lb does not implement yet are refused with file:line', (t) => {
  const text = 'defaults\n mode http\nfrontend f\n bind 127.0.0.1:1\n http-request tarpit\n default_backend b\nbackend b\n server s 127.0.0.1:2\n';
  const { model } = parseConfig([{ file: 'r.cfg', text }]);
  const fe = model.proxies.find((p) => p.name === 'f')!;
  const r = compileRuleSet(fe.httpRequest, new AclTable(fe.acls), actionContext('http-request', undefined));
  t.false(r.ok);
  if (!r.ok) t.regex(r.error, /^r\.cfg:5: 'http-request tarpit' is not implemented by the running lb yet/);
});

test('tcp-request connection rules: reject stops with DONE, accept with STOP, L7 conditions refused', (t) => {
  const text = 'defaults\n mode tcp\nfrontend f\n bind 127.0.0.1:1\n tcp-request connection accept if { src 127.0.0.1 }\n tcp-request connection reject\n default_backend b\nbackend b\n server s 127.0.0.1:2\n';
  const { model } = parseConfig([{ file: 'r.cfg', text }]);
  const fe = model.proxies.find((p) => p.name === 'f')!;
  const r = compileRuleSet(fe.tcpRequestConnection, new AclTable(fe.acls), actionContext('tcp-request connection', undefined));
  if (!r.ok) throw new Error(r.error);
  t.is(r.value.run(new Txn().reset('127.0.0.1', 1, '127.0.0.1', 2), new Sink()), Next.STOP);
  t.is(r.value.run(new Txn().reset('127.0.0.2', 1, '127.0.0.1', 2), new Sink()), Next.DONE);
});
