import test from 'ava';
import { FakeRunner, HaEdgeError, ProcessRunner, inNetns } from '../../../ha-agent/runner.ts';
import { VipManager, defaultLabel, parseIpJson, type VipSpec } from '../../../ha-agent/vip.ts';
import { NetnsLab, netnsUnavailableReason } from '../../helpers/netns.ts';

const VIP: VipSpec = { address: '198.18.0.100', prefix: 24, dev: 'eth0', label: 'eth0:VI_1' };

function ipJson(addrs: { local: string; prefixlen: number; label?: string; secondary?: boolean }[]): string {
  return JSON.stringify([{ ifname: 'eth0', addr_info: addrs.map((a) => ({ family: 'inet', scope: 'global', ...a })) }]);
}

test('add and remove use exact ip argv with label, C locale and a timeout', async (t) => {
  const fake = new FakeRunner();
  const vm = new VipManager({ runner: fake, vips: [VIP, { address: '198.18.0.101', prefix: 32, dev: 'eth1' }] });
  t.deepEqual(
    (await vm.add()).map((r) => r.outcome),
    ['added', 'added'],
  );
  t.deepEqual((await vm.remove()).map((r) => r.outcome), ['removed', 'removed']);
  t.deepEqual(fake.argv, [
    ['ip', 'addr', 'add', '198.18.0.100/24', 'dev', 'eth0', 'label', 'eth0:VI_1'],
    ['ip', 'addr', 'add', '198.18.0.101/32', 'dev', 'eth1'],
    ['ip', 'addr', 'del', '198.18.0.100/24', 'dev', 'eth0'],
    ['ip', 'addr', 'del', '198.18.0.101/32', 'dev', 'eth1'],
  ]);
  t.is(fake.calls[0]?.options.env?.LC_ALL, 'C');
  t.is(fake.calls[0]?.options.timeoutMs, 5000);
});

