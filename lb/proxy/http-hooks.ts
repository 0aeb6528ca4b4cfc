// The seam between the L7 data path (lb/proxy/http.ts) and the rule engine (http-request /
// http-response rules, use_backend with L7 ACLs). The data path knows nothing about rules: it
// calls a frontend's and a backend's hooks with a transaction view, and the rules read fetches
// from it and act through its small action API. The view is the session object itself, reused for
// every request of a connection: a hook call allocates nothing unless a rule asks for a string.
//
// Order, as HAProxy runs its rule sets:
//   request:  frontend.onRequest → (useBackend or frontend.selectBackend) → backend.onRequest
//             → option forwardfor → server selection
//   response: backend.onResponse → frontend.onResponse
// A hook that decided (deny, redirect, respond) stops the chain; the data path sends the answer.
import type { ErrorPage } from './http-errors.ts';
import type { RequestHead, ResponseHead } from './http1/index.ts';
import type { Backend, ConnInfo, Frontend } from './types.ts';

/** What the rules may read and do about one HTTP exchange. */
export interface HttpTxn extends ConnInfo {
  readonly frontend: Frontend;
  /** The backend chosen so far: undefined during the frontend's request rules until useBackend(). */
  readonly backend: Backend | undefined;
  /** Method as a string (`method`, METH_GET...). */
  readonly method: string;
  /** Path without the query (`path`, `path_beg`...). */
  readonly path: string;
  /** Query string without '?', '' when none (`query`). */
  readonly query: string;
  /** Request target as sent (`url`). */
  readonly url: string;
  /** 10 or 11 (HTTP_1.0, HTTP_1.1 predefined ACLs). */
  readonly version: number;
  /** First value of a request header, by lowercase name (`hdr(name)`, `req.hdr`). */
  header(lowerName: string): string | undefined;
  /**
   * The parsed request head: header iteration (fieldSlots/isLive/nameAt/valueAt/indexOf/count)
   * and edits (set/add/del/setValueAt/deleteAt, setMethod/setTarget/setPath). Edits are applied
   * once, when the head is serialized towards the server.
   */
  readonly req: RequestHead;
  /** The connection is TLS-terminated by lb (`ssl_fc`). */
  readonly sslFc: boolean;
  /** SNI sent by the client on a TLS-terminated connection (`ssl_fc_sni`), else undefined. */
  readonly sni: string | undefined;
  /** Response head in the response phase (set-header, set-status...), undefined before. */
  readonly res: ResponseHead | undefined;
  /** Status of the response being processed (0 in the request phase). */
  readonly status: number;

  /**
   * `http-request deny [deny_status N]` (default 403) answers with the error page for N and
   * counts a denied request; in the response phase `http-response deny` replaces the response with
   * a 502 (the status argument is ignored there, as in HAProxy 2.6).
   */
  deny(status?: number): void;
  /** `http-request redirect location|prefix|scheme ...`: Location already computed by the rule; code 301/302/303/307/308. */
  redirect(location: string, code?: number): void;
  /** `http-request return ...` or any prepared response (see localResponse()). */
  respond(page: ErrorPage): void;
  /** `use_backend` decided by a frontend rule. Ignored after the frontend phase. */
  useBackend(be: Backend): void;
}

/** Rule sets of one frontend or backend. Hooks run synchronously and must not keep the txn. */
export interface HttpHooks {
  onRequest?(txn: HttpTxn): void;
  onResponse?(txn: HttpTxn): void;
}
