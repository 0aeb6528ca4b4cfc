// The raw TCP handle path of plain checks (lb/checks/raw-tcp.ts) against real loopback servers:
// the same statuses and texts as the net.Socket path, IPv6, the host-name fallback, and no
// handle left behind, whatever ended the check.
import test from 'ava';
import net from 'node:net';
import { BackendHealth, CheckScheduler, runAgentCheck, runHttpCheck, runTcpCheck, runTcpCheckRules, type CheckResult } from '../../lb/checks/index.ts';
import { setRawTcpChecks } from '../../lb/checks/conn.ts';
import { RawTcp, rawTcpAvailable, type RawTcpOwner } from '../../lb/checks/raw-tcp.ts';
import { blackholePort, closedPort, recorder } from './helpers.ts';

const T = { inter: 2000 };
const ok200 = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
const err500 = 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops';
const HANDLES = new Set(['TCPSocketWrap', 'ConnectWrap', 'TCPConnectWrap', 'WriteWrap']);

/** Client-side TCP handles and requests of this process (the servers of these tests are counted too while open). */
function tcpResources(): number {
  return process.getActiveResourcesInfo().filter((r) => HANDLES.has(r)).length;
}

/** Lets libuv run its close callbacks (a closed handle leaves the list there). */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

/** Counts net.Socket connects during `fn` (the fallback path), restoring the prototype after. */
async function countSocketConnects<R>(fn: () => Promise<R>): Promise<{ value: R; connects: number }> {
  const proto = net.Socket.prototype;
  const orig = Object.getOwnPropertyDescriptor(proto, 'connect');
  const original: unknown = orig?.value;
  if (typeof original !== 'function') throw new Error('net.Socket.prototype.connect is not a function');
  let connects = 0;
  Object.defineProperty(proto, 'connect', {
    ...orig,
    value: function (this: net.Socket, ...args: unknown[]): unknown {
      connects++;
      return Reflect.apply(original, this, args);
    },
  });
  try {
    return { value: await fn(), connects };
  } finally {
    if (orig !== undefined) Object.defineProperty(proto, 'connect', orig);
  }
}

/** A server on ::1, or undefined where IPv6 loopback is unavailable. */
async function v6Server(reply: string): Promise<{ port: number; close: () => Promise<void> } | undefined> {
  const socks = new Set<net.Socket>();
  const s = net.createServer((c) => {
    socks.add(c);
    c.on('error', () => {});
    c.once('data', () => c.end(reply));
  });
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => resolve(true));
  });
  if (!ok) return undefined;
  const a = s.address();
  return {
    port: typeof a === 'object' && a !== null ? a.port : 0,
    close: async () => {
      for (const c of socks) c.destroy();
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
}

test.serial('this Node offers the handle API, and IP-literal checks use it (no net.Socket)', async (t) => {
  t.true(rawTcpAvailable, 'process.binding tcp_wrap/stream_wrap missing: every check would take the net.Socket path');
  const s = await recorder(ok200);
  try {
    const raw = await countSocketConnects(() => runHttpCheck({ host: '127.0.0.1', port: s.port }, T, { request: { uri: '/' } }));
    t.like(raw.value, { status: 'L7OK', code: 200 });
    t.is(raw.connects, 0);
    // A host name needs a lookup: net.Socket does it.
    const named = await countSocketConnects(() => runHttpCheck({ host: 'localhost', port: s.port }, T, { request: { uri: '/' } }));
    t.is(named.connects, 1);
    t.like(named.value, { status: 'L7OK', code: 200 });
    // Turned off: the net.Socket path for literals too.
    const was = setRawTcpChecks(false);
    try {
      const off = await countSocketConnects(() => runTcpCheck({ host: '127.0.0.1', port: s.port }, T));
      t.is(off.connects, 1);
      t.is(off.value.status, 'L4OK');
    } finally {
      setRawTcpChecks(was);
    }
  } finally {
    await s.close();
  }
});

test('raw: refused → L4CON "Connection refused" for tcp, http, tcp-check and agent', async (t) => {
  const port = await closedPort();
  const ep = { host: '127.0.0.1', port };
  const tcp = await runTcpCheck(ep, T);
  t.like(tcp, { status: 'L4CON', info: 'Connection refused' });
  t.true(tcp.durationMs < 500);
  t.like(await runHttpCheck(ep, T, { request: {} }), { status: 'L4CON', info: 'Connection refused' });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'x' }]), { status: 'L4CON', info: 'Connection refused at initial connection step of tcp-check' });
  t.like((await runAgentCheck(ep, T, {}, 1)).result, { status: 'L4CON', info: 'Connection refused' });
});

