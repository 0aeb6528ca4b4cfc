/**
 * Fixture snapshots. `haproxyCapture()` reproduces the state of haproxy 2.6.12 running
 * test/stats/fixtures/haproxy-2.6/haproxy.cfg at the moment its outputs in that folder were
 * captured (same counters, states and check results), so our renderers can be compared with
 * haproxy's own bytes. `small()` is a compact snapshot for the HTML/auth/filter tests.
 */
import { emptyTraffic, type BackendStats, type CheckInfo, type ProcessStats, type ProxyStats, type ServerStats, type StatsSource, type Traffic } from '../../lb/stats/source.ts';

export function traffic(over: Partial<Traffic> = {}): Traffic {
  return { ...emptyTraffic(), ...over };
}

export function check(over: Partial<CheckInfo> = {}): CheckInfo {
  return {
    enabled: true, paused: false, inProgress: false, status: 'L7OK', code: 200, durationMs: 0,
    description: 'Layer7 check passed', info: '', rise: 2, fall: 3, health: 4, ...over,
  };
}

export function server(name: string, id: number, over: Partial<ServerStats> = {}): ServerStats {
  return {
    name, id, addr: `127.0.0.1:${18090 + id}`, cookie: undefined, backup: false, state: 'running',
    admin: { maint: false, maintVia: undefined, resolution: false, drain: false }, weight: 1, uweight: 1,
    tracked: undefined, check: undefined, agent: undefined, throttle: undefined, lastChangeSec: 14,
    downtimeSec: 0, maxconn: 0, maxqueue: 0, observe: false, idleLimit: undefined,
    traffic: traffic({ needConnEst: 1 }), ...over,
  };
}

export const PROCESS: ProcessStats = {
  pid: 4242, relativePid: 1, nbthread: 1, uptimeSec: 7385, version: '0.1.0', releaseDate: '2026/01/01',
  node: 'lb1', description: undefined, memmaxMb: 0, ulimitN: 20000, maxsock: 20000, maxconn: 9982,
  maxpipes: 0, currConns: 1, pipesUsed: 0, pipesFree: 0, connRate: 4, bytesOutRate: 1000, tasks: 24,
  runQueue: 0, idlePct: 98,
};

function simpleBackend(lastSessSec = -1, t: Partial<Traffic> = {}, servers: ServerStats[] = []): BackendStats {
  return {
    algo: 'roundrobin', cookie: undefined, fullconn: 999, lastChangeSec: 14, downtimeSec: 0,
    allBackups: false, traffic: traffic({ lastSessSec, ...t }), servers,
  };
}

function fe(maxconn: number, t: Partial<Traffic> = {}, rateLimit = 0): NonNullable<ProxyStats['frontend']> {
  return { status: 'OPEN', maxconn, rateLimit, traffic: traffic(t) };
}

