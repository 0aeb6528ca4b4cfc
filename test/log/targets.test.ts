// Log targets: `log` argument validation (errors worded as haproxy 2.6.12 words them), syslog framing,
// and real delivery over UDP, unix datagram sockets and file descriptors on this machine.
process.env.TZ = 'UTC';

import test from 'ava';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { HeaderBuilder, LOG_INFO, Logger, validateLogTarget, type LogTargetSpec } from '../../lb/log/targets.ts';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

function spec(args: string): LogTargetSpec {
  const r = validateLogTarget(args.split(' '));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

// ----------------------------------------------------------------------------------- validation

test('validateLogTarget accepts what haproxy accepts', (t) => {
  t.like(spec('/dev/log local0'), { transport: 'unix', host: '/dev/log', facility: 16, maxLevel: 7, minLevel: -1, len: 1024, format: null });
  t.like(spec('/dev/log local1 notice'), { facility: 17, maxLevel: 5 });
  t.like(spec('127.0.0.1 local0'), { transport: 'udp', host: '127.0.0.1', port: 514, family: 4 });
  t.like(spec('127.0.0.1:0 local0'), { port: 514 });
  t.like(spec('127.0.0.1:1514 len 2048 format rfc5424 local7 info notice'), { port: 1514, len: 2048, format: 'rfc5424', facility: 23, maxLevel: 6, minLevel: 5 });
  t.like(spec('[::1]:514 local0'), { host: '::1', family: 6 });
  t.like(spec('::1:515 local0'), { host: '::1', port: 515, family: 6 });
  t.like(spec('udp6@::1:514 local0'), { host: '::1', family: 6 });
  t.like(spec('ipv4@127.0.0.1 daemon'), { facility: 3 });
  t.like(spec('localhost:514 local0'), { host: 'localhost', family: 0 });
  t.like(spec('unix@/tmp/x local0'), { transport: 'unix', host: '/tmp/x' });
  t.like(spec('stdout format raw daemon'), { transport: 'fd', fd: 1, format: 'raw' });
  t.like(spec('stderr format short local0'), { transport: 'fd', fd: 2, format: 'short' });
  t.like(spec('fd@2 local0'), { fd: 2 });
});

test('validateLogTarget rejects with haproxy wording, and says what lb does not support', (t) => {
  const bad: Array<[string, RegExp]> = [
    ['127.0.0.1 format raw len 100 local0', /unknown log facility 'len'/],
    ['127.0.0.1 len 79 local0', /invalid log length '79', must be between 80 and 65535/],
    ['127.0.0.1 len 65536 local0', /invalid log length '65536'/],
    ['127.0.0.1 local0 bogus', /unknown optional log level 'bogus'/],
    ['127.0.0.1 local9', /unknown log facility 'local9'/],
    ['127.0.0.1', /expects <address> and <facility>/],
    ['127.0.0.1 local0 info notice extra', /cannot handle unexpected argument 'extra'/],
    ['::1 local0', /invalid address: ':' in '::1'/],
    ['127.0.0.1:99999 local0', /invalid port '99999'/],
    ['127.0.0.1 format bogus local0', /unknown log format 'bogus'/],
    ['relative/path local0', /invalid address: 'relative\/path'/],
    ['127.0.0.1:514-520 local0', /port range not permitted here/],
    ['1.2.3.400 local0', /invalid address: '1\.2\.3\.400'/],
    // Accepted by haproxy, not implemented by lb: rejected loudly.
    ['127.0.0.1 sample 1:2 local0', /'sample' is not supported by lb/],
    ['tcp@127.0.0.1:514 local0', /ring buffer/],
    ['ring@foo local0', /ring buffers are not implemented/],
    ['fd@3 local0', /only fd@1 \(stdout\) and fd@2 \(stderr\)/],
    ['abns@x local0', /abstract unix sockets/],
    ['global', /must be resolved by the caller/],
  ];
  for (const [line, re] of bad) {
    const r = validateLogTarget(line.split(' '));
    if (r.ok) t.fail(`accepted: ${line}`);
    else t.regex(r.error, re, line);
  }
});

// -------------------------------------------------------------------------------------- framing

test('syslog headers for every format (shapes captured from haproxy 2.6.12)', (t) => {
  const now = Date.UTC(2026, 10, 24, 22, 17, 32, 386) + 0.088;
  const h = new HeaderBuilder({ tag: 'haproxy', pid: 16586, hostname: null });
  t.is(h.build(null, 16, 6, now), '<134>Nov 24 22:17:32 haproxy[16586]: ');
  t.is(h.build('local', 19, 6, now), '<158>Nov 24 22:17:32 haproxy[16586]: ');
  t.is(h.build('rfc3164', 23, 6, now), '<190>Nov 24 22:17:32 localhost haproxy[16586]: ');
  t.is(h.build('rfc5424', 17, 6, now), '<142>1 2026-11-24T22:17:32.386088+00:00 - haproxy 16586 - - ');
  t.is(h.build('priority', 20, 6, now), '<166>');
  t.is(h.build('short', 20, 6, now), '<6>');
  t.is(h.build('timed', 20, 6, now), '<6>2026-11-24T22:17:32.386088+00:00 ');
  t.is(h.build('iso', 20, 6, now), '2026-11-24T22:17:32.386088+00:00 ');
  t.is(h.build('raw', 20, 6, now), '');
  const named = new HeaderBuilder({ tag: 'haproxy', pid: 18301, hostname: 'myhost' });
  // log-send-hostname switches the default format to rfc3164.
  t.is(named.build(null, 16, 6, now), '<134>Nov 24 22:17:32 myhost haproxy[18301]: ');
  t.is(named.build('rfc5424', 17, 6, now), '<142>1 2026-11-24T22:17:32.386088+00:00 myhost haproxy 18301 - - ');
  // RFC 3164: single-digit days are space-padded.
  t.is(h.build(null, 16, 3, Date.UTC(2026, 1, 6, 1, 2, 3)), '<131>Feb  6 01:02:03 haproxy[16586]: ');
});

// ------------------------------------------------------------------------------------------ UDP

async function udpReceiver(): Promise<{ port: number; sock: dgram.Socket; next: (n: number, ms?: number) => Promise<Buffer[]> }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  const next = async (n: number, ms = 2000): Promise<Buffer[]> => {
    const end = Date.now() + ms;
    while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return got.splice(0);
  };
  return { port: sock.address().port, sock, next };
}

