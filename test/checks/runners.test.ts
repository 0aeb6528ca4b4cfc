// Each check type against real loopback servers (port 0).
import test from 'ava';
import * as fc from 'fast-check';
import {
  Deadlines,
  parseAgentReply,
  parseResponseHead,
  requestFromOptionHttpchk,
  runAgentCheck,
  runHttpCheck,
  runTcpCheck,
  runTcpCheckRules,
  scanResponseHead,
  serializeHttpCheckRequest,
  type HttpExpect,
} from '../../lb/checks/index.ts';
import { blackholePort, closedPort, recorder } from './helpers.ts';

const T = { inter: 2000 };
const ok200 = 'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\nhello world';
const err500 = 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops';

test('tcp: connect ok → L4OK without info', async (t) => {
  const s = await recorder(undefined);
  const r = await runTcpCheck({ host: '127.0.0.1', port: s.port }, T);
  t.is(r.status, 'L4OK');
  t.is(r.info, '');
  t.true(r.durationMs >= 0 && r.durationMs < 1000);
  await s.close();
});

test('tcp: refused → L4CON "Connection refused"', async (t) => {
  const r = await runTcpCheck({ host: '127.0.0.1', port: await closedPort() }, T);
  t.is(r.status, 'L4CON');
  t.is(r.info, 'Connection refused');
});

test('tcp: black-holed connect → L4TOUT after min(inter, timeout connect) when timeout check is set', async (t) => {
  const bh = await blackholePort();
  if (bh === undefined) {
    t.log('SKIPPED: python3 is not available for the full-backlog listener');
    t.pass();
    return;
  }
  try {
    const r = await runTcpCheck({ host: '127.0.0.1', port: bh.port }, { inter: 1000, connect: 150, check: 400 });
    t.is(r.status, 'L4TOUT');
    t.is(r.info, '');
    t.true(r.durationMs >= 140 && r.durationMs < 400, `duration ${r.durationMs}`);
    // Without `timeout check`, `inter` bounds the connect.
    const r2 = await runTcpCheck({ host: '127.0.0.1', port: bh.port }, { inter: 200, connect: 5000 });
    t.is(r2.status, 'L4TOUT');
    t.true(r2.durationMs >= 190 && r2.durationMs < 600, `duration ${r2.durationMs}`);
  } finally {
    bh.stop();
  }
});

async function http(reply: string, expects: HttpExpect[] = [], extra: { disableOn404?: boolean; serverDown?: boolean } = {}) {
  const s = await recorder(reply);
  const o = { request: { method: 'GET', uri: '/health' }, expects, disableOn404: extra.disableOn404 ?? false };
  const r = await runHttpCheck({ host: '127.0.0.1', port: s.port }, T, o, { serverDown: extra.serverDown ?? false });
  await s.close();
  return r;
}

test('http: default expect passes 2xx/3xx and fails others with the reason phrase', async (t) => {
  const ok = await http(ok200);
  t.like(ok, { status: 'L7OK', code: 200, info: '' });
  t.like(await http('HTTP/1.1 302 Found\r\ncontent-length: 0\r\n\r\n'), { status: 'L7OK', code: 302 });
  t.like(await http(err500), { status: 'L7STS', code: 500, info: 'Internal Server Error' });
});

test('http: status expect, ranges, lists and ! inversion', async (t) => {
  t.like(await http(err500, [{ kind: 'status', value: '500' }]), { status: 'L7OK', code: 500 });
  t.like(await http(ok200, [{ kind: 'status', value: '201,204-299' }]), { status: 'L7STS', code: 200, info: 'OK' });
  t.like(await http(ok200, [{ kind: 'status', value: '200', negate: true }]), { status: 'L7STS', code: 200, info: 'OK' });
  t.like(await http(err500, [{ kind: 'status', value: '200', negate: true }]), { status: 'L7OK' });
});

test('http: rstatus, string, rstring and inverted string', async (t) => {
  t.like(await http(ok200, [{ kind: 'rstatus', value: '^2' }]), { status: 'L7OK' });
  t.like(await http(err500, [{ kind: 'rstatus', value: '^2' }]), { status: 'L7STS', info: 'Internal Server Error' });
  t.like(await http(ok200, [{ kind: 'string', value: 'lo wo' }]), { status: 'L7OK' });
  t.like(await http(ok200, [{ kind: 'string', value: 'OK' }]), { status: 'L7RSP', info: 'HTTP content check did not match' });
  t.like(await http(ok200, [{ kind: 'rstring', value: 'hel+o\\s' }]), { status: 'L7OK' });
  t.like(await http(ok200, [{ kind: 'string', value: 'hello', negate: true }]), { status: 'L7RSP', info: 'HTTP check matched unwanted content' });
  t.like(await http('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', [{ kind: 'string', value: 'x' }]), {
    status: 'L7RSP',
    info: 'HTTP content check could not find a response body',
  });
  // Chunked bodies are matched once decoded.
  t.like(await http('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n', [{ kind: 'string', value: 'cde' }]), { status: 'L7OK' });
});

