// Runs raw bytes through our parsers the way the proxy will: head, then body framing.
import { ChunkedDecoder } from '../../../lb/proxy/http1/chunked.ts';
import { h1ErrorInfo } from '../../../lb/proxy/http1/errors.ts';
import { Body } from '../../../lb/proxy/http1/head.ts';
import { RequestHead } from '../../../lb/proxy/http1/request.ts';
import { ResponseHead } from '../../../lb/proxy/http1/response.ts';

function code(negated: number): string {
  return h1ErrorInfo(negated).code;
}

/** Splits `bytes` at the given cut points (sorted, inside the buffer). */
export function chunksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** 'ok' or the ERR_H1_ code, for a request (head + chunked body if any) fed in `chunks`. */
export function decideRequest(chunks: Buffer[], head = new RequestHead()): string {
  let consumed = -1;
  let k = 0;
  let rest: Buffer = Buffer.alloc(0);
  for (; k < chunks.length; k++) {
    const c = chunks[k] ?? Buffer.alloc(0);
    const r = head.feed(c);
    if (r < 0) return code(r);
    if (r > 0) {
      consumed = r;
      rest = c.subarray(r);
      k++;
      break;
    }
  }
  if (consumed < 0) return 'incomplete';
  if (head.bodyKind !== Body.CHUNKED) return 'ok';
  const dec = new ChunkedDecoder();
  const parts = [rest, ...chunks.slice(k)];
  for (const p of parts) {
    const r = dec.feed(p);
    if (r < 0) return code(r);
    if (dec.done) return 'ok';
  }
  // haproxy forwards the head of a chunked request before the body is complete: an unfinished
  // body is not an error (the vectors that end early stop at an error before that).
  return 'ok';
}

/** 'ok' or the ERR_H1_ code, for a response to a plain GET. */
export function decideResponse(chunks: Buffer[], head = new ResponseHead()): string {
  head.expect(false, false);
  for (const c of chunks) {
    const r = head.feed(c);
    if (r < 0) return code(r);
    if (r > 0) return 'ok';
  }
  return 'incomplete';
}
