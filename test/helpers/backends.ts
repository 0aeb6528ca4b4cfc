// Reusable test backends on 127.0.0.1, port 0. Each counts accepted connections, keeps its sockets
// so close() can destroy them, and close() resolves once the listening socket is closed.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { PendingBytes } from './pending-bytes.ts';

export interface TestBackend {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Sockets currently open on the backend side. */
  readonly sockets: ReadonlySet<net.Socket>;
  close(): Promise<void>;
}

class Backend implements TestBackend {
  port = 0;
  connections = 0;
  readonly sockets = new Set<net.Socket>();
  readonly server: net.Server;

  constructor(onSocket: (sock: net.Socket, self: Backend) => void, opts: net.ServerOpts = {}) {
    this.server = net.createServer({ allowHalfOpen: true, ...opts }, (sock) => {
      this.connections++;
      this.sockets.add(sock);
      sock.on('error', () => {});
      sock.once('close', () => this.sockets.delete(sock));
      onSocket(sock, this);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const a = this.server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : 0;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Echoes every byte back; ends its side when the client ends (half-close aware). */
export async function echoServer(): Promise<TestBackend> {
  return new Backend((sock) => {
    sock.pipe(sock);
  }).listen();
}

/**
 * Answers every chunk with a small HTTP/1.1 response whose body is "Response from backend NAME"
 * and closes, like the seed's round-robin hands-on backends.
 */
export async function httpResponder(name: string | number): Promise<TestBackend> {
  const body = `Response from backend ${name}`;
  const response = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
  return new Backend((sock) => {
    sock.once('data', () => sock.end(response));
    sock.on('end', () => sock.end());
  }).listen();
}

/** Echoes each chunk after `delayMs` (a slow server); ends after the client ends. */
export async function slowServer(delayMs: number): Promise<TestBackend> {
  return new Backend((sock) => {
    let pending = 0;
    let ended = false;
    sock.on('data', (d: Buffer) => {
      pending++;
      setTimeout(() => {
        pending--;
        if (!sock.destroyed) sock.write(d);
        if (ended && pending === 0) sock.end();
      }, delayMs);
    });
    sock.on('end', () => {
      ended = true;
      if (pending === 0) sock.end();
    });
  }).listen();
}

/** Accepts, then closes at once (a server that drops connections). */
export async function closingServer(): Promise<TestBackend> {
  return new Backend((sock) => {
    sock.destroy();
  }).listen();
}

/** Accepts and never reads nor writes: the socket stays paused (a stalled reader). */
export async function stalledServer(): Promise<TestBackend> {
  return new Backend(
    (sock) => {
      sock.pause();
    },
    { pauseOnConnect: true },
  ).listen();
}

/** A loopback port with nothing listening (connections are refused). */
export async function deadPort(): Promise<number> {
  const b = await new Backend(() => {}).listen();
  const port = b.port;
  await b.close();
  return port;
}

/**
 * A listening socket that never accepts, with its accept queue filled, so that further connection
 * attempts hang in SYN_SENT: the only way to exercise `timeout connect` on loopback. Node always
 * accepts, so the listener is a python3 child (backlog 0) killed by close().
 */
export async function blackholeServer(): Promise<TestBackend & { readonly fillers: readonly net.Socket[] }> {
  const child = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // Fill the accept queue (backlog 0 holds one or two connections) until a connect stalls.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 200);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return {
    port,
    connections: 0,
    sockets: new Set(),
    fillers,
    async close() {
      for (const s of fillers) s.destroy();
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** One request as seen by scriptedHttpServer (bodies are decoded: Content-Length or chunked). */
export interface SeenRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Header lines in order, names lowercased. */
  readonly headers: readonly (readonly [string, string])[];
  readonly head: string;
  readonly body: Buffer;
  /** Index of the backend connection (1-based) and of the request on it (1-based). */
  readonly conn: number;
  readonly seq: number;
}

/** What a handler returns: bytes to write, or an action: close (destroy without answering), hold (the handler took the socket). */
export type HttpAnswer = string | Buffer | { readonly action: 'close' | 'hold' };

export interface ScriptedHttpServer extends TestBackend {
  readonly requests: SeenRequest[];
}

/**
 * A keep-alive HTTP/1.1 backend written on raw sockets, independent of lb's parser: it frames
 * requests by Content-Length or chunked coding (simple decoder), records them, and writes what
 * `answer` returns. Pipelined requests are answered in order.
 */
export async function scriptedHttpServer(answer: (req: SeenRequest, sock: net.Socket) => HttpAnswer): Promise<ScriptedHttpServer> {
  const requests: SeenRequest[] = [];
  const b = new Backend((sock, self) => {
    const conn = self.connections;
    let seq = 0;
    const pending = new PendingBytes();
    let held = false;
    sock.on('data', (d: Buffer) => {
      if (held) return;
      let buf = pending.append(d);
      for (;;) {
        const he = buf.indexOf('\r\n\r\n');
        if (he < 0) return;
        const head = buf.subarray(0, he).toString('latin1');
        const lines = head.split('\r\n');
        const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
        const headers = lines.slice(1).map((l): [string, string] => {
          const c = l.indexOf(':');
          return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()];
        });
        const get = (n: string): string | undefined => headers.find((h) => h[0] === n)?.[1];
        let p = he + 4;
        let body: Buffer;
        if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
          const parts: Buffer[] = [];
          for (;;) {
            const le = buf.indexOf('\r\n', p);
            if (le < 0) return;
            const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
            if (size === 0) {
              const te = buf.indexOf('\r\n\r\n', le);
              if (te < 0) return;
              p = te + 4;
              break;
            }
            if (buf.length < le + 2 + size + 2) return;
            parts.push(buf.subarray(le + 2, le + 2 + size));
            p = le + 2 + size + 2;
          }
          body = Buffer.concat(parts);
        } else {
          const cl = Number(get('content-length') ?? 0);
          if (buf.length < p + cl) return;
          body = buf.subarray(p, p + cl);
          p += cl;
        }
        pending.consume(p);
        buf = pending.view();
        const req: SeenRequest = { method, target, version, headers, head, body: Buffer.from(body), conn, seq: ++seq };
        requests.push(req);
        const a = answer(req, sock);
        if (typeof a === 'object' && !Buffer.isBuffer(a)) {
          if (a.action === 'close') sock.destroy();
          else held = true;
          return;
        }
        sock.write(a);
      }
    });
    sock.on('end', () => sock.end());
  });
  await b.listen();
  return Object.assign(b, { requests });
}

/** A 200 response with `body` and a content-length (and extra header lines, CRLF-terminated). */
export function okResponse(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}
