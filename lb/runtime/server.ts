// Listeners of the runtime API: `stats socket` lines as HAProxy 2.6 accepts them, each speaking the
// CLI protocol of ./session.ts.
//
//   stats socket /run/lb/admin.sock mode 660 level admin       unix socket (also unix@PATH)
//   stats socket abns@lb-admin level operator                  Linux abstract socket
//   stats socket ipv4@127.0.0.1:9999 level user                TCP (ipv6@[::1]:9999 too)
//   stats socket fd@3  /  fd@${LB_ADMIN_FD}                    a listening fd inherited from the parent
//   stats timeout 30s                                          idle timeout of a connection (10s)
//
// Level defaults to `operator` (what haproxy 2.6 answers to `show cli level` on a socket without
// `level`). A unix socket is bound under a temporary name, given its mode and owner, then renamed
// over PATH, as HAProxy does: a stale file left by a crash is replaced, and clients never see the
// socket with the wrong permissions. Lifecycle (DESIGN.md principle 7): start() binds every socket
// or none (a failure closes those already bound); stop() works after a partial start, is
// idempotent, closes connections and removes the socket files it created (only if still its own).
import net from 'node:net';
import fs from 'node:fs';
import { dirname } from 'node:path';
import diagnostics_channel from 'node:diagnostics_channel';
import type { Level, RuntimeContext } from './context.ts';
import { CliProtocol, type CommandEvent } from './session.ts';
import { RuntimeError } from './errors.ts';

/** Structurally the same as lb/config's Address, so the lead passes the parsed model as is. */
export interface StatsSocketAddress {
  readonly family: 'ipv4' | 'ipv6' | 'unix' | 'abns' | 'fd' | 'sockpair';
  /** Path (unix), name (abns), fd number or name (fd), IP ('0.0.0.0'/'::' for any). */
  readonly host: string;
  readonly port?: number;
  readonly raw?: string;
}

export interface StatsSocketSpec {
  readonly address: StatsSocketAddress;
  /** Default 'operator'. */
  readonly level?: Level;
  /** Octal permissions of a unix socket file: "660" or 0o660. */
  readonly mode?: string | number;
  readonly uid?: number;
  readonly gid?: number;
  /** Resolved through /etc/passwd at start (HAProxy resolves at parse time). */
  readonly user?: string;
  readonly group?: string;
  /** "file:line" of the `stats socket` line, for error messages. */
  readonly where?: string;
}

export interface RuntimeApiOptions {
  readonly sockets: readonly StatsSocketSpec[];
  readonly ctx: RuntimeContext;
  /** `stats timeout` in ms; HAProxy's default is 10s. */
  readonly timeoutMs?: number;
  /** Inherited listening fds by name, for `fd@NAME` (numeric `fd@N` needs no entry). */
  readonly namedFds?: Readonly<Record<string, number>>;
}

/** Published for every command run: { level, args, socket } (audit logs, tests). */
export const COMMAND_CHANNEL = diagnostics_channel.channel('lb:runtime:command');

export const DEFAULT_STATS_TIMEOUT_MS = 10_000;

/** uid of a user name from /etc/passwd, undefined when unknown. */
export function lookupUser(name: string, passwdFile = '/etc/passwd'): number | undefined {
  return lookupId(name, passwdFile, 2);
}

/** gid of a group name from /etc/group, undefined when unknown. */
export function lookupGroup(name: string, groupFile = '/etc/group'): number | undefined {
  return lookupId(name, groupFile, 2);
}

function lookupId(name: string, file: string, field: number): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const cols = line.split(':');
    if (cols[0] === name && cols[field] !== undefined && /^\d+$/.test(cols[field])) return Number(cols[field]);
  }
  return undefined;
}

function parseMode(mode: string | number | undefined): number | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode === 'number') return mode;
  if (!/^[0-7]{1,4}$/.test(mode)) throw new RuntimeError('ERR_LB_RUNTIME_OWNER', `'stats socket' : 'mode' expects an octal mode, got '${mode}'.`);
  return Number.parseInt(mode, 8);
}

