// Differential: the same situations through Debian's haproxy 2.6 and through lb, byte for byte:
// 400 (smuggling vector), 408 (slowloris), 502 (invalid response), 503 (server down), 504 (server
// timeout), and deny_status pages. Skips loudly when haproxy is not installed.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptedHttpServer, stalledServer } from '../../helpers/backends.ts';
import { freePort, HAPROXY_BIN, haproxyVersion } from '../http1/haproxy-harness.ts';
import { Client, GET, sleep, startHttpProxy } from './harness.ts';

const version = haproxyVersion();

async function exchange(port: number, parts: readonly string[], gap = 0): Promise<string> {
  const c = await Client.open(port);
  for (const p of parts) {
    c.write(p);
    if (gap > 0) await sleep(gap);
  }
  const out = (await c.rest(gap > 0 ? 3000 : 1500)).toString('latin1');
  c.close();
  return out;
}

/** Whether something accepts on 127.0.0.1:`port` within `ms` (polled). */
async function accepting(port: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    if (performance.now() > end) return false;
    await sleep(50);
  }
}

test('error statuses: lb answers the same bytes as haproxy 2.6 in the same situations', async (t) => {
  if (version === null) {
    t.log('SKIPPED: /usr/sbin/haproxy not found — differential test not run');
    t.pass();
    return;
  }
  const garbage = await scriptedHttpServer(() => 'NOT HTTP AT ALL\r\n\r\n');
  const stalled = await stalledServer();
  // Port 1 (tcpmux): nothing listens there, and it cannot collide with the free ports below.
  const dead = 1;
  const ports = { bad: await freePort(), g: await freePort(), d: await freePort(), s: await freePort() };
  const dir = mkdtempSync(join(tmpdir(), 'lb-http-diff-'));
  const cfg = [
    'defaults',
    '  mode http',
    '  timeout connect 300ms',
    '  timeout client 5s',
    '  timeout server 400ms',
    '  timeout http-request 300ms',
    '  retries 0',
    `frontend bad`,
    `  bind 127.0.0.1:${ports.bad}`,
    '  default_backend g',
    `frontend g`,
    `  bind 127.0.0.1:${ports.g}`,
    '  default_backend g',
    `frontend d`,
    `  bind 127.0.0.1:${ports.d}`,
    '  default_backend d',
    `frontend s`,
    `  bind 127.0.0.1:${ports.s}`,
    '  default_backend s',
    `backend g`,
    `  server g1 127.0.0.1:${garbage.port}`,
    `backend d`,
    `  server d1 127.0.0.1:${dead}`,
    `backend s`,
    `  server s1 127.0.0.1:${stalled.port}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'h.cfg'), cfg);
  const child = spawn(HAPROXY_BIN, ['-db', '-f', join(dir, 'h.cfg')], { stdio: 'ignore' });
  const lbG = await startHttpProxy({ ports: [garbage.port], backend: { retries: 0, timeouts: { connect: 300, server: 400 } }, frontend: { timeouts: { client: 5000, httpRequest: 300 } } });
  const lbD = await startHttpProxy({ ports: [dead], backend: { retries: 0, timeouts: { connect: 300, server: 400 } }, frontend: { timeouts: { client: 5000, httpRequest: 300 } } });
  const lbS = await startHttpProxy({ ports: [stalled.port], backend: { retries: 0, timeouts: { connect: 300, server: 400 } }, frontend: { timeouts: { client: 5000, httpRequest: 300 } } });
  t.teardown(async () => {
    child.kill('SIGKILL');
    await lbG.stop();
    await lbD.stop();
    await lbS.stop();
    await garbage.close();
    await stalled.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // haproxy is ready when its listeners accept (its start-up takes a while on a loaded machine).
  for (const port of Object.values(ports)) t.true(await accepting(port, 15000), `haproxy is not listening on :${port}`);
  const cases: { name: string; ha: number; lb: number; parts: string[]; gap?: number }[] = [
    // (CL with TE is not compared: haproxy 2.6 drops CL and forwards; lb answers 400 on purpose.)
    { name: '400 differing Content-Length', ha: ports.bad, lb: lbG.port, parts: ['POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd'] },
    { name: '400 bad header', ha: ports.bad, lb: lbG.port, parts: ['GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n'] },
    { name: '408 slowloris', ha: ports.bad, lb: lbG.port, parts: ['GET / HTTP/1.1\r\n', 'host: x\r\n', 'x-a: 1\r\n', 'x-b: 1\r\n', 'x-c: 1\r\n'], gap: 100 },
    { name: '502 invalid response', ha: ports.g, lb: lbG.port, parts: [GET('/', 'connection: close\r\n')] },
    { name: '503 server down', ha: ports.d, lb: lbD.port, parts: [GET('/', 'connection: close\r\n')] },
    { name: '504 server timeout', ha: ports.s, lb: lbS.port, parts: [GET('/', 'connection: close\r\n')] },
  ];
  for (const c of cases) {
    const [ha, lb] = await Promise.all([exchange(c.ha, c.parts, c.gap), exchange(c.lb, c.parts, c.gap)]);
    t.true(ha.length > 0, `${c.name}: haproxy answered nothing`);
    t.is(lb, ha, `${c.name} (haproxy :${c.ha}, lb :${c.lb}, ports ${JSON.stringify(ports)})`);
  }
});
