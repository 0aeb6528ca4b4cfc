// Writes a head back as ONE Buffer, so the proxy issues one write per head. Untouched canonical
// heads are not rebuilt at all: the original bytes are forwarded (a view, no copy). Otherwise the
// start line is rebuilt and each live field written as name ": " value CRLF, with original bytes
// copied from the parsed buffer and rule edits written as latin1 (one byte per char).
import type { H1Head } from './head.ts';
import type { RequestHead } from './request.ts';
import type { ResponseHead } from './response.ts';

const CRLF_LEN = 2;

/** The bytes to send for a request head (after rules ran on it). */
export function serializeRequest(h: RequestHead): Buffer {
  if (!h.modified && !h.mustRewrite) return h.buf.subarray(h.start, h.end);
  const nm = h.newMethod;
  const nt = h.newTarget;
  const mLen = nm === null ? h.methodEnd - h.methodStart : nm.length;
  const tLen = nt === null ? h.targetEnd - h.targetStart : nt.length;
  const lineLen = mLen + 1 + tLen + 1 + 8 + CRLF_LEN;
  const out = Buffer.allocUnsafe(lineLen + fieldsLength(h));
  let p = nm === null ? copy(h.buf, h.methodStart, h.methodEnd, out, 0) : out.write(nm, 0, 'latin1');
  out[p++] = 0x20;
  p = nt === null ? copy(h.buf, h.targetStart, h.targetEnd, out, p) : p + out.write(nt, p, 'latin1');
  p += out.write(h.version === 11 ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n', p, 'latin1');
  writeFields(h, out, p);
  return out;
}

/** The bytes to send for a response head (after rules ran on it). */
export function serializeResponse(h: ResponseHead): Buffer {
  if (!h.modified && !h.mustRewrite) return h.buf.subarray(h.start, h.end);
  return serializeResponseWith(h, h.buf, 0, 0);
}

/**
 * The rewritten response head followed by body[from..to) in one new buffer: a small body that
 * arrived with the head then leaves in the same write (one system call, one packet).
 */
export function serializeResponseWith(h: ResponseHead, body: Buffer, from: number, to: number): Buffer {
  const nr = h.newReason;
  const rLen = nr === null ? h.reasonEnd - h.reasonStart : nr.length;
  const lineLen = 8 + 1 + 3 + 1 + rLen + CRLF_LEN;
  const headLen = lineLen + fieldsLength(h);
  const out = Buffer.allocUnsafe(headLen + (to - from));
  if (to > from) body.copy(out, headLen, from, to);
  let p = out.write(h.version === 11 ? 'HTTP/1.1 ' : 'HTTP/1.0 ', 0, 'latin1');
  const st = h.outStatus;
  out[p++] = 0x30 + Math.floor(st / 100);
  out[p++] = 0x30 + (Math.floor(st / 10) % 10);
  out[p++] = 0x30 + (st % 10);
  out[p++] = 0x20;
  p = nr === null ? copy(h.buf, h.reasonStart, h.reasonEnd, out, p) : p + out.write(nr, p, 'latin1');
  out[p++] = 0x0d;
  out[p++] = 0x0a;
  writeFields(h, out, p);
  return out;
}

function fieldsLength(h: H1Head): number {
  const f = h.fields;
  let n = CRLF_LEN;
  for (let i = 0; i < h.headerCount; i++) {
    if (!h.isLive(i)) continue;
    const k = i << 2;
    const r = h.replacedAt(i);
    // Unchanged: name through value as sent (keeps its own OWS); replaced: name ": " value.
    n += r === undefined ? (f[k + 3]!) - (f[k]!) : (f[k + 1]!) - (f[k]!) + 2 + r.length;
    n += CRLF_LEN;
  }
  for (let i = h.headerCount; i < h.fieldSlots; i++) {
    if (h.isLive(i)) n += h.nameAt(i).length + 2 + h.valueAt(i).length + CRLF_LEN;
  }
  return n;
}

function writeFields(h: H1Head, out: Buffer, p: number): void {
  const f = h.fields;
  const buf = h.buf;
  for (let i = 0; i < h.headerCount; i++) {
    if (!h.isLive(i)) continue;
    const k = i << 2;
    const r = h.replacedAt(i);
    if (r === undefined) {
      p = copy(buf, f[k]!, f[k + 3]!, out, p);
    } else {
      p = copy(buf, f[k]!, f[k + 1]!, out, p);
      out[p++] = 0x3a;
      out[p++] = 0x20;
      p += out.write(r, p, 'latin1');
    }
    out[p++] = 0x0d;
    out[p++] = 0x0a;
  }
  for (let i = h.headerCount; i < h.fieldSlots; i++) {
    if (!h.isLive(i)) continue;
    p += out.write(h.nameAt(i), p, 'latin1');
    out[p++] = 0x3a;
    out[p++] = 0x20;
    p += out.write(h.valueAt(i), p, 'latin1');
    out[p++] = 0x0d;
    out[p++] = 0x0a;
  }
  out[p++] = 0x0d;
  out[p] = 0x0a;
}

/** Copies src[a..b) to dst at p and returns the new position; short runs in JS (cheaper than a call into C++). */
function copy(src: Buffer, a: number, b: number, dst: Buffer, p: number): number {
  const n = b - a;
  if (n > 48) return p + src.copy(dst, p, a, b);
  for (let k = 0; k < n; k++) dst[p + k] = src[a + k]!;
  return p + n;
}
