// An HTTP/1.1 backend that answers every request with its head as the body (lowercased names),
// plus a `Server: echo` header so response rules have something to delete. Keep-alive aware:
// one response per request head (requests in these tests have no body).
import net from 'node:net';
import type { TestBackend } from '../../helpers/backends.ts';

export async function echoHeaders(): Promise<TestBackend> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => sockets.delete(sock));
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const lines = head.split('\r\n');
        const body = [lines[0] ?? '', ...lines.slice(1).map((l) => {
          const c = l.indexOf(':');
          return `${l.slice(0, c).toLowerCase()}: ${l.slice(c + 1).trim()}`;
        })].join('\n');
        sock.write(`HTTP/1.1 200 OK\r\nServer: echo\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    port,
    get connections() {
      return connections;
    },
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
