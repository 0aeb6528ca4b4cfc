// The HTML dashboard operators know from HAProxy: a "General process information" header, a
// legend, then per proxy a table (Queue, Session rate, Sessions, Bytes, Denied, Errors, Warnings,
// Server) with a row per frontend, listener, server and backend, coloured by server state. Values
// come from the column table (columnValue), so the page never disagrees with ;csv. Self-contained
// (inline CSS, no script beyond the "check all" box), every name escaped.
import { COLUMN_BY_NAME, columnValue, type Row, type Value, type ValueOptions } from './columns.ts';
import { proxyInScope, proxyRows, type RowFilter } from './rows.ts';
import type { ProcessStats, ProxyStats, ServerStats, StatsSource } from './source.ts';

export interface HtmlOptions extends RowFilter {
  /** The stats URI prefix used in links (`stats uri`, default "/haproxy?stats"). */
  uri: string;
  /** `stats show-legends`: tooltips with ids, addresses, algorithms. */
  showLegends: boolean;
  /** `stats hide-version`. */
  hideVersion: boolean;
  /** Admin form shown (`stats admin` matched for this request). */
  admin: boolean;
  /** Refresh interval in seconds, or 0; only changes the "Disable refresh" link. */
  refresh: number;
  /** Product version/name printed in the header. */
  productName: string;
  /** Result code of an admin action from ";st=CODE" (DONE, PART, NONE, ERRP, EXCD, DENY). */
  notice?: string;
}

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** HAProxy's human_time(): at most two units, "0s" for zero: 7385 → "2h3m", 65 → "1m5s". */
export function humanTime(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  let t = Math.floor(sec);
  let out = '';
  let cnt = 2;
  if (t >= 86400) {
    out += `${Math.floor(t / 86400)}d`;
    cnt--;
  }
  t %= 86400;
  const h = Math.floor(t / 3600);
  if (cnt > 0 && h > 0) {
    out += `${h}h`;
    cnt--;
  }
  const m = Math.floor((t % 3600) / 60);
  if (cnt > 0 && m > 0) {
    out += `${m}m`;
    cnt--;
  }
  const s = t % 60;
  if ((cnt > 0 && s > 0) || sec < 1) out += `${s}s`;
  return out;
}

