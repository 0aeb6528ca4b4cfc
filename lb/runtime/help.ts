// The CLI's usage listing: `help [words]` and the answer to an unknown command, shaped as HAProxy
// 2.6 prints them (header line, "  %-40s: %s" rows in alphabetical order, then help/prompt/quit).
// Pure functions over a list of entries, so the differential test can feed them HAProxy's own
// keyword list and compare the suggestions with what haproxy answers.

export interface HelpEntry {
  /** Keyword words, e.g. ['show', 'servers', 'state']. */
  readonly words: readonly string[];
  /** Left column, e.g. "show servers state [<backend>]". */
  readonly usage: string;
  /** Right column. */
  readonly help: string;
  /** help, prompt and quit: always listed last, never suggested (HAProxy prints them apart). */
  readonly tail?: boolean;
}

export const HELP_HEADER = 'The following commands are valid at this level:\n';
export const UNKNOWN_HEADER = 'Unknown command. Please enter one of the following commands only:\n';
export const FUZZY_HEADER = 'Unknown command, but maybe one of the following ones is a better match:\n';

/** At most this many suggestions for a mistyped word (HAProxy shows up to 5). */
const MAX_SUGGESTIONS = 5;

export function helpLine(e: HelpEntry): string {
  return `  ${e.usage.padEnd(40)}: ${e.help}\n`;
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Character classes of the word fingerprint: letters 1..26 (case-insensitive), digits 27, anything
// else 28, which also marks the start and the end of a word.
function charClass(code: number): number {
  if (code >= 97 && code <= 122) return code - 96;
  if (code >= 65 && code <= 90) return code - 64;
  if (code >= 48 && code <= 57) return 27;
  return 28;
}

/**
 * Adds a word to a fingerprint: the counts of every pair of consecutive character classes, the
 * word's start and end included. Two words are close when few pairs differ, which tolerates typos,
 * swapped letters and truncation better than a prefix test (the idea of HAProxy's CLI suggestions).
 */
export function addWordFingerprint(fp: Int32Array, word: string): void {
  let from = 28;
  for (let i = 0; i < word.length; i++) {
    const to = charClass(word.charCodeAt(i));
    fp[to] = 1; // row 0 records which classes occur at all
    fp[from * 32 + to] = (fp[from * 32 + to] ?? 0) + 1;
    from = to;
  }
  fp[from * 32 + 28] = (fp[from * 32 + 28] ?? 0) + 1;
}

export function fingerprintDistance(a: Int32Array, b: Int32Array): number {
  let d = 0;
  for (let i = 0; i < 1024; i++) d += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return d;
}

/** Number of leading words of `args` equal to the entry's words. */
function exactPrefix(e: HelpEntry, args: readonly string[], limit: number): number {
  let i = 0;
  while (i < limit && i < e.words.length && i < args.length && args[i] !== '' && e.words[i] === args[i]) i++;
  return i;
}

/**
 * The listing for `help ARGS` (isHelp) or for the unknown command ARGS. The longest run of exactly
 * matching leading words selects a family ("show servers ..."); a non-matching word after it is
 * compared by fingerprint with the rest of each family member, and the closest ones are suggested.
 */
export function usageMessage(entries: readonly HelpEntry[], args: readonly string[], isHelp: boolean): string {
  const sorted = entries.filter((e) => e.tail !== true).sort((a, b) => compareBytes(a.words.join(' '), b.words.join(' ')));
  const tail = entries.filter((e) => e.tail === true);
  // help/prompt/quit count for the matching words ("help help" matches one word, then lists
  // nothing but the tail) although they are never listed as candidates.
  let length = 0;
  for (const e of entries) length = Math.max(length, exactPrefix(e, args, Infinity));

  let out: string;
  if (isHelp) out = HELP_HEADER;
  else if (length === 0 && (args.length === 0 || args[0] === '')) out = UNKNOWN_HEADER;
  else out = FUZZY_HEADER;

  const family = sorted.filter((e) => exactPrefix(e, args, length) === length);
  const next = args[length];
  if (next !== undefined && next !== '') {
    const wordSig = new Int32Array(1024);
    let argLen = 0;
    for (let i = length; i < args.length && args[i] !== ''; i++) {
      addWordFingerprint(wordSig, args[i] ?? '');
      argLen += (args[i] ?? '').length;
    }
    const best: { e: HelpEntry; dist: number }[] = [];
    for (const e of family) {
      const sig = new Int32Array(1024);
      let totlen = argLen;
      for (let i = length; i < e.words.length; i++) {
        addWordFingerprint(sig, e.words[i] ?? '');
        totlen += (e.words[i] ?? '').length;
      }
      const dist = fingerprintDistance(wordSig, sig);
      // Far-fetched candidates (distance over 2.5 times the compared length) are never proposed.
      if (dist >= Math.floor((5 * totlen) / 2)) continue;
      best.push({ e, dist });
      best.sort((a, b) => a.dist - b.dist);
      if (best.length > MAX_SUGGESTIONS) best.length = MAX_SUGGESTIONS;
    }
    // Keep only candidates within 2.5 times the best distance, listed in alphabetical order.
    const first = best[0];
    const kept = new Set(first === undefined ? [] : best.filter((m) => m.dist <= Math.floor((5 * first.dist) / 2)).map((m) => m.e));
    for (const e of sorted) if (kept.has(e)) out += helpLine(e);
  } else {
    for (const e of family) out += helpLine(e);
  }
  for (const e of tail) out += helpLine(e);
  return out;
}
