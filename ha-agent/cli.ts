// hactl: the operator's CLI for ha-agent, talking to its control socket (control.ts).
//
//   hactl [--socket PATH] status [--json]            per instance: state, priorities, VIP, peer, tracks,
//                                                   last transition, dropped adverts
//   hactl [--socket PATH] switchover [--instance N]  planned handover (the master gives the VIP away)
//   hactl [--socket PATH] reload                     like SIGHUP, but reports what changed or why not
//   hactl config set socket PATH | get socket | unset socket
//
// The socket is, in order: --socket, $HACTL_SOCKET, the remembered path (`hactl config set socket`),
// /run/ha-agent.sock. The remembered path lives in $XDG_CONFIG_HOME/hapair/hactl.json (default
// ~/.config/hapair/hactl.json): a small JSON file written here instead of the `conf` package, which
// is not installed.
//
// Exit codes: 0 ok; 1 error (the agent refused, a switchover did not complete, a reload was
// rejected, bad usage); 2 the agent cannot be reached (the message names the socket).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ControlError, DEFAULT_CONTROL_SOCKET, controlRequest } from './control.ts';
import type { ControlRequest, ControlResponse, DaemonStatus, ReloadResult, SwitchoverResponse } from './control.ts';
import type { InstanceStatus } from './vrrp/instance.ts';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_UNREACHABLE = 2;

/** Where the remembered settings live. */
export function settingsPath(env: CliIo['env']): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'hapair', 'hactl.json');
}

interface Settings {
  socket?: string;
}

function readSettings(io: CliIo): Settings {
  const path = settingsPath(io.env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && 'socket' in v && typeof v.socket === 'string') return { socket: v.socket };
    return {};
  } catch {
    io.stderr(`hactl: ignoring ${path}: not valid JSON\n`);
    return {};
  }
}

