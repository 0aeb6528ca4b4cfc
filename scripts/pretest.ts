// `npm test` runs this first: install the system packages the tests need, when we can.
// Why: tests drive real haproxy/keepalived (differential tests), socat (runtime API), curl, arping
// and iproute2 (namespaces, VIPs). As root we apt-get what is missing; otherwise we say loudly which
// tests will skip (each such test also prints its own reason).
import { spawnSync } from 'node:child_process';

const NEEDED: ReadonlyArray<{ pkg: string; bin: string }> = [
  { pkg: 'haproxy', bin: 'haproxy' },
  { pkg: 'keepalived', bin: 'keepalived' },
  { pkg: 'socat', bin: 'socat' },
  { pkg: 'curl', bin: 'curl' },
  { pkg: 'iproute2', bin: 'ip' },
  { pkg: 'iputils-arping', bin: 'arping' },
  { pkg: 'psmisc', bin: 'killall' },
  { pkg: 'docker-compose', bin: 'docker-compose' },
  { pkg: 'chromium', bin: 'chromium' },
  { pkg: 'openssl', bin: 'openssl' },
];

function has(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDED.filter((n) => !has(n.bin));
if (missing.length === 0) process.exit(0);
const names = missing.map((m) => m.pkg);
if (process.getuid?.() !== 0) {
  console.error(`\n*** pretest: NOT ROOT, cannot install ${names.join(' ')}; the tests that need them will SKIP ***\n`);
  process.exit(0);
}
console.error(`pretest: installing ${names.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
let r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { stdio: 'inherit', env });
if (r.status !== 0) {
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { stdio: 'inherit', env });
}
if (r.status !== 0) {
  console.error(`\n*** pretest: apt-get could not install ${names.join(' ')}; the tests that need them will SKIP ***\n`);
}
