// Errors of the keyword forms added after the seed (use-service, two-argument replace-path/uri,
// tcp-check rules, spread-checks, agent-*): the exact diagnostic lb prints, and what Debian's
// haproxy 2.6 answers on the same text (it rejects each, except where lb refuses on purpose an
// option its check runner does not implement: those are logged as deliberate deviations).
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../lb/config/diagnostics.ts';
import { parseConfig } from '../../lb/config/parser.ts';
import { defaultCondContext } from '../../lb/config/conditions.ts';
import { haproxyAsync, haproxyPath } from './harness.ts';

const HEAD = `defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:8080
    default_backend b
backend b
`;

interface Case {
  name: string;
  /** Lines appended after HEAD (backend b), or a whole config when `whole`. */
  text: string;
  whole?: true;
  expect: string;
  haproxy: 'rejects' | 'accepts';
}

const CASES: Case[] = [
  {
    name: 'use-service with an unknown service',
    text: 'http-request use-service lua.hello\nserver s1 127.0.0.1:8001\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'http-request use-service' : 'lua.hello' unknown service name (Lua services are not supported by lb); lb provides 'prometheus-exporter'.",
    haproxy: 'rejects',
  },
  {
    name: 'use-service without a name',
    text: 'http-request use-service\nserver s1 127.0.0.1:8001\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'http-request use-service' expects a service name.",
    haproxy: 'rejects',
  },
  {
    name: 'replace-path with three arguments (the replace-header form)',
    text: 'http-request replace-path x /a/(.*) /\\1\nserver s1 127.0.0.1:8001\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'http-request replace-path' expects exactly 2 arguments <match-regex> and <replace-format>.",
    haproxy: 'rejects',
  },
  {
    name: 'replace-uri with one argument',
    text: 'http-request replace-uri ^/x\nserver s1 127.0.0.1:8001\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'http-request replace-uri' expects exactly 2 arguments <match-regex> and <replace-format>.",
    haproxy: 'rejects',
  },
  {
    name: 'unknown tcp-check rule',
    text: 'option tcp-check\ntcp-check foo\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got 'foo'",
    haproxy: 'rejects',
  },
  {
    name: 'tcp-check send-binary with a non-hex string',
    text: 'option tcp-check\ntcp-check send-binary zz\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check send-binary' : 'zz' invalid binary string (an hex digit is expected (found 'z')).",
    haproxy: 'rejects',
  },
  {
    name: 'tcp-check expect without a pattern',
    text: 'option tcp-check\ntcp-check expect string\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check expect' : 'string' expects a <pattern> as argument.",
    haproxy: 'rejects',
  },
  {
    name: 'tcp-check send without data',
    text: 'option tcp-check\ntcp-check send\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check send' : 'string' expects a send as argument.",
    haproxy: 'rejects',
  },
  {
    name: 'tcp-check expect min-recv (not implemented by lb)',
    text: 'option tcp-check\ntcp-check expect min-recv 4 string +PONG\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check expect min-recv' is an HAProxy keyword that is not supported by lb.",
    haproxy: 'accepts',
  },
  {
    name: 'tcp-check connect send-proxy (not implemented by lb)',
    text: 'option tcp-check\ntcp-check connect send-proxy\nserver s1 127.0.0.1:8001 check\n',
    expect: "[ALERT] config : parsing [t.cfg:11] : 'tcp-check connect send-proxy' is an HAProxy keyword that is not supported by lb.",
    haproxy: 'accepts',
  },
  {
    name: 'agent-check without agent-port',
    text: 'server s1 127.0.0.1:8001 check agent-check\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'server b/s1' : server s1 does not have agent port. Agent check has been disabled.",
    haproxy: 'rejects',
  },
  {
    name: 'agent-inter 0',
    text: 'server s1 127.0.0.1:8001 agent-check agent-port 9999 agent-inter 0\n',
    expect: "[ALERT] config : parsing [t.cfg:10] : 'server b/s1' : 'agent-inter' : expects a positive delay in milliseconds.",
    haproxy: 'rejects',
  },
  {
    name: 'spread-checks out of range',
    whole: true,
    text: `global\n    spread-checks 60\n${HEAD}server s1 127.0.0.1:8001\n`,
    expect: "[ALERT] config : parsing [t.cfg:2] : 'spread-checks' needs a positive value in range 0..50.",
    haproxy: 'rejects',
  },
];

const dir = mkdtempSync(join(tmpdir(), 'lb-new-forms-'));

for (const [i, c] of CASES.entries()) {
  const text = c.whole === true ? c.text : HEAD + c.text;

  test(`lb: ${c.name}`, (t) => {
    const env = {};
    const { diagnostics } = parseConfig([{ file: 't.cfg', text }], { env, cond: { ...defaultCondContext(), env } });
    const lines = diagnostics.list.map(formatDiagnostic);
    t.true(lines.includes(c.expect), `expected:\n${c.expect}\ngot:\n${lines.join('\n')}`);
    t.true(diagnostics.hasAlerts);
  });

  test(`haproxy 2.6 ${c.haproxy}: ${c.name}`, async (t) => {
    if (haproxyPath === undefined) {
      t.log('SKIPPED: haproxy is not installed, differential check not run');
      t.pass();
      return;
    }
    const file = join(dir, `case-${i}.cfg`);
    writeFileSync(file, text);
    const r = await haproxyAsync(['-c', '-f', file]);
    if (c.haproxy === 'rejects') t.not(r.status, 0, r.stderr);
    else {
      t.is(r.status, 0, r.stderr);
      t.log(`deliberate deviation: haproxy 2.6 accepts '${c.name}', lb refuses it (its check runner does not implement it)`);
    }
  });
}
