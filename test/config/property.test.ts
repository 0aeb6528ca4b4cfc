// Property: on arbitrary input the tokenizer and parser never throw, and every diagnostic that
// has a line points inside the file (1..number of lines).
import test from 'ava';
import * as fc from 'fast-check';
import { parseConfig } from '../../lb/config/parser.ts';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';

const pieces = [
  'global', 'defaults', 'defaults d', 'frontend f', 'backend b', 'listen l', 'peers p', 'userlist u', 'http-errors e', 'resolvers r', 'from', 'd',
  'mode', 'http', 'tcp', 'bind', '*:80', ':443', '[::]:443', 'ssl', 'crt', 'server', 's1', '10.0.0.1:80', '127.0.0.1:8001-8003', 'check', 'inter', '5s', 'weight',
  '300', 'acl', 'a', 'path_beg', '/api', 'hdr(host)', '-i', '-m', 'beg', 'src', '10.0.0.0/8', 'use_backend', 'default_backend', 'if', 'unless', '!', 'or', '||',
  '{', '}', 'ssl_fc', 'http-request', 'deny', 'deny_status', '429', 'track-sc0', 'stick-table', 'type', 'ip', 'size', '100k', 'stick', 'on', 'stats', 'auth',
  'admin', 'LOCALHOST', 'option', 'httpchk', 'forwardfor', 'except', 'timeout', 'connect', 'errorfile', '503', '/nonexistent', 'balance', 'uri', 'len',
  'log', 'global', '/dev/log', 'local0', '.if', '.elif', '.else', '.endif', 'defined(X)', '&&', '||', '(', ')', 'streq(a,b)', '.notice', '.alert', 'x',
  '"', "'", '\\', '\\ ', '\\x4', '\\xZZ', '"${X}"', '"${X', '${', '#', '\t', '\r', '%[', ']', 'nameserver', 'user', 'group', 'peer',
];

const line = fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 })), { maxLength: 8 }).map((ws) => ws.join(' '));
const configText = fc.array(line, { maxLength: 30 }).map((ls) => ls.join('\n'));
const bytes = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1'));

function check(text: string): boolean {
  const n = text.split('\n').length;
  const r = parseConfig([{ file: 'p.cfg', text }], { env: { X: '1' } });
  for (const d of r.diagnostics.list) {
    formatDiagnostic(d);
    if (d.line !== undefined && (d.line < 1 || d.line > n)) throw new Error(`line ${d.line} outside 1..${n}: ${formatDiagnostic(d)}`);
  }
  return true;
}

test('random keyword soup never throws and reports lines inside the file', (t) => {
  fc.assert(fc.property(configText, check), { numRuns: 800 });
  t.pass();
});

test('random bytes never throw and report lines inside the file', (t) => {
  fc.assert(fc.property(bytes, check), { numRuns: 500 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 300 });
  t.pass();
});
