// `npm start`: the seed's first hands-on, on loopback.
// Starts three demo backends (127.0.0.1:8001-8003, each answering "Response from backend PORT"),
// validates examples/demo.cfg with `lb -c`, then runs `lb` in front of them in the foreground.
// Ctrl-C stops everything. Set DEMO_SECONDS=N to stop by itself after N seconds (used by tests).
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const cfg = join(root, 'examples', 'demo.cfg');
const lbBin = join(root, 'bin', 'lb.js');
const ports = [8001, 8002, 8003];

function startBackend(port: number): Promise<Server> {
  const srv = createServer((req, res) => {
    const body = req.url === '/health' ? 'OK\n' : `Response from backend ${port}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((ok, fail) => {
    srv.once('error', fail);
    srv.listen(port, '127.0.0.1', () => ok(srv));
  });
}

const backends: Server[] = [];
try {
  for (const p of ports) backends.push(await startBackend(p));
} catch (e) {
  console.error(`demo: cannot start the demo backends on 127.0.0.1:8001-8003: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
console.log('demo: backends listening on 127.0.0.1:8001, :8002, :8003');

const check = spawnSync(process.execPath, [lbBin, '-c', '-f', cfg], { encoding: 'utf8' });
process.stdout.write(`$ lb -c -f examples/demo.cfg\n${check.stdout}${check.stderr}`);
if (check.status !== 0) {
  for (const b of backends) b.close();
  process.exit(1);
}

const lb = spawn(process.execPath, [lbBin, '-d', '-f', cfg], { stdio: 'inherit' });
const stopAll = (): void => {
  if (lb.exitCode === null) lb.kill('SIGTERM');
  for (const b of backends) b.close();
};
process.once('SIGINT', stopAll);
process.once('SIGTERM', stopAll);
const seconds = Number(process.env['DEMO_SECONDS'] ?? '0');
if (seconds > 0) setTimeout(stopAll, seconds * 1000).unref();
setTimeout(() => {
  if (lb.exitCode !== null) return;
  console.log(
    [
      '',
      'demo: lb is running. Try:',
      '  for i in $(seq 1 6); do curl -s http://127.0.0.1:8080; done',
      '  curl -u admin:haproxy123 http://127.0.0.1:8404/stats',
      '  curl -s -u admin:haproxy123 "http://127.0.0.1:8404/stats;csv"',
      'Ctrl-C stops the demo.',
    ].join('\n'),
  );
}, 500).unref();
lb.once('exit', (code) => {
  if (code !== 0 && code !== null) {
    console.log(`\ndemo: lb exited with code ${code}: the configuration check above is what works today.`);
  }
  for (const b of backends) b.close();
  process.exitCode = code ?? 0;
});