test('add/remove are idempotent for both iproute2 wordings; other errors are failures', async (t) => {
  const answers = [
    { code: 2, stderr: 'Error: ipv4: Address already assigned.\n' },
    { code: 2, stderr: 'RTNETLINK answers: File exists\n' },
    { code: 1, stderr: 'Cannot find device "eth0"\n' },
    { code: 2, stderr: 'Error: ipv4: Address not found.\n' },
    { code: 2, stderr: 'RTNETLINK answers: Cannot assign requested address\n' },
    { code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' },
  ];
  const fake = new FakeRunner(() => answers.shift() ?? {});
  const logs: string[] = [];
  const vm = new VipManager({ runner: fake, vips: [VIP], log: (l) => logs.push(l) });
  t.is((await vm.add())[0]?.outcome, 'present');
  t.is((await vm.add())[0]?.outcome, 'present');
  const failed = (await vm.add())[0];
  t.is(failed?.outcome, 'failed');
  t.regex(failed?.detail ?? '', /Cannot find device/);
  t.is((await vm.remove())[0]?.outcome, 'absent');
  t.is((await vm.remove())[0]?.outcome, 'absent');
  t.is((await vm.remove())[0]?.outcome, 'failed');
  t.is(logs.length, 2);
});

test('hasVip reads ip -j addr show once per device', async (t) => {
  const fake = new FakeRunner(() => ({ stdout: ipJson([{ local: '198.18.0.1', prefixlen: 24, label: 'eth0' }, { local: '198.18.0.100', prefixlen: 24, label: 'eth0:VI_1', secondary: true }]) }));
  const vm = new VipManager({ runner: fake, vips: [VIP, { ...VIP, address: '198.18.0.1', label: 'eth0:x' }] });
  t.true(await vm.hasVip());
  t.deepEqual(fake.argv, [['ip', '-j', 'addr', 'show', 'dev', 'eth0']]);
  fake.respond(() => ({ stdout: ipJson([{ local: '198.18.0.1', prefixlen: 24 }]) }));
  t.false(await vm.hasVip(VIP));
  fake.respond(() => ({ code: 1, stderr: 'Device "eth0" does not exist.' }));
  await t.throwsAsync(vm.hasVip(), { instanceOf: HaEdgeError, message: /does not exist/ });
});

test('removeLeftover deletes configured VIPs and our labels, keeps a primary owner address', async (t) => {
  const fake = new FakeRunner(({ args }) =>
    args[0] === '-j'
      ? {
          stdout: ipJson([
            { local: '198.18.0.1', prefixlen: 24, label: 'eth0' },
            { local: '198.18.0.100', prefixlen: 32, label: 'eth0', secondary: true },
            { local: '198.18.0.77', prefixlen: 24, label: 'eth0:VI_1', secondary: true },
            { local: '198.18.0.9', prefixlen: 24, label: 'eth0:other', secondary: true },
          ]),
        }
      : {},
  );
  const vm = new VipManager({ runner: fake, vips: [VIP, { address: '198.18.0.1', prefix: 24, dev: 'eth0' }] });
  const res = await vm.removeLeftover();
  t.deepEqual(
    res.map((r) => [r.vip.address, r.outcome]),
    [
      ['198.18.0.1', 'present'],
      ['198.18.0.100', 'removed'],
      ['198.18.0.77', 'removed'],
    ],
  );
  t.deepEqual(fake.argv.slice(1), [
    ['ip', 'addr', 'del', '198.18.0.100/32', 'dev', 'eth0'],
    ['ip', 'addr', 'del', '198.18.0.77/24', 'dev', 'eth0'],
  ]);
});

test('garpBurst starts repeat arping -U processes per IPv4 VIP', async (t) => {
  const fake = new FakeRunner(({ args }) => (args.includes('198.18.0.101') ? { code: 2, stderr: 'arping: Device eth1 not available.' } : {}));
  const vm = new VipManager({
    runner: fake,
    vips: [VIP, { address: '198.18.0.101', prefix: 32, dev: 'eth1' }, { address: '2001:db8::1', prefix: 64, dev: 'eth0' }],
    garp: { repeat: 3 },
  });
  const r = await vm.garpBurst();
  t.deepEqual(r, { sent: 3, failed: 3 });
  t.deepEqual(fake.argv.slice(0, 4), [
    ['arping', '-U', '-c', '1', '-I', 'eth0', '198.18.0.100'],
    ['arping', '-U', '-c', '1', '-I', 'eth0', '198.18.0.100'],
    ['arping', '-U', '-c', '1', '-I', 'eth0', '198.18.0.100'],
    ['arping', '-U', '-c', '1', '-I', 'eth1', '198.18.0.101'],
  ]);
  t.is(fake.calls.length, 6);
});

test('garp bursts are started without waiting for the previous arping to exit', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const fake = new FakeRunner(async () => {
    await gate;
    return {};
  });
  const vm = new VipManager({ runner: fake, vips: [VIP], garp: { repeat: 5 } });
  const p = vm.garpBurst();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(fake.calls.length, 5, 'all five started while none has exited');
  release();
  t.deepEqual(await p, { sent: 5, failed: 0 });
});

