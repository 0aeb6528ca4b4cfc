// Server connections read into buffers shared between connections (http.ts "read buffers"). A
// response a client has not read yet is held by its pending write; nothing another server
// connection reads may land on those bytes. Regression test: a connection that was waiting for its
// response while another one's client write became pending read into the held buffer and
// overwrote the other client's bytes with its own response (one client received another's data).
import test from 'ava';
import net from 'node:net';
import { GET, sleep, startHttpProxy, until } from './harness.ts';

const BIG = 8 * 1024 * 1024;

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

async function dial(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

/** Collects everything a socket receives. */
function collect(s: net.Socket): { chunks: Buffer[]; n: number } {
  const c = { chunks: [] as Buffer[], n: 0 };
  s.on('data', (d: Buffer) => {
    c.chunks.push(d);
    c.n += d.length;
  });
  return c;
}

function bodyOf(chunks: Buffer[]): Buffer {
  const all = Buffer.concat(chunks);
  return all.subarray(all.indexOf('\r\n\r\n') + 4);
}

test('a response held by a slow client is not overwritten by reads of other server connections', async (t) => {
  const big = pattern(BIG);
  const late = Buffer.alloc(256 * 1024, 'Z');
  let release: (() => void) | undefined;
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.on('error', () => {});
    let seen = '';
    sock.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      const target = seen.split(' ')[1];
      seen = '';
      const body = target === '/big' ? big : late;
      const send = (): void => {
        sock.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`);
        sock.write(body);
      };
      if (target === '/late') release = send;
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const p = await startHttpProxy({ ports: [typeof addr === 'object' && addr !== null ? addr.port : 0] });
  const slow = await dial(p.port);
  const other = await dial(p.port);
  t.teardown(async () => {
    slow.destroy();
    other.destroy();
    await p.stop();
    for (const k of open) k.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const o = collect(other);
  // `other` waits for its response on a server connection opened before the slow client's write
  // becomes pending.
  other.write(GET('/late'));
  t.true(await until(() => release !== undefined));
  // The slow client asks for more than the socket buffers hold and does not read.
  slow.pause();
  slow.write(GET('/big'));
  await sleep(400);
  release!();
  t.true(await until(() => o.n >= late.length, 5000));
  t.true(bodyOf(o.chunks).equals(late));
  const s = collect(slow);
  slow.resume();
  t.true(await until(() => s.n >= BIG, 15000));
  await sleep(50);
  const body = bodyOf(s.chunks);
  t.is(body.length, BIG);
  let first = -1;
  for (let i = 0; i < body.length && first < 0; i++) if (body[i] !== big[i]) first = i;
  t.is(first, -1, `the slow client's body differs from byte ${first} on`);
});
