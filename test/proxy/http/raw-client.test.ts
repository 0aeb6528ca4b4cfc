// Client connections accepted on the raw TCP handle (listener.ts → http.ts RawClient) share one
// read buffer. Bytes the session keeps past a read — pipelined requests and request bodies stashed
// while the server connection is queued or connecting, the parsed head read later by the log —
// must not be overwritten by another client's read. Several clients at once, random bodies, a
// server slot limit (queueing) and a slow backend make such reads happen in between.
import test from 'ava';
import { randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { compileLogFormat } from '../../../lb/log/format.ts';
import { rawTcpAvailable } from '../../../lb/net/raw-tcp.ts';
import type { FrontendLog } from '../../../lb/proxy/types.ts';
import { startHttpProxy } from './harness.ts';

/** Echoes method, path, x-id and the body, after a random delay of a few ms. */
async function echoBackend(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat([Buffer.from(`${req.method} ${req.url} ${String(req.headers['x-id'])}\n`), ...parts]);
      setTimeout(() => res.end(body), randomInt(0, 4));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const a = srv.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return { port, close: () => new Promise<void>((resolve) => srv.close(() => resolve())) };
}

function post(path: string, id: string, body: Buffer, extra = ''): Buffer {
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\nx-id: ${id}\r\ncontent-length: ${body.length}\r\n${extra}\r\n`), body]);
}

/** Sends `data` in one write and reads `count` content-length framed responses; returns their bodies. */
async function exchange(port: number, data: Buffer, count: number): Promise<Buffer[]> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  const out: Buffer[] = [];
  let acc = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout after ${out.length}/${count} responses`)), 10_000);
    s.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      for (;;) {
        const e = acc.indexOf('\r\n\r\n');
        if (e < 0) return;
        const head = acc.subarray(0, e).toString('latin1');
        const m = /content-length: *(\d+)/i.exec(head);
        if (m === null) {
          reject(new Error(`no length: ${head}`));
          return;
        }
        const len = Number(m[1]);
        if (acc.length < e + 4 + len) return;
        out.push(Buffer.from(acc.subarray(e + 4, e + 4 + len)));
        acc = acc.subarray(e + 4 + len);
        if (out.length === count) {
          clearTimeout(timer);
          s.destroy();
          resolve();
          return;
        }
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (out.length < count) reject(new Error(`closed after ${out.length}/${count} responses`));
    });
    s.write(data);
  });
  return out;
}

function sinkLog(): { log: FrontendLog; lines: string[] } {
  const f = compileLogFormat('%r');
  if (!f.ok) throw new Error(f.error);
  const lines: string[] = [];
  return { lines, log: { format: f.value, dontlognull: false, sink: { log: (_level, m) => lines.push(m) } } };
}

test('the http harness accepts on the raw handle (unless LB_RAW_TCP=0)', async (t) => {
  const b = await echoBackend();
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  t.is(p.group.rawListeners, rawTcpAvailable ? 1 : 0);
  const [r] = await exchange(p.port, post('/x', 'one', Buffer.from('hello')), 1);
  t.is(r?.toString(), 'POST /x one\nhello');
});

test('pipelined requests with random bodies, several clients at once: every response and log line is its own', async (t) => {
  const b = await echoBackend();
  const { log, lines } = sinkLog();
  // One server slot: requests queue, so stashed pipelined bytes live across other clients' reads.
  const p = await startHttpProxy({ ports: [{ port: b.port, maxconn: 2 }], frontend: { log }, backend: { timeouts: { connect: 1000, server: 5000, queue: 5000 } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const CLIENTS = 12;
  const PER = 5;
  const jobs: Promise<void>[] = [];
  const expected = new Set<string>();
  for (let c = 0; c < CLIENTS; c++) {
    const bodies = Array.from({ length: PER }, () => randomBytes(randomInt(0, 3000)));
    const ids = bodies.map((_, k) => `c${c}-r${k}-${randomBytes(4).toString('hex')}`);
    for (const id of ids) expected.add(`POST /p/${id} HTTP/1.1`);
    const data = Buffer.concat(bodies.map((body, k) => post(`/p/${ids[k]}`, ids[k]!, body)));
    jobs.push(
      exchange(p.port, data, PER).then((rs) => {
        for (let k = 0; k < PER; k++) {
          const want = Buffer.concat([Buffer.from(`POST /p/${ids[k]} ${ids[k]}\n`), bodies[k]!]);
          t.true(rs[k]!.equals(want), `client ${c} response ${k}`);
        }
      }),
    );
  }
  await Promise.all(jobs);
  // The log line of a request is rendered after its response, from the parsed head.
  const until = Date.now() + 2000;
  while (lines.length < CLIENTS * PER && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual([...lines].sort(), [...expected].sort());
});

test('request bodies arriving with the head while the server connection is queued or connecting, several clients at once', async (t) => {
  const b = await echoBackend();
  const p = await startHttpProxy({ ports: [{ port: b.port, maxconn: 2 }], backend: { timeouts: { connect: 1000, server: 5000, queue: 5000 } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  for (let round = 0; round < 3; round++) {
    const jobs: Promise<void>[] = [];
    for (let c = 0; c < 16; c++) {
      const body = randomBytes(randomInt(1, 24_000));
      const id = `r${round}c${c}`;
      jobs.push(
        exchange(p.port, post(`/b/${id}`, id, body, 'connection: close\r\n'), 1).then(([r]) => {
          t.true(r!.equals(Buffer.concat([Buffer.from(`POST /b/${id} ${id}\n`), body])), `client ${id}`);
        }),
      );
    }
    await Promise.all(jobs);
  }
});
