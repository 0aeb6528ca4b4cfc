// Differential test: Debian's haproxy 2.6 with a stats socket in a temp dir, and lb's runtime API
// over a fake pool built from the same configuration. The same bytes go to both sockets through
// socat, and the answers are compared byte for byte, except where lb deliberately differs (its
// command list is smaller: only lines for commands lb has are compared there).
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RuntimeApiServer } from '../../lb/runtime/server.ts';
import { runCommand, CHECK_STATUS_CODES, COMMANDS } from '../../lb/runtime/commands.ts';
import { usageMessage, type HelpEntry } from '../../lb/runtime/help.ts';
import { splitCommands } from '../../lb/runtime/session.ts';
import { FakeRuntime } from './fake-context.ts';

const missing = spawnSync('sh', ['-c', 'command -v haproxy && command -v socat']).status !== 0;

function socat(input: string, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('socat', ['-t', '2', 'stdio', target], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(input);
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise((r) => s.close(r));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Env {
  dir: string;
  hap: { admin: string; user: string };
  lb: { admin: string; user: string };
  haproxy: ChildProcess;
  api: RuntimeApiServer;
  ctx: FakeRuntime;
  ids: Record<string, number>;
  ports: Record<string, number>;
}

let envPromise: Promise<Env> | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

test.after.always(async () => {
  for (const c of cleanups.toReversed()) await c();
});

/** One haproxy and one lb for all tests of this file (tests run serially: they change state). */
function env(): Promise<Env> {
  envPromise ??= (async (): Promise<Env> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-runtime-diff-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    // HTTP backends for the L7 checks: one answers 200, one 500. One TCP listener for L4OK.
    const ok = http.createServer((_q, r) => r.end('ok'));
    const bad = http.createServer((_q, r) => {
      r.statusCode = 500;
      r.end('no');
    });
    const tcp = net.createServer((c) => c.destroy());
    const listenPort = async (s: net.Server): Promise<number> => {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      const a = s.address();
      return typeof a === 'object' && a !== null ? a.port : 0;
    };
    const ports: Record<string, number> = {
      s1: await freePort(),
      s2: await freePort(),
      s3: await freePort(),
      a: await freePort(),
      b: await freePort(),
      t4: await listenPort(tcp),
      y200: await listenPort(ok),
      x500: await listenPort(bad),
    };
    cleanups.push(() => {
      ok.close();
      bad.close();
      tcp.close();
    });
    const cfg = `global
    stats socket ${dir}/hap-admin.sock mode 660 level admin
    stats socket ${dir}/hap-user.sock level user
    stats timeout 5s
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
backend web
    server s1 127.0.0.1:${ports.s1} weight 50
    server s2 127.0.0.1:${ports.s2} check inter 500ms
    server s3 127.0.0.1:${ports.s3}
backend other
    server a 127.0.0.1:${ports.a}
backend st
    balance static-rr
    server b 127.0.0.1:${ports.b} weight 4
backend chk4
    server t4 127.0.0.1:${ports.t4} check inter 500ms
backend chk7
    mode http
    option httpchk GET /
    server y200 127.0.0.1:${ports.y200} check inter 500ms
    server x500 127.0.0.1:${ports.x500} check inter 500ms
`;
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), cfg);
    const haproxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LB_DIFF_VAR: 'hello world' },
    });
    cleanups.push(() => {
      if (haproxy.exitCode === null && haproxy.pid !== undefined) process.kill(haproxy.pid, 'SIGKILL');
    });
    const hapAdmin = `unix-connect:${dir}/hap-admin.sock`;
    // Ready when every check has settled: s2 L4CON, t4 L4OK, y200 L7OK, x500 L7STS.
    const state = await until('haproxy checks settled', async () => {
      if (!fs.existsSync(`${dir}/hap-admin.sock`)) return undefined;
      const s = await socat('show servers state\n', hapAdmin);
      const lines = s.split('\n').slice(2, -2);
      const status = (name: string): string | undefined => lines.find((l) => l.split(' ')[3] === name)?.split(' ')[10];
      const settled = ['s2', 't4', 'y200', 'x500'].every((n) => status(n) !== '1' && status(n) !== '2');
      return lines.length === 8 && status('s2') === '8' && settled ? s : undefined;
    });
    const ids: Record<string, number> = {};
    for (const l of state.split('\n').slice(2)) {
      const [id, name] = l.split(' ');
      if (id !== undefined && name !== undefined && /^\d+$/.test(id)) ids[name] = Number(id);
    }
    const ctx = new FakeRuntime([
      {
        name: 'web',
        id: ids['web'] ?? 0,
        servers: [
          { name: 's1', port: ports.s1 ?? 0, weight: 50 },
          { name: 's2', port: ports.s2 ?? 0, check: true, op: 'stopped', checkStatus: 'L4CON', checkResult: 'failed', health: 0 },
          { name: 's3', port: ports.s3 ?? 0 },
        ],
      },
      { name: 'other', id: ids['other'] ?? 0, servers: [{ name: 'a', port: ports.a ?? 0 }] },
      { name: 'st', id: ids['st'] ?? 0, dynamicWeights: false, servers: [{ name: 'b', port: ports.b ?? 0, weight: 4 }] },
      { name: 'chk4', id: ids['chk4'] ?? 0, servers: [{ name: 't4', port: ports.t4 ?? 0, check: true, checkStatus: 'L4OK', checkResult: 'passed', health: 4 }] },
      {
        name: 'chk7',
        id: ids['chk7'] ?? 0,
        servers: [
          { name: 'y200', port: ports.y200 ?? 0, check: true, checkStatus: 'L7OK', checkResult: 'passed', health: 4 },
          { name: 'x500', port: ports.x500 ?? 0, check: true, op: 'stopped', checkStatus: 'L7STS', checkResult: 'failed', health: 0 },
        ],
      },
    ]);
    ctx.envValues = { LB_DIFF_VAR: 'hello world' };
    const api = new RuntimeApiServer({
      ctx,
      sockets: [
        { address: { family: 'unix', host: `${dir}/lb-admin.sock` }, mode: '660', level: 'admin' },
        { address: { family: 'unix', host: `${dir}/lb-user.sock` }, level: 'user' },
      ],
    });
    await api.start();
    cleanups.push(() => api.stop());
    return {
      dir,
      hap: { admin: hapAdmin, user: `unix-connect:${dir}/hap-user.sock` },
      lb: { admin: `unix-connect:${dir}/lb-admin.sock`, user: `unix-connect:${dir}/lb-user.sock` },
      haproxy,
      api,
      ctx,
      ids,
      ports,
    };
  })();
  return envPromise;
}

