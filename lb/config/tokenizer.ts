// HAProxy's line tokenizer (configuration manual 2.2 "Quoting and escaping", 2.3 "Environment
// variables", 2.4 "Conditional blocks"), checked against haproxy 2.6.12:
//
// - words are separated by spaces/tabs (and '\r', so CRLF files work); `#` outside quotes starts a
//   comment even in the middle of a word (`a#b` is `a`);
// - `'...'` is literal: no escapes, no expansion (`'q\'` is `q\`);
// - `"..."` processes backslash escapes and expands `$NAME` and `${NAME}` (an undefined variable
//   is empty); quotes may be glued to other text (`"a"'b'c` is `abc`);
// - outside quotes, backslash escapes are processed but `$` is literal: haproxy 2.6 leaves an
//   unquoted `${FOO}` as the 6 characters `${FOO}`, and so do we;
// - escapes: `\ ` `\#` `\\` `\'` `\"` `\$` `\r` `\n` `\t` `\xNN`; any other `\c` stays `\c`;
// - EXTENSION (not in haproxy 2.6, which rejects it with "unmatched brace"): `"${NAME-default}"`
//   expands to `default` when NAME is unset, as the project's issue asks and as later HAProxy
//   versions accept;
// - error positions are 1-based columns of the offending quote or brace, as haproxy prints them;
// - `.if/.elif/.else/.endif` blocks (nesting), `.diag/.notice/.warning/.alert "message"`.
//
// The tokenizer never throws: every problem becomes a diagnostic with file and line.
import { LB_ERROR_CODES } from '../errors.ts';
import { evalCondition, type CondContext } from './conditions.ts';
import type { Diagnostics } from './diagnostics.ts';

/** One non-empty, non-comment line that survived conditional blocks. */
export interface LogicalLine {
  readonly file: string;
  readonly line: number;
  /** The unquoted, unescaped, expanded words. */
  readonly args: readonly string[];
  /** 1-based column where each word starts in the raw line. */
  readonly cols: readonly number[];
}

export interface TokenizeOptions {
  readonly file: string;
  readonly cond: CondContext;
}

export interface SplitResult {
  args: string[];
  cols: number[];
  error?: { message: string; column: number };
}

const SP = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const BSL = 92;
const SQ = 39;
const DQ = 34;
const DOLLAR = 36;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Splits one raw line (without its newline) into words. Accepts any string; on a syntax error the
 * words parsed so far are returned along with the error and its 1-based column.
 */
export function splitLine(raw: string, env: Readonly<Record<string, string | undefined>>): SplitResult {
  const args: string[] = [];
  const cols: number[] = [];
  const n = raw.length;
  let i = 0;
  for (;;) {
    while (i < n) {
      const c = raw.charCodeAt(i);
      if (c !== SP && c !== TAB && c !== CR) break;
      i++;
    }
    if (i >= n || raw.charCodeAt(i) === HASH) return { args, cols };
    const start = i;
    let word = '';
    let runStart = i; // start of a run of plain characters copied in one slice
    let quote = 0; // 0, SQ or DQ
    let quoteAt = 0;
    for (;;) {
      if (i >= n) {
        if (quote !== 0) {
          return { args, cols, error: { message: `unmatched quote at position ${quoteAt + 1}`, column: quoteAt + 1 } };
        }
        break;
      }
      const c = raw.charCodeAt(i);
      if (quote === SQ) {
        if (c === SQ) {
          word += raw.slice(runStart, i);
          quote = 0;
          i++;
          runStart = i;
        } else i++;
        continue;
      }
      if (quote === 0 && (c === SP || c === TAB || c === CR || c === HASH)) break;
      if (c === SQ && quote === 0) {
        word += raw.slice(runStart, i);
        quote = SQ;
        quoteAt = i;
        i++;
        runStart = i;
        continue;
      }
      if (c === DQ) {
        word += raw.slice(runStart, i);
        if (quote === DQ) quote = 0;
        else {
          quote = DQ;
          quoteAt = i;
        }
        i++;
        runStart = i;
        continue;
      }
      if (c === BSL && i + 1 < n) {
        const e = raw.charCodeAt(i + 1);
        let rep: string | undefined;
        let len = 2;
        switch (e) {
          case SP:
          case HASH:
          case BSL:
          case SQ:
          case DQ:
          case DOLLAR:
            rep = String.fromCharCode(e);
            break;
          case 114: // r
            rep = '\r';
            break;
          case 110: // n
            rep = '\n';
            break;
          case 116: // t
            rep = '\t';
            break;
          case 120: {
            // x: exactly two hex digits, as haproxy requires
            const h1 = hexVal(raw.charCodeAt(i + 2));
            const h2 = hexVal(raw.charCodeAt(i + 3));
            if (h1 < 0 || h2 < 0) {
              return { args, cols, error: { message: `truncated or invalid hexadecimal sequence at position ${i}`, column: i + 1 } };
            }
            rep = String.fromCharCode(h1 * 16 + h2);
            len = 4;
            break;
          }
          default:
            rep = undefined;
        }
        if (rep !== undefined) {
          word += raw.slice(runStart, i) + rep;
          i += len;
          runStart = i;
          continue;
        }
        i++;
        continue;
      }
      if (c === DOLLAR && quote === DQ) {
        const next = raw.charCodeAt(i + 1);
        if (next === 123 /* { */) {
          let j = i + 2;
          while (j < n && isNameChar(raw.charCodeAt(j))) j++;
          const name = raw.slice(i + 2, j);
          let value: string | undefined;
          if (raw.charCodeAt(j) === 45 /* - */) {
            // ${NAME-default}: default runs to the closing brace (literal text)
            const close = raw.indexOf('}', j);
            if (close < 0 || name === '') {
              return { args, cols, error: { message: `unmatched brace in environment variable name at position ${i + 2}`, column: i + 2 } };
            }
            value = env[name] ?? raw.slice(j + 1, close);
            j = close;
          } else if (raw.charCodeAt(j) !== 125 /* } */ || name === '') {
            // haproxy reports the 1-based position of the opening brace
            return { args, cols, error: { message: `unmatched brace in environment variable name at position ${i + 2}`, column: i + 2 } };
          } else value = env[name] ?? '';
          word += raw.slice(runStart, i) + value;
          i = j + 1;
          runStart = i;
          continue;
        }
        if (isNameChar(next)) {
          let j = i + 1;
          while (j < n && isNameChar(raw.charCodeAt(j))) j++;
          word += raw.slice(runStart, i) + (env[raw.slice(i + 1, j)] ?? '');
          i = j;
          runStart = i;
          continue;
        }
      }
      i++;
    }
    word += raw.slice(runStart, i);
    args.push(word);
    cols.push(start + 1);
  }
}

