// The HTTP responder of a drill node: runs inside the node's namespace, listens on 0.0.0.0:PORT (so
// it answers on the VIP whenever the agent has added it to eth0) and answers every request with the
// node's name. Minimal on purpose (one write, Connection: close): the drill measures the agents, not
// a web server; the real lb replaces it once it exists.
//
//   node responder.ts NAME [PORT] [LIFETIME_MS]
// Prints "ready" once listening. Exits by itself after LIFETIME_MS (bounded even if the harness dies
// without cleaning up; the harness also kills it by process group).
import { createServer } from 'node:net';

const name = process.argv[2] ?? '?';
const port = Number(process.argv[3] ?? '80');
const lifetimeMs = Number(process.argv[4] ?? '900000');
const body = `${name}\n`;
const reply = `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

const server = createServer((s) => {
  s.on('error', () => s.destroy());
  s.setTimeout(2000, () => s.destroy());
  s.once('data', () => s.end(reply));
});
server.on('error', (err) => {
  process.stderr.write(`responder ${name}: ${err.message}\n`);
  process.exit(1);
});
server.listen({ port, host: '0.0.0.0' }, () => process.stdout.write('ready\n'));
setTimeout(() => process.exit(0), lifetimeMs);
