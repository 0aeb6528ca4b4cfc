// The exact bytes of an HTTP health-check request as haproxy 2.6 sends them, from the parsed
// `option httpchk` (+ its legacy "\r\n"-embedded headers) or an `http-check send` step.
// Observed on haproxy 2.6.12 with a capturing listener:
//   option httpchk                              → "OPTIONS / HTTP/1.0\r\n\r\n"
//   option httpchk GET /health                  → "GET /health HTTP/1.0\r\n\r\n"
//   option httpchk GET /health HTTP/1.1\r\nHost:\ localhost
//                                               → "GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
//   ... HTTP/1.1\r\nHost:\ a\r\nX-Y:\ z\r\n\r\nbody
//                                               → "...\r\nhost: a\r\nx-y: z\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbody"
// i.e. header names are lower-cased (HTX), HTTP/1.1 requests get `connection: close`, and a body
// gets a content-length.
import type { HttpChk, HttpCheckStep } from './model.ts';

/** Builds the request; `send` (an http-check send step) overrides fields of `chk`. */
export function httpCheckRequest(chk: HttpChk | undefined, send?: HttpCheckStep): string {
  const method = send?.method ?? chk?.method ?? 'OPTIONS';
  const uri = send?.uri ?? chk?.uri ?? '/';
  const version = send?.version ?? chk?.version ?? 'HTTP/1.0';
  const headers = [...(chk?.headers ?? []), ...(send?.headers ?? [])];
  const body = send?.body ?? chk?.body ?? '';
  let out = `${method} ${uri} ${version}\r\n`;
  let hasConnection = false;
  for (const [name, value] of headers) {
    const n = name.toLowerCase();
    if (n === 'connection') hasConnection = true;
    if (n === 'content-length') continue;
    out += `${n}: ${value}\r\n`;
  }
  if (body !== '') out += `content-length: ${Buffer.byteLength(body)}\r\n`;
  if (version === 'HTTP/1.1' && !hasConnection) out += 'connection: close\r\n';
  return `${out}\r\n${body}`;
}
