// What to do after a failed connection attempt to a server: give up, retry the same server, or
// redispatch to another one. Pure functions of the backend settings, so the rules are unit-tested
// without sockets. They follow HAProxy 2.6's back_handle_st_cer():
// - `retries N` allows N more attempts after the first one; then the session fails (econ).
// - with `option redispatch [interval]`, the retry goes back to the balancer when the retry count
//   matches the interval (default -1: the last retry), or on every retry when the algorithm is not
//   deterministic (round robin, leastconn...) and the backend has more than one server: that
//   particular server does not matter then.
// - a retry to the same server after an asynchronous connection error (refused, unreachable)
//   waits min(1 s, timeout connect) first ("turn-around" state), since an immediate retry would
//   most likely meet the same error. After a connect timeout it retries at once.
import type tls from 'node:tls';
import { hasFreeSlot, type Backend, type RuntimeServer } from './types.ts';

export type ConnectFailure = 'error' | 'timeout';

export type RetryDecision =
  | { readonly action: 'give-up' }
  | { readonly action: 'retry'; readonly redispatch: boolean; readonly delay: number };

const GIVE_UP: RetryDecision = { action: 'give-up' };
const RETRY_NOW: RetryDecision = { action: 'retry', redispatch: false, delay: 0 };
const REDISPATCH: RetryDecision = { action: 'retry', redispatch: true, delay: 0 };

/** HAProxy's turn-around delay before retrying the same server after a connection error. */
export function turnAroundDelay(connectTimeout: number): number {
  return connectTimeout > 0 && connectTimeout < 1000 ? connectTimeout : 1000;
}

/**
 * Decides after the `failures`-th failed attempt (1-based) of one session.
 * Accepts the backend's retries/redispatch/deterministic settings and its server count.
 */
export function afterConnectFailure(
  be: Pick<Backend, 'retries' | 'redispatch' | 'deterministic' | 'timeouts'>,
  failures: number,
  kind: ConnectFailure,
  serverCount: number,
): RetryDecision {
  if (failures > be.retries) return GIVE_UP;
  if (be.redispatch !== 0) {
    const p = be.redispatch;
    const modulo = p > 0 ? p : be.retries + 1 + p;
    if (modulo !== 0 && failures % modulo === 0) return REDISPATCH;
    if (!be.deterministic && serverCount > 1) return REDISPATCH;
  }
  if (kind === 'timeout') return RETRY_NOW;
  return { action: 'retry', redispatch: false, delay: turnAroundDelay(be.timeouts.connect) };
}

/**
 * tls.connect options for `server ... ssl`: the server's prebuilt settings, its address, and the
 * SNI. A literal `sni str(NAME)` is in the settings already; of the sample expressions the data
 * path resolves the two that name the client's own SNI (`ssl_fc_sni` when lb terminated TLS,
 * `req.ssl_sni` from an inspected ClientHello); other expressions send no SNI (reported by the
 * builder as not implemented). `allowHalfOpen` is honoured by tls.connect but missing from its type.
 */
export function serverTlsOptions(
  srv: RuntimeServer,
  fcSni: string | undefined,
  helloSni: string | undefined,
): tls.ConnectionOptions & { allowHalfOpen: boolean } {
  const t = srv.tls!;
  let servername: string | undefined;
  if (t.sni.kind === 'expression') {
    const e = t.sni.expression.trim();
    if (e === 'ssl_fc_sni') servername = fcSni;
    else if (e === 'req.ssl_sni' || e === 'req_ssl_sni') servername = helloSni;
  }
  return {
    ...t.connectOptions,
    host: srv.host,
    port: srv.port,
    allowHalfOpen: true,
    ...(servername !== undefined && servername !== '' ? { servername } : {}),
  };
}

/**
 * The redispatch step after a failed connect (`option redispatch`), shared by tcp and http
 * sessions. Accepts the backend, the server that failed (its slot already released) and the
 * session's hash key; the caller has checked that some server is usable. Counts the attempt as
 * HAProxy does (a retry when the balancer picks the same server again, a redispatch otherwise or
 * when every server is full) and returns the server to connect to, or undefined: queue.
 */
export function redispatchTarget(be: Backend, prev: RuntimeServer, key: string | undefined): RuntimeServer | undefined {
  const next = be.picker.pick(key, prev);
  if (next !== prev || next === undefined || !hasFreeSlot(next)) {
    be.counters.redispatches++;
    prev.counters.redispatches++;
    return next !== undefined && hasFreeSlot(next) ? next : undefined;
  }
  be.counters.retries++;
  prev.counters.retries++;
  return next;
}
