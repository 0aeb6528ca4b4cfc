/**
 * Coded errors of the balance library (DESIGN.md principle 6).
 *
 * - ERR_LB_BALANCE_STATIC_WEIGHT: `set weight` to a value other than 0 or the configured weight
 *   on a backend whose algorithm is static (static-rr, map-based hashing), as HAProxy refuses.
 * - ERR_LB_BALANCE_WEIGHT_RANGE: a weight outside 0..256 or not an integer.
 * - ERR_LB_BALANCE_FOREIGN_SERVER: a server object that does not belong to this pool.
 */
export type BalanceErrorCode =
  | 'ERR_LB_BALANCE_STATIC_WEIGHT'
  | 'ERR_LB_BALANCE_WEIGHT_RANGE'
  | 'ERR_LB_BALANCE_FOREIGN_SERVER';

export class BalanceError extends Error {
  readonly code: BalanceErrorCode;
  constructor(code: BalanceErrorCode, message: string) {
    super(message);
    this.name = 'BalanceError';
    this.code = code;
  }
}
