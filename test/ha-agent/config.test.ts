// keepalived.conf parsing: seed goldens, the broken-config corpus with exact diagnostics, the
// tokenizer's keepalived-isms, HMAC key-file checks and `ha-agent -t` as a real child process.
import test from 'ava';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { formatDiagnostic, loadConfigFile, parseConfig } from '../../ha-agent/config.ts';
import type { ConfigSource, LoadResult } from '../../ha-agent/config.ts';

const run = promisify(execFile);
const FIX = 'test/fixtures/keepalived';
const NODE = 'node_modules/.bin/node';

const errors = (r: LoadResult): string[] =>
  r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d).replace(/^ha-agent: /, ''));
const warnings = (r: LoadResult): string[] =>
  r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message);

for (const name of ['seed-master', 'seed-backup']) {
  test(`golden: ${name}.conf parses to its expected model`, (t) => {
    const file = `${FIX}/${name}.conf`;
    const r = loadConfigFile(file, { configId: 'nodeA', interfaces: null });
    t.deepEqual(errors(r), []);
    // The seed runs scripts without enable_script_security: keepalived -t exits 6 for it, we warn.
    t.deepEqual(warnings(r), ['scripts are configured but enable_script_security is not set in global_defs; they will run as root (keepalived -t exits 6 for this)']);
    const golden = `${FIX}/${name}.json`;
    const actual = `${JSON.stringify(r.config, null, 2)}\n`;
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, actual);
    t.is(actual, readFileSync(golden, 'utf8'));
  });

  test(`ha-agent -t -f ${name}.conf says valid (child process)`, async (t) => {
    const r = await run(NODE, ['bin/ha-agent.js', '-t', '-f', `${FIX}/${name}.conf`]);
    t.is(r.stdout, `Configuration file ${FIX}/${name}.conf is valid\n`);
  });
}

test('seed variants differ only in state and priority', (t) => {
  const m = loadConfigFile(`${FIX}/seed-master.conf`, { interfaces: null }).config.instances[0];
  const b = loadConfigFile(`${FIX}/seed-backup.conf`, { interfaces: null }).config.instances[0];
  t.like(m, { state: 'MASTER', priority: 101, virtualRouterId: 51, advertIntMs: 1000 });
  t.like(b, { state: 'BACKUP', priority: 100, virtualRouterId: 51, advertIntMs: 1000 });
});

const brokenDir = `${FIX}/broken`;
const broken = readdirSync(brokenDir).filter((f) => f.endsWith('.conf')).toSorted();

test('the broken corpus has at least 20 configs', (t) => {
  t.true(broken.length >= 20, `${broken.length}`);
});

for (const f of broken) {
  test(`broken: ${f}`, (t) => {
    const file = join(brokenDir, f);
    const text = readFileSync(file, 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => (m[1] ?? '').replaceAll('FILE', file).replaceAll('DIR', brokenDir));
    t.true(expected.length > 0, 'fixture has expectations');
    const r = parseConfig(file, text, { configId: 'nodeA', interfaces: null });
    t.false(r.ok);
    t.deepEqual(errors(r), expected);
  });
}

test('ha-agent -t on a broken file prints every problem and exits 1', async (t) => {
  const file = join(brokenDir, 'unknown-keyword.conf');
  const err = await t.throwsAsync(run(NODE, ['bin/ha-agent.js', '-t', '-f', file]));
  const e = err as Error & { code?: number; stderr?: string; stdout?: string };
  t.is(e.code, 1);
  t.is(e.stdout, '');
  t.true(e.stderr?.includes(`ha-agent: parsing [${file}:9] : unknown keyword 'prority' in vrrp_instance VI_1; did you mean 'priority'?\n`), e.stderr);
  t.true(e.stderr?.endsWith(`ha-agent: configuration file ${file} has 1 error\n`), e.stderr);
});

test('ha-agent -t with a missing file exits 1 and says why', async (t) => {
  const err = await t.throwsAsync(run(NODE, ['bin/ha-agent.js', '-t', '-f', '/nonexistent/keepalived.conf']));
  const e = err as Error & { code?: number; stderr?: string };
  t.is(e.code, 1);
  t.regex(e.stderr ?? '', /parsing \[\/nonexistent\/keepalived.conf:0\] : cannot read configuration file: ENOENT/);
});

test('ha-agent without -t refuses to start on an invalid file, before touching any interface', async (t) => {
  // Never start the daemon on the seed config here: it names the host's eth0 and a real VIP.
  const err = await t.throwsAsync(run(NODE, ['bin/ha-agent.js', '-f', `${FIX}/broken/unknown-keyword.conf`, '--control-socket', '/nonexistent/ha.sock']));
  const e = err as Error & { code?: number; stderr?: string };
  t.is(e.code, 1);
  t.regex(e.stderr ?? '', /unknown keyword/);
});

test('ha-agent rejects unknown options', async (t) => {
  const err = await t.throwsAsync(run(NODE, ['bin/ha-agent.js', '--frobnicate']));
  t.regex((err as Error & { stderr?: string }).stderr ?? '', /unknown option '--frobnicate'/);
});

