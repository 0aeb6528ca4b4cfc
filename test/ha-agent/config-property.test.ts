// Property: the keepalived.conf tokenizer and parser never throw on arbitrary input, and every
// diagnostic names a line inside the file.
import test from 'ava';
import * as fc from 'fast-check';
import { parseConfig } from '../../ha-agent/config.ts';
import type { ConfigSource } from '../../ha-agent/config.ts';

// Includes resolve to nothing: fuzzing must never touch the disk.
const noFiles: ConfigSource = {
  readFile: () => {
    throw Object.assign(new Error('no files in fuzzing'), { code: 'ENOENT' });
  },
  glob: () => [],
  stat: () => undefined,
};

const WORDS = [
  'vrrp_instance', 'vrrp_script', 'global_defs', 'VI_1', 'chk', '{', '}', '"', '#', '!', 'state', 'MASTER', 'BACKUP',
  'interface', 'eth0', 'virtual_router_id', '51', 'priority', '255', '0', '-1', 'advert_int', '0.1', 'virtual_ipaddress',
  '10.0.0.1/24', 'dev', 'label', 'eth0:1', 'track_script', 'weight', 'reverse', 'authentication', 'auth_type', 'HMAC',
  'PASS', 'auth_pass', 'auth_key_file', 'unicast_peer', 'transport', 'udp-unicast', 'include', '*.conf', '$X=1', '$X',
  '${X}', '@nodeA', '@^nodeA', 'script', 'notify_master', 'nopreempt', 'preempt_delay', 'vrrp_sync_group', '\n', '\t', ' ',
];

const configText = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.array(fc.constantFrom(...WORDS), { maxLength: 120 }).map((ws) => ws.join(' ')),
  fc.array(fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }).map((ws) => ws.join(' ')), { maxLength: 40 }).map((ls) => ls.join('\n')),
);

test('parser never throws and every diagnostic is on a line of the file', (t) => {
  fc.assert(
    fc.property(configText, (text) => {
      const r = parseConfig('fuzz.conf', text, { configId: 'nodeA', interfaces: null, source: noFiles });
      const lines = text.split('\n').length;
      for (const d of r.diagnostics) {
        if (d.file !== 'fuzz.conf' || !Number.isInteger(d.line) || d.line < 1 || d.line > lines) return false;
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
