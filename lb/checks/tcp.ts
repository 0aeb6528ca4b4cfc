// The default check (`check` without a check option): a TCP connect, or a TLS handshake with
// `check-ssl`. HAProxy reports L4OK (L6OK over TLS) with no info, L4CON with the strerror text
// ("Connection refused"), L4TOUT with no info.
import { CheckConn, connectFailureResult, isConn, type CheckEndpoint, type CheckTimeouts } from './conn.ts';
import { checkResult, type CheckResult } from './status.ts';

export async function runTcpCheck(ep: CheckEndpoint, timeouts: CheckTimeouts): Promise<CheckResult> {
  const start = performance.now();
  const c = await CheckConn.open(ep, timeouts, start);
  if (!isConn(c)) return connectFailureResult(c, Math.floor(performance.now() - start));
  const r = checkResult(ep.tls === undefined ? 'L4OK' : 'L6OK', '', 0, c.elapsed());
  c.close();
  return r;
}
