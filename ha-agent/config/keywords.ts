// The keyword-table engine (DESIGN.md principle 1, keepalived's `install_keyword`): each block has a
// table of KeywordDef; this file only looks keywords up, checks argument counts, handles braces and
// reports unknown keywords with a suggestion. What a keyword means lives in its table.
import type { Diagnostics, Location } from './diagnostics.ts';
import type { ConfigSource, Token } from './tokenizer.ts';

export interface Ctx {
  readonly diag: Diagnostics;
  readonly source: ConfigSource;
  /** The keyword token itself. */
  readonly at: Token;
}

/** Gives a block keyword access to the body between its braces. */
export interface Body {
  /** Parses the body as keywords of `table` applied to `target`. */
  table<C>(table: Table<C>, target: C): void;
  /** Parses the body as a list: `fn` gets the words of each line (keepalived's list blocks). */
  items(fn: (words: Token[]) => void): void;
}

/**
 * status: 'ok' is implemented; 'ignored' is accepted for compatibility, has no effect and draws a
 * warning; 'unsupported' is recognised but refused (an error) because ignoring it would change
 * behaviour behind the operator's back.
 */
export interface KeywordDef<T> {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly block: boolean;
  readonly repeatable: boolean;
  readonly status: 'ok' | 'ignored' | 'unsupported';
  readonly note?: string;
  run(target: T, args: Token[], ctx: Ctx, body: Body): void;
}

export type Table<T> = { readonly name: string; readonly defs: ReadonlyMap<string, KeywordDef<T>> };

export function table<T>(name: string, defs: readonly KeywordDef<T>[]): Table<T> {
  const map = new Map<string, KeywordDef<T>>();
  for (const d of defs) map.set(d.name, d);
  ALL_TABLES.push({ name, names: defs.map((d) => d.name) });
  return { name, defs: map };
}

const ALL_TABLES: { name: string; names: string[] }[] = [];

interface DefOpts {
  readonly min?: number;
  readonly max?: number;
  readonly repeatable?: boolean;
}

/** A keyword with arguments on its line (`priority 100`). */
export function value<T>(name: string, opts: DefOpts, run: (t: T, args: Token[], ctx: Ctx) => void): KeywordDef<T> {
  return {
    name,
    minArgs: opts.min ?? 1,
    maxArgs: opts.max ?? opts.min ?? 1,
    block: false,
    repeatable: opts.repeatable ?? false,
    status: 'ok',
    run: (t, args, ctx) => run(t, args, ctx),
  };
}

/** A keyword followed by `{ ... }`. */
export function block<T>(name: string, opts: DefOpts, run: (t: T, args: Token[], ctx: Ctx, body: Body) => void): KeywordDef<T> {
  return {
    name,
    minArgs: opts.min ?? 0,
    maxArgs: opts.max ?? opts.min ?? 0,
    block: true,
    repeatable: opts.repeatable ?? false,
    status: 'ok',
    run,
  };
}

/** Accepted, warned about, no effect. `hasBlock`: the keyword opens a block whose body is skipped. */
export function ignored<T>(name: string, note: string, hasBlock = false): KeywordDef<T> {
  return { name, minArgs: 0, maxArgs: Infinity, block: hasBlock, repeatable: true, status: 'ignored', note, run: () => {} };
}

/** Recognised and refused with an explanation. */
export function unsupported<T>(name: string, note: string, hasBlock = false): KeywordDef<T> {
  return { name, minArgs: 0, maxArgs: Infinity, block: hasBlock, repeatable: true, status: 'unsupported', note, run: () => {} };
}

function isOpen(t: Token | undefined): boolean {
  return t !== undefined && !t.quoted && t.text === '{';
}
function isClose(t: Token | undefined): boolean {
  return t !== undefined && !t.quoted && t.text === '}';
}

/** Levenshtein distance, bounded use only (keyword names are short). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min((prev[j] ?? 0) + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] ?? 0;
}

export function suggest(word: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  for (const n of names) {
    const d = distance(word, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return bestD <= limit ? best : undefined;
}

/** Recursive-descent walk over the token stream, driven by the keyword tables. */
export class Parser {
  readonly #toks: readonly Token[];
  readonly #diag: Diagnostics;
  readonly #source: ConfigSource;
  #i = 0;

  constructor(tokens: readonly Token[], diag: Diagnostics, source: ConfigSource) {
    this.#toks = tokens;
    this.#diag = diag;
    this.#source = source;
  }

  /** Parses the whole stream as the body of the top-level table. */
  parseTop<T>(top: Table<T>, target: T): void {
    this.#body(top, target, undefined, top.name);
  }