test('http: several expects are evaluated in order and the first failing one decides', async (t) => {
  const both: HttpExpect[] = [
    { kind: 'rstatus', value: '^2' },
    { kind: 'string', value: 'nothere' },
  ];
  t.like(await http(ok200, both), { status: 'L7RSP', info: 'HTTP content check did not match' });
  t.like(await http(err500, both), { status: 'L7STS', code: 500 });
  const reversed: HttpExpect[] = [
    { kind: 'string', value: 'oops' },
    { kind: 'status', value: '200' },
  ];
  t.like(await http(err500, reversed), { status: 'L7STS', info: 'Internal Server Error' });
  t.like(await http(ok200, [{ kind: 'hdr', name: 'Content-Length', value: '11' }]), { status: 'L7OK' });
  t.like(await http(ok200, [{ kind: 'hdr', name: 'x-nope' }]), { status: 'L7STS', info: 'HTTP header did not match' });
});

test('http: invalid or truncated responses → L7RSP without info; silence → L7TOUT', async (t) => {
  t.like(await http('NOTHTTP\r\n\r\n'), { status: 'L7RSP', info: '' });
  t.like(await http('HTTP/1.1 200 OK\r\n'), { status: 'L7RSP', info: '' });
  const s = await recorder(undefined);
  const r = await runHttpCheck({ host: '127.0.0.1', port: s.port }, { inter: 2000, check: 150, connect: 1000 }, { request: { uri: '/' } });
  t.like(r, { status: 'L7TOUT', info: '' });
  t.true(r.durationMs >= 140 && r.durationMs < 1000);
  await s.close();
});

test('http: disable-on-404 gives L7OKC unless the server is DOWN', async (t) => {
  const nf = 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n';
  t.like(await http(nf, [], { disableOn404: true }), { status: 'L7OKC', code: 404 });
  t.like(await http(nf, [], { disableOn404: true, serverDown: true }), { status: 'L7STS', code: 404, info: 'Not Found' });
});

