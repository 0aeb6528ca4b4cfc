/** Filters (;up, scope=), server status texts, HTML fragments and the HTTP handler (auth, admin). */
import test from 'ava';
import { serverStatus } from '../../lb/stats/columns.ts';
import { renderCsv } from '../../lb/stats/csv.ts';
import { humanTime, renderHtml, type HtmlOptions } from '../../lb/stats/html.ts';
import { DEFAULT_REALM, adminRedirect, handleStatsRequest, type StatsHttpConfig, type StatsHttpRequest, type StatsHttpResult } from '../../lb/stats/http-handler.ts';
import { check, server, small } from './fixture.ts';

const names = (csv: string): string[] => csv.trimEnd().split('\n').slice(1).map((l) => l.split(',').slice(0, 2).join('/'));
const status = (csv: string, sv: string): string | undefined =>
  csv.split('\n').find((l) => l.split(',')[1] === sv)?.split(',')[17];

test(';up hides DOWN and MAINT servers and adds (up/total) to the backend status', (t) => {
  const src = small();
  t.deepEqual(names(renderCsv(src)), ['http_front/FRONTEND', 'web_backend/web1', 'web_backend/web2', 'web_backend/web3', 'web_backend/BACKEND']);
  const up = renderCsv(src, { hideDown: true });
  t.deepEqual(names(up), ['http_front/FRONTEND', 'web_backend/web1', 'web_backend/web3', 'web_backend/BACKEND']);
  t.is(status(up, 'BACKEND'), 'UP (2/3)');
  t.is(status(renderCsv(src), 'BACKEND'), 'UP');
});

test(';up keeps a server that is DOWN but going up', (t) => {
  const sv = server('s', 1, { state: 'stopped', check: check({ health: 1, status: 'L7OK' }) });
  t.is(serverStatus(sv), 'DOWN 1/2');
  const src = small();
  const px = src.proxies[1];
  if (px?.backend === undefined) {
    t.fail('fixture without backend');
    return;
  }
  const withGoingUp = { ...src, proxies: [{ ...px, backend: { ...px.backend, servers: [sv] } }] };
  t.deepEqual(names(renderCsv(withGoingUp, { hideDown: true })), ['web_backend/s', 'web_backend/BACKEND']);
});

test('scope= is a case-insensitive substring of the proxy name (as haproxy 2.6)', (t) => {
  const src = small();
  t.deepEqual(names(renderCsv(src, { scope: 'WEB' })), ['web_backend/web1', 'web_backend/web2', 'web_backend/web3', 'web_backend/BACKEND']);
  t.deepEqual(names(renderCsv(src, { scope: 'front' })), ['http_front/FRONTEND']);
  t.deepEqual(names(renderCsv(src, { scope: 'nomatch' })), []);
});

test('server status texts follow haproxy: going down/up, NOLB, DRAIN, MAINT, no check', (t) => {
  const maint = { maint: true, maintVia: undefined, resolution: false, drain: false };
  t.is(serverStatus(server('a', 1, { check: check() })), 'UP');
  t.is(serverStatus(server('a', 1, { check: check({ health: 3 }) })), 'UP 2/3');
  t.is(serverStatus(server('a', 1, { state: 'stopped', check: check({ health: 0 }) })), 'DOWN');
  t.is(serverStatus(server('a', 1, { state: 'stopping', check: check() })), 'NOLB');
  t.is(serverStatus(server('a', 1, { admin: { ...maint, maint: false, drain: true }, check: check() })), 'DRAIN');
  t.is(serverStatus(server('a', 1, { admin: maint, state: 'stopped' })), 'MAINT');
  t.is(serverStatus(server('a', 1, { admin: { ...maint, maintVia: 'be/x' }, state: 'stopped' })), 'MAINT (via be/x)');
  t.is(serverStatus(server('a', 1)), 'no check');
});

test('humanTime prints two units like haproxy', (t) => {
  t.is(humanTime(0), '0s');
  t.is(humanTime(42), '42s');
  t.is(humanTime(65), '1m5s');
  t.is(humanTime(7385), '2h3m');
  t.is(humanTime(3605), '1h5s');
  t.is(humanTime(90061), '1d1h');
});

const HTML: HtmlOptions = { uri: '/stats', showLegends: false, hideVersion: false, admin: false, refresh: 10, productName: 'HAProxy' };

