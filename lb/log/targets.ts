// Log targets as HAProxy's `log` keyword names them (manual 3.1 "log"), and the Logger that frames
// each message for its target and sends it without ever blocking the proxy.
//
//   log <address> [len <length>] [format <format>] [sample <ranges>:<size>] <facility> [max [min]]
//
// Framing was captured from haproxy 2.6.12 (test/log/differential.test.ts):
//   local    <PRI>Mmm dd HH:MM:SS tag[pid]: msg          (default; no hostname)
//   rfc3164  <PRI>Mmm dd HH:MM:SS host tag[pid]: msg     (host = log-send-hostname or 'localhost')
//   rfc5424  <PRI>1 ISO host tag pid - - msg             (host = log-send-hostname or '-')
//   priority <PRI>msg        short <LVL>msg     timed <LVL>ISO msg     iso ISO msg     raw msg
// PRI = facility*8 + level, ISO = 2026-11-25T03:48:06.546762+05:30 (local time, microseconds).
// Every message ends with '\n'. Datagram targets (UDP, unix) cut header+message to `len` bytes
// (default 1024) before that '\n'; fd targets (stdout/stderr) are not cut by `len`. The message
// itself is first limited to (largest len, at least 1024) - 1 characters, as haproxy's line buffer is.
//
// Never blocking: each transport has a bounded backlog; when it is full (slow or absent syslog,
// stalled pipe) the message is dropped and counted, as haproxy's DroppedLogs counter does.
//
// Unix datagram sockets (/dev/log): Node's core has no AF_UNIX SOCK_DGRAM, raw-socket cannot do
// AF_UNIX, and the native `unix-dgram` package would be a new dependency. We spawn ONE long-lived
// `perl` per socket path (perl-base is Essential on Debian, so it is in debian:bookworm-slim, our
// image; python3 and socat are not guaranteed) running a 10-line sender: it reads length-prefixed
// frames on stdin and sendto()s each as one datagram with MSG_DONTWAIT, printing 'd' on stdout for
// each send that fails (no listener, full queue). Length-prefixing keeps datagram boundaries intact
// whatever the pipe does; `logger`/`socat` cannot (socat sends whatever one read() returns, and
// logger rewrites the header). If perl is missing or dies, messages are dropped and counted and the
// helper is respawned with backoff.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import { tzOffset, type LogResult } from './format.ts';

// ------------------------------------------------------------------------------------ constants

export const LOG_FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit', 'alert', 'cron2',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;
export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** Level of traffic logs (haproxy logs streams at 'info', errors at 'err' with log-separate-errors). */
export const LOG_INFO = 6;

export const SYSLOG_FORMATS = ['local', 'rfc3164', 'rfc5424', 'priority', 'short', 'timed', 'iso', 'raw'] as const;
export type SyslogFormat = (typeof SYSLOG_FORMATS)[number];

export const DEFAULT_LOG_LEN = 1024;
export const SYSLOG_PORT = 514;

export interface LogTargetSpec {
  /** 'udp': host/port; 'unix': path in `host`; 'fd': fd 1 or 2. */
  readonly transport: 'udp' | 'unix' | 'fd';
  readonly host: string;
  readonly port: number;
  readonly fd: number;
  /** 4 or 6 for an IP literal (or an ipv4@/udp6@ prefix), 0 for a name to resolve. */
  readonly family: 0 | 4 | 6;
  readonly len: number;
  /** null: 'local', or 'rfc3164' when log-send-hostname is set (haproxy's rule). */
  readonly format: SyslogFormat | null;
  readonly facility: number;
  /** Messages less severe (numerically greater) than this are not sent. */
  readonly maxLevel: number;
  /** Messages more severe than this are sent at this level; -1 = no cap. */
  readonly minLevel: number;
}

// ------------------------------------------------------------------------------------ validation

