// Golden tests: every config block of the seed (test/fixtures/config/seed/*.cfg, verbatim, partial
// blocks with a marked context header) parses to the model in NAME.json, `lb -c` (a real child
// process) says it is valid, and Debian's haproxy 2.6 agrees. UPDATE_GOLDEN=1 rewrites the JSON.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import { defaultCondContext } from '../../lb/config/conditions.ts';
import { FIXTURES, haproxyPath, mapPath, mappedCopy, runHaproxy, runLb } from './harness.ts';

const SEED = join(FIXTURES, 'seed');
const names = readdirSync(SEED)
  .filter((n) => n.endsWith('.cfg'))
  .map((n) => n.slice(0, -4))
  .sort();

test('the seed has at least 15 config blocks as fixtures', (t) => {
  t.true(names.length >= 15, names.join(', '));
});

for (const name of names) {
  const file = join(SEED, `${name}.cfg`);

  test(`golden model: ${name}`, (t) => {
    const text = readFileSync(file, 'utf8');
    const env = {};
    const { model, diagnostics } = parseConfig([{ file: `seed/${name}.cfg`, text }], { env, cond: { ...defaultCondContext(), env }, mapPath });
    const actual = JSON.parse(JSON.stringify({ diagnostics: diagnostics.list.map(formatDiagnostic), model })) as unknown;
    const goldenPath = join(SEED, `${name}.json`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(goldenPath, JSON.stringify(actual, null, 2) + '\n');
    const expected = JSON.parse(readFileSync(goldenPath, 'utf8')) as unknown;
    t.deepEqual(actual, expected);
    t.false(diagnostics.hasAlerts);
  });

  test(`lb -c says valid: ${name}`, (t) => {
    const r = runLb(['-c', '-f', mappedCopy(file)]);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /Configuration file is valid\n$/);
  });

  test(`haproxy 2.6 agrees: ${name}`, (t) => {
    if (haproxyPath === undefined) {
      t.log('SKIPPED: haproxy is not installed, differential check not run');
      t.pass();
      return;
    }
    const copy = mappedCopy(file);
    const h = runHaproxy(['-c', '-f', copy]);
    const l = runLb(['-c', '-f', copy]);
    t.is(l.status, h.status, `haproxy: ${h.stderr}\nlb: ${l.stderr}`);
  });
}
