// hactl and the control socket, in process: runCli() against Daemons on fake hosts (control.ts's
// real unix socket in a temp directory), plus the protocol's edge cases.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { runCli, settingsPath } from '../../../ha-agent/cli.ts';
import { ControlServer, controlRequest, parseRequest } from '../../../ha-agent/control.ts';
import type { ControlHandler } from '../../../ha-agent/control.ts';
import { MemoryTransportHub } from '../../../ha-agent/net/transport.ts';
import { FakeClock, instanceConf, makeNode, tempDir, writeConf } from '../daemon/fakes.ts';
import type { TestNode } from '../daemon/fakes.ts';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(argv: readonly string[], env: Record<string, string> = {}): Promise<Out> {
  let stdout = '';
  let stderr = '';
  return runCli(argv, {
    env: { HOME: '/nonexistent', ...env },
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  }).then((code) => ({ code, stdout, stderr }));
}

async function pair(t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ a: TestNode; b: TestNode; clock: FakeClock; dir: string; sockA: string; sockB: string; confA: string }> {
  const dir = tempDir();
  const clock = new FakeClock();
  const hub = new MemoryTransportHub();
  const sockA = join(dir, 'a.sock');
  const sockB = join(dir, 'b.sock');
  const confA = writeConf(dir, 'a.conf', instanceConf({ priority: 150, state: 'MASTER' }));
  const a = makeNode({ hub, clock, address: '198.18.0.1', configFile: confA, controlSocket: sockA });
  const b = makeNode({ hub, clock, address: '198.18.0.2', configFile: writeConf(dir, 'b.conf', instanceConf({ priority: 100 })), controlSocket: sockB });
  await a.daemon.start();
  await b.daemon.start();
  t.teardown(async () => {
    await a.daemon.stop();
    await b.daemon.stop();
  });
  await clock.advance(1000);
  return { a, b, clock, dir, sockA, sockB, confA };
}