test('startGarp: burst now, second burst after delay, refresh until stopGarp', async (t) => {
  const fake = new FakeRunner();
  const vm = new VipManager({ runner: fake, vips: [VIP], garp: { repeat: 2, delayMs: 60, refreshMs: 40, refreshRepeat: 1 } });
  t.deepEqual(await vm.startGarp(), { sent: 2, failed: 0 });
  t.is(fake.calls.length, 2);
  // 2 (first) + 2 (second burst at 60 ms) + refreshes of 1 every 40 ms: 7 calls by ~120 ms.
  const end = performance.now() + 3000;
  while (fake.calls.length < 7 && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
  t.true(fake.calls.length >= 7, `calls: ${fake.calls.length}`);
  vm.stopGarp();
  await vm.close();
  const after = fake.calls.length;
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.is(fake.calls.length, after, 'no GARP after stopGarp');
});

test('startGarp with delay 0 and refresh 0 sends one burst only', async (t) => {
  const fake = new FakeRunner();
  const vm = new VipManager({ runner: fake, vips: [VIP], garp: { repeat: 3, delayMs: 0, refreshMs: 0 } });
  await vm.startGarp();
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(fake.calls.length, 3);
  await vm.close();
});

test('label must start with the device and fit 15 characters', (t) => {
  t.throws(() => new VipManager({ runner: new FakeRunner(), vips: [{ ...VIP, label: 'eth1:x' }] }), { instanceOf: HaEdgeError });
  t.throws(() => new VipManager({ runner: new FakeRunner(), vips: [{ ...VIP, label: 'eth0:0123456789ab' }] }), { instanceOf: HaEdgeError });
  t.is(defaultLabel('eth0', 'VI_1'), 'eth0:VI_1');
  t.is(defaultLabel('enp0s31f6', 'web frontend').length, 15);
});

test('parseIpJson tolerates garbage fields and rejects non-JSON', (t) => {
  t.deepEqual(parseIpJson('[{"addr_info":[{"family":"inet","local":"198.18.0.5","prefixlen":24},{"family":"x"},7]},3]'), [
    { family: 'inet', local: '198.18.0.5', prefixlen: 24, secondary: false },
  ]);
  t.deepEqual(parseIpJson(''), []);
  t.throws(() => parseIpJson('Device not found'), { instanceOf: HaEdgeError });
});

// ---------------------------------------------------------------------------------------------
// Real kernel: two namespaces on a switch; B accepts gratuitous ARP into its neighbour table.

const skip = netnsUnavailableReason();

if (skip === undefined) {
  test('netns: add, detect, GARP reaches the peer, remove, leftover cleanup', async (t) => {
    const lab = await NetnsLab.create(t);
    const sw = await lab.addSwitch();
    const a = await lab.addNode('a', sw, '198.18.0.1/24');
    const b = await lab.addNode('b', sw, '198.18.0.2/24');
    await lab.sysctl(b, 'net.ipv4.conf.all.arp_accept', '1');
    await lab.sysctl(b, 'net.ipv4.conf.eth0.arp_accept', '1');
    const runner = inNetns(new ProcessRunner(), a);
    const vip: VipSpec = { address: '198.18.0.100', prefix: 24, dev: 'eth0', label: 'eth0:VI_1' };
    const vm = new VipManager({ runner, vips: [vip], garp: { repeat: 2, delayMs: 0 } });

    t.false(await vm.hasVip());
    t.deepEqual((await vm.add()).map((r) => r.outcome), ['added']);
    t.deepEqual((await vm.add()).map((r) => r.outcome), ['present']);
    t.true(await vm.hasVip());
    const addrs = await vm.addresses('eth0');
    t.is(addrs.find((x) => x.local === '198.18.0.100')?.label, 'eth0:VI_1');

    const neighBefore = await lab.exec(b, ['ip', 'neigh', 'show', '198.18.0.100']);
    t.is(neighBefore.stdout.trim(), '');
    t.deepEqual(await vm.garpBurst(), { sent: 2, failed: 0 });
    const mac = (await lab.exec(a, ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    const neigh = await lab.exec(b, ['ip', 'neigh', 'show', '198.18.0.100']);
    t.regex(neigh.stdout, new RegExp(`lladdr ${mac}`), 'B learned the VIP at A\'s MAC from the GARP');

    t.deepEqual((await vm.remove()).map((r) => r.outcome), ['removed']);
    t.deepEqual((await vm.remove()).map((r) => r.outcome), ['absent']);
    t.false(await vm.hasVip());

    // A crashed run left the VIP (with our label): removeLeftover cleans it, keeps the real address.
    await lab.exec(a, ['ip', 'addr', 'add', '198.18.0.100/24', 'dev', 'eth0', 'label', 'eth0:VI_1']);
    const left = await vm.removeLeftover();
    t.deepEqual(left.map((r) => r.outcome), ['removed']);
    t.false(await vm.hasVip());
    const remaining = await vm.addresses('eth0');
    t.true(remaining.some((x) => x.local === '198.18.0.1'));
  });
} else {
  test.skip(`netns: VIP add/remove/GARP in namespaces — SKIPPED: ${skip}`, () => {});
}
