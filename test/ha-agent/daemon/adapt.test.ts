// Config model → fsm params, transport, VIPs, tracks, auth, identity (ha-agent/adapt.ts).
import test from 'ava';
import { adaptInstance, trackOk } from '../../../ha-agent/adapt.ts';
import { parseConfig } from '../../../ha-agent/config.ts';
import type { ConfigSource } from '../../../ha-agent/config.ts';

const KEY = '/etc/k/key';
const source: ConfigSource = {
  readFile: () => {
    throw new Error('no includes');
  },
  glob: () => [],
  stat: (p) => (p === KEY ? { size: 16, mode: 0o100600, isFile: true } : undefined),
};

function plan(text: string, readKey = (): Buffer => Buffer.from('0123456789abcdef')) {
  const r = parseConfig('/etc/k/main.conf', text, { configId: 'x', interfaces: null, source });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join('\n'));
  const inst = r.config.instances[0];
  if (inst === undefined) throw new Error('no instance');
  return adaptInstance(inst, r.config, { readKey });
}

const SCRIPTS = `
vrrp_script up {
  script "/bin/up"
  interval 0.2
  weight 10
}
vrrp_script down {
  script "/bin/down"
  weight -20
}
vrrp_script fatal {
  script "/bin/fatal"
  init_fail
}
vrrp_script rev {
  script "/bin/rev"
  weight 5 reverse
}
`;

test('the seed-like instance: params in ms, tracks with keepalived weights, default label, multicast', (t) => {
  const p = plan(`${SCRIPTS}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 101
  advert_int 0.1
  authentication {
    auth_type PASS
    auth_pass mysecret
  }
  virtual_ipaddress {
    198.18.0.100/24
    198.18.0.101/24 dev eth1 label eth1:web
  }
  track_script {
    up
    down weight -30
    fatal
    rev
  }
  track_interface {
    eth1
    eth2 weight -7
  }
}`);
  t.like(p.params, { name: 'VI_1', vrid: 51, priority: 101, advertIntervalMs: 100, initialState: 'MASTER', nopreempt: false, preemptDelayMs: 0 });
  t.deepEqual(p.params.tracks, [
    { name: 'up', weight: 10, initiallyOk: true },
    // The weight in track_script overrides the vrrp_script's.
    { name: 'down', weight: -30, initiallyOk: true },
    // No weight: failure → FAULT (weight 0); init_fail: failing until the first success.
    { name: 'fatal', weight: 0, initiallyOk: false },
    // reverse: same trigger, opposite sign: 5 reverse = −5 while the script succeeds.
    { name: 'rev', weight: -5, initiallyOk: false },
    { name: 'if:eth1', weight: 0, initiallyOk: true },
    { name: 'if:eth2', weight: -7, initiallyOk: true },
  ]);
  t.true(trackOk(false, true));
  t.is(p.scripts.find((s) => s.track === 'up')?.script.intervalMs, 200);
  t.deepEqual(p.vips, [
    { address: '198.18.0.100', prefix: 24, dev: 'eth0', label: 'eth0:VI_1' },
    { address: '198.18.0.101', prefix: 24, dev: 'eth1', label: 'eth1:web' },
  ]);
  t.deepEqual(p.vipSet, ['198.18.0.100/24', '198.18.0.101/24']);
  t.deepEqual(p.transport, { kind: 'udp-multicast', iface: 'eth0', group: '224.0.0.18', port: 7112 });
  t.deepEqual(p.auth, { type: 'pass', password: 'mysecret' });
  t.true(p.trackPrimary);
  t.like(p.garp, { delayMs: 5000, repeat: 5, refreshMs: 0 });
});

const UNI = (prio: number, extra = '') => `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 7
  priority ${prio}
  advert_int 1
  nopreempt
  unicast_src_ip 198.18.0.2
  unicast_peer {
    198.18.0.1
  }
  authentication {
    auth_type HMAC
    auth_key_file ${KEY}
  }
  virtual_ipaddress {
    198.18.0.100/24
  }
  notify_master "/bin/m arg"
${extra}
}`;

test('unicast + HMAC: the key is read from the file; identity ignores priority but not the VIP set', (t) => {
  const p = plan(UNI(100));
  t.deepEqual(p.transport, { kind: 'udp-unicast', iface: 'eth0', srcIp: '198.18.0.2', peers: ['198.18.0.1'], port: 7112 });
  t.is(p.auth.type, 'hmac');
  t.true(p.auth.type === 'hmac' && p.auth.key.equals(Buffer.from('0123456789abcdef')));
  t.true(p.params.nopreempt);
  t.deepEqual(p.notify, { master: ['/bin/m', 'arg'] });
  t.is(plan(UNI(90)).identity, p.identity);
  t.not(plan(UNI(255)).identity, p.identity, 'becoming the address owner is an identity change');
  const moreVips = plan(UNI(100).replace('198.18.0.100/24\n', '198.18.0.100/24\n    198.18.0.102/24\n'));
  t.not(moreVips.identity, p.identity);
  t.throws(() => plan(UNI(100), () => {
    throw new Error('EACCES');
  }), { code: 'ERR_HA_ADAPT', message: /cannot read auth_key_file/ });
  t.false(plan(UNI(100, '  dont_track_primary\n')).trackPrimary);
});