export function haproxyCapture(): StatsSource {
  const web1Check = check();
  const web1 = server('web1', 1, {
    check: web1Check, cookie: 'w1', maxqueue: 10,
    agent: check({ status: 'L7RSP', code: undefined, description: 'Layer7 invalid response', info: 'TCPCHK got an empty response at step 2', rise: 1, fall: 1, health: 1 }),
  });
  const web2 = server('web2', 2, {
    backup: true, state: 'stopped', downtimeSec: 14,
    check: check({ status: 'L4CON', code: undefined, description: 'Layer4 connection problem', info: 'Connection refused', health: 0 }),
    traffic: traffic({ needConnEst: 1, failedChecks: 1, downTransitions: 1 }),
  });
  const web3 = server('web3', 3, {
    weight: 50, uweight: 50, maxconn: 30, tracked: 'web_backend/web1', healthCheck: web1Check,
    traffic: traffic({ sessMax: 1, sessTotal: 16, bytesIn: 246, bytesOut: 868, errConn: 4, retries: 12, lbTotal: 4, sessRateMax: 2, lastSessSec: 3, connectAttempts: 16, needConnEst: 1 }),
  });
  const web4 = server('web4', 4, {
    state: 'stopped', downtimeSec: 14, admin: { maint: true, maintVia: undefined, resolution: false, drain: false },
    check: check({ paused: true, status: 'INI', code: undefined, durationMs: undefined, description: 'Initializing', health: 0 }),
    traffic: traffic(),
  });
  const t1 = server('t1', 1, {
    addr: '127.0.0.1:18091',
    check: check({ status: 'L4OK', code: undefined, description: 'Layer4 check passed' }),
  });
  const h1 = (o: number, c: number, s: number, i: number, out: number): Record<string, number> => ({
    h1_open_connections: o, h1_total_connections: c, h1_total_streams: s, h1_bytes_in: i, h1_bytes_out: out,
  });
  return {
    process: PROCESS,
    proxies: [
      {
        name: 'http_front', id: 2, mode: 'http', backend: undefined,
        frontend: fe(500, {
          sessCur: 1, sessMax: 2, sessTotal: 4, bytesIn: 246, bytesOut: 868, sessRateMax: 1, hrsp: [0, 0, 0, 0, 0, 4],
          reqRateMax: 1, reqTotal: 4, connRateMax: 1, connTotal: 4, modules: h1(1, 4, 4, 218, 856),
        }, 100),
        listeners: [{ name: 'l1', id: 1, status: 'OPEN', maxconn: 0, addr: '127.0.0.1:18080', traffic: traffic({ sessCur: 1, sessMax: 2, sessTotal: 4, bytesIn: 246, bytesOut: 868 }) }],
      },
      {
        name: 'web_backend', id: 3, mode: 'http', frontend: undefined, listeners: [],
        backend: {
          algo: 'roundrobin', cookie: 'SRV', fullconn: 100, lastChangeSec: 14, downtimeSec: 0, allBackups: false,
          traffic: traffic({
            sessMax: 2, sessTotal: 4, bytesIn: 246, bytesOut: 868, errConn: 4, retries: 12, lbTotal: 4, sessRateMax: 1,
            hrsp: [0, 0, 0, 0, 0, 4], reqTotal: 4, lastSessSec: 6, connectAttempts: 16, modules: h1(0, 44, 44, 1190, 252),
          }),
          servers: [web1, web2, web3, web4],
        },
      },
      { name: 'tcpf', id: 4, mode: 'tcp', frontend: fe(9982), listeners: [], backend: undefined },
      {
        name: 'tcpb', id: 5, mode: 'tcp', frontend: undefined, listeners: [],
        backend: simpleBackend(-1, {}, [t1]),
      },
      {
        name: 's1', id: 6, mode: 'http', listeners: [],
        frontend: fe(9982, {
          sessMax: 1, sessTotal: 14, bytesIn: 462, bytesOut: 1022, sessRate: 1, sessRateMax: 1, hrsp: [0, 0, 14, 0, 0, 0],
          reqRate: 1, reqRateMax: 1, reqTotal: 14, connRate: 1, connRateMax: 1, connTotal: 14, intercepted: 14,
          modules: h1(0, 14, 14, 252, 1190),
        }),
        backend: simpleBackend(-1, { bytesIn: 462, bytesOut: 1022 }),
      },
      {
        name: 'agent', id: 7, mode: 'tcp', listeners: [],
        frontend: fe(9982, { sessMax: 1, sessTotal: 14, deniedReq: 14, sessRate: 1, sessRateMax: 1, connRate: 1, connRateMax: 1, connTotal: 14 }),
        backend: simpleBackend(),
      },
      { name: 'stats', id: 8, mode: 'http', listeners: [], frontend: fe(9982), backend: simpleBackend() },
      { name: 'prom', id: 9, mode: 'http', listeners: [], frontend: fe(9982), backend: undefined },
    ],
  };
}

/** A small http setup: one frontend, one backend with three servers in various states. */
export function small(over: { names?: [string, string, string]; pxName?: string } = {}): StatsSource {
  const [a, b, c] = over.names ?? ['web1', 'web2', 'web3'];
  return {
    process: PROCESS,
    proxies: [
      {
        name: 'http_front', id: 2, mode: 'http', listeners: [], backend: undefined,
        frontend: fe(2000, { sessCur: 3, sessMax: 10, sessTotal: 120, bytesIn: 12345, bytesOut: 678901, reqTotal: 120, hrsp: [0, 0, 110, 0, 5, 5], connTotal: 120 }),
      },
      {
        name: over.pxName ?? 'web_backend', id: 3, mode: 'http', frontend: undefined, listeners: [],
        backend: {
          algo: 'roundrobin', cookie: undefined, fullconn: 200, lastChangeSec: 7385, downtimeSec: 0, allBackups: false,
          traffic: traffic({ sessCur: 3, sessMax: 9, sessTotal: 120, lbTotal: 120, rtimeAvg: 12, ttimeAvg: 15, lastSessSec: 0 }),
          servers: [
            server(a, 1, { check: check({ durationMs: 1 }), lastChangeSec: 7385, traffic: traffic({ sessCur: 2, sessMax: 5, sessTotal: 60, lbTotal: 60, rtimeAvg: 11, rtimeMax: 40, lastSessSec: 0 }) }),
            server(b, 2, {
              state: 'stopped', lastChangeSec: 42, downtimeSec: 42,
              check: check({ status: 'L7STS', code: 500, durationMs: 2, description: 'Layer7 wrong status', info: 'Internal Server Error', health: 0 }),
              traffic: traffic({ failedChecks: 3, downTransitions: 1 }),
            }),
            server(c, 3, {
              admin: { maint: false, maintVia: undefined, resolution: false, drain: true }, weight: 0,
              check: check({ durationMs: 1 }), lastChangeSec: 65,
              traffic: traffic({ sessCur: 1, sessMax: 4, sessTotal: 60, lbTotal: 60 }),
            }),
          ],
        },
      },
    ],
  };
}
