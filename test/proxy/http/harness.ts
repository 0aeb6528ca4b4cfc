// Builds an L7 proxy from runtime structures directly (no config parser) on 127.0.0.1 port 0, and
// a small HTTP/1 client on raw sockets that reads responses by their framing. Not a test file.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { handleHttpClient, handleHttpConnection, rawClientOf } from '../../../lb/proxy/http.ts';
import { ListenerGroup } from '../../../lb/proxy/listener.ts';
import {
  createBackend,
  createFrontend,
  createServer,
  type Backend,
  type BackendInit,
  type Frontend,
  type FrontendInit,
  type RuntimeServer,
} from '../../../lb/proxy/types.ts';
import { RrPicker } from '../tcp/harness.ts';
import { PendingBytes } from '../../helpers/pending-bytes.ts';

export { connect, sleep, until, readAll, closedWithin } from '../tcp/harness.ts';

export interface HttpProxyOptions {
  ports: readonly (number | { port: number; maxconn: number })[];
  backend?: Omit<Partial<BackendInit>, 'servers' | 'picker'>;
  frontend?: Omit<Partial<FrontendInit>, 'selectBackend'>;
  /** Extra backends reachable through hooks (useBackend). */
  selectBackend?: (main: Backend) => Backend | undefined;
}

export interface HttpTestProxy {
  readonly port: number;
  readonly group: ListenerGroup;
  readonly fe: Frontend;
  readonly be: Backend;
  readonly servers: readonly RuntimeServer[];
  stop(): Promise<void>;
}

export function makeBackend(name: string, ports: HttpProxyOptions['ports'], init: Omit<Partial<BackendInit>, 'servers' | 'picker'> = {}): Backend {
  const servers = ports.map((p, i) =>
    typeof p === 'number' ? createServer(`s${i + 1}`, '127.0.0.1', p) : createServer(`s${i + 1}`, '127.0.0.1', p.port, p.maxconn),
  );
  return createBackend({ name, mode: 'http', timeouts: { connect: 1000, server: 5000 }, ...init, servers, picker: new RrPicker(servers) });
}

export async function startHttpProxy(opts: HttpProxyOptions): Promise<HttpTestProxy> {
  const be = makeBackend('be', opts.ports, opts.backend);
  const pick = opts.selectBackend;
  const fe = createFrontend({ name: 'fe', mode: 'http', ...opts.frontend, selectBackend: () => (pick === undefined ? be : pick(be)) });
  const group = new ListenerGroup([{ bind: { host: '127.0.0.1', port: 0 }, frontend: fe }], {
    onConnection: (sock, l) => handleHttpConnection(sock, l.frontend),
    // Accepted on the raw TCP handle as the runtime does (net.Socket under LB_RAW_TCP=0).
    rawAccept: () => true,
    onRawConnection: (conn, l) => handleHttpClient(rawClientOf(conn), l.frontend),
  });
  await group.start();
  return { port: group.address(0)?.port ?? 0, group, fe, be, servers: be.servers, stop: () => group.stop() };
}

export interface Response {
  readonly status: number;
  readonly head: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** The whole message as received. */
  readonly raw: Buffer;
  header(name: string): string | undefined;
}

/**
 * A client connection that reads responses one by one by their framing (content-length, chunked,
 * or until close), so keep-alive and pipelining can be checked byte for byte.
 *
 * Received bytes go into one growing buffer (amortised doubling, consumed from the front): the
 * proxy under test runs in this process, so a copy of everything received on every read (8 MiB
 * bodies in 64 KiB reads: ~0.5 GB of memcpy) stalled the shared event loop for seconds on a loaded
 * machine, long enough for lb's `timeout server` and the other tests' deadlines to expire.
 */
