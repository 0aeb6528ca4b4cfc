// Differential test: Debian's haproxy 2.6 logs real requests over UDP syslog on loopback; we render
// the same requests with our formats and compare. Timers, dates and pids are taken from haproxy's
// line (they are not reproducible); every other field is set from what the test itself knows (curl's
// local port, status and byte counts, the names in the config), so a wrong field fails the test.
process.env.TZ = 'UTC';

import test from 'ava';
import { spawn, spawnSync, execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { compileLogFormat, HTTPLOG_CLF_FORMAT, HTTPLOG_FORMAT, TCPLOG_FORMAT } from '../../lb/log/format.ts';
import { createLogRecord, type LogRecord } from '../../lb/log/record.ts';
import { HeaderBuilder } from '../../lb/log/targets.ts';

const CUSTOM =
  '%ci %cp %t %tr %ft %b %s %TR %Tw %Tc %Tr %Ta %ST %B %tsc %ac %fc %bc %sc %rc %sq %bq %hr %hs %{+Q}r %HM %HU %HP %HV %{+Q}o %fi %{-Q}fp %HQ %%';

const MON: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
/** '24/Nov/2026:22:16:30.951' or '24/Nov/2026:22:16:30 +0000' (UTC) → ms. */
function parseLogDate(s: string): number {
  const m = /^(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?/.exec(s);
  if (!m) throw new Error(`bad date ${s}`);
  return Date.UTC(Number(m[3]), MON[m[2] ?? ''] ?? 0, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7] ?? 0));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const a = s.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise((r) => s.close(r));
  return port;
}

function curl(args: string[]): Promise<{ port: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '--max-time', '5', '-w', '%{local_port} %{http_code} %{size_header} %{size_download}', ...args], (err, out) => {
      if (err) return reject(err);
      const [p, st, h, b] = out.trim().split(' ').map(Number);
      resolve({ port: p ?? 0, status: st ?? 0, bytes: (h ?? 0) + (b ?? 0) });
    });
  });
}

const haproxyMissing = spawnSync('sh', ['-c', 'command -v haproxy && command -v curl']).status !== 0;