const UNSUPPORTED_PREFIX: Record<string, string> = {
  'tcp@': 'TCP log servers need a ring buffer, which lb does not implement yet',
  'tcp4@': 'TCP log servers need a ring buffer, which lb does not implement yet',
  'tcp6@': 'TCP log servers need a ring buffer, which lb does not implement yet',
  'ring@': 'ring buffers are not implemented by lb yet',
  'abns@': 'abstract unix sockets are not supported by lb',
  'sockpair@': 'socket pairs are not supported by lb',
};

function parseAddress(raw: string): LogResult<Pick<LogTargetSpec, 'transport' | 'host' | 'port' | 'fd' | 'family'>> {
  if (raw === 'stdout' || raw === 'fd@1') return { ok: true, value: { transport: 'fd', host: 'stdout', port: 0, fd: 1, family: 0 } };
  if (raw === 'stderr' || raw === 'fd@2') return { ok: true, value: { transport: 'fd', host: 'stderr', port: 0, fd: 2, family: 0 } };
  if (raw.startsWith('fd@')) {
    return { ok: false, error: `log: '${raw}': only fd@1 (stdout) and fd@2 (stderr) are supported by lb` };
  }
  for (const [prefix, why] of Object.entries(UNSUPPORTED_PREFIX)) {
    if (raw.startsWith(prefix)) return { ok: false, error: `log: '${raw}': ${why}` };
  }
  let rest = raw;
  let family: 0 | 4 | 6 = 0;
  if (rest.startsWith('unix@')) {
    rest = rest.slice(5);
    if (rest === '') return { ok: false, error: `log: invalid address: '${raw}'` };
    return { ok: true, value: { transport: 'unix', host: rest, port: 0, fd: -1, family: 0 } };
  }
  if (rest.startsWith('/')) return { ok: true, value: { transport: 'unix', host: rest, port: 0, fd: -1, family: 0 } };
  for (const [prefix, fam] of [['ipv4@', 4], ['ipv6@', 6], ['udp4@', 4], ['udp6@', 6], ['udp@', 0]] as const) {
    if (rest.startsWith(prefix)) {
      rest = rest.slice(prefix.length);
      family = fam;
      break;
    }
  }
  let host: string;
  let portText = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) return { ok: false, error: `log: invalid address: '${rest}' in '${raw}'` };
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { ok: false, error: `log: invalid address: '${rest}' in '${raw}'` };
    portText = after.slice(1);
  } else {
    // haproxy splits at the LAST colon: '::1:514' is [::1]:514, '::1:' is [::1]:514, '::1' is invalid.
    const colon = rest.lastIndexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? '' : rest.slice(colon + 1);
  }
  if (portText.includes('-')) return { ok: false, error: `log: port range not permitted here in '${raw}'` };
  let port = SYSLOG_PORT;
  if (portText !== '') {
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) return { ok: false, error: `log: invalid port '${portText}'` };
    port = Number(portText) || SYSLOG_PORT;
  }
  const isIp = net.isIP(host);
  if (isIp === 0) {
    // A host name: resolved once when the Logger starts. Anything with ':' or an IPv4-looking
    // dotted quad that failed isIP is not a name.
    if (host === '' || host.includes(':') || /^[\d.]+$/.test(host) || !/^[A-Za-z0-9.-]+$/.test(host)) {
      return { ok: false, error: `log: invalid address: '${host}' in '${raw}'` };
    }
  } else {
    if (family !== 0 && family !== isIp) return { ok: false, error: `log: invalid address: '${host}' in '${raw}'` };
    family = isIp === 6 ? 6 : 4;
  }
  return { ok: true, value: { transport: 'udp', host, port, fd: -1, family } };
}

/**
 * Validate the arguments of a `log` line (everything after the keyword) and return the target.
 * `log global` and `no log` are section-level references, resolved by the config layer: they are
 * rejected here. Unsupported HAProxy options (`sample`, tcp@/ring@ addresses, fd@N for N > 2) are
 * errors that say so, never silently accepted.
 */
