// `tcp-request inspect-delay` + req.ssl_sni: routing TLS by SNI without terminating it.
import net from 'node:net';
import tls from 'node:tls';
import test from 'ava';
import { ListenerGroup } from '../../../lb/proxy/listener.ts';
import { handleTcpConnection } from '../../../lb/proxy/tcp.ts';
import { createBackend, createFrontend, createServer, type Backend } from '../../../lb/proxy/types.ts';
import { RrPicker, connect, readBytes, until } from './harness.ts';

interface Recorder {
  port: number;
  data: Buffer[];
  server: net.Server;
}

async function recorder(): Promise<Recorder> {
  const data: Buffer[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      data.push(d);
      if (d.toString().startsWith('PING')) s.write('PONG');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return { port: typeof a === 'object' && a !== null ? a.port : 0, data, server };
}

function backendFor(name: string, port: number): Backend {
  const servers = [createServer(`${name}1`, '127.0.0.1', port)];
  return createBackend({ name, servers, picker: new RrPicker(servers) });
}

test('routes by SNI after reading the ClientHello, forwards the hello bytes intact', async (t) => {
  const a = await recorder();
  const b = await recorder();
  const beA = backendFor('a', a.port);
  const beB = backendFor('b', b.port);
  const fe = createFrontend({
    name: 'tls',
    inspectDelay: 2000,
    selectBackend: (c) => (c.hello?.sni === 'a.example.com' ? beA : beB),
  });
  const group = new ListenerGroup([{ bind: { host: '127.0.0.1', port: 0 }, frontend: fe }], {
    onConnection: (s, l) => handleTcpConnection(s, l.frontend),
  });
  await group.start();
  t.teardown(async () => {
    await group.stop();
    for (const r of [a, b]) await new Promise<void>((resolve) => r.server.close(() => resolve()));
  });
  const port = group.address(0)?.port ?? 0;
  const c1 = tls.connect({ host: '127.0.0.1', port, servername: 'a.example.com', rejectUnauthorized: false });
  c1.on('error', () => {});
  t.true(await until(() => a.data.length > 0, 3000), 'a.example.com reached backend a');
  t.is(a.data[0]?.[0], 22, 'the first byte the server sees is the TLS record type');
  c1.destroy();
  const c2 = tls.connect({ host: '127.0.0.1', port, servername: 'other.example.com', rejectUnauthorized: false });
  c2.on('error', () => {});
  t.true(await until(() => b.data.length > 0, 3000), 'other SNI went to backend b');
  c2.destroy();
  // Plain text is not TLS: routed at once (no hello), not after the inspect delay.
  const t0 = performance.now();
  const c3 = await connect(port);
  c3.write('PING');
  t.is((await readBytes(c3, 4, 1500)).toString(), 'PONG');
  t.true(performance.now() - t0 < 1000);
  c3.destroy();
  t.is(beA.counters.sessTotal, 1);
  t.is(beB.counters.sessTotal, 2);
});