export class Client {
  readonly sock: net.Socket;
  #pending = new PendingBytes();
  #ended = false;
  #waiters: (() => void)[] = [];
  /** How late the last deadline timer ran (event-loop stall), for timeout messages. */
  #lastLate = 0;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#pending.append(d);
      this.#wake();
    });
    sock.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    sock.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
    sock.on('error', () => {});
  }

  static async open(port: number): Promise<Client> {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new Client(s);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Bytes received and not consumed yet (a view: valid until the next read). */
  get #buf(): Buffer {
    return this.#pending.view();
  }

  #consume(n: number): void {
    this.#pending.consume(n);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #more(deadline: number): Promise<boolean> {
    if (this.#ended) return false;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#lastLate = performance.now() - deadline;
        // Node runs timers before polling sockets: after a stall, bytes that arrived in time are
        // still unread when the deadline timer runs. setImmediate runs after that poll.
        setImmediate(resolve);
      }, left);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
    return true;
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Reads one response; `head` true for a response to HEAD (no body). Throws on timeout or EOF. */
  async response(opts: { head?: boolean; ms?: number } = {}): Promise<Response> {
    const ms = opts.ms ?? 5000;
    this.#lastLate = 0;
    const deadline = performance.now() + ms;
    for (;;) {
      const r = this.#tryParse(opts.head ?? false);
      if (r !== undefined) return r;
      if (!(await this.#more(deadline))) {
        const r2 = this.#tryParse(opts.head ?? false, true);
        if (r2 !== undefined) return r2;
        const buf = this.#buf;
        const why = this.#ended ? 'the connection ended' : `incomplete after ${ms} ms (the deadline timer ran ${Math.round(this.#lastLate)} ms late: an event-loop stall if large)`;
        throw new Error(
          `no complete response (have ${JSON.stringify(buf.toString('latin1').slice(0, 200))}, ${buf.length} bytes pending, ${this.#pending.total} received on this connection, ended ${this.#ended}: ${why})`,
        );
      }
    }
  }

  /** Waits until the peer closes: true, or false once `ms` passed without that. */
  async waitEnded(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (await this.#more(deadline));
    return this.#ended;
  }

  /** Everything left until the peer closes (or `ms`). */
  async rest(ms = 3000): Promise<Buffer> {
    const deadline = performance.now() + ms;
    while (await this.#more(deadline));
    const b = Buffer.from(this.#buf);
    this.#consume(b.length);
    return b;
  }

  #tryParse(isHead: boolean, atEnd = false): Response | undefined {
    const buf = this.#buf;
    const he = buf.indexOf('\r\n\r\n');
    if (he < 0) return undefined;
    const head = buf.subarray(0, he).toString('latin1');
    const lines = head.split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()];
    });
    const get = (n: string): string | undefined => headers.find((h) => h[0] === n)?.[1];
    let end: number;
    let body: Buffer;
    const p = he + 4;
    if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      end = p;
      body = Buffer.alloc(0);
    } else if (get('transfer-encoding') !== undefined) {
      const parts: Buffer[] = [];
      let q = p;
      for (;;) {
        const le = buf.indexOf('\r\n', q);
        if (le < 0) return undefined;
        const size = parseInt(buf.subarray(q, le).toString('latin1'), 16);
        if (size === 0) {
          const te = buf.indexOf('\r\n\r\n', le);
          if (te < 0) return undefined;
          end = te + 4;
          break;
        }
        if (buf.length < le + 2 + size + 2) return undefined;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        q = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (get('content-length') !== undefined) {
      const cl = Number(get('content-length'));
      if (buf.length < p + cl) return undefined;
      end = p + cl;
      body = buf.subarray(p, end);
    } else {
      if (!atEnd) return undefined;
      end = buf.length;
      body = buf.subarray(p);
    }
    const raw = Buffer.from(buf.subarray(0, end));
    this.#consume(end);
    return { status, head, headers, body: Buffer.from(body), raw, header: get };
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One request on a fresh connection; returns the response and whether the proxy closed after it. */
export async function once(port: number, request: string, opts: { head?: boolean; ms?: number } = {}): Promise<Response & { closed: boolean }> {
  const c = await Client.open(port);
  try {
    c.write(request);
    const r = await c.response(opts);
    // A response that announces the close is followed by a FIN: wait for it (a loaded machine may
    // deliver it well after the response). Otherwise a short grace catches an unannounced close.
    const announced = /(^|,)\s*close\s*(,|$)/i.test(r.header('connection') ?? '');
    const closed = await c.waitEnded(announced ? 5000 : 30);
    return Object.assign(r, { closed });
  } finally {
    c.close();
  }
}

export const GET = (path = '/', extra = ''): string => `GET ${path} HTTP/1.1\r\nhost: test\r\n${extra}\r\n`;

/** A request as seen by streamingServer: the body is hashed as it arrives, never kept. */
export interface StreamedRequest {
  readonly method: string;
  readonly target: string;
  readonly head: string;
  readonly bodyLength: number;
  /** sha256 (hex) of the decoded body. */
  readonly digest: string;
  /** Backend connection (1-based) and request on it (1-based). */
  readonly conn: number;
  readonly seq: number;
}

export interface StreamingServer {
  readonly port: number;
  readonly connections: number;
  readonly requests: readonly StreamedRequest[];
  close(): Promise<void>;
}

// Decoder states of streamingServer.
const SS_HEAD = 0;
const SS_DATA = 1; // content-length body
const SS_SIZE = 2; // chunk-size line
const SS_CHUNK = 3; // chunk data
const SS_CHUNK_END = 4; // CRLF after chunk data
const SS_TRAILER = 5; // trailer lines until the empty one

/**
 * A keep-alive HTTP/1.1 backend for large bodies, on raw sockets and independent of lb's parser:
 * it decodes Content-Length and chunked request bodies incrementally and hashes them, so it costs
 * O(bytes) however the body is cut into reads (test/helpers' scriptedHttpServer re-concatenates
 * its whole buffer on every read: seconds of CPU for 8 MiB under load, in the process that runs
 * the proxy). `answer` gets each complete request and returns the bytes to write.
 */
export async function streamingServer(answer: (r: StreamedRequest) => string | Buffer): Promise<StreamingServer> {
  const requests: StreamedRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const conn = ++connections;
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => sockets.delete(sock));
    sock.on('end', () => sock.end());
    let st = SS_HEAD;
    let pending = Buffer.alloc(0); // an incomplete head or line (small)
    let left = 0;
    let seq = 0;
    let head = '';
    let hash = createHash('sha256');
    let length = 0;
    const complete = (): void => {
      const lines = head.split('\r\n');
      const [method = '', target = ''] = (lines[0] ?? '').split(' ');
      const r: StreamedRequest = { method, target, head, bodyLength: length, digest: hash.digest('hex'), conn, seq: ++seq };
      requests.push(r);
      st = SS_HEAD;
      sock.write(answer(r));
    };
    sock.on('data', (chunk: Buffer) => {
      let d = chunk;
      let off = 0;
      // The bytes up to `sep` (excluded), or undefined when `sep` has not arrived yet.
      const upTo = (sep: string): string | undefined => {
        if (pending.length > 0) {
          d = Buffer.concat([pending, d.subarray(off)]);
          off = 0;
          pending = Buffer.alloc(0);
        }
        const i = d.indexOf(sep, off);
        if (i < 0) {
          pending = Buffer.from(d.subarray(off));
          off = d.length;
          return undefined;
        }
        const s = d.subarray(off, i).toString('latin1');
        off = i + sep.length;
        return s;
      };
      while (off < d.length) {
        if (st === SS_HEAD) {
          const h = upTo('\r\n\r\n');
          if (h === undefined) return;
          head = h;
          hash = createHash('sha256');
          length = 0;
          const te = /^transfer-encoding:\s*chunked\s*$/im.test(h);
          left = Number(/^content-length:\s*(\d+)\s*$/im.exec(h)?.[1] ?? 0);
          if (te) st = SS_SIZE;
          else if (left > 0) st = SS_DATA;
          else complete();
        } else if (st === SS_DATA || st === SS_CHUNK) {
          const n = Math.min(left, d.length - off);
          hash.update(d.subarray(off, off + n));
          length += n;
          left -= n;
          off += n;
          if (left === 0) {
            if (st === SS_DATA) complete();
            else st = SS_CHUNK_END;
          }
        } else {
          const line = upTo('\r\n');
          if (line === undefined) return;
          if (st === SS_SIZE) {
            left = parseInt(line, 16);
            st = left > 0 ? SS_CHUNK : SS_TRAILER;
          } else if (st === SS_CHUNK_END) {
            if (line !== '') {
              sock.destroy();
              return;
            }
            st = SS_SIZE;
          } else if (line === '') {
            complete();
          }
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  return {
    port,
    get connections() {
      return connections;
    },
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
