// ha-agent command line. Flags follow keepalived's where they overlap (-f/--use-file,
// -t/--config-test, -i/--config-id, -v, -h). Kept small: running the daemon plugs in at `run`.
import { defaultConfigId, formatDiagnostic, loadConfigFile } from './config.ts';
import type { GlobalDefs } from './config/model.ts';
import { HaAgentError } from './errors.ts';

const USAGE = `Usage: ha-agent [OPTION...]
  -f, --use-file FILE        configuration file (default /etc/keepalived/keepalived.conf)
  -t, --config-test          check the configuration and exit (0 valid, 1 invalid)
  -i, --config-id ID         which '@ID' lines apply (default: host name up to its first dot)
      --control-socket PATH  unix socket for hactl (default /run/ha-agent.sock)
  -D, --log-detail           also log debug lines (dropped adverts, fsm details)
  -v, --version              print the version
  -h, --help                 print this help
`;

export interface Options {
  file: string;
  test: boolean;
  configId: string;
  controlSocket: string;
  help: boolean;
  version: boolean;
  logDetail: boolean;
}

/** Parses argv (without node and script); throws HaAgentError ERR_HA_USAGE on bad input. */
export function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    file: '/etc/keepalived/keepalived.conf', test: false, configId: defaultConfigId(),
    controlSocket: '/run/ha-agent.sock', help: false, version: false, logDetail: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? '';
    // `--use-file=FILE` and `-fFILE` as keepalived's getopt_long accepts them.
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : /^-[fi]./.test(raw) ? raw.slice(0, 2) : raw;
    const inline = eq > 0 ? raw.slice(eq + 1) : flag !== raw ? raw.slice(2) : undefined;
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new HaAgentError('ERR_HA_USAGE', `option '${flag}' needs a value`);
      return v;
    };
    switch (flag) {
      case '-f': case '--use-file': o.file = val(); break;
      case '-t': case '--config-test': o.test = true; break;
      case '-i': case '--config-id': o.configId = val(); break;
      case '--control-socket': o.controlSocket = val(); break;
      case '-h': case '--help': o.help = true; break;
      case '-v': case '--version': o.version = true; break;
      case '-D': case '--log-detail': o.logDetail = true; break;
      default: throw new HaAgentError('ERR_HA_USAGE', `unknown option '${raw}'`);
    }
  }
  return o;
}

/** Loads and checks the configuration; prints every diagnostic. `ok` when usable. */
function check(o: Options): { ok: boolean; globalDefs: GlobalDefs } {
  const r = loadConfigFile(o.file, { configId: o.configId });
  for (const d of r.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!r.ok) {
    const n = r.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`ha-agent: configuration file ${o.file} has ${n} error${n === 1 ? '' : 's'}\n`);
  }
  return { ok: r.ok, globalDefs: r.config.globalDefs };
}

export async function main(argv: string[]): Promise<void> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof HaAgentError)) throw err;
    process.stderr.write(`ha-agent: ${err.message}\n${USAGE}`);
    process.exitCode = 1;
    return;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (o.version) {
    const { readFileSync } = await import('node:fs');
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : '?';
    process.stdout.write(`ha-agent ${version}\n`);
    return;
  }
  const { ok, globalDefs } = check(o);
  if (o.test) {
    if (ok) process.stdout.write(`Configuration file ${o.file} is valid\n`);
    process.exitCode = ok ? 0 : 1;
    return;
  }
  if (!ok) {
    process.exitCode = 1;
    return;
  }
  await runDaemon(o, globalDefs);
}

/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT (systemd style: no fork, logs on stderr,
 * transition JSON lines on stdout). SIGHUP reloads. Exit code 0 after a clean stop, 1 when the
 * start fails.
 */
async function runDaemon(o: Options, g: GlobalDefs): Promise<void> {
  const { Daemon, stderrLogger } = await import('./daemon.ts');
  const { applyScheduling, restoreNice } = await import('./sched.ts');
  const log = stderrLogger(o.logDetail);
  // Before anything is spawned, so the helpers inherit it (sched.ts says why and what).
  // global_defs' vrrp_priority / vrrp_rt_priority as read at start: a reload does not change them
  // (restart the agent for that).
  const sched = applyScheduling({ log, ...(g.processNice !== undefined && { nice: g.processNice }), ...(g.rtPriority !== undefined && { rtPriority: g.rtPriority }) });
  const daemon = new Daemon({ configFile: o.file, configId: o.configId, controlSocket: o.controlSocket, log, scriptNice: sched.previousNice });
  try {
    await daemon.start();
  } catch (err) {
    log('error', `cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  const lag = o.logDetail ? await watchEventLoop(log) : undefined;
  const onHup = (): void => {
    void daemon.reload();
  };
  process.on('SIGHUP', onHup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  // stop() first: it sends the priority-0 adverts synchronously; the log line can wait.
  const stopped = daemon.stop();
  if (sched.nice !== undefined) restoreNice(sched.previousNice);
  log('info', `${signal}: stopping`);
  // A second signal while stopping means "now": systemd sends SIGKILL later anyway.
  const force = (): void => process.exit(1);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await stopped;
  lag?.();
  process.off('SIGHUP', onHup);
  process.exitCode = 0;
  // Handles that outlive the stop (an arping still exiting) must not keep the process alive.
  setTimeout(() => process.exit(0), 1000).unref();
}

/**
 * -D: logs the event loop's delay every 10 s (p50/p99/max in ms). Timers (adverts, Master_Down)
 * are only as punctual as the loop; this shows whether something blocks it. Returns a stop function.
 */
async function watchEventLoop(log: (level: 'debug', line: string) => void): Promise<() => void> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t = setInterval(() => {
    const ms = (ns: number): string => (ns / 1e6).toFixed(1);
    log('debug', `event loop delay over 10 s: p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms`);
    h.reset();
  }, 10_000);
  t.unref();
  return () => {
    clearInterval(t);
    h.disable();
  };
}
