// The transition-path helpers (ha-agent/net/ip-batch.ts, ha-agent/net/garp.ts) against the real
// kernel in namespaces, and VipManager using them: no process per `ip addr` or per GARP.
import test from 'ava';
import { PerlGarpSender } from '../../../ha-agent/net/garp.ts';
import { IP_BATCH_MARKER, IpBatch } from '../../../ha-agent/net/ip-batch.ts';
import { FakeRunner, ProcessRunner, inNetns } from '../../../ha-agent/runner.ts';
import { VipManager, type VipSpec } from '../../../ha-agent/vip.ts';
import { NetnsLab, netnsUnavailableReason } from '../../helpers/netns.ts';

const VIP: VipSpec = { address: '198.18.0.100', prefix: 24, dev: 'eth0', label: 'eth0:VI_1' };

test('ip batch: an unusable command line is refused without reaching ip', async (t) => {
  const b = new IpBatch({ command: ['/nonexistent/ip'] });
  const r = await b.exec(['addr', 'add', 'x"y', 'dev', 'eth0']);
  t.regex(r.spawnError ?? '', /unsupported character/);
  t.is(r.code, null);
  await b.close();
});

test('ip batch: a dead helper resolves pending commands as spawn errors; VipManager falls back to the runner', async (t) => {
  const b = new IpBatch({ command: ['/nonexistent/ip'], log: () => {} });
  const r = await b.exec(['addr', 'add', '198.18.0.100/24', 'dev', 'eth0']);
  t.is(r.spawnError, 'batch-exited');
  const fake = new FakeRunner();
  const logs: string[] = [];
  const vm = new VipManager({ runner: fake, vips: [VIP], ipExec: b, log: (l) => logs.push(l) });
  t.deepEqual((await vm.add()).map((x) => x.outcome), ['added']);
  t.deepEqual(fake.argv, [['ip', 'addr', 'add', '198.18.0.100/24', 'dev', 'eth0', 'label', 'eth0:VI_1']]);
  t.true(logs.some((l) => l.includes('ip batch helper unavailable')));
  await b.close();
});

test('GARP helper unavailable (no perl): VipManager uses arping -U, spaced', async (t) => {
  const g = new PerlGarpSender({ command: ['/nonexistent/perl'], log: () => {} });
  t.false(await g.start());
  t.false(g.available);
  const fake = new FakeRunner();
  const vm = new VipManager({ runner: fake, vips: [VIP], garp: { repeat: 2, intervalMs: 0 }, garpSender: g });
  const started = performance.now();
  t.deepEqual(await vm.garpBurst(), { sent: 2, failed: 0 });
  t.true(performance.now() - started >= 15, 'arping processes are spaced when the helper is down');
  t.deepEqual(fake.argv, [
    ['arping', '-U', '-c', '1', '-I', 'eth0', '198.18.0.100'],
    ['arping', '-U', '-c', '1', '-I', 'eth0', '198.18.0.100'],
  ]);
  await g.close();
});

const skip = netnsUnavailableReason();

if (skip === undefined) {
  test('netns: ip batch adds, detects duplicates and removes; commands complete in order', async (t) => {
    const lab = await NetnsLab.create(t);
    const sw = await lab.addSwitch();
    const a = await lab.addNode('a', sw, '198.18.0.1/24');
    const b = new IpBatch({ command: ['ip', 'netns', 'exec', a, 'ip', '-force', '-batch', '-'] });
    t.teardown(() => b.close());
    b.start();
    const add = ['addr', 'add', '198.18.0.100/24', 'dev', 'eth0', 'label', 'eth0:VI_1'];
    const del = ['addr', 'del', '198.18.0.100/24', 'dev', 'eth0'];
    // Pipelined: all written at once, answers matched to their own command.
    const [r1, r2, r3, r4, r5] = await Promise.all([b.exec(add), b.exec(add), b.exec(del), b.exec(del), b.exec(['addr', 'add', '198.18.0.101/24', 'dev', 'nosuch0'])]);
    t.is(r1?.code, 0);
    t.is(r2?.code, 2);
    t.regex(r2?.stderr ?? '', /already assigned|File exists/);
    t.is(r3?.code, 0);
    t.is(r4?.code, 2);
    t.regex(r4?.stderr ?? '', /not found|Cannot assign/);
    t.is(r5?.code, 2);
    t.regex(r5?.stderr ?? '', /nosuch0/);
    t.notRegex(`${r2?.stderr ?? ''}${r4?.stderr ?? ''}${r5?.stderr ?? ''}`, new RegExp(IP_BATCH_MARKER), 'marker errors are not reported');
    const shown = await lab.exec(a, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
    t.notRegex(shown.stdout, /198\.18\.0\.100/);
  });

  test('netns: VipManager with both helpers: VIP added, GARP reaches the peer at our MAC, removed; no arping', async (t) => {
    const lab = await NetnsLab.create(t);
    const sw = await lab.addSwitch();
    const a = await lab.addNode('a', sw, '198.18.0.1/24');
    const b = await lab.addNode('b', sw, '198.18.0.2/24');
    await lab.sysctl(b, 'net.ipv4.conf.all.arp_accept', '1');
    await lab.sysctl(b, 'net.ipv4.conf.eth0.arp_accept', '1');
    const ipExec = new IpBatch({ command: ['ip', 'netns', 'exec', a, 'ip', '-force', '-batch', '-'] });
    const garp = new PerlGarpSender({ command: ['ip', 'netns', 'exec', a, 'perl'] });
    t.teardown(async () => {
      await ipExec.close();
      await garp.close();
    });
    ipExec.start();
    t.true(await garp.start(), 'perl holds an AF_PACKET socket (root)');
    const runner = inNetns(new ProcessRunner(), a);
    const recorded: string[] = [];
    const vm = new VipManager({
      runner: { run: (f, args, o) => (recorded.push([f, ...args].join(' ')), runner.run(f, args, o)) },
      vips: [VIP], garp: { repeat: 3, delayMs: 0 }, ipExec, garpSender: garp,
    });
    t.deepEqual((await vm.add()).map((r) => r.outcome), ['added']);
    t.deepEqual((await vm.add()).map((r) => r.outcome), ['present']);
    t.true(await vm.hasVip());
    t.is((await vm.addresses('eth0')).find((x) => x.local === VIP.address)?.label, 'eth0:VI_1');
    t.is((await lab.exec(b, ['ip', 'neigh', 'show', VIP.address])).stdout.trim(), '');
    t.deepEqual(await vm.garpBurst(), { sent: 3, failed: 0 });
    const mac = (await lab.exec(a, ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    const neigh = await lab.exec(b, ['ip', 'neigh', 'show', VIP.address]);
    t.regex(neigh.stdout, new RegExp(`lladdr ${mac}`), "B learned the VIP at A's MAC from the helper's GARP");
    t.false(await garp.send('nosuch0', VIP.address), 'unknown interface: not sent');
    t.deepEqual((await vm.remove()).map((r) => r.outcome), ['removed']);
    t.deepEqual((await vm.remove()).map((r) => r.outcome), ['absent']);
    t.false(recorded.some((c) => c.startsWith('arping')), 'no arping process');
    t.false(recorded.some((c) => / addr (add|del) /.test(` ${c} `)), `no ip addr add/del process: ${recorded.join('; ')}`);
  });
} else {
  test.skip(`netns: ip batch and GARP helpers — SKIPPED: ${skip}`, () => {});
}
