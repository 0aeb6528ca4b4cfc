// Coded errors of ha-agent (DESIGN.md principle 6). Every code is listed here with its meaning;
// callers branch on `code`, never on the message text.
//
// ERR_HA_USAGE           bad command line (unknown flag, missing value)
// ERR_HA_CONFIG_READ     the configuration file (or an include) cannot be read
// ERR_HA_CONFIG_INVALID  the configuration has errors; `diagnostics` holds every one of them
// ERR_HA_NOT_IMPLEMENTED a feature that is parsed or requested but not implemented yet

export const HA_ERROR_CODES = [
  'ERR_HA_USAGE',
  'ERR_HA_CONFIG_READ',
  'ERR_HA_CONFIG_INVALID',
  'ERR_HA_NOT_IMPLEMENTED',
] as const;

export type HaErrorCode = (typeof HA_ERROR_CODES)[number];

export class HaAgentError extends Error {
  readonly code: HaErrorCode;

  constructor(code: HaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HaAgentError';
    this.code = code;
  }
}