test('raw: a server that accepts and never answers → L7TOUT after `timeout check`', async (t) => {
  const s = await recorder(undefined);
  try {
    const r = await runHttpCheck({ host: '127.0.0.1', port: s.port }, { inter: 2000, check: 120, connect: 1000 }, { request: { uri: '/' } });
    t.like(r, { status: 'L7TOUT', info: '' });
    t.true(r.durationMs >= 115 && r.durationMs < 1000, `duration ${r.durationMs}`);
    // The request was on the wire before the silence.
    t.is(s.received[0], 'OPTIONS / HTTP/1.0\r\n\r\n');
  } finally {
    await s.close();
  }
});

test('raw: black-holed connect → L4TOUT within the connect deadline', async (t) => {
  const bh = await blackholePort();
  if (bh === undefined) {
    t.log('SKIPPED: python3 is not available for the full-backlog listener');
    t.pass();
    return;
  }
  try {
    const r = await runTcpCheck({ host: '127.0.0.1', port: bh.port }, { inter: 1000, connect: 120, check: 400 });
    t.like(r, { status: 'L4TOUT', info: '' });
    t.true(r.durationMs >= 115 && r.durationMs < 400, `duration ${r.durationMs}`);
    const h = await runHttpCheck({ host: '127.0.0.1', port: bh.port }, { inter: 150 }, { request: {} });
    t.like(h, { status: 'L4TOUT', info: '' });
  } finally {
    bh.stop();
  }
});

test.serial('raw: IPv6 loopback ::1 (tcp, http, refused)', async (t) => {
  const s = await v6Server(ok200);
  if (s === undefined) {
    t.log('SKIPPED: ::1 is not available here');
    t.pass();
    return;
  }
  try {
    const c = await countSocketConnects(async () => [await runTcpCheck({ host: '::1', port: s.port }, T), await runHttpCheck({ host: '::1', port: s.port }, T, { request: { uri: '/' } })]);
    t.is(c.connects, 0, 'the raw path served ::1');
    t.like(c.value[0], { status: 'L4OK', info: '' });
    t.like(c.value[1], { status: 'L7OK', code: 200 });
  } finally {
    await s.close();
  }
  t.like(await runTcpCheck({ host: '::1', port: s.port }, T), { status: 'L4CON', info: 'Connection refused' });
});

/** Runs `fn` on the raw path, then on the net.Socket path. */
async function bothPaths<R>(fn: () => Promise<R>): Promise<[R, R]> {
  const raw = await fn();
  const was = setRawTcpChecks(false);
  try {
    return [raw, await fn()];
  } finally {
    setRawTcpChecks(was);
  }
}

/** The parts of a result that do not depend on timing. */
function verdict(r: CheckResult): Pick<CheckResult, 'status' | 'code' | 'info'> {
  return { status: r.status, code: r.code, info: r.info };
}

