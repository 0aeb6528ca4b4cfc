// Differential test against Debian's haproxy 2.6: the same backends, checked once by haproxy and
// once by lb's checks; the transition log lines and the request bytes on the wire must be
// identical (check durations aside; the "N active and M backup servers left" counts depend on the
// order in which concurrent checks end, so each program's are checked against its own order).
// Skipped loudly when haproxy is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import {
  BackendHealth,
  CheckScheduler,
  requestFromOptionHttpchk,
  type AgentOptions,
  type CheckOptions,
} from '../../lb/checks/index.ts';
import { closedPort, recorder, type Recorder } from './helpers.ts';

const haproxyMissing = spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0;

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello';
const E500 = 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n';
const E503 = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy';

interface Srv {
  name: string;
  port: number;
  backup?: boolean;
  /** Extra words on haproxy's server line. */
  extra?: string;
  agent?: AgentOptions;
}
interface Be {
  name: string;
  kind: 'backend' | 'listen';
  /** haproxy lines for the section (besides servers). */
  cfg: string[];
  check: CheckOptions;
  servers: Srv[];
}

/** Whether a unix socket accepts a connection. */
function canConnect(sockPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sockPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

const normalize = (l: string): string => l.replace(/check duration: \d+ms/, 'check duration: Xms');

const COUNTS = /(\d+) active and (\d+) backup servers left\./;
/** The line without its "N active and M backup servers left": they depend on the order of the transitions. */
const withoutCounts = (l: string): string => normalize(l).replace(COUNTS, 'N active and M backup servers left.');

/**
 * Replays one program's lines in the order it printed them, starting from every server UP (as
 * both start), and returns every line whose "N active and M backup servers left" or "has no
 * server available!" does not match that order. Servers of one backend whose checks end together
 * may go DOWN in either order (haproxy itself varies), so each program is held to its own order.
 */
function countProblems(lines: readonly string[], backends: readonly Be[]): string[] {
  const up = new Map(backends.map((b) => [b.name, new Map(b.servers.map((s) => [s.name, s.backup === true]))]));
  const problems: string[] = [];
  for (const line of lines) {
    const tr = /^Server ([^/]+)\/(\S+) is (UP|DOWN)\b/.exec(line);
    if (tr !== null) {
      const [, be = '', srv = '', to] = tr;
      const servers = up.get(be);
      const backup = backends.find((b) => b.name === be)?.servers.find((s) => s.name === srv)?.backup === true;
      if (servers === undefined) {
        problems.push(`unknown server: ${line}`);
        continue;
      }
      if (to === 'DOWN') servers.delete(srv);
      else servers.set(srv, backup);
      const active = [...servers.values()].filter((b) => !b).length;
      const c = COUNTS.exec(line);
      if (c === null || Number(c[1]) !== active || Number(c[2]) !== servers.size - active) {
        problems.push(`expected ${active} active and ${servers.size - active} backup left: ${line}`);
      }
      continue;
    }
    const none = /^(?:backend|proxy) (\S+) has no server available!$/.exec(line);
    if (none !== null && (up.get(none[1] ?? '')?.size ?? -1) !== 0) problems.push(`servers are left: ${line}`);
  }
  return problems;
}

test('transition log lines and check requests are identical to haproxy 2.6', async (t) => {
  if (haproxyMissing) {
    t.log('SKIPPED LOUDLY: haproxy is not installed; the differential check test did not run');
    t.pass();
    return;
  }
  const recs: Recorder[] = [];
  const rec = async (reply: Recorder['reply'], onConnect = false): Promise<Recorder> => {
    const r = await recorder(reply, onConnect);
    recs.push(r);
    return r;
  };
  const web = [await rec(OK), await rec(E500), await rec(OK), await rec(OK)];
  const str = [await rec(OK), await rec(E503), await rec('NOTHTTP\r\n\r\n')];
  const pong = [await rec((q) => (q.includes('\n') ? '+PONG\r\n' : undefined)), await rec((q) => (q.includes('\n') ? '-ERR\r\n' : undefined))];
  const inv = await rec(OK);
  const send = await rec(OK);
  const agentSrv = await rec(OK);
  const agent = await rec('down #broken disk\n', true);
  const refused1 = await closedPort();
  const refused2 = await closedPort();
  const inter = 200;
  // haproxy's listeners are unix sockets here: no port to race for with other tests, and the
  // frontend's tells when haproxy is up.
  const dir = mkdtempSync(path.join(tmpdir(), 'lb-checks-diff-'));
  const frontSock = path.join(dir, 'f.sock');
  const backends: Be[] = [
    {
      name: 'web_backend',
      kind: 'backend',
      cfg: ['option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost'],
      check: { type: 'http', inter, http: { request: requestFromOptionHttpchk(['GET', '/health', 'HTTP/1.1\r\nHost: localhost']) } },
      servers: [
        { name: 'web1', port: web[0]?.port ?? 0 },
        { name: 'web2', port: web[1]?.port ?? 0 },
        { name: 'web3', port: web[2]?.port ?? 0 },
        { name: 'bk1', port: web[3]?.port ?? 0, backup: true },
      ],
    },
    {
      name: 'strb',
      kind: 'backend',
      cfg: ['option httpchk', 'http-check expect string OK'],
      check: { type: 'http', inter, http: { request: {}, expects: [{ kind: 'string', value: 'OK' }] } },
      servers: str.map((r, i) => ({ name: `s${i + 1}`, port: r.port })),
    },
    {
      name: 'tcb',
      kind: 'backend',
      cfg: ['option tcp-check', 'tcp-check connect', 'tcp-check send PING\\r\\n', 'tcp-check expect string +PONG'],
      check: {
        type: 'tcp-check',
        inter,
        tcpCheck: [{ action: 'connect' }, { action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'string', pattern: '+PONG' }],
      },
      servers: pong.map((r, i) => ({ name: `c${i + 1}`, port: r.port })),
    },
    {
      // Alone in its backend: the "N active left" counts must not depend on which check ends first.
      name: 'tcr',
      kind: 'backend',
      cfg: ['option tcp-check', 'tcp-check connect', 'tcp-check send PING\\r\\n'],
      check: { type: 'tcp-check', inter, tcpCheck: [{ action: 'connect' }, { action: 'send', data: 'PING\r\n' }] },
      servers: [{ name: 'c3', port: refused2 }],
    },
    {
      name: 'ex',
      kind: 'backend',
      cfg: ['option httpchk', 'http-check expect ! status 200'],
      check: { type: 'http', inter, http: { request: {}, expects: [{ kind: 'status', value: '200', negate: true }] } },
      servers: [{ name: 'e1', port: inv.port }],
    },
    {
      name: 'sendb',
      kind: 'backend',
      cfg: ['option httpchk', 'http-check send meth POST uri /chk ver HTTP/1.1 hdr Host example.org hdr X-A b body hello', 'http-check expect status 200'],
      check: {
        type: 'http',
        inter,
        http: {
          request: { method: 'POST', uri: '/chk', version: 'HTTP/1.1', headers: [['Host', 'example.org'], ['X-A', 'b']], body: 'hello' },
          expects: [{ kind: 'status', value: '200' }],
        },
      },
      servers: [{ name: 'x1', port: send.port }],
    },
    {
      name: 'ag',
      kind: 'backend',
      cfg: [],
      check: { type: 'tcp', inter },
      servers: [
        { name: 'a1', port: agentSrv.port, extra: `agent-check agent-port ${agent.port} agent-inter ${inter}`, agent: { port: agent.port, inter } },
        { name: 'a2', port: agentSrv.port },
      ],
    },
    { name: 'li', kind: 'listen', cfg: [`bind ${path.join(dir, 'li.sock')}`], check: { type: 'tcp', inter }, servers: [{ name: 'z1', port: refused1 }] },
  ];

  // ---- haproxy ----
  const cfg = [
    'global',
    '  log stdout format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  timeout connect 1s',
    '  timeout client 5s',
    '  timeout server 5s',
    // Checks end on `timeout check`, not at `inter` (200ms): the test servers live in this
    // process, which a loaded machine may stall that long (lb's checks get the same below).
    '  timeout check 2s',
    'frontend f',
    `  bind ${frontSock}`,
    '  default_backend web_backend',
  ];
  for (const b of backends) {
    cfg.push(`${b.kind} ${b.name}`, ...b.cfg.map((l) => `  ${l}`));
    for (const s of b.servers) {
      cfg.push(`  server ${s.name} 127.0.0.1:${s.port} check inter ${inter} rise 2 fall 2${s.backup === true ? ' backup' : ''}${s.extra === undefined ? '' : ` ${s.extra}`}`);
    }
  }
  const cfgFile = path.join(dir, 'h.cfg');
  writeFileSync(cfgFile, `${cfg.join('\n')}\n`);
  const haLines: string[] = [];
  try {
    const ha = spawn('haproxy', ['-db', '-f', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    ha.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    ha.stderr.on('data', (d: Buffer) => {
      err += d.toString('latin1');
    });
    const exited = new Promise((r) => ha.once('exit', r));
    const running = (): boolean => ha.exitCode === null && ha.signalCode === null;
    const sleep = (ms: number): Promise<unknown> => Promise.race([exited, new Promise((r) => setTimeout(r, ms))]);
    // The 1.5s window starts once haproxy listens (its checks start then); on a loaded machine
    // starting it may take longer than the window itself.
    const tSpawn = performance.now();
    while (running() && !(await canConnect(frontSock)) && performance.now() - tSpawn < 10_000) await sleep(50);
    const tUp = performance.now();
    let seen = -1;
    // Then until its output has been quiet for 500ms (bounded): late lines are not lost.
    while (running() && (performance.now() - tUp < 1500 || (out.length !== seen && performance.now() - tUp < 8000))) {
      seen = out.length;
      await sleep(500);
    }
    if (running()) {
      ha.kill();
      await exited;
    } else t.fail(`haproxy exited early: ${err}`);
    haLines.push(...out.split('\n').filter((l) => l !== ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const haRequests = new Map(recs.map((r) => [r.port, r.received.find((x) => x !== '')]));
  for (const r of recs) r.received.length = 0;

  // ---- lb ----
  const lbLines: string[] = [];
  const sched = new CheckScheduler();
  const timeouts = { timeoutCheck: 2000, timeoutConnect: 1000 };
  const healths: BackendHealth[] = [];
  for (const b of backends) {
    const be = new BackendHealth({ name: b.name, kind: b.kind === 'listen' ? 'proxy' : 'backend', log: (l) => lbLines.push(l) });
    healths.push(be);
    for (const s of b.servers) {
      const st = be.add({ name: s.name, backup: s.backup ?? false, agent: s.agent !== undefined, check: { rise: 2, fall: 2 } }, { setUsable: () => {}, setWeight: () => {} });
      sched.add({ state: st, host: '127.0.0.1', port: s.port, check: { ...b.check, ...timeouts }, agent: s.agent === undefined ? undefined : { ...s.agent, ...timeouts } });
    }
  }
  sched.start();
  // As long as haproxy ran, and then (bounded) until as many lines as haproxy printed: a loaded
  // machine slows this process, not the claim.
  const tLb = performance.now();
  while (performance.now() - tLb < 1500 || (lbLines.length < haLines.length && performance.now() - tLb < 6000)) await new Promise((r) => setTimeout(r, 50));
  await sched.stop();
  for (const be of healths) for (const s of be.servers) s.dispose();
  const lbRequests = new Map(recs.map((r) => [r.port, r.received.find((x) => x !== '')]));
  for (const r of recs) await r.close();

  t.log(haLines.join('\n'));
  t.true(haLines.length >= 8, 'haproxy produced its transition lines');
  // The same transitions with the same reasons, in whatever order concurrent checks ended ...
  t.deepEqual([...lbLines].map(withoutCounts).sort(), [...haLines].map(withoutCounts).sort());
  // ... and each program's "servers left" counts right for the order it went through.
  t.deepEqual(countProblems(haLines, backends), [], 'haproxy (the replay itself is checked against it)');
  t.deepEqual(countProblems(lbLines, backends), [], `lb:\n${lbLines.join('\n')}`);
  for (const [port, req] of haRequests) {
    if (req === undefined) continue;
    t.is(lbRequests.get(port), req, `request bytes to port ${port}`);
  }
});
