/** Public surface of the balance library. */
export { BalanceError, type BalanceErrorCode } from './errors.ts';
export { crc32, djb2, fullHash, sdbm, wt6, HASH_FUNCTIONS, type HashFn } from './hash.ts';
export { Pool, type PoolOptions } from './pool.ts';
export {
  algorithmFactory,
  BALANCE_KEYWORDS,
  DEFAULT_HASH_TYPE,
  parseBalance,
  parseHashType,
  type BalanceSpec,
  type HashTypeSpec,
  type ParseResult,
} from './registry.ts';
export {
  MAX_WEIGHT,
  Server,
  type AlgorithmContext,
  type AlgorithmFactory,
  type HashKey,
  type LbAlgorithm,
  type ServerInit,
  type ServerView,
} from './types.ts';
