// Collect every configuration problem, fail at the end (DESIGN.md principle 2).
//
// Output format, decided once here and used by every diagnostic: HAProxy 2.6's lines without the pid
// and without the column padding, i.e. where haproxy prints
//   [ALERT]    (1234) : config : parsing [a.cfg:12] : unknown keyword 'blance' in 'backend' section; ...
// lb prints
//   [ALERT] config : parsing [a.cfg:12] : unknown keyword 'blance' in 'backend' section; ...
// Diagnostics without a line (post-parse checks that haproxy reports per proxy) omit the
// "parsing [file:line] : " part only when no location is known; lb always tries to give one.
import { LB_ERROR_CODES, type LbErrorCode } from '../errors.ts';

export type Severity = 'alert' | 'warning' | 'notice' | 'diag';

export interface Where {
  readonly file: string;
  readonly line: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: LbErrorCode;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

const LABEL: Record<Severity, string> = {
  alert: '[ALERT]',
  warning: '[WARNING]',
  notice: '[NOTICE]',
  diag: '[DIAG]',
};

/** Render one diagnostic as a single line (no trailing newline). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file !== undefined && d.line !== undefined ? `parsing [${d.file}:${d.line}] : ` : '';
  return `${LABEL[d.severity]} config : ${where}${d.message}`;
}

/** An append-only list of diagnostics; `hasAlerts` decides the exit status. */
export class Diagnostics {
  readonly #list: Diagnostic[] = [];

  add(d: Diagnostic): void {
    this.#list.push(d);
  }

  alert(where: Where | undefined, message: string, code: LbErrorCode = LB_ERROR_CODES.ERR_LB_CONFIG_VALUE, column?: number): void {
    this.#push('alert', where, message, code, column);
  }

  warning(where: Where | undefined, message: string, code: LbErrorCode = LB_ERROR_CODES.ERR_LB_CONFIG_VALUE, column?: number): void {
    this.#push('warning', where, message, code, column);
  }

  notice(where: Where | undefined, message: string, code: LbErrorCode = LB_ERROR_CODES.ERR_LB_CONFIG_DIRECTIVE): void {
    this.#push('notice', where, message, code, undefined);
  }

  diag(where: Where | undefined, message: string, code: LbErrorCode = LB_ERROR_CODES.ERR_LB_CONFIG_DIRECTIVE): void {
    this.#push('diag', where, message, code, undefined);
  }

  get list(): readonly Diagnostic[] {
    return this.#list;
  }

  get hasAlerts(): boolean {
    return this.#list.some((d) => d.severity === 'alert');
  }

  get hasWarnings(): boolean {
    return this.#list.some((d) => d.severity === 'warning');
  }

  #push(severity: Severity, where: Where | undefined, message: string, code: LbErrorCode, column: number | undefined): void {
    const d: { -readonly [K in keyof Diagnostic]: Diagnostic[K] } = { severity, code, message };
    if (where !== undefined) {
      d.file = where.file;
      d.line = where.line;
    }
    if (column !== undefined) d.column = column;
    this.#list.push(d);
  }
}
