// Differential: Debian's keepalived 2.2.7 (`keepalived -t -f FILE`) and `ha-agent -t` agree on
// valid/invalid for the seed configs and for every broken config not marked
// "# keepalived: differs". keepalived -t exit codes (keepalived/core/main.c config_test_exit):
// 0 valid; 4 file missing, bad interface or fatal; 5 other config errors; 6 only the script
// security violation (scripts without enable_script_security). We append a global_defs enabling
// script security to the copy given to keepalived so that 6 cannot mask a config error.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../ha-agent/config.ts';

const FIX = 'test/fixtures/keepalived';
const which = spawnSync('sh', ['-c', 'command -v keepalived || ls /usr/sbin/keepalived'], { encoding: 'utf8' });
const KEEPALIVED = which.status === 0 ? which.stdout.trim().split('\n')[0] : undefined;
const SECURE = '\nglobal_defs {\n    enable_script_security\n    script_user root\n}\n';

function keepalivedValid(dir: string, name: string, text: string): { valid: boolean; rc: number | null; out: string } {
  const file = join(dir, name);
  writeFileSync(file, text + (text.includes('global_defs') ? '' : SECURE));
  const r = spawnSync(KEEPALIVED ?? 'keepalived', ['-t', '-f', file, '-i', 'nodeA'], { encoding: 'utf8', timeout: 10_000 });
  return { valid: r.status === 0, rc: r.status, out: `${r.stdout}${r.stderr}` };
}

const cases: { name: string; text: string; expectValid: boolean }[] = [
  ...['seed-master.conf', 'seed-backup.conf'].map((n) => ({ name: n, text: readFileSync(join(FIX, n), 'utf8'), expectValid: true })),
  ...readdirSync(join(FIX, 'broken')).filter((f) => f.endsWith('.conf')).toSorted()
    .map((n) => ({ name: n, text: readFileSync(join(FIX, 'broken', n), 'utf8'), expectValid: false }))
    .filter((c) => !c.text.includes('# keepalived: differs')),
];

test('differential: keepalived -t and ha-agent agree on valid/invalid', (t) => {
  if (KEEPALIVED === undefined) {
    t.log('SKIPPED: keepalived is not installed (apt-get install keepalived); differential not run');
    t.pass();
    return;
  }
  t.true(cases.length >= 20, `only ${cases.length} comparable cases`);
  const dir = mkdtempSync(join(tmpdir(), 'ha-diff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of cases) {
    const ours = parseConfig(join(dir, c.name), c.text, { configId: 'nodeA', interfaces: null }).ok;
    const theirs = keepalivedValid(dir, c.name, c.text);
    t.is(ours, c.expectValid, `${c.name}: ha-agent`);
    t.is(theirs.valid, ours, `${c.name}: keepalived rc=${theirs.rc} ${theirs.out}`);
    t.true(theirs.rc === 0 || theirs.rc === 4 || theirs.rc === 5, `${c.name}: unexpected keepalived rc=${theirs.rc}`);
  }
});
