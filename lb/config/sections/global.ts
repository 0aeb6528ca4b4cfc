// Keyword table of the `global` section (configuration manual chapter 3).
import type { KeywordDef, KwContext } from '../keywords.ts';
import { KeywordTable } from '../keywords.ts';
import type { GlobalSection, StatsSocket } from '../model.ts';
import { address, alert, int, need, parseLog, size, time } from './common.ts';

export interface GlobalCtx extends KwContext {
  readonly global: GlobalSection;
}

export function emptyGlobal(): GlobalSection {
  return { log: [], statsSockets: [], tune: {} };
}

type Def = KeywordDef<GlobalCtx>;
const G = ['global'] as const;

function flag(name: string, set: (g: GlobalSection) => void): Def {
  return {
    name,
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      if (args.length > 1) alert(ctx, `'${name}' expects no argument.`);
      else set(ctx.global);
    },
  };
}

function str(name: string, set: (g: GlobalSection, v: string) => void): Def {
  return {
    name,
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      if (!need(ctx, args, 2, 'a string argument')) return;
      if (args.length > 2) {
        alert(ctx, `'${name}' : unexpected argument '${args[2] ?? ''}'.`);
        return;
      }
      set(ctx.global, args[1] ?? '');
    },
  };
}

const STATS_LEVELS = ['user', 'operator', 'admin'] as const;

const SSL_BIND_OPTIONS = new Set([
  'no-sslv3', 'no-tlsv10', 'no-tlsv11', 'no-tlsv12', 'no-tlsv13', 'force-sslv3', 'force-tlsv10', 'force-tlsv11', 'force-tlsv12', 'force-tlsv13',
  'no-tls-tickets', 'prefer-client-ciphers', 'strict-sni',
]);
const TLS_VERSIONS = new Set(['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

function sslOptions(args: readonly string[], ctx: GlobalCtx): string[] | undefined {
  const out: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === 'ssl-min-ver' || a === 'ssl-max-ver') {
      const v = args[i + 1];
      if (v === undefined || !TLS_VERSIONS.has(v)) return alert(ctx, `'${ctx.keyword}' : '${a}' : unknown ssl/tls version string '${v ?? ''}'.`);
      out.push(a, v);
      i++;
    } else if (SSL_BIND_OPTIONS.has(a)) out.push(a);
    else return alert(ctx, `'${ctx.keyword}' : unknown or unsupported option '${a}'.`);
  }
  return out;
}

const TUNE_SIZES = new Set(['tune.bufsize', 'tune.maxrewrite', 'tune.http.maxhdr', 'tune.ssl.cachesize', 'tune.ssl.default-dh-param', 'tune.maxaccept', 'tune.http.cookielen', 'tune.ssl.maxrecord']);

