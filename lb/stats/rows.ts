// Turns a StatsSource snapshot into the rows every view prints, in HAProxy's order: per proxy the
// FRONTEND row, its listeners (socket-stats), its servers, then the BACKEND row.
import { summarizeBackend, type Row, type ValueOptions } from './columns.ts';
import type { ProxyStats, ServerStats, StatsSource } from './source.ts';

export interface RowFilter {
  /** `scope=` of the stats page: case-insensitive substring of the proxy name; '' = all. */
  scope?: string;
  /** `;up` / `show stat up`: hide servers that are DOWN (and not coming up) or in MAINT. */
  hideDown?: boolean;
  /** `show stat no-maint`: hide servers in MAINT. */
  hideMaint?: boolean;
}

/** True when `;up` hides this server: maintenance, or down and not on its way up. */
export function serverHiddenByUp(sv: ServerStats): boolean {
  if (sv.admin.maint) return true;
  if (sv.state !== 'stopped') return false;
  const checkOn = sv.check?.enabled === true;
  const agentOn = sv.agent?.enabled === true;
  return (!checkOn && !agentOn) || (agentOn && sv.agent?.health === 0) || (checkOn && sv.check?.health === 0);
}

export function proxyInScope(px: ProxyStats, scope: string | undefined): boolean {
  return scope === undefined || scope === '' || px.name.toLowerCase().includes(scope.toLowerCase());
}

/** The rows of one proxy, filtered. */
export function proxyRows(px: ProxyStats, filter: RowFilter = {}): Row[] {
  const rows: Row[] = [];
  const fe = px.frontend;
  if (fe !== undefined) {
    rows.push({ kind: 'F', px, fe });
    for (const li of px.listeners) rows.push({ kind: 'L', px, fe, li });
  }
  const be = px.backend;
  if (be !== undefined) {
    for (const sv of be.servers) {
      if (filter.hideDown === true && serverHiddenByUp(sv)) continue;
      if (filter.hideMaint === true && sv.admin.maint) continue;
      rows.push({ kind: 'S', px, be, sv });
    }
    rows.push({ kind: 'B', px, be, sum: summarizeBackend(be) });
  }
  return rows;
}

export function statRows(source: StatsSource, filter: RowFilter = {}): Row[] {
  const rows: Row[] = [];
  for (const px of source.proxies) {
    if (!proxyInScope(px, filter.scope)) continue;
    rows.push(...proxyRows(px, filter));
  }
  return rows;
}

/** ValueOptions matching a filter (the backend status shows "(up/total)" when servers are hidden). */
export function valueOptions(filter: RowFilter, legends: boolean): ValueOptions {
  return { legends, hideDown: filter.hideDown === true || filter.hideMaint === true };
}
