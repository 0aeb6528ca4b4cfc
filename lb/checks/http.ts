// `option httpchk` checks: send one request, read the response, evaluate the `http-check expect`
// rules in order. Texts and statuses are haproxy 2.6's (checked in test/checks/differential.test.ts):
//   wrong status (status/rstatus)  → L7STS, code N, info = the reason phrase ("Internal Server Error")
//   body mismatch (string/rstring) → L7RSP, info "HTTP content check did not match"
//                     inverted (!) → L7RSP, info "HTTP check matched unwanted content"
//   no body for a body rule        → L7RSP, info "HTTP content check could not find a response body"
//   header rule                    → L7STS, info "HTTP header did not match" / "HTTP header matched"
//   unparsable or truncated head   → L7RSP, no info
//   passed                         → L7OK, code N, no info
//   404 with disable-on-404 while the server is not DOWN → L7OKC (the server goes NOLB)
// Without any expect rule a 2xx or 3xx status passes, as in HAProxy.
import { CheckConn, connectFailureResult, isConn, socketErrorResult, type CheckEndpoint, type CheckTimeouts } from './conn.ts';
import { checkResult, type CheckResult } from './status.ts';

/** The request of an HTTP check, before serialisation. */
export interface HttpCheckRequest {
  /** Default OPTIONS, as `option httpchk` without arguments. */
  method?: string | undefined;
  /** Default "/". */
  uri?: string | undefined;
  /** Default HTTP/1.0. */
  version?: string | undefined;
  headers?: readonly (readonly [string, string])[] | undefined;
  body?: string | undefined;
}

/**
 * Splits the arguments of `option httpchk [METH] [URI] [VER]` into a request. The pre-2.2 form
 * hides headers (and a body after an empty line) in VER once the tokenizer has turned `\r\n`
 * and `\ ` into bytes: "HTTP/1.1\r\nHost: localhost".
 */
