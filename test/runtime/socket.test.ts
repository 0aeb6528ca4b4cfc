// The runtime API over real sockets, driven with socat exactly as operators use it:
// `echo "show stat" | socat stdio unix-connect:/run/lb/admin.sock`, prompt mode, TCP, fd@, abns@.
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import diagnostics_channel from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { RuntimeApiServer, COMMAND_CHANNEL, lookupGroup, type StatsSocketSpec } from '../../lb/runtime/server.ts';
import { RuntimeError, type RuntimeErrorCode } from '../../lb/runtime/errors.ts';
import { differentialPool } from './fake-context.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const socatMissing = spawnSync('sh', ['-c', 'command -v socat']).status !== 0;

function pool(): ReturnType<typeof differentialPool> {
  return differentialPool({ web: 3, other: 4, st: 5 }, { s1: 18081, s2: 18082, s3: 18083, a: 18091, b: 18092 });
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lb-runtime-'));
}

/** `printf INPUT | socat -t 2 stdio TARGET`: the answer and socat's exit code. */
function socat(input: string, target: string): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('socat', ['-t', '2', 'stdio', target], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (err !== '') out += `[stderr] ${err}`;
      resolve({ out, code });
    });
    child.stdin.end(input);
  });
}

/** Reads a child's stdout until `pattern` appears (bounded in time). */
function waitFor(child: ChildProcess, pattern: string, ms = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      reject(new Error(`timeout waiting for ${JSON.stringify(pattern)}; got ${JSON.stringify(buf)}`));
    }, ms);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes(pattern)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(buf);
      }
    };
    child.stdout?.on('data', onData);
  });
}

function skipWithoutSocat(t: { log: (m: string) => void; pass: () => void }): boolean {
  if (!socatMissing) return false;
  t.log('SKIPPED LOUDLY: socat is not installed (apt-get install socat); the socket tests did not run');
  t.pass();
  return true;
}