test.serial('raw and net.Socket paths agree: statuses, codes and texts', async (t) => {
  const cases: { name: string; reply: Parameters<typeof recorder>[0]; expect: CheckResult['status'] }[] = [
    { name: 'ok', reply: ok200, expect: 'L7OK' },
    { name: '500', reply: err500, expect: 'L7STS' },
    { name: 'garbage', reply: 'NOTHTTP\r\n\r\n', expect: 'L7RSP' },
    { name: 'closed early', reply: '', expect: 'L7RSP' },
    { name: 'oversized', reply: `HTTP/1.1 200 OK\r\nx-pad: ${'a'.repeat(20000)}\r\n\r\n`, expect: 'L7RSP' },
  ];
  for (const c of cases) {
    const s = await recorder(c.reply);
    const [raw, sock] = await bothPaths(() => runHttpCheck({ host: '127.0.0.1', port: s.port }, T, { request: { uri: '/' } }));
    t.deepEqual(verdict(raw), verdict(sock), c.name);
    t.is(raw.status, c.expect, c.name);
    await s.close();
  }
  // A peer that resets the connection once it has the request: SOCKERR with the strerror text.
  const rst = net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => c.resetAndDestroy());
  });
  await new Promise<void>((r) => rst.listen(0, '127.0.0.1', r));
  const a = rst.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const [raw, sock] = await bothPaths(() => runHttpCheck({ host: '127.0.0.1', port }, T, { request: { uri: '/' } }));
  t.deepEqual(verdict(raw), verdict(sock));
  t.like(raw, { status: 'SOCKERR', info: 'Connection reset by peer' });
  await new Promise<void>((r) => rst.close(() => r()));
});

