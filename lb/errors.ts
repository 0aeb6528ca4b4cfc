// Coded errors for lb (DESIGN.md principle 6). Codes are stable: scripts and tests may match on them.
// Configuration problems are NOT thrown: they are collected as diagnostics (lb/config/diagnostics.ts)
// and each diagnostic carries one of the ERR_LB_CONFIG_* codes below.

export const LB_ERROR_CODES = {
  /** A configuration line could not be tokenized (unmatched quote, bad env-var brace, bad .if). */
  ERR_LB_CONFIG_SYNTAX: 'ERR_LB_CONFIG_SYNTAX',
  /** A keyword is unknown in its section (a typo; the message may suggest the closest keyword). */
  ERR_LB_CONFIG_UNKNOWN_KEYWORD: 'ERR_LB_CONFIG_UNKNOWN_KEYWORD',
  /** A keyword HAProxy has but lb does not parse at all. */
  ERR_LB_CONFIG_UNSUPPORTED: 'ERR_LB_CONFIG_UNSUPPORTED',
  /** A keyword is parsed into the model but the running proxy does not enforce it yet (a warning). */
  ERR_LB_CONFIG_PENDING: 'ERR_LB_CONFIG_PENDING',
  /** A keyword is used in a section (or proxy capability) where HAProxy does not allow it. */
  ERR_LB_CONFIG_WRONG_SECTION: 'ERR_LB_CONFIG_WRONG_SECTION',
  /** A keyword's argument is invalid: duration, size, integer range, address, CIDR, enum... */
  ERR_LB_CONFIG_VALUE: 'ERR_LB_CONFIG_VALUE',
  /** A file named by the configuration (errorfile, crt, ca-file) is missing or unreadable. */
  ERR_LB_CONFIG_FILE: 'ERR_LB_CONFIG_FILE',
  /** A cross-check after parsing failed: missing backend, undefined ACL, duplicate name, mode mismatch... */
  ERR_LB_CONFIG_REFERENCE: 'ERR_LB_CONFIG_REFERENCE',
  /** A `.alert`, `.warning`, `.notice` or `.diag` directive emitted by the configuration itself. */
  ERR_LB_CONFIG_DIRECTIVE: 'ERR_LB_CONFIG_DIRECTIVE',
  /** A configuration file given with -f could not be read at all. */
  ERR_LB_CONFIG_READ: 'ERR_LB_CONFIG_READ',
  /** The command line is invalid (unknown flag, missing argument). */
  ERR_LB_USAGE: 'ERR_LB_USAGE',
  /** The requested mode exists in HAProxy but is not implemented by lb yet. */
  ERR_LB_NOT_IMPLEMENTED: 'ERR_LB_NOT_IMPLEMENTED',
} as const;

export type LbErrorCode = (typeof LB_ERROR_CODES)[keyof typeof LB_ERROR_CODES];

/** An lb failure that escapes to the caller (not a collected config diagnostic). */
export class LbError extends Error {
  readonly code: LbErrorCode;
  constructor(code: LbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LbError';
    this.code = code;
  }
}