export function validateLogTarget(args: readonly string[]): LogResult<LogTargetSpec> {
  if (args[0] === 'global') return { ok: false, error: "log: 'log global' refers to the global section and must be resolved by the caller" };
  if (args.length < 2) return { ok: false, error: 'log: expects <address> and <facility>  as arguments' };
  const addr = parseAddress(args[0] ?? '');
  if (!addr.ok) return addr;
  let i = 1;
  let len = DEFAULT_LOG_LEN;
  let format: SyslogFormat | null = null;
  if (args[i] === 'len') {
    const v = args[i + 1] ?? '';
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= 80 && n <= 65535)) return { ok: false, error: `log: invalid log length '${v}', must be between 80 and 65535` };
    len = n;
    i += 2;
  }
  if (args[i] === 'format') {
    const v = args[i + 1] ?? '';
    const f = SYSLOG_FORMATS.find((x) => x === v);
    if (f === undefined) return { ok: false, error: `log: unknown log format '${v}'` };
    format = f;
    i += 2;
  }
  if (args[i] === 'sample') {
    return { ok: false, error: "log: 'sample' is not supported by lb yet (every message goes to every matching target)" };
  }
  const fac = args[i] ?? '';
  const facility = (LOG_FACILITIES as readonly string[]).indexOf(fac);
  if (facility === -1) return { ok: false, error: `log: unknown log facility '${fac}'` };
  i++;
  let maxLevel = 7;
  let minLevel = -1;
  if (i < args.length) {
    const v = args[i] ?? '';
    maxLevel = (LOG_LEVELS as readonly string[]).indexOf(v);
    if (maxLevel === -1) return { ok: false, error: `log: unknown optional log level '${v}'` };
    i++;
  }
  if (i < args.length) {
    const v = args[i] ?? '';
    minLevel = (LOG_LEVELS as readonly string[]).indexOf(v);
    if (minLevel === -1) return { ok: false, error: `log: unknown optional minimum log level '${v}'` };
    i++;
  }
  if (i < args.length) return { ok: false, error: `log: cannot handle unexpected argument '${args[i] ?? ''}'` };
  return { ok: true, value: { ...addr.value, len, format, facility, maxLevel, minLevel } };
}

// ------------------------------------------------------------------------------------ framing

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function p2(n: number): string {
  return n < 10 ? '0' + n : '' + n;
}

/** Identity fields of the syslog header. */
export interface LogIdent {
  /** log-tag, default 'haproxy' so existing syslog filters keep matching. */
  tag: string;
  pid: number;
  /** log-send-hostname value, or null when not set. */
  hostname: string | null;
}

/** Builds syslog headers; caches the per-second parts (haproxy does the same). */
export class HeaderBuilder {
  #ident: LogIdent;
  #sec = Number.NaN;
  #bsd = '';
  #iso = '';
  #tz = '';

  constructor(ident: LogIdent) {
    this.#ident = ident;
  }

  #update(sec: number): void {
    if (sec === this.#sec) return;
    const d = new Date(sec * 1000);
    const day = d.getDate();
    // RFC 3164 4.1.2: day of month space-padded ("Feb  6").
    this.#bsd = MONTHS[d.getMonth()] + ' ' + (day < 10 ? ' ' + day : '' + day) + ' ' + p2(d.getHours()) + ':' + p2(d.getMinutes()) + ':' + p2(d.getSeconds());
    this.#iso = d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(day) + 'T' + p2(d.getHours()) + ':' + p2(d.getMinutes()) + ':' + p2(d.getSeconds());
    const tz = tzOffset(d);
    this.#tz = tz.slice(0, 3) + ':' + tz.slice(3);
    this.#sec = sec;
  }