// ---------------------------------------------------------------------------------------------
// tokenizer behaviour, each observed on keepalived 2.2.7

const BASE = (extra: string): string =>
  `vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n 10.0.0.1/24\n }\n${extra}}\n`;

function memSource(files: Record<string, string>, modes: Record<string, number> = {}): ConfigSource {
  return {
    readFile: (p) => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    },
    glob: (pattern) => {
      const re = new RegExp(`^${pattern.replaceAll('.', '\\.').replaceAll('*', '[^/]*')}$`);
      return Object.keys(files).filter((k) => re.test(k)).toSorted();
    },
    stat: (p) => (files[p] === undefined ? undefined : { size: files[p]?.length ?? 0, mode: modes[p] ?? 0o100600, isFile: true }),
  };
}

const parse = (text: string, configId = 'nodeA', source?: ConfigSource): LoadResult =>
  parseConfig('/etc/k/main.conf', text, { configId, interfaces: null, ...(source && { source }) });

test('comments: # and ! anywhere outside quotes; quotes keep them', (t) => {
  const r = parse(`vrrp_script s {\n script "/bin/echo #1 !2" # comment\n}\n${BASE(' priority 10!0\n track_script {\n s\n }\n')}`);
  t.deepEqual(errors(r), []);
  t.is(r.config.instances[0]?.priority, 10);
  t.deepEqual(r.config.scripts[0]?.script.argv, ['/bin/echo', '#1', '!2']);
});

test('braces glued to words and on the next line', (t) => {
  const r = parse('vrrp_instance VI_1\n{\n state BACKUP\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {10.0.0.1/24 dev eth0 label eth0:vip}\n}\n');
  t.deepEqual(errors(r), []);
  t.like(r.config.instances[0]?.virtualIpaddresses[0], { address: '10.0.0.1', prefix: 24, dev: 'eth0', label: 'eth0:vip' });
});

test('$VAR definitions and ${VAR} substitution', (t) => {
  const r = parse(`$PRIO=150\n$VIP=10.0.0.9\n${BASE(' priority $PRIO\n')}`.replace('10.0.0.1/24', '${VIP}/32'));
  t.deepEqual(errors(r), []);
  t.like(r.config.instances[0], { priority: 150 });
  t.like(r.config.instances[0]?.virtualIpaddresses[0], { address: '10.0.0.9', prefix: 32 });
});

test('@ID and @^ID line prefixes follow the config id', (t) => {
  const text = BASE(' @nodeA priority 150\n @nodeB priority 50\n @^nodeA advert_int 3\n @^nodeB advert_int 2\n');
  t.like(parse(text, 'nodeA').config.instances[0], { priority: 150, advertIntMs: 2000 });
  t.like(parse(text, 'nodeB').config.instances[0], { priority: 50, advertIntMs: 3000 });
});

test('include: relative to the including file, globs sorted, loops refused', (t) => {
  const src = memSource({
    '/etc/k/conf.d/b.conf': 'vrrp_script b {\n script /bin/true\n}\n',
    '/etc/k/conf.d/a.conf': 'vrrp_script a {\n script /bin/true\n}\ninclude ../loop.conf\n',
    '/etc/k/loop.conf': 'include conf.d/a.conf\n',
  });
  const r = parse(`include conf.d/*.conf\n${BASE('')}`, 'x', src);
  t.deepEqual(r.config.scripts.map((s) => s.name), ['a', 'b']);
  t.deepEqual(errors(r), ["parsing [/etc/k/loop.conf:1] : include loop: '/etc/k/conf.d/a.conf' includes itself"]);
  t.deepEqual(r.config.files, ['/etc/k/main.conf', '/etc/k/conf.d/a.conf', '/etc/k/loop.conf', '/etc/k/conf.d/b.conf']);
});

test('advert_int fractions are kept exactly; finer than 10 ms is refused', (t) => {
  t.is(parse(BASE(' advert_int 0.1\n')).config.instances[0]?.advertIntMs, 100);
  t.is(parse(BASE(' advert_int 0.05\n')).config.instances[0]?.advertIntMs, 50);
  t.is(parse(BASE(' advert_int 2.5\n')).config.instances[0]?.advertIntMs, 2500);
  t.deepEqual(errors(parse(BASE(' advert_int 0.015\n'))), ["parsing [/etc/k/main.conf:8] : advert_int '0.015' must be a multiple of 0.01 s"]);
});

test('unicast_peer alone switches to udp-unicast, as keepalived does', (t) => {
  const r = parse(BASE(' unicast_src_ip 10.0.0.2\n unicast_peer {\n 10.0.0.3\n }\n'));
  t.deepEqual(errors(r), []);
  t.like(r.config.instances[0], { transport: 'udp-unicast', sourceIp: '10.0.0.2', unicastPeers: ['10.0.0.3'], mcastPort: 7112 });
  t.like(parse(BASE('')).config.instances[0], { transport: 'udp-multicast', mcastGroup: '224.0.0.18' });
});

