// Each runtime command's exact answer and error texts, on a fake pool. The expected strings are the
// ones Debian's haproxy 2.6.12 printed for the same commands on the same configuration (recorded
// with socat while writing lb/runtime; differential.test.ts replays many of them live).
import test from 'ava';
import { runCommand, parseWeight, COMMANDS, type CliSession } from '../../lb/runtime/commands.ts';
import { INFO_FIELDS, formatUptime, renderInfo } from '../../lb/runtime/info.ts';
import { RuntimeCommandError, type Level } from '../../lb/runtime/context.ts';
import { FakeRuntime, differentialPool } from './fake-context.ts';

const PORTS = { s1: 18081, s2: 18082, s3: 18083, a: 18091, b: 18092 };

function setup(level: Level = 'admin'): { ctx: FakeRuntime; run: (line: string) => string; session: CliSession } {
  const ctx = differentialPool({ web: 3, other: 4, st: 5 }, PORTS);
  const session: CliSession = { level, prompt: false, quit: false };
  return { ctx, session, run: (line) => runCommand(line.split(' ').filter((w) => w !== ''), ctx, session) };
}

test('get weight answers "N (initial M)" and resolves names and #ids', (t) => {
  const { run } = setup('user');
  t.is(run('get weight web/s1'), '50 (initial 50)\n');
  t.is(run('get weight #3/s1'), '50 (initial 50)\n');
  t.is(run('get weight web/#2'), '1 (initial 1)\n');
  t.is(run('get weight st/b'), '4 (initial 4)\n');
});

test('backend/server errors are HAProxy texts', (t) => {
  const { run } = setup();
  for (const cmd of ['get weight', 'disable server', 'enable server', 'set weight', 'set server', 'enable health', 'disable agent']) {
    t.is(run(cmd), "Require 'backend/server'.\n", cmd);
    t.is(run(`${cmd} web`), "Require 'backend/server'.\n", `${cmd} web`);
    t.is(run(`${cmd} web/`), "Require 'backend/server'.\n", `${cmd} web/`);
    t.is(run(`${cmd} nope/s1`), 'No such backend.\n', `${cmd} nope/s1`);
    t.is(run(`${cmd} /s1`), 'No such backend.\n', `${cmd} /s1`);
    t.is(run(`${cmd} web/nope`), 'No such server.\n', `${cmd} web/nope`);
  }
  t.is(run('get weight web/s1/x'), 'No such server.\n');
  t.is(run('get weight 3/1'), 'No such backend.\n', 'a bare number is a name, ids need #');
});

test('set weight: absolute, relative to the initial weight, clamped, and every error text', (t) => {
  const { run, ctx } = setup();
  t.is(run('set weight web/s1 20'), '');
  t.is(run('get weight web/s1'), '20 (initial 50)\n');
  t.is(run('set weight web/s1 50%'), '');
  t.is(run('get weight web/s1'), '25 (initial 50)\n');
  t.is(run('set weight web/s1 33%'), '');
  t.is(run('get weight web/s1'), '16 (initial 50)\n', 'rounded down');
  t.is(run('set weight web/s1 1000%'), '');
  t.is(run('get weight web/s1'), '256 (initial 50)\n', 'capped at 256');
  t.is(run('set weight web/s1 +5'), '');
  t.is(run('get weight web/s1'), '5 (initial 50)\n');
  t.is(run('set server web/s1 weight 20%'), '');
  t.is(run('get weight web/s1'), '10 (initial 50)\n');
  t.is(run('set weight web/s1'), 'Require <weight> or <weight%>.\n');
  t.is(run('set server web/s1 weight'), 'Require <weight> or <weight%>.\n');
  // These two have no '\n' in HAProxy: no empty line follows them on the socket.
  t.is(run('set weight web/s1 abc'), 'Empty weight string empty or preceded by garbage');
  t.is(run('set weight web/s1 %'), 'Empty weight string empty or preceded by garbage');
  t.is(run('set weight web/s1 10%x'), 'Trailing garbage in weight string');
  t.is(run('set weight web/s1 0x10'), 'Trailing garbage in weight string');
  t.is(run('set weight web/s1 257'), 'Absolute weight can only be between 0 and 256 inclusive.\n');
  t.is(run('set weight web/s1 -1'), 'Absolute weight can only be between 0 and 256 inclusive.\n');
  t.is(run('set weight web/s1 99999999999999999999'), 'Absolute weight can only be between 0 and 256 inclusive.\n');
  t.is(run('set weight web/s1 -10%'), 'Relative weight must be positive.\n');
  t.is(run('set weight web/s1 256'), '');
  t.deepEqual(
    ctx.calls.filter((c) => c.startsWith('weight')),
    ['weight web/s1 20', 'weight web/s1 25', 'weight web/s1 16', 'weight web/s1 256', 'weight web/s1 5', 'weight web/s1 10', 'weight web/s1 256'],
  );
});

