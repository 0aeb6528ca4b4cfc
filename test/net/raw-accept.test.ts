// Accepting on the raw TCP handle: RawTcp.fromHandle (lb/net/raw-tcp.ts) on a listening handle's
// onconnection, and ListenerGroup's raw accepts (lb/proxy/listener.ts): maxconn admission with the
// pending FIFO, session counters, close()/stop(), the net.Socket path for handles RawTcp refuses.
import test from 'ava';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RawTcp, rawTcpAvailable, type RawTcpEvents } from '../../lb/net/raw-tcp.ts';
import { ListenerGroup, type RawAccepted } from '../../lb/proxy/listener.ts';
import { createFrontend, type Frontend } from '../../lb/proxy/types.ts';

const skipUnlessRaw = rawTcpAvailable ? test : test.skip;

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function dial(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

function portOf(server: net.Server): number {
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

function handleOf(server: net.Server): object {
  const h: unknown = Reflect.get(server, '_handle');
  if (typeof h !== 'object' || h === null) throw new Error('no listening handle');
  return h;
}

function readUntil(s: net.Socket, text: string): Promise<string> {
  let got = '';
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got only ${JSON.stringify(got)}`)), 3000);
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes(text)) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
}

interface Echo {
  closes: number;
  ends: number;
}

/** Echoes in upper case; on FIN answers "bye", then destroySoon(). */
const echoEvents: RawTcpEvents<Echo> = {
  connect: () => {},
  data: (c, buf, n) => void c.write(Buffer.from(buf.subarray(0, n).toString().toUpperCase())),
  end: (c) => {
    c.owner.ends++;
    c.write(Buffer.from('bye'));
    c.destroySoon();
  },
  drain: () => {},
  timeout: (c) => c.destroy(),
  error: () => {},
  close: (c) => void c.owner.closes++,
};

skipUnlessRaw('fromHandle: an accepted handle starts paused, echoes, half-closes and closes once', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const h = handleOf(server);
  t.is(typeof Reflect.get(h, 'onconnection'), 'function');
  const conns: RawTcp<Echo>[] = [];
  Reflect.set(h, 'onconnection', (err: number, ch: unknown) => {
    t.is(err, 0);
    const c = RawTcp.fromHandle(echoEvents, { closes: 0, ends: 0 }, ch, Buffer.alloc(1024), true);
    if (c === undefined) throw new Error('not adopted');
    conns.push(c);
  });
  const port = portOf(server);
  const s = await dial(port);
  await until(() => conns.length === 1);
  const c = conns[0]!;
  t.true(c.paused);
  t.false(c.connecting);
  t.is(c.remoteAddress()?.port, s.localPort);
  t.is(c.localAddress()?.port, port);
  s.write('hello');
  await new Promise((r) => setTimeout(r, 50));
  let early = '';
  s.on('data', (d: Buffer) => (early += d.toString()));
  t.is(early, '', 'nothing read while paused');
  c.resume();
  await until(() => early === 'HELLO');
  const ended = new Promise<void>((resolve) => s.once('end', resolve));
  s.end();
  await ended;
  t.is(early, 'HELLObye');
  await until(() => c.owner.closes === 1);
  t.is(c.owner.ends, 1);
  t.true(c.destroyed);
  s.destroy();
});

test('fromHandle refuses what is not a TCP handle (plain objects, a pipe)', async (t) => {
  t.is(RawTcp.fromHandle(echoEvents, { closes: 0, ends: 0 }, {}, Buffer.alloc(16)), undefined);
  t.is(RawTcp.fromHandle(echoEvents, { closes: 0, ends: 0 }, undefined, Buffer.alloc(16)), undefined);
  const sockPath = path.join(os.tmpdir(), `lb-raw-accept-${process.pid}.sock`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  t.teardown(() => server.close());
  let refused: boolean | undefined;
  Reflect.set(handleOf(server), 'onconnection', (_err: number, ch: unknown) => {
    refused = RawTcp.fromHandle(echoEvents, { closes: 0, ends: 0 }, ch, Buffer.alloc(16)) === undefined;
    const close: unknown = typeof ch === 'object' && ch !== null ? Reflect.get(ch, 'close') : undefined;
    if (typeof close === 'function') Reflect.apply(close, ch, []);
  });
  const s = net.connect(sockPath);
  s.on('error', () => {});
  await until(() => refused !== undefined);
  t.true(refused);
  s.destroy();
});

/** A handler that serves "ping" → "pong" until the client's FIN, counting what it got. */
function rawGroup(maxconn: number, feMaxconn: number): { group: ListenerGroup; raw: RawTcp<RawAccepted>[]; seen: { socks: number }; fe: Frontend } {
  const fe = createFrontend({ name: 'fe', mode: 'http', maxconn: feMaxconn, selectBackend: () => undefined });
  const raw: RawTcp<RawAccepted>[] = [];
  const ev: RawTcpEvents<RawAccepted> = {
    connect: () => {},
    data: (c) => void c.write(Buffer.from('pong')),
    end: (c) => c.destroySoon(),
    drain: () => {},
    timeout: (c) => c.destroy(),
    error: () => {},
    close: () => {},
  };
  const seen = { socks: 0 };
  const group = new ListenerGroup([{ bind: { host: '127.0.0.1', port: 0 }, frontend: fe }], {
    maxconn,
    onConnection: (sock) => {
      seen.socks++;
      sock.destroy();
    },
    rawAccept: () => true,
    onRawConnection: (c) => {
      c.owner.ev = ev;
      raw.push(c);
      c.resume();
    },
  });
  return { group, raw, seen, fe };
}

skipUnlessRaw('ListenerGroup raw accepts: global maxconn holds connections in FIFO order, counters, admission on close', async (t) => {
  const g = rawGroup(2, 0);
  await g.group.start();
  t.teardown(() => g.group.stop());
  t.is(g.group.rawListeners, 1);
  const port = g.group.address(0)!.port;
  const clients: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    clients.push(await dial(port));
    await until(() => g.raw.length + g.group.pendingCount(0) === i + 1);
  }
  t.is(g.seen.socks, 0, 'no net.Socket on the raw path');
  t.is(g.group.current, 2);
  t.is(g.group.pendingCount(0), 2);
  t.true(g.group.isPaused(0));
  t.is(g.fe.counters.sessCur, 2);
  t.is(g.fe.counters.sessTotal, 2);
  // Admitted ones are served; held ones are not read.
  clients[0]!.write('ping');
  t.is(await readUntil(clients[0]!, 'pong'), 'pong');
  const third = g.raw.length;
  t.is(third, 2);
  // The first one ends: the oldest held connection (clients[2]) is admitted.
  clients[0]!.end();
  await until(() => g.raw.length === 3);
  t.is(g.raw[2]!.remoteAddress()?.port, clients[2]!.localPort);
  t.is(g.group.current, 2);
  t.is(g.group.pendingCount(0), 1);
  t.is(g.fe.counters.sessTotal, 3);
  clients[2]!.write('ping');
  t.is(await readUntil(clients[2]!, 'pong'), 'pong');
  // stop(): live ones destroyed, held one dropped.
  await g.group.stop();
  t.is(g.group.current, 0);
  t.is(g.group.pendingCount(0), 0);
  t.is(g.fe.counters.sessCur, 0);
  for (const c of clients) c.destroy();
});

skipUnlessRaw('ListenerGroup raw accepts: frontend maxconn, and close() waits for live connections', async (t) => {
  const g = rawGroup(0, 1);
  await g.group.start();
  const port = g.group.address(0)!.port;
  const a = await dial(port);
  await until(() => g.raw.length === 1);
  const b = await dial(port);
  await until(() => g.group.pendingCount(0) === 1);
  let closed = false;
  const done = g.group.close().then(() => {
    closed = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  t.false(closed, 'close() waits for the admitted connection');
  t.is(g.group.pendingCount(0), 0, 'held connection dropped on close');
  a.write('ping');
  t.is(await readUntil(a, 'pong'), 'pong');
  a.end();
  await done;
  t.true(closed);
  t.is(g.fe.counters.sessCur, 0);
  t.is(g.raw.length, 1);
  a.destroy();
  b.destroy();
});
