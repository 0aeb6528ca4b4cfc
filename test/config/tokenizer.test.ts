// Tokenizer unit tests. Expected words were checked against haproxy 2.6.12 with `.notice` lines
// (which print the parsed word), see the comments at the top of lb/config/tokenizer.ts.
import test from 'ava';
import { splitLine, tokenize } from '../../lb/config/tokenizer.ts';
import { Diagnostics, formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { defaultCondContext, type CondContext } from '../../lb/config/conditions.ts';

const env = { FOO: 'bar', SP: 'a b', EMPTY: '' };
const words = (raw: string): string[] => {
  const r = splitLine(raw, env);
  if (r.error !== undefined) throw new Error(r.error.message);
  return r.args;
};

const cases: [string, string[]][] = [
  ['log /dev/log local0', ['log', '/dev/log', 'local0']],
  ['  \tbind  *:80\t# comment', ['bind', '*:80']],
  ['a#b', ['a']],
  ['\\#not-a-comment', ['#not-a-comment']],
  ['e\\ f', ['e f']],
  ['\\x41\\\\\\t|', ['A\\\t|']],
  ['"\\x41\\r\\n|"', ['A\r\n|']],
  ["'\\x41'", ['\\x41']],
  ["'q\\'", ['q\\']],
  ['"q\\"q\\\'"', ['q"q\'']],
  ['\\\'\\"', ['\'"']],
  ['""', ['']],
  ['"a"\'b\'c', ['abc']],
  ['\\y', ['\\y']],
  ['${FOO}', ['${FOO}']],
  ['x${FOO}y', ['x${FOO}y']],
  ['"${FOO}"', ['bar']],
  ["'${FOO}'", ['${FOO}']],
  ['"$FOO"', ['bar']],
  ['"${NOPE}"', ['']],
  ['"${SP}"', ['a b']],
  ['${SP}', ['${SP}']],
  ['"${NOPE-dflt}"', ['dflt']],
  ['"${FOO-dflt}"', ['bar']],
  ['"pre-${FOO}-post"', ['pre-bar-post']],
  ['a\r', ['a']],
];

for (const [raw, expected] of cases) {
  test(`splitLine ${JSON.stringify(raw)}`, (t) => {
    t.deepEqual(words(raw), expected);
  });
}

test("the seed's httpchk line yields the exact version string with CRLF and header", (t) => {
  t.deepEqual(words('option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost'), ['option', 'httpchk', 'GET', '/health', 'HTTP/1.1\r\nHost: localhost']);
});

test('columns are 1-based word starts', (t) => {
  t.deepEqual(splitLine('  bind   *:80 ssl', {}).cols, [3, 10, 15]);
});

test('syntax errors carry haproxy positions', (t) => {
  t.is(splitLine('  log "unterminated', {}).error?.message, 'unmatched quote at position 7');
  t.is(splitLine('  log "${FOO', {}).error?.message, 'unmatched brace in environment variable name at position 9');
  t.is(splitLine('a \\xZZ', {}).error?.message, 'truncated or invalid hexadecimal sequence at position 2');
});

function run(text: string, e: Record<string, string> = {}): { lines: string[]; diags: string[] } {
  const d = new Diagnostics();
  const cond: CondContext = { ...defaultCondContext(), env: e };
  const out = tokenize(text, { file: 'x.cfg', cond }, d);
  return { lines: out.map((l) => `${l.line}:${l.args.join(' ')}`), diags: d.list.map(formatDiagnostic) };
}

test('line numbers survive comments, blank lines and conditions', (t) => {
  const r = run('# c\n\nglobal\n  daemon # x\n.if 0\n  junk\n.endif\nfoo\n');
  t.deepEqual(r.lines, ['3:global', '4:daemon', '8:foo']);
  t.deepEqual(r.diags, []);
});

test('.if/.elif/.else/.endif choose one branch, with nesting', (t) => {
  const text = ['.if defined(A)', 'a', '.elif defined(B)', 'b', '.if 1', 'b1', '.else', 'b2', '.endif', '.else', 'c', '.endif', 'z'].join('\n');
  t.deepEqual(run(text, { A: '1' }).lines.map((l) => l.split(':')[1]), ['a', 'z']);
  t.deepEqual(run(text, { B: '1' }).lines.map((l) => l.split(':')[1]), ['b', 'b1', 'z']);
  t.deepEqual(run(text, {}).lines.map((l) => l.split(':')[1]), ['c', 'z']);
});

test('.if with streq and environment expansion inside double quotes', (t) => {
  t.deepEqual(run('.if streq("${X}",on)\nyes\n.else\nno\n.endif\n', { X: 'on' }).lines, ['2:yes']);
  t.deepEqual(run('.if streq("${X}",on)\nyes\n.else\nno\n.endif\n', { X: 'off' }).lines, ['4:no']);
});

test('unmatched and unterminated blocks are alerts with their line', (t) => {
  t.deepEqual(run('a\n.endif\n').diags, ["[ALERT] config : parsing [x.cfg:2] : lone '.endif' with no matching '.if'."]);
  t.deepEqual(run('.else\n').diags, ["[ALERT] config : parsing [x.cfg:1] : lone '.else' with no matching '.if'."]);
  t.deepEqual(run('a\n.if 1\nb\n').diags, ["[ALERT] config : parsing [x.cfg:2] : non-terminated '.if' block."]);
  t.deepEqual(run('.if 1\n.else\n.else\n.endif\n').diags, ["[ALERT] config : parsing [x.cfg:3] : '.else' after '.else' is not permitted."]);
});

test('bad .if expressions are alerts and select no branch', (t) => {
  const r = run('.if foo(1)\nx\n.endif\n');
  t.deepEqual(r.lines, []);
  t.is(r.diags.length, 1);
  t.regex(r.diags[0] ?? '', /^\[ALERT\] config : parsing \[x\.cfg:1\] : .*foo.*'\.if'$/);
});

test('.notice/.warning/.alert/.diag', (t) => {
  const r = run('.notice "hello world"\n.warning w\n.alert a\n.diag d\n.notice a b\n');
  t.deepEqual(r.diags, [
    "[NOTICE] config : parsing [x.cfg:1] : 'hello world'.",
    "[WARNING] config : parsing [x.cfg:2] : 'w'.",
    "[ALERT] config : parsing [x.cfg:3] : 'a'.",
    "[DIAG] config : parsing [x.cfg:4] : 'd'.",
    "[ALERT] config : parsing [x.cfg:5] : Unexpected argument 'b' for '.notice'. Use quotes if the message should contain spaces.",
  ]);
});

test('directives inside a false branch are skipped, quoting errors are not (as haproxy 2.6)', (t) => {
  t.deepEqual(run('.if 0\n.alert no\nlog "unterminated\n.endif\n').diags, ['[ALERT] config : parsing [x.cfg:3] : unmatched quote at position 5']);
});

test('CRLF files keep their line numbers', (t) => {
  t.deepEqual(run('global\r\n  daemon\r\n').lines, ['1:global', '2:daemon']);
});
