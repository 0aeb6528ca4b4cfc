// `option tcp-check` with its `tcp-check connect|send|send-binary|expect` rules, run in order.
// Steps are numbered from 1 in the user's rule list; when the first rule is not a connect,
// HAProxy runs an implicit connect that has no number ("initial connection step").
// Texts are haproxy 2.6's, observed (test/checks/differential.test.ts):
//   expect mismatch  → L7RSP "TCPCHK did not match content '+PONG' at step 3"
//                      (rstring: "content (regex)", binary: "content (binary)")
//            with !  → L7RSP "TCPCHK matched unwanted content ..."
//   empty response   → L7RSP "TCPCHK got an empty response at step N"
//   timeout          → L7TOUT " at step 3 of tcp-check (expect string '+PONG')" (leading space)
//   connect refused  → L4CON "Connection refused at initial connection step of tcp-check"
//   passed           → L7OK code 0 "(tcp-check)" (L4OK "(tcp-check)" when the last rule is a connect)
import { CheckConn, connectFailureResult, isConn, socketErrorResult, type CheckEndpoint, type CheckTimeouts, type CheckTlsOptions } from './conn.ts';
import { checkResult, type CheckResult } from './status.ts';

export type TcpCheckRule =
  | {
      action: 'connect';
      /** `port N`: another port than the server's check port. */
      port?: number;
      /** `addr A`. */
      addr?: string;
      /** `ssl`: TLS on this connection (the server's check TLS settings, or these). */
      ssl?: boolean;
      tls?: CheckTlsOptions;
      comment?: string;
    }
  /** `send STR`: the string with the tokenizer's escapes already resolved (one char per byte). */
  | { action: 'send'; data: string; comment?: string }
  /** `send-binary HEX`. */
  | { action: 'send-binary'; hex: string; comment?: string }
  | {
      action: 'expect';
      kind: 'string' | 'rstring' | 'binary' | 'rbinary';
      pattern: string;
      negate?: boolean;
      comment?: string;
    };

/** HAProxy's dump_binary(): printable bytes as is, a few C escapes, the rest as \xHH. */
function dumpBinary(b: Buffer): string {
  let out = '';
  for (const c of b) {
    if (c > 0x20 && c < 0x7f && c !== 0x5c) out += String.fromCharCode(c);
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x1b) out += '\\e';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x20) out += '\\ ';
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function commentOf(r: TcpCheckRule): string {
  return r.comment === undefined ? '' : ` comment: '${r.comment}'`;
}

/** The "(expect ...)" part of a timeout text. */
function expectLabel(r: Extract<TcpCheckRule, { action: 'expect' }>): string {
  if (r.kind === 'string') return ` (expect string '${r.pattern}')`;
  if (r.kind === 'binary') return ` (expect binary '${dumpBinary(Buffer.from(r.pattern, 'hex'))}')`;
  return r.kind === 'rstring' ? ' (expect regex)' : ' (expect binary regex)';
}

function mismatchText(r: Extract<TcpCheckRule, { action: 'expect' }>, step: number): string {
  const what = r.negate === true ? 'matched unwanted content' : 'did not match content';
  let detail: string;
  switch (r.kind) {
    case 'string':
      detail = ` '${r.pattern}'`;
      break;
    case 'rstring':
      detail = ' (regex)';
      break;
    case 'binary':
      detail = ' (binary)';
      break;
    case 'rbinary':
      detail = ' (binary regex)';
      break;
  }
  return `TCPCHK ${what}${detail} at step ${step}${commentOf(r)}`;
}

const compiled = new WeakMap<object, RegExp | Buffer>();
function matcher(r: Extract<TcpCheckRule, { action: 'expect' }>): RegExp | Buffer {
  let m = compiled.get(r);
  if (m === undefined) {
    if (r.kind === 'string') m = Buffer.from(r.pattern, 'latin1');
    else if (r.kind === 'binary') m = Buffer.from(r.pattern, 'hex');
    else if (r.kind === 'rstring') m = new RegExp(r.pattern);
    // rbinary: HAProxy matches the regex against the hex dump of the input.
    else m = new RegExp(r.pattern, 'i');
    compiled.set(r, m);
  }
  return m;
}

