// Log-format values of rules (`set-header X-Client %[src]`, `redirect location https://%[hdr(host)]`):
// compiled once with lb/log/format.ts and the runtime fetch table, rendered per request.
import { compileLogFormat } from '../log/format.ts';
import { createLogRecord, type LogRecord } from '../log/record.ts';
import { compileSampleExpr, normaliseIp, type Txn } from '../acl/sample.ts';
import type { Result } from '../config/values.ts';

/** A compiled value: render(t) gives the string for this transaction. */
export interface ValueFormat {
  readonly source: string;
  render(t: Txn): string;
}

// Rules render outside any log line: the few %-variables that make sense there (%ci, %cp, %fi,
// %fp, %HM, %HU, %HV) read a scratch record filled from the transaction just before rendering.
const scratch: LogRecord = createLogRecord();

function fill(t: Txn): LogRecord {
  scratch.clientIp = normaliseIp(t.src);
  scratch.clientPort = t.srcPort;
  scratch.frontendIp = normaliseIp(t.dst);
  scratch.frontendPort = t.dstPort;
  scratch.tls = t.tls;
  scratch.sni = t.sni ?? null;
  const r = t.req;
  if (r !== null) {
    scratch.method = r.method;
    scratch.uri = r.target;
    scratch.version = r.version === 10 ? 'HTTP/1.0' : 'HTTP/1.1';
  }
  return scratch;
}

/** Compiles a log-format value. A value without '%' is a constant. */
export function compileValue(source: string): Result<ValueFormat> {
  if (!source.includes('%')) return { ok: true, value: { source, render: () => source } };
  let bad: string | undefined;
  const f = compileLogFormat<Txn>(source, {
    resolveSample(expr) {
      const c = compileSampleExpr(expr);
      if (!c.ok) {
        bad ??= c.error;
        return { error: c.error };
      }
      const impl = c.value;
      return (_r, t) => {
        const v = impl.get(t);
        return v === undefined ? null : v;
      };
    },
  });
  if (!f.ok) return { ok: false, error: bad ?? f.error };
  const fmt = f.value;
  return { ok: true, value: { source, render: (t) => fmt.render(fill(t), t) } };
}
