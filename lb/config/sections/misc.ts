// Keyword tables of the small sections: peers, userlist, http-errors, and resolvers (parsed so the
// file stays readable, then reported unsupported as a whole by the parser).
import { LB_ERROR_CODES } from '../../errors.ts';
import { KeywordTable, type KeywordDef, type KwContext } from '../keywords.ts';
import type { HttpErrorsSection, PeersSection, Userlist } from '../model.ts';
import { address, alert, need, readableFile } from './common.ts';
import { HANDLED_STATUS } from './rules.ts';

export interface PeersCtx extends KwContext {
  readonly peers: PeersSection;
}
export interface UserlistCtx extends KwContext {
  readonly userlist: Userlist;
}
export interface HttpErrorsCtx extends KwContext {
  readonly httpErrors: HttpErrorsSection;
}
/** resolvers sections are only syntax-checked; nothing is stored. */
export type ResolversCtx = KwContext;

export const PEERS_KEYWORDS = new KeywordTable<PeersCtx>(
  'peers',
  [
    {
      name: 'peer',
      sections: ['peers'],
      runtime: 'pending',
      parse(args, ctx) {
        if (!need(ctx, args, 3, '<name> and <addr:port> as arguments')) return;
        const a = address(ctx, args[2], { port: 'required' }, `peer ${args[1] ?? ''}`);
        if (a === undefined) return;
        if (ctx.peers.peers.some((p) => p.name === args[1])) {
          alert(ctx, `peer '${args[1] ?? ''}' is already defined in peers section '${ctx.peers.name}'.`);
          return;
        }
        ctx.peers.peers.push({ name: args[1] ?? '', address: a, loc: ctx.where });
      },
    },
  ] satisfies KeywordDef<PeersCtx>[],
  ['bind', 'server', 'default-server', 'default-bind', 'disabled', 'enabled', 'log', 'shards', 'table'],
);

export const USERLIST_KEYWORDS = new KeywordTable<UserlistCtx>('userlist', [
  {
    name: 'user',
    sections: ['userlist'],
    runtime: 'ready',
    parse(args, ctx) {
      if (!need(ctx, args, 2, '<username> as argument')) return;
      const u: Userlist['users'][number] = { name: args[1] ?? '', password: '', insecure: false, groups: [] };
      for (let i = 2; i < args.length; i++) {
        const k = args[i];
        const v = args[i + 1];
        if ((k === 'password' || k === 'insecure-password' || k === 'groups') && v !== undefined) {
          if (k === 'groups') u.groups = v.split(',');
          else {
            u.password = v;
            u.insecure = k === 'insecure-password';
          }
          i++;
        } else {
          alert(ctx, `'user' only supports 'password', 'insecure-password' and 'groups' (got '${k ?? ''}').`);
          return;
        }
      }
      if (ctx.userlist.users.some((x) => x.name === u.name)) {
        alert(ctx, `user '${u.name}' is already defined in userlist '${ctx.userlist.name}'.`);
        return;
      }
      ctx.userlist.users.push(u);
    },
  },
  {
    name: 'group',
    sections: ['userlist'],
    runtime: 'ready',
    parse(args, ctx) {
      if (!need(ctx, args, 2, '<groupname> as argument')) return;
      const users = args[2] === 'users' && args[3] !== undefined ? args[3].split(',') : [];
      ctx.userlist.groups.push({ name: args[1] ?? '', users });
    },
  },
]);

export const HTTP_ERRORS_KEYWORDS = new KeywordTable<HttpErrorsCtx>('http-errors', [
  {
    name: 'errorfile',
    sections: ['http-errors'],
    runtime: 'ready',
    parse(args, ctx) {
      if (args.length !== 3) {
        alert(ctx, 'errorfile : <code> <file> expected.');
        return;
      }
      const code = Number(args[1]);
      if (!HANDLED_STATUS.has(code)) {
        alert(ctx, `errorfile : status code '${args[1] ?? ''}' not handled.`);
        return;
      }
      if (!readableFile(ctx, args[2] ?? '')) {
        ctx.diags.alert(ctx.where, `errorfile : error opening file '${args[2] ?? ''}'.`, LB_ERROR_CODES.ERR_LB_CONFIG_FILE);
        return;
      }
      ctx.httpErrors.errorfiles[String(code)] = args[2] ?? '';
    },
  },
]);

const accept = (name: string): KeywordDef<ResolversCtx> => ({ name, sections: ['resolvers'], runtime: 'pending', parse() {} });

export const RESOLVERS_KEYWORDS = new KeywordTable<ResolversCtx>(
  'resolvers',
  ['nameserver', 'parse-resolv-conf', 'accepted_payload_size', 'resolve_retries', 'hold', 'timeout', 'resolution_pool_size'].map(accept),
);