function matches(r: Extract<TcpCheckRule, { action: 'expect' }>, input: Buffer): boolean {
  const m = matcher(r);
  if (Buffer.isBuffer(m)) return input.includes(m);
  return m.test(r.kind === 'rbinary' ? input.toString('hex').toUpperCase() : input.toString('latin1'));
}

/**
 * Runs the rules against the server at `ep` (its check address and port). Resolves with the
 * verdict of the first failing rule, or the success status of the last one.
 */
export async function runTcpCheckRules(ep: CheckEndpoint, timeouts: CheckTimeouts, rules: readonly TcpCheckRule[]): Promise<CheckResult> {
  const start = performance.now();
  const implicit = rules[0]?.action !== 'connect';
  let conn: CheckConn | undefined;
  let lastAction: TcpCheckRule['action'] | 'implicit-connect' = 'implicit-connect';
  let tlsUsed = false;
  try {
    if (implicit) {
      const c = await CheckConn.open(ep, timeouts, start);
      if (!isConn(c)) return connectFailureResult(c, Math.floor(performance.now() - start), ' at initial connection step of tcp-check');
      conn = c;
      tlsUsed = ep.tls !== undefined;
    }
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r === undefined) break;
      const step = i + 1;
      lastAction = r.action;
      if (r.action === 'connect') {
        conn?.close();
        const tls = r.ssl === true ? (r.tls ?? ep.tls ?? {}) : undefined;
        const target: CheckEndpoint = { host: r.addr ?? ep.host, port: r.port ?? ep.port, tls };
        const c = await CheckConn.open(target, timeouts, start);
        if (!isConn(c)) {
          const where = r.port === undefined ? ' (connect)' : ` (connect port ${r.port})`;
          return connectFailureResult(c, Math.floor(performance.now() - start), ` at step ${step} of tcp-check${where}${commentOf(r)}`);
        }
        conn = c;
        tlsUsed = tls !== undefined;
        continue;
      }
      if (conn === undefined) break;
      const c = conn;
      if (r.action === 'send' || r.action === 'send-binary') {
        c.resetInput();
        c.write(r.action === 'send' ? Buffer.from(r.data, 'latin1') : Buffer.from(r.hex, 'hex'));
        continue;
      }
      // expect: wait until the pattern shows up or no more data can come. An inverted rule can
      // only pass once the input is final.
      const negate = r.negate === true;
      const outcome = await c.waitFor((input, last) => (negate ? last : matches(r, input) || last));
      if (outcome === 'timeout') return checkResult('L7TOUT', ` at step ${step} of tcp-check${expectLabel(r)}${commentOf(r)}`, 0, c.elapsed());
      if (outcome === 'error' && c.input().length === 0) return socketErrorResult(c, ` at step ${step} of tcp-check${expectLabel(r)}${commentOf(r)}`);
      const input = c.input();
      if (input.length === 0) return checkResult('L7RSP', `TCPCHK got an empty response at step ${step}${commentOf(r)}`, 0, c.elapsed());
      if (matches(r, input) === negate) return checkResult('L7RSP', mismatchText(r, step), 0, c.elapsed());
    }
    const duration = conn?.elapsed() ?? Math.floor(performance.now() - start);
    if (lastAction === 'implicit-connect') return checkResult(tlsUsed ? 'L6OK' : 'L4OK', '', 0, duration);
    if (lastAction === 'connect') return checkResult(tlsUsed ? 'L6OK' : 'L4OK', '(tcp-check)', 0, duration);
    return checkResult('L7OK', '(tcp-check)', 0, duration);
  } finally {
    conn?.close();
  }
}