function skip(t: { log: (m: string) => void; pass: () => void }): boolean {
  if (!missing) return false;
  t.log('SKIPPED LOUDLY: haproxy or socat is not installed; the runtime API differential test did not run');
  t.pass();
  return true;
}

/**
 * haproxy's `show servers state` once no check is in flight: while a check runs, haproxy shows
 * result 0 (unknown) for that server, which would make comparisons flaky under load.
 */
async function settledState(target: string): Promise<string> {
  return until('no check in flight', async () => {
    const s = await socat('show servers state\n', target);
    const inFlight = s
      .split('\n')
      .slice(2)
      .some((l) => ['s2', 't4', 'y200', 'x500'].includes(l.split(' ')[3] ?? '') && l.split(' ')[11] === '0');
    return inFlight ? undefined : s;
  });
}

/** Sends the same input to both admin (or user) sockets. */
async function both(e: Env, input: string, level: 'admin' | 'user' = 'admin'): Promise<{ hap: string; lb: string }> {
  const hap = await socat(input, e.hap[level]);
  const lb = await socat(input, e.lb[level]);
  return { hap, lb };
}

test.serial('help: header, tail and every lb line as haproxy prints it, in haproxy order', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const { hap, lb } = await both(e, 'help\n', 'user');
  const hapLines = hap.split('\n');
  const lbLines = lb.split('\n');
  t.is(lbLines[0], hapLines[0]);
  t.deepEqual(lbLines.slice(-5), hapLines.slice(-5), 'help/prompt/quit, then the empty line');
  // Usages lb shortens on purpose (it refuses `desc`/`float`): compared by their first words.
  const deliberate = new Map([
    ['  show info [json|typed]*', '  show info [desc|json|typed|float]*'],
    ['  show stat [json|no-maint|typed|up]*', '  show stat [desc|json|no-maint|typed|up]*:'],
  ]);
  let last = -1;
  for (const line of lbLines.slice(1, -5)) {
    const prefix = [...deliberate.keys()].find((k) => line.startsWith(k));
    const idx = prefix === undefined ? hapLines.indexOf(line) : hapLines.findIndex((h) => h.startsWith(deliberate.get(prefix) ?? ''));
    t.true(idx > last, `"${line}" in haproxy's help, after the previous one`);
    last = idx;
  }
});

