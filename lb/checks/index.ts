// Health checks and server states (issue 3): status table, one runner per check type, the
// per-server state model and the single-timer scheduler. See each file's header for HAProxy's
// behaviour it reproduces.
import type { Pool } from '../balance/pool.ts';
import type { Server } from '../balance/types.ts';
import type { StateSink } from './server-state.ts';

export * from './status.ts';
export * from './channels.ts';
export { CheckConn, CHECK_BUFSIZE, checkDeadlines, type CheckEndpoint, type CheckTimeouts, type CheckTlsOptions } from './conn.ts';
export { runTcpCheck, startTcpCheck } from './tcp.ts';
export { Deadlines, type Expirable } from './deadlines.ts';
export * from './http.ts';
export * from './tcpcheck.ts';
export * from './agent.ts';
export * from './server-state.ts';
export * from './scheduler.ts';

/**
 * A StateSink that drives one server of a balance Pool. Static algorithms (static-rr, hashing
 * maps) only take 0 or the configured weight: a slowstart ramp then switches straight to the
 * full weight, as HAProxy does not ramp static algorithms either (BE_LB_PROP_DYN).
 */
export function poolSink<T>(pool: Pool<T>, server: Server<T>): StateSink {
  return {
    setUsable: (usable) => pool.setUsable(server, usable),
    setWeight: (w) => pool.setWeight(server, !pool.dynamicWeights && w > 0 ? server.initialWeight : w),
  };
}