test('static algorithms take only 0 and the initial weight', (t) => {
  const { run } = setup();
  const refusal = "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  t.is(run('set weight st/b 2'), refusal);
  t.is(run('set weight st/b 50%'), refusal);
  t.is(run('set weight st/b 0%'), '');
  t.is(run('get weight st/b'), '0 (initial 4)\n');
  t.is(run('set weight st/b 4'), '');
  t.is(run('set weight st/b 0'), '');
  t.is(run('set weight st/b 100%'), '');
  t.is(run('get weight st/b'), '4 (initial 4)\n');
});

test('parseWeight follows strtol: leading blanks and sign accepted', (t) => {
  t.is(parseWeight('  7', 50, true), 7);
  t.is(parseWeight('+7', 50, true), 7);
  t.is(parseWeight('1%', 50, true), 0);
  t.throws(() => parseWeight('7 ', 50, true), { instanceOf: RuntimeCommandError, message: 'Trailing garbage in weight string' });
});

test('set server state ready|drain|maint and enable/disable server map onto admin states', (t) => {
  const { run, ctx } = setup();
  t.is(run('set server web/s1 state drain'), '');
  t.is(run('set server web/s1 state maint'), '');
  t.is(run('set server web/s1 state ready'), '');
  t.is(run('disable server web/s1'), '');
  t.is(run('enable server web/s1'), '');
  t.deepEqual(ctx.calls, ['admin web/s1 drain', 'admin web/s1 maint', 'admin web/s1 ready', 'admin web/s1 maint', 'admin web/s1 ready']);
  t.is(run('set server web/s1 state'), "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
  t.is(run('set server web/s1 state up'), "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
  const usage =
    'usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n';
  t.is(run('set server web/s1'), usage);
  t.is(run('set server web/s1 foo'), usage);
  t.is(run('set server web/s1 fqdn x.example'), "'set server <srv> fqdn' is not supported by this lb yet.\n");
  t.is(run('set server nope/s1 state ready'), 'No such backend.\n');
});

test('set server addr: HAProxy messages for every outcome', (t) => {
  const { run, ctx } = setup();
  const by = " by 'stats socket command'\n";
  t.is(run('set server web/s1 addr'), 'set server <b>/<s> addr requires an address and optionally a port.\n');
  t.is(run('set server web/s1 addr localhost'), `Invalid addr 'localhost'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.1:99'), `Invalid addr '127.0.0.1:99'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.1'), `no need to change the addr${by}`);
  t.is(run('set server web/s1 addr 127.0.0.1 port 18081'), `no need to change the addr, no need to change the port${by}`);
  t.is(run('set server web/s1 addr 127.0.0.2'), `IP changed from '127.0.0.1' to '127.0.0.2'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.3 port 18099'), `IP changed from '127.0.0.2' to '127.0.0.3', port changed from '18081' to '18099'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.5 port abc'), `IP changed from '127.0.0.3' to '127.0.0.5', problem converting port 'abc' to an int${by}`);
  t.is(run('set server web/s1 addr 127.0.0.5 port'), `no need to change the addr, problem converting port '' to an int${by}`);
  t.is(run('set server web/s1 addr 127.0.0.5 port 70000'), `no need to change the addr, port changed from '18099' to '4464'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.5 port 18081x'), `no need to change the addr, port changed from '4464' to '18081'${by}`);
  t.is(run('set server web/s1 addr 127.0.0.5 prt 5'), `no need to change the addr${by}`);
  t.is(run('set server web/s1 addr 0:0::1 port 80'), `IP changed from '127.0.0.5' to '::1', port changed from '18081' to '80'${by}`);
  t.is(run('set server web/s1 addr ::ffff:127.0.0.1'), `IP changed from '::1' to '::ffff:127.0.0.1'${by}`);
  t.is(run('set server web/s1 addr ::1.2.3.4'), `IP changed from '::ffff:127.0.0.1' to '::1.2.3.4'${by}`);
  t.true(run('set server web/s1 addr ::1.2.3.4 port +1').startsWith("no need to change the addr, can't change <port> to port map"));
  t.deepEqual(
    ctx.calls,
    [
      'addr web/s1 127.0.0.2 -',
      'addr web/s1 127.0.0.3 18099',
      'addr web/s1 127.0.0.5 -',
      'addr web/s1 127.0.0.5 4464',
      'addr web/s1 127.0.0.5 18081',
      'addr web/s1 ::1 80',
      'addr web/s1 ::ffff:127.0.0.1 -',
      'addr web/s1 ::1.2.3.4 -',
    ],
    'the context is only called for real changes',
  );
});

test('enable/disable health and agent', (t) => {
  const { run, ctx } = setup();
  t.is(run('enable health web/s1'), 'Health check was not configured on this server, cannot enable.\n');
  t.is(run('enable agent web/s1'), 'Agent was not configured on this server, cannot enable.\n');
  t.is(run('disable health web/s2'), '');
  t.is(run('enable health web/s2'), '');
  t.is(run('disable agent web/s1'), '', 'disabling an absent agent is accepted, as in HAProxy');
  t.is(run('enable health'), "Require 'backend/server'.\n");
  t.deepEqual(ctx.calls, ['disable health web/s2', 'enable health web/s2', 'disable agent web/s1']);
});

test('show servers state: version line, header and one HAProxy-format line per server', (t) => {
  const { run, ctx } = setup('user');
  ctx.clock += 8000;
  const header =
    '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n';
  // Lines as haproxy 2.6 printed them for the same servers 8 s after start.
  t.is(
    run('show servers state web'),
    header +
      '3 web 1 s1 127.0.0.1 2 0 50 50 8 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0\n' +
      '3 web 2 s2 127.0.0.1 0 0 1 1 8 8 2 0 6 0 0 0 - 18082 - 0 0 - - 0\n' +
      '3 web 3 s3 127.0.0.1 2 0 1 1 8 1 0 2 0 0 0 0 - 18083 - 0 0 - - 0\n',
  );
  t.is(run('show servers state').split('\n').length, 2 + 5 + 1);
  t.is(run('show servers state #4'), header + '4 other 1 a 127.0.0.1 2 0 1 1 8 1 0 2 0 0 0 0 - 18091 - 0 0 - - 0\n');
  t.is(run('show servers state nope'), "Can't find backend.\n");
  t.is(run('show servers state 4'), "Can't find backend.\n");
});

test('admin changes show up in show servers state (drain = op 2 / admin 8, maint = op 0 / admin 1)', (t) => {
  const { run } = setup();
  const cols = (): string[] => (run('show servers state web').split('\n')[2] ?? '').split(' ');
  t.is(run('set server web/s1 state drain'), '');
  t.deepEqual(cols().slice(5, 7), ['2', '8']);
  t.is(run('set server web/s1 state maint'), '');
  t.deepEqual(cols().slice(5, 7), ['0', '1']);
  t.is(run('set server web/s1 state ready'), '');
  t.deepEqual(cols().slice(5, 7), ['2', '0']);
  t.is(run('disable health web/s2'), '');
  t.is((run('show servers state web').split('\n')[3] ?? '').split(' ')[13], '2', 'check state: configured, not enabled');
});

test('show backend, show env, clear counters', (t) => {
  const { run, ctx } = setup('operator');
  t.is(run('show backend'), '# name\nweb\nother\nst\n');
  t.is(run('show env HOME'), 'HOME=/root\n');
  t.is(run('show env NOPE'), 'Variable not found\n');
  t.is(run('show env'), 'HOME=/root\nPATH=/usr/bin:/bin\n');
  t.is(run('clear counters'), '');
  t.is(run('clear counters all'), 'Permission denied\n', 'all needs admin');
  t.is(run('clear counters foo'), '');
  t.deepEqual(ctx.calls, ['clear', 'clear']);
});

test('levels: user cannot change servers, operator cannot either, user cannot read env', (t) => {
  const user = setup('user');
  const oper = setup('operator');
  for (const cmd of ['disable server web/s1', 'enable server web/s1', 'set server web/s1 state drain', 'set weight web/s1 20%', 'enable health web/s2', 'disable agent web/s1']) {
    t.is(user.run(cmd), 'Permission denied\n', `user: ${cmd}`);
    t.is(oper.run(cmd), 'Permission denied\n', `operator: ${cmd}`);
  }
  t.is(user.run('disable server'), 'Permission denied\n', 'level is checked before arguments');
  t.is(user.run('show env HOME'), 'Permission denied\n');
  t.is(user.run('clear counters'), 'Permission denied\n');
  t.is(user.run('get weight web/s1'), '50 (initial 50)\n');
  t.deepEqual(user.ctx.calls, []);
  t.deepEqual(oper.ctx.calls, []);
});

test('show cli level, and operator/user only lower the level', (t) => {
  const { run, session } = setup();
  t.is(run('show cli level'), 'admin\n');
  t.is(run('operator'), '');
  t.is(run('show cli level'), 'operator\n');
  t.is(run('user'), '');
  t.is(run('show cli level'), 'user\n');
  t.is(run('operator'), 'Permission denied\n');
  t.is(session.level, 'user');
});

test('show info: HAProxy field order and the three renderings', (t) => {
  const { run, ctx } = setup('user');
  const plain = run('show info');
  const names = plain
    .trimEnd()
    .split('\n')
    .map((l) => l.slice(0, l.indexOf(': ')));
  t.deepEqual(names.slice(0, 8), ['Name', 'Version', 'Release_date', 'Nbthread', 'Nbproc', 'Process_num', 'Pid', 'Uptime']);
  t.deepEqual(names.slice(-6), ['Build info', 'Memmax_bytes', 'PoolAlloc_bytes', 'PoolUsed_bytes', 'Start_time_sec', 'Tainted']);
  t.false(names.includes('description'), 'empty string fields are left out');
  t.true(plain.includes('\nBuild info: 2.6.12-1+deb12u4\n'), 'Build info mirrors Version');
  t.true(plain.includes('\nCumConns: 0\n'), 'unknown counters print 0');
  const typed = run('show info typed').split('\n');
  t.is(typed[0], '0.Name.1:POS:str:HAProxy');
  t.is(typed[3], '3.Nbthread.1:CGS:u32:1');
  t.true(typed.includes('49.Idle_pct.1:MaP:u32:0'));
  t.true(typed.includes('54.Unstoppable Jobs.1:MGP:u32:0'));
  const json: unknown = JSON.parse(run('show info json'));
  t.true(Array.isArray(json));
  t.deepEqual(Array.isArray(json) ? json[0] : undefined, {
    field: { pos: 0, name: 'Name' },
    processNum: 1,
    tags: { origin: 'Product', nature: 'Output', scope: 'Service' },
    value: { type: 'str', value: 'HAProxy' },
  });
  t.is(run('show info typed json'), run('show info json'), 'the last format word wins');
  t.is(run('show info desc'), "'show info desc' is not supported by this lb yet.\n");
  ctx.infoValues = { ...ctx.infoValues, description: 'edge node' };
  t.true(run('show info').includes('\nnode: vm\ndescription: edge node\nStopping: 0\n'));
  t.is(run('show version'), '2.6.12-1+deb12u4\n');
});

test('show info renders bigint and field table is complete', (t) => {
  t.is(INFO_FIELDS.length, 70);
  t.is(new Set(INFO_FIELDS.map((f) => f.pos)).size, 70);
  t.true(renderInfo({ TotalBytesOut: 12345678901234567890n }, 'plain').includes('TotalBytesOut: 12345678901234567890\n'));
  t.is(formatUptime(88), '0d 0h01m28s');
  t.is(formatUptime(90061), '1d 1h01m01s');
});

test('show stat: formats, flags and the <proxy> <type> <sid> filter as HAProxy parses them', (t) => {
  const { run, ctx } = setup('user');
  ctx.proxies['fe'] = 2;
  t.is(run('show stat'), '# stat csv -1 -1 -1\n');
  t.is(run('show stat typed'), '# stat typed -1 -1 -1\n');
  t.is(run('show stat json up'), '# stat json -1 -1 -1 up\n');
  t.is(run('show stat no-maint typed'), '# stat typed -1 -1 -1 no-maint\n');
  t.is(run('show stat json up no-maint'), 'No such proxy.\n', 'three words: read as a filter first');
  t.is(run('show stat web 4 -1'), '# stat csv 3 4 -1\n');
  t.is(run('show stat fe 1 -1 typed'), '# stat typed 2 1 -1\n');
  t.is(run('show stat 99 -1 -1'), '# stat csv 99 -1 -1\n', 'numeric proxy ids are not checked');
  t.is(run('show stat web x y'), '# stat csv 3 0 0\n', 'atoi semantics');
  t.is(run('show stat web 4'), '# stat csv -1 -1 -1\n', 'filter needs all three words');
  t.is(run('show stat nope -1 -1'), 'No such proxy.\n');
  t.is(run('show stat typed web 4 1'), 'No such proxy.\n', 'the filter is positional');
  t.is(run('show stat desc'), "'show stat desc' is not supported by this lb yet.\n");
});

test('help: HAProxy layout, alphabetical, help/prompt/quit last', (t) => {
  const { run } = setup('user');
  const lines = run('help').split('\n');
  t.is(lines[0], 'The following commands are valid at this level:');
  t.is(lines[1], '  clear counters [all]                    : clear max statistics counters (or all counters)');
  t.deepEqual(lines.slice(-4), [
    '  help [<command>]                        : list matching or all commands',
    '  prompt                                  : toggle interactive mode with prompt',
    '  quit                                    : disconnect',
    '',
  ]);
  t.is(lines.length, 1 + COMMANDS.length + 1, 'every command is listed, whatever the level');
  const body = lines.slice(1, -4).map((l) => l.slice(2, 42).trimEnd());
  t.deepEqual(body, [...body].sort());
  t.is(
    run('help weight'),
    'The following commands are valid at this level:\n' +
      "  get weight <bk>/<srv>                   : report a server's current weight\n" +
      "  set weight <bk>/<srv>  (DEPRECATED)     : change a server's weight (use 'set server' instead)\n" +
      '  help [<command>]                        : list matching or all commands\n' +
      '  prompt                                  : toggle interactive mode with prompt\n' +
      '  quit                                    : disconnect\n',
  );
  t.is(run('help help').split('\n').length, 5);
});

test('unknown commands: listing, family, fuzzy suggestion', (t) => {
  const { run } = setup();
  t.true(run('').startsWith('Unknown command. Please enter one of the following commands only:\n  clear counters'));
  const family = run('show servers');
  t.is(
    family,
    'Unknown command, but maybe one of the following ones is a better match:\n' +
      '  show servers state [<backend>]          : dump volatile server information (all or for a single backend)\n' +
      '  help [<command>]                        : list matching or all commands\n' +
      '  prompt                                  : toggle interactive mode with prompt\n' +
      '  quit                                    : disconnect\n',
  );
  t.is(run('show servers stat'), family, 'one typo away: suggested');
  t.true(run('GET WEIGHT web/s1').includes('  get weight <bk>/<srv>'));
  t.true(run('shwo stat').startsWith('Unknown command, but maybe'));
});

test('stick table commands are explicit placeholders', (t) => {
  const { run } = setup();
  t.is(run('show table'), 'stick tables are not supported by this lb yet.\n');
  t.is(run('clear table t key 1'), 'stick tables are not supported by this lb yet.\n');
  t.is(setup('user').run('clear table t'), 'Permission denied\n');
});

test('a RuntimeCommandError from the context becomes the answer', (t) => {
  const { run, ctx } = setup();
  ctx.failNext = 'busy\n';
  t.is(run('show info'), 'busy\n');
});

test('prompt and quit change the session', (t) => {
  const { run, session } = setup();
  t.is(run('prompt'), '');
  t.true(session.prompt);
  t.is(run('prompt'), '');
  t.false(session.prompt);
  t.is(run('quit'), '');
  t.true(session.quit);
});