test.serial('raw: a response split over several reads is put together (the shared buffer is copied out)', async (t) => {
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => {
      c.write('HTTP/1.1 200 OK\r\ncontent-');
      setTimeout(() => c.end('length: 5\r\n\r\nhello'), 30);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  const ep = { host: '127.0.0.1', port: typeof a === 'object' && a !== null ? a.port : 0 };
  try {
    const [raw, sock] = await bothPaths(() => runHttpCheck(ep, T, { request: { uri: '/' }, expects: [{ kind: 'string', value: 'hello' }] }));
    t.like(raw, { status: 'L7OK', code: 200 });
    t.deepEqual(verdict(raw), verdict(sock));
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
});

test.serial('raw: a full buffer stops reading and resetInput() resumes it (tcp-check)', async (t) => {
  // 20,000 bytes answer the first line: more than CHECK_BUFSIZE, so the reader pauses; the
  // rest and the answer to the second line must still arrive once the input is reset.
  const s = net.createServer((c) => {
    c.on('error', () => {});
    let got = '';
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got === 'ONE\n') c.write('a'.repeat(20000));
      else if (got === 'ONE\nTWO\n') c.write('DONE\n');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  const ep = { host: '127.0.0.1', port: typeof a === 'object' && a !== null ? a.port : 0 };
  const rules = [
    { action: 'send' as const, data: 'ONE\n' },
    { action: 'expect' as const, kind: 'string' as const, pattern: 'aaaa' },
    { action: 'send' as const, data: 'TWO\n' },
    { action: 'expect' as const, kind: 'string' as const, pattern: 'DONE' },
  ];
  try {
    const [raw, sock] = await bothPaths(() => runTcpCheckRules(ep, { inter: 2000, check: 1000, connect: 1000 }, rules));
    t.like(raw, { status: 'L7OK', info: '(tcp-check)' });
    t.deepEqual(verdict(raw), verdict(sock));
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** An owner that records what RawTcp reports. */
function recordingOwner(): RawTcpOwner & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    socketConnected: () => events.push('connected'),
    socketData: (chunk) => events.push(`data ${chunk.length}`) > 0,
    socketEnd: () => events.push('end'),
    socketError: (err) => events.push(`error ${'code' in err ? String(err.code) : ''}`),
    socketClose: () => events.push('close'),
  };
}

test('RawTcp: non-literal hosts and bad ports are not its job; errors are reported once, after the call', async (t) => {
  const buf = Buffer.alloc(64);
  const o = recordingOwner();
  t.is(RawTcp.connect(o, 'localhost', 80, buf), undefined);
  t.is(RawTcp.connect(o, '127.1', 80, buf), undefined);
  t.is(RawTcp.connect(o, '127.0.0.1', 70000, buf), undefined);
  t.is(RawTcp.connect(o, '127.0.0.1', 1.5, buf), undefined);
  const refused = RawTcp.connect(o, '127.0.0.1', await closedPort(), buf);
  t.not(refused, undefined);
  t.deepEqual(o.events, []);
  await settle();
  t.deepEqual(o.events, ['error ECONNREFUSED', 'close']);
  refused?.close();
  refused?.close();
  t.deepEqual(o.events, ['error ECONNREFUSED', 'close']);
});

test('RawTcp: data, EOF, and close() with a reset reach the server as ECONNRESET', async (t) => {
  const serverSaw: string[] = [];
  const s = net.createServer((c) => {
    c.on('error', (e: NodeJS.ErrnoException) => serverSaw.push(e.code ?? 'error'));
    c.on('data', (d: Buffer) => {
      serverSaw.push(d.toString());
      if (d.toString() === 'bye') c.end('later');
      else c.write('pong');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const buf = Buffer.alloc(64);
  try {
    const o = recordingOwner();
    const c = RawTcp.connect(o, '127.0.0.1', port, buf);
    await settle();
    t.deepEqual(o.events, ['connected']);
    c?.write(Buffer.from('ping'));
    await settle();
    t.deepEqual(o.events, ['connected', 'data 4']);
    t.is(buf.toString('latin1', 0, 4), 'pong');
    c?.write(Buffer.from('bye'));
    await settle();
    t.deepEqual(o.events, ['connected', 'data 4', 'data 5', 'end']);
    t.true(c?.open);
    c?.close();
    t.false(c?.open);
    await settle();
    t.deepEqual(serverSaw, ['ping', 'bye', 'ECONNRESET']);
  } finally {
    await new Promise<void>((r) => s.close(() => r()));
  }
});

test.serial('no TCP handle is left once a scheduler with checks in flight is stopped', async (t) => {
  await settle();
  const before = tcpResources();
  const silent = await recorder(undefined);
  const okSrv = await recorder(ok200);
  const refused = await closedPort();
  const bh = await blackholePort();
  const be = new BackendHealth({ name: 'leak' });
  const sched = new CheckScheduler();
  const targets: { port: number; type: 'tcp' | 'http' }[] = [];
  for (let i = 0; i < 10; i++) {
    targets.push({ port: silent.port, type: 'http' }, { port: okSrv.port, type: 'http' }, { port: okSrv.port, type: 'tcp' }, { port: refused, type: 'http' });
    if (bh !== undefined) targets.push({ port: bh.port, type: 'tcp' });
  }
  targets.forEach((x, i) => {
    const state = be.add({ name: `s${i}`, check: { rise: 1, fall: 1 } }, { setUsable: () => {}, setWeight: () => {} });
    const base = { inter: 150, timeoutCheck: 250, timeoutConnect: 100 };
    sched.add({ state, host: '127.0.0.1', port: x.port, check: x.type === 'tcp' ? { type: 'tcp', ...base } : { type: 'http', ...base, http: { request: { uri: '/' } } } });
  });
  try {
    sched.start();
    // Let every server be checked at least once, then stop while checks are pending (the
    // silent and black-holed ones are in flight most of the time).
    const until = performance.now() + 5000;
    const unchecked = (): boolean => be.servers.some((s) => s.check?.last.status === 'INI');
    while ((unchecked() || sched.inFlight < 5) && performance.now() < until) await new Promise((r) => setTimeout(r, 2));
    t.true(sched.inFlight >= 5, `checks in flight when stopping: ${sched.inFlight}`);
    t.true(sched.completed >= targets.length, `completed ${sched.completed}`);
    await sched.stop();
    t.is(sched.inFlight, 0);
  } finally {
    await silent.close();
    await okSrv.close();
    bh?.stop();
  }
  await settle();
  t.is(tcpResources(), before, JSON.stringify(process.getActiveResourcesInfo()));
  // Every server got a verdict of the kind its target calls for.
  const statuses = new Set(be.servers.map((s) => s.check?.last.status));
  t.true(statuses.has('L7TOUT') && statuses.has('L7OK') && statuses.has('L4OK') && statuses.has('L4CON'), [...statuses].join(','));
  if (bh !== undefined) t.true(statuses.has('L4TOUT'));
});