test.serial("suggestions for unknown commands match haproxy's on its own keyword list", async (t) => {
  if (skip(t)) return;
  const e = await env();
  const hapHelp = await socat('help\n', e.hap.admin);
  const entries: HelpEntry[] = hapHelp
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => {
      const usage = l.slice(2, 42).trimEnd();
      const words: string[] = [];
      for (const w of usage.split(/\s+/)) {
        if (/^[<[({@]/.test(w)) break;
        words.push(w);
      }
      const tail = ['help', 'prompt', 'quit'].includes(words[0] ?? '');
      return { words, usage, help: l.slice(44), tail };
    });
  // Probes without ties between candidates (haproxy breaks ties by its registration order).
  const probes = [
    'help show fo',
    'help s',
    'help qui',
    'help weight',
    'prompto',
    'help show servers stat',
    'help zzzzzzzzzzzzzzzzzzzzz',
    'show servers stat',
    'get\\ weight web/s1',
    'help show servers',
    'enable',
    'help',
  ];
  for (const probe of probes) {
    const hap = await socat(`${probe}\n`, e.hap.admin);
    const args = splitCommands(probe)[0] ?? [];
    const isHelp = args[0] === 'help';
    t.is(usageMessage(entries, isHelp ? args.slice(1) : args, isHelp) + '\n', hap, probe);
  }
});

test.serial('show servers state: version and header lines identical, static columns identical', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const hap = await settledState(e.hap.user);
  const lb = await socat('show servers state\n', e.lb.user);
  const h = hap.split('\n');
  const l = lb.split('\n');
  t.deepEqual(l.slice(0, 2), h.slice(0, 2));
  t.is(l.length, h.length);
  // Everything but srv_time_since_last_change (9) and the live check columns (12, 13: health and
  // check state, which haproxy updates while checks run).
  const cols = (line: string): string[] => line.split(' ').filter((_c, i) => i !== 9 && i !== 12 && i !== 13);
  for (let i = 2; i < h.length; i++) t.deepEqual(cols(l[i] ?? ''), cols(h[i] ?? ''), h[i]);
});

test.serial('check status and result codes: L4CON, L4OK, L7OK, L7STS as haproxy numbers them', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const hap = await settledState(e.hap.admin);
  const byName = new Map(hap.split('\n').map((l) => [l.split(' ')[3] ?? '', l.split(' ')] as const));
  const expect: [string, string, number][] = [
    ['s2', 'L4CON', 2],
    ['t4', 'L4OK', 3],
    ['y200', 'L7OK', 3],
    ['x500', 'L7STS', 2],
    ['s1', 'INI', 0],
  ];
  for (const [srv, status, result] of expect) {
    t.is(byName.get(srv)?.[10], String(CHECK_STATUS_CODES[status]), `${srv} ${status}`);
    t.is(byName.get(srv)?.[11], String(result), `${srv} result`);
  }
});

