// CSV as HAProxy prints it for `;csv` and `show stat`: "# " + the column names each followed by
// a comma, then one line per object with the same trailing comma. Empty fields stay empty.
import { COLUMNS, MODULE_START, columnValue, csvHeaderNames, type Value } from './columns.ts';
import { statRows, valueOptions, type RowFilter } from './rows.ts';
import type { StatsSource } from './source.ts';

export interface CsvOptions extends RowFilter {
  /** Show addr/cookie/algo (`stats show-legends`; the CLI at operator/admin level). */
  legends?: boolean;
}

export function csvHeader(): string {
  return '# ' + csvHeaderNames().map((n) => n + ',').join('') + '\n';
}

/** HAProxy's csv_enc: quote a string holding a comma, quote, CR/LF or edge spaces; double quotes. */
export function csvEscape(s: string): string {
  if (!/[",\r\n]/.test(s) && s.trim() === s) return s;
  return '"' + s.replaceAll('"', '""') + '"';
}

function cell(v: Value | undefined): string {
  if (v === undefined) return '';
  return typeof v === 'number' ? String(v) : csvEscape(v);
}

export function renderCsv(source: StatsSource, opts: CsvOptions = {}): string {
  const vo = valueOptions(opts, opts.legends === true);
  let out = csvHeader();
  for (const row of statRows(source, opts)) {
    let line = '';
    for (const c of COLUMNS) {
      if (c.pos === MODULE_START) line += '-,';
      line += cell(columnValue(c, row, vo)) + ',';
    }
    out += line + '\n';
  }
  return out;
}
