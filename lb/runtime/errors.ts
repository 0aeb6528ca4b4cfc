/**
 * Coded errors of the runtime API listeners (DESIGN.md principle 6). Command-level failures are
 * not errors: they are answers on the socket (RuntimeCommandError in ./context.ts).
 *
 * - ERR_LB_RUNTIME_BIND: a stats socket could not be bound (bad directory, address in use,
 *   permission); the message is HAProxy's "Binding [file:line] for frontend GLOBAL: cannot bind ...".
 * - ERR_LB_RUNTIME_ADDRESS: an address family a stats socket cannot use (sockpair@, fd@NAME with
 *   no inherited fd of that name, a port missing on ipv4@/ipv6@).
 * - ERR_LB_RUNTIME_OWNER: `user`/`group` name unknown, or chmod/chown of the socket file failed.
 */
export type RuntimeErrorCode = 'ERR_LB_RUNTIME_BIND' | 'ERR_LB_RUNTIME_ADDRESS' | 'ERR_LB_RUNTIME_OWNER';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.code = code;
  }
}
