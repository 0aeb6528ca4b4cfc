// `lb` command line, with haproxy's flags: `-c` (check) and `-f cfg [-d]` (run the proxy in the
// foreground until SIGTERM/SIGINT). Daemon, master-worker and reloads are later issues.
//
// Output and exit codes mirror haproxy 2.6 `-c`:
//   valid            → stdout "Configuration file is valid", exit 0 (with "Warnings were found." first
//                      on stderr... haproxy prints it on stdout; we do too)
//   errors           → every diagnostic on stderr, then "Error(s) found in configuration file : F"
//                      per file with an alert and "Fatal errors found in configuration.", exit 1
//   no listener      → "Configuration file has no error but will not start (no listener) => exit(2).", exit 2
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LB_ERROR_CODES, LbError } from './errors.ts';
import type { ConfigSource } from './config/parser.ts';
import { errnoCode } from './config/sections/common.ts';

// Why lazy imports: Node strips TypeScript types of every module it loads (the compile cache, enabled
// by bin/launch.js, only saves part of it), so each mode loads only what it needs: `-v` the version
// constant, `-c` the parser, the run mode the parser and the running proxy (lb/proxy/runtime.ts and
// its data path, TLS, checks, stats, logs). This file keeps its static imports minimal.

export const LB_VERSION = '0.1.0';

export interface CliOptions {
  files: string[];
  check: boolean;
  quiet: boolean;
  verbose: boolean;
  version: 0 | 1 | 2;
  debug: boolean;
  masterWorker: boolean;
  masterSocket?: string;
  pidfile?: string;
  softStop: number[];
  hardStop: number[];
  daemon: boolean;
}

const USAGE = `Usage : lb [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -c ] [ -q ] [ -W ] [ -S <socket> ] [ -p <pidfile> ] [ -sf/-st <pid>* ]
        -v displays version ; -vv shows known build options.
        -f <cfgfile|cfgdir> adds <cfgfile> to the list of configuration files to be loaded
        -c check mode : only check config files and exit
        -q quiet mode : don't display messages
        -d enters debug mode ; -W master-worker mode ; -S master CLI socket
        -p writes pids of all children to this file ; -D goes daemon
        -sf/-st [pid ]* finishes/terminates old pids.
`;

/** Parses haproxy-style arguments. Throws LbError(ERR_LB_USAGE) on a bad command line. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { files: [], check: false, quiet: false, verbose: false, version: 0, debug: false, masterWorker: false, softStop: [], hardStop: [], daemon: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new LbError(LB_ERROR_CODES.ERR_LB_USAGE, `option '${flag}' expects an argument`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    switch (a) {
      case '-f':
        o.files.push(value(i++, a));
        break;
      case '-c':
        o.check = true;
        break;
      case '-q':
        o.quiet = true;
        break;
      case '-V':
        o.verbose = true;
        break;
      case '-v':
        o.version = 1;
        break;
      case '-vv':
        o.version = 2;
        break;
      case '-d':
      case '-db':
      case '-dD':
      case '-dW':
        o.debug = true;
        break;
      case '-D':
        o.daemon = true;
        break;
      case '-W':
      case '-Ws':
        o.masterWorker = true;
        break;
      case '-S':
        o.masterSocket = value(i++, a);
        break;
      case '-p':
        o.pidfile = value(i++, a);
        break;
      case '-sf':
      case '-st': {
        const list = a === '-sf' ? o.softStop : o.hardStop;
        while (/^[0-9]+$/.test(argv[i + 1] ?? '')) list.push(Number(argv[++i]));
        break;
      }
      default:
        if (a.startsWith('-f') && a.length > 2) o.files.push(a.slice(2));
        else throw new LbError(LB_ERROR_CODES.ERR_LB_USAGE, `unknown option '${a}'`);
    }
  }
  return o;
}

/** Expands -f arguments: a directory contributes its *.cfg files in lexical order, like haproxy. */
export function expandConfigPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p)
      .filter((n) => n.endsWith('.cfg') && !n.startsWith('.'))
      .sort();
    for (const n of names) {
      const full = join(p, n);
      try {
        if (statSync(full).isFile()) out.push(full);
      } catch {
        // vanished between readdir and stat: skip like haproxy
      }
    }
  }
  return out;
}

async function versionText(level: 1 | 2): Promise<string> {
  const { HAPROXY_COMPAT_VERSION } = await import('./config/conditions.ts');
  const head = `lb version ${LB_VERSION} (HAProxy ${HAPROXY_COMPAT_VERSION} configuration compatible) - hapair\n`;
  if (level === 1) return head;
  return `${head}Running on: Node.js ${process.versions.node} ${process.platform} ${process.arch}\nImplemented: -c (configuration check), -f with -d (foreground proxy: mode tcp and http)\n`;
}

