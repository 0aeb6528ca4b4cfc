// The default check (`check` without a check option): a TCP connect, or a TLS handshake with
// `check-ssl`. HAProxy reports L4OK (L6OK over TLS) with no info, L4CON with the strerror text
// ("Connection refused"), L4TOUT with no info. The connection is reset as soon as it is up, as
// HAProxy does (conn.ts, Probe.close).
// `performance` from its module: the global is an accessor (a getter call per use).
import { performance } from 'node:perf_hooks';
import { Probe, connectFailureResult, type CheckEndpoint, type CheckTimeouts, type ConnectFailure, type ProbeHandler } from './conn.ts';
import { checkResult, type CheckResult } from './status.ts';

class TcpCheckRun implements ProbeHandler {
  readonly #start: number;
  readonly #tls: boolean;
  readonly #done: (r: CheckResult) => void;

  constructor(ep: CheckEndpoint, timeouts: CheckTimeouts, done: (r: CheckResult) => void) {
    this.#start = performance.now();
    this.#tls = ep.tls !== undefined;
    this.#done = done;
    Probe.open(ep, timeouts, this, this.#start);
  }

  static start(ep: CheckEndpoint, timeouts: CheckTimeouts, done: (r: CheckResult) => void): TcpCheckRun {
    return new TcpCheckRun(ep, timeouts, done);
  }

  onConnected(p: Probe): void {
    const r = checkResult(this.#tls ? 'L6OK' : 'L4OK', '', 0, p.elapsed());
    p.close();
    this.#done(r);
  }

  onFailed(f: ConnectFailure): void {
    this.#done(connectFailureResult(f, Math.floor(performance.now() - this.#start)));
  }

  onData(): boolean {
    return false;
  }

  onStop(): void {}
}

/** Starts a TCP (or TLS) connect check; `done` is called once with the verdict. */
export function startTcpCheck(ep: CheckEndpoint, timeouts: CheckTimeouts, done: (r: CheckResult) => void): void {
  TcpCheckRun.start(ep, timeouts, done);
}

export function runTcpCheck(ep: CheckEndpoint, timeouts: CheckTimeouts): Promise<CheckResult> {
  return new Promise((resolve) => startTcpCheck(ep, timeouts, resolve));
}
