// Traffic log lines and stats timings emitted by the data path (http.ts, tcp.ts), in process:
// a real listener and backends, a sink that collects the rendered lines.
import net from 'node:net';
import test from 'ava';
import { compileLogFormat, HTTPLOG_FORMAT, TCPLOG_FORMAT } from '../../lb/log/format.ts';
import { RequestTimings, type FrontendLog } from '../../lb/proxy/types.ts';
import { deadPort, echoServer, httpResponder } from '../helpers/backends.ts';
import { GET, once, startHttpProxy } from '../proxy/http/harness.ts';
import { connect, readBytes, startProxy, until } from '../proxy/tcp/harness.ts';

function sinkLog(format: string, dontlognull = false): { log: FrontendLog; lines: string[] } {
  const f = compileLogFormat(format);
  if (!f.ok) throw new Error(f.error);
  const lines: string[] = [];
  return { lines, log: { format: f.value, dontlognull, sink: { log: (level, m) => lines.push(`${level} ${m}`) } } };
}

const HTTP_LINE =
  /^6 127\.0\.0\.1:\d+ \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe (\S+)\/(\S+) (-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+)\/(\d+) (-?\d+) (\d+) - - (\S{4}) (\d+)\/(\d+)\/(\d+)\/(\d+)\/(\+?\d+) (\d+)\/(\d+) "(.*)"$/;

test('httplog: one line per request with status, bytes, timers, ---- and the request line', async (t) => {
  const b = await httpResponder(1);
  const { log, lines } = sinkLog(HTTPLOG_FORMAT);
  const p = await startHttpProxy({ ports: [b.port], frontend: { log } });
  p.be.timings = new RequestTimings();
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const r = await once(p.port, GET('/a?b=1', 'connection: close\r\n'));
  t.is(r.status, 200);
  t.true(await until(() => lines.length === 1));
  const m = HTTP_LINE.exec(lines[0]!);
  t.truthy(m, lines[0]);
  t.is(m![1], 'be');
  t.is(m![2], 's1');
  t.is(m![3], '0'); // TR: whole head in one segment
  t.is(m![4], '0'); // Tw: not queued
  t.not(m![5], '-1'); // Tc
  t.not(m![6], '-1'); // Tr
  t.is(m![8], '200');
  t.is(Number(m![9]), r.raw.length);
  t.is(m![10], '----');
  t.is(m![18], 'GET /a?b=1 HTTP/1.1');
  t.true(p.be.timings.tAvg >= 0 && p.servers[0]!.counters.reqTotal === 1);
});

test('httplog: 503 after failed connects is SC-- with <NOSRV>-less server and retries; empty connection CR-- unless dontlognull', async (t) => {
  const dead = await deadPort();
  const { log, lines } = sinkLog(HTTPLOG_FORMAT);
  const p = await startHttpProxy({ ports: [dead], frontend: { log }, backend: { retries: 1, timeouts: { connect: 200 } } });
  t.teardown(() => p.stop());
  const r = await once(p.port, GET('/x', 'connection: close\r\n'));
  t.is(r.status, 503);
  t.true(await until(() => lines.length === 1, 5000));
  const m = HTTP_LINE.exec(lines[0]!);
  t.truthy(m, lines[0]);
  t.is(m![5], '-1');
  t.is(m![8], '503');
  t.is(m![10], 'SC--');
  t.is(m![15], '1');
  // A connection that sends nothing: 400 CR-- <BADREQ>.
  const c = await connect(p.port);
  c.destroy();
  t.true(await until(() => lines.length === 2));
  t.regex(lines[1]!, / fe\/<NOSRV> -1\/-1\/-1\/-1\/\d+ 400 0 - - CR-- .* "<BADREQ>"$/);
});

test('dontlognull suppresses an empty http connection but not a request', async (t) => {
  const b = await httpResponder(1);
  const { log, lines } = sinkLog(HTTPLOG_FORMAT, true);
  const p = await startHttpProxy({ ports: [b.port], frontend: { log } });
  t.teardown(async () => {
    await p.stop();
    await b.close();
  });
  const c = await connect(p.port);
  c.destroy();
  await until(() => p.fe.counters.sessCur === 0);
  await new Promise((r) => setTimeout(r, 100));
  t.is(lines.length, 0);
  await once(p.port, GET('/', 'connection: close\r\n'));
  t.true(await until(() => lines.length === 1));
});

test('tcplog: one line per session, bytes to the client, -- ; SC on a dead server; dontlognull', async (t) => {
  const echo = await echoServer();
  const { log, lines } = sinkLog(TCPLOG_FORMAT);
  const p = await startProxy({ ports: [echo.port], frontend: { log } });
  p.be.timings = new RequestTimings();
  t.teardown(async () => {
    await p.stop();
    await echo.close();
  });
  const c = await connect(p.port);
  c.write('hello');
  t.is((await readBytes(c, 5)).toString(), 'hello');
  c.end();
  await new Promise((r) => c.once('close', r));
  t.true(await until(() => lines.length === 1));
  t.regex(lines[0]!, /^6 127\.0\.0\.1:\d+ \[[^\]]+\] fe be\/s1 0\/\d+\/\d+ 5 -- \d+\/\d+\/0\/0\/0 0\/0$/);
  t.true(p.be.timings.tAvg >= 0 && p.be.timings.cAvg >= 0);

  const dead = await deadPort();
  const { log: log2, lines: l2 } = sinkLog(TCPLOG_FORMAT);
  const q = await startProxy({ ports: [dead], frontend: { log: log2 }, backend: { retries: 0, timeouts: { connect: 200 } } });
  t.teardown(() => q.stop());
  const d = net.connect(q.port, '127.0.0.1');
  d.on('error', () => {});
  d.write('x');
  await new Promise((r) => d.once('close', r));
  t.true(await until(() => l2.length === 1));
  t.regex(l2[0]!, / fe be\/s1 0\/-1\/\d+ 0 SC /);
  // dontlognull: a session that sent nothing is not logged, one that did is.
  const { log: log3, lines: l3 } = sinkLog(TCPLOG_FORMAT, true);
  const r = await startProxy({ ports: [echo.port], frontend: { log: log3 } });
  t.teardown(() => r.stop());
  const e = await connect(r.port);
  e.end();
  await new Promise((res) => e.once('close', res));
  await until(() => r.fe.counters.sessCur === 0);
  await new Promise((res) => setTimeout(res, 100));
  t.is(l3.length, 0);
  const f = await connect(r.port);
  f.write('ab');
  await readBytes(f, 2);
  f.end();
  t.true(await until(() => l3.length === 1));
});
