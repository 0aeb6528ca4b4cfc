// Fills Node's compile cache for the running lb at install time (npm's postinstall).
// Why: Node strips the types of the .ts sources with a WASM compiler that then stays resident
// (+20-25 MiB RSS for the life of the process); the compile cache also holds the stripped
// sources, so a process that finds them there never loads the compiler. The cache is keyed by
// V8 flags, so this runs with the flags bin/launch.js gives a running lb, and imports every
// module of lb/ (some are loaded lazily). It never fails the install: any error is reported and
// ignored (lb then fills the cache on its first run).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileCacheDir, v8FlagsFor } from '../bin/launch.js';

try {
  const root = join(import.meta.dirname, '..');
  const mod = (await import('node:module')).default;
  const r = mod.enableCompileCache?.(compileCacheDir(root));
  const files = readdirSync(join(root, 'lb'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of files) await import(pathToFileURL(join(root, 'lb', f)).href);
  mod.flushCompileCache?.();
  const daemon = process.env.HAPAIR_WARM_PHASE === 'daemon';
  process.stdout.write(`compile cache${daemon ? ' (running lb)' : ' (lb -c, hactl, ...)'}: ${files.length} lb modules in ${r?.directory ?? '(not enabled)'}\n`);
  // Second pass with the running lb's V8 flags: they key a cache of their own.
  const flags = v8FlagsFor('lb/main.ts', ['-d'], {});
  if (!daemon && flags.length > 0 && typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...flags, process.argv[1]], { ...process.env, HAPAIR_WARM_PHASE: 'daemon' });
  }
} catch (err) {
  process.stderr.write(`compile cache not filled (lb fills it on its first run): ${err instanceof Error ? err.message : String(err)}\n`);
}
