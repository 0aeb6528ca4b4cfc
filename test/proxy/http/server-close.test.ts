// How lb closes server connections it no longer needs, as haproxy 2.6 does (checked with Debian's
// haproxy: `http-reuse never` → the server sees ECONNRESET; stop → FIN): an idle one it gives up
// (pool full or purged, http-reuse never) is reset, so no TIME_WAIT entry stays on either side;
// with a new server connection per request a FIN left one TIME_WAIT per request on our side.
import test from 'ava';
import net from 'node:net';
import { closeIdleConnections, idleConnectionCount } from '../../../lb/proxy/http.ts';
import { Client, GET, startHttpProxy, until } from './harness.ts';

/** A backend answering every request head with a small response, recording how each connection ended. */
async function backend(): Promise<{ port: number; endings: string[]; close(): Promise<void> }> {
  const endings: string[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    socks.add(s);
    let ending = '';
    s.on('error', (e: NodeJS.ErrnoException) => (ending ||= e.code ?? 'error'));
    s.on('end', () => {
      ending ||= 'FIN';
      s.end();
    });
    s.on('close', () => {
      endings.push(ending);
      socks.delete(s);
    });
    s.on('data', (d: Buffer) => {
      if (d.includes('\r\n\r\n')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return {
    port: typeof a === 'object' && a !== null ? a.port : 0,
    endings,
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('http-reuse never: the server connection is reset once the response is forwarded', async (t) => {
  const b = await backend();
  const p = await startHttpProxy({ ports: [b.port], backend: { http: { reuse: 'never' } } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  for (let i = 0; i < 3; i++) {
    const c = await Client.open(p.port);
    c.write(GET());
    t.is((await c.response()).status, 200);
    c.close();
  }
  t.true(await until(() => b.endings.length === 3));
  t.deepEqual(b.endings, ['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
});

test('idle pooled connections closed on stop or reload get a FIN', async (t) => {
  const b = await backend();
  const p = await startHttpProxy({ ports: [b.port] });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await Client.open(p.port);
  c.write(GET());
  t.is((await c.response()).status, 200);
  c.close();
  t.true(await until(() => idleConnectionCount(p.servers[0]!) === 1));
  closeIdleConnections(p.servers);
  t.is(idleConnectionCount(p.servers[0]!), 0);
  t.true(await until(() => b.endings.length === 1));
  t.deepEqual(b.endings, ['FIN']);
});