const FIXED_NOW = (): number => Date.UTC(2026, 10, 24, 22, 16, 31, 0) + 0.5;

test('UDP syslog end to end: framing, level filter, minimum level cap, len truncation', async (t) => {
  const rx = await udpReceiver();
  const logger = new Logger(
    [
      spec(`127.0.0.1:${rx.port} local0`),
      spec(`127.0.0.1:${rx.port} local1 notice`),
      spec(`127.0.0.1:${rx.port} len 80 local2 debug notice`),
    ],
    { pid: 4242, now: FIXED_NOW },
  );
  const line = '127.0.0.1:42768 [24/Nov/2026:22:16:30.951] fe1 be1/s1 0/0/1002/1/1003 200 137 - - ---- 1/1/0/0/1 0/0 "GET / HTTP/1.1"';
  logger.log(LOG_INFO, line);
  const first = (await rx.next(2)).map((b) => b.toString('latin1')).sort();
  t.deepEqual(first, [
    `<134>Nov 24 22:16:31 haproxy[4242]: ${line}\n`,
    // local2 has a minimum level of notice: info is less severe, so it is not capped (18*8+6).
    `${`<150>Nov 24 22:16:31 haproxy[4242]: ${line}`.slice(0, 80)}\n`,
  ].sort());
  t.is(Buffer.byteLength(first.find((s) => s.startsWith('<150>')) ?? ''), 81);
  logger.log(0, 'emergency');
  const second = (await rx.next(3)).map((b) => b.toString('latin1')).sort();
  // local1 notice now receives it; local2's min level 'notice' caps emerg (0) to notice (5): 18*8+5.
  t.deepEqual(second, ['<128>Nov 24 22:16:31 haproxy[4242]: emergency\n', '<136>Nov 24 22:16:31 haproxy[4242]: emergency\n', '<149>Nov 24 22:16:31 haproxy[4242]: emergency\n'].sort());
  const stats = logger.stats();
  t.is(stats[1]?.filtered, 1);
  t.is(stats[0]?.sent, 2);
  await logger.close();
  rx.sock.close();
});

test('UDP: a host name is resolved once and messages are not lost meanwhile', async (t) => {
  const rx = await udpReceiver();
  const logger = new Logger([spec(`localhost:${rx.port} format raw local0`)], { now: FIXED_NOW });
  for (let i = 0; i < 5; i++) logger.log(LOG_INFO, `m${i}`);
  const got = (await rx.next(5)).map((b) => b.toString());
  t.deepEqual(got, ['m0\n', 'm1\n', 'm2\n', 'm3\n', 'm4\n']);
  await logger.close();
  rx.sock.close();
});

test('the message is limited to the largest len - 1 (1023 by default), as haproxy line buffer is', async (t) => {
  const rx = await udpReceiver();
  const logger = new Logger([spec(`127.0.0.1:${rx.port} format raw local0`)], { now: FIXED_NOW });
  logger.log(LOG_INFO, 'x'.repeat(5000));
  const [d] = await rx.next(1);
  t.is(d?.length, 1024); // 1023 + '\n', exactly what haproxy's raw stdout target wrote
  await logger.close();
  rx.sock.close();
});

test('UDP backlog is bounded: a burst beyond it is dropped and counted, never queued forever', async (t) => {
  const rx = await udpReceiver();
  const logger = new Logger([spec(`127.0.0.1:${rx.port} format raw local0`)], { now: FIXED_NOW, maxInflight: 4 });
  for (let i = 0; i < 200; i++) logger.log(LOG_INFO, `burst ${i}`);
  await rx.next(200, 500);
  const s = logger.stats()[0];
  t.truthy(s);
  t.is((s?.sent ?? 0) + (s?.dropped ?? 0), 200);
  t.true((s?.dropped ?? 0) > 0, 'synchronous burst larger than the in-flight bound must drop');
  await logger.close();
  rx.sock.close();
});