test('priority 255 with state BACKUP, nopreempt with MASTER: warnings as keepalived gives', (t) => {
  const r = parse(BASE(' priority 255\n nopreempt\n').replace('state MASTER', 'state BACKUP'));
  t.deepEqual(errors(r), []);
  t.deepEqual(warnings(r), ['priority 255 marks the address owner, which always starts as MASTER; state BACKUP is ignored']);
  t.deepEqual(warnings(parse(BASE(' nopreempt\n'))), ['nopreempt has no effect with state MASTER; use state BACKUP']);
});

test('ignored keywords warn, unsupported ones fail', (t) => {
  const r = parse(`global_defs {\n notification_email {\n a@b.c\n }\n smtp_server 10.0.0.1\n vrrp_strict\n}\n${BASE('')}`);
  t.deepEqual(warnings(r), [
    "'notification_email' is accepted for compatibility but ignored by ha-agent (ha-agent sends no mail; use notify scripts)",
    "'smtp_server' is accepted for compatibility but ignored by ha-agent (ha-agent sends no mail)",
  ]);
  t.deepEqual(errors(r), ["parsing [/etc/k/main.conf:6] : 'vrrp_strict' is not supported by ha-agent: it changes packet handling (no unicast, no PASS auth, iptables rules); remove it"]);
});

test('notify scripts: quoted command with args, then optional user and group', (t) => {
  const r = parse(BASE(' notify_master "/etc/k/notify.sh master \'a b\'" keepalived_script\n notify /etc/k/all.sh\n'));
  t.deepEqual(errors(r), []);
  t.deepEqual(r.config.instances[0]?.notify, {
    master: { line: "/etc/k/notify.sh master 'a b'", argv: ['/etc/k/notify.sh', 'master', 'a b'], user: 'keepalived_script' },
    any: { line: '/etc/k/all.sh', argv: ['/etc/k/all.sh'] },
  });
});

test('auth_type HMAC: key file must exist, be non-empty and not world-readable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'vrrp.key');
  const conf = join(dir, 'k.conf');
  const text = BASE(' authentication {\n auth_type HMAC\n auth_key_file vrrp.key\n }\n');
  const check = (): string[] => errors(parseConfig(conf, text, { interfaces: null }));
  t.deepEqual(check(), [`parsing [${conf}:10] : auth_key_file '${key}' does not exist`]);
  writeFileSync(key, '');
  chmodSync(key, 0o600);
  t.deepEqual(check(), [`parsing [${conf}:10] : auth_key_file '${key}' is empty`]);
  writeFileSync(key, '0123456789abcdef0123456789abcdef');
  chmodSync(key, 0o644);
  t.deepEqual(check(), [`parsing [${conf}:10] : auth_key_file '${key}' is world-readable; chmod o-r it`]);
  chmodSync(key, 0o640);
  t.deepEqual(check(), []);
  t.deepEqual(parseConfig(conf, text, { interfaces: null }).config.instances[0]?.auth, { type: 'HMAC', keyFile: key });
  t.is(dirname(key), dir);
});

test('unknown interfaces are a warning, not an error (-t often runs on another host)', (t) => {
  const r = parseConfig('/x.conf', BASE(''), { interfaces: new Set(['lo']) });
  t.true(r.ok);
  t.deepEqual(warnings(r), ['interface eth0 does not exist on this host']);
});

test('defaults as keepalived derives them: MASTER without priority is the owner (255)', (t) => {
  t.like(parse(BASE('')).config.instances[0], { state: 'MASTER', priority: 255 });
  t.like(parse(BASE('').replace(' state MASTER\n', '')).config.instances[0], { state: 'BACKUP', priority: 100 });
  t.like(parse(BASE(' priority 255\n').replace(' state MASTER\n', '')).config.instances[0], { state: 'MASTER', priority: 255 });
});

test('global_defs vrrp_priority (nice -20..19) and vrrp_rt_priority (1..99, larger clamped with a warning as keepalived does)', (t) => {
  const ok = parse(`global_defs {\n vrrp_priority -7\n vrrp_rt_priority 20\n}\n${BASE('')}`);
  t.deepEqual(errors(ok), []);
  t.like(ok.config.globalDefs, { processNice: -7, rtPriority: 20 });
  t.false(ok.config.globalDefs.ignored.includes('vrrp_priority'));
  const none = parse(BASE(''));
  t.false('processNice' in none.config.globalDefs || 'rtPriority' in none.config.globalDefs);
  const clamped = parse(`global_defs {\n vrrp_rt_priority 150\n}\n${BASE('')}`);
  t.deepEqual(errors(clamped), []);
  t.is(clamped.config.globalDefs.rtPriority, 99);
  t.true(warnings(clamped).some((w) => w.includes('greater than maximum 99')), warnings(clamped).join('\n'));
  const bad = parse(`global_defs {\n vrrp_priority -25\n vrrp_rt_priority 0\n}\n${BASE('')}`);
  t.is(errors(bad).length, 2, errors(bad).join('\n'));
  t.true(errors(bad).some((e) => e.includes('vrrp_priority -25 out of range -20..19')));
});