test('http: the old `option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost` form on the wire', async (t) => {
  const s = await recorder(ok200);
  // The tokenizer has already turned `\r\n` and `\ ` into bytes.
  const req = requestFromOptionHttpchk(['GET', '/health', 'HTTP/1.1\r\nHost: localhost']);
  const r = await runHttpCheck({ host: '127.0.0.1', port: s.port }, T, { request: req });
  t.is(r.status, 'L7OK');
  const got = s.received[0] ?? '';
  t.true(got.startsWith('GET /health HTTP/1.1\r\n'), JSON.stringify(got));
  t.regex(got, /\r\nhost: localhost\r\n/);
  // Byte for byte what haproxy 2.6 sends (captured from it; see differential.test.ts).
  t.is(got, 'GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  await s.close();
});

test('http: `http-check send meth POST uri /chk ver HTTP/1.1 hdr Host example.org hdr X-A b body hello`', async (t) => {
  const s = await recorder(ok200);
  const request = { method: 'POST', uri: '/chk', version: 'HTTP/1.1', headers: [['Host', 'example.org'], ['X-A', 'b']] as [string, string][], body: 'hello' };
  const r = await runHttpCheck({ host: '127.0.0.1', port: s.port }, T, { request, expects: [{ kind: 'status', value: '200' }] });
  t.is(r.status, 'L7OK');
  t.is(s.received[0], 'POST /chk HTTP/1.1\r\nhost: example.org\r\nx-a: b\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello');
  t.is(serializeHttpCheckRequest({}), 'OPTIONS / HTTP/1.0\r\n\r\n');
  await s.close();
});

test('http: refused → L4CON', async (t) => {
  const r = await runHttpCheck({ host: '127.0.0.1', port: await closedPort() }, T, { request: {} });
  t.like(r, { status: 'L4CON', info: 'Connection refused' });
});

test('tcp-check: connect/send/expect sequences and their texts', async (t) => {
  const pong = await recorder((req) => (req.includes('PING\r\n') ? '+PONG\r\n' : undefined));
  const ep = { host: '127.0.0.1', port: pong.port };
  const rules = [
    { action: 'connect' as const },
    { action: 'send' as const, data: 'PING\r\n' },
    { action: 'expect' as const, kind: 'string' as const, pattern: '+PONG' },
  ];
  t.like(await runTcpCheckRules(ep, T, rules), { status: 'L7OK', code: 0, info: '(tcp-check)' });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send-binary', hex: '50494e470d0a' }, { action: 'expect', kind: 'binary', pattern: '2b504f4e47' }]), {
    status: 'L7OK',
  });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'rstring', pattern: '^\\+PO' }]), { status: 'L7OK' });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'string', pattern: '-ERR' }]), {
    status: 'L7RSP',
    info: "TCPCHK did not match content '-ERR' at step 2",
  });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'rstring', pattern: '^-' }]), {
    status: 'L7RSP',
    info: 'TCPCHK did not match content (regex) at step 2',
  });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'binary', pattern: '2d' }]), {
    status: 'L7RSP',
    info: 'TCPCHK did not match content (binary) at step 2',
  });
  t.like(await runTcpCheckRules(ep, T, [{ action: 'send', data: 'PING\r\n' }, { action: 'expect', kind: 'string', pattern: 'PONG', negate: true }]), {
    status: 'L7RSP',
    info: "TCPCHK matched unwanted content 'PONG' at step 2",
  });
  // Only a connect rule: L4OK with the tcp-check marker.
  t.like(await runTcpCheckRules(ep, T, [{ action: 'connect' }]), { status: 'L4OK', info: '(tcp-check)' });
  await pong.close();

  const silent = await recorder(undefined);
  const tout = await runTcpCheckRules({ host: '127.0.0.1', port: silent.port }, { inter: 2000, check: 150, connect: 500 }, rules);
  t.like(tout, { status: 'L7TOUT', info: " at step 3 of tcp-check (expect string '+PONG')" });
  await silent.close();

  const port = await closedPort();
  t.like(await runTcpCheckRules({ host: '127.0.0.1', port }, T, rules.slice(1)), {
    status: 'L4CON',
    info: 'Connection refused at initial connection step of tcp-check',
  });
  t.like(await runTcpCheckRules({ host: '127.0.0.1', port: 1 }, T, [{ action: 'connect', port }]), {
    status: 'L4CON',
    info: `Connection refused at step 1 of tcp-check (connect port ${port})`,
  });
  const empty = await recorder('');
  t.like(await runTcpCheckRules({ host: '127.0.0.1', port: empty.port }, T, rules.slice(1)), {
    status: 'L7RSP',
    info: 'TCPCHK got an empty response at step 2',
  });
  await empty.close();
});

test('agent: reply words parsed as HAProxy does', (t) => {
  t.deepEqual(parseAgentReply('up\n'), { health: { word: 'up', status: 'L7OK' } });
  t.deepEqual(parseAgentReply('DOWN #broken disk\r\n'), { health: { word: 'DOWN', status: 'L7STS' }, description: 'broken disk' });
  t.deepEqual(parseAgentReply('ready 75%,maxconn:30\tstopped'), {
    admin: 'ready',
    weightPercent: 75,
    maxconn: 30,
    health: { word: 'stopped', status: 'L7STS' },
  });
  t.deepEqual(parseAgentReply('drain'), { admin: 'drain' });
  t.deepEqual(parseAgentReply('maint fail'), { admin: 'maint', health: { word: 'fail', status: 'L7STS' } });
  t.deepEqual(parseAgentReply('garbage'), {});
});

test('agent: replies over the wire → result, info text and weight', async (t) => {
  const ag = await recorder('down #broken disk\n', true);
  const ep = { host: '127.0.0.1', port: ag.port };
  let o = await runAgentCheck(ep, T, {}, 10);
  t.like(o.result, { status: 'L7STS', code: 0, info: 'via agent : down (broken disk)' });
  ag.reply = 'up 50%\n';
  o = await runAgentCheck(ep, T, {}, 10);
  t.like(o.result, { status: 'L7OK', info: 'via agent : up' });
  t.is(o.weight, 5);
  ag.reply = 'drain\n';
  o = await runAgentCheck(ep, T, {}, 10);
  t.is(o.result.status, 'CHECKED');
  t.is(o.reply?.admin, 'drain');
  ag.reply = '3000%\n';
  o = await runAgentCheck(ep, T, {}, 10);
  t.like(o.result, { status: 'CHECKED', info: 'agent reports an error : Relative weight too large.' });
  t.is(o.weight, undefined);
  await ag.close();
  const refused = await runAgentCheck({ host: '127.0.0.1', port: await closedPort() }, T, {}, 1);
  t.is(refused.result.status, 'L4CON');
});

