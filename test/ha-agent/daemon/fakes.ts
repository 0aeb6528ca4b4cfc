// Fakes for in-process daemon tests: a fake clock for the fsm timers, a fake host that answers
// `ip addr`/`ip -j addr show`/`arping` and track/notify scripts through the injected runner, and a
// helper that builds a Daemon wired to a MemoryTransportHub.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Daemon } from '../../../ha-agent/daemon.ts';
import type { LinkWatch } from '../../../ha-agent/daemon.ts';
import { MemoryTransportHub } from '../../../ha-agent/net/transport.ts';
import type { AdvertTransport } from '../../../ha-agent/net/transport.ts';
import { FakeRunner } from '../../../ha-agent/runner.ts';
import type { RecordedCall, RunResult } from '../../../ha-agent/runner.ts';
import type { Clock, LogLevel } from '../../../ha-agent/vrrp/instance.ts';

/** Lets every pending microtask and I/O callback run (fake responses, hub deliveries). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  #now = 1000;
  #seq = 0;
  #timers: FakeTimer[] = [];

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, delayMs: number): () => void {
    const t: FakeTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Runs every timer due within `ms`, in time order, letting async effects settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await flush();
    for (let guard = 0; guard < 100_000; guard++) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: FakeTimer | undefined;
      for (const t of this.#timers) if (t.at <= end && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await flush();
    }
    this.#now = end;
    await flush();
  }
}

interface Addr {
  local: string;
  prefixlen: number;
  label?: string;
}

/**
 * One host's network state as `ip` reports it, plus scripted answers for other programs. The
 * FakeRunner records every argv (tests assert on it); `scripts` maps a program path to its exit code.
 */
export class FakeHost {
  readonly runner: FakeRunner;
  readonly addrs = new Map<string, Addr[]>();
  readonly scripts = new Map<string, number>();
  /** Called after every command this host answers (to check invariants between effects). */
  readonly observers: (() => void)[] = [];

  constructor(primary: string, iface = 'eth0') {
    this.addrs.set(iface, [{ local: primary, prefixlen: 24 }]);
    this.runner = new FakeRunner((c) => this.#answer(c));
  }

  holds(address: string, iface = 'eth0'): boolean {
    return (this.addrs.get(iface) ?? []).some((a) => a.local === address);
  }

  /** argv lines run so far whose program is `file`. */
  calls(file: string): string[][] {
    return this.runner.argv.filter((a) => a[0] === file);
  }

  #answer(c: RecordedCall): Partial<RunResult> {
    const r = this.#answerRaw(c);
    for (const o of this.observers) o();
    return r;
  }

  #answerRaw(c: RecordedCall): Partial<RunResult> {
    if (c.file === 'ip') return this.#ip([...c.args]);
    if (c.file === 'arping') return { code: 0 };
    const code = this.scripts.get(c.file);
    return code === undefined ? { code: 127, spawnError: 'ENOENT' } : { code };
  }

  #ip(args: string[]): Partial<RunResult> {
    if (args[0] === '-j' && args[1] === 'addr' && args[2] === 'show' && args[3] === 'dev') {
      const dev = args[4] ?? '';
      const list = this.addrs.get(dev);
      if (list === undefined) return { code: 1, stderr: `Device "${dev}" does not exist.` };
      const info = list.map((a, i) => ({ family: 'inet', local: a.local, prefixlen: a.prefixlen, ...(a.label === undefined ? {} : { label: a.label }), ...(i > 0 ? { secondary: true } : {}) }));
      return { code: 0, stdout: JSON.stringify([{ ifname: dev, addr_info: info }]) };
    }
    if (args[0] === 'addr' && (args[1] === 'add' || args[1] === 'del')) {
      const [address = '', prefix = '32'] = (args[2] ?? '').split('/');
      const dev = args[args.indexOf('dev') + 1] ?? '';
      const li = args.indexOf('label');
      const list = this.addrs.get(dev) ?? [];
      this.addrs.set(dev, list);
      const i = list.findIndex((a) => a.local === address);
      if (args[1] === 'add') {
        if (i >= 0) return { code: 2, stderr: 'Error: ipv4: Address already assigned.' };
        list.push({ local: address, prefixlen: Number(prefix), ...(li > 0 ? { label: args[li + 1] ?? '' } : {}) });
        return { code: 0 };
      }
      if (i < 0) return { code: 2, stderr: 'Error: ipv4: Address not found.' };
      list.splice(i, 1);
      return { code: 0 };
    }
    return { code: 1, stderr: `fake ip: unsupported ${args.join(' ')}` };
  }
}

