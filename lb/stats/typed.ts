// `show stat typed` and `show stat json` (also the page's `;json`): the same column table with
// each non-empty field tagged by object kind, ids, position, tags and value type.
import { COLUMNS, columnValue, tagWords, type Column, type Row, type Value, type ValueType } from './columns.ts';
import { statRows, valueOptions, type RowFilter } from './rows.ts';
import type { StatsSource } from './source.ts';

export interface TypedOptions extends RowFilter {
  legends?: boolean;
  /** `show stat desc typed|json`: append each column's description. */
  desc?: boolean;
}

interface TypedField {
  readonly column: Column;
  readonly tags: string;
  readonly type: ValueType;
  readonly value: Value;
}

/** Object id within its proxy: server id, listener id, 0 for FRONTEND/BACKEND. */
function objectId(row: Row): number {
  return row.kind === 'S' ? row.sv.id : row.kind === 'L' ? row.li.id : 0;
}

function typedFields(row: Row, legends: boolean, hideDown: boolean): TypedField[] {
  const out: TypedField[] = [];
  for (const column of COLUMNS) {
    const spec = column.kinds[row.kind];
    if (spec === undefined) continue;
    const value = columnValue(column, row, { legends, hideDown });
    if (value === undefined) continue;
    out.push({ column, tags: spec.tags, type: spec.type, value });
  }
  return out;
}

export function renderTyped(source: StatsSource, opts: TypedOptions = {}): string {
  const vo = valueOptions(opts, opts.legends === true);
  let out = '';
  for (const row of statRows(source, opts)) {
    const prefix = `${row.kind}.${row.px.id}.${objectId(row)}.`;
    for (const f of typedFields(row, vo.legends, vo.hideDown)) {
      out += `${prefix}${f.column.pos}.${f.column.name}.1:${f.tags}:${f.type}:${String(f.value)}`;
      if (opts.desc === true) out += `:"${f.column.desc}"`;
      out += '\n';
    }
  }
  return out;
}

const OBJ_TYPE: Record<Row['kind'], string> = { F: 'Frontend', L: 'Listener', B: 'Backend', S: 'Server' };

/**
 * JSON as HAProxy prints it: an array per object of field objects, no spaces, "]]" + newline.
 * (haproxy 2.6 accepts `show stat desc json` but prints no descriptions in JSON; neither do we.)
 */
export function renderJson(source: StatsSource, opts: TypedOptions = {}): string {
  const vo = valueOptions(opts, opts.legends === true);
  const objects: string[] = [];
  for (const row of statRows(source, opts)) {
    const head = `{"objType":"${OBJ_TYPE[row.kind]}","proxyId":${row.px.id},"id":${objectId(row)},`;
    const fields = typedFields(row, vo.legends, vo.hideDown).map((f) => {
      const value = typeof f.value === 'number' ? String(f.value) : JSON.stringify(f.value);
      const tags = tagWords(f.tags);
      return (
        head +
        `"field":{"pos":${f.column.pos},"name":"${f.column.name}"},"processNum":1,` +
        `"tags":{"origin":"${tags.origin}","nature":"${tags.nature}","scope":"${tags.scope}"},` +
        `"value":{"type":"${f.type}","value":${value}}}`
      );
    });
    objects.push('[' + fields.join(',') + ']');
  }
  return '[' + objects.join(',') + ']\n';
}
