// Micro-benchmark of head parsing (not a test): `node test/proxy/http1/bench-parse.ts`.
// Times our parsers on a typical ~400-byte browser request head and a ~200-byte response head,
// against a naive toString().split('\r\n') parser on the same bytes in the same run.
import { RequestHead } from '../../../lb/proxy/http1/request.ts';
import { ResponseHead } from '../../../lb/proxy/http1/response.ts';

export const REQUEST_HEAD = Buffer.from(
  'GET /static/app/main.js?v=20240105 HTTP/1.1\r\n' +
    'Host: www.example.com\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n' +
    'Accept: */*\r\n' +
    'Accept-Language: en-US,en;q=0.5\r\n' +
    'Accept-Encoding: gzip, deflate, br\r\n' +
    'Referer: https://www.example.com/\r\n' +
    'Connection: keep-alive\r\n' +
    'Cookie: session=4f9a1c2e7b; theme=dark\r\n' +
    'Sec-Fetch-Dest: script\r\n' +
    'Sec-Fetch-Mode: no-cors\r\n' +
    'Sec-Fetch-Site: same-origin\r\n' +
    '\r\n',
  'latin1',
);

export const RESPONSE_HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\n' +
    'Date: Mon, 08 Jan 2024 10:00:00 GMT\r\n' +
    'Content-Type: application/javascript\r\n' +
    'Content-Length: 48213\r\n' +
    'Cache-Control: public, max-age=31536000\r\n' +
    'ETag: "5e1f-60c2a3b4"\r\n' +
    'Connection: keep-alive\r\n' +
    '\r\n',
  'latin1',
);

interface Naive {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string>;
}

/** What a quick hand-written parser does: one string, split lines, split on the first colon. */
function naiveParse(buf: Buffer): Naive {
  const text = buf.toString('latin1');
  const lines = text.split('\r\n');
  const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') break;
    const c = line.indexOf(':');
    headers.set(line.slice(0, c).toLowerCase(), line.slice(c + 1).trim());
  }
  return { method, target, version, headers };
}

function timeNs(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(iterations, 20000); i++) fn(); // warm up to the optimising tier
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - t0) / iterations;
}

export interface BenchResult {
  nsPerRequestHead: number;
  nsPerResponseHead: number;
  naiveNsPerRequestHead: number;
  naiveNsPerResponseHead: number;
  /** Request head parse plus a string for every name and value (what a strings design costs). */
  nsPerRequestHeadWithStrings: number;
}

/** Best of 5 rounds of 200k parses each (bounded: a few seconds at most). */
export async function benchParse(): Promise<{ nsPerRequestHead: number; nsPerResponseHead: number } & BenchResult> {
  const req = new RequestHead();
  const res = new ResponseHead();
  let sink = 0;
  const parseReq = (): void => {
    sink += req.feed(REQUEST_HEAD);
  };
  const parseRes = (): void => {
    res.expect(false, false);
    sink += res.feed(RESPONSE_HEAD);
  };
  const parseReqStrings = (): void => {
    sink += req.feed(REQUEST_HEAD);
    for (let i = 0; i < req.headerCount; i++) sink += req.nameAt(i).length + req.valueAt(i).length;
  };
  const naiveReq = (): void => {
    sink += naiveParse(REQUEST_HEAD).headers.size;
  };
  const naiveRes = (): void => {
    sink += naiveParse(RESPONSE_HEAD).headers.size;
  };
  const best = { a: Infinity, b: Infinity, c: Infinity, d: Infinity, e: Infinity };
  const n = 200_000;
  for (let round = 0; round < 5; round++) {
    best.a = Math.min(best.a, timeNs(n, parseReq));
    best.b = Math.min(best.b, timeNs(n, parseRes));
    best.c = Math.min(best.c, timeNs(n, naiveReq));
    best.d = Math.min(best.d, timeNs(n, naiveRes));
    best.e = Math.min(best.e, timeNs(n, parseReqStrings));
    await new Promise((r) => setImmediate(r));
  }
  if (sink === 0) throw new Error('parser did nothing');
  return {
    nsPerRequestHead: best.a,
    nsPerResponseHead: best.b,
    naiveNsPerRequestHead: best.c,
    naiveNsPerResponseHead: best.d,
    nsPerRequestHeadWithStrings: best.e,
  };
}

if (import.meta.main) {
  const r = await benchParse();
  const f = (x: number): string => `${x.toFixed(0).padStart(6)} ns`;
  console.log(`request head  (${REQUEST_HEAD.length} B): ours ${f(r.nsPerRequestHead)}   naive split ${f(r.naiveNsPerRequestHead)}   ours + all strings ${f(r.nsPerRequestHeadWithStrings)}`);
  console.log(`response head (${RESPONSE_HEAD.length} B): ours ${f(r.nsPerResponseHead)}   naive split ${f(r.naiveNsPerResponseHead)}`);
}
