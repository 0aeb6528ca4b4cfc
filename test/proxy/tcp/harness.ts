// Builds an L4 proxy from runtime structures directly (no config parser) on 127.0.0.1 port 0,
// plus small client helpers. Not a test file (no .test.ts suffix).
import net from 'node:net';
import { ListenerGroup } from '../../../lb/proxy/listener.ts';
import { handleTcpConnection, tcpClientRead } from '../../../lb/proxy/tcp.ts';
import {
  createBackend,
  createFrontend,
  createServer,
  hasFreeSlot,
  type Backend,
  type BackendInit,
  type Frontend,
  type FrontendInit,
  type RuntimeServer,
  type ServerPicker,
} from '../../../lb/proxy/types.ts';

/** A trivial round robin over servers with a free slot; `avoid` is skipped when possible. */
export class RrPicker implements ServerPicker {
  readonly servers: readonly RuntimeServer[];
  usable = true;
  #next = 0;
  readonly picks: string[] = [];
  constructor(servers: readonly RuntimeServer[]) {
    this.servers = servers;
  }
  pick(_key?: string, avoid?: RuntimeServer): RuntimeServer | undefined {
    const n = this.servers.length;
    let fallback: RuntimeServer | undefined;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const s = this.servers[i];
      if (s === undefined || !hasFreeSlot(s)) continue;
      if (s === avoid && n > 1) {
        fallback ??= s;
        continue;
      }
      this.#next = (i + 1) % n;
      this.picks.push(s.name);
      return s;
    }
    if (fallback !== undefined) this.picks.push(fallback.name);
    return fallback;
  }
  hasUsable(): boolean {
    return this.usable && this.servers.length > 0;
  }
  taken(): void {}
  released(): void {}
}

/** Always the first server (a deterministic, hash-like picker) unless told to avoid it. */
export class FirstPicker extends RrPicker {
  override pick(_key?: string, avoid?: RuntimeServer): RuntimeServer | undefined {
    for (const s of this.servers) {
      if (hasFreeSlot(s) && (s !== avoid || this.servers.length === 1)) {
        this.picks.push(s.name);
        return s;
      }
    }
    return undefined;
  }
}

export interface ProxyOptions {
  ports: readonly (number | { port: number; maxconn: number })[];
  backend?: Omit<Partial<BackendInit>, 'servers' | 'picker'>;
  frontend?: Omit<Partial<FrontendInit>, 'selectBackend'>;
  picker?: (servers: readonly RuntimeServer[]) => RrPicker;
  globalMaxconn?: number;
  /** Read client sockets with 'data' events instead of the onread path production uses. */
  streamRead?: boolean;
}

export interface TestProxy {
  readonly port: number;
  readonly group: ListenerGroup;
  readonly fe: Frontend;
  readonly be: Backend;
  readonly servers: readonly RuntimeServer[];
  readonly picker: RrPicker;
  /** Client sockets accepted by the proxy (its side of each client connection). */
  readonly accepted: net.Socket[];
  stop(): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<TestProxy> {
  const servers = opts.ports.map((p, i) =>
    typeof p === 'number' ? createServer(`s${i + 1}`, '127.0.0.1', p) : createServer(`s${i + 1}`, '127.0.0.1', p.port, p.maxconn),
  );
  const picker = (opts.picker ?? ((s) => new RrPicker(s)))(servers);
  const be = createBackend({ name: 'be', ...opts.backend, servers, picker });
  const fe = createFrontend({ name: 'fe', ...opts.frontend, selectBackend: () => be });
  const accepted: net.Socket[] = [];
  const clientRead = opts.streamRead === true ? undefined : tcpClientRead;
  const group = new ListenerGroup([{ bind: { host: '127.0.0.1', port: 0 }, frontend: fe, clientRead }], {
    maxconn: opts.globalMaxconn ?? 0,
    onConnection: (sock, l) => {
      accepted.push(sock);
      handleTcpConnection(sock, l.frontend);
    },
  });
  await group.start();
  const port = group.address(0)?.port ?? 0;
  return { port, group, fe, be, servers, picker, accepted, stop: () => group.stop() };
}

export async function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

/** Reads until `n` bytes arrived (or the socket ends / `ms` pass); returns what was read. */
export async function readBytes(s: net.Socket, n: number, ms = 5000): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('end', done);
      s.off('close', done);
      resolve(Buffer.concat(parts));
    };
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) done();
    };
    const t = setTimeout(done, ms);
    s.on('data', onData);
    s.once('end', done);
    s.once('close', done);
  });
}

/** Reads everything until the peer ends or closes (bounded by `ms`). */
export async function readAll(s: net.Socket, ms = 5000): Promise<Buffer> {
  return readBytes(s, Number.POSITIVE_INFINITY, ms);
}

/**
 * Resolves with the time (ms) until the peer closes the connection (FIN or reset seen by `s`),
 * or -1 after `ms`. Data arriving meanwhile is discarded.
 */
export async function closedWithin(s: net.Socket, ms: number): Promise<number> {
  const t0 = performance.now();
  if (s.destroyed || s.readableEnded) return 0;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      s.off('end', done);
      s.off('close', done);
      resolve(performance.now() - t0);
    };
    const t = setTimeout(() => {
      s.off('end', done);
      s.off('close', done);
      resolve(-1);
    }, ms);
    s.once('end', done);
    s.once('close', done);
    s.resume();
  });
}

export async function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every 5 ms until true or `ms` pass; returns the final value. */
export async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await sleep(5);
  return cond();
}
