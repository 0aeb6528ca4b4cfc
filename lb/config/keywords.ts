// The keyword registry (DESIGN.md principle 1, after HAProxy's cfg_kws): each section family exports
// a table of KeywordDef; the parser only looks keywords up. Multi-word keywords (`timeout connect`,
// `option httplog`, `stats socket`) are registered under their full name and found by their first
// two words. An unknown keyword gets a did-you-mean; a keyword HAProxy has but lb does not parse
// gets "not supported by lb"; a keyword parsed but not yet enforced at runtime gets a warning.
import { LB_ERROR_CODES, type LbErrorCode } from '../errors.ts';
import type { Diagnostics } from './diagnostics.ts';
import type { Loc, SectionKind } from './model.ts';

export interface ParseOptions {
  /** Environment used for `"${VAR}"` expansion and `.if defined(VAR)`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Maps a path named in the configuration to the path to open (tests map /etc/haproxy/...). */
  readonly mapPath?: (path: string) => string;
}

/** What every keyword parser receives besides its words. */
export interface KwContext {
  readonly where: Loc;
  readonly diags: Diagnostics;
  readonly opts: ParseOptions;
  /** The full keyword as registered (`timeout connect`). */
  readonly keyword: string;
}

export interface KeywordDef<C extends KwContext> {
  /** One or two words. */
  readonly name: string;
  /** For proxy keywords: where HAProxy allows it. Other families list their one section. */
  readonly sections: readonly SectionKind[];
  /** 'pending': parsed into the model but not yet enforced by the running lb (warning at -c). */
  readonly runtime: 'ready' | 'pending';
  /** Used in a proxy lacking the capability: haproxy alerts for some keywords, warns for others. */
  readonly capError?: 'alert' | 'warning';
  /** `args[0]` is the first word of the keyword; the keyword's own words are included. */
  parse(args: readonly string[], ctx: C): void;
}

export type LookupResult<C extends KwContext> =
  | { kind: 'found'; def: KeywordDef<C> }
  | { kind: 'unknown'; suggestion?: string }
  | { kind: 'unknown-sub'; family: string; suggestion?: string }
  | { kind: 'unsupported'; name: string };

/** Levenshtein distance, bounded: returns max+1 as soon as it cannot be <= max. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev: number[] = Array.from({ length: b.length + 1 }, () => 0);
  let cur: number[] = Array.from({ length: b.length + 1 }, () => 0);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] ?? max + 1;
}

/** The closest candidate within a distance that grows with the word's length, if any. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const max = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    const d = editDistance(word, c, max);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

export class KeywordTable<C extends KwContext> {
  readonly label: string;
  // Values are the ready-made 'found' results: a lookup runs once per configuration line.
  readonly #single = new Map<string, { kind: 'found'; def: KeywordDef<C> }>();
  readonly #families = new Map<string, Map<string, { kind: 'found'; def: KeywordDef<C> }>>();
  readonly #unsupported: ReadonlySet<string>;

  /** `unsupported` lists HAProxy keywords (one or two words) that lb recognises but rejects. */
  constructor(label: string, defs: readonly KeywordDef<C>[], unsupported: readonly string[] = []) {
    this.label = label;
    for (const d of defs) {
      const sp = d.name.indexOf(' ');
      const found = { kind: 'found' as const, def: d };
      if (sp < 0) this.#single.set(d.name, found);
      else {
        const fam = d.name.slice(0, sp);
        let m = this.#families.get(fam);
        if (m === undefined) this.#families.set(fam, (m = new Map()));
        m.set(d.name.slice(sp + 1), found);
      }
    }
    this.#unsupported = new Set(unsupported);
  }

  /** `extra` adds did-you-mean candidates (section names, which are valid anywhere). */
  lookup(args: readonly string[], extra: readonly string[] = []): LookupResult<C> {
    const w0 = args[0] ?? '';
    const fam = this.#families.get(w0);
    if (fam !== undefined) {
      const w1 = args[1] ?? '';
      const found = fam.get(w1);
      if (found !== undefined) return found;
      if (this.#unsupported.has(`${w0} ${w1}`)) return { kind: 'unsupported', name: `${w0} ${w1}` };
      const single = this.#single.get(w0);
      if (single !== undefined) return single;
      const s = suggest(w1, fam.keys());
      return s === undefined ? { kind: 'unknown-sub', family: w0 } : { kind: 'unknown-sub', family: w0, suggestion: `${w0} ${s}` };
    }
    const found = this.#single.get(w0);
    if (found !== undefined) return found;
    if (this.#unsupported.has(w0)) return { kind: 'unsupported', name: w0 };
    const s = suggest(w0, [...this.#names(), ...extra]);
    return s === undefined ? { kind: 'unknown' } : { kind: 'unknown', suggestion: s };
  }

  /** Is `word` the first word of any keyword of this table? */
  has(word: string): boolean {
    return this.#single.has(word) || this.#families.has(word);
  }

  *#names(): Generator<string> {
    yield* this.#single.keys();
    yield* this.#families.keys();
  }
}

/** Report a lookup failure in HAProxy's words. Returns nothing: the line is skipped. */
export function reportLookupFailure<C extends KwContext>(r: LookupResult<C>, args: readonly string[], section: string, where: Loc, diags: Diagnostics): void {
  const code: LbErrorCode = LB_ERROR_CODES.ERR_LB_CONFIG_UNKNOWN_KEYWORD;
  if (r.kind === 'unknown') {
    const dym = r.suggestion === undefined ? '' : `; did you mean '${r.suggestion}' maybe ?`;
    diags.alert(where, `unknown keyword '${args[0] ?? ''}' in '${section}' section${dym}`, code);
  } else if (r.kind === 'unknown-sub') {
    const dym = r.suggestion === undefined ? '' : `; did you mean '${r.suggestion}' maybe ?`;
    if (r.family === 'option') diags.alert(where, `unknown option '${args[1] ?? ''}'${dym === '' ? '.' : dym}`, code);
    else diags.alert(where, `unknown keyword '${r.family} ${args[1] ?? ''}' in '${section}' section${dym}`, code);
  } else if (r.kind === 'unsupported') {
    diags.alert(where, `'${r.name}' is an HAProxy keyword that is not supported by lb (in '${section}' section).`, LB_ERROR_CODES.ERR_LB_CONFIG_UNSUPPORTED);
  }
}
