// A RuntimeContext over an in-memory pool, with HAProxy's admin-state semantics, so the command
// table is tested without a proxy. Every mutation is also logged in `calls` for assertions.
import type {
  AdminFlag,
  CheckResultKind,
  InfoValues,
  RuntimeBackend,
  RuntimeContext,
  RuntimeServer,
  ServerOpState,
  StatRequest,
} from '../../lb/runtime/context.ts';
import { RuntimeCommandError } from '../../lb/runtime/context.ts';

export interface FakeServerInit {
  name: string;
  addr?: string;
  port: number;
  weight?: number;
  id?: number;
  forcedId?: boolean;
  check?: boolean;
  agent?: boolean;
  agentPort?: number;
  /** `disabled` on the server line. */
  disabled?: boolean;
  /** Operational state without admin flags (what checks decided). */
  op?: ServerOpState;
  checkStatus?: string;
  checkResult?: CheckResultKind;
  health?: number;
}

export interface FakeBackendInit {
  name: string;
  id: number;
  dynamicWeights?: boolean;
  servers: FakeServerInit[];
}

interface FakeServer {
  id: number;
  name: string;
  forcedId: boolean;
  addr: string;
  port: number;
  iweight: number;
  uweight: number;
  admin: Set<AdminFlag>;
  baseOp: ServerOpState;
  lastChange: number;
  check: { configured: boolean; enabled: boolean; status: string; result: CheckResultKind; health: number };
  agent: { configured: boolean; enabled: boolean; port: number };
}

export class FakeRuntime implements RuntimeContext {
  readonly calls: string[] = [];
  clock = 1_800_000_000_000;
  infoValues: Record<string, string | number> = {
    Name: 'HAProxy',
    Version: '2.6.12-1+deb12u4',
    Release_date: '2026/10/17',
    Nbthread: 1,
    Pid: 4242,
    Uptime: '0d 0h00m08s',
    Uptime_sec: 8,
    Maxconn: 9984,
    node: 'vm',
    Tainted: '0',
  };
  envValues: Record<string, string | undefined> = { HOME: '/root', PATH: '/usr/bin:/bin' };
  proxies: Record<string, number> = {};
  statRequests: StatRequest[] = [];
  readonly #backends: { name: string; id: number; dynamicWeights: boolean; servers: FakeServer[] }[];