test.serial('same answers, byte for byte: weights, errors, addr, levels, env, protocol', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const p3 = e.ports['s3'] ?? 0;
  const admin = [
    'get weight web/s1\n',
    'get weight nope/x\n',
    'get weight web/x\n',
    'get weight web\n',
    'get weight web/\n',
    'get weight web/s1/x\n',
    `get weight #${e.ids['web']}/#1\n`,
    'set weight web/s1 50%\n',
    'get weight web/s1\n',
    'set weight web/s1 33%\n',
    'get weight web/s1\n',
    'set weight web/s1 1000%\n',
    'get weight web/s1\n',
    'set weight web/s1 abc\n',
    'set weight web/s1 10%x\n',
    'set weight web/s1 300\n',
    'set weight web/s1 -10%\n',
    'set weight web/s1\n',
    'set server web/s1 weight 20%\n',
    'get weight web/s1\n',
    'set weight web/s1 50\n',
    'set weight st/b 2\n',
    'set weight st/b 0%\n',
    'get weight st/b\n',
    'set weight st/b 100%\n',
    'set server web/s1\n',
    'set server web/s1 state foo\n',
    'set server nope/s1 state ready\n',
    'set server web state ready\n',
    'set server web/s1 addr\n',
    'set server web/s1 addr foo\n',
    'set server web/s1 addr 127.0.0.1\n',
    `set server web/s3 addr 127.0.0.2 port ${p3}\n`,
    'set server web/s3 addr 127.0.0.3 port abc\n',
    'set server web/s3 addr ::ffff:127.0.0.1\n',
    'set server web/s3 addr 127.0.0.1 port 70000\n',
    `set server web/s3 addr 127.0.0.1 port ${p3}\n`,
    'enable health web/s1\n',
    'enable agent web/s1\n',
    'disable agent web/s1\n',
    'enable health\n',
    'show servers state nope\n',
    'show stat nope -1 -1\n',
    'show stat json up no-maint\n',
    'show env LB_RUNTIME_DIFF_NOPE\n',
    'show env LB_DIFF_VAR\n',
    'show backend\n',
    'show cli level\n',
    'operator;show cli level;user;show cli level;operator\n',
    'clear counters\n',
    'clear counters all\n',
    'help weight\n',
    'show servers stat\n',
    // protocol
    'prompt\nget weight web/s1\nquit\n',
    'prompt;get weight web/s2\nprompt\nget weight web/s3\n',
    'get weight web/s1;get weight web/s2\nget weight web/s3\n',
    'get weight web/s1\\;x\n',
    'get\tweight\tweb\\/s1\r\n',
    'set weight web/s1 abc\nget weight web/s1\n',
    'quit;get weight web/s1\n',
    'get weight web/s1;quit;get weight web/s1\n',
    'get weight web/s1',
  ];
  for (const input of admin) {
    const { hap, lb } = await both(e, input);
    t.is(lb, hap, JSON.stringify(input));
    // Only `quit` first and an unfinished line get no answer at all: anything else empty means a broken run.
    if (!input.startsWith('quit') && input.endsWith('\n')) t.not(hap, '', JSON.stringify(input));
  }
  const user = ['disable server web/s1\n', 'set server web/s1 state drain\n', 'clear counters\n', 'show env LB_DIFF_VAR\n', 'get weight web/s1\n', 'show cli level\n', 'operator\n'];
  for (const input of user) {
    const { hap, lb } = await both(e, input, 'user');
    t.is(lb, hap, `user: ${JSON.stringify(input)}`);
  }
});

test.serial('set server state drain/maint/ready and disable/enable server: same op and admin columns', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const cols = (text: string, srv: string): string[] => {
    const line = text.split('\n').find((l) => l.split(' ')[3] === srv) ?? '';
    return line.split(' ').slice(5, 7);
  };
  for (const cmd of ['set server web/s1 state drain', 'set server web/s1 state maint', 'set server web/s1 state ready', 'disable server web/s3', 'enable server web/s3', 'set server web/s3 state drain']) {
    const srv = cmd.includes('s1') ? 's1' : 's3';
    const { hap, lb } = await both(e, `${cmd};show servers state web\n`);
    t.deepEqual(cols(lb, srv), cols(hap, srv), cmd);
    t.not(cols(hap, srv).length, 0);
  }
  const { hap } = await both(e, 'show servers state web\n');
  t.deepEqual(cols(hap, 's3'), ['2', '8'], 'drain: running, FDRAIN');
});

test.serial('show info: the same field names in the same order', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const names = (text: string): string[] =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(0, l.indexOf(':')));
  const { hap, lb } = await both(e, 'show info\n', 'user');
  t.deepEqual(names(lb), names(hap));
  const typed = await both(e, 'show info typed\n', 'user');
  const prefixes = (text: string): string[] =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(':').slice(0, 3).join(':'));
  // Types and tags too; u32 vs u64 and the tag letters are part of the typed format.
  t.deepEqual(prefixes(typed.lb), prefixes(typed.hap));
});

test.serial('the command table has no command haproxy lacks (except the stick-table placeholders)', async (t) => {
  if (skip(t)) return;
  const e = await env();
  const hapHelp = await socat('help\n', e.hap.admin);
  for (const c of COMMANDS) {
    t.true(hapHelp.includes(`  ${c.words.join(' ')}`), c.words.join(' '));
  }
  t.is(runCommand(['show', 'table'], e.ctx, { level: 'admin', prompt: false, quit: false }), 'stick tables are not supported by this lb yet.\n');
});
