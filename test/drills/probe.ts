// The drill client: runs inside the client namespace and probes http://VIP:PORT/ every INTERVAL ms
// for at most DURATION ms, each probe a fresh TCP connection with its own TIMEOUT. One JSON line per
// probe on stdout, in completion order: {"s":start,"e":end,"n":"A"} on success (n = the answering
// node's name) or {"s":start,"e":end,"f":"timeout"|"ECONNREFUSED"|...} on failure. Times are epoch
// milliseconds (Date.now(): the harness, another process, uses the same clock for fault times).
//
//   node probe.ts VIP PORT INTERVAL_MS TIMEOUT_MS DURATION_MS
// Probes start on a fixed schedule (start + k × INTERVAL), not after the previous one ends, so a
// hanging probe does not slow the sampling; at most TIMEOUT/INTERVAL + 1 are in flight. Stops on
// SIGTERM/SIGINT or when stdin closes, after the probes in flight have ended.
import { connect } from 'node:net';

const [host = '198.18.0.100', portArg = '80', intervalArg = '10', timeoutArg = '80', durationArg = '10000'] = process.argv.slice(2);
const port = Number(portArg);
const intervalMs = Number(intervalArg);
const timeoutMs = Number(timeoutArg);
const durationMs = Number(durationArg);
const request = `GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`;

let stopping = false;
let inFlight = 0;
const out: string[] = [];

function flush(): void {
  if (out.length === 0) return;
  process.stdout.write(`${out.join('\n')}\n`);
  out.length = 0;
}

function done(start: number, node: string | undefined, failure: string | undefined): void {
  const end = Date.now();
  out.push(node !== undefined ? `{"s":${start},"e":${end},"n":${JSON.stringify(node)}}` : `{"s":${start},"e":${end},"f":${JSON.stringify(failure ?? 'error')}}`);
  flush();
  inFlight--;
  if (stopping && inFlight === 0) process.exit(0);
}

function probe(): void {
  const start = Date.now();
  inFlight++;
  let finished = false;
  let data = '';
  const sock = connect({ host, port });
  const finish = (node: string | undefined, failure: string | undefined): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    sock.destroy();
    done(start, node, failure);
  };
  const timer = setTimeout(() => finish(undefined, 'timeout'), timeoutMs);
  sock.setNoDelay(true);
  sock.on('connect', () => sock.write(request));
  sock.on('data', (b: Buffer) => {
    data += b.toString('latin1');
  });
  sock.on('end', () => {
    const at = data.indexOf('\r\n\r\n');
    const ok = data.startsWith('HTTP/1.0 200') && at >= 0;
    finish(ok ? data.slice(at + 4).trim() : undefined, ok ? undefined : 'bad-response');
  });
  sock.on('error', (err: NodeJS.ErrnoException) => finish(undefined, err.code ?? 'error'));
}

const t0 = Date.now();
let k = 0;
function tick(): void {
  if (stopping) return;
  const now = Date.now();
  if (now - t0 >= durationMs) return stop();
  probe();
  k++;
  // Catch up without bursting: skip missed slots instead of firing them all at once.
  while (t0 + k * intervalMs <= now) k++;
  setTimeout(tick, Math.max(0, t0 + k * intervalMs - Date.now()));
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (inFlight === 0) process.exit(0);
  setTimeout(() => process.exit(0), timeoutMs + 50);
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
tick();