test('status --json and the human table come from the agent over its socket', async (t) => {
  const p = await pair(t);
  const j = await cli(['--socket', p.sockA, 'status', '--json']);
  t.is(j.code, 0, j.stderr);
  const st: unknown = JSON.parse(j.stdout);
  t.like(st, { instances: [{ name: 'VI_1', state: 'MASTER', basePriority: 150, effectivePriority: 150, holdsVip: true, peer: { address: '198.18.0.2', priority: 100, role: 'backup' } }] });
  t.like(st, { instances: [{ lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master-down' } }] });
  const h = await cli(['--socket', p.sockB, 'status']);
  t.is(h.code, 0);
  t.regex(h.stdout, /^INSTANCE\s+STATE\s+PRIORITY\s+VIP\s+HOLDS VIP\s+PEER$/m);
  t.regex(h.stdout, /^VI_1\s+BACKUP\s+100 \(base 100\)\s+198\.18\.0\.100\/24\s+no\s+198\.18\.0\.1 MASTER prio 150/m);
  t.regex(h.stdout, /last transition: INIT → BACKUP \(startup\)/);
  t.regex(h.stdout, /dropped adverts: none/);
});

test('the socket is mode 0600; a stale socket file is replaced; a live one is refused', async (t) => {
  const p = await pair(t);
  t.is(statSync(p.sockA).mode & 0o777, 0o600);
  // A second agent on the same live socket must not steal it.
  const handler: ControlHandler = {
    status: () => Promise.reject(new Error('unused')),
    switchover: () => Promise.reject(new Error('unused')),
    reload: () => Promise.reject(new Error('unused')),
  };
  await t.throwsAsync(() => ControlServer.listen(p.sockA, handler), { code: 'ERR_HA_CONTROL_IN_USE' });
  // A stale socket (left by a SIGKILLed agent: the file exists, nobody listens) is removed at start.
  const stale = join(p.dir, 'stale.sock');
  await writeStaleSocket(stale);
  t.true(statSync(stale).isSocket());
  const cs = await ControlServer.listen(stale, handler);
  t.is(statSync(stale).mode & 0o777, 0o600);
  await cs.close();
  t.false(existsSync(stale));
  // A regular file in the way is never deleted.
  const plain = join(p.dir, 'plain');
  writeFileSync(plain, 'x');
  await t.throwsAsync(() => ControlServer.listen(plain, handler), { code: 'ERR_HA_CONTROL_IN_USE' });
  t.is(readFileSync(plain, 'utf8'), 'x');
});

/** Leaves a socket inode nobody listens on (what a SIGKILLed agent leaves behind). */
async function writeStaleSocket(path: string): Promise<void> {
  // Asynchronous: a synchronous child would stall the other tests of this file.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  if (!existsSync(path)) throw new Error(`could not create a stale socket: ${err}`);
}

test('unreachable agent → exit 2 and the message names the socket', async (t) => {
  const dir = tempDir();
  const sock = join(dir, 'nobody.sock');
  const r = await cli(['--socket', sock, 'status']);
  t.is(r.code, 2);
  t.true(r.stderr.includes(sock), r.stderr);
  t.regex(r.stderr, /ENOENT/);
  const sw = await cli(['--socket', sock, 'switchover']);
  t.is(sw.code, 2);
});

test('hactl config set socket remembers the path in $XDG_CONFIG_HOME/hapair/hactl.json', async (t) => {
  const p = await pair(t);
  const xdg = join(p.dir, 'xdg');
  const env = { XDG_CONFIG_HOME: xdg };
  const set = await cli(['config', 'set', 'socket', p.sockB], env);
  t.is(set.code, 0, set.stderr);
  t.is(settingsPath(env), join(xdg, 'hapair', 'hactl.json'));
  t.deepEqual(JSON.parse(readFileSync(join(xdg, 'hapair', 'hactl.json'), 'utf8')), { socket: p.sockB });
  t.is((await cli(['config', 'get', 'socket'], env)).stdout.trim(), p.sockB);
  const st = await cli(['status', '--json'], env);
  t.is(st.code, 0, st.stderr);
  t.like(JSON.parse(st.stdout), { instances: [{ state: 'BACKUP' }] });
  // --socket wins over the remembered path.
  t.like(JSON.parse((await cli(['--socket', p.sockA, 'status', '--json'], env)).stdout), { instances: [{ state: 'MASTER' }] });
  t.is((await cli(['config', 'set', 'colour', 'red'], env)).code, 1);
  t.is((await cli(['config', 'unset', 'socket'], env)).code, 0);
  t.is((await cli(['config', 'get', 'socket'], env)).stdout.trim(), '/run/ha-agent.sock');
});

test('switchover through hactl: refused on the backup (exit 1), done on the master (exit 0)', async (t) => {
  const p = await pair(t);
  const refused = await cli(['--socket', p.sockB, 'switchover']);
  t.is(refused.code, 1);
  t.regex(refused.stdout, /VI_1: refused \[not-master\]/);
  const unknown = await cli(['--socket', p.sockA, 'switchover', '--instance', 'VI_9']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no vrrp_instance 'VI_9'.*ERR_HA_CONTROL_BAD_ARG/);
  const pending = cli(['--socket', p.sockA, 'switchover', '--instance', 'VI_1', '--json']);
  // The agent waits on its (fake) clock for the peer's MASTER advert.
  for (let i = 0; i < 20 && p.b.daemon.instances.get('VI_1')?.state !== 'master'; i++) await p.clock.advance(10);
  await p.clock.advance(20);
  const done = await pending;
  t.is(done.code, 0, done.stdout + done.stderr);
  t.like(JSON.parse(done.stdout), { results: [{ instance: 'VI_1', outcome: 'done', priority: 99 }] });
  t.true(p.b.host.holds('198.18.0.100'));
  t.false(p.a.host.holds('198.18.0.100'));
});

test('reload through hactl: changes listed; an invalid file → exit 1 with every diagnostic, nothing changed', async (t) => {
  const p = await pair(t);
  writeFileSync(p.confA, instanceConf({ priority: 160, state: 'MASTER' }));
  const ok = await cli(['--socket', p.sockA, 'reload']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /VI_1: priority 150 → 160 \(no transition\)/);
  writeFileSync(p.confA, `${instanceConf({ priority: 170, state: 'MASTER' })}\nvrrp_instance X {\n  virtual_router_id 999\n}\n`);
  const bad = await cli(['--socket', p.sockA, 'reload']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /virtual_router_id 999 out of range/);
  t.regex(bad.stderr, /has no interface/);
  t.regex(bad.stderr, /reload rejected/);
  const st = await cli(['--socket', p.sockA, 'status', '--json']);
  t.like(JSON.parse(st.stdout), { instances: [{ basePriority: 160, state: 'MASTER' }], lastReload: { ok: false } });
});

test('control protocol: garbage, unknown commands and bad arguments get coded errors; the connection survives', async (t) => {
  t.throws(() => parseRequest('nope'), { code: 'ERR_HA_CONTROL_PROTOCOL' });
  t.throws(() => parseRequest('[1]'), { code: 'ERR_HA_CONTROL_PROTOCOL' });
  t.throws(() => parseRequest('{"cmd":"rm -rf"}'), { code: 'ERR_HA_CONTROL_UNKNOWN_CMD' });
  t.throws(() => parseRequest('{"cmd":"switchover","instance":5}'), { code: 'ERR_HA_CONTROL_BAD_ARG' });
  t.deepEqual(parseRequest('{"cmd":"switchover","instance":"VI_1","id":7}'), { cmd: 'switchover', instance: 'VI_1', id: 7 });
  const p = await pair(t);
  // Several requests on one connection, answered in order, ids echoed.
  const lines = await new Promise<string[]>((resolve, reject) => {
    const s = connect(p.sockA);
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('data', (c: string) => {
      buf += c;
      const got = buf.split('\n').filter((l) => l !== '');
      if (got.length === 3) {
        s.end();
        resolve(got);
      }
    });
    s.write('this is not json\n{"cmd":"frobnicate","id":"x"}\n{"cmd":"status","id":3}\n');
  });
  const [a, b, c] = lines.map((l): unknown => JSON.parse(l));
  t.like(a, { ok: false, error: { code: 'ERR_HA_CONTROL_PROTOCOL' } });
  t.like(b, { ok: false, error: { code: 'ERR_HA_CONTROL_UNKNOWN_CMD' } });
  t.like(c, { ok: true, id: 3, result: { instances: [{ name: 'VI_1' }] } });
  const r = await controlRequest(p.sockA, { cmd: 'status' });
  t.true(r.ok);
});

test('usage errors exit 1 without contacting an agent', async (t) => {
  const r = await cli(['--socket', '/nonexistent.sock', 'bogus']);
  t.is(r.code, 1);
  t.regex(r.stderr, /unknown command 'bogus'/);
  const h = await cli(['--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /switchover/);
});

test('a second agent on a live control socket fails before touching any VIP', async (t) => {
  const p = await pair(t);
  const clock = new FakeClock();
  const c = makeNode({ hub: new MemoryTransportHub(), clock, address: '198.18.0.3', configFile: p.confA, controlSocket: p.sockA });
  await t.throwsAsync(() => c.daemon.start(), { code: 'ERR_HA_CONTROL_IN_USE' });
  t.deepEqual(c.host.runner.argv, []);
  t.is(c.transport, undefined);
  // The first agent still answers.
  t.is((await cli(['--socket', p.sockA, 'status', '--json'])).code, 0);
});