  constructor(backends: FakeBackendInit[]) {
    this.#backends = backends.map((b) => {
      this.proxies[b.name] = b.id;
      return {
        name: b.name,
        id: b.id,
        dynamicWeights: b.dynamicWeights ?? true,
        servers: b.servers.map((s, i) => {
          const check = s.check ?? false;
          const w = s.weight ?? 1;
          return {
            id: s.id ?? i + 1,
            name: s.name,
            forcedId: s.forcedId ?? s.id !== undefined,
            addr: s.addr ?? '127.0.0.1',
            port: s.port,
            iweight: w,
            uweight: w,
            admin: new Set<AdminFlag>(s.disabled === true ? ['FMAINT', 'CMAINT'] : []),
            baseOp: s.op ?? 'running',
            lastChange: this.clock,
            check: {
              configured: check,
              enabled: check,
              status: s.checkStatus ?? 'INI',
              result: s.checkResult ?? 'unknown',
              health: s.health ?? (check ? 0 : 2),
            },
            agent: { configured: s.agent ?? false, enabled: s.agent ?? false, port: s.agentPort ?? 0 },
          };
        }),
      };
    });
  }

  #srv(backend: string, server: string): FakeServer {
    const s = this.#backends.find((b) => b.name === backend)?.servers.find((x) => x.name === server);
    if (s === undefined) throw new Error(`fake: no ${backend}/${server}`);
    return s;
  }

  backends(): readonly RuntimeBackend[] {
    return this.#backends.map((b) => ({
      id: b.id,
      name: b.name,
      forcedId: false,
      dynamicWeights: b.dynamicWeights,
      servers: b.servers.map((s): RuntimeServer => {
        const maint = s.admin.has('FMAINT') || s.admin.has('IMAINT') || s.admin.has('CMAINT');
        return {
          id: s.id,
          name: s.name,
          forcedId: s.forcedId,
          addr: s.addr,
          port: s.port,
          useSsl: false,
          opState: maint ? 'stopped' : s.baseOp,
          admin: [...s.admin],
          uweight: s.uweight,
          iweight: s.iweight,
          lastChange: s.lastChange,
          check: { ...s.check, paused: maint && !s.check.configured && s.admin.has('CMAINT'), port: 0 },
          agent: { ...s.agent, paused: false },
        };
      }),
    }));
  }

  proxyId(name: string): number | undefined {
    return this.proxies[name];
  }

  setServerAdmin(backend: string, server: string, state: 'ready' | 'drain' | 'maint'): void {
    this.calls.push(`admin ${backend}/${server} ${state}`);
    const s = this.#srv(backend, server);
    if (state === 'ready') {
      s.admin.delete('FMAINT');
      s.admin.delete('FDRAIN');
    } else if (state === 'drain') {
      s.admin.add('FDRAIN');
      s.admin.delete('FMAINT');
    } else {
      s.admin.add('FMAINT');
      s.admin.delete('FDRAIN');
    }
    s.lastChange = this.clock;
  }

  setServerWeight(backend: string, server: string, weight: number): void {
    this.calls.push(`weight ${backend}/${server} ${weight}`);
    this.#srv(backend, server).uweight = weight;
  }

  setServerAddr(backend: string, server: string, addr: string, port?: number): void {
    this.calls.push(`addr ${backend}/${server} ${addr} ${port ?? '-'}`);
    const s = this.#srv(backend, server);
    s.addr = addr;
    if (port !== undefined) s.port = port;
  }

  setCheckEnabled(backend: string, server: string, kind: 'health' | 'agent', enabled: boolean): void {
    this.calls.push(`${enabled ? 'enable' : 'disable'} ${kind} ${backend}/${server}`);
    const s = this.#srv(backend, server);
    if (kind === 'health') s.check.enabled = enabled;
    else s.agent.enabled = enabled;
  }

  clearCounters(all: boolean): void {
    this.calls.push(all ? 'clear all' : 'clear');
  }

  /** Refuses like a real runtime might, to test error propagation. */
  failNext: string | undefined;

  info(): InfoValues {
    if (this.failNext !== undefined) {
      const m = this.failNext;
      this.failNext = undefined;
      throw new RuntimeCommandError(m);
    }
    return this.infoValues;
  }

  renderStat(req: StatRequest): string {
    this.statRequests.push(req);
    return `# stat ${req.format} ${req.proxyId} ${req.typeMask} ${req.serverId}${req.up ? ' up' : ''}${req.noMaint ? ' no-maint' : ''}\n`;
  }

  env(): Readonly<Record<string, string | undefined>> {
    return this.envValues;
  }

  now(): number {
    return this.clock;
  }
}

/** The pool of the differential test's haproxy.cfg (ids as haproxy numbers them there). */
export function differentialPool(ids: { web: number; other: number; st: number }, ports: { s1: number; s2: number; s3: number; a: number; b: number }): FakeRuntime {
  return new FakeRuntime([
    {
      name: 'web',
      id: ids.web,
      servers: [
        { name: 's1', port: ports.s1, weight: 50 },
        { name: 's2', port: ports.s2, check: true, op: 'stopped', checkStatus: 'L4CON', checkResult: 'failed', health: 0 },
        { name: 's3', port: ports.s3 },
      ],
    },
    { name: 'other', id: ids.other, servers: [{ name: 'a', port: ports.a }] },
    { name: 'st', id: ids.st, dynamicWeights: false, servers: [{ name: 'b', port: ports.b, weight: 4 }] },
  ]);
}