// -------------------------------------------------------------------------------- unix datagram

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

test('unix datagram target (/dev/log style): one datagram per message, exact bytes', async (t) => {
  if (!have('perl') || !have('python3')) {
    t.log('SKIPPED: perl (sender) or python3 (test receiver) is missing');
    t.pass();
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lblog-'));
  const sockPath = path.join(dir, 'log.sock');
  // python3 binds a SOCK_DGRAM unix socket and prints each datagram as one hex line.
  const rx = spawn('python3', ['-c', [
    'import socket,sys',
    's=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(sockPath)})`,
    'print("ready",flush=True)',
    's.settimeout(10)',
    'while True:',
    '  d=s.recv(65536)',
    '  print(d.hex(),flush=True)',
  ].join('\n')]);
  let out = '';
  rx.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const logger = new Logger([spec(`${sockPath} local3`), spec(`${sockPath} local1 notice`)], { pid: 77, now: FIXED_NOW });
  const msgs = ['first line', 'second "line" with\nnewline', 'x'.repeat(2000)];
  for (const m of msgs) logger.log(LOG_INFO, m);
  const want = 3;
  while (out.trim().split('\n').length < want + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const got = out.trim().split('\n').slice(1).map((h) => Buffer.from(h, 'hex').toString('latin1'));
  t.deepEqual(got, [
    '<158>Nov 24 22:16:31 haproxy[77]: first line\n',
    '<158>Nov 24 22:16:31 haproxy[77]: second "line" with\nnewline\n',
    `${`<158>Nov 24 22:16:31 haproxy[77]: ${'x'.repeat(1023)}`.slice(0, 1024)}\n`,
  ]);
  t.is(logger.stats()[1]?.filtered, 3);
  await logger.close();
  rx.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('unix datagram target without a listener: drops are counted, nothing stalls', async (t) => {
  if (!have('perl')) {
    t.log('SKIPPED: perl is missing');
    t.pass();
    return;
  }
  const logger = new Logger([spec(`${path.join(os.tmpdir(), `absent-${process.pid}.sock`)} local0`)], { now: FIXED_NOW });
  const t0 = Date.now();
  for (let i = 0; i < 50; i++) logger.log(LOG_INFO, `lost ${i}`);
  t.true(Date.now() - t0 < 200, 'logging must not block');
  const end = Date.now() + 10_000;
  while ((logger.stats()[0]?.dropped ?? 0) < 50 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.is(logger.stats()[0]?.dropped, 50);
  t.is(logger.stats()[0]?.sent, 0);
  await logger.close();
});

test('unix datagram target with a missing helper binary: drops, no throw', async (t) => {
  const logger = new Logger([spec('/dev/log local0')], { now: FIXED_NOW, perl: '/nonexistent/perl' });
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 10; i++) logger.log(LOG_INFO, 'x');
  t.is(logger.stats()[0]?.dropped, 10);
  await logger.close();
});

// ------------------------------------------------------------------------------------------- fd

test('fd target writes raw lines to stdout (child process)', async (t) => {
  const node = process.execPath;
  const mod = path.resolve('lb/log/targets.ts');
  const code = `import { Logger, validateLogTarget } from ${JSON.stringify(mod)};
const s = validateLogTarget(['stdout', 'format', 'short', 'local0']);
if (!s.ok) throw new Error(s.error);
const l = new Logger([s.value]);
l.log(6, 'hello stdout'); l.log(3, 'second');
await l.close();`;
  // Asynchronous: a synchronous child would block this file's other tests (their deadlines ran
  // out while the event loop waited for it on a loaded machine).
  const { stdout: out } = await execFileAsync(node, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  t.is(out, '<6>hello stdout\n<3>second\n');
});

test('fd target on a stalled pipe never blocks the event loop; excess is dropped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lblog-'));
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // O_RDWR keeps a reader attached (nobody reads), O_NONBLOCK makes a full pipe answer EAGAIN.
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const s: LogTargetSpec = { ...spec('stdout format raw local0'), fd };
  const logger = new Logger([s], { maxQueuedBytes: 256 * 1024 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const line = 'y'.repeat(999);
  for (let i = 0; i < 1000; i++) {
    logger.log(LOG_INFO, line);
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  clearInterval(timer);
  await logger.close();
  const st = logger.stats()[0];
  t.true(ticks > 10, `event loop kept running (${ticks} ticks)`);
  t.is((st?.sent ?? 0) + (st?.dropped ?? 0), 1000);
  t.true((st?.dropped ?? 0) > 0);
  t.true((st?.sent ?? 0) > 0 && (st?.sent ?? 0) * 1000 <= 65536 + 256 * 1024, `sent ${st?.sent}`);
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
});