const DEFS: readonly Def[] = [
  {
    name: 'log',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const t = parseLog(args, ctx, false);
      if (t !== undefined) ctx.global.log.push(t);
    },
  },
  str('chroot', (g, v) => (g.chroot = v)),
  str('pidfile', (g, v) => (g.pidfile = v)),
  str('user', (g, v) => (g.user = v)),
  str('group', (g, v) => (g.group = v)),
  flag('daemon', (g) => (g.daemon = true)),
  flag('master-worker', (g) => (g.masterWorker = true)),
  {
    name: 'maxconn',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const v = int(ctx, args[1], 1, 2 ** 31 - 1);
      if (v !== undefined) ctx.global.maxconn = v;
    },
  },
  {
    name: 'nbthread',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const v = int(ctx, args[1], 1, 4096);
      if (v !== undefined) ctx.global.nbthread = v;
    },
  },
  {
    name: 'stats socket',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      if (!need(ctx, args, 3, '<path> or <address:port> as argument')) return;
      const addr = address(ctx, args[2], { port: 'optional' }, 'stats socket');
      if (addr === undefined) return;
      if ((addr.family === 'ipv4' || addr.family === 'ipv6') && addr.port === undefined) {
        alert(ctx, `'stats socket' : missing port number in '${args[2] ?? ''}'.`);
        return;
      }
      const s: StatsSocket = { address: addr, loc: ctx.where };
      for (let i = 3; i < args.length; i++) {
        const k = args[i] ?? '';
        const v = args[i + 1];
        if (k === 'mode') {
          if (v === undefined || !/^[0-7]{1,4}$/.test(v)) {
            alert(ctx, `'stats socket' : 'mode' expects an octal mode, got '${v ?? ''}'.`);
            return;
          }
          s.mode = v;
        } else if (k === 'level') {
          const level = STATS_LEVELS.find((l) => l === v);
          if (level === undefined) {
            alert(ctx, `'stats socket' : 'level' only supports 'user', 'operator', and 'admin' (got '${v ?? ''}').`);
            return;
          }
          s.level = level;
        } else if (k === 'expose-fd') {
          if (v !== 'listeners') {
            alert(ctx, `'stats socket' : 'expose-fd' only supports 'listeners'.`);
            return;
          }
          s.expose = v;
        } else if (k === 'user' || k === 'group' || k === 'uid' || k === 'gid' || k === 'name' || k === 'maxconn' || k === 'process' || k === 'thread') {
          if (v === undefined) {
            alert(ctx, `'stats socket' : '${k}' expects an argument.`);
            return;
          }
        } else {
          alert(ctx, `'stats socket' : unknown keyword '${k}'.`);
          return;
        }
        i++;
      }
      ctx.global.statsSockets.push(s);
    },
  },
  {
    name: 'stats timeout',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const v = time(ctx, args[2], 'stats timeout');
      if (v === undefined) return;
      if (v === 0) alert(ctx, "'stats timeout' expects a positive value.");
      else ctx.global.statsTimeout = v;
    },
  },
  str('ssl-default-bind-ciphers', (g, v) => (g.sslDefaultBindCiphers = v)),
  str('ssl-default-bind-ciphersuites', (g, v) => (g.sslDefaultBindCiphersuites = v)),
  str('ssl-default-server-ciphers', (g, v) => (g.sslDefaultServerCiphers = v)),
  {
    name: 'ssl-default-bind-options',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const o = sslOptions(args, ctx);
      if (o !== undefined) ctx.global.sslDefaultBindOptions = o;
    },
  },
  {
    name: 'ssl-default-server-options',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const o = sslOptions(args, ctx);
      if (o !== undefined) ctx.global.sslDefaultServerOptions = o;
    },
  },
  ...[...TUNE_SIZES].map(
    (name): Def => ({
      name,
      sections: G,
      runtime: 'ready',
      parse(args, ctx) {
        const v = name === 'tune.bufsize' || name === 'tune.maxrewrite' ? size(ctx, args[1]) : int(ctx, args[1], 0, 2 ** 31 - 1);
        if (v !== undefined) ctx.global.tune[name] = v;
      },
    }),
  ),
  {
    name: 'spread-checks',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      const v = args[1] === undefined ? NaN : Number(args[1]);
      if (args.length !== 2 || !/^[0-9]+$/.test(args[1] ?? '') || v > 50) {
        alert(ctx, "'spread-checks' needs a positive value in range 0..50.");
        return;
      }
      ctx.global.spreadChecks = v;
    },
  },
  {
    name: 'setenv',
    sections: G,
    runtime: 'ready',
    parse(args, ctx) {
      if (!need(ctx, args, 3, '<name> and <value> as arguments')) return;
      (ctx.global.env ??= {})[args[1] ?? ''] = args[2] ?? '';
    },
  },
];

/** HAProxy global keywords lb recognises but does not parse. */
const UNSUPPORTED = [
  'ca-base', 'crt-base', 'cpu-map', 'lua-load', 'lua-load-per-thread', 'lua-prepend-path', 'nbproc', 'node', 'description', 'hard-stop-after',
  'h1-case-adjust', 'h1-case-adjust-file', 'mworker-max-reloads', 'set-var', 'presetenv', 'unsetenv', 'resetenv', 'ssl-server-verify',
  'server-state-file', 'server-state-base', 'ulimit-n', 'uid', 'gid', 'localpeer', 'insecure-fork-wanted', 'insecure-setuid-wanted',
  'expose-experimental-directives', 'quiet', 'zero-warning', 'log-send-hostname', 'log-tag', 'external-check', 'unix-bind',
  'ssl-dh-param-file', 'ssl-engine', 'ssl-mode-async', 'maxsslconn', 'maxconnrate', 'maxsessrate', 'maxsslrate', 'maxpipes', 'maxcomprate',
  'maxcompcpuusage', 'maxzlibmem', 'noepoll', 'nopoll', 'nosplice', 'nogetaddrinfo', 'noreuseport', 'busy-polling', 'profiling.tasks',
  'stats bind-process', 'stats maxconn', 'tune.ssl.lifetime', 'tune.h2.max-concurrent-streams', 'tune.idletimer', 'tune.lua.session-timeout',
  'tune.rcvbuf.client', 'tune.rcvbuf.server', 'tune.sndbuf.client', 'tune.sndbuf.server', 'tune.ssl.cachesize', 'numa-cpu-mapping',
  'strict-limits', 'thread-groups', 'deviceatlas-json-file', '51degrees-data-file', 'wurfl-data-file', 'debug', 'grace', 'chksize',
  'httpclient.ssl.verify', 'httpclient.resolvers.id', 'issuers-chain-path', 'ssl-load-extra-files', 'ssl-skip-self-issued-ca', 'stats bind',
];

export const GLOBAL_KEYWORDS = new KeywordTable<GlobalCtx>('global', DEFS, UNSUPPORTED);
