// The two-node drill's compose file must stay valid, and the configs it mounts must pass our own
// checkers. No Docker engine runs on CI machines, so the compose file is validated offline with
// `docker-compose config -q` (Debian's v1 package, installed by pretest/.ci/run).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const hasCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;

if (hasCompose) {
  test('docker/docker-compose.yml is a valid compose file', (t) => {
    const r = spawnSync('docker-compose', ['-f', join(root, 'docker', 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
  });
} else {
  test.skip('docker/docker-compose.yml is a valid compose file (SKIPPED: docker-compose is not installed; run as root so pretest can apt-get it)', () => {});
  console.error('*** test/docker: docker-compose missing, compose validation SKIPPED ***');
}
