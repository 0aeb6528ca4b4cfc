// The one command runner of ha-agent: every call to `ip`, `arping`, a track script or a notify script
// goes through `CommandRunner.run(file, args, options)` — an argument array, never a shell string —
// so the daemon's tests can inject a recording fake (`FakeRunner` below) and assert the exact argv.
//
// Why a process group: a track script is often a shell script that forks (`curl`, `pgrep`, a pipe).
// Killing only the direct child on timeout would leave the grandchildren running and holding our
// stdout pipe, so each command is spawned `detached` (its own session and process group) and a
// timeout kills the whole group with SIGKILL. SIGKILL and not SIGTERM: a hung health check has no
// cleanup worth waiting for, and the point of the timeout is to reach a verdict quickly.
//
// Edge error codes (DESIGN.md principle 6). They live here because every edge module imports this
// file; ha-agent/errors.ts belongs to the config layer.
//   ERR_HA_EDGE_VIP           `ip addr add|del|show` failed for a reason other than idempotence
//   ERR_HA_EDGE_NET           a UDP transport could not bind, join its group or send
//   ERR_HA_EDGE_RAW           the raw socket used for the TTL check could not be opened
//   ERR_HA_EDGE_USER          a `user`/`script_user` name or group is not in /etc/passwd|group
//   ERR_HA_EDGE_SCRIPT_SYNTAX a `script "..."` string has an unterminated quote or trailing backslash

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const HA_EDGE_ERROR_CODES = [
  'ERR_HA_EDGE_VIP',
  'ERR_HA_EDGE_NET',
  'ERR_HA_EDGE_RAW',
  'ERR_HA_EDGE_USER',
  'ERR_HA_EDGE_SCRIPT_SYNTAX',
] as const;
export type HaEdgeErrorCode = (typeof HA_EDGE_ERROR_CODES)[number];

export class HaEdgeError extends Error {
  readonly code: HaEdgeErrorCode;
  constructor(code: HaEdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HaEdgeError';
    this.code = code;
  }
}

export interface RunOptions {
  /** Hard limit; the whole process group is SIGKILLed when it expires. */
  readonly timeoutMs: number;
  /** Replaces the environment entirely when given (keepalived also runs scripts with a clean env). */
  readonly env?: Readonly<Record<string, string>>;
  readonly uid?: number;
  readonly gid?: number;
  readonly cwd?: string;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  readonly input?: string;
  /** Bytes kept per stream; the rest is counted but dropped so a chatty script cannot eat memory. */
  readonly maxOutputBytes?: number;
  /** Also SIGKILL the process group after a normal exit (a health check must leave nothing behind). */
  readonly killGroupOnExit?: boolean;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal or when the program could not start. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Set when the program could not be started at all (ENOENT, EACCES, bad uid). */
  readonly spawnError?: string;
}

export interface CommandRunner {
  run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult>;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The errno-style `code` of anything thrown (ENOENT, EPERM...), if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** A result counts as success only with exit code 0: keepalived's rule for scripts. */
export function succeeded(r: RunResult): boolean {
  return r.code === 0 && !r.timedOut;
}

/** One line for logs: `ip addr add ... → exit 2: Error: ipv4: Address already assigned.` */
export function describeResult(file: string, args: readonly string[], r: RunResult): string {
  const cmd = [file, ...args].join(' ');
  let how: string;
  if (r.spawnError !== undefined) how = `could not start (${r.spawnError})`;
  else if (r.timedOut) how = `timed out after ${Math.round(r.durationMs)} ms`;
  else if (r.signal !== null) how = `killed by ${r.signal}`;
  else how = `exit ${r.code}`;
  const err = r.stderr.trim().split('\n')[0] ?? '';
  return err === '' ? `${cmd} → ${how}` : `${cmd} → ${how}: ${err}`;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
/** After the child exits, how long we wait for its pipes to close (a forked daemon may keep them). */
const PIPE_GRACE_MS = 50;

/** The real runner: node:child_process.spawn with a process group per command. */
export class ProcessRunner implements CommandRunner {
  run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
    return runProcess(file, args, options);
  }
}

function runProcess(file: string, args: readonly string[], o: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const max = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise<RunResult>((resolve) => {
    let child;
    try {
      child = spawn(file, [...args], {
        detached: true,
        stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        ...(o.env === undefined ? {} : { env: { ...o.env } }),
        ...(o.uid === undefined ? {} : { uid: o.uid }),
        ...(o.gid === undefined ? {} : { gid: o.gid }),
        ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      });
    } catch (err) {
      // Synchronous spawn failures (EPERM on uid, invalid argument) come here.
      resolve(startFailure(started, err));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < max) out.push(b.subarray(0, max - outLen));
      outLen += b.length;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < max) errOut.push(b.subarray(0, max - errLen));
      errLen += b.length;
    });
    if (o.input !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => {}); // EPIPE when the child ignores stdin: not our failure
      child.stdin.end(o.input);
    }
    let timedOut = false;
    let done = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, Math.max(1, o.timeoutMs));
    const finish = (spawnError?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      // Grandchildren that outlived the command are left alone unless asked: a notify script may
      // legitimately start something in the background.
      if (spawnError === undefined && o.killGroupOnExit === true) killGroup();
      resolve({
        code: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(errOut).toString('utf8'),
        timedOut,
        durationMs: performance.now() - started,
        ...(spawnError === undefined ? {} : { spawnError }),
      });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code ?? err.message);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      graceTimer = setTimeout(() => finish(), PIPE_GRACE_MS);
    });
    child.on('close', () => {
      if (exit !== undefined) finish();
    });
  });
}