interface CondFrame {
  /** True while lines of the current branch are taken. */
  taking: boolean;
  /** True once some branch of this block was taken (later .elif/.else are skipped). */
  done: boolean;
  /** True when an enclosing block is not taking: the whole block is dead. */
  dead: boolean;
  seenElse: boolean;
  line: number;
}

/**
 * Tokenizes a whole file. Returns the logical lines outside false conditional branches, with
 * `.if` & co. and `.notice` & co. consumed; every problem goes to `diags`.
 */
export function tokenize(text: string, opts: TokenizeOptions, diags: Diagnostics): LogicalLine[] {
  const out: LogicalLine[] = [];
  scan(text, opts, diags, (args, where, cols) => out.push({ file: where.file, line: where.line, args: args.slice(), cols: cols ?? [] }), true);
  return out;
}

/** Where a logical line comes from; one object per line, shared by everything that points at it. */
export interface LineWhere {
  readonly file: string;
  readonly line: number;
}

/**
 * Streaming form of tokenize: hands each logical line's words and location to `onLine` (nothing is
 * retained). The `where` object is fresh per line, so callers may keep it as the line's location;
 * `args` is only valid during the call (it may be reused for the next line: copy what you keep).
 */
export function tokenizeEach(text: string, opts: TokenizeOptions, diags: Diagnostics, onLine: (args: readonly string[], where: LineWhere) => void): void {
  scan(text, opts, diags, onLine, false);
}

/**
 * Characters that need splitLine's full treatment; a line free of them is words separated by
 * spaces. `$` is absent on purpose: it only means something inside double quotes.
 */
