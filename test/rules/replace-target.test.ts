// `replace-path` / `replace-uri REGEX FMT` (two arguments, as haproxy 2.6) and `use-service`
// on parsed requests. The semantics pinned here were compared with Debian's haproxy 2.6 in
// test/integration/replace-path-diff.test.ts: the regex is searched anywhere, and on a match the
// whole path (or URI) becomes the expanded format.
import test from 'ava';
import { AclTable } from '../../lb/acl/eval.ts';
import { Txn } from '../../lb/acl/sample.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import type { ErrorPage } from '../../lb/proxy/http-errors.ts';
import { localResponse } from '../../lb/proxy/http-errors.ts';
import { RequestHead } from '../../lb/proxy/http1/index.ts';
import { expandMatches } from '../../lb/rules/actions.ts';
import { actionContext, compileRuleSet, Next, type ServiceTable } from '../../lb/rules/engine.ts';

class Sink {
  page: ErrorPage | undefined;
  deny(): void {}
  respond(page: ErrorPage): void {
    this.page = page;
  }
}

function compile(lines: readonly string[], services?: ServiceTable): ReturnType<typeof compileRuleSet> {
  const text = `defaults\n mode http\nfrontend f\n bind 127.0.0.1:1\n${lines.map((l) => ` ${l}\n`).join('')} default_backend b\nbackend b\n server s 127.0.0.1:2\n`;
  const { model, diagnostics } = parseConfig([{ file: 'r.cfg', text }]);
  const alerts = diagnostics.list.filter((d) => d.severity === 'alert');
  if (alerts.length > 0) throw new Error(alerts.map((d) => d.message).join('; '));
  const fe = model.proxies.find((p) => p.name === 'f')!;
  return compileRuleSet(fe.httpRequest, new AclTable(fe.acls), actionContext('http-request', undefined, services));
}

function target(rule: string, reqTarget: string): string {
  const rs = compile([rule]);
  if (!rs.ok) throw new Error(rs.error);
  const t = new Txn().reset('192.0.2.1', 40000, '127.0.0.1', 80);
  const r = new RequestHead();
  if (r.feed(Buffer.from(`GET ${reqTarget} HTTP/1.1\r\nHost: h\r\n\r\n`, 'latin1')) <= 0) throw new Error('bad test request');
  t.req = r;
  rs.value.run(t, new Sink());
  return r.target;
}

test('expandMatches: \\N groups, unmatched groups empty, \\\\ and \\xHH', (t) => {
  const m = /a(b)(x)?(c)/.exec('zabcz')!;
  t.is(expandMatches('[\\1|\\2|\\3|\\0]', m), '[b||c|abc]');
  t.is(expandMatches('\\\\\\x41\\q', m), '\\Aq');
  t.is(expandMatches('trailing\\', m), 'trailing\\');
});

test('replace-path: the whole path is replaced on a match anywhere; the query is kept', (t) => {
  t.is(target('http-request replace-path /a/(.*) /\\1', '/a/b'), '/b');
  t.is(target('http-request replace-path /a/(.*) /\\1', '/x/a/b'), '/b');
  t.is(target('http-request replace-path /a/(.*) /\\1', '/a/b?q=1'), '/b?q=1');
  t.is(target('http-request replace-path /a/(.*) /\\1', '/nomatch?q=1'), '/nomatch?q=1');
  t.is(target('http-request replace-path (.*) /p\\1', '/w?z'), '/p/w?z');
});

test('replace-uri: works on the whole URI, query included', (t) => {
  t.is(target('http-request replace-uri ^/old/([^?]*)(.*) /new/\\1\\2', '/old/x?y=1'), '/new/x?y=1');
  t.is(target('http-request replace-uri \\?.* ?dropped', '/k?v=1'), '?dropped');
});

test('use-service prometheus-exporter: answered by the service table; missing service refused at compile', (t) => {
  const page = localResponse(200, 'OK', [['content-type', 'text/plain']], 'metrics\n');
  let calls = 0;
  const services: ServiceTable = new Map([['prometheus-exporter', (): ErrorPage => (calls++, page)]]);
  const rs = compile(['http-request use-service prometheus-exporter if { path /metrics }'], services);
  if (!rs.ok) throw new Error(rs.error);
  const run = (path: string): { next: number; sink: Sink } => {
    const tx = new Txn().reset('192.0.2.1', 40000, '127.0.0.1', 80);
    const r = new RequestHead();
    r.feed(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`, 'latin1'));
    tx.req = r;
    const sink = new Sink();
    return { next: rs.value.run(tx, sink), sink };
  };
  const hit = run('/metrics');
  t.is(hit.next, Next.DONE);
  t.is(hit.sink.page, page);
  const miss = run('/other');
  t.is(miss.next, Next.NEXT);
  t.is(miss.sink.page, undefined);
  t.is(calls, 1);
  const none = compile(['http-request use-service prometheus-exporter'], new Map());
  t.false(none.ok);
});
