// Shared pieces of the issue-3 end-to-end tests: killable HTTP backends that count what reaches
// them, the stats CSV read over HTTP, and one runtime-API command over TCP (what
// `echo "show stat" | socat stdio tcp:...` does).
import { createServer, request, type Server } from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import { sleep } from '../proxy/run/harness.ts';

export interface Backend {
  readonly port: number;
  /** Requests received, /health excluded. */
  hits: number;
  /** Health checks received. */
  checks: number;
  running(): boolean;
  start(): Promise<void>;
  /** Closes the listener and every connection, as `kill` does to a process. */
  kill(): Promise<void>;
}

export function backend(port: number): Backend {
  let srv: Server | undefined;
  const socks = new Set<Socket>();
  const b: Backend = {
    port,
    hits: 0,
    checks: 0,
    running: () => srv !== undefined,
    async start() {
      const s = createServer((req, res) => {
        if (req.url === '/health') b.checks++;
        else b.hits++;
        const body = req.url === '/health' ? 'OK\n' : `Response from backend ${port}\n`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      s.on('connection', (c: Socket) => {
        socks.add(c);
        c.once('close', () => socks.delete(c));
      });
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.listen(port, '127.0.0.1', () => ok());
      });
      srv = s;
    },
    async kill() {
      const s = srv;
      srv = undefined;
      if (s === undefined) return;
      for (const c of socks) c.destroy();
      await new Promise<void>((ok) => s.close(() => ok()));
    },
  };
  return b;
}

/** GET with optional basic auth; resolves status, headers and body. */
export function get(port: number, path: string, auth?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers['authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
    const r = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.setTimeout(5000, () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

/** Parses a stats CSV: header names, then one record per row keyed by column name. */
export function parseCsv(text: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const rows = lines.slice(1).map((l) => {
    const f = l.split(',');
    const r: Record<string, string> = {};
    header.forEach((h, i) => {
      if (h !== '') r[h] = f[i] ?? '';
    });
    return r;
  });
  return { header, rows };
}

/** Status of server `sv` of `be` in a CSV text. */
export function csvStatus(csv: string, be: string, sv: string): string | undefined {
  return parseCsv(csv).rows.find((r) => r['pxname'] === be && r['svname'] === sv)?.['status'];
}

/** Polls `read` every `every` ms until `pred` holds or `ms` elapse; returns the elapsed ms or -1. */
export async function waitFor(read: () => Promise<string | undefined>, pred: (v: string | undefined) => boolean, ms: number, every = 25): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (pred(await read())) return Date.now() - start;
    await sleep(every);
  }
  return -1;
}

/** One runtime API command on a TCP stats socket; resolves the full answer. */
export function cli(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => s.destroy(new Error('cli timeout')), 5000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('connect', () => s.end(`${command}\n`));
  });
}