function writeSettings(io: CliIo, s: Settings): string {
  const path = settingsPath(io.env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Write then rename, so a crash never leaves half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
  return path;
}

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** Runs hactl with `argv` (without node and script); returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code = EXIT_OK;
  const program = new Command();
  program
    .name('hactl')
    .description('Control and inspect a running ha-agent')
    .option('-s, --socket <path>', `control socket of the agent (default: remembered, else ${DEFAULT_CONTROL_SOCKET})`)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  const socketOf = (): string => {
    const o = program.opts<{ socket?: string }>();
    if (o.socket !== undefined) return o.socket;
    const env = io.env.HACTL_SOCKET;
    if (env !== undefined && env !== '') return env;
    return readSettings(io).socket ?? DEFAULT_CONTROL_SOCKET;
  };

  const call = async (req: ControlRequest, timeoutMs: number): Promise<unknown> => {
    const path = socketOf();
    let res: ControlResponse;
    try {
      res = await controlRequest(path, req, timeoutMs);
    } catch (err) {
      if (err instanceof ControlError) {
        io.stderr(`hactl: ${err.message}\n`);
        if (err.code === 'ERR_HA_CONTROL_UNREACHABLE') {
          io.stderr(`hactl: is ha-agent running with --control-socket ${path}? (choose another with --socket PATH or 'hactl config set socket PATH')\n`);
          throw new Exit(EXIT_UNREACHABLE);
        }
        throw new Exit(EXIT_ERROR);
      }
      throw err;
    }
    if (!res.ok) {
      io.stderr(`hactl: ${res.error.message} (${res.error.code})\n`);
      throw new Exit(EXIT_ERROR);
    }
    return res.result;
  };

  program
    .command('status')
    .description('state, priorities, VIP, peer, tracks, last transition and dropped adverts per instance')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const st = expect(await call({ cmd: 'status' }, 10_000), isDaemonStatus, 'status');
      io.stdout(opts.json === true ? `${JSON.stringify(st, null, 2)}\n` : renderStatus(st));
    });

  program
    .command('switchover')
    .description('planned handover: the master lowers its priority, waits for the peer to be MASTER, then releases the VIP')
    .option('-i, --instance <name>', 'only this vrrp_instance (default: every instance this node is MASTER of)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { instance?: string; json?: boolean }) => {
      const req: ControlRequest = { cmd: 'switchover', ...(opts.instance === undefined ? {} : { instance: opts.instance }) };
      const res = expect(await call(req, 120_000), isSwitchoverResponse, 'switchover');
      if (opts.json === true) io.stdout(`${JSON.stringify(res, null, 2)}\n`);
      else {
        for (const r of res.results) {
          const timing = r.outcome === 'done' ? ` (peer MASTER after ${r.peerMasterAfterMs ?? '?'} ms, VIP released after ${r.releasedAfterMs ?? '?'} ms)` : '';
          io.stdout(`${r.instance}: ${r.outcome}${r.reason === undefined ? '' : ` [${r.reason}]`}: ${r.message}${timing}\n`);
        }
      }
      if (res.results.length === 0 || res.results.some((r) => r.outcome !== 'done')) code = EXIT_ERROR;
    });

  program
    .command('reload')
    .description('re-read the configuration (like SIGHUP) and report the changes or every error')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const res = expect(await call({ cmd: 'reload' }, 60_000), isReloadResult, 'reload');
      if (opts.json === true) io.stdout(`${JSON.stringify(res, null, 2)}\n`);
      else {
        for (const d of res.diagnostics) io.stderr(`${d}\n`);
        if (res.ok) {
          io.stdout(res.changes.length === 0 ? 'reloaded: no change\n' : `reloaded:\n${res.changes.map((c) => `  ${c}\n`).join('')}`);
        } else io.stderr('hactl: reload rejected; the agent keeps running its previous configuration\n');
      }
      if (!res.ok) code = EXIT_ERROR;
    });

  const config = program.command('config').description("hactl's own settings (remembered socket path)");
  config
    .command('set')
    .argument('<key>', 'socket')
    .argument('<value>')
    .action((key: string, value: string) => {
      if (key !== 'socket') throw usage(`unknown setting '${key}' (known: socket)`);
      const path = writeSettings(io, { ...readSettings(io), socket: value });
      io.stdout(`socket = ${value} (saved in ${path})\n`);
    });
  config
    .command('get')
    .argument('<key>', 'socket')
    .action((key: string) => {
      if (key !== 'socket') throw usage(`unknown setting '${key}' (known: socket)`);
      io.stdout(`${readSettings(io).socket ?? DEFAULT_CONTROL_SOCKET}\n`);
    });
  config
    .command('unset')
    .argument('<key>', 'socket')
    .action((key: string) => {
      if (key !== 'socket') throw usage(`unknown setting '${key}' (known: socket)`);
      const { socket: _drop, ...rest } = readSettings(io);
      writeSettings(io, rest);
      io.stdout(`socket unset (default ${DEFAULT_CONTROL_SOCKET})\n`);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof Exit) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors 1 (commander already printed the message).
      return err.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    if (err instanceof UsageError) {
      io.stderr(`hactl: ${err.message}\n`);
      return EXIT_ERROR;
    }
    io.stderr(`hactl: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  return code;
}

class UsageError extends Error {}

// Shallow shape checks of the agent's answers: enough to fail with a clear message when hactl and
// the agent are different versions, without a schema library.
function isDaemonStatus(v: unknown): v is DaemonStatus {
  return typeof v === 'object' && v !== null && 'instances' in v && Array.isArray(v.instances) && 'pid' in v;
}
function isSwitchoverResponse(v: unknown): v is SwitchoverResponse {
  return typeof v === 'object' && v !== null && 'results' in v && Array.isArray(v.results);
}
function isReloadResult(v: unknown): v is ReloadResult {
  return typeof v === 'object' && v !== null && 'ok' in v && typeof v.ok === 'boolean' && 'changes' in v && Array.isArray(v.changes) && 'diagnostics' in v && Array.isArray(v.diagnostics);
}
function expect<T>(v: unknown, guard: (x: unknown) => x is T, what: string): T {
  if (!guard(v)) throw new Error(`the agent's answer to '${what}' has an unexpected shape (different versions of hactl and ha-agent?)`);
  return v;
}
function usage(message: string): UsageError {
  return new UsageError(message);
}

/** Entry point for bin/hactl.js. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await runCli(argv, {
    env: process.env,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
}

// ---------------------------------------------------------------------------------------------
// human output

function ago(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms ago`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s ago`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${(ms / 3_600_000).toFixed(1)} h ago`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

function priorityText(i: InstanceStatus): string {
  const parts = [`${i.advertisedPriority}`];
  const extra: string[] = [`base ${i.basePriority}`];
  if (i.effectivePriority !== i.basePriority) extra.push(`effective ${i.effectivePriority}`);
  if (i.override !== null) extra.push(`override ${i.override}`);
  return `${parts.join('')} (${extra.join(', ')})`;
}

/** The default `hactl status` view: one table row per instance, then its details. */
export function renderStatus(st: DaemonStatus): string {
  const lines: string[] = [];
  lines.push(`ha-agent pid ${st.pid}, config ${st.configFile}, up ${ago(st.uptimeMs).replace(' ago', '')}`);
  if (st.instances.length === 0) {
    lines.push('no vrrp_instance running');
    return `${lines.join('\n')}\n`;
  }
  const rows: string[][] = [['INSTANCE', 'STATE', 'PRIORITY', 'VIP', 'HOLDS VIP', 'PEER']];
  for (const i of st.instances) {
    const held = i.holdsVip === null ? `? (${i.holdsVipError ?? 'unknown'})` : i.holdsVip ? 'yes' : 'no';
    const peer = i.peer === null
      ? 'none heard'
      : `${i.peer.address} ${i.peer.role.toUpperCase()} prio ${i.peer.priority}, ${ago(i.peer.ageMs)}${i.peer.fresh ? '' : ' (stale)'}`;
    rows.push([i.name, i.state, priorityText(i), i.vips.join(' ') || '-', held, peer]);
  }
  lines.push(table(rows));
  for (const i of st.instances) {
    lines.push('');
    lines.push(`${i.name}: vrid ${i.vrid} on ${i.interface} (${i.transport}) from ${i.localAddress}, advert ${i.advertIntervalMs} ms, master down ${Math.round(i.masterDownIntervalMs)} ms`);
    const lt = i.lastTransition;
    lines.push(lt === null ? '  last transition: none' : `  last transition: ${lt.from} → ${lt.to} (${lt.reason}) ${ago(lt.ageMs)}, at ${lt.time}`);
    if (i.tracks.length === 0) lines.push('  tracks: none');
    else {
      const w = (n: number): string => (n === 0 ? 'fault if failing' : n > 0 ? `+${n} while OK` : `${n} while failing`);
      lines.push(`  tracks: ${i.tracks.map((t) => `${t.name} ${t.ok ? 'OK' : 'FAILING'} (${w(t.weight)})`).join(', ')}`);
    }
    if (i.downInterfaces.length > 0) lines.push(`  interfaces down: ${i.downInterfaces.join(', ')}`);
    const drops = Object.entries(i.drops).filter(([, n]) => n > 0);
    lines.push(`  dropped adverts: ${drops.length === 0 ? 'none' : drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
    lines.push(`  adverts: ${i.adverts.sent} sent, ${i.adverts.received} accepted, ${i.adverts.sendErrors} send errors${i.vipErrors > 0 ? `; ${i.vipErrors} VIP command failures` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
