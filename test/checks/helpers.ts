// Test servers for the check tests: every one listens on 127.0.0.1 port 0 and records what it got.
import { spawn, type ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import net from 'node:net';

export interface Recorder {
  readonly port: number;
  /** Every request received (bytes as latin1), one entry per connection, in order. */
  readonly received: string[];
  /** What the next connections get; change it to flip the server's health. */
  reply: string | ((req: string) => string | undefined) | undefined;
  close(): Promise<void>;
}

/**
 * A server that answers each connection with `reply` after the first data (or at once when
 * `onConnect`), then closes. `reply === undefined` = stay silent.
 */
export async function recorder(reply: Recorder['reply'], onConnect = false): Promise<Recorder> {
  const sockets = new Set<net.Socket>();
  const state: { reply: Recorder['reply'] } = { reply };
  const received: string[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => sockets.delete(sock));
    const idx = received.push('') - 1;
    const answer = (req: string): void => {
      const r = typeof state.reply === 'function' ? state.reply(req) : state.reply;
      if (r !== undefined) sock.end(Buffer.from(r, 'latin1'));
    };
    if (onConnect) answer('');
    else
      sock.on('data', (d: Buffer) => {
        received[idx] += d.toString('latin1');
        answer(received[idx] ?? '');
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    received,
    get reply() {
      return state.reply;
    },
    set reply(r) {
      state.reply = r;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port with nothing listening (bound then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return typeof a === 'object' && a !== null ? a.port : 0;
}

/**
 * A port whose listen backlog is full and that never accepts: new SYNs are dropped, so a connect
 * times out (L4TOUT). Needs python3; resolves undefined without it.
 */
export async function blackholePort(): Promise<{ port: number; stop: () => void } | undefined> {
  const code = `
import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
cs = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    cs.append(c)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;
  let child: ChildProcess;
  try {
    child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    child.once('error', () => resolve(undefined));
    child.stdout?.once('data', (d: Buffer) => {
      const port = Number(d.toString().trim());
      resolve({ port, stop: () => child.kill() });
    });
  });
}

/** Collects messages of a diagnostics channel; wait() resolves when `pred` matches one (bounded). */
/** `T` is the message type the channel's publisher documents (channels.ts); it is trusted, not checked. */
export function collect<T>(name: string): { messages: T[]; wait(pred: (m: T) => boolean, ms?: number): Promise<T>; stop(): void } {
  const messages: T[] = [];
  const waiters: { pred: (m: T) => boolean; resolve: (m: T) => void }[] = [];
  const fn = (m: unknown): void => {
    // oxlint-disable-next-line typescript/no-unsafe-type-assertion -- see the function comment
    const msg = m as T;
    messages.push(msg);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w !== undefined && w.pred(msg)) {
        waiters.splice(i, 1);
        w.resolve(msg);
      }
    }
  };
  subscribe(name, fn);
  return {
    messages,
    wait: (pred, ms = 5000) =>
      new Promise<T>((resolve, reject) => {
        const found = messages.find(pred);
        if (found !== undefined) {
          resolve(found);
          return;
        }
        const t = setTimeout(() => reject(new Error(`no matching message on ${name} within ${ms}ms`)), ms);
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
      }),
    stop: () => unsubscribe(name, fn),
  };
}