async function startApi(sockets: StatsSocketSpec[], timeoutMs?: number): Promise<{ api: RuntimeApiServer; ctx: ReturnType<typeof pool> }> {
  const ctx = pool();
  const api = new RuntimeApiServer({ sockets, ctx, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  await api.start();
  return { api, ctx };
}

test('unix socket: echo "cmd" | socat stdio unix-connect:PATH, mode 660 applied', async (t) => {
  if (skipWithoutSocat(t)) return;
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api, ctx } = await startApi([{ address: { family: 'unix', host: sock }, mode: '660', level: 'admin' }]);
  t.teardown(async () => {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const st = fs.statSync(sock);
  t.true(st.isSocket());
  t.is(st.mode & 0o777, 0o660);
  t.deepEqual(await socat('show backend\n', `unix-connect:${sock}`), { out: '# name\nweb\nother\nst\n\n', code: 0 });
  t.deepEqual(await socat('set server web/s1 state drain;get weight web/s1\n', `unix-connect:${sock}`), { out: '\n50 (initial 50)\n\n', code: 0 });
  t.deepEqual(ctx.calls, ['admin web/s1 drain']);
  await api.stop();
  t.false(fs.existsSync(sock), 'stop removes the socket file it created');
});

test('ipv4@127.0.0.1: socat tcp, ";"-separated commands, several lines in one go', async (t) => {
  if (skipWithoutSocat(t)) return;
  const { api } = await startApi([{ address: { family: 'ipv4', host: '127.0.0.1', port: 0 }, level: 'admin' }]);
  t.teardown(() => api.stop());
  const addr = api.addresses()[0];
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  t.true(port > 0);
  t.deepEqual(await socat('get weight web/s1;get weight web/s2\nshow cli level\n', `tcp:127.0.0.1:${port}`), {
    out: '50 (initial 50)\n\n1 (initial 1)\n\nadmin\n\n',
    code: 0,
  });
});

test('levels are enforced per socket: user cannot disable a server, default level is operator', async (t) => {
  if (skipWithoutSocat(t)) return;
  const dir = tmpDir();
  const user = path.join(dir, 'user.sock');
  const oper = path.join(dir, 'oper.sock');
  const admin = path.join(dir, 'admin.sock');
  const { api, ctx } = await startApi([
    { address: { family: 'unix', host: user }, level: 'user' },
    { address: { family: 'unix', host: oper } },
    { address: { family: 'unix', host: admin }, level: 'admin' },
  ]);
  t.teardown(async () => {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  t.is((await socat('show cli level\n', `unix-connect:${oper}`)).out, 'operator\n\n');
  t.is((await socat('disable server web/s1\n', `unix-connect:${user}`)).out, 'Permission denied\n\n');
  t.is((await socat('disable server web/s1\n', `unix-connect:${oper}`)).out, 'Permission denied\n\n');
  t.is((await socat('show env HOME\n', `unix-connect:${user}`)).out, 'Permission denied\n\n');
  t.is((await socat('show env HOME\n', `unix-connect:${oper}`)).out, 'HOME=/root\n\n');
  t.deepEqual(ctx.calls, []);
  t.is((await socat('disable server web/s1\n', `unix-connect:${admin}`)).out, '\n');
  t.deepEqual(ctx.calls, ['admin web/s1 maint']);
});

test('interactive: prompt with socat, answers followed by "> ", quit ends socat', async (t) => {
  if (skipWithoutSocat(t)) return;
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api } = await startApi([{ address: { family: 'unix', host: sock }, level: 'admin' }]);
  const child = spawn('socat', ['stdio', `unix-connect:${sock}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  child.stdin.write('prompt\n');
  t.is(await waitFor(child, '> '), '\n> ');
  child.stdin.write('get weight web/s1\n');
  t.is(await waitFor(child, '\n> '), '50 (initial 50)\n\n> ');
  child.stdin.write('show cli level\n');
  t.is(await waitFor(child, '\n> '), 'admin\n\n> ');
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.write('quit\n');
  t.is(await exited, 0);
});

test('interactive with `socat readline` in a pseudo-terminal', async (t) => {
  if (skipWithoutSocat(t)) return;
  if (spawnSync('sh', ['-c', 'command -v script']).status !== 0) {
    t.log('SKIPPED LOUDLY: util-linux `script` is missing; readline mode not exercised');
    t.pass();
    return;
  }
  // Debian builds socat without readline (licence): `socat -V` then says "#undef WITH_READLINE".
  if (!/#define WITH_READLINE/.test(spawnSync('socat', ['-V']).stdout.toString())) {
    t.log('SKIPPED LOUDLY: this socat is built without readline; `socat readline` mode not exercised (prompt mode is, over stdio)');
    t.pass();
    return;
  }
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api } = await startApi([{ address: { family: 'unix', host: sock }, level: 'admin' }]);
  const child = spawn('script', ['-qfec', `socat readline unix-connect:${sock}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  child.stdin.write('prompt\n');
  await waitFor(child, '> ');
  child.stdin.write('get weight web/s1\n');
  t.regex(await waitFor(child, '(initial 50)'), /50 \(initial 50\)/);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.write('quit\n');
  t.is(await exited, 0);
});

test('stats timeout closes an idle interactive connection', async (t) => {
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api } = await startApi([{ address: { family: 'unix', host: sock }, level: 'admin' }], 300);
  t.teardown(async () => {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const c = net.connect({ path: sock });
  c.on('error', () => {});
  const t0 = Date.now();
  let got = '';
  c.on('data', (d: Buffer) => (got += d.toString()));
  c.write('prompt\n');
  await new Promise((resolve) => c.on('close', resolve));
  const elapsed = Date.now() - t0;
  t.is(got, '\n> ');
  t.true(elapsed >= 250 && elapsed < 3000, `closed after ${elapsed} ms`);
});

test('a stale socket file is replaced at start; group ownership applied', async (t) => {
  if (skipWithoutSocat(t)) return;
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  // A crashed process leaves its socket file: bound by a child that is killed before closing it.
  const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitFor(stale, 'up');
  stale.kill('SIGKILL');
  await new Promise((resolve) => stale.on('close', resolve));
  t.true(fs.statSync(sock).isSocket(), 'stale socket file left behind');
  const staleIno = fs.statSync(sock).ino;
  const root = process.getuid?.() === 0;
  const gid = lookupGroup('nogroup') ?? lookupGroup('nobody');
  const spec: StatsSocketSpec = { address: { family: 'unix', host: sock }, level: 'admin', mode: 0o640, ...(root && gid !== undefined ? { group: 'nogroup' } : {}) };
  const { api } = await startApi([spec]);
  t.teardown(async () => {
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const st = fs.statSync(sock);
  t.not(st.ino, staleIno);
  t.is(st.mode & 0o777, 0o640);
  if (root && gid !== undefined) t.is(st.gid, gid);
  else t.log('not root or no nogroup: group ownership not checked');
  t.is((await socat('show cli level\n', `unix-connect:${sock}`)).out, 'admin\n\n');
  t.deepEqual(fs.readdirSync(dir), ['admin.sock'], 'no temporary file left');
});

test('partial start: a failing socket closes those already bound; stop twice is fine', async (t) => {
  const dir = tmpDir();
  const good = path.join(dir, 'good.sock');
  const ctx = pool();
  const api = new RuntimeApiServer({
    ctx,
    sockets: [
      { address: { family: 'unix', host: good }, level: 'admin' },
      { address: { family: 'ipv4', host: '127.0.0.1', port: 0 } },
      { address: { family: 'unix', host: path.join(dir, 'missing', 'admin.sock') }, where: 'lb.cfg:3' },
    ],
  });
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(api.start(), { instanceOf: RuntimeError });
  t.is(err?.code, 'ERR_LB_RUNTIME_BIND');
  t.is(err?.message, `Binding [lb.cfg:3] for frontend GLOBAL: cannot bind UNIX socket (No such file or directory) [${path.join(dir, 'missing', 'admin.sock')}]`);
  t.false(fs.existsSync(good), 'the socket bound before the failure is gone');
  t.deepEqual(api.addresses(), []);
  await api.stop();
  await api.stop();
  t.pass();
});

test('TCP port already in use: coded error with the address', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const a = blocker.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  t.teardown(() => blocker.close());
  const api = new RuntimeApiServer({ ctx: pool(), sockets: [{ address: { family: 'ipv4', host: '127.0.0.1', port } }] });
  const err = await t.throwsAsync(api.start(), { instanceOf: RuntimeError });
  t.is(err?.message, `Binding for frontend GLOBAL: cannot bind socket (Address already in use) [127.0.0.1:${port}]`);
});

test('bad specs: sockpair@, unknown fd name, unknown user, missing port', async (t) => {
  const ctx = pool();
  const cases: [StatsSocketSpec, RuntimeErrorCode, string][] = [
    [{ address: { family: 'sockpair', host: '3' } }, 'ERR_LB_RUNTIME_ADDRESS', "'stats socket' : 'sockpair@' addresses are not supported by lb."],
    [{ address: { family: 'fd', host: 'nosuch' } }, 'ERR_LB_RUNTIME_ADDRESS', "'stats socket' : no inherited file descriptor named 'nosuch'."],
    [{ address: { family: 'unix', host: path.join(os.tmpdir(), 'never.sock') }, user: 'no-such-user-x' }, 'ERR_LB_RUNTIME_OWNER', "'stats socket' : ''user' : unknown user name 'no-such-user-x''"],
    [{ address: { family: 'ipv4', host: '127.0.0.1' } }, 'ERR_LB_RUNTIME_ADDRESS', "'stats socket' : missing port number in 'ipv4@127.0.0.1:'."],
  ];
  for (const [spec, code, message] of cases) {
    const api = new RuntimeApiServer({ ctx, sockets: [spec] });
    const err = await t.throwsAsync(api.start(), { instanceOf: RuntimeError });
    t.is(err?.code, code);
    t.is(err?.message, message);
  }
});

test('abns@: Linux abstract socket', async (t) => {
  if (skipWithoutSocat(t)) return;
  const name = `lb-runtime-test-${process.pid}`;
  const { api } = await startApi([{ address: { family: 'abns', host: name }, level: 'user' }]);
  t.teardown(() => api.stop());
  t.is((await socat('show cli level\n', `abstract-connect:${name}`)).out, 'user\n\n');
});

test('fd@N and fd@NAME: a listening socket inherited from the parent process', async (t) => {
  if (skipWithoutSocat(t)) return;
  for (const ref of ['3', 'admin']) {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const a = listener.address();
    const port = typeof a === 'object' && a !== null ? a.port : 0;
    // The fd number of our listening socket, to hand it to the child as its fd 3.
    const handle: unknown = Reflect.get(listener, '_handle');
    const fd = typeof handle === 'object' && handle !== null ? Reflect.get(handle, 'fd') : undefined;
    if (typeof fd !== 'number' || fd < 0) {
      listener.close();
      t.log('SKIPPED LOUDLY: cannot read the listening fd in this Node version');
      t.pass();
      return;
    }
    const child = spawn(process.execPath, [path.join(HERE, 'fd-child.ts'), ref], { stdio: ['ignore', 'pipe', 'inherit', fd] });
    t.teardown(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    });
    t.is(await waitFor(child, '\n'), 'ready\n');
    // Only the child accepts from now on.
    await new Promise((resolve) => listener.close(resolve));
    t.is((await socat('get weight web/s1\n', `tcp:127.0.0.1:${port}`)).out, '50 (initial 50)\n\n', `fd@${ref}`);
    const exited = new Promise((resolve) => child.on('close', resolve));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
  }
});

test('every command is published on lb:runtime:command', async (t) => {
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api } = await startApi([{ address: { family: 'unix', host: sock }, level: 'operator' }]);
  const seen: unknown[] = [];
  // Other tests run concurrently in this file: keep only this test's socket.
  const onMessage = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && Reflect.get(m, 'socket') === sock) seen.push(m);
  };
  diagnostics_channel.subscribe(COMMAND_CHANNEL.name, onMessage);
  t.teardown(async () => {
    diagnostics_channel.unsubscribe(COMMAND_CHANNEL.name, onMessage);
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const c = net.connect({ path: sock });
  c.resume();
  c.write('show backend;get weight web/s1\n');
  await new Promise((resolve) => c.on('close', resolve));
  t.deepEqual(seen, [
    { level: 'operator', args: ['show', 'backend'], socket: sock },
    { level: 'operator', args: ['get', 'weight', 'web/s1'], socket: sock },
  ]);
});

test('stop() closes open interactive connections', async (t) => {
  const dir = tmpDir();
  const sock = path.join(dir, 'admin.sock');
  const { api } = await startApi([{ address: { family: 'unix', host: sock }, level: 'admin' }]);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const c = net.connect({ path: sock });
  c.on('error', () => {});
  c.write('prompt\n');
  await new Promise((resolve) => c.once('data', resolve));
  const closed = new Promise((resolve) => c.on('close', resolve));
  await api.stop();
  await closed;
  t.pass();
});
