// keepalived.conf tokenizer, written after keepalived.conf(5) and keepalived 2.2.7's observed
// behaviour (not lb's tokenizer: the two languages differ in quoting and comments):
//  - the file is read line by line; words are separated by blanks;
//  - `#` and `!` start a comment anywhere outside double quotes (keepalived reads `priority 10!0`
//    as `priority 10`);
//  - only double quotes group words (keepalived reads `'100'` literally, quotes included);
//  - `{` and `}` outside quotes are tokens of their own even when glued to a word (`VI_1{`);
//  - `$NAME=value` at the start of a line defines a variable; `$NAME` and `${NAME}` are replaced
//    in later lines (undefined names are left as written, as keepalived does);
//  - `@ID word...` keeps the line only when ID is this node's config id, `@^ID` only when it is not
//    (keepalived's `-i/--config-id`, default: the host name up to its first dot);
//  - `include PATTERN` reads every file matching the glob, relative to the including file's
//    directory; a missing plain file is an error (keepalived only logs it), a glob matching nothing
//    is a warning.
// Not supported (reported when seen): multi-line `$VAR` definitions ending in `\` and keepalived's
// parameterised definitions / `~SEQ` loops.
import { globSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { errnoCode } from './diagnostics.ts';
import type { Diagnostics, Location } from './diagnostics.ts';

export interface Token extends Location {
  readonly text: string;
  /** True when the word was written in double quotes: `"{"` is a word, not a brace. */
  readonly quoted: boolean;
  /** Identifies the physical line the token came from; tokens of one line share it. */
  readonly lineId: number;
}

/** File-system access of the parser, injectable so that tests and fuzzing never touch the disk. */
export interface ConfigSource {
  readFile(path: string): string;
  /** Paths matching the glob pattern (already joined to the base directory), sorted. */
  glob(pattern: string): string[];
  /** Size and permission bits, or undefined when the path does not exist. */
  stat(path: string): { size: number; mode: number; isFile: boolean } | undefined;
}

export const diskSource: ConfigSource = {
  readFile: (path) => readFileSync(path, 'utf8'),
  glob: (pattern) => globSync(pattern).toSorted(),
  stat: (path) => {
    try {
      const s = statSync(path);
      return { size: s.size, mode: s.mode, isFile: s.isFile() };
    } catch {
      return undefined;
    }
  },
};

export interface TokenizeOptions {
  readonly configId: string;
  readonly source: ConfigSource;
  readonly diagnostics: Diagnostics;
}

const MAX_INCLUDE_DEPTH = 16;
const GLOB_CHARS = /[*?[]/;
const VAR_DEF = /^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const VAR_USE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

class Tokenizer {
  readonly tokens: Token[] = [];
  readonly files: string[] = [];
  readonly #vars = new Map<string, string>();
  readonly #opts: TokenizeOptions;
  #lineId = 0;

  constructor(opts: TokenizeOptions) {
    this.#opts = opts;
  }

  file(path: string, text: string, depth: number, stack: readonly string[]): void {
    this.files.push(path);
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      this.#line(path, i + 1, (lines[i] ?? '').replace(/\r$/, ''), depth, [...stack, path]);
    }
  }

  #line(file: string, line: number, raw: string, depth: number, stack: readonly string[]): void {
    const at = { file, line };
    const diag = this.#opts.diagnostics;
    let text = raw.trimStart();
    // `@ID` / `@^ID` prefix: decided before anything else so that a skipped line may even hold a
    // variable definition meant for another node.
    if (text.startsWith('@')) {
      const m = /^@(\^?)(\S*)\s*(.*)$/.exec(text);
      const negate = m?.[1] === '^';
      const id = m?.[2] ?? '';
      if (id === '') {
        diag.error(at, `'@' must be followed by a config id`);
        return;
      }
      const matches = id === this.#opts.configId;
      if (matches === negate) return;
      text = m?.[3] ?? '';
    }
    const def = VAR_DEF.exec(text.trimEnd());
    if (def) {
      const value = (def[2] ?? '').trim();
      if (value.endsWith('\\')) diag.error(at, `multi-line definition of '$${def[1]}' is not supported by ha-agent`);
      this.#vars.set(def[1] ?? '', this.#substitute(value));
      return;
    }
    text = this.#substitute(text);
    const words = this.#split(text, at);
    const first = words[0];
    if (first && !first.quoted && first.text === 'include') {
      this.#include(words, at, depth, stack);
      return;
    }
    for (const w of words) this.tokens.push({ ...w, file, line, lineId: this.#lineId });
    this.#lineId++;
  }

  #substitute(text: string): string {
    if (!text.includes('$')) return text;
    return text.replace(VAR_USE, (whole, braced: string | undefined, bare: string | undefined) => {
      const v = this.#vars.get(braced ?? bare ?? '');
      return v ?? whole;
    });
  }

  /** Splits one line into words: blanks separate, `"` groups, `#`/`!` end the line, braces stand alone. */
  #split(text: string, at: Location): { text: string; quoted: boolean }[] {
    const out: { text: string; quoted: boolean }[] = [];
    let cur = '';
    let has = false;
    let quoted = false;
    const flush = (): void => {
      if (has) out.push({ text: cur, quoted });
      cur = '';
      has = false;
      quoted = false;
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i] ?? '';
      if (c === '"') {
        const end = text.indexOf('"', i + 1);
        if (end < 0) {
          this.#opts.diagnostics.error(at, 'unterminated double quote');
          cur += text.slice(i + 1);
          has = true;
          quoted = true;
          break;
        }
        cur += text.slice(i + 1, end);
        has = true;
        quoted = true;
        i = end;
      } else if (c === '#' || c === '!') {
        break;
      } else if (c === '{' || c === '}') {
        flush();
        out.push({ text: c, quoted: false });
      } else if (c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r') {
        flush();
      } else {
        cur += c;
        has = true;
      }
    }
    flush();
    return out;
  }

  #include(words: { text: string; quoted: boolean }[], at: Location, depth: number, stack: readonly string[]): void {
    const diag = this.#opts.diagnostics;
    const src = this.#opts.source;
    if (words.length !== 2) {
      diag.error(at, `'include' takes exactly one file name or glob`);
      return;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
      diag.error(at, `includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`);
      return;
    }
    const pattern = words[1]?.text ?? '';
    const full = isAbsolute(pattern) ? pattern : join(dirname(at.file), pattern);
    let paths: string[];
    if (GLOB_CHARS.test(pattern)) {
      paths = src.glob(full);
      if (paths.length === 0) diag.warning(at, `include '${pattern}' matches no file`);
    } else {
      paths = [full];
    }
    for (const p of paths) {
      if (stack.includes(p)) {
        diag.error(at, `include loop: '${p}' includes itself`);
        continue;
      }
      let text: string;
      try {
        text = src.readFile(p);
      } catch (err) {
        diag.error(at, `cannot read included file '${p}': ${errnoCode(err)}`);
        continue;
      }
      this.file(p, text, depth + 1, stack);
    }
  }
}

/** Tokenizes `text` as the contents of `file`, following includes through `opts.source`. */
export function tokenize(file: string, text: string, opts: TokenizeOptions): { tokens: Token[]; files: string[] } {
  const t = new Tokenizer(opts);
  t.file(file, text, 0, []);
  return { tokens: t.tokens, files: t.files };
}
