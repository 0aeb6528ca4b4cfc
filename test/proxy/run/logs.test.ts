// End to end, traffic logs: a real `lb -d -f cfg` child sending syslog datagrams to a UDP socket of
// this test. Formats as HAProxy 2.6 logs them (option httplog / tcplog, and the "Connect from" line
// of a frontend with log targets but no format option, captured from haproxy 2.6 -d), dontlognull.
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import { echoServer, httpResponder } from '../../helpers/backends.ts';
import { exchange, freePorts, sleep, startLb, writeConfig } from './harness.ts';

/** A UDP syslog sink on 127.0.0.1:0 collecting every datagram (trailing newline removed). */
async function syslogSink(): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  const lines: string[] = [];
  sock.on('message', (m) => lines.push(m.toString('utf8').replace(/\n$/, '')));
  await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', ok));
  return { port: sock.address().port, lines, close: () => new Promise<void>((ok) => sock.close(() => ok())) };
}

/** Waits until `pred` holds on the lines, at most `ms`. */
async function waitFor(lines: readonly string[], pred: (l: readonly string[]) => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(lines) && Date.now() < end) await sleep(25);
}

/** Connects, optionally sends `data`, reads until the peer has echoed it, closes. Resolves when closed. */
function tcpSession(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => s.destroy(), 3000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      out += d;
      if (out.length >= data.length) s.end();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('connect', () => (data === '' ? s.end() : s.write(data)));
  });
}

const TS = String.raw`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`;
/** `local` syslog framing: <PRI>Mmm dd HH:MM:SS haproxy[pid]: */
const HEAD = (pri: number): string => String.raw`^<${pri}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d haproxy\[\d+\]: `;

test('httplog, tcplog, dontlognull and the default "Connect from" line reach a UDP syslog; nothing echoed on stderr', async (t) => {
  const sink = await syslogSink();
  const web = await httpResponder('A');
  const echo = await echoServer();
  const [ph, pt, pn, pc] = await freePorts(4);
  const cfg = writeConfig(`global
  log 127.0.0.1:${sink.port} local0
defaults
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend fh
  mode http
  log global
  option httplog
  bind 127.0.0.1:${ph}
  default_backend bh
frontend ft
  mode tcp
  log 127.0.0.1:${sink.port} local1
  option tcplog
  bind 127.0.0.1:${pt}
  default_backend bt
frontend fn
  mode tcp
  log global
  option tcplog
  option dontlognull
  bind 127.0.0.1:${pn}
  default_backend bt
frontend fc
  mode tcp
  log global
  bind 127.0.0.1:${pc}
  default_backend bt
backend bh
  mode http
  server s1 127.0.0.1:${web.port}
backend bt
  mode tcp
  server e1 127.0.0.1:${echo.port}
`);
  const lb = await startLb(cfg, ph);
  try {
    // mode http, option httplog (local0 info = PRI 134): exact status, bytes, names, request line.
    const resp = await exchange(ph!, 'GET /x?y=1 HTTP/1.0\r\nHost: a\r\n\r\n');
    t.regex(resp, /^HTTP\/1\.[01] 200 /);
    await waitFor(sink.lines, (l) => l.some((x) => x.includes('] fh ')));
    const hl = sink.lines.filter((x) => x.includes('] fh '));
    t.is(hl.length, 1, sink.lines.join('\n'));
    const http = new RegExp(
      HEAD(134) + String.raw`127\.0\.0\.1:(\d+) ${TS} fh bh/s1 (\d+)/(\d+)/(\d+)/(\d+)/(\d+) 200 ${resp.length} - - ---- \d+/\d+/\d+/\d+/0 0/0 "GET /x\?y=1 HTTP/1\.0"$`,
    );
    t.regex(hl[0] ?? '', http);

    // mode tcp, option tcplog, the frontend's own target (local1 info = PRI 142).
    t.is(await tcpSession(pt!, 'hello'), 'hello');
    await waitFor(sink.lines, (l) => l.some((x) => x.includes('] ft ')));
    const tl = sink.lines.filter((x) => x.includes('] ft '));
    t.is(tl.length, 1, sink.lines.join('\n'));
    t.regex(tl[0] ?? '', new RegExp(HEAD(142) + String.raw`127\.0\.0\.1:\d+ ${TS} ft bt/e1 \d+/\d+/\d+ 5 -- \d+/\d+/\d+/\d+/0 0/0$`));

    // option dontlognull: the empty connection is not logged, the next one (3 bytes) is.
    await tcpSession(pn!, '');
    t.is(await tcpSession(pn!, 'abc'), 'abc');
    await waitFor(sink.lines, (l) => l.some((x) => x.includes('] fn ')));
    await sleep(200);
    const nl = sink.lines.filter((x) => x.includes('] fn '));
    t.is(nl.length, 1, sink.lines.join('\n'));
    t.regex(nl[0] ?? '', / fn bt\/e1 \d+\/\d+\/\d+ 3 -- /);

    // log targets but no format option: haproxy 2.6 logs "Connect from" at accept, even for an
    // empty connection.
    await tcpSession(pc!, '');
    await waitFor(sink.lines, (l) => l.some((x) => x.includes('(fc/TCP)')));
    const cl = sink.lines.filter((x) => x.includes('(fc/TCP)'));
    t.is(cl.length, 1, sink.lines.join('\n'));
    t.regex(cl[0] ?? '', new RegExp(HEAD(134) + String.raw`Connect from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:${pc} \(fc/TCP\)$`));

    // -d: traffic logs go to the targets only, as haproxy -d.
    t.false(lb.stderr().includes('GET /x'), lb.stderr());
    t.false(lb.stderr().includes('Connect from'), lb.stderr());
  } finally {
    t.is(await lb.stop(), 0, lb.stderr());
    await Promise.all([sink.close(), web.close(), echo.close()]);
  }
});

test('an invalid log-format is a configuration error naming the proxy line', async (t) => {
  const [p] = await freePorts(1);
  const cfg = writeConfig(`global
  log 127.0.0.1:514 local0
frontend f
  mode http
  log global
  log-format "%ci %zz"
  bind 127.0.0.1:${p}
  timeout client 1s
`);
  const lb = await startLb(cfg, undefined);
  t.is(await lb.exited, 1);
  t.regex(lb.stderr(), /lb\.cfg:3: frontend 'f': log-format: failed to parse log-format : no such format variable 'zz'/);
});
