// HAProxy's health-check statuses: ONE table (DESIGN principle 1 and 4) read by the check runners,
// the transition log lines, the stats views (check_status / check_desc columns) and the runtime API.
//
// Names and descriptions are HAProxy 2.6's, as it prints them in logs ("reason: Layer7 wrong
// status") and in the CSV `check_desc` column; verified against Debian's haproxy 2.6.12 (see
// test/checks/differential.test.ts). The order is HAProxy's enum order, which matters: statuses
// from L7OK on carry an HTTP/agent code, and logs print `code: N` only for those.

/** How a status counts for the health counter (HAProxy's CHK_RES_*). */
export type CheckResultKind = 'unknown' | 'neutral' | 'failed' | 'passed' | 'condpass';

export interface CheckStatusDef {
  /** Short name shown in stats (`check_status`), e.g. "L7STS". */
  readonly name: string;
  /** Description printed after "reason: " in logs and in `check_desc`. */
  readonly desc: string;
  readonly result: CheckResultKind;
  /** True from L7OK on (HAProxy's `status >= HCHK_STATUS_L57DATA`): logs print `code: N`. */
  readonly hasCode: boolean;
  /** True when lb can produce it; the others exist for the stats views only. */
  readonly produced: boolean;
}

function def(name: string, desc: string, result: CheckResultKind, hasCode: boolean, produced = true): CheckStatusDef {
  return { name, desc, result, hasCode, produced };
}

/** Keyed by the stats name. Insertion order is HAProxy's enum order. */
export const CHECK_STATUSES = {
  UNK: def('UNK', 'Unknown', 'unknown', false),
  INI: def('INI', 'Initializing', 'unknown', false),
  // "CHECKED" is what an agent reply without a health word produces: no change to the counter.
  CHECKED: def('CHECKED', 'No status change', 'neutral', false),
  // Produced by `observe layer4|layer7` (passive health analysis), which lb does not implement.
  HANA: def('HANA', 'Health analyze', 'failed', false, false),
  SOCKERR: def('SOCKERR', 'Socket error', 'failed', false),
  L4OK: def('L4OK', 'Layer4 check passed', 'passed', false),
  L4TOUT: def('L4TOUT', 'Layer4 timeout', 'failed', false),
  L4CON: def('L4CON', 'Layer4 connection problem', 'failed', false),
  L6OK: def('L6OK', 'Layer6 check passed', 'passed', false),
  L6TOUT: def('L6TOUT', 'Layer6 timeout', 'failed', false),
  L6RSP: def('L6RSP', 'Layer6 invalid response', 'failed', false),
  L7TOUT: def('L7TOUT', 'Layer7 timeout', 'failed', false),
  L7RSP: def('L7RSP', 'Layer7 invalid response', 'failed', false),
  L7OK: def('L7OK', 'Layer7 check passed', 'passed', true),
  L7OKC: def('L7OKC', 'Layer7 check conditionally passed', 'condpass', true),
  L7STS: def('L7STS', 'Layer7 wrong status', 'failed', true),
  // External checks (`option external-check`) are not implemented; kept for the stats legend.
  PROCERR: def('PROCERR', 'External check error', 'failed', true, false),
  PROCTOUT: def('PROCTOUT', 'External check timeout', 'failed', true, false),
  PROCOK: def('PROCOK', 'External check passed', 'passed', true, false),
} as const satisfies Record<string, CheckStatusDef>;

export type CheckStatus = keyof typeof CHECK_STATUSES;

export function statusDef(s: CheckStatus): CheckStatusDef {
  return CHECK_STATUSES[s];
}

/** Passed or conditionally passed (the health counter goes up). */
export function isSuccess(s: CheckStatus): boolean {
  const r = CHECK_STATUSES[s].result;
  return r === 'passed' || r === 'condpass';
}

export function isFailure(s: CheckStatus): boolean {
  return CHECK_STATUSES[s].result === 'failed';
}

/** HAProxy keeps check descriptions in a 128-byte buffer (HCHK_DESC_LEN): 127 chars + NUL. */
export const CHECK_DESC_MAX = 127;

/** One finished check, as every runner returns it. */
export interface CheckResult {
  readonly status: CheckStatus;
  /** HTTP status or agent code; meaningful when statusDef(status).hasCode. */
  readonly code: number;
  /**
   * Free text HAProxy calls the check description ("Internal Server Error", "Connection refused").
   * One char per byte (latin1), as received from the server: render with Buffer.from(info, 'latin1').
   */
  readonly info: string;
  /** From the start of the check (connect) to the verdict, whole milliseconds. */
  readonly durationMs: number;
}

export function checkResult(status: CheckStatus, info = '', code = 0, durationMs = 0): CheckResult {
  return { status, code, info: info.length > CHECK_DESC_MAX ? info.slice(0, CHECK_DESC_MAX) : info, durationMs };
}

/**
 * Escapes a description for a log line as HAProxy's chunk_asciiencode() does with '"' as the
 * quote: bytes below 0x20, from 0x7f, and the quote itself become `<HH>` (upper-case hex).
 * `text` holds one byte per char (see CheckResult.info).
 * Observed on 2.6: a reason phrase `Bad "q" é` is logged as `Bad <22>q<22> <C3><A9>`.
 */
export function asciiEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'latin1')) {
    if (byte < 0x20 || byte >= 0x7f || byte === 0x22) out += `<${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

/**
 * The ", reason: ..., code: N, info: "...", check duration: Nms" part of a transition log line
 * (HAProxy's srv_append_status() for a check). `code` is printed for L7OK and later statuses
 * even when 0 (agent replies and tcp-checks say `code: 0`), info only when non-empty.
 */
export function formatCheckReason(r: CheckResult): string {
  const d = CHECK_STATUSES[r.status];
  let out = `, reason: ${d.desc}`;
  if (d.hasCode) out += `, code: ${r.code}`;
  if (r.info !== '') out += `, info: "${asciiEncode(r.info)}"`;
  if (r.durationMs >= 0) out += `, check duration: ${r.durationMs}ms`;
  return out;
}

/** strerror() texts for the errno codes a check connection can meet (glibc wording). */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EHOSTDOWN: 'Host is down',
  ETIMEDOUT: 'Connection timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EPIPE: 'Broken pipe',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOBUFS: 'No buffer space available',
};

/** The strerror() text of a Node system error, or '' when it has no errno code. */
export function errnoText(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code !== 'string') return '';
  return STRERROR[code] ?? code;
}
