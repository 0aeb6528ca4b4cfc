// Small helpers shared by the keyword tables: each validates one value, reports a diagnostic in
// haproxy's words at the keyword's line, and returns undefined on error so callers stay linear.
import { accessSync, constants, statSync } from 'node:fs';
import { LB_ERROR_CODES } from '../../errors.ts';
import type { KwContext } from '../keywords.ts';
import type { LogTarget } from '../model.ts';
import { parseAddress, parseCidr, parseInteger, parseSize, parseTime, type Address, type AddressOptions, type Cidr } from '../values.ts';

export function alert(ctx: KwContext, msg: string): undefined {
  ctx.diags.alert(ctx.where, msg, LB_ERROR_CODES.ERR_LB_CONFIG_VALUE);
  return undefined;
}

/** Requires `args.length >= n`; reports `'kw' expects USAGE.` otherwise. */
export function need(ctx: KwContext, args: readonly string[], n: number, usage: string): boolean {
  if (args.length >= n && args.slice(0, n).every((a) => a !== '')) return true;
  alert(ctx, `'${ctx.keyword}' expects ${usage}.`);
  return false;
}

export function time(ctx: KwContext, text: string | undefined, what = ctx.keyword): number | undefined {
  if (text === undefined) return alert(ctx, `'${what}' expects a time value as argument.`);
  const r = parseTime(text);
  return r.ok ? r.value : alert(ctx, `'${what}' : ${r.error}.`);
}

export function size(ctx: KwContext, text: string | undefined, what = ctx.keyword): number | undefined {
  if (text === undefined) return alert(ctx, `'${what}' expects a size as argument.`);
  const r = parseSize(text);
  return r.ok ? r.value : alert(ctx, `'${what}' : ${r.error}.`);
}

export function int(ctx: KwContext, text: string | undefined, min: number, max: number, what = ctx.keyword): number | undefined {
  if (text === undefined) return alert(ctx, `'${what}' expects an integer argument.`);
  const r = parseInteger(text, min, max);
  return r.ok ? r.value : alert(ctx, `'${what}' : ${r.error}.`);
}

export function address(ctx: KwContext, text: string | undefined, opts: AddressOptions, what = ctx.keyword): Address | undefined {
  if (text === undefined) return alert(ctx, `'${what}' expects an address as argument.`);
  const r = parseAddress(text, opts);
  return r.ok ? r.value : alert(ctx, `'${what}' : ${r.error}`);
}

export function cidr(ctx: KwContext, text: string | undefined, what = ctx.keyword): Cidr | undefined {
  if (text === undefined) return alert(ctx, `'${what}' expects a network address as argument.`);
  const r = parseCidr(text);
  return r.ok ? r.value : alert(ctx, `'${what}' : ${r.error}.`);
}

/** The `code` of a Node system error (ENOENT, EACCES...), if any. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

export function mapped(ctx: KwContext, path: string): string {
  return ctx.opts.mapPath === undefined ? path : ctx.opts.mapPath(path);
}

/** A regular file we can read, as haproxy checks for errorfile/ca-file. */
export function readableFile(ctx: KwContext, path: string): boolean {
  try {
    const p = mapped(ctx, path);
    accessSync(p, constants.R_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(ctx: KwContext, path: string): boolean {
  try {
    return statSync(mapped(ctx, path)).isDirectory();
  } catch {
    return false;
  }
}

const FACILITIES = new Set([
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'auth2', 'ftp', 'ntp', 'audit', 'alert', 'cron2',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
]);
const LEVELS = new Set(['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug']);

/** `log <target> [len N] [format F] [sample R:S] <facility> [max level [min level]]`, or `log global`. */
export function parseLog(args: readonly string[], ctx: KwContext, allowGlobal: boolean): LogTarget | undefined {
  const a1 = args[1];
  if (a1 === 'global') {
    if (!allowGlobal) return alert(ctx, "'log global' is not permitted in the global section.");
    return { global: true };
  }
  if (a1 === undefined) return alert(ctx, "'log' expects either <address[:port]> and <facility> or 'global' as arguments.");
  const t: LogTarget = { address: a1 };
  const options: string[] = [];
  let i = 2;
  while (i < args.length && (args[i] === 'len' || args[i] === 'format' || args[i] === 'sample')) {
    const v = args[i + 1];
    if (v === undefined) return alert(ctx, `'log' : missing value after '${args[i] ?? ''}'.`);
    if (args[i] === 'len' && int(ctx, v, 80, 65535, 'log len') === undefined) return undefined;
    options.push(args[i] ?? '', v);
    i += 2;
  }
  const fac = args[i];
  if (fac === undefined) return alert(ctx, "'log' expects <address[:port]> and <facility> as arguments.");
  if (!FACILITIES.has(fac)) return alert(ctx, `unknown log facility '${fac}'`);
  t.facility = fac;
  const lvl = args[i + 1];
  if (lvl !== undefined) {
    if (!LEVELS.has(lvl)) return alert(ctx, `unknown optional log level '${lvl}'`);
    t.level = lvl;
    const min = args[i + 2];
    if (min !== undefined) {
      if (!LEVELS.has(min)) return alert(ctx, `unknown optional minimum log level '${min}'`);
      t.minLevel = min;
    }
    if (args.length > i + 3) return alert(ctx, `'log' : unexpected argument '${args[i + 3] ?? ''}'.`);
  }
  if (options.length > 0) t.options = options;
  return t;
}
