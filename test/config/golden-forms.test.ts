// Golden tests of keyword forms the seed does not use (test/config/golden/*.cfg, written for lb):
// `http-request use-service prometheus-exporter`, two-argument `replace-path`/`replace-uri`,
// `tcp-check` rule lines, `spread-checks` and the `agent-*` server settings. Each parses to the
// model in NAME.json, `lb -c` (a real child) says it is valid, and Debian's haproxy 2.6 agrees.
// UPDATE_GOLDEN=1 rewrites the JSON.
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import { defaultCondContext } from '../../lb/config/conditions.ts';
import { haproxyPath, runHaproxy, runLb } from './harness.ts';

const DIR = fileURLToPath(new URL('./golden', import.meta.url));
const names = readdirSync(DIR)
  .filter((n) => n.endsWith('.cfg'))
  .map((n) => n.slice(0, -4))
  .sort();

test('the golden forms are all there', (t) => {
  t.deepEqual(names, ['agent-check', 'tcp-check', 'use-service-replace']);
});

for (const name of names) {
  const file = join(DIR, `${name}.cfg`);

  test(`golden model: ${name}`, (t) => {
    const text = readFileSync(file, 'utf8');
    const env = {};
    const { model, diagnostics } = parseConfig([{ file: `golden/${name}.cfg`, text }], { env, cond: { ...defaultCondContext(), env } });
    const actual = JSON.parse(JSON.stringify({ diagnostics: diagnostics.list.map(formatDiagnostic), model })) as unknown;
    const goldenPath = join(DIR, `${name}.json`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(goldenPath, JSON.stringify(actual, null, 2) + '\n');
    const expected = JSON.parse(readFileSync(goldenPath, 'utf8')) as unknown;
    t.deepEqual(actual, expected);
    t.false(diagnostics.hasAlerts);
  });

  test(`lb -c says valid: ${name}`, (t) => {
    const r = runLb(['-c', '-f', file]);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /Configuration file is valid\n$/);
  });

  test(`haproxy 2.6 agrees: ${name}`, (t) => {
    if (haproxyPath === undefined) {
      t.log('SKIPPED: haproxy is not installed, differential check not run');
      t.pass();
      return;
    }
    const h = runHaproxy(['-c', '-f', file]);
    t.is(h.status, 0, h.stderr);
  });
}
