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
//
// Per check, the runner allocates its own object and the verdict, nothing else on a plain answer:
// the request bytes and the expect flags are worked out once per server (HttpCheckPlan), status
// ranges once per spec, and the head is scanned into a reused object whose reason phrase becomes
// a string only when a failed status needs it. `Buffer` and `performance` come from their
// modules: the globals are accessors (a getter call per use).
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import {
  CHECK_BUFSIZE,
  Probe,
  connectFailureResult,
  socketErrorResult,
  type CheckEndpoint,
  type CheckTimeouts,
  type ConnectFailure,
  type ProbeHandler,
  type StopReason,
} from './conn.ts';
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

const EMPTY = Buffer.alloc(0);

/** RFC 9110 tchar, by byte. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+.^_`|~-") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** `buf[s..e)` equals the lower-case ASCII `name`, case-insensitively. */
function nameIs(buf: Buffer, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  // `| 0x20` folds A-Z onto a-z; callers only pass tchar or printable bytes, among which no other
  // byte folds onto a letter or '-'.
  for (let i = 0; i < name.length; i++) if (((buf[s + i] ?? 0) | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

const PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]; // "HTTP/1."

/**
 * What scanHead() found, in a reusable object: the reason phrase stays a byte range of the input
 * until someone reads `reason` (only a failed status check does), and `headers` is always empty.
 */
class HeadScan {
  status = 0;
  src: Buffer = EMPTY;
  reasonStart = 0;
  reasonEnd = 0;
  bodyStart = 0;
  contentLength: number | undefined = undefined;
  chunked = false;
  readonly headers: [string, string][] = [];

  get reason(): string {
    return this.reasonEnd > this.reasonStart ? this.src.toString('latin1', this.reasonStart, this.reasonEnd) : '';
  }
}

/**
 * The scan of the check being judged. One for the process: a scan is read synchronously, before
 * the next read can start another one (and its `src` is the shared read buffer anyway).
 */
const SCAN = new HeadScan();

/**
 * parseResponseHead() without strings or regexes, for the check hot path: the same answer on
 * every "plain" head (printable ASCII, tabs, CRLF or LF line ends used consistently around the
 * blank line), 'slow' on anything else so that the caller asks parseResponseHead(). Header
 * values are not collected (`headers` is empty): use parseResponseHead() for `hdr` expects.
 * Tied to parseResponseHead() by a property test (test/checks/runners.test.ts).
 */
export function scanResponseHead(buf: Buffer): ParsedHead | undefined | 'bad' | 'slow' {
  const r = scanHead(buf, SCAN);
  if (r !== 'ok') return r;
  const { status, reason, bodyStart, contentLength, chunked } = SCAN;
  SCAN.src = EMPTY;
  return { status, reason, headers: [], bodyStart, contentLength, chunked };
}

/** scanResponseHead() into `out` ('ok' = a complete head is in `out`, undefined = incomplete). */
function scanHead(buf: Buffer, out: HeadScan): 'ok' | undefined | 'bad' | 'slow' {
  const len = buf.length;
  let bad = false;
  let status = 0;
  let reasonStart = 0;
  let reasonEnd = 0;
  let contentLength: number | undefined;
  let chunked = false;
  /** Terminator of the previous line: 0 none, 1 LF, 2 CRLF. */
  let prev = 0;
  let ls = 0;
  for (let i = 0; i < len; i++) {
    const b = buf[i] ?? 0;
    if (b === 0x0a || b === 0x0d) {
      let term = 1;
      let le = i;
      if (b === 0x0d) {
        if (i + 1 >= len) return undefined;
        if (buf[i + 1] !== 0x0a) return 'slow';
        term = 2;
        i++;
      }
      if (le === ls) {
        // A blank line: the end of the head when its line end matches the previous one's (the
        // first CRLFCRLF or LFLF); mixed forms are left to the reference parser.
        if (prev !== term) return 'slow';
        if (bad) return 'bad';
        out.status = status;
        out.src = buf;
        out.reasonStart = reasonStart;
        out.reasonEnd = reasonEnd;
        out.bodyStart = i + 1;
        out.contentLength = contentLength;
        out.chunked = chunked;
        return 'ok';
      }
      if (prev === 0) {
        // Status line: HTTP/1.[01] NNN[ reason]
        let ok = le - ls >= 12 && (le - ls === 12 || buf[ls + 12] === 0x20) && buf[ls + 8] === 0x20;
        for (let k = 0; ok && k < 7; k++) ok = buf[ls + k] === PREFIX[k];
        const minor = buf[ls + 7];
        const d0 = (buf[ls + 9] ?? 0) - 0x30;
        const d1 = (buf[ls + 10] ?? 0) - 0x30;
        const d2 = (buf[ls + 11] ?? 0) - 0x30;
        if (!ok || (minor !== 0x30 && minor !== 0x31) || d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) bad = true;
        else {
          status = d0 * 100 + d1 * 10 + d2;
          reasonStart = ls + 13;
          reasonEnd = le > reasonStart ? le : reasonStart;
        }
      } else if (!bad) {
        let colon = ls;
        while (colon < le && buf[colon] !== 0x3a) colon++;
        if (colon === le || colon === ls) bad = true;
        for (let k = ls; !bad && k < colon; k++) if (TCHAR[buf[k] ?? 0] !== 1) bad = true;
        if (!bad) {
          let vs = colon + 1;
          let ve = le;
          while (vs < ve && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
          while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
          if (nameIs(buf, ls, colon, 'content-length')) {
            if (ve === vs) bad = true;
            let n = 0;
            for (let k = vs; !bad && k < ve; k++) {
              const d = (buf[k] ?? 0) - 0x30;
              if (d < 0 || d > 9) bad = true;
              else n = n * 10 + d;
            }
            // Beyond 15 digits the running sum may round differently from Number(text).
            if (!bad) contentLength = ve - vs > 15 ? Number(buf.toString('latin1', vs, ve)) : n;
          } else if (nameIs(buf, ls, colon, 'transfer-encoding') && ve - vs >= 7 && nameIs(buf, ve - 7, ve, 'chunked')) {
            let k = ve - 7;
            while (k > vs && (buf[k - 1] === 0x20 || buf[k - 1] === 0x09)) k--;
            if (k === vs || buf[k - 1] === 0x2c) chunked = true;
          }
        }
      }
      prev = term;
      ls = i + 1;
      continue;
    }
    if ((b < 0x20 && b !== 0x09) || b > 0x7e) return 'slow';
  }
  return undefined;
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

/** `status` specs as [lo0, hi0, lo1, hi1, ...], parsed once per spec string (NaN bounds never match). */
const rangesCache = new Map<string, readonly number[]>();
function statusRanges(spec: string): readonly number[] {
  let r = rangesCache.get(spec);
  if (r === undefined) {
    const out: number[] = [];
    for (const part of spec.split(',')) {
      const dash = part.indexOf('-');
      if (dash < 0) out.push(Number(part), Number(part));
      else out.push(Number(part.slice(0, dash)), Number(part.slice(dash + 1)));
    }
    r = out;
    rangesCache.set(spec, r);
  }
  return r;
}

function statusMatches(spec: string, code: number): boolean {
  const r = statusRanges(spec);
  for (let i = 0; i + 1 < r.length; i += 2) if (code >= (r[i] ?? NaN) && code <= (r[i + 1] ?? NaN)) return true;
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
  // Indexed: a for-of here allocated an iterator per check.
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (e === undefined) continue;
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

/**
 * What every check of one options object shares, worked out once: the serialised request, and
 * which parts of the response the expects need. The scheduler keeps one per server.
 */
export class HttpCheckPlan {
  readonly options: HttpCheckOptions;
  readonly request: Buffer;
  readonly expects: readonly HttpExpect[];
  /** A string/rstring rule needs the body. */
  readonly wantBody: boolean;
  /** A hdr rule needs the header values (parseResponseHead, not the scanner). */
  readonly wantHeaders: boolean;
  readonly disableOn404: boolean;

  /** The options are taken as they are now: the config builds them once, a change means a new object. */
  constructor(o: HttpCheckOptions) {
    const r = o.request;
    const expects = o.expects ?? [];
    this.options = o;
    this.request = Buffer.isBuffer(r) ? r : Buffer.from(typeof r === 'string' ? r : serializeHttpCheckRequest(r), 'latin1');
    this.expects = expects;
    this.wantBody = needsBody(expects);
    this.wantHeaders = expects.some((e) => e.kind === 'hdr');
    this.disableOn404 = o.disableOn404 === true;
  }
}

/** Plans of the callers that pass options (runHttpCheck, tests), cached per options object. */
const planCache = new WeakMap<HttpCheckOptions, HttpCheckPlan>();
function checkPlan(o: HttpCheckOptions | HttpCheckPlan): HttpCheckPlan {
  if (o instanceof HttpCheckPlan) return o;
  let p = planCache.get(o);
  if (p === undefined) {
    p = new HttpCheckPlan(o);
    planCache.set(o, p);
  }
  return p;
}

/**
 * One HTTP check as a probe handler: the response is judged as bytes arrive, straight from the
 * read buffer when the whole answer comes in one read (the common case), and the connection is
 * closed as soon as the verdict is known: a status-only expect does not wait for the body.
 */
class HttpCheckRun implements ProbeHandler {
  readonly #start: number;
  readonly #plan: HttpCheckPlan;
  readonly #serverDown: boolean;
  readonly #done: (r: CheckResult) => void;
  #probe: Probe | undefined;
  /** Bytes kept across reads (copied out of the shared read buffer), at most CHECK_BUFSIZE. */
  #acc: Buffer | undefined;
  #finished = false;

  constructor(ep: CheckEndpoint, timeouts: CheckTimeouts, opts: HttpCheckOptions | HttpCheckPlan, serverDown: boolean, done: (r: CheckResult) => void) {
    this.#start = performance.now();
    this.#plan = checkPlan(opts);
    this.#serverDown = serverDown;
    this.#done = done;
    this.#probe = Probe.open(ep, timeouts, this, this.#start);
  }

  static start(ep: CheckEndpoint, timeouts: CheckTimeouts, opts: HttpCheckOptions | HttpCheckPlan, serverDown: boolean, done: (r: CheckResult) => void): HttpCheckRun {
    return new HttpCheckRun(ep, timeouts, opts, serverDown, done);
  }

  onConnected(p: Probe): void {
    p.write(this.#plan.request);
  }

  onFailed(f: ConnectFailure): void {
    this.#finish(connectFailureResult(f, Math.floor(performance.now() - this.#start)));
  }

  onData(p: Probe, chunk: Buffer): boolean {
    if (this.#finished) return false;
    let input = chunk;
    const acc = this.#acc;
    if (acc !== undefined) {
      const room = CHECK_BUFSIZE - acc.length;
      input = Buffer.concat([acc, room < chunk.length ? chunk.subarray(0, room) : chunk]);
    } else if (chunk.length > CHECK_BUFSIZE) input = chunk.subarray(0, CHECK_BUFSIZE);
    // A full buffer is HAProxy's "last read": judge what we have.
    const full = input.length >= CHECK_BUFSIZE;
    const r = this.#judge(input, full, p);
    if (r !== undefined) this.#finish(r);
    else if (full) this.#finish(checkResult('L7RSP', '', 0, p.elapsed()));
    else this.#acc = acc === undefined ? Buffer.from(input) : input;
    return !full;
  }

  onStop(p: Probe, why: StopReason): void {
    if (this.#finished) return;
    const input = this.#acc ?? EMPTY;
    if (why === 'timeout') this.#finish(checkResult('L7TOUT', '', 0, p.elapsed()));
    else if (why === 'error' && !p.ended) this.#finish(socketErrorResult(p));
    // The peer closed: no more data; an incomplete head is an invalid response.
    else this.#finish(this.#judge(input, true, p) ?? (why === 'error' ? socketErrorResult(p) : checkResult('L7RSP', '', 0, p.elapsed())));
  }

  /** The verdict on `input`, or undefined while more data is needed (`last`: none will come). */
  #judge(input: Buffer, last: boolean, p: Probe): CheckResult | undefined {
    const plan = this.#plan;
    let head: ParsedHead | HeadScan | undefined | 'bad';
    const scan = plan.wantHeaders ? 'slow' : scanHead(input, SCAN);
    if (scan === 'slow') head = parseResponseHead(input);
    else head = scan === 'ok' ? SCAN : scan;
    if (head === 'bad') return checkResult('L7RSP', '', 0, p.elapsed());
    if (head === undefined) return undefined;
    try {
      return this.#verdict(head, input, last, p);
    } finally {
      // The scan must not keep the input alive until the next check.
      SCAN.src = EMPTY;
    }
  }

  #verdict(head: ParsedHead | HeadScan, input: Buffer, last: boolean, p: Probe): CheckResult | undefined {
    const plan = this.#plan;
    let body: Buffer | undefined;
    if (plan.wantBody) {
      const raw = input.subarray(head.bodyStart);
      if (head.chunked) {
        const d = dechunk(raw);
        if (!d.complete && !last) return undefined;
        body = d.body;
      } else if (head.contentLength !== undefined) {
        if (raw.length < head.contentLength && !last) return undefined;
        body = raw.subarray(0, head.contentLength);
      } else {
        if (!last) return undefined;
        body = raw;
      }
    }
    if (plan.disableOn404 && head.status === 404 && !this.#serverDown) {
      return checkResult('L7OKC', '', 404, p.elapsed());
    }
    return evaluateHttpExpects(head, body, plan.expects, p.elapsed());
  }

  #finish(r: CheckResult): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#acc = undefined;
    this.#probe?.close();
    this.#done(r);
  }
}


/**
 * Starts an HTTP check; `done` is called once with the verdict. The scheduler's entry point: no
 * promise per check, and a plan (`new HttpCheckPlan(options)`, kept across checks) spares a
 * lookup per check. `serverDown` matters for `disable-on-404` only.
 */
export function startHttpCheck(
  ep: CheckEndpoint,
  timeouts: CheckTimeouts,
  opts: HttpCheckOptions | HttpCheckPlan,
  serverDown: boolean,
  done: (r: CheckResult) => void,
): void {
  HttpCheckRun.start(ep, timeouts, opts, serverDown, done);
}

export function runHttpCheck(
  ep: CheckEndpoint,
  timeouts: CheckTimeouts,
  opts: HttpCheckOptions,
  ctx: HttpCheckContext = { serverDown: false },
): Promise<CheckResult> {
  return new Promise((resolve) => startHttpCheck(ep, timeouts, opts, ctx.serverDown, resolve));
}
