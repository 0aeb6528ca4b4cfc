/**
 * Our renderers against bytes captured from Debian's haproxy 2.6.12 (test/stats/fixtures/
 * haproxy-2.6, produced from haproxy.cfg in that folder). The snapshot haproxyCapture() carries the
 * same counters and states, so every difference is a difference in the column table: order,
 * emptiness rules per object kind, tags, types or Prometheus names.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLUMNS, csvHeaderNames } from '../../lb/stats/columns.ts';
import { csvHeader, renderCsv } from '../../lb/stats/csv.ts';
import { renderPrometheus } from '../../lb/stats/prometheus.ts';
import { renderJson, renderTyped } from '../../lb/stats/typed.ts';
import { haproxyCapture, small } from './fixture.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'haproxy-2.6');
const read = (f: string): string => readFileSync(join(DIR, f), 'utf8');

test('CSV header is haproxy 2.6 header, byte for byte', (t) => {
  const theirs = read('show-stat.csv').split('\n')[0] + '\n';
  t.is(csvHeader(), theirs);
  t.is(csvHeaderNames().length, 128);
});

test('`show stat` CSV of the captured state equals haproxy (CLI adds one empty line)', (t) => {
  t.is(renderCsv(haproxyCapture(), { legends: true }) + '\n', read('show-stat.csv'));
});

test(';csv over HTTP without show-legends hides addr, cookie and algo like haproxy', (t) => {
  const keep = (s: string): string[] => s.split('\n').filter((l) => !/^(stats|prom),/.test(l));
  t.deepEqual(keep(renderCsv(haproxyCapture())), keep(read('http.csv')));
});

test('`show stat typed` equals haproxy line for line', (t) => {
  t.is(renderTyped(haproxyCapture(), { legends: true }) + '\n', read('show-stat-typed.txt'));
});

test('`show stat json` equals haproxy byte for byte', (t) => {
  t.is(renderJson(haproxyCapture(), { legends: true }) + '\n', read('show-stat.json'));
});

test('Prometheus: names, types, HELP, labels and order equal promex; values equal where haproxy was idle', (t) => {
  const ours = renderPrometheus(haproxyCapture()).split('\n').filter((l) => !l.includes('haproxy_process_'));
  const theirs = read('metrics.txt').split('\n').filter((l) => !l.includes('haproxy_process_'));
  t.is(ours.length, theirs.length);
  const series = (l: string): string => (l.startsWith('#') ? l : l.replace(/ [^ ]+$/, ''));
  t.deepEqual(ours.map(series), theirs.map(series));
  // Health checks kept hitting s1, stats and prom between the captures: their counters moved.
  ours.forEach((l, i) => {
    if (!l.startsWith('#') && !/proxy="(s1|stats|prom)"/.test(l)) t.is(l, theirs[i] ?? '');
  });
});

test('Prometheus exposition parses: HELP/TYPE before samples, one TYPE per metric, numeric or NaN values', (t) => {
  const text = renderPrometheus(small());
  const typed = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    const m = /^# TYPE (\w+) (gauge|counter)$/.exec(line);
    if (m?.[1] !== undefined) {
      t.false(typed.has(m[1]), `TYPE twice for ${m[1]}`);
      typed.set(m[1], m[2] ?? '');
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const s = /^(\w+)(\{(\w+="(?:[^"\\]|\\.)*",?)*\})? (-?\d+(\.\d+)?|NaN)$/.exec(line);
    t.truthy(s, `bad sample line: ${line}`);
    t.true(typed.has(s?.[1] ?? ''), `sample before TYPE: ${line}`);
  }
  t.is(typed.get('haproxy_server_status'), 'gauge');
  t.is(typed.get('haproxy_backend_http_responses_total'), 'counter');
  t.regex(text, /^haproxy_server_status\{proxy="web_backend",server="web2",state="DOWN"\} 1$/m);
  t.regex(text, /^haproxy_server_status\{proxy="web_backend",server="web3",state="DRAIN"\} 1$/m);
  t.regex(text, /^haproxy_server_check_status\{proxy="web_backend",server="web2",state="L7STS"\} 1$/m);
  t.regex(text, /^haproxy_server_check_code\{proxy="web_backend",server="web2"\} 500$/m);
  t.regex(text, /^haproxy_backend_response_time_average_seconds\{proxy="web_backend"\} 0\.012000$/m);
  t.regex(text, /^haproxy_frontend_http_responses_total\{proxy="http_front",code="5xx"\} 5$/m);
});

test('the seed\'s "Debug This" awk: $62/$63 are ttime and agent_status, as in haproxy 2.6', (t) => {
  // 1-based awk fields over the CSV: $1 = pxname (the header line starts with "# pxname").
  const at = (n: number): string | undefined => csvHeaderNames()[n - 1];
  t.is(at(61), 'rtime');
  t.is(at(62), 'ttime');
  t.is(at(63), 'agent_status');
  t.is(at(93), 'rtime_max');
  // haproxy's own header says the same (the fixture is haproxy's output, not ours).
  const theirs = read('show-stat.csv').split('\n')[0]?.slice(2).split(',') ?? [];
  t.is(theirs[61], 'ttime');
  t.is(theirs[62], 'agent_status');
  // What the seed's command prints with our CSV: "rtime_avg" is really the average total time and
  // "rtime_max" is the agent status (empty without agent checks). The right fields are $61 and $93.
  const awk = spawnSync('awk', ['-F,', '/web_backend/ {print $2, "rtime_avg="$62, "rtime_max="$63}'], {
    input: renderCsv(small()),
    encoding: 'utf8',
  });
  if (awk.status !== 0) {
    t.log('awk not available; positions checked above');
    return;
  }
  t.is(awk.stdout, 'web1 rtime_avg=0 rtime_max=\nweb2 rtime_avg=0 rtime_max=\nweb3 rtime_avg=0 rtime_max=\nBACKEND rtime_avg=15 rtime_max=\n');
  const right = spawnSync('awk', ['-F,', '/web_backend/ {print $2, "rtime_avg="$61, "rtime_max="$93}'], { input: renderCsv(small()), encoding: 'utf8' });
  t.is(right.stdout.split('\n')[0], 'web1 rtime_avg=11 rtime_max=40');
});

test('column table: positions are sequential, every column has at least one kind, prom kinds are a subset', (t) => {
  COLUMNS.forEach((c, i) => {
    t.is(c.pos, i);
    t.true(Object.keys(c.kinds).length > 0, c.name);
    for (const k of ['F', 'L', 'B', 'S'] as const) {
      if (c.prom?.kinds.includes(k) === true) t.truthy(c.kinds[k], `${c.name} prom kind ${k}`);
    }
  });
  t.is(new Set(COLUMNS.map((c) => c.name)).size, COLUMNS.length);
});