test('agent: agent-send is written before reading', async (t) => {
  const ag = await recorder((req) => (req === 'hello\n' ? 'maint\n' : 'up\n'));
  const o = await runAgentCheck({ host: '127.0.0.1', port: ag.port }, T, { send: 'hello\n' }, 1);
  t.is(o.reply?.admin, 'maint');
  await ag.close();
});

test('scanResponseHead (the hot path) agrees with parseResponseHead whenever it answers', (t) => {
  const parts = ['HTTP/1.1 ', 'HTTP/1.0 ', 'HTTP/2 ', '200', '404', '5x0', ' OK', ' ', '\t', '\r\n', '\n', '\r', ':', 'content-length', 'Content-Length', 'transfer-encoding', 'chunked', ' chunked', 'gzip,', '12', 'x', '-', '\u00e9', '\u00a0', '\u000b', '\u0000'];
  const head = fc.array(fc.constantFrom(...parts), { maxLength: 24 }).map((a) => a.join(''));
  const realistic = fc
    .tuple(fc.constantFrom('HTTP/1.1 200 OK', 'HTTP/1.0 503 Service Unavailable', 'HTTP/1.1 204'), fc.array(fc.tuple(fc.constantFrom('Content-Length', 'transfer-encoding', 'X-A', 'Bad Name'), fc.constantFrom('5', ' 7 ', 'chunked', 'gzip, chunked', 'a'))), fc.constantFrom('\r\n', '\n'))
    .map(([sl, hs, eol]) => `${sl}${eol}${hs.map(([n, v]) => `${n}:${v}${eol}`).join('')}${eol}body`);
  let fast = 0;
  fc.assert(
    fc.property(fc.oneof(head, realistic), (text) => {
      const buf = Buffer.from(text, 'latin1');
      const quick = scanResponseHead(buf);
      if (quick === 'slow') return;
      fast++;
      const ref = parseResponseHead(buf);
      if (quick === undefined || quick === 'bad' || ref === undefined || ref === 'bad') {
        t.is(quick, ref, JSON.stringify(text));
        return;
      }
      const { headers: _h, ...q } = quick;
      const { headers: _r, ...r } = ref;
      t.deepEqual(q, r, JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
  // The property must have exercised the fast path, not only the fallback.
  t.true(fast > 1000, `fast answers: ${fast}`);
});

test('deadlines: one timer, cleared ones never fire, due ones fire in order and not early', async (t) => {
  const q = new Deadlines();
  const fired: string[] = [];
  const mk = (name: string) => ({
    deadlineSlot: -1,
    deadlineLane: undefined,
    at: 0,
    expire() {
      fired.push(name);
      this.at = performance.now();
    },
  });
  const a = mk('a');
  const b = mk('b');
  const c = mk('c');
  const t0 = performance.now();
  q.set(a, 60);
  q.set(b, 60);
  q.set(c, 20);
  q.clear(b);
  t.is(q.size, 2);
  // Wait for the due ones (under load the loop may run late: lateness is not what this pins),
  // then a little longer so that a cleared one that would fire has had its chance.
  const until = performance.now() + 5000;
  while (fired.length < 2 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 60));
  t.deepEqual(fired, ['c', 'a']);
  t.true(c.at - t0 >= 20 && a.at - t0 >= 60, `c ${c.at - t0} a ${a.at - t0}`);
  t.is(q.size, 0);
});

test('deadlines: a late wake-up that finds several durations due expires them in due order', async (t) => {
  const q = new Deadlines();
  const fired: string[] = [];
  const mk = (name: string) => ({
    deadlineSlot: -1,
    deadlineLane: undefined,
    expire() {
      fired.push(name);
    },
  });
  q.set(mk('late'), 60);
  q.set(mk('early'), 20);
  q.set(mk('middle'), 40);
  // Block the loop past every deadline: the one wake-up then finds all three lanes due.
  const end = performance.now() + 100;
  while (performance.now() < end);
  const until = performance.now() + 5000;
  while (fired.length < 3 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(fired, ['early', 'middle', 'late']);
});