/** `lb -c`: returns the exit code and writes haproxy-shaped output. */
export async function checkConfig(files: readonly string[], opts: { quiet: boolean }, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { formatDiagnostic } = await import('./config/diagnostics.ts');
  const { hasListener, parseConfig } = await import('./config/parser.ts');
  const sources: ConfigSource[] = [];
  let readFailed = false;
  for (const f of expandConfigPaths(files)) {
    try {
      sources.push({ file: f, text: readFileSync(f, 'utf8') });
    } catch (e) {
      const why = errnoCode(e) === 'ENOENT' ? 'No such file or directory' : e instanceof Error ? e.message : String(e);
      err(`[ALERT] config : Could not open configuration file ${f} : ${why}\n`);
      readFailed = true;
    }
  }
  if (readFailed) return 1;
  const { model, diagnostics } = parseConfig(sources);
  const lines: string[] = [];
  const failedFiles = new Set<string>();
  for (const d of diagnostics.list) {
    if (d.severity === 'diag') continue;
    if (d.severity === 'alert' && d.file !== undefined) failedFiles.add(d.file);
    if (opts.quiet && d.severity !== 'alert') continue;
    lines.push(formatDiagnostic(d));
  }
  if (diagnostics.hasAlerts) {
    for (const f of failedFiles) lines.push(`[ALERT] config : Error(s) found in configuration file : ${f}`);
    lines.push('[ALERT] config : Fatal errors found in configuration.');
    err(lines.join('\n') + '\n');
    return 1;
  }
  if (lines.length > 0) err(lines.join('\n') + '\n');
  if (!hasListener(model)) {
    out('Configuration file has no error but will not start (no listener) => exit(2).\n');
    return 2;
  }
  if (!opts.quiet) out(`${diagnostics.hasWarnings ? 'Warnings were found.\n' : ''}Configuration file is valid\n`);
  return 0;
}

/**
 * `lb -f cfg [-d]`: provision → validate → start the runtime (lb/proxy/runtime.ts), then run until
 * SIGTERM/SIGINT, which stop it cleanly. Daemon mode and reloads are refused for now, saying so.
 */
async function runProxy(opts: CliOptions, err: (s: string) => void): Promise<number> {
  if (opts.daemon) {
    err('[ALERT] lb: -D (daemon mode) is not implemented yet; run in the foreground with -d (or under a supervisor)\n');
    return 1;
  }
  if (opts.masterWorker || opts.masterSocket !== undefined || opts.softStop.length > 0 || opts.hardStop.length > 0) {
    err('[ALERT] lb: master-worker mode (-W, -S) and reloads (-sf/-st) are not implemented yet (a later issue)\n');
    return 1;
  }
  // Signals first: a SIGTERM/SIGINT that arrives while the configuration is read or the listeners
  // are being bound must stop lb cleanly (exit 0 after stop()), not kill it with Node's default
  // action (exit 143). It is acted on once start() has settled, so that stop() also releases what
  // start() was binding at that moment; stop() works after a partial start.
  let signalled: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (sig: string): void => {
    if (signalled !== undefined) return;
    signalled = sig;
    // A second SIGTERM/SIGINT while stopping gets Node's default action (forced exit), as before.
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    wake?.();
  };
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  const onReload = (): void => err('[WARNING] lb: reload (SIGUSR2/SIGHUP) is not implemented yet (a later issue); keeping the running configuration\n');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGUSR2', onReload);
  process.on('SIGHUP', onReload);
  try {
    const { ProxyRuntime } = await import('./proxy/runtime.ts');
    const quiet = opts.quiet;
    const rt = new ProxyRuntime({
      log: (line) => {
        if (!quiet) err(`${line}\n`);
      },
    });
    const fail = async (lines: readonly string[]): Promise<number> => {
      err(`${lines.join('\n')}\n`);
      await rt.stop();
      return 1;
    };
    let problems = rt.provision(expandConfigPaths(opts.files));
    if (problems.length > 0) return await fail(problems);
    problems = rt.validate();
    if (problems.length > 0) return await fail(problems);
    problems = await rt.start();
    if (problems.length > 0) return await fail(problems);
    if (opts.pidfile !== undefined && signalled === undefined) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(opts.pidfile, `${process.pid}\n`);
    }
    if (signalled === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (!quiet) err(`[NOTICE] lb: ${signalled ?? 'signal'} received, stopping\n`);
    try {
      await rt.stop();
      return 0;
    } catch (e) {
      err(`[ALERT] lb: error while stopping: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGUSR2', onReload);
    process.off('SIGHUP', onReload);
  }
}

export async function main(argv: string[]): Promise<void> {
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    err(`[ALERT] ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    process.exitCode = 1;
    return;
  }
  if (opts.version > 0) {
    out(await versionText(opts.version === 2 ? 2 : 1));
    process.exitCode = 0;
    return;
  }
  if (opts.files.length === 0) {
    err(USAGE);
    process.exitCode = 1;
    return;
  }
  if (opts.check) {
    process.exitCode = await checkConfig(opts.files, { quiet: opts.quiet }, out, err);
    return;
  }
  process.exitCode = await runProxy(opts, err);
}