  /** Everything on the same physical line as `t` from the cursor on, up to a brace. */
  #lineRest(t: Token): Token[] {
    const out: Token[] = [];
    while (this.#i < this.#toks.length) {
      const n = this.#toks[this.#i];
      if (n === undefined || n.lineId !== t.lineId || isOpen(n) || isClose(n)) break;
      out.push(n);
      this.#i++;
    }
    return out;
  }

  /** Skips a balanced `{ ... }` starting at the cursor (which must be on `{`). */
  #skipBlock(): void {
    let depth = 0;
    while (this.#i < this.#toks.length) {
      const t = this.#toks[this.#i++];
      if (isOpen(t)) depth++;
      else if (isClose(t)) {
        depth--;
        if (depth === 0) return;
      }
    }
  }

  /** Consumes the `}` that ended a body (#body already reported a missing one). */
  #close(): void {
    if (isClose(this.#toks[this.#i])) this.#i++;
  }

  #body<T>(tbl: Table<T>, target: T, open: Token | undefined, where: string): void {
    const seen = new Map<string, Location>();
    while (this.#i < this.#toks.length) {
      const tok = this.#toks[this.#i];
      if (tok === undefined) break;
      if (isClose(tok)) {
        if (open) return;
        this.#diag.error(tok, `extra '}' with no block to close`);
        this.#i++;
        continue;
      }
      if (isOpen(tok)) {
        this.#diag.error(tok, `unexpected '{' (no keyword opens a block here)`);
        this.#skipBlock();
        continue;
      }
      this.#i++;
      const args = this.#lineRest(tok);
      this.#keyword(tbl, target, tok, args, seen, where);
    }
    if (open) this.#diag.error(open, `missing '}' for the block opened here`);
  }

  #keyword<T>(tbl: Table<T>, target: T, tok: Token, args: Token[], seen: Map<string, Location>, where: string): void {
    const def = tbl.defs.get(tok.text);
    // A `{` on this line, or as the first token of the next line, opens a block.
    const next = this.#toks[this.#i];
    const opensBlock = isOpen(next);
    if (!def) {
      this.#diag.error(tok, unknownMessage(tok.text, tbl.name, [...tbl.defs.keys()], where));
      if (opensBlock) this.#skipBlock();
      return;
    }
    if (def.status !== 'ok') {
      const msg = def.status === 'ignored'
        ? `'${def.name}' is accepted for compatibility but ignored by ha-agent (${def.note ?? 'no effect'})`
        : `'${def.name}' is not supported by ha-agent: ${def.note ?? 'not implemented'}`;
      if (def.status === 'ignored') this.#diag.warning(tok, msg);
      else this.#diag.error(tok, msg);
      if (opensBlock) this.#skipBlock();
      return;
    }
    const prev = seen.get(def.name);
    if (prev && !def.repeatable) {
      this.#diag.error(tok, `'${def.name}' given twice in ${where} (first at line ${prev.line})`);
    } else {
      seen.set(def.name, tok);
    }
    if (args.length < def.minArgs || args.length > def.maxArgs) {
      const want = def.minArgs === def.maxArgs ? `${def.minArgs}`
        : def.maxArgs === Infinity ? `at least ${def.minArgs}` : `${def.minArgs} to ${def.maxArgs}`;
      this.#diag.error(tok, `'${def.name}' expects ${want} argument${want === '1' ? '' : 's'}, got ${args.length}`);
      if (opensBlock) this.#skipBlock();
      return;
    }
    const ctx: Ctx = { diag: this.#diag, source: this.#source, at: tok };
    if (!def.block) {
      if (opensBlock && next?.lineId === tok.lineId) {
        this.#diag.error(next, `'${def.name}' does not take a block`);
        this.#skipBlock();
        return;
      }
      def.run(target, args, ctx, NO_BODY);
      return;
    }
    if (!opensBlock || next === undefined) {
      this.#diag.error(tok, `'${def.name}' must be followed by '{'`);
      return;
    }
    this.#i++;
    let used = false;
    const childWhere = args.length > 0 ? `${def.name} ${args[0]?.text ?? ''}` : def.name;
    const body: Body = {
      table: (t, c) => {
        used = true;
        this.#body(t, c, next, childWhere);
        this.#close();
      },
      items: (fn) => {
        used = true;
        this.#items(fn, next, childWhere);
      },
    };
    def.run(target, args, ctx, body);
    if (!used) {
      this.#i--;
      this.#skipBlock();
    }
  }

  #items(fn: (words: Token[]) => void, open: Token, where: string): void {
    while (this.#i < this.#toks.length) {
      const tok = this.#toks[this.#i];
      if (tok === undefined) break;
      if (isClose(tok)) {
        this.#i++;
        return;
      }
      if (isOpen(tok)) {
        this.#diag.error(tok, `unexpected '{' inside ${where}`);
        this.#skipBlock();
        continue;
      }
      fn(this.#lineRest(tok));
    }
    this.#diag.error(open, `missing '}' for the block opened here`);
  }

}

const NO_BODY: Body = {
  table: () => {},
  items: () => {},
};

function unknownMessage(word: string, tableName: string, names: readonly string[], where: string): string {
  const msg = `unknown keyword '${word}' in ${where}`;
  const elsewhere = ALL_TABLES.find((t) => t.name !== tableName && t.names.includes(word));
  if (elsewhere) return `${msg}; '${word}' belongs in ${elsewhere.name}`;
  const s = suggest(word, names);
  return s ? `${msg}; did you mean '${s}'?` : msg;
}