test('HTML: rows with status colours, durations, LastChk, weights and the process block', (t) => {
  const html = renderHtml(small(), HTML);
  t.regex(html, /<tr class="active_up">.*web1.*<td class=ac>2h3m UP<\/td><td class=ac><u> L7OK\/200 in 1ms<div class=tips>Layer7 check passed<\/div><\/u><\/td><td class=ac>1\/1<\/td>/);
  t.regex(html, /<tr class="active_down">.*web2.*<td class=ac>42s DOWN<\/td><td class=ac><u> L7STS\/500 in 2ms<div class=tips>Layer7 wrong status: Internal Server Error<\/div>/);
  t.regex(html, /<tr class="active_draining">.*web3.*<td class=ac>1m5s DRAIN<\/td>/);
  t.regex(html, /<th colspan=3>Queue<\/th><th colspan=3>Session rate<\/th><th colspan=6>Sessions<\/th><th colspan=2>Bytes<\/th><th colspan=2>Denied<\/th><th colspan=3>Errors<\/th><th colspan=2>Warnings<\/th><th colspan=9>Server<\/th>/);
  t.regex(html, /<th>Dwntme<\/th><th>Thrtle<\/th>/);
  t.regex(html, /<b>pid = <\/b> 4242 \(process #1, nbproc = 1, nbthread = 1\)<br>/);
  t.regex(html, /<b>uptime = <\/b> 0d 2h03m05s<br>/);
  t.regex(html, /<b>maxsock = <\/b> 20000; <b>maxconn = <\/b> 9982;/);
  t.regex(html, /Running tasks: 0\/24; idle = 98 %/);
  t.regex(html, /\.active_up\{background:#c0ffc0\}/);
  t.regex(html, /\.active_down\{background:#ff9090\}/);
  t.regex(html, /\.maintain\{background:#c07820\}/);
  t.regex(html, /version 0\.1\.0, released 2026\/01\/01/);
  t.notRegex(html, /<form method="post">/);
  t.regex(html, /<a href="\/stats;norefresh">Disable refresh<\/a>/);
  t.regex(html, /active or backup DOWN for maintenance \(MAINT\)/);
});

test('HTML: hide-version, show-legends tooltips, admin form with actions', (t) => {
  const html = renderHtml(small(), { ...HTML, hideVersion: true, showLegends: true, admin: true });
  t.notRegex(html, /version 0\.1\.0/);
  t.regex(html, /<div class=tips>cap: backend, mode: http, id: 3<\/div>/);
  t.regex(html, /<div class=tips>127\.0\.0\.1:18091, id: 1<\/div>/);
  t.regex(html, /<form method="post">/);
  t.regex(html, /<input class='web_backend-checkbox' type="checkbox" name="s" value="web2">/);
  for (const a of ['ready', 'drain', 'maint', 'dhlth', 'ehlth', 'dagent', 'eagent', 'shutdown']) t.regex(html, new RegExp(`<option value="${a}">`));
  t.regex(html, /<input type="hidden" name="b" value="#3">/);
});

test('HTML escapes every name', (t) => {
  const html = renderHtml(small({ names: ['<script>x</script>', 'a"b', "c'd"], pxName: 'be<&>' }), { ...HTML, admin: true, showLegends: true });
  t.false(html.includes('<script>x'));
  t.false(html.includes('be<&>'));
  t.true(html.includes('&lt;script&gt;x&lt;/script&gt;'));
  t.true(html.includes('be&lt;&amp;&gt;'));
  t.true(html.includes('a&quot;b'));
  t.true(html.includes('c&#39;d'));
});

// ---- HTTP handler ----

const CFG: StatsHttpConfig = {
  uri: '/stats', users: [{ user: 'admin', password: 'secret' }, { user: 'bob', password: 'p:w2' }],
  refresh: 10, hideVersion: false, showLegends: false,
};
const basic = (u: string, p: string): string => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');
const req = (over: Partial<StatsHttpRequest>): StatsHttpRequest => ({
  method: 'GET', uri: '/stats', headers: { authorization: basic('admin', 'secret') }, srcIsAdminAllowed: false, ...over,
});
function response(r: StatsHttpResult): { status: number; headers: Record<string, string>; body: string } {
  if (r.kind !== 'response') throw new Error(`expected a response, got ${r.kind}`);
  return r;
}

test('auth: 401 with the default realm and haproxy\'s body without or with wrong credentials', (t) => {
  for (const headers of [{}, { authorization: basic('admin', 'wrong') }, { authorization: basic('nobody', 'secret') }, { authorization: 'Bearer x' }]) {
    const r = response(handleStatsRequest(req({ headers }), CFG, small()));
    t.is(r.status, 401);
    t.is(r.headers['www-authenticate'], `Basic realm="${DEFAULT_REALM}"`);
    t.is(r.headers['www-authenticate'], 'Basic realm="HAProxy Statistics"');
    t.is(r.body, '<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n');
    t.is(r.headers['content-length'], '112');
  }
  const custom = response(handleStatsRequest(req({ headers: {} }), { ...CFG, realm: 'My Realm' }, small()));
  t.is(custom.headers['www-authenticate'], 'Basic realm="My Realm"');
});

test('auth: several users, passwords with colons; no users = open', (t) => {
  t.is(response(handleStatsRequest(req({}), CFG, small())).status, 200);
  t.is(response(handleStatsRequest(req({ headers: { authorization: basic('bob', 'p:w2') } }), CFG, small())).status, 200);
  t.is(response(handleStatsRequest(req({ headers: {} }), { ...CFG, users: [] }, small())).status, 200);
});

test('formats and headers: ;csv, ;json, html, refresh unless ;norefresh, ;up and scope= reach the renderer', (t) => {
  const csv = response(handleStatsRequest(req({ uri: '/stats;csv' }), CFG, small()));
  t.is(csv.headers['content-type'], 'text/plain');
  t.is(csv.headers['refresh'], '10');
  t.is(csv.headers['cache-control'], 'no-cache');
  t.true(csv.body.startsWith('# pxname,svname,'));
  const nr = response(handleStatsRequest(req({ uri: '/stats;csv;norefresh' }), CFG, small()));
  t.is(nr.headers['refresh'], undefined);
  t.is(response(handleStatsRequest(req({ uri: '/stats;json' }), CFG, small())).headers['content-type'], 'application/json');
  t.is(response(handleStatsRequest(req({}), CFG, small())).headers['content-type'], 'text/html');
  const up = response(handleStatsRequest(req({ uri: '/stats;csv;up;scope=web' }), CFG, small()));
  t.deepEqual(names(up.body), ['web_backend/web1', 'web_backend/web3', 'web_backend/BACKEND']);
  const q = response(handleStatsRequest(req({ uri: '/stats;csv?scope=front' }), CFG, small()));
  t.deepEqual(names(q.body), ['http_front/FRONTEND']);
  t.deepEqual(handleStatsRequest(req({ uri: '/other' }), CFG, small()), { kind: 'pass' });
});

test('admin: POST without `stats admin` → 303 to ;st=DENY (haproxy 2.6 does not send 403)', (t) => {
  const r = response(handleStatsRequest(req({ method: 'POST', body: 's=web1&action=drain&b=%233' }), CFG, small()));
  t.is(r.status, 303);
  t.is(r.headers['location'], '/stats;st=DENY');
});

test('admin: POST with admin allowed returns the parsed action; bad forms redirect with ERRP/NONE', (t) => {
  const ok = handleStatsRequest(req({ method: 'POST', srcIsAdminAllowed: true, body: 's=web1&s=web3&action=maint&b=%233' }), CFG, small());
  t.deepEqual(ok, { kind: 'admin', action: 'maint', backend: { id: 3 }, servers: ['web1', 'web3'] });
  const byName = handleStatsRequest(req({ method: 'POST', srcIsAdminAllowed: true, body: 's=web1&action=ehlth&b=web_backend' }), CFG, small());
  t.deepEqual(byName, { kind: 'admin', action: 'ehlth', backend: { name: 'web_backend' }, servers: ['web1'] });
  t.is(response(handleStatsRequest(req({ method: 'POST', srcIsAdminAllowed: true, body: 's=web1&action=explode&b=%233' }), CFG, small())).headers['location'], '/stats;st=ERRP');
  t.is(response(handleStatsRequest(req({ method: 'POST', srcIsAdminAllowed: true, body: 'action=drain&b=%233' }), CFG, small())).headers['location'], '/stats;st=NONE');
  // Unauthenticated POST never reaches the admin path.
  t.is(response(handleStatsRequest(req({ method: 'POST', headers: {}, srcIsAdminAllowed: true, body: 's=web1&action=drain&b=%233' }), CFG, small())).status, 401);
  t.deepEqual(adminRedirect('/stats', 'DONE').headers['location'], '/stats;st=DONE');
});

test('the ;st= banner after an admin action', (t) => {
  const done = response(handleStatsRequest(req({ uri: '/stats;st=DONE', srcIsAdminAllowed: true }), CFG, small()));
  t.regex(done.body, /<p><div class=active_up><a class=lfsb href="\/stats" title="Remove this message">\[X\]<\/a> Action processed successfully\.<\/div>/);
  const deny = response(handleStatsRequest(req({ uri: '/stats;st=DENY' }), CFG, small()));
  t.regex(deny.body, /<b>Action denied\.<\/b>/);
});
