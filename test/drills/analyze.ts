// Pure analysis of the client's probe records (probe.ts output): no I/O, unit-tested in
// analyze.test.ts. All times are epoch milliseconds.

export interface ProbeRecord {
  /** Start of the probe. */
  readonly s: number;
  /** End: answer received, error, or timeout. */
  readonly e: number;
  /** Name of the node that answered (success). */
  readonly n?: string;
  /** Failure kind (timeout, ECONNREFUSED, ...). */
  readonly f?: string;
}

/** Parses one probe.ts line; undefined for anything else (never throws). */
export function parseProbeLine(line: string): ProbeRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('s' in v) || !('e' in v)) return undefined;
  const { s, e } = v;
  if (typeof s !== 'number' || typeof e !== 'number') return undefined;
  if ('n' in v && typeof v.n === 'string') return { s, e, n: v.n };
  if ('f' in v && typeof v.f === 'string') return { s, e, f: v.f };
  return undefined;
}

/** The earliest answer (by end time) from `node` that ended at or after `after`. */
export function firstAnswerFrom(probes: readonly ProbeRecord[], node: string, after: number): ProbeRecord | undefined {
  let best: ProbeRecord | undefined;
  for (const p of probes) {
    if (p.n === node && p.e >= after && (best === undefined || p.e < best.e)) best = p;
  }
  return best;
}

/** Failed probes that started in [from, to]. */
export function failedBetween(probes: readonly ProbeRecord[], from: number, to: number): number {
  let n = 0;
  for (const p of probes) if (p.f !== undefined && p.s >= from && p.s <= to) n++;
  return n;
}

/** Probes that started in [from, to]. */
export function probesBetween(probes: readonly ProbeRecord[], from: number, to: number): number {
  let n = 0;
  for (const p of probes) if (p.s >= from && p.s <= to) n++;
  return n;
}

/** True when the last `count` probes that started before `before` all succeeded from `node`. */
export function steadyFrom(probes: readonly ProbeRecord[], node: string, count: number, before = Number.POSITIVE_INFINITY): boolean {
  const recent = probes.filter((p) => p.s < before).toSorted((x, y) => x.s - y.s).slice(-count);
  return recent.length === count && recent.every((p) => p.n === node);
}

/**
 * When the client was served again after `from`: the end time of the first success that follows
 * the last failure started in [from, until]. `from` itself when nothing failed in that span (the
 * client was never interrupted) and some probe succeeded; undefined when the last probe of the span
 * failed, or when nothing succeeded at all (not served again within the window).
 */
export function servedAgainAt(probes: readonly ProbeRecord[], from: number, until: number): number | undefined {
  const span = probes.filter((p) => p.s >= from && p.s <= until).toSorted((x, y) => x.s - y.s);
  let lastFail = -1;
  span.forEach((p, i) => {
    if (p.f !== undefined) lastFail = i;
  });
  const after = span.slice(lastFail + 1);
  const firstOk = after.find((p) => p.n !== undefined);
  if (firstOk === undefined) return undefined;
  return lastFail < 0 ? from : firstOk.e;
}

/** Which node answered the last successful probe that started before `before`. */
export function lastAnswerer(probes: readonly ProbeRecord[], before: number): string | undefined {
  let best: ProbeRecord | undefined;
  for (const p of probes) if (p.n !== undefined && p.s < before && (best === undefined || p.s > best.s)) best = p;
  return best?.n;
}

/** Median of the numbers; undefined for an empty list. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = xs.toSorted((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
