/**
 * Differential tests against Debian's haproxy 2.6, the living specification: the same key must
 * land on the same server, and our hash functions must equal HAProxy's converters. HAProxy runs
 * on loopback with its own `listen` sections as the servers (each answers its name), so nothing
 * else is needed. Skipped when haproxy is not installed.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, djb2, fullHash, sdbm, wt6 } from '../../lb/balance/hash.ts';
import { algorithmFactory, parseBalance, parseHashType } from '../../lb/balance/registry.ts';
import { Pool } from '../../lb/balance/pool.ts';
import type { ServerInit } from '../../lb/balance/types.ts';

const haveHaproxy = spawnSync('haproxy', ['-v']).status === 0;
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

function get(port: number, path: string, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<string> {
  return fetchBody({ host: '127.0.0.1', port, path, headers, localAddress });
}

/** The trimmed body of one GET without an agent (3 s timeout). */
function fetchBody(target: RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, agent: false, timeout: 3000 }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Backends under test: balance line, hash-type line, server weights. */
const BACKENDS: Record<string, { balance: string[]; hashType?: string[]; weights: number[] }> = {
  uri: { balance: ['uri'], weights: [1, 1, 1] },
  uri_w: { balance: ['uri'], weights: [100, 100, 50] },
  uri_whole_djb2: { balance: ['uri', 'whole'], hashType: ['map-based', 'djb2'], weights: [3, 1, 2, 1] },
  uri_depth: { balance: ['uri', 'depth', '2'], weights: [1, 1, 1, 1, 1] },
  uri_len: { balance: ['uri', 'len', '4'], hashType: ['map-based', 'wt6'], weights: [1, 2, 3] },
  param: { balance: ['url_param', 'user'], hashType: ['map-based', 'crc32', 'avalanche'], weights: [1, 1, 1, 1] },
  hdr: { balance: ['hdr(X-Key)'], weights: [2, 1, 1] },
  hdr_dom: { balance: ['hdr(Host)', 'use_domain_only'], weights: [1, 1, 1] },
  src: { balance: ['source'], weights: [1, 1, 1] },
  src_w: { balance: ['source'], weights: [4, 2, 3] },
  cons: { balance: ['uri'], hashType: ['consistent'], weights: [1, 1, 1, 1] },
  cons_w: { balance: ['uri'], hashType: ['consistent', 'djb2'], weights: [10, 5, 1] },
  cons_src: { balance: ['source'], hashType: ['consistent'], weights: [1, 2, 1] },
  srr: { balance: ['static-rr'], weights: [100, 100, 50] },
  rr: { balance: ['roundrobin'], weights: [1, 1, 1] },
};
const MAX_SERVERS = 5;

/** GET over a unix socket (a `listen` section answering its name). */
function getUnix(socketPath: string): Promise<string> {
  return fetchBody({ socketPath, path: '/' });
}

/**
 * Starts haproxy on `cfgFor(frontPort)` and waits (bounded) until its frontend answers. The
 * frontend port comes from freePort(), so another process may take it before haproxy binds it;
 * `noreuseport` turns that into a bind failure (instead of two processes silently sharing the
 * port), and only that failure is retried with a fresh port.
 */
async function startHaproxy(dir: string, cfgFor: (front: number) => string[]): Promise<{ proc: ChildProcess; front: number } | { error: string }> {
  let error = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const front = await freePort();
    const cfg = join(dir, 'h.cfg');
    writeFileSync(cfg, cfgFor(front).join('\n') + '\n');
    const proc: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    for (let i = 0; i < 100 && proc.exitCode === null && proc.signalCode === null; i++) {
      try {
        await get(front, '/hash/x', {});
        return { proc, front };
      } catch {
        await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
      }
    }
    proc.kill('SIGKILL');
    await exited;
    error = stderr;
    if (!/cannot bind socket/.test(stderr)) break;
  }
  return { error: `haproxy did not start: ${error}` };
}

