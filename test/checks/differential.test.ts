// Differential test against Debian's haproxy 2.6: the same backends, checked once by haproxy and
// once by lb's checks; the transition log lines and the request bytes on the wire must be
// identical (check durations aside). Skipped loudly when haproxy is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const normalize = (l: string): string => l.replace(/check duration: \d+ms/, 'check duration: Xms');

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
    { name: 'li', kind: 'listen', cfg: [`bind 127.0.0.1:${await closedPort()}`], check: { type: 'tcp', inter }, servers: [{ name: 'z1', port: refused1 }] },
  ];

  // ---- haproxy ----
  const dir = mkdtempSync(path.join(tmpdir(), 'lb-checks-diff-'));
  const cfg = [
    'global',
    '  log stdout format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  timeout connect 1s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend f',
    `  bind 127.0.0.1:${await closedPort()}`,
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
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1500))]);
    if (ha.exitCode === null) {
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
  const healths: BackendHealth[] = [];
  for (const b of backends) {
    const be = new BackendHealth({ name: b.name, kind: b.kind === 'listen' ? 'proxy' : 'backend', log: (l) => lbLines.push(l) });
    healths.push(be);
    for (const s of b.servers) {
      const st = be.add({ name: s.name, backup: s.backup ?? false, agent: s.agent !== undefined, check: { rise: 2, fall: 2 } }, { setUsable: () => {}, setWeight: () => {} });
      sched.add({ state: st, host: '127.0.0.1', port: s.port, check: b.check, agent: s.agent });
    }
  }
  sched.start();
  await new Promise((r) => setTimeout(r, 1500));
  await sched.stop();
  for (const be of healths) for (const s of be.servers) s.dispose();
  const lbRequests = new Map(recs.map((r) => [r.port, r.received.find((x) => x !== '')]));
  for (const r of recs) await r.close();

  t.log(haLines.join('\n'));
  t.true(haLines.length >= 8, 'haproxy produced its transition lines');
  t.deepEqual([...lbLines].map(normalize).sort(), [...haLines].map(normalize).sort());
  for (const [port, req] of haRequests) {
    if (req === undefined) continue;
    t.is(lbRequests.get(port), req, `request bytes to port ${port}`);
  }
});
