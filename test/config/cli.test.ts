// `lb` command line: haproxy's flags and exit codes, run as real child processes.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lbAsync } from './harness.ts';
import { expandConfigPaths, parseArgs } from '../../lb/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'lb-cli-'));
const good = 'defaults\nmode http\ntimeout connect 1s\ntimeout client 1s\ntimeout server 1s\nfrontend f\nbind 127.0.0.1:8080\ndefault_backend b\n';
writeFileSync(join(dir, '10-front.cfg'), good);
writeFileSync(join(dir, '20-back.cfg'), 'backend b\nmode http\nserver s 127.0.0.1:8001\n');
writeFileSync(join(dir, 'ignored.txt'), 'garbage\n');
const nolistener = join(dir, 'nolistener.conf');
writeFileSync(nolistener, 'global\n  daemon\n');

test('-f DIR loads its *.cfg files in lexical order', async (t) => {
  t.deepEqual(expandConfigPaths([dir]), [join(dir, '10-front.cfg'), join(dir, '20-back.cfg')]);
  const r = await lbAsync(['-c', '-f', dir]);
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, 'Configuration file is valid\n');
});

test('-f is repeatable and files are parsed in order', async (t) => {
  const r = await lbAsync(['-c', '-f', join(dir, '10-front.cfg'), '-f', join(dir, '20-back.cfg')]);
  t.is(r.status, 0, r.stderr);
});

test('-q silences the success line', async (t) => {
  const r = await lbAsync(['-q', '-c', '-f', dir]);
  t.is(r.status, 0);
  t.is(r.stdout, '');
});

test('a missing file is an alert and exit 1', async (t) => {
  const r = await lbAsync(['-c', '-f', join(dir, 'nope.cfg')]);
  t.is(r.status, 1);
  t.regex(r.stderr, /Could not open configuration file .*nope\.cfg : No such file or directory/);
});

test('no listener: exit 2 like haproxy', async (t) => {
  const r = await lbAsync(['-c', '-f', nolistener]);
  t.is(r.status, 2);
  t.is(r.stdout, 'Configuration file has no error but will not start (no listener) => exit(2).\n');
});

test('-v prints a version', async (t) => {
  const r = await lbAsync(['-v']);
  t.is(r.status, 0);
  t.regex(r.stdout, /^lb version \S+ \(HAProxy 2\.6\.0 configuration compatible\)/);
});

test('haproxy flags are accepted', (t) => {
  const o = parseArgs(['-W', '-S', '/run/lb-master.sock', '-p', '/run/lb.pid', '-f', 'a.cfg', '-sf', '12', '13', '-st', '14', '-d']);
  t.deepEqual([o.masterWorker, o.masterSocket, o.pidfile, o.files, o.softStop, o.hardStop, o.debug], [true, '/run/lb-master.sock', '/run/lb.pid', ['a.cfg'], [12, 13], [14], true]);
});

test('an unknown flag is a usage error', async (t) => {
  const r = await lbAsync(['-Z']);
  t.is(r.status, 1);
  t.regex(r.stderr, /unknown option '-Z'/);
});