const SPECIAL_RE = /["'\\#\t\r]/g;

/** Scratch space for the words of one plain line (see scan). */
const WORDS: string[] = [];

// Why a fast path: `lb -c` on a 10,000-line config spends most of its tokenizing time walking
// characters in JS; plain lines (nearly all of them) are cut with native indexOf instead.
function scan(
  text: string,
  opts: TokenizeOptions,
  diags: Diagnostics,
  onLine: (args: readonly string[], where: LineWhere, cols: number[] | undefined) => void,
  wantCols: boolean,
): void {
  const stack: CondFrame[] = [];
  const file = opts.file;
  const env = opts.cond.env;
  let lineNo = 0;
  let pos = 0;
  const len = text.length;
  // Position of the next special character at or after `pos` (len when none is left).
  let special = -1;
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    lineNo++;
    if (special < pos) {
      SPECIAL_RE.lastIndex = pos;
      special = SPECIAL_RE.exec(text)?.index ?? len;
    }
    let args: readonly string[];
    let cols: number[] | undefined;
    let error: SplitResult['error'];
    if (special >= nl) {
      // The words of a plain line go to one reused array (onLine must not keep it): a fresh array
      // per line is ~1.5 MB of garbage on a 10,000-line configuration.
      cols = wantCols ? [] : undefined;
      let count = 0;
      let i = pos;
      for (;;) {
        while (i < nl && text.charCodeAt(i) === SP) i++;
        if (i >= nl) break;
        let end = text.indexOf(' ', i);
        if (end < 0 || end > nl) end = nl;
        WORDS[count++] = text.slice(i, end);
        cols?.push(i - pos + 1);
        i = end;
      }
      WORDS.length = count;
      args = WORDS;
    } else {
      const split = splitLine(text.slice(pos, nl), env);
      args = split.args;
      cols = split.cols;
      error = split.error;
    }
    pos = nl + 1;
    if (args.length === 0 && error === undefined) continue;
    const first = args[0] ?? '';
    const isDirective = first.charCodeAt(0) === 46; /* . */
    if (isDirective && (first === '.if' || first === '.elif' || first === '.else' || first === '.endif')) {
      const where = { file, line: lineNo };
      if (error !== undefined) {
        diags.alert(where, error.message, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX, error.column);
        if (first === '.if') stack.push({ taking: false, done: true, dead: false, seenElse: false, line: lineNo });
        continue;
      }
      handleCond(first, args, where, stack, opts, diags);
      continue;
    }
    // haproxy 2.6 tokenizes every line first, so quoting errors are reported even in a false branch.
    if (error !== undefined) {
      diags.alert({ file, line: lineNo }, error.message, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX, error.column);
      continue;
    }
    if (stack.length > 0 && stack[stack.length - 1]?.taking === false) continue;
    const where = { file, line: lineNo };
    if (isDirective && (first === '.diag' || first === '.notice' || first === '.warning' || first === '.alert')) {
      if (args.length > 2) {
        diags.alert(where, `Unexpected argument '${args[2] ?? ''}' for '${first}'. Use quotes if the message should contain spaces.`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        continue;
      }
      const msg = `'${args[1] ?? ''}'.`;
      if (first === '.alert') diags.alert(where, msg, LB_ERROR_CODES.ERR_LB_CONFIG_DIRECTIVE);
      else if (first === '.warning') diags.warning(where, msg, LB_ERROR_CODES.ERR_LB_CONFIG_DIRECTIVE);
      else if (first === '.notice') diags.notice(where, msg);
      else diags.diag(where, msg);
      continue;
    }
    onLine(args, where, cols);
  }
  if (stack.length > 0) {
    const f = stack[stack.length - 1];
    diags.alert({ file, line: f?.line ?? 1 }, "non-terminated '.if' block.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
  }
}

function handleCond(
  kw: string,
  args: readonly string[],
  where: { file: string; line: number },
  stack: CondFrame[],
  opts: TokenizeOptions,
  diags: Diagnostics,
): void {
  const top = stack.at(-1);
  const evaluate = (): boolean => {
    const r = evalCondition(args.slice(1), opts.cond);
    if (!r.ok) {
      diags.alert(where, `${r.error} in '${kw}'`, LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
      return false;
    }
    return r.value;
  };
  switch (kw) {
    case '.if': {
      const dead = top !== undefined && !top.taking;
      const v = dead ? false : evaluate();
      stack.push({ taking: v, done: v || dead, dead, seenElse: false, line: where.line });
      return;
    }
    case '.elif': {
      if (top === undefined) {
        diags.alert(where, "lone '.elif' with no matching '.if'.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        return;
      }
      if (top.seenElse) {
        diags.alert(where, "'.elif' after '.else' is not permitted.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        top.taking = false;
        return;
      }
      if (top.done) {
        top.taking = false;
        return;
      }
      const v = evaluate();
      top.taking = v;
      top.done = v;
      return;
    }
    case '.else': {
      if (top === undefined) {
        diags.alert(where, "lone '.else' with no matching '.if'.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        return;
      }
      if (top.seenElse) {
        diags.alert(where, "'.else' after '.else' is not permitted.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        top.taking = false;
        return;
      }
      top.seenElse = true;
      top.taking = !top.done;
      top.done = true;
      return;
    }
    default: {
      if (top === undefined) {
        diags.alert(where, "lone '.endif' with no matching '.if'.", LB_ERROR_CODES.ERR_LB_CONFIG_SYNTAX);
        return;
      }
      stack.pop();
    }
  }
}