function describe(spec: StatsSocketSpec): string {
  const a = spec.address;
  if (a.raw !== undefined) return a.raw;
  if (a.family === 'ipv4' || a.family === 'ipv6') return `${a.family}@${a.host}:${a.port ?? ''}`;
  return a.family === 'unix' ? a.host : `${a.family}@${a.host}`;
}

interface Bound {
  readonly spec: StatsSocketSpec;
  readonly server: net.Server;
  /** Socket file this listener owns (unix), with the inode it had when we renamed it in place. */
  file?: { path: string; ino: number };
}

function bindError(spec: StatsSocketSpec, kind: string, err: unknown, target: string): RuntimeError {
  const code = errCode(err);
  const text = STRERROR[code] ?? code;
  const where = spec.where !== undefined ? `Binding [${spec.where}] for frontend GLOBAL: ` : 'Binding for frontend GLOBAL: ';
  return new RuntimeError('ERR_LB_RUNTIME_BIND', `${where}cannot bind ${kind} (${text}) [${target}]`, { cause: err });
}

/** errno name of a system error ('EADDRINUSE'), else its message. */
function errCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

// glibc wording of the errors a bind can meet, as HAProxy prints them.
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EADDRINUSE: 'Address already in use',
  EACCES: 'Permission denied',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOTDIR: 'Not a directory',
  EBADF: 'Bad file descriptor',
  ENOTSOCK: 'Socket operation on non-socket',
  EINVAL: 'Invalid argument',
  EROFS: 'Read-only file system',
};

function listen(server: net.Server, opts: net.ListenOptions | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      // Later server errors (accept failures) must not crash lb; connections handle their own.
      server.on('error', () => {});
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts);
  });
}

/** The runtime API: one net.Server per `stats socket`, all sharing one RuntimeContext. */
export class RuntimeApiServer {
  readonly #opts: RuntimeApiOptions;
  readonly #bound: Bound[] = [];
  readonly #conns = new Set<net.Socket>();
  #stopped = false;

  constructor(opts: RuntimeApiOptions) {
    this.#opts = opts;
  }