  /**
   * Header for one message. `level` is already capped; `nowMs` may carry microseconds as a fraction.
   * `format` null means haproxy's default: 'local', or 'rfc3164' when a hostname is to be sent.
   */
  build(format: SyslogFormat | null, facility: number, level: number, nowMs: number): string {
    const fmt = format ?? (this.#ident.hostname === null ? 'local' : 'rfc3164');
    if (fmt === 'raw') return '';
    if (fmt === 'short') return '<' + level + '>';
    const pri = '<' + (facility * 8 + level) + '>';
    if (fmt === 'priority') return pri;
    const sec = Math.floor(nowMs / 1000);
    this.#update(sec);
    const id = this.#ident;
    if (fmt === 'local') return pri + this.#bsd + ' ' + id.tag + '[' + id.pid + ']: ';
    if (fmt === 'rfc3164') return pri + this.#bsd + ' ' + (id.hostname ?? 'localhost') + ' ' + id.tag + '[' + id.pid + ']: ';
    const iso = this.#isoAt(nowMs, sec);
    if (fmt === 'rfc5424') return pri + '1 ' + iso + ' ' + (id.hostname ?? '-') + ' ' + id.tag + ' ' + id.pid + ' - - ';
    if (fmt === 'timed') return '<' + level + '>' + iso + ' ';
    return iso + ' ';
  }

  #isoAt(nowMs: number, sec: number): string {
    const us = Math.min(999_999, Math.round((nowMs - sec * 1000) * 1000));
    return this.#iso + '.' + String(us).padStart(6, '0') + this.#tz;
  }
}

// ---------------------------------------------------------------------------------- transports

export interface TransportStats {
  /** Messages handed to the kernel (or to the unix helper). */
  sent: number;
  /** Messages lost: backlog full, no route, no listener, helper unavailable. */
  dropped: number;
}

interface Transport {
  readonly stats: TransportStats;
  /** `data` is the full frame without its trailing newline; never throws, never blocks. */
  send(data: Buffer): void;
  close(): Promise<void>;
}

const NL = Buffer.from('\n');

class UdpTransport implements Transport {
  readonly stats: TransportStats = { sent: 0, dropped: 0 };
  #sock: dgram.Socket;
  #host: string;
  #port: number;
  #address: string | null;
  #resolving = false;
  #retryAt = 0;
  #inflight = 0;
  #maxInflight: number;
  #waiting: Buffer[] = [];
  #closed = false;
  readonly #onSent = (err: Error | null): void => {
    this.#inflight--;
    if (err) {
      this.stats.sent--;
      this.stats.dropped++;
    }
  };

  constructor(spec: LogTargetSpec, maxInflight: number) {
    this.#host = spec.host;
    this.#port = spec.port;
    this.#maxInflight = maxInflight;
    this.#address = spec.family === 0 ? null : spec.host;
    const type = spec.family === 6 ? 'udp6' : 'udp4';
    this.#sock = dgram.createSocket(type);
    // An unreachable syslog is not our crash: count and carry on.
    this.#sock.on('error', () => {
      this.stats.dropped++;
    });
    this.#sock.unref();
  }

  send(data: Buffer): void {
    if (this.#closed) {
      this.stats.dropped++;
      return;
    }
    if (this.#address === null) {
      if (this.#waiting.length >= this.#maxInflight) {
        this.stats.dropped++;
      } else {
        this.#waiting.push(data);
      }
      this.#resolve();
      return;
    }
    if (this.#inflight >= this.#maxInflight) {
      this.stats.dropped++;
      return;
    }
    this.#inflight++;
    this.stats.sent++;
    this.#sock.send([data, NL], this.#port, this.#address, this.#onSent);
  }

  #resolve(): void {
    if (this.#resolving || Date.now() < this.#retryAt) return;
    this.#resolving = true;
    dns.lookup(this.#host, { family: 4 }, (err, address) => {
      this.#resolving = false;
      const waiting = this.#waiting;
      this.#waiting = [];
      if (err || this.#closed) {
        this.#retryAt = Date.now() + 5000;
        this.stats.dropped += waiting.length;
        return;
      }
      this.#address = address;
      for (const w of waiting) this.send(w);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      this.#sock.close(() => resolve());
    });
  }
}