test('haproxy 2.6 and lb render the same httplog, clf, tcplog and custom lines; syslog framing matches', async (t) => {
  if (haproxyMissing) {
    t.log('SKIPPED LOUDLY: haproxy or curl is not installed; the differential log test did not run');
    t.pass();
    return;
  }
  const udp = dgram.createSocket('udp4');
  const lines: string[] = [];
  udp.on('message', (m) => lines.push(m.toString('latin1')));
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');

  const backend = net.createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        c.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nSet-Cookie: SID=abc\r\nConnection: close\r\n\r\nhello');
      }
    });
    c.on('error', () => {});
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  const bea = backend.address();
  const bePort = typeof bea === 'object' && bea !== null ? bea.port : 0;
  const [pHttp, pClf, pTcp, pCustom] = [await freePort(), await freePort(), await freePort(), await freePort()];

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lblog-diff-'));
  const cfg = path.join(dir, 'h.cfg');
  fs.writeFileSync(
    cfg,
    `global
  log 127.0.0.1:${udp.address().port} local0
  log 127.0.0.1:${udp.address().port} format rfc5424 local1
defaults
  mode http
  log global
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend fe_http
  bind 127.0.0.1:${pHttp}
  option httplog
  default_backend be
frontend fe_clf
  bind 127.0.0.1:${pClf}
  option httplog clf
  capture cookie SID len 32
  capture request header User-Agent len 40
  capture response header Content-Type len 20
  default_backend be
frontend fe_tcp
  mode tcp
  bind 127.0.0.1:${pTcp}
  option tcplog
  default_backend be_tcp
frontend fe_custom
  bind 127.0.0.1:${pCustom}
  log-format "${CUSTOM}"
  default_backend be
backend be
  server s1 127.0.0.1:${bePort}
backend be_tcp
  mode tcp
  server s1 127.0.0.1:${bePort}
`,
  );
  const ha = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TZ: 'UTC' } });
  let haErr = '';
  ha.stderr.on('data', (d: Buffer) => (haErr += d.toString()));
  try {
    // Wait for the listeners.
    const ready = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(pCustom, '127.0.0.1', () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > ready) throw new Error(`haproxy did not start: ${haErr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Until n log lines have arrived (two per session: local and rfc5424 targets), at most 10 s.
    const linesAtLeast = async (n: number): Promise<void> => {
      const end = Date.now() + 10_000;
      while (lines.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    // The probe connection above carried no data: it logs a <BADREQ>/CR line on fe_custom. Wait
    // for it (a fixed pause was too short under load: haproxy then still counted the probe in %ac
    // and %fc of the real request), so that it is neither counted nor mistaken for the request.
    await linesAtLeast(2);
    t.true(lines.every((l) => l.includes('<BADREQ>')), lines.join(''));
    lines.length = 0;

    // One session at a time: each one's log lines (written when haproxy closes it) arrive before
    // the next starts, so %ac and %fc count only the session being logged.
    const ua = 'ua "x" {y}';
    const rHttp = await curl([`http://127.0.0.1:${pHttp}/a/b?x=1`]);
    await linesAtLeast(2);
    const rClf = await curl(['-A', ua, '-H', 'Cookie: SID=zz', `http://127.0.0.1:${pClf}/c`]);
    await linesAtLeast(4);
    const rTcp = await curl([`http://127.0.0.1:${pTcp}/t`]);
    await linesAtLeast(6);
    const rCustom = await curl([`http://127.0.0.1:${pCustom}/p/q?r=s%20t`]);
    await linesAtLeast(8);
    await new Promise((r) => setTimeout(r, 100)); // nothing more may come
    t.is(lines.length, 8, lines.join(''));

    const local = lines.filter((l) => l.startsWith('<134>'));
    const rfc5424 = lines.filter((l) => l.startsWith('<142>1 '));
    t.is(local.length, 4);
    t.is(rfc5424.length, 4);

    // ---- framing: same header shape; exact for the deterministic parts.
    const hb = new HeaderBuilder({ tag: 'haproxy', pid: ha.pid ?? 0, hostname: null });
    const localRe = /^<134>(\w{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) haproxy\[(\d+)\]: (.*)\n$/s;
    const isoRe = /^<142>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00) - haproxy (\d+) - - (.*)\n$/s;
    const msgs: string[] = [];
    for (const l of local) {
      const m = localRe.exec(l);
      if (!m) {
        t.fail(`unexpected framing: ${JSON.stringify(l)}`);
        continue;
      }
      t.is(Number(m[6]), ha.pid ?? -1);
      const sec = Date.UTC(new Date().getUTCFullYear(), MON[m[1] ?? ''] ?? 0, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
      t.is(hb.build(null, 16, 6, sec) + (m[7] ?? ''), l.slice(0, -1));
      msgs.push(m[7] ?? '');
    }
    for (const l of rfc5424) {
      const m = isoRe.exec(l);
      t.truthy(m, JSON.stringify(l));
      t.is(Number(m?.[2]), ha.pid ?? -1);
      t.regex(hb.build('rfc5424', 17, 6, Date.now()), /^<142>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 - haproxy \d+ - - $/);
      t.true(msgs.includes(m?.[3] ?? ''), 'rfc5424 carries the same message');
    }

    const find = (fe: string): string => msgs.find((m) => m.includes(` ${fe} `) || m.includes(`"${fe}"`)) ?? '';

    // ---- option httplog
    {
      const line = find('fe_http');
      const m = /^\S+ \[(\S+)\] \S+ \S+ (-?\d+)\/(-?\d+)\/(-?\d+)\/(-?\d+)\/(\d+) \d+ (\d+) /.exec(line);
      t.truthy(m, line);
      const rec = base({ frontend: 'fe_http', clientPort: rHttp.port, status: rHttp.status, bytesRead: httpBytes(m?.[7], rHttp.bytes), uri: '/a/b?x=1' });
      rec.requestDate = rec.acceptDate = parseLogDate(m?.[1] ?? '');
      rec.TR = Number(m?.[2]);
      rec.Tw = Number(m?.[3]);
      rec.Tc = Number(m?.[4]);
      rec.Tr = Number(m?.[5]);
      rec.Ta = Number(m?.[6]);
      t.is(render(HTTPLOG_FORMAT, rec), line);
    }
    // ---- option httplog clf, with cookie and header captures
    {
      const line = find('fe_clf');
      const m = /\[(\S+ \+0000)\] "[^"]*" \d+ (\d+) .* (\d{3}) "fe_clf" "be" "s1" (-?\d+) (-?\d+) (-?\d+) (-?\d+) (\d+) /.exec(line);
      t.truthy(m, line);
      const rec = base({
        frontend: 'fe_clf',
        clientPort: rClf.port,
        status: rClf.status,
        bytesRead: httpBytes(m?.[2], rClf.bytes),
        uri: '/c',
        requestCookie: 'SID=zz',
        responseCookie: 'SID=abc',
        requestHeaders: [ua],
        responseHeaders: ['text/plain'],
      });
      rec.requestDate = rec.acceptDate = parseLogDate(m?.[1] ?? '') + Number(m?.[3]);
      rec.TR = Number(m?.[4]);
      rec.Tw = Number(m?.[5]);
      rec.Tc = Number(m?.[6]);
      rec.Tr = Number(m?.[7]);
      rec.Ta = Number(m?.[8]);
      t.is(render(HTTPLOG_CLF_FORMAT, rec), line);
    }
    // ---- option tcplog
    {
      const line = find('fe_tcp');
      const m = /^\S+ \[(\S+)\] \S+ \S+ (-?\d+)\/(-?\d+)\/(\d+) /.exec(line);
      t.truthy(m, line);
      const rec = base({ frontend: 'fe_tcp', backend: 'be_tcp', clientPort: rTcp.port, bytesRead: rTcp.bytes, termState: '--' });
      rec.acceptDate = parseLogDate(m?.[1] ?? '');
      rec.Tw = Number(m?.[2]);
      rec.Tc = Number(m?.[3]);
      rec.Tt = Number(m?.[4]);
      t.is(render(TCPLOG_FORMAT, rec), line);
    }
    // ---- custom log-format with the common variables
    {
      const line = find('fe_custom');
      const m = /^\S+ \d+ (\S+) (\S+) \S+ \S+ \S+ (-?\d+) (-?\d+) (-?\d+) (-?\d+) (\d+) \d+ (\d+) /.exec(line);
      t.truthy(m, line);
      const rec = base({ frontend: 'fe_custom', clientPort: rCustom.port, status: rCustom.status, bytesRead: httpBytes(m?.[8], rCustom.bytes), uri: '/p/q?r=s%20t', frontendPort: pCustom });
      rec.acceptDate = parseLogDate(m?.[1] ?? '');
      rec.requestDate = parseLogDate(m?.[2] ?? '');
      rec.TR = Number(m?.[3]);
      rec.Tw = Number(m?.[4]);
      rec.Tc = Number(m?.[5]);
      rec.Tr = Number(m?.[6]);
      rec.Ta = Number(m?.[7]);
      t.is(render(CUSTOM, rec), line);
    }
  } finally {
    ha.kill('SIGTERM');
    await once(ha, 'exit');
    backend.close();
    udp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * %B in HTTP mode is haproxy's internal (HTX) byte accounting, a few bytes more than what reaches
 * the client (93 logged vs 90 on the wire here), so it cannot be derived from curl. Take haproxy's
 * value, but only when it is within a few bytes of what curl received.
 */
function httpBytes(logged: string | undefined, onWire: number): number {
  const n = Number(logged);
  return Math.abs(n - onWire) <= 8 ? n : -1;
}

/** The fields this test knows without looking at haproxy's line. */
function base(over: Partial<LogRecord>): LogRecord {
  const uri = over.uri ?? '/';
  return Object.assign(createLogRecord(), {
    clientIp: '127.0.0.1',
    frontendIp: '127.0.0.1',
    backend: 'be',
    server: 's1',
    Th: 0,
    Ti: 0,
    termState: '----',
    actconn: 1,
    feconn: 1,
    beconn: 0,
    srvConn: 0,
    retries: 0,
    requestLine: `GET ${uri} HTTP/1.1`,
    method: 'GET',
    version: 'HTTP/1.1',
    ...over,
  });
}

function render(format: string, rec: LogRecord): string {
  const c = compileLogFormat(format);
  if (!c.ok) throw new Error(c.error);
  return c.value.render(rec, undefined);
}
