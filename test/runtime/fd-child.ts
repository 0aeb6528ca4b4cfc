// Child process for the fd@ test: serves the runtime API on a listening socket inherited as fd 3
// (or the fd named in argv[2]), then prints "ready". The parent kills it by PID.
import { RuntimeApiServer } from '../../lb/runtime/server.ts';
import { differentialPool } from './fake-context.ts';

const ref = process.argv[2] ?? '3';
const namedFds: Record<string, number> = { admin: 3 };
const api = new RuntimeApiServer({
  sockets: [{ address: { family: 'fd', host: ref }, level: 'admin' }],
  ctx: differentialPool({ web: 3, other: 4, st: 5 }, { s1: 18081, s2: 18082, s3: 18083, a: 18091, b: 18092 }),
  namedFds,
});
try {
  await api.start();
  process.stdout.write('ready\n');
} catch (err) {
  process.stdout.write(`failed ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
process.on('SIGTERM', () => {
  void api.stop().then(() => process.exit(0));
});