maybe('haproxy 2.6 and our pool choose the same server for the same key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'balance-diff-'));
  // The servers are haproxy's own `listen` sections on unix sockets in a private directory: TCP
  // ports from freePort() could repeat or be taken by another test's haproxy, and haproxy binds
  // with SO_REUSEPORT, so two `listen`s could share a port and answer each other's requests
  // (seen under load: "haproxy s5" for requests sent to s1). The hash algorithms do not look at
  // server addresses (consistent hashing keys on the server id), so the choices are the same.
  const sock = (i: number): string => join(dir, `s${i + 1}.sock`);
  const cfgFor = (front: number): string[] => {
    const lines = [
      'global',
      '  nbthread 1',
      '  noreuseport',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 5s',
      '  timeout server 5s',
      'frontend fe',
      `  bind 127.0.0.1:${front}`,
      '  http-request return status 200 content-type text/plain lf-string "%[path,sdbm] %[path,djb2] %[path,wt6] %[path,crc32] %[path,sdbm(1)]" if { path_beg /hash/ }',
      '  use_backend %[req.hdr(x-be)]',
    ];
    for (let i = 0; i < MAX_SERVERS; i++) {
      lines.push(`listen s${i + 1}`, `  bind ${sock(i)}`, `  http-request return status 200 content-type text/plain string s${i + 1}`);
    }
    for (const [name, b] of Object.entries(BACKENDS)) {
      lines.push(`backend ${name}`, `  balance ${b.balance.join(' ')}`);
      if (b.hashType) lines.push(`  hash-type ${b.hashType.join(' ')}`);
      b.weights.forEach((w, i) => lines.push(`  server s${i + 1} ${sock(i)} weight ${w}`));
    }
    return lines;
  };
  const cfgCheck = join(dir, 'check.cfg');
  writeFileSync(cfgCheck, cfgFor(await freePort()).join('\n') + '\n');
  const check = spawnSync('haproxy', ['-c', '-f', cfgCheck], { encoding: 'utf8' });
  t.is(check.status, 0, check.stderr);
  const started = await startHaproxy(dir, cfgFor);
  t.teardown(() => {
    if ('proc' in started) started.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  if ('error' in started) {
    t.fail(started.error);
    return;
  }
  const front = started.front;
  // The state the comparison assumes: server sN's address answers "sN", and only that.
  for (let i = 0; i < MAX_SERVERS; i++) {
    for (let k = 0; k < 3; k++) t.is(await getUnix(sock(i)), `s${i + 1}`, `server s${i + 1} answers its own name`);
  }

  // Hash functions against HAProxy's converters.
  for (const p of ['/hash/a', '/hash/0123456789abcdef', '/hash/a%20b']) {
    const body = await get(front, p, {});
    const n = p.length;
    const path = Buffer.from(p, 'utf8').toString('latin1');
    const m = path.length;
    t.is(body, `${sdbm(path, 0, m)} ${djb2(path, 0, m)} ${wt6(path, 0, m)} ${crc32(path, 0, m)} ${fullHash(sdbm(path, 0, m))}`, `hashes of ${p} (${n})`);
  }

  const pools = new Map<string, Pool>();
  for (const [name, b] of Object.entries(BACKENDS)) {
    const spec = parseBalance(b.balance);
    const ht = parseHashType(b.hashType ?? ['map-based']);
    if (!spec.ok || !ht.ok) throw new Error(`bad spec ${name}`);
    const servers: ServerInit[] = b.weights.map((w, i) => ({ name: `s${i + 1}`, weight: w }));
    pools.set(name, new Pool(servers, algorithmFactory(spec.value, ht.value)));
  }
  const pick = (be: string, key: { uri?: string; src?: string; headers?: Record<string, string> }): string | undefined => {
    const hk = {
      uri: key.uri,
      src: key.src,
      header: (n: string) => key.headers?.[n],
    };
    return pools.get(be)?.pick(hk)?.name;
  };

  const uris = ['/', '/a', '/index.html', '/img/logo.png?v=3', '/a/b/c/d?x=1', '/api/v1/users/42', '/x?user=alice', '/x?a=1&user=bob&c=2', '/x?user=', '/x?userx=1&user=carol', '/static/css/site.css', '/Z'];
  const mismatches: string[] = [];
  for (const be of ['uri', 'uri_w', 'uri_whole_djb2', 'uri_depth', 'uri_len', 'param', 'cons', 'cons_w']) {
    for (const u of uris) {
      const theirs = await get(front, u, { 'x-be': be });
      const ours = pick(be, { uri: u });
      if (be === 'param' && !/[?&]user=[^&]/.test(u)) continue; // round-robin fallback: position-dependent
      if (theirs !== ours) mismatches.push(`${be} ${u}: haproxy ${theirs}, ours ${ours}`);
    }
  }
  for (const be of ['hdr', 'hdr_dom']) {
    for (const v of ['alpha', 'beta', 'gamma, delta', 'www.example.com', 'haproxy.1wt.eu', 'localhost', '42']) {
      const hname = be === 'hdr' ? 'x-key' : 'host';
      const theirs = await get(front, '/', { 'x-be': be, [hname]: v });
      const ours = pick(be, { uri: '/', headers: { [hname]: v } });
      if (theirs !== ours) mismatches.push(`${be} ${v}: haproxy ${theirs}, ours ${ours}`);
    }
  }
  for (const be of ['src', 'src_w', 'cons_src']) {
    for (const last of [1, 2, 3, 7, 10, 42, 99, 200, 254]) {
      const ip = `127.0.0.${last}`;
      const theirs = await get(front, '/', { 'x-be': be }, ip);
      const ours = pick(be, { src: ip });
      if (theirs !== ours) mismatches.push(`${be} ${ip}: haproxy ${theirs}, ours ${ours}`);
    }
  }
  // Round robin sequences, from a fresh backend state.
  for (const be of ['srr', 'rr']) {
    const theirs: string[] = [];
    const ours: string[] = [];
    for (let i = 0; i < 10; i++) {
      theirs.push(await get(front, '/', { 'x-be': be }));
      ours.push(pick(be, {}) ?? '-');
    }
    if (theirs.join() !== ours.join()) mismatches.push(`${be}: haproxy ${theirs.join()}, ours ${ours.join()}`);
  }
  t.deepEqual(mismatches, []);
});