/** "0d 2h03m05s" as in the process information block. */
export function uptimeText(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  return `${d}d ${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
}

/** HAProxy's U2H: digits grouped by thousands with a spaced span ("9 985"). */
function u2h(val: Value | undefined): string {
  if (val === undefined) return '';
  if (typeof val === 'string') return escapeHtml(val);
  const s = String(val);
  if (s.length <= 3 || val < 0) return s;
  const head = s.length % 3 === 0 ? 3 : s.length % 3;
  let out = `<span class="rls">${s.slice(0, head)}</span>`;
  for (let i = head; i < s.length; i += 3) out += i + 3 < s.length ? `<span class="rls">${s.slice(i, i + 3)}</span>` : s.slice(i, i + 3);
  return out;
}

const CSS = `body{font-family:arial,helvetica,sans-serif;font-size:12px;color:black;background:white}
th,td{font-size:10px}
h1{font-size:x-large;margin-bottom:0.5em}
h2{font-family:helvetica,arial;font-size:x-large;font-weight:bold;font-style:italic;color:#6020a0;margin:0}
h3{font-family:helvetica,arial;font-size:16px;font-weight:bold;color:#b00040;background:#e8e8d0;margin:0}
.hr{margin-top:0.25em;border-color:black;border-bottom-style:solid}
.titre{background:#20D0D0;color:#000000;font-weight:bold;text-align:center}
.frontend{background:#e8e8d0}
.socket{background:#d0d0d0}
.backend{background:#e8e8d0}
.active_down{background:#ff9090}
.active_going_up{background:#ffd020}
.active_going_down{background:#ffffa0}
.active_up{background:#c0ffc0}
.active_nolb{background:#20a0ff}
.active_draining{background:#20a0FF}
.active_no_check{background:#e0e0e0}
.backup_down{background:#ff9090}
.backup_going_up{background:#ff80ff}
.backup_going_down{background:#c060ff}
.backup_up{background:#b0d0ff}
.backup_nolb{background:#90b0e0}
.backup_draining{background:#cc9900}
.backup_no_check{background:#e0e0e0}
.maintain{background:#c07820}
.rls{letter-spacing:0.2em;margin-right:1px}
a.px:link,a.px:visited{color:#ffff40;text-decoration:none}
a.lfsb:link,a.lfsb:visited{color:#000000;text-decoration:none}
table.tbl{border-collapse:collapse;border-style:none}
table.tbl td{text-align:right;border:1px solid gray;padding:2px 3px;white-space:nowrap}
table.tbl td.ac{text-align:center}
table.tbl th{border:1px solid gray}
table.tbl th.pxname{background:#b00040;color:#ffff40;font-weight:bold;padding:2px 3px;white-space:nowrap}
table.tbl th.empty{border-style:none;background:white}
table.lgd{border-collapse:collapse;border-width:1px;border-style:none none none solid;border-color:black}
table.lgd td{border:1px solid gray;padding:2px}
table.lgd td.noborder{border-style:none;padding:2px;white-space:nowrap}
u{text-decoration:none;border-bottom:1px dotted black}
div.tips{display:block;visibility:hidden;z-index:2147483647;position:absolute;padding:2px 4px 3px;background:#f0f060;color:#000000;border:1px solid #7040c0;white-space:nowrap;font-style:normal;font-size:11px;font-weight:normal;border-radius:3px}
u:hover div.tips{visibility:visible}
@media (prefers-color-scheme: dark){body{color:#e8e6e3;background:#131516}.active_up{background:#165900}.active_down,.backup_down{background:#760000}.maintain{background:#9a601a}table.tbl th.empty{background:#181a1b}}`;

/** CSS class of a server row, from its status text (HAProxy's srv_hlt_st → class table). */
export function serverRowClass(sv: ServerStats, status: string): string {
  if (status.startsWith('MAINT')) return 'maintain';
  const side = sv.backup ? 'backup' : 'active';
  let st: string;
  if (status === 'no check') st = 'no_check';
  else if (status.startsWith('UP ')) st = 'going_down';
  else if (status === 'UP') st = 'up';
  else if (/^DOWN \d/.test(status)) st = 'going_up';
  else if (status.startsWith('DOWN')) st = 'down';
  else if (status.startsWith('NOLB')) st = 'nolb';
  else if (status.startsWith('DRAIN')) st = 'draining';
  else st = 'down';
  return `${side}_${st}`;
}

function v(name: string, row: Row, vo: ValueOptions): Value | undefined {
  const c = COLUMN_BY_NAME.get(name);
  return c === undefined ? undefined : columnValue(c, row, vo);
}

function td(content: string, cls = ''): string {
  return cls === '' ? `<td>${content}</td>` : `<td class=${cls}>${content}</td>`;
}

function tip(text: string, tips: string): string {
  return `<u>${text}<div class=tips>${tips}</div></u>`;
}

function processBlock(p: ProcessStats, o: HtmlOptions): string {
  const mem = p.memmaxMb > 0 ? `${p.memmaxMb} MB` : 'unlimited';
  const busy = p.tasks > 0 ? `${p.runQueue}/${p.tasks}` : '0/0';
  return (
    `<h3>&gt; General process information</h3>\n` +
    `<table border=0><tr><td align="left" nowrap width="1%">\n` +
    `<p><b>pid = </b> ${p.pid} (process #${p.relativePid}, nbproc = 1, nbthread = ${p.nbthread})<br>\n` +
    `<b>uptime = </b> ${uptimeText(p.uptimeSec)}<br>\n` +
    `<b>system limits:</b> memmax = ${mem}; ulimit-n = ${p.ulimitN}<br>\n` +
    `<b>maxsock = </b> ${p.maxsock}; <b>maxconn = </b> ${p.maxconn}; <b>maxpipes = </b> ${p.maxpipes}<br>\n` +
    `current conns = ${p.currConns}; current pipes = ${p.pipesUsed}/${p.pipesUsed + p.pipesFree}; conn rate = ${p.connRate}/sec; bit rate = ${bitRate(p.bytesOutRate * 8)}<br>\n` +
    `Running tasks: ${busy}; idle = ${p.idlePct} %<br>\n` +
    `</td><td align="center" nowrap>\n` +
    LEGEND +
    `</td><td align="left" valign="top" nowrap width="1%"><b>Display option:</b><ul style="margin-top: 0.25em;">` +
    `<li><form method="GET">Scope : <input value="${escapeHtml(o.scope ?? '')}" name="scope" size="8" maxlength="20" tabindex="1"/></form>\n` +
    (o.hideDown === true
      ? `<li><a href="${escapeHtml(o.uri)}">Show all servers</a><br>\n`
      : `<li><a href="${escapeHtml(o.uri)};up">Hide 'DOWN' servers</a><br>\n`) +
    (o.refresh > 0 ? `<li><a href="${escapeHtml(o.uri)};norefresh">Disable refresh</a><br>\n` : '') +
    `<li><a href="${escapeHtml(o.uri)}">Refresh now</a><br>\n` +
    `<li><a href="${escapeHtml(o.uri)};csv;norefresh">CSV export</a><br>\n` +
    `<li><a href="${escapeHtml(o.uri)};json;norefresh">JSON export</a><br>\n` +
    `</ul></td></tr></table>\n`
  );
}

function bitRate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(3)} Gbps`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(3)} Mbps`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(3)} kbps`;
  return `${bps} bps`;
}

const LEGEND =
  `<table class="lgd"><tr>\n` +
  `<td class="active_up">&nbsp;</td><td class="noborder">active UP </td><td class="backup_up">&nbsp;</td><td class="noborder">backup UP </td></tr><tr>\n` +
  `<td class="active_going_down"></td><td class="noborder">active UP, going down </td><td class="backup_going_down"></td><td class="noborder">backup UP, going down </td></tr><tr>\n` +
  `<td class="active_going_up"></td><td class="noborder">active DOWN, going up </td><td class="backup_going_up"></td><td class="noborder">backup DOWN, going up </td></tr><tr>\n` +
  `<td class="active_down"></td><td class="noborder">active or backup DOWN &nbsp;</td><td class="active_no_check"></td><td class="noborder">not checked </td></tr><tr>\n` +
  `<td class="maintain"></td><td class="noborder" colspan="3">active or backup DOWN for maintenance (MAINT) &nbsp;</td></tr><tr>\n` +
  `<td class="active_draining"></td><td class="noborder" colspan="3">active or backup SOFT STOPPED for maintenance &nbsp;</td></tr></table>\n` +
  `Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.`;

const HEAD_ROWS =
  `<tr class="titre"><th rowspan=2>{CHECKALL}</th><th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th><th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th><th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n` +
  `<tr class="titre"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>\n</tr>`;

function timesTip(row: Row, vo: ValueOptions): string {
  const pair = (avg: string, max: string): string => `${u2h(v(max, row, vo))} / ${u2h(v(avg, row, vo))}`;
  return (
    `<table class=det><tr><th>Cum. sessions:</th><td>${u2h(v('stot', row, vo))}</td></tr>` +
    `<tr><th>Cum. HTTP requests:</th><td>${u2h(v('req_tot', row, vo))}</td></tr>` +
    `<tr><th colspan=3>Max / Avg over last 1024 success. conn.</th></tr>` +
    `<tr><th>- Queue time:</th><td>${pair('qtime', 'qtime_max')}</td><td>ms</td></tr>` +
    `<tr><th>- Connect time:</th><td>${pair('ctime', 'ctime_max')}</td><td>ms</td></tr>` +
    `<tr><th>- Responses time:</th><td>${pair('rtime', 'rtime_max')}</td><td>ms</td></tr>` +
    `<tr><th>- Total time:</th><td>${pair('ttime', 'ttime_max')}</td><td>ms</td></tr></table>`
  );
}

function lastChkCell(sv: ServerStats): string {
  const c = sv.check;
  if (c === undefined || !c.enabled || c.paused) return td('');
  const code = c.code !== undefined ? `/${c.code}` : '';
  const dur = c.durationMs !== undefined ? ` in ${c.durationMs}ms` : '';
  const text = `${c.inProgress ? '* ' : ''}${escapeHtml(c.status)}${code}${dur}`;
  const tipText = escapeHtml(c.description + (c.info !== '' ? `: ${c.info}` : ''));
  return td(tip(` ${text}`, tipText), 'ac');
}

function frontendRow(row: Row & { kind: 'F' }, vo: ValueOptions): string {
  const n = escapeHtml(row.px.name);
  return (
    `<tr class="frontend"><td></td><td class=ac><a name="${n}/Frontend"></a><a class=lfsb href="#${n}/Frontend">Frontend</a></td>` +
    `<td colspan=3></td>` +
    td(u2h(v('rate', row, vo))) + td(u2h(v('rate_max', row, vo))) + td(row.fe.rateLimit > 0 ? u2h(row.fe.rateLimit) : '-') +
    td(u2h(v('scur', row, vo))) + td(u2h(v('smax', row, vo))) + td(u2h(v('slim', row, vo))) +
    td(tip(u2h(v('stot', row, vo)), `<table class=det><tr><th>Cum. connections:</th><td>${u2h(v('conn_tot', row, vo))}</td></tr><tr><th>Cum. HTTP requests:</th><td>${u2h(v('req_tot', row, vo))}</td></tr></table>`)) +
    td('') + td('') +
    td(u2h(v('bin', row, vo))) + td(u2h(v('bout', row, vo))) +
    td(u2h(v('dreq', row, vo))) + td(u2h(v('dresp', row, vo))) +
    td(u2h(v('ereq', row, vo))) + td('') + td('') + td('') + td('') +
    td(escapeHtml(row.fe.status), 'ac') + `<td class=ac colspan=8></td></tr>`
  );
}

function listenerRow(row: Row & { kind: 'L' }, vo: ValueOptions, o: HtmlOptions): string {
  const n = escapeHtml(`${row.px.name}/+${row.li.name}`);
  const name = o.showLegends ? tip(escapeHtml(row.li.name), escapeHtml(`${row.li.addr}, id: ${row.li.id}`)) : escapeHtml(row.li.name);
  return (
    `<tr class="socket"><td></td><td class=ac><a name="${n}"></a><a class=lfsb href="#${n}">${name}</a></td>` +
    `<td colspan=3></td><td colspan=3></td>` +
    td(u2h(v('scur', row, vo))) + td(u2h(v('smax', row, vo))) + td(u2h(v('slim', row, vo))) + td(u2h(v('stot', row, vo))) + td('') + td('') +
    td(u2h(v('bin', row, vo))) + td(u2h(v('bout', row, vo))) + td(u2h(v('dreq', row, vo))) + td(u2h(v('dresp', row, vo))) +
    td(u2h(v('ereq', row, vo))) + td('') + td('') + td('') + td('') +
    td(escapeHtml(row.li.status), 'ac') + `<td class=ac colspan=8></td></tr>`
  );
}

function serverRow(row: Row & { kind: 'S' }, vo: ValueOptions, o: HtmlOptions): string {
  const sv = row.sv;
  const status = String(v('status', row, vo) ?? '');
  const pxn = escapeHtml(row.px.name);
  const svn = escapeHtml(sv.name);
  const check = o.admin ? `<td><input class='${pxn}-checkbox' type="checkbox" name="s" value="${svn}"></td>` : '<td></td>';
  const name = o.showLegends ? tip(`<a class=lfsb href="#${pxn}/${svn}">${svn}</a>`, escapeHtml(`${sv.addr}, id: ${sv.id}`)) : `<a class=lfsb href="#${pxn}/${svn}">${svn}</a>`;
  const statusCell =
    status === 'no check' ? td('<i>no check</i>', 'ac') : td(`${humanTime(sv.lastChangeSec)} ${escapeHtml(status)}`, 'ac');
  const chkOn = sv.check !== undefined && sv.check.enabled;
  const lastSess = sv.traffic.lastSessSec < 0 ? '?' : humanTime(sv.traffic.lastSessSec);
  const chkCells =
    sv.tracked !== undefined
      ? `<td class=ac colspan=3><a class=lfsb href="#${escapeHtml(sv.tracked)}">via ${escapeHtml(sv.tracked)}</a></td>`
      : chkOn
        ? td(tip(u2h(sv.traffic.failedChecks), 'Failed Health Checks')) + td(u2h(sv.traffic.downTransitions)) + td(humanTime(sv.downtimeSec))
        : '<td colspan=3></td>';
  const throttle = v('throttle', row, vo);
  return (
    `<tr class="${serverRowClass(sv, status)}">${check}<td class=ac><a name="${pxn}/${svn}"></a>${name}</td>` +
    td(u2h(v('qcur', row, vo))) + td(u2h(v('qmax', row, vo))) + td(sv.maxqueue > 0 ? u2h(sv.maxqueue) : '-') +
    td(u2h(v('rate', row, vo))) + td(u2h(v('rate_max', row, vo))) + td('') +
    td(u2h(v('scur', row, vo))) + td(u2h(v('smax', row, vo))) + td(sv.maxconn > 0 ? u2h(sv.maxconn) : '-') +
    td(tip(u2h(v('stot', row, vo)), timesTip(row, vo))) + td(u2h(v('lbtot', row, vo))) + td(lastSess) +
    td(u2h(v('bin', row, vo))) + td(u2h(v('bout', row, vo))) +
    td('') + td(u2h(v('dresp', row, vo))) +
    td('') + td(u2h(v('econ', row, vo))) +
    td(tip(u2h(v('eresp', row, vo)), `Connection resets during transfers: ${sv.traffic.cliAborts} client, ${sv.traffic.srvAborts} server`)) +
    td(u2h(v('wretr', row, vo))) + td(u2h(v('wredis', row, vo))) +
    statusCell + lastChkCell(sv) +
    td(`${u2h(v('weight', row, vo))}/${u2h(v('uweight', row, vo))}`, 'ac') +
    td(sv.backup ? '-' : 'Y', 'ac') + td(sv.backup ? 'Y' : '-', 'ac') +
    chkCells + td(throttle === undefined ? '-' : `${throttle} %`, 'ac') + `</tr>\n`
  );
}

function backendRow(row: Row & { kind: 'B' }, vo: ValueOptions, o: HtmlOptions): string {
  const n = escapeHtml(row.px.name);
  const label = o.showLegends
    ? tip(`<a name="${n}/Backend"></a><a class=lfsb href="#${n}/Backend">Backend</a>`, `balancing: ${escapeHtml(row.be.algo)}`)
    : `<a name="${n}/Backend"></a><a class=lfsb href="#${n}/Backend">Backend</a>`;
  const lastSess = row.be.traffic.lastSessSec < 0 ? '?' : humanTime(row.be.traffic.lastSessSec);
  return (
    `<tr class="backend"><td></td><td class=ac>${label}</td>` +
    td(u2h(v('qcur', row, vo))) + td(u2h(v('qmax', row, vo))) + td('') +
    td(u2h(v('rate', row, vo))) + td(u2h(v('rate_max', row, vo))) + td('') +
    td(u2h(v('scur', row, vo))) + td(u2h(v('smax', row, vo))) + td(u2h(v('slim', row, vo))) +
    td(tip(u2h(v('stot', row, vo)), timesTip(row, vo))) + td(u2h(v('lbtot', row, vo))) + td(lastSess) +
    td(u2h(v('bin', row, vo))) + td(u2h(v('bout', row, vo))) +
    td(u2h(v('dreq', row, vo))) + td(u2h(v('dresp', row, vo))) +
    td('') + td(u2h(v('econ', row, vo))) +
    td(tip(u2h(v('eresp', row, vo)), `Connection resets during transfers: ${row.be.traffic.cliAborts} client, ${row.be.traffic.srvAborts} server`)) +
    td(u2h(v('wretr', row, vo))) + td(u2h(v('wredis', row, vo))) +
    td(`${humanTime(row.be.lastChangeSec)} ${escapeHtml(String(v('status', row, vo) ?? ''))}`, 'ac') + td('&nbsp;', 'ac') +
    td(`${u2h(v('weight', row, vo))}/${u2h(v('uweight', row, vo))}`, 'ac') +
    td(u2h(row.sum.act), 'ac') + td(u2h(row.sum.bck), 'ac') + td('&nbsp;', 'ac') +
    td(u2h(v('chkdown', row, vo))) + td(row.be.servers.length > 0 ? humanTime(row.be.downtimeSec) : '&nbsp;') + td('') +
    `</tr>`
  );
}

const ADMIN_ACTIONS: readonly (readonly [string, string])[] = [
  ['ready', 'Set state to READY'], ['drain', 'Set state to DRAIN'], ['maint', 'Set state to MAINT'],
  ['dhlth', 'Health: disable checks'], ['ehlth', 'Health: enable checks'], ['hrunn', 'Health: force UP'],
  ['hnolb', 'Health: force NOLB'], ['hdown', 'Health: force DOWN'], ['dagent', 'Agent: disable checks'],
  ['eagent', 'Agent: enable checks'], ['arunn', 'Agent: force UP'], ['adown', 'Agent: force DOWN'],
  ['shutdown', 'Kill Sessions'],
];

function proxyTable(px: ProxyStats, o: HtmlOptions): string {
  const vo: ValueOptions = { legends: o.showLegends, hideDown: o.hideDown === true };
  const rows = proxyRows(px, o);
  const n = escapeHtml(px.name);
  const cap = px.frontend !== undefined && px.backend !== undefined ? 'proxy' : px.frontend !== undefined ? 'frontend' : 'backend';
  const title = o.showLegends ? tip(`<a class=px href="#${n}">${n}</a>`, `cap: ${cap}, mode: ${escapeHtml(px.mode)}, id: ${px.id}`) : `<a class=px href="#${n}">${n}</a>`;
  const form = o.admin && px.backend !== undefined && px.backend.servers.length > 0;
  const checkAll = form
    ? `<input type="checkbox" onclick="for(c in document.getElementsByClassName('${n}-checkbox')) document.getElementsByClassName('${n}-checkbox').item(c).checked = this.checked">`
    : '';
  let out = form ? '<form method="post">' : '';
  out +=
    `<table class="tbl" width="100%">\n<tr class="titre"><th class="pxname" width="10%"><a name="${n}"></a>${title}</th><th class="empty" width="90%"></th></tr>\n</table>\n` +
    `<table class="tbl" width="100%">\n` +
    HEAD_ROWS.replace('{CHECKALL}', checkAll);
  for (const row of rows) {
    if (row.kind === 'F') out += frontendRow(row, vo);
    else if (row.kind === 'L') out += listenerRow(row, vo, o);
    else if (row.kind === 'S') out += serverRow(row, vo, o);
    else out += backendRow(row, vo, o);
  }
  out += '</table>';
  if (form) {
    out +=
      `Choose the action to perform on the checked servers : <select name=action><option value=""></option>` +
      ADMIN_ACTIONS.map(([val, label]) => `<option value="${val}">${label}</option>`).join('') +
      `</select><input type="hidden" name="b" value="#${px.id}">&nbsp;<input type="submit" value="Apply"></form>`;
  }
  return out + '<p>\n';
}

/** The banner haproxy shows after an admin action, by result code: [row class, message]. */
const BANNERS: Readonly<Record<string, readonly [string, string]>> = {
  DONE: ['active_up', 'Action processed successfully.'],
  PART: ['active_going_down', 'Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend).'],
  NONE: ['active_going_down', 'Nothing has changed.'],
  ERRP: ['active_down', 'Action not processed because of invalid parameters.<ul><li>The action is maybe unknown.</li><li>The backend name is probably unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li></ul>'],
  EXCD: ['active_down', '<b>Action not processed : the buffer couldn\'t store all the data.<br>You should retry with less servers at a time.</b>'],
  DENY: ['active_down', '<b>Action denied.</b>'],
};

function banner(o: HtmlOptions): string {
  const b = o.notice === undefined ? undefined : BANNERS[o.notice];
  if (b === undefined) return '';
  return `<p><div class=${b[0]}><a class=lfsb href="${escapeHtml(o.uri)}" title="Remove this message">[X]</a> ${b[1]}</div>\n`;
}

export function renderHtml(source: StatsSource, o: HtmlOptions): string {
  const p = source.process;
  const title = o.hideVersion
    ? `<h1><a href="http://www.haproxy.org/" style="text-decoration: none;">${escapeHtml(o.productName)}</a></h1>\n`
    : `<h1><a href="http://www.haproxy.org/" style="text-decoration: none;">${escapeHtml(o.productName)} version ${escapeHtml(p.version)}, released ${escapeHtml(p.releaseDate)}</a></h1>\n`;
  let out =
    `<!DOCTYPE html>\n<html><head><title>Statistics Report for ${escapeHtml(o.productName)}${p.node !== '' ? ' on ' + escapeHtml(p.node) : ''}</title>\n` +
    `<link rel="icon" href="data:,">\n<meta http-equiv="content-type" content="text/html; charset=utf-8">\n` +
    `<style type="text/css">\n${CSS}\n</style></head>\n<body>` +
    title +
    `<h2>Statistics Report for pid ${p.pid}${p.node !== '' ? ' on ' + escapeHtml(p.node) : ''}</h2>\n` +
    (p.description !== undefined ? `<h2>${escapeHtml(p.description)}</h2>\n` : '') +
    `<hr width="100%" class="hr">\n` +
    banner(o) +
    processBlock(p, o);
  for (const px of source.proxies) {
    if (!proxyInScope(px, o.scope)) continue;
    out += proxyTable(px, o);
  }
  return out + '</body></html>\n';
}
