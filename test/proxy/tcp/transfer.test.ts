// Large transfers both ways and backpressure: a slow reader must make the proxy stop reading
// from the fast side instead of buffering (its read counter stays bounded).
import { createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import { echoServer, stalledServer } from '../../helpers/backends.ts';
import { connect, sleep, startProxy, until } from './harness.ts';

const MiB = 1024 * 1024;

/** Waits (≤ 10 s) until `read()` is non-zero and stops changing for 300 ms; returns its value. */
async function settled(read: () => number): Promise<number> {
  await until(() => read() > 0, 5000);
  const end = performance.now() + 10_000;
  let v = read();
  while (performance.now() < end) {
    await sleep(300);
    const now = read();
    if (now === v) return v;
    v = now;
  }
  return -1;
}

for (const streamRead of [false, true]) {
test(`64 MiB through an echo backend, four sessions at once, both directions, byte-exact${streamRead ? ' (client read by data events)' : ''}`, async (t) => {
  t.timeout(60_000);
  const echo = await echoServer();
  const proxy = await startProxy({ ports: [echo.port], streamRead });
  t.teardown(async () => {
    await proxy.stop();
    await echo.close();
  });
  const sessions = 4;
  const perSession = 16 * MiB;
  const total = sessions * perSession;
  const t0 = performance.now();
  const one = async (): Promise<{ got: number; same: boolean }> => {
    const c = await connect(proxy.port);
    const sent = createHash('sha256');
    const recv = createHash('sha256');
    let got = 0;
    const done = new Promise<void>((resolve) => {
      c.on('data', (d: Buffer) => {
        recv.update(d);
        got += d.length;
      });
      c.on('end', () => resolve());
    });
    for (let i = 0; i < perSession / MiB; i++) {
      // Random bytes: a read buffer reused while a write still holds it cannot go unnoticed.
      const chunk = randomBytes(MiB);
      sent.update(chunk);
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
    c.end();
    await done;
    return { got, same: recv.digest('hex') === sent.digest('hex') };
  };
  const results = await Promise.all(Array.from({ length: sessions }, one));
  for (const r of results) {
    t.is(r.got, perSession);
    t.true(r.same, 'bytes echoed back differ from the bytes sent');
  }
  t.log(`${total / MiB} MiB echoed in ${(performance.now() - t0).toFixed(0)} ms`);
  t.true(await until(() => proxy.be.counters.bytesIn === total && proxy.be.counters.bytesOut === total));
});
}

test('backpressure client → server: a stalled server pauses the proxy reading the client', async (t) => {
  t.timeout(30_000);
  const stalled = await stalledServer();
  const proxy = await startProxy({ ports: [stalled.port] });
  t.teardown(async () => {
    await proxy.stop();
    await stalled.close();
  });
  const c = await connect(proxy.port);
  // The client queues 64 MiB (in its own memory); the proxy may only take what kernel buffers hold.
  c.write(Buffer.alloc(64 * MiB, 1));
  t.true(await until(() => proxy.accepted.length === 1));
  const side = proxy.accepted[0];
  const readBefore = await settled(() => side?.bytesRead ?? 0);
  t.true(readBefore > 0, 'reading stopped');
  t.true(side?.isPaused(), 'the proxy paused its client socket');
  t.is(side?.bytesRead, readBefore, 'and reads nothing more while the server stalls');
  t.true(readBefore < 24 * MiB, `bounded by socket buffers: ${(readBefore / MiB).toFixed(1)} MiB read`);
  // Releasing the server lets everything through.
  let received = 0;
  const srvSock = [...stalled.sockets][0];
  srvSock?.on('data', (d: Buffer) => {
    received += d.length;
  });
  srvSock?.resume();
  t.true(await until(() => received === 64 * MiB, 20_000), `server received ${received}`);
  c.destroy();
});

test('small client chunks into a server that stalls then reads: byte-exact (reads never land on bytes a pending write holds)', async (t) => {
  t.timeout(60_000);
  const stalled = await stalledServer();
  const proxy = await startProxy({ ports: [stalled.port] });
  t.teardown(async () => {
    await proxy.stop();
    await stalled.close();
  });
  const c = await connect(proxy.port);
  const sent = createHash('sha256');
  const total = 12 * MiB;
  const piece = 3000;
  let queued = 0;
  // Small writes, one per event-loop turn, so the proxy reads small chunks: once the server's
  // kernel buffers are full, its writes of them stay pending below the 16 KiB high-water mark.
  // No waiting for 'drain': the client may queue in its own memory (the server reads only later).
  while (queued < total) {
    const chunk = randomBytes(Math.min(piece, total - queued));
    sent.update(chunk);
    queued += chunk.length;
    c.write(chunk);
    await new Promise((r) => setImmediate(r));
  }
  t.true(await until(() => stalled.sockets.size === 1));
  const srvSock = [...stalled.sockets][0];
  const recv = createHash('sha256');
  let received = 0;
  srvSock?.on('data', (d: Buffer) => {
    recv.update(d);
    received += d.length;
  });
  srvSock?.resume();
  t.true(await until(() => received === total, 30_000), `server received ${received}`);
  t.is(recv.digest('hex'), sent.digest('hex'));
  c.destroy();
});

test('backpressure server → client: a client that does not read pauses the server side', async (t) => {
  t.timeout(30_000);
  const net = await import('node:net');
  const big = Buffer.alloc(64 * MiB, 2);
  let written = false;
  const srv = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.write(big, () => {
      written = true;
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const proxy = await startProxy({ ports: [port] });
  t.teardown(async () => {
    await proxy.stop();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
  const c = await connect(proxy.port);
  c.pause();
  t.true(await until(() => proxy.accepted.length === 1));
  const side = proxy.accepted[0];
  const outBefore = await settled(() => side?.bytesWritten ?? 0);
  t.true(outBefore > 0, 'writing stopped');
  const buffered = side?.writableLength ?? 0;
  t.false(written);
  t.true(buffered <= 2 * MiB, `proxy holds at most a chunk or two for the client: ${buffered} bytes`);
  t.is(side?.bytesWritten, outBefore, 'nothing more written while the client does not read');
  t.true(proxy.be.counters.bytesOut < 24 * MiB, `read from server bounded: ${(proxy.be.counters.bytesOut / MiB).toFixed(1)} MiB`);
  let got = 0;
  c.on('data', (d: Buffer) => {
    got += d.length;
  });
  c.resume();
  t.true(await until(() => got === 64 * MiB, 20_000), `client got ${got}`);
  c.destroy();
});
