// The broken-config corpus: each test/fixtures/config/broken/NAME.cfg starts with
//   # expect: <the exact diagnostic line lb must print>
//   # haproxy-2.6: rejects|accepts   (what Debian's haproxy 2.6 said when the file was written)
// lb must print the expected line (in-process and as a real `lb -c` child process, exit 1 for an
// alert), and haproxy must still answer as recorded. Where haproxy accepts and lb rejects, lb is
// stricter on purpose (unsupported feature, or a value haproxy silently truncates): logged.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import { defaultCondContext } from '../../lb/config/conditions.ts';
import { FIXTURES, haproxyAsync, haproxyPath, lbAsync } from './harness.ts';

const DIR = join(FIXTURES, 'broken');
const files = readdirSync(DIR)
  .filter((n) => n.endsWith('.cfg'))
  .sort();

interface Case {
  name: string;
  text: string;
  expect: string;
  haproxy: 'rejects' | 'accepts';
}

function load(name: string): Case {
  const text = readFileSync(join(DIR, name), 'utf8');
  const [l1 = '', l2 = ''] = text.split('\n');
  const expect = l1.replace(/^# expect: /, '');
  const verdict = l2.replace(/^# haproxy-2\.6: /, '');
  if (expect === l1 || (verdict !== 'rejects' && verdict !== 'accepts')) throw new Error(`${name}: malformed header`);
  return { name, text, expect, haproxy: verdict };
}

test('the corpus has at least 40 broken configs', (t) => {
  t.true(files.length >= 40, String(files.length));
});

const env = { HOME: '/root' };

for (const name of files) {
  const c = load(name);

  test(`in-process: ${name}`, (t) => {
    const { diagnostics } = parseConfig([{ file: `broken/${name}`, text: c.text }], { env, cond: { ...defaultCondContext(), env } });
    const lines = diagnostics.list.map(formatDiagnostic);
    t.true(lines.includes(c.expect), `expected:\n${c.expect}\ngot:\n${lines.join('\n')}`);
    if (c.expect.startsWith('[ALERT]')) t.true(diagnostics.hasAlerts);
    const n = c.text.split('\n').length;
    for (const d of diagnostics.list) if (d.line !== undefined) t.true(d.line >= 1 && d.line <= n, formatDiagnostic(d));
  });

  test(`lb -c: ${name}`, async (t) => {
    const r = await lbAsync(['-c', '-f', `broken/${name}`], FIXTURES);
    t.true(r.stderr.split('\n').includes(c.expect), r.stderr);
    if (c.expect.startsWith('[ALERT]')) {
      t.is(r.status, 1);
      t.true(r.stderr.trimEnd().endsWith('[ALERT] config : Fatal errors found in configuration.'));
    } else t.is(r.status, 0);
  });

  test(`haproxy 2.6 ${c.haproxy}: ${name}`, async (t) => {
    if (haproxyPath === undefined) {
      t.log('SKIPPED: haproxy is not installed, differential check not run');
      t.pass();
      return;
    }
    const r = await haproxyAsync(['-c', '-f', `broken/${name}`], FIXTURES);
    if (c.haproxy === 'rejects') t.not(r.status, 0, r.stderr);
    else {
      t.is(r.status, 0, r.stderr);
      if (c.expect.startsWith('[ALERT]')) t.log(`deliberate deviation: haproxy 2.6 accepts ${name}, lb rejects it`);
    }
  });
}
