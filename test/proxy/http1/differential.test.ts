// Differential test against Debian's haproxy 2.6, the living specification: every vector of
// vectors.ts goes to a real haproxy on loopback; haproxy's answer (forwarded to the backend, or a
// status) must equal what our parser decides, except the documented, deliberate divergences,
// whose haproxy behaviour is asserted too (so a change on either side shows up here).
import test from 'ava';
import { h1ErrorInfo, H1E } from '../../../lb/proxy/http1/errors.ts';
import { decideRequest, decideResponse } from './decide.ts';
import { haproxyVersion, HAPROXY_BIN, sendRaw, startHaproxy } from './haproxy-harness.ts';
import { REQUEST_VECTORS, RESPONSE_VECTORS, type Vector } from './vectors.ts';

const version = haproxyVersion();

function statusOf(code: string): number {
  for (const id of Object.values(H1E)) {
    const info = h1ErrorInfo(id);
    if (info.code === code) return info.status;
  }
  throw new Error(`unknown code ${code}`);
}

/** What haproxy may do with a vector: 'forwards' or the status it answers itself. */
function expectedHaproxy(v: Vector, ours: string, isResponse: boolean): string[] {
  if (v.haproxy !== undefined) {
    const d = v.haproxy.does;
    return Array.isArray(d) ? d.map(String) : [String(d)];
  }
  if (ours === 'ok') return ['forwards'];
  return [String(isResponse ? 502 : statusOf(ours))];
}

if (version === null) {
  console.error(`\n*** differential.test.ts: ${HAPROXY_BIN} is missing or does not run: differential tests SKIPPED ***\n`);
  test.skip(`differential vs haproxy 2.6 — SKIPPED: ${HAPROXY_BIN} not found (apt-get install haproxy)`, () => undefined);
} else {
  test.serial('differential: request vectors, our verdict = haproxy 2.6 verdict', async (t) => {
    if (!version.startsWith('2.6')) t.log(`warning: haproxy ${version} is not the 2.6 these vectors were measured on`);
    const h = await startHaproxy();
    t.teardown(() => h.stop());
    const mismatches: string[] = [];
    for (const v of REQUEST_VECTORS) {
      const ours = decideRequest([Buffer.from(v.raw, 'latin1')]);
      const before = h.received.length;
      const res = await sendRaw(h.port, Buffer.from(v.raw, 'latin1'));
      // 200 comes from our backend only: haproxy itself never answers 200 here.
      const theirs = res.status === 200 ? 'forwards' : String(res.status);
      const want = expectedHaproxy(v, ours, false);
      if (!want.includes(theirs)) mismatches.push(`${v.name}: haproxy ${theirs}, expected ${want.join(' or ')} (ours ${ours})`);
      // A head error must reach no server. Body errors come after the head was streamed on, by
      // haproxy as by any proxy that does not buffer bodies.
      const bodyError = /^ERR_H1_(CHUNK|TRAILER)/.test(ours);
      if (theirs !== 'forwards' && !bodyError && h.received.length !== before) {
        mismatches.push(`${v.name}: haproxy refused yet the backend received bytes`);
      }
    }
    t.deepEqual(mismatches, []);
    t.log(`${REQUEST_VECTORS.length} request vectors compared with haproxy ${version}`);
  });

  test.serial('differential: response vectors, our verdict = haproxy 2.6 verdict (502 or forwarded)', async (t) => {
    const h = await startHaproxy();
    t.teardown(() => h.stop());
    const mismatches: string[] = [];
    for (const v of RESPONSE_VECTORS) {
      const ours = decideResponse([Buffer.from(v.raw, 'latin1')]);
      h.response = Buffer.from(v.raw, 'latin1');
      const res = await sendRaw(h.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      const theirs = res.status === 502 || res.status === null ? '502' : 'forwards';
      const want = expectedHaproxy(v, ours, true);
      if (!want.includes(theirs)) mismatches.push(`${v.name}: haproxy ${theirs} (${res.status}), expected ${want.join(' or ')} (ours ${ours})`);
    }
    t.deepEqual(mismatches, []);
    t.log(`${RESPONSE_VECTORS.length} response vectors compared with haproxy ${version}`);
  });
}