  /** Binds every socket; on the first failure closes what was bound and rejects with a RuntimeError. */
  async start(): Promise<void> {
    if (this.#stopped) throw new RuntimeError('ERR_LB_RUNTIME_BIND', 'runtime API already stopped');
    try {
      for (const spec of this.#opts.sockets) await this.#bindOne(spec);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Where each socket listens: a path, '\0name' for abns, or {address, port} (port 0 resolved). */
  addresses(): (string | net.AddressInfo | null)[] {
    return this.#bound.map((b) => b.server.address());
  }

  /** Closes listeners and connections; removes our socket files. Safe to call at any time, twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const c of this.#conns) c.destroy();
    this.#conns.clear();
    const bound = this.#bound.splice(0);
    await Promise.all(
      bound.map(async (b) => {
        if (b.server.listening) await new Promise<void>((resolve) => b.server.close(() => resolve()));
        if (b.file !== undefined) {
          // Only our own inode: a newer lb may have renamed its socket over the path (reload).
          try {
            if (fs.lstatSync(b.file.path).ino === b.file.ino) fs.unlinkSync(b.file.path);
          } catch {
            // already gone
          }
        }
      }),
    );
  }

  #makeServer(spec: StatsSocketSpec): net.Server {
    const level: Level = spec.level ?? 'operator';
    const timeout = this.#opts.timeoutMs ?? DEFAULT_STATS_TIMEOUT_MS;
    const socketName = describe(spec);
    return net.createServer({ allowHalfOpen: true }, (sock) => {
      if (this.#stopped) {
        sock.destroy();
        return;
      }
      this.#conns.add(sock);
      const onCommand = (e: CommandEvent): void => {
        if (COMMAND_CHANNEL.hasSubscribers) COMMAND_CHANNEL.publish({ level: e.level, args: e.args, socket: socketName });
      };
      const proto = new CliProtocol(level, this.#opts.ctx, onCommand);
      sock.setTimeout(timeout);
      sock.on('timeout', () => sock.destroy());
      sock.on('error', () => sock.destroy());
      sock.on('close', () => this.#conns.delete(sock));
      const apply = (r: { output: string; close: boolean }): void => {
        if (r.output !== '') sock.write(r.output);
        if (r.close) sock.end(() => sock.destroy());
      };
      sock.on('data', (chunk: Buffer) => {
        try {
          apply(proto.feed(chunk));
        } catch {
          // A bug in a command or in the context must not take lb down: drop this connection.
          sock.destroy();
        }
      });
      sock.on('end', () => apply(proto.end()));
    });
  }

  async #bindOne(spec: StatsSocketSpec): Promise<void> {
    const a = spec.address;
    const server = this.#makeServer(spec);
    const b: Bound = { spec, server };
    this.#bound.push(b);
    switch (a.family) {
      case 'ipv4':
      case 'ipv6': {
        if (a.port === undefined) throw new RuntimeError('ERR_LB_RUNTIME_ADDRESS', `'stats socket' : missing port number in '${describe(spec)}'.`);
        try {
          await listen(server, { host: a.host, port: a.port, ...(a.family === 'ipv6' ? { ipv6Only: true } : {}) });
        } catch (err) {
          throw bindError(spec, 'socket', err, `${a.host}:${a.port}`);
        }
        return;
      }
      case 'abns':
        try {
          await listen(server, { path: `\0${a.host}` });
        } catch (err) {
          throw bindError(spec, 'ABNS socket', err, a.host);
        }
        return;
      case 'fd': {
        const fd = /^\d+$/.test(a.host) ? Number(a.host) : this.#opts.namedFds?.[a.host];
        if (fd === undefined) throw new RuntimeError('ERR_LB_RUNTIME_ADDRESS', `'stats socket' : no inherited file descriptor named '${a.host}'.`);
        try {
          await listen(server, { fd });
        } catch (err) {
          throw bindError(spec, 'socket', err, `fd@${a.host}`);
        }
        return;
      }
      case 'unix':
        await this.#bindUnix(spec, b);
        return;
      default:
        throw new RuntimeError('ERR_LB_RUNTIME_ADDRESS', `'stats socket' : '${a.family}@' addresses are not supported by lb.`);
    }
  }

  async #bindUnix(spec: StatsSocketSpec, b: Bound): Promise<void> {
    const path = spec.address.host;
    const mode = parseMode(spec.mode);
    let uid = spec.uid;
    let gid = spec.gid;
    if (spec.user !== undefined) {
      uid = lookupUser(spec.user);
      if (uid === undefined) throw new RuntimeError('ERR_LB_RUNTIME_OWNER', `'stats socket' : ''user' : unknown user name '${spec.user}''`);
    }
    if (spec.group !== undefined) {
      gid = lookupGroup(spec.group);
      if (gid === undefined) throw new RuntimeError('ERR_LB_RUNTIME_OWNER', `'stats socket' : ''group' : unknown group name '${spec.group}''`);
    }
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      fs.unlinkSync(tmp);
    } catch {
      // no leftover
    }
    try {
      await listen(b.server, { path: tmp });
    } catch (err) {
      // libuv reports a missing directory as EACCES (Windows compatibility); HAProxy says ENOENT.
      const missingDir = errCode(err) === 'EACCES' && !fs.existsSync(dirname(path));
      throw bindError(spec, 'UNIX socket', missingDir ? Object.assign(new Error('ENOENT'), { code: 'ENOENT' }) : err, path);
    }
    try {
      if (mode !== undefined) fs.chmodSync(tmp, mode);
      if (uid !== undefined || gid !== undefined) fs.chownSync(tmp, uid ?? -1, gid ?? -1);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      const code = errCode(err);
      throw new RuntimeError('ERR_LB_RUNTIME_OWNER', `cannot change UNIX socket ownership or permissions (${STRERROR[code] ?? code}) [${path}]`, { cause: err });
    }
    try {
      // Atomic replacement of a stale (or a previous process's) socket file.
      fs.renameSync(tmp, path);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw bindError(spec, 'UNIX socket', err, path);
    }
    b.file = { path, ino: fs.lstatSync(path).ino };
  }
}
