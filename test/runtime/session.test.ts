// The CLI protocol byte for byte, without sockets: the expected bytes are what haproxy 2.6 sent
// back for the same input (recorded with a raw client while writing lb/runtime/session.ts).
import test from 'ava';
import { CliProtocol, splitCommands, type FeedResult } from '../../lb/runtime/session.ts';
import { differentialPool } from './fake-context.ts';

function proto(): CliProtocol {
  return new CliProtocol('admin', differentialPool({ web: 3, other: 4, st: 5 }, { s1: 18081, s2: 18082, s3: 18083, a: 18091, b: 18092 }));
}

function feedAll(p: CliProtocol, ...chunks: string[]): FeedResult[] {
  return chunks.map((c) => p.feed(Buffer.from(c)));
}

test('non-interactive: one line answered, an empty line after it, then close', (t) => {
  const p = proto();
  t.deepEqual(p.feed(Buffer.from('get weight web/s1\n')), { output: '50 (initial 50)\n\n', close: true });
  t.deepEqual(p.feed(Buffer.from('get weight web/s1\n')), { output: '', close: true }, 'nothing after close');
});

test('non-interactive: every line already received is answered before closing', (t) => {
  t.deepEqual(proto().feed(Buffer.from('get weight web/s1\nget weight web/s2\n')), { output: '50 (initial 50)\n\n1 (initial 1)\n\n', close: true });
});

test("';' separates commands; an empty command gets the full listing", (t) => {
  t.deepEqual(proto().feed(Buffer.from('get weight web/s1;get weight web/s2\n')), { output: '50 (initial 50)\n\n1 (initial 1)\n\n', close: true });
  const r = proto().feed(Buffer.from('get weight web/s1;\n'));
  t.true(r.output.startsWith('50 (initial 50)\n\nUnknown command. Please enter one of the following commands only:\n'));
  t.true(r.output.endsWith('  quit                                    : disconnect\n\n'));
});

test('a line split over several packets waits for its end; CRLF accepted', (t) => {
  const p = proto();
  t.deepEqual(feedAll(p, 'get wei', 'ght web/s1\r', '\n'), [
    { output: '', close: false },
    { output: '', close: false },
    { output: '50 (initial 50)\n\n', close: true },
  ]);
});

test('a multi-byte character split across packets is decoded whole', (t) => {
  const p = proto();
  const bytes = Buffer.from('show env CAFÉ\n');
  t.deepEqual(p.feed(bytes.subarray(0, 12)), { output: '', close: false });
  t.deepEqual(p.feed(bytes.subarray(12)), { output: 'Variable not found\n\n', close: true });
});

test('prompt mode: "> " after each answer, the connection stays until quit', (t) => {
  const p = proto();
  t.deepEqual(feedAll(p, 'prompt\n', 'get weight web/s1\n', 'get weight web/s2\n'), [
    { output: '\n> ', close: false },
    { output: '50 (initial 50)\n\n> ', close: false },
    { output: '1 (initial 1)\n\n> ', close: false },
  ]);
  t.true(p.interactive);
  t.deepEqual(p.feed(Buffer.from('quit\n')), { output: '', close: true });
});

test('prompt toggles back off; the rest of the batch is answered, then close (as haproxy)', (t) => {
  const p = proto();
  t.deepEqual(p.feed(Buffer.from('prompt\nget weight web/s1\nprompt\nget weight web/s2\nget weight web/s3\n')), {
    output: '\n> 50 (initial 50)\n\n> \n1 (initial 1)\n\n1 (initial 1)\n\n',
    close: true,
  });
});

test('prompt and a command on one line', (t) => {
  t.deepEqual(proto().feed(Buffer.from('prompt;get weight web/s1\n')), { output: '\n> 50 (initial 50)\n\n> ', close: false });
});

test('quit closes at once without an answer and skips the rest of the line', (t) => {
  t.deepEqual(proto().feed(Buffer.from('quit;get weight web/s1\n')), { output: '', close: true });
  t.deepEqual(proto().feed(Buffer.from('get weight web/s1;quit;get weight web/s1\n')), { output: '50 (initial 50)\n\n', close: true });
});

test('an unfinished line when the client closes is dropped', (t) => {
  const p = proto();
  t.deepEqual(p.feed(Buffer.from('get weight web/s1')), { output: '', close: false });
  t.deepEqual(p.end(), { output: '', close: true });
});

test('weight parse errors have no empty line after them, as in haproxy', (t) => {
  t.deepEqual(proto().feed(Buffer.from('set weight web/s1 abc\n')), { output: 'Empty weight string empty or preceded by garbage\n', close: true });
});

test('escapes: backslash makes the next character literal; quotes are plain characters', (t) => {
  t.deepEqual(splitCommands('get weight web/s1\\;x'), [['get', 'weight', 'web/s1;x']]);
  t.deepEqual(splitCommands('get\\ weight web\\/s1'), [['get weight', 'web/s1']]);
  t.deepEqual(splitCommands('a\t b  ;  c'), [['a', 'b'], ['c']]);
  t.deepEqual(splitCommands('get weight "web/s1"'), [['get', 'weight', '"web/s1"']]);
  t.deepEqual(splitCommands(''), [[]]);
  t.deepEqual(proto().feed(Buffer.from('get weight web/s1\\;x\n')).output, 'No such server.\n\n');
  t.deepEqual(proto().feed(Buffer.from('get weight web\\/s1\n')).output, '50 (initial 50)\n\n');
});

test('an endless line is cut off', (t) => {
  const p = proto();
  const big = 'x'.repeat(1 << 16);
  let r: FeedResult = { output: '', close: false };
  for (let i = 0; i < 20 && !r.close; i++) r = p.feed(big);
  t.true(r.close);
});