export function requestFromOptionHttpchk(args: readonly string[]): HttpCheckRequest {
  const [method, uri, ver] = args;
  const req: HttpCheckRequest = { method, uri };
  if (ver === undefined) return req;
  const cut = ver.indexOf('\r\n');
  if (cut < 0) return { ...req, version: ver };
  const rest = ver.slice(cut + 2);
  const blank = rest.indexOf('\r\n\r\n');
  const headPart = blank >= 0 ? rest.slice(0, blank) : rest.replace(/(\r\n)+$/, '');
  const headers: [string, string][] = [];
  for (const line of headPart.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const out: HttpCheckRequest = { ...req, version: ver.slice(0, cut), headers };
  return blank >= 0 && rest.length > blank + 4 ? { ...out, body: rest.slice(blank + 4) } : out;
}

/**
 * The exact bytes haproxy 2.6 sends (observed with a capturing listener): header names lower-cased
 * (HTX), a body gets `content-length`, an HTTP/1.1 request without a Connection header gets
 * `connection: close`. E.g. `option httpchk GET /health HTTP/1.1\r\nHost:\ localhost` →
 * "GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".
 */
export function serializeHttpCheckRequest(r: HttpCheckRequest): string {
  const version = r.version ?? 'HTTP/1.0';
  const body = r.body ?? '';
  let out = `${r.method ?? 'OPTIONS'} ${r.uri ?? '/'} ${version}\r\n`;
  let hasConnection = false;
  for (const [name, value] of r.headers ?? []) {
    const n = name.toLowerCase();
    if (n === 'content-length') continue;
    if (n === 'connection') hasConnection = true;
    out += `${n}: ${value}\r\n`;
  }
  if (body !== '') out += `content-length: ${Buffer.byteLength(body, 'latin1')}\r\n`;
  if (version === 'HTTP/1.1' && !hasConnection) out += 'connection: close\r\n';
  return `${out}\r\n${body}`;
}

/** One `http-check expect [!] <kind> <value>` rule. */
export type HttpExpect =
  | { kind: 'status'; negate?: boolean; /** "200", "200-399", "200,204,300-310" */ value: string }
  | { kind: 'rstatus'; negate?: boolean; value: string }
  | { kind: 'string'; negate?: boolean; value: string }
  | { kind: 'rstring'; negate?: boolean; value: string }
  /** `hdr name N [value V]`: N compared case-insensitively, V against each comma-separated value. */
  | { kind: 'hdr'; negate?: boolean; name: string; value?: string };

export interface HttpCheckOptions {
  /** The request: raw bytes (latin1 string or Buffer) or parts to serialise. */
  request: string | Buffer | HttpCheckRequest;
  /** In order; empty = "2xx or 3xx passes". */
  expects?: readonly HttpExpect[];
  /** `http-check disable-on-404`. */
  disableOn404?: boolean;
}

/** What the runner needs to know about the server (disable-on-404 only applies while not DOWN). */
export interface HttpCheckContext {
  serverDown: boolean;
}

interface ParsedHead {
  status: number;
  reason: string;
  headers: [string, string][];
  /** Offset of the first body byte in the input. */
  bodyStart: number;
  contentLength: number | undefined;
  chunked: boolean;
}

/**
 * Parses a response head from `buf` (latin1). undefined = incomplete, 'bad' = invalid. LF-only
 * line ends are accepted as HAProxy's H1 parser does.
 */
export function parseResponseHead(buf: Buffer): ParsedHead | undefined | 'bad' {
  const text = buf.toString('latin1');
  let end = text.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = text.indexOf('\n\n');
  if (lf >= 0 && (end < 0 || lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split(/\r?\n/);
  const m = /^HTTP\/1\.[01] ([0-9]{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (m === null) return 'bad';
  const headers: [string, string][] = [];
  let contentLength: number | undefined;
  let chunked = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(line.slice(0, colon))) return 'bad';
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.push([name, value]);
    if (name === 'content-length') {
      if (!/^[0-9]+$/.test(value)) return 'bad';
      contentLength = Number(value);
    } else if (name === 'transfer-encoding' && /(^|,)\s*chunked\s*$/i.test(value)) chunked = true;
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers, bodyStart: end + sep, contentLength, chunked };
}

/** Decodes a chunked body; `complete` once the last chunk was seen. Trailers are ignored. */
function dechunk(raw: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos, 'latin1');
    if (eol < 0) return { body: Buffer.concat(parts), complete: false };
    const size = Number.parseInt(raw.toString('latin1', pos, eol).split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: true };
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = eol + 2;
    if (raw.length < start + size) {
      parts.push(raw.subarray(start));
      return { body: Buffer.concat(parts), complete: false };
    }
    parts.push(raw.subarray(start, start + size));
    pos = start + size + 2;
  }
}

function statusMatches(spec: string, code: number): boolean {
  for (const part of spec.split(',')) {
    const dash = part.indexOf('-');
    if (dash < 0) {
      if (Number(part) === code) return true;
    } else if (code >= Number(part.slice(0, dash)) && code <= Number(part.slice(dash + 1))) return true;
  }
  return false;
}

const DEFAULT_EXPECTS: readonly HttpExpect[] = [{ kind: 'status', value: '200-399' }];

function needsBody(expects: readonly HttpExpect[]): boolean {
  return expects.some((e) => e.kind === 'string' || e.kind === 'rstring');
}

/** Regexes are compiled once per pattern string and reused by every check. */
const regexCache = new Map<string, RegExp>();
function regex(src: string): RegExp {
  let r = regexCache.get(src);
  if (r === undefined) {
    r = new RegExp(src);
    regexCache.set(src, r);
  }
  return r;
}

/**
 * Evaluates expects in order against a parsed response; the first failing one decides.
 * `body` is undefined when the response has none.
 */
export function evaluateHttpExpects(
  head: { status: number; reason: string; headers: readonly (readonly [string, string])[] },
  body: Buffer | undefined,
  expects: readonly HttpExpect[],
  durationMs: number,
): CheckResult {
  const list = expects.length === 0 ? DEFAULT_EXPECTS : expects;
  const code = head.status;
  for (const e of list) {
    const negate = e.negate === true;
    let match: boolean;
    switch (e.kind) {
      case 'status':
        match = statusMatches(e.value, code);
        if (match === negate) return checkResult('L7STS', head.reason, code, durationMs);
        break;
      case 'rstatus':
        match = regex(e.value).test(String(code));
        if (match === negate) return checkResult('L7STS', head.reason, code, durationMs);
        break;
      case 'hdr': {
        const name = e.name.toLowerCase();
        match = head.headers.some(
          ([n, v]) => n === name && (e.value === undefined || v.split(',').some((x) => x.trim() === e.value)),
        );
        if (match === negate) return checkResult('L7STS', negate ? 'HTTP header matched' : 'HTTP header did not match', code, durationMs);
        break;
      }
      case 'string':
      case 'rstring': {
        if (body === undefined || body.length === 0) {
          return checkResult('L7RSP', 'HTTP content check could not find a response body', code, durationMs);
        }
        match = e.kind === 'string' ? body.includes(e.value, 0, 'latin1') : regex(e.value).test(body.toString('latin1'));
        if (match === negate) {
          return checkResult('L7RSP', negate ? 'HTTP check matched unwanted content' : 'HTTP content check did not match', code, durationMs);
        }
        break;
      }
    }
  }
  return checkResult('L7OK', '', code, durationMs);
}

/** Pre-serialised request bytes, cached per options object (checks repeat every `inter`). */
const requestCache = new WeakMap<object, Buffer>();
function requestBytes(o: HttpCheckOptions): Buffer {
  const r = o.request;
  if (Buffer.isBuffer(r)) return r;
  let b = requestCache.get(o);
  if (b === undefined) {
    b = Buffer.from(typeof r === 'string' ? r : serializeHttpCheckRequest(r), 'latin1');
    requestCache.set(o, b);
  }
  return b;
}

export async function runHttpCheck(
  ep: CheckEndpoint,
  timeouts: CheckTimeouts,
  opts: HttpCheckOptions,
  ctx: HttpCheckContext = { serverDown: false },
): Promise<CheckResult> {
  const start = performance.now();
  const c = await CheckConn.open(ep, timeouts, start);
  if (!isConn(c)) return connectFailureResult(c, Math.floor(performance.now() - start));
  try {
    c.write(requestBytes(opts));
    const expects = opts.expects ?? [];
    const wantBody = needsBody(expects);
    let head: ParsedHead | undefined | 'bad';
    let body: Buffer | undefined;
    const outcome = await c.waitFor((input, last) => {
      head = parseResponseHead(input);
      if (head === 'bad') return true;
      if (head === undefined) return false;
      if (!wantBody) return true;
      const raw = input.subarray(head.bodyStart);
      if (head.chunked) {
        const d = dechunk(raw);
        body = d.body;
        return d.complete || last;
      }
      if (head.contentLength !== undefined) {
        body = raw.subarray(0, head.contentLength);
        return raw.length >= head.contentLength || last;
      }
      body = raw;
      return last;
    });
    if (outcome === 'timeout') return checkResult('L7TOUT', '', 0, c.elapsed());
    if (outcome === 'error') return socketErrorResult(c);
    // 'end'/'full' without a complete head, or an invalid head.
    if (head === undefined || head === 'bad') return checkResult('L7RSP', '', 0, c.elapsed());
    const h: ParsedHead = head;
    if (opts.disableOn404 === true && h.status === 404 && !ctx.serverDown) {
      return checkResult('L7OKC', '', 404, c.elapsed());
    }
    return evaluateHttpExpects(h, body, expects, c.elapsed());
  } finally {
    c.close();
  }
}
