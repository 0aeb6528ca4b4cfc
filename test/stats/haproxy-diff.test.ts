/**
 * Differential test against a live Debian haproxy 2.6 on loopback: the `;csv` header from the
 * stats page and the `show stat` header from the stats socket must equal ours byte for byte, and
 * the 401 answer must carry the same realm and body. Skipped (loudly) when haproxy is missing.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvHeader } from '../../lb/stats/csv.ts';
import { handleStatsRequest } from '../../lb/stats/http-handler.ts';
import { small } from './fixture.ts';

const haveHaproxy = spawnSync('haproxy', ['-v']).status === 0;
if (!haveHaproxy) console.warn('SKIPPED: test/stats/haproxy-diff.test.ts needs Debian haproxy 2.6 in PATH');
const maybe = haveHaproxy ? test.serial : test.serial.skip;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, auth?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth === undefined ? {} : { authorization: 'Basic ' + Buffer.from(auth).toString('base64') };
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function cli(sock: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(sock);
    let out = '';
    c.setEncoding('utf8');
    c.setTimeout(3000, () => c.destroy(new Error('timeout')));
    c.on('connect', () => c.end(command + '\n'));
    c.on('data', (d: string) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

maybe('haproxy 2.6: ;csv header, `show stat` header and the 401 answer equal ours', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stats-diff-'));
  const port = await freePort();
  const sock = join(dir, 'admin.sock');
  const cfg = join(dir, 'h.cfg');
  writeFileSync(
    cfg,
    [
      'global', `  stats socket ${sock} mode 600 level admin`, '  nbthread 1',
      'defaults', '  mode http', '  timeout connect 2s', '  timeout client 5s', '  timeout server 5s',
      'backend web_backend', '  server web1 127.0.0.1:9 ', '  server web2 127.0.0.1:9 disabled',
      'listen stats', `  bind 127.0.0.1:${port}`, '  stats enable', '  stats uri /stats', '  stats refresh 10s',
      '  stats auth admin:secret', '  stats auth bob:pw2', '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
  t.teardown(() => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let csv: Got | undefined;
  for (let i = 0; i < 50 && csv === undefined; i++) {
    try {
      csv = await get(port, '/stats;csv', 'admin:secret');
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (csv === undefined) {
    t.fail('haproxy did not start');
    return;
  }
  t.is(csv.status, 200);
  t.is(csv.body.split('\n')[0] + '\n', csvHeader());
  t.is(csv.headers['refresh'], '10');
  t.is(csv.headers['content-type'], 'text/plain');

  const showStat = await cli(sock, 'show stat');
  t.is(showStat.split('\n')[0] + '\n', csvHeader());

  // ;up: haproxy hides the MAINT server and adds (up/total) to the backend status; so do we.
  const up = await get(port, '/stats;csv;up;scope=web_backend', 'bob:pw2');
  const rows = up.body.trimEnd().split('\n').slice(1).map((l) => l.split(','));
  t.deepEqual(rows.map((r) => r[1]), ['web1', 'BACKEND']);
  t.is(rows[1]?.[17], 'UP (1/2)');

  // The 401 for a wrong password, next to ours.
  const theirs = await get(port, '/stats', 'admin:wrong');
  const ours = handleStatsRequest(
    { method: 'GET', uri: '/stats', headers: { authorization: 'Basic ' + Buffer.from('admin:wrong').toString('base64') }, srcIsAdminAllowed: false },
    { uri: '/stats', users: [{ user: 'admin', password: 'secret' }], refresh: 10, hideVersion: false, showLegends: false },
    small(),
  );
  if (ours.kind !== 'response') {
    t.fail('expected a response');
    return;
  }
  t.is(theirs.status, ours.status);
  t.is(theirs.headers['www-authenticate'], ours.headers['www-authenticate']);
  t.is(theirs.body, ours.body);
  t.is(theirs.headers['content-length'], ours.headers['content-length']);
});