/** A link watcher whose state the test sets. */
export class FakeLinks {
  readonly #state = new Map<string, boolean>();
  readonly #subs = new Map<string, Set<(up: boolean, reason: string) => void>>();

  readonly factory = (iface: string, _pollMs: number, onChange: (up: boolean, reason: string) => void): LinkWatch => {
    const subs = this.#subs.get(iface) ?? new Set();
    this.#subs.set(iface, subs);
    let active = false;
    const state = this.#state;
    return {
      get up() {
        return state.get(iface) ?? true;
      },
      start: () => {
        active = true;
        subs.add(onChange);
      },
      stop: () => {
        if (active) subs.delete(onChange);
        active = false;
      },
    };
  };

  set(iface: string, up: boolean): void {
    if ((this.#state.get(iface) ?? true) === up) return;
    this.#state.set(iface, up);
    for (const cb of this.#subs.get(iface) ?? []) cb(up, `${iface}: ${up ? 'up' : 'down'}`);
  }
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temporary directory removed when the test process exits. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hapair-daemon-'));
  dirs.push(d);
  return d;
}

export function writeConf(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

export interface NodeOptions {
  readonly hub: MemoryTransportHub;
  readonly clock: FakeClock;
  readonly address: string;
  readonly configFile: string;
  readonly controlSocket?: string | null;
  /** Wraps the transport (e.g. to record sent datagrams). */
  readonly wrap?: (t: AdvertTransport) => AdvertTransport;
}

export interface TestNode {
  readonly daemon: Daemon;
  readonly host: FakeHost;
  readonly links: FakeLinks;
  readonly logs: string[];
  readonly transitions: string[];
  transport: AdvertTransport | undefined;
}

/** A Daemon on a FakeHost, its adverts on `hub`, its fsm timers on `clock`. Not started. */
export function makeNode(o: NodeOptions): TestNode {
  const host = new FakeHost(o.address);
  const links = new FakeLinks();
  const logs: string[] = [];
  const transitions: string[] = [];
  const node: TestNode = {
    host, links, logs, transitions, transport: undefined,
    daemon: new Daemon({
      configFile: o.configFile,
      controlSocket: o.controlSocket ?? null,
      runner: host.runner,
      clock: o.clock,
      log: (level: LogLevel, m: string) => logs.push(`${level} ${m}`),
      openTransport: () => {
        const t = o.hub.open(o.address);
        node.transport = o.wrap === undefined ? t : o.wrap(t);
        return Promise.resolve(node.transport);
      },
      watchLink: links.factory,
      loadOptions: { interfaces: null },
      transitions: new Writable({
        write(chunk: Buffer | string, _enc, cb) {
          transitions.push(String(chunk).trim());
          cb();
        },
      }),
      ttlCheck: false,
      stopTimeoutMs: 2000,
    }),
  };
  return node;
}

/** A minimal keepalived.conf for one instance on eth0 with VIP 198.18.0.100/24. */
export function instanceConf(o: { priority: number; state?: 'MASTER' | 'BACKUP'; vrid?: number; extra?: string; global?: string; auth?: string }): string {
  return `${o.global ?? ''}
vrrp_instance VI_1 {
  state ${o.state ?? 'BACKUP'}
  interface eth0
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int 0.1
${o.auth ?? ''}
  virtual_ipaddress {
    198.18.0.100/24
  }
${o.extra ?? ''}
}
`;
}
