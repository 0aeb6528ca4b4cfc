// A tiny HTTP backend for the drill: answers its own name, and 200 on /health.
import { createServer } from 'node:http';
const name = process.env.BACKEND_NAME ?? 'backend';
createServer((req, res) => {
  const body = req.url === '/health' ? 'OK\n' : `Response from ${name}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(8080);