/** The unix-datagram sender run by perl: length-prefixed frames in, one sendto() per frame out. */
const PERL_SENDER = [
  'use strict; use Socket;',
  '$| = 1; my $path = shift; my $addr = pack_sockaddr_un($path);',
  'socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";',
  'binmode STDIN; my ($h, $m);',
  'while (read(STDIN, $h, 4) == 4) {',
  '  my $n = unpack("N", $h); $m = "";',
  '  while (length($m) < $n) { my $r = read(STDIN, $m, $n - length($m), length($m)); exit 0 if !$r; }',
  '  defined(send($s, $m, MSG_DONTWAIT, $addr)) or syswrite(STDOUT, "d");',
  '}',
].join('\n');

class UnixDgramTransport implements Transport {
  readonly stats: TransportStats = { sent: 0, dropped: 0 };
  #path: string;
  #perl: string;
  #maxBytes: number;
  #child: ChildProcess | null = null;
  #backoff = 500;
  #respawnAt = 0;
  #closed = false;

  constructor(spec: LogTargetSpec, maxBytes: number, perl: string) {
    this.#path = spec.host;
    this.#maxBytes = maxBytes;
    this.#perl = perl;
    this.#spawn();
  }

  #spawn(): void {
    if (this.#closed) return;
    const child = spawn(this.#perl, ['-e', PERL_SENDER, this.#path], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.#child = child;
    child.on('error', () => this.#lost(child));
    child.on('exit', () => this.#lost(child));
    child.stdin?.on('error', () => this.#lost(child));
    child.stdout?.on('data', (chunk: Buffer) => {
      // One 'd' per datagram the kernel refused.
      this.stats.sent -= chunk.length;
      this.stats.dropped += chunk.length;
    });
    // A logger must never keep the process alive on its own.
    child.unref();
    // Both ends are net.Socket pipes at run time (typed as plain streams).
    if (child.stdin instanceof net.Socket) child.stdin.unref();
    if (child.stdout instanceof net.Socket) child.stdout.unref();
  }

  #lost(child: ChildProcess): void {
    if (this.#child !== child) return;
    this.#child = null;
    this.#respawnAt = Date.now() + this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, 30_000);
  }

  send(data: Buffer): void {
    if (this.#child === null && !this.#closed && Date.now() >= this.#respawnAt) this.#spawn();
    const stdin = this.#child?.stdin;
    if (this.#closed || stdin == null || !stdin.writable || stdin.writableLength > this.#maxBytes) {
      this.stats.dropped++;
      return;
    }
    const frame = Buffer.allocUnsafe(4 + data.length + 1);
    frame.writeUInt32BE(data.length + 1, 0);
    data.copy(frame, 4);
    frame[frame.length - 1] = 10;
    stdin.write(frame);
    this.stats.sent++;
    if (this.#backoff > 500 && this.stats.sent % 64 === 0) this.#backoff = 500;
  }

  close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    this.#child = null;
    if (child === null || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      // Keep the loop alive until the helper has exited: the helper and its pipes are unref'd
      // while running, so without this a stopping lb could leave close() unsettled.
      child.ref();
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      // EOF lets the helper send what it has read, then exit.
      child.stdin?.end();
    });
  }
}

/**
 * stdout/stderr. process.stdout is synchronous for pipes on Linux, so a stalled reader would block
 * the event loop: write with fs.write instead (one write in flight, on the thread pool), batch what
 * arrives meanwhile, drop beyond `maxBytes`. EAGAIN on a non-blocking fd is a drop, as in haproxy.
 */
class FdTransport implements Transport {
  readonly stats: TransportStats = { sent: 0, dropped: 0 };
  #fd: number;
  #maxBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingCount = 0;
  #writing = false;
  #idle: Array<() => void> = [];

  constructor(spec: LogTargetSpec, maxBytes: number) {
    this.#fd = spec.fd;
    this.#maxBytes = maxBytes;
  }

  send(data: Buffer): void {
    if (this.#pendingBytes + data.length + 1 > this.#maxBytes) {
      this.stats.dropped++;
      return;
    }
    this.#pending.push(data, NL);
    this.#pendingBytes += data.length + 1;
    this.#pendingCount++;
    if (!this.#writing) this.#flush();
  }

  #flush(): void {
    if (this.#pendingCount === 0) {
      this.#writing = false;
      for (const f of this.#idle.splice(0)) f();
      return;
    }
    this.#writing = true;
    const buf = Buffer.concat(this.#pending, this.#pendingBytes);
    const count = this.#pendingCount;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingCount = 0;
    this.#write(buf, 0, count);
  }

  #write(buf: Buffer, off: number, count: number): void {
    fs.write(this.#fd, buf, off, buf.length - off, null, (err, written) => {
      if (err) {
        this.stats.dropped += count;
      } else if (off + written < buf.length) {
        this.#write(buf, off + written, count);
        return;
      } else {
        this.stats.sent += count;
      }
      this.#flush();
    });
  }

  close(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

// ---------------------------------------------------------------------------------------- Logger

export interface LoggerOptions {
  /** log-tag; default 'haproxy'. */
  tag?: string;
  pid?: number;
  /** log-send-hostname; null/absent = not set. */
  hostname?: string | null;
  /** Per target backlog: datagrams in flight (UDP) or bytes queued (unix helper, fd). */
  maxInflight?: number;
  maxQueuedBytes?: number;
  /** Clock in ms since the epoch, fractional part = sub-millisecond (for tests). */
  now?: () => number;
  /** perl binary for unix datagram targets. */
  perl?: string;
}

export interface TargetStats extends TransportStats {
  /** Messages not sent because of the target's level filter. */
  filtered: number;
}

interface Target {
  spec: LogTargetSpec;
  transport: Transport;
  filtered: number;
}

function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Sends each rendered line to every target whose level filter lets it through. */
export class Logger {
  #targets: Target[];
  #header: HeaderBuilder;
  #now: () => number;
  #lineMax: number;

  constructor(specs: readonly LogTargetSpec[], options: LoggerOptions = {}) {
    this.#header = new HeaderBuilder({ tag: options.tag ?? 'haproxy', pid: options.pid ?? process.pid, hostname: options.hostname ?? null });
    this.#now = options.now ?? preciseNow;
    const maxInflight = options.maxInflight ?? 1024;
    const maxBytes = options.maxQueuedBytes ?? 1 << 20;
    this.#lineMax = Math.max(DEFAULT_LOG_LEN, ...specs.map((s) => s.len)) - 1;
    this.#targets = specs.map((spec) => ({
      spec,
      filtered: 0,
      transport:
        spec.transport === 'udp'
          ? new UdpTransport(spec, maxInflight)
          : spec.transport === 'unix'
            ? new UnixDgramTransport(spec, maxBytes, options.perl ?? 'perl')
            : new FdTransport(spec, maxBytes),
    }));
  }

  /** Send `message` (one rendered line, no newline) at `level` (0 emerg .. 7 debug; traffic = LOG_INFO). */
  log(level: number, message: string): void {
    const msg = message.length > this.#lineMax ? message.slice(0, this.#lineMax) : message;
    const now = this.#now();
    for (const t of this.#targets) {
      const s = t.spec;
      if (level > s.maxLevel) {
        t.filtered++;
        continue;
      }
      const lvl = s.minLevel >= 0 && level < s.minLevel ? s.minLevel : level;
      let frame = Buffer.from(this.#header.build(s.format, s.facility, lvl, now) + msg, 'utf8');
      if (s.transport !== 'fd' && frame.length > s.len) frame = frame.subarray(0, s.len);
      t.transport.send(frame);
    }
  }

  stats(): TargetStats[] {
    return this.#targets.map((t) => ({ ...t.transport.stats, filtered: t.filtered }));
  }

  /** Flush what can be flushed and release sockets and helpers. Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.#targets.map((t) => t.transport.close()));
  }
}
