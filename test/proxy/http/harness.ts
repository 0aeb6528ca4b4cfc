// Builds an L7 proxy from runtime structures directly (no config parser) on 127.0.0.1 port 0, and
// a small HTTP/1 client on raw sockets that reads responses by their framing. Not a test file.
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
 */
export class Client {
  readonly sock: net.Socket;
  #buf = Buffer.alloc(0);
  #ended = false;
  #waiters: (() => void)[] = [];

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
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
      const t = setTimeout(resolve, left);
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
    const deadline = performance.now() + (opts.ms ?? 5000);
    for (;;) {
      const r = this.#tryParse(opts.head ?? false);
      if (r !== undefined) return r;
      if (!(await this.#more(deadline))) {
        const r2 = this.#tryParse(opts.head ?? false, true);
        if (r2 !== undefined) return r2;
        throw new Error(`no complete response (have ${JSON.stringify(this.#buf.toString('latin1').slice(0, 200))}, ended ${this.#ended})`);
      }
    }
  }

  /** Everything left until the peer closes (or `ms`). */
  async rest(ms = 3000): Promise<Buffer> {
    const deadline = performance.now() + ms;
    while (await this.#more(deadline));
    const b = this.#buf;
    this.#buf = Buffer.alloc(0);
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
    this.#buf = buf.subarray(end);
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
    await new Promise((res) => setTimeout(res, 30));
    return Object.assign(r, { closed: c.ended });
  } finally {
    c.close();
  }
}

export const GET = (path = '/', extra = ''): string => `GET ${path} HTTP/1.1\r\nhost: test\r\n${extra}\r\n`;