function startFailure(started: number, err: unknown): RunResult {
  return {
    code: null,
    signal: null,
    stdout: '',
    stderr: errorMessage(err),
    timedOut: false,
    durationMs: performance.now() - started,
    spawnError: errorCode(err) ?? errorMessage(err),
  };
}

/**
 * Wraps a runner so every command runs inside network namespace `ns` (`ip netns exec NS file ...`).
 * Used by tests and drills to drive a VipManager against a namespace without running node there.
 */
export function inNetns(runner: CommandRunner, ns: string, ipPath = 'ip'): CommandRunner {
  return {
    run: (file, args, options) => runner.run(ipPath, ['netns', 'exec', ns, file, ...args], options),
  };
}

// ---------------------------------------------------------------------------------------------
// A recording fake for unit tests of the daemon and of the edge modules.

export interface RecordedCall {
  readonly file: string;
  readonly args: readonly string[];
  readonly options: RunOptions;
}

export type FakeResponder = (call: RecordedCall) => Partial<RunResult> | Promise<Partial<RunResult>>;

/**
 * Records every call; answers with `responder` (default: exit 0, empty output). Calls are recorded
 * when they start, so a test can inspect argv while a slow fake answer is still pending.
 */
export class FakeRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  #responder: FakeResponder;

  constructor(responder?: FakeResponder) {
    this.#responder = responder ?? (() => ({}));
  }

  respond(responder: FakeResponder): void {
    this.#responder = responder;
  }

  /** The recorded argv lines, `file` first: handy for deepEqual. */
  get argv(): string[][] {
    return this.calls.map((c) => [c.file, ...c.args]);
  }

  async run(file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
    const call: RecordedCall = { file, args: [...args], options };
    this.calls.push(call);
    const r = await this.#responder(call);
    return {
      code: r.code === undefined ? 0 : r.code,
      signal: r.signal ?? null,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      timedOut: r.timedOut ?? false,
      durationMs: r.durationMs ?? 0,
      ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the script tracker and the notify queue.

/**
 * Splits a keepalived `script`/`notify` string into argv without a shell: words are separated by
 * blanks; '...' is literal; "..." allows \" and \\; a backslash outside quotes escapes the next
 * character. No globbing, no variables, no pipes: like keepalived, a pipeline needs a wrapper
 * script. Throws ERR_HA_EDGE_SCRIPT_SYNTAX on an unterminated quote or a trailing backslash.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new HaEdgeError('ERR_HA_EDGE_SCRIPT_SYNTAX', `unterminated ' in: ${line}`);
      cur += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line.charAt(i);
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new HaEdgeError('ERR_HA_EDGE_SCRIPT_SYNTAX', `unterminated " in: ${line}`);
    } else if (c === '\\') {
      if (i + 1 >= line.length) {
        throw new HaEdgeError('ERR_HA_EDGE_SCRIPT_SYNTAX', `trailing backslash in: ${line}`);
      }
      cur += line[i + 1];
      i += 2;
    } else {
      cur += c;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export interface UserIds {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Resolves keepalived's `user USERNAME [GROUPNAME]` (also `script_user`) from /etc/passwd and
 * /etc/group. Numeric ids are accepted as is. Files are injectable for tests.
 */
export function resolveUser(
  user: string,
  group?: string,
  files: { passwd?: string; group?: string } = {},
): UserIds {
  const passwd = files.passwd ?? readFileSync('/etc/passwd', 'utf8');
  let uid: number | undefined;
  let gid: number | undefined;
  if (/^\d+$/.test(user)) uid = Number(user);
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    if (f[0] === user || (uid !== undefined && Number(f[2]) === uid)) {
      uid = Number(f[2]);
      gid = Number(f[3]);
      break;
    }
  }
  if (uid === undefined) throw new HaEdgeError('ERR_HA_EDGE_USER', `unknown user '${user}'`);
  if (group !== undefined) {
    if (/^\d+$/.test(group)) {
      gid = Number(group);
    } else {
      const groups = files.group ?? readFileSync('/etc/group', 'utf8');
      const hit = groups.split('\n').find((l) => l.split(':')[0] === group);
      if (hit === undefined) throw new HaEdgeError('ERR_HA_EDGE_USER', `unknown group '${group}'`);
      gid = Number(hit.split(':')[2]);
    }
  }
  if (gid === undefined) throw new HaEdgeError('ERR_HA_EDGE_USER', `no primary group for user '${user}'`);
  return { uid, gid };
}

/** The environment scripts run with: a fixed PATH and C locale, like a daemon under systemd. */
export const SCRIPT_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C',
  LC_ALL: 'C',
};
