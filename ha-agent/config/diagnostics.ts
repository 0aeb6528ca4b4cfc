// Diagnostics of the keepalived.conf parser (DESIGN.md principle 2): every problem is collected with
// the file and line it comes from, and the caller decides at the end whether the file is usable.

export type Severity = 'error' | 'warning';

/** A place in a configuration file; every token and every model object carries one. */
export interface Location {
  readonly file: string;
  readonly line: number;
}

export interface Diagnostic extends Location {
  readonly severity: Severity;
  readonly message: string;
}

export class Diagnostics {
  readonly #list: Diagnostic[] = [];

  error(at: Location, message: string): void {
    this.#list.push({ severity: 'error', file: at.file, line: at.line, message });
  }

  warning(at: Location, message: string): void {
    this.#list.push({ severity: 'warning', file: at.file, line: at.line, message });
  }

  get list(): readonly Diagnostic[] {
    return this.#list;
  }

  get errorCount(): number {
    return this.#list.filter((d) => d.severity === 'error').length;
  }
}

/**
 * One line per diagnostic, close to keepalived's `(FILE: Line N) message` but in the project's
 * `parsing [FILE:LINE] : message` shape (the same as lb's), so one grep finds problems of both.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const kind = d.severity === 'warning' ? 'warning: ' : '';
  return `ha-agent: ${kind}parsing [${d.file}:${d.line}] : ${d.message}`;
}

/** The errno code of a failed fs call (`ENOENT`), or the error's text. */
export function errnoCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return String(err);
}
