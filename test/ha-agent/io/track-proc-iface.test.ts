import test from 'ava';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterfaceTracker, readLinkStatus, type InterfaceChange } from '../../../ha-agent/track/interface.ts';
import { ProcessTracker, countProcesses, type ProcessChange } from '../../../ha-agent/track/process.ts';
import { NetnsLab, netnsUnavailableReason } from '../../helpers/netns.ts';
import { ChildLines } from './child-lines.ts';

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-trk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fakeLink(root: string, name: string, f: { flags?: string; operstate?: string; carrier?: string }): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const k of ['flags', 'operstate', 'carrier'] as const) {
    const v = f[k];
    if (v === undefined) rmSync(join(dir, k), { force: true });
    else writeFileSync(join(dir, k), `${v}\n`);
  }
}

test('readLinkStatus: up, admin down, no carrier, unknown operstate with carrier, missing', (t) => {
  const root = tmp(t);
  fakeLink(root, 'up0', { flags: '0x1003', operstate: 'up', carrier: '1' });
  fakeLink(root, 'adm0', { flags: '0x1002', operstate: 'down' });
  fakeLink(root, 'lld0', { flags: '0x1003', operstate: 'lowerlayerdown', carrier: '0' });
  fakeLink(root, 'dum0', { flags: '0x83', operstate: 'unknown', carrier: '1' });
  t.true(readLinkStatus('up0', root).up);
  t.like(readLinkStatus('adm0', root), { up: false, adminUp: false, carrier: undefined });
  t.like(readLinkStatus('lld0', root), { up: false, adminUp: true, operstate: 'lowerlayerdown' });
  t.true(readLinkStatus('dum0', root).up);
  t.like(readLinkStatus('nope0', root), { up: false, exists: false });
});

test('InterfaceTracker reports changes only', (t) => {
  const root = tmp(t);
  fakeLink(root, 'eth0', { flags: '0x1003', operstate: 'up', carrier: '1' });
  const changes: InterfaceChange[] = [];
  const tr = new InterfaceTracker({ iface: 'eth0', sysfsRoot: root, onChange: (c) => changes.push(c) });
  t.true(tr.up);
  tr.poll();
  fakeLink(root, 'eth0', { flags: '0x1003', operstate: 'down', carrier: '0' });
  tr.poll();
  tr.poll();
  rmSync(join(root, 'eth0'), { recursive: true });
  tr.poll();
  fakeLink(root, 'eth0', { flags: '0x1003', operstate: 'up', carrier: '1' });
  tr.poll();
  t.deepEqual(
    changes.map((c) => [c.up, c.reason]),
    [
      [false, 'eth0: operstate down, carrier 0'],
      [true, 'eth0: operstate up, carrier 1'],
    ],
  );
});

test('countProcesses on a fake /proc: comm, argv0 basename, params modes, quorum', async (t) => {
  const root = tmp(t);
  const proc = (pid: number, comm: string, argv: string[]): void => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
    writeFileSync(join(root, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
  };
  proc(10, 'haproxy', ['/usr/sbin/haproxy', '-f', '/etc/haproxy/haproxy.cfg']);
  proc(11, 'haproxy', ['/usr/sbin/haproxy', '-f', '/etc/haproxy/other.cfg']);
  proc(12, 'node', ['node', 'lb/main.ts', '-f', 'x.cfg']);
  proc(13, 'averyverylongna', ['/opt/averyverylongname', 'x']);
  mkdirSync(join(root, 'self'));
  t.is(await countProcesses({ name: 'haproxy', procRoot: root }), 2);
  t.is(await countProcesses({ name: 'haproxy', params: ['-f', '/etc/haproxy/haproxy.cfg'], procRoot: root }), 1);
  t.is(await countProcesses({ name: 'haproxy', params: ['-f'], paramMatch: 'exact', procRoot: root }), 0);
  t.is(await countProcesses({ name: 'haproxy', params: ['/etc/haproxy/other.cfg'], paramMatch: 'partial', procRoot: root }), 1);
  t.is(await countProcesses({ name: '/usr/sbin/haproxy', procRoot: root }), 2);
  t.is(await countProcesses({ name: 'node', params: ['lb/main.ts'], procRoot: root }), 1);
  t.is(await countProcesses({ name: 'averyverylongname', procRoot: root }), 1);
  t.is(await countProcesses({ name: 'nginx', procRoot: root }), 0);
  const quorum = new ProcessTracker({ name: 'haproxy', procRoot: root, quorum: 3 });
  t.false(await quorum.scan());
  const max = new ProcessTracker({ name: 'haproxy', procRoot: root, quorumMax: 1 });
  t.false(await max.scan());
});

test('real /proc: a uniquely named process is seen, then its death is reported', async (t) => {
  const dir = tmp(t);
  const name = `hps${process.pid.toString(36)}${Math.floor(Math.random() * 1e4)}`.slice(0, 15);
  const bin = join(dir, name);
  copyFileSync('/bin/sleep', bin);
  const child = spawn(bin, ['30'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  await new Promise((resolve) => child.once('spawn', resolve));
  const changes: ProcessChange[] = [];
  const tr = new ProcessTracker({ name, onChange: (c) => changes.push(c) });
  t.true(await tr.scan());
  t.is(tr.count, 1);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.false(await tr.scan());
  t.like(changes, [{ up: false, count: 0 }]);
});

test('delayMs: a change must persist before it is reported', async (t) => {
  const root = tmp(t);
  mkdirSync(join(root, '50'));
  writeFileSync(join(root, '50', 'comm'), 'lb\n');
  const changes: ProcessChange[] = [];
  const tr = new ProcessTracker({ name: 'lb', procRoot: root, delayMs: 80, onChange: (c) => changes.push(c) });
  t.true(await tr.scan());
  rmSync(join(root, '50'), { recursive: true });
  t.true(await tr.scan(), 'not yet: within delay');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.false(await tr.scan());
  t.is(changes.length, 1);
});

const skip = netnsUnavailableReason();
if (skip === undefined) {
  test('netns: the interface tracker sees carrier loss when the switch port goes down', async (t) => {
    const lab = await NetnsLab.create(t);
    const sw = await lab.addSwitch();
    const a = await lab.addNs('a');
    const port = await lab.plug(sw, a, { address: '198.18.2.1/24' });
    const child = lab.spawn(a, [process.execPath, join(import.meta.dirname, 'fixtures', 'iface-watch.ts'), 'eth0']);
    const lines = new ChildLines(child);
    t.like(await lines.waitFor((l) => l.ev === 'initial', 10_000), { up: true });
    const t0 = performance.now();
    await lab.exec(sw.ns, ['ip', 'link', 'set', port, 'down']);
    const down = await lines.waitFor((l) => l.ev === 'change' && l.up === false);
    t.regex(String(down.reason), /^eth0: operstate (down|lowerlayerdown), carrier 0$/);
    t.true(performance.now() - t0 < 1000);
    await lab.exec(sw.ns, ['ip', 'link', 'set', port, 'up']);
    await lines.waitFor((l) => l.ev === 'change' && l.up === true);
    await lab.exec(a, ['ip', 'link', 'set', 'eth0', 'down']);
    t.like(await lines.waitFor((l) => l.ev === 'change' && l.up === false && String(l.reason).includes('administratively')), { up: false });
  });
} else {
  test.skip(`netns: interface tracker — SKIPPED: ${skip}`, () => {});
}
