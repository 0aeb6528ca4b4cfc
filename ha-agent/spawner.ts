// A CommandRunner whose processes are forked by a long-lived perl helper, not by node.
//
// Why: child_process.spawn() blocks node's event loop until the child has exec'd: measured 27 ms
// median (76 ms max) at load 9 on 2 cores, still 10 ms at nice -20 (fork of a ~90 MB process, then
// waiting for the child to be scheduled). A track script at advert_int 0.1 is a spawn every 100 ms:
// the loop was blocked 10-30 % of the time, so adverts, the Master_Down timer and SIGTERM's
// priority-0 advert were all late by up to a spawn. perl (perl-base is Essential on Debian) forks
// a ~5 MB process; its stalls do not stop our timers.
//
// Division of work: perl only forks, execs and relays bytes; every policy stays here, identical to
// ProcessRunner (runner.ts): timeouts kill the whole process group (node knows the pid), a command
// is complete at exit + closed pipes or exit + PIPE_GRACE_MS, output is bounded, killGroupOnExit.
// When the helper cannot start or dies, commands run through the fallback runner (ProcessRunner):
// slower, never lost. A command in flight when the helper dies resolves as a spawn error.
//
// Line protocol (node → perl), fields separated by one space; strings as `x` + hex, absent = `-`:
//   run ID UID|- GID|- MAXBYTES CWD INPUT NENV|- ENV... NARGS ARG...
//   done ID                      (forget the job: close pipes a background grandchild still holds)
// perl → node:
//   ready | pid ID PID | spawnerr ID ERRNO_NAME | out ID HEX | err ID HEX | eof ID | exit ID CODE SIG
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ProcessRunner } from './runner.ts';
import type { CommandRunner, RunOptions, RunResult } from './runner.ts';

const PERL_SPAWNER = String.raw`
use strict; use warnings; use POSIX (); use IO::Select; use Errno (); use Fcntl;
$| = 1; $SIG{PIPE} = 'IGNORE';
my $nice = @ARGV ? $ARGV[0] : undef;
pipe(my $sr, my $sw) or die "pipe: $!";
fcntl($sw, F_SETFL, O_NONBLOCK);
$SIG{CHLD} = sub { syswrite($sw, "x") };
my $sel = IO::Select->new(\*STDIN, $sr);
my (%jobs, %fh2job, %pid2id);
my $in = '';
sub h { my $s = shift; return undef if !defined $s || $s eq '-'; return pack('H*', substr($s, 1)) }
sub ename { my $e = $! + 0; my ($n) = grep { $!{$_} } keys %!; return $n // "E$e" }
sub forget { my $id = shift; my $j = delete $jobs{$id} or return;
  for my $fh (@{$j->{fhs}}) { next unless defined fileno($fh); $sel->remove($fh); delete $fh2job{fileno($fh)}; close $fh } }
sub run {
  my @f = @_;
  my ($id, $uid, $gid, $max, $cwd, $input, $nenv) = splice(@f, 0, 7);
  my @env = $nenv eq '-' ? () : map { h($_) } splice(@f, 0, $nenv);
  my $nargs = shift @f; my @argv = map { h($_) } splice(@f, 0, $nargs);
  $cwd = h($cwd); $input = h($input);
  pipe(my $or, my $ow); pipe(my $er, my $ew); pipe(my $xr, my $xw);
  my ($ir, $iw); pipe($ir, $iw) if defined $input;
  my $pid = fork();
  if (!defined $pid) { print "spawnerr $id ", ename(), "\n"; return }
  if ($pid == 0) {
    $SIG{PIPE} = 'DEFAULT'; $SIG{CHLD} = 'DEFAULT';
    setpriority(0, 0, $nice) if defined $nice; # scripts do not inherit the agent's raised priority
    my $err;
    POSIX::setsid();
    if (defined $ir) { POSIX::dup2(fileno($ir), 0) } else { open(STDIN, '<', '/dev/null') }
    POSIX::dup2(fileno($ow), 1); POSIX::dup2(fileno($ew), 2);
    if (!defined $err && $gid ne '-') { $) = "$gid $gid"; POSIX::setgid($gid) or $err = ename() }
    if (!defined $err && $uid ne '-') { POSIX::setuid($uid) or $err = ename() }
    if (!defined $err && defined $cwd) { chdir($cwd) or $err = ename() }
    if (!defined $err) {
      if ($nenv ne '-') { %ENV = (); for my $kv (@env) { my ($k, $v) = split /=/, $kv, 2; $ENV{$k} = $v // '' } }
      { no warnings 'exec'; exec { $argv[0] } @argv; }
      $err = ename();
    }
    syswrite($xw, $err); POSIX::_exit(127);
  }
  close $ow; close $ew; close $xw; close $ir if defined $ir;
  # EINTR: a SIGCHLD of another job must not read as "exec succeeded".
  my ($n, $err); do { $n = sysread($xr, $err, 64) } while (!defined $n && $!{EINTR}); close $xr;
  if ($n) { 1 while (waitpid($pid, 0) < 0 && $!{EINTR}); close $or; close $er; close $iw if defined $iw; print "spawnerr $id $err\n"; return }
  if (defined $iw) { my $o = 0; while ($o < length($input)) { my $w = syswrite($iw, $input, length($input) - $o, $o); if (defined $w) { $o += $w } elsif (!$!{EINTR}) { last } } close $iw }
  $pid2id{$pid} = $id;
  $jobs{$id} = { fhs => [$or, $er], open => 2, max => $max };
  $fh2job{fileno($or)} = [$id, 'out', 0]; $fh2job{fileno($er)} = [$id, 'err', 0];
  $sel->add($or); $sel->add($er);
  print "pid $id $pid\n";
}
# One read from a job's pipe: relay (bounded), or close at EOF. Returns false once closed.
sub pump {
  my $fh = shift; my $fd = fileno($fh); my $j = $fh2job{$fd} or return 0;
  my $n = sysread($fh, my $b, 65536);
  return 1 if !defined $n && $!{EINTR};
  if ($n) {
    my $job = $jobs{$j->[0]};
    my $room = $job->{max} - $j->[2];
    if ($room > 0) { my $part = substr($b, 0, $room); $j->[2] += length($part); print "$j->[1] $j->[0] ", unpack('H*', $part), "\n" }
    return 1;
  }
  $sel->remove($fh); delete $fh2job{$fd}; close $fh;
  my $job = $jobs{$j->[0]};
  print "eof $j->[0]\n" if $job && --$job->{open} == 0;
  return 0;
}
# Reports every command that has exited. Also called between the forks of a batch of 'run' lines:
# each fork waits for its exec, and a batch of 30 took seconds under load; exits must not wait for it.
sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = delete $pid2id{$pid}; next unless defined $id;
    my $st = $?;
    # Everything the command wrote is in its pipes now: relay it before "exit", so node's grace
    # period (for pipes held by a background grandchild) never cuts off the command's own output.
    if (my $job = $jobs{$id}) {
      for my $fh (@{$job->{fhs}}) { while (defined fileno($fh) && IO::Select->new($fh)->can_read(0)) { last unless pump($fh) } }
    }
    print "exit $id ", (($st & 127) ? -1 : ($st >> 8)), " ", ($st & 127), "\n";
  }
}
print "ready\n";
while (1) {
  for my $fh ($sel->can_read()) {
    my $fd = fileno($fh);
    next unless defined $fd; # closed by a 'done' handled earlier in this round
    if ($fd == 0) {
      my $n = sysread(STDIN, my $b, 65536);
      next if !defined $n && $!{EINTR}; # a SIGCHLD, not the end of input
      exit 0 if !$n;
      $in .= $b;
      while ($in =~ s/^([^\n]*)\n//) {
        my @f = split / /, $1; my $op = shift @f // '';
        if ($op eq 'run') { run(@f); reap() } elsif ($op eq 'done') { forget($f[0]) }
      }
    } elsif ($fd == fileno($sr)) {
      sysread($sr, my $x, 4096);
    } elsif ($fh2job{$fd}) {
      pump($fh);
    }
  }
  reap();
}
`;

/** After the child exits, how long we wait for its pipes to close (as ProcessRunner). */
const PIPE_GRACE_MS = 50;
const DEFAULT_MAX_OUTPUT = 64 * 1024;

const SIGNAL_NAMES: Readonly<Record<number, NodeJS.Signals>> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 13: 'SIGPIPE', 15: 'SIGTERM' };

interface Job {
  readonly started: number;
  readonly max: number;
  readonly resolve: (r: RunResult) => void;
  readonly killGroupOnExit: boolean;
  readonly timeoutMs: number;
  readonly out: Buffer[];
  readonly err: Buffer[];
  outLen: number;
  errLen: number;
  pid?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  eof: boolean;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  grace: NodeJS.Timeout | undefined;
}

export interface SpawnerOptions {
  /** argv prefix to run perl; default `['perl']`. Tests prefix `ip netns exec NS`. */
  readonly command?: readonly string[];
  /** Used when the helper is not (or no longer) available; default a ProcessRunner. */
  readonly fallback?: CommandRunner;
  readonly log?: (line: string) => void;
  /**
   * Nice value of the commands (keepalived resets scripts to normal priority): the agent runs at
   * -20 (sched.ts), its scripts should not take the CPU from the services it protects. Default: inherit.
   */
  readonly childNice?: number;
}

function x(s: string): string {
  return `x${Buffer.from(s, 'utf8').toString('hex')}`;
}

export class SpawnerRunner implements CommandRunner {
  readonly #o: SpawnerOptions;
  readonly #fallback: CommandRunner;
  #child: ChildProcess | undefined;
  #ready = false;
  #dead = false;
  #id = 0;
  readonly #jobs = new Map<number, Job>();
  readonly #waiters: ((ok: boolean) => void)[] = [];

  constructor(o: SpawnerOptions = {}) {
    this.#o = o;
    this.#fallback = o.fallback ?? new ProcessRunner();
  }

  get available(): boolean {
    return this.#ready && !this.#dead;
  }

  /** The perl helper's pid while it runs (diagnostics, tests). */
  get helperPid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts perl (at daemon start); resolves true when ready, false when commands will use the fallback. */
  start(): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    if (this.#dead) return Promise.resolve(false);
    const p = new Promise<boolean>((resolve) => this.#waiters.push(resolve));
    if (this.#child !== undefined) return p;
    const [file = 'perl', ...pre] = this.#o.command ?? ['perl'];
    const nice = this.#o.childNice === undefined ? [] : [String(this.#o.childNice)];
    const child = spawn(file, [...pre, '-e', PERL_SPAWNER, ...nice], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    child.on('error', (err) => this.#lost(`cannot start perl: ${err.message}`));
    child.on('exit', (code, signal) => this.#lost(`perl exited (${signal ?? String(code)})`));
    child.stdin?.on('error', () => this.#lost('stdin closed'));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.#o.log?.(`spawner: ${s.trim()}`));
    if (child.stdout !== null) createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (l) => this.#onLine(l));
    const t = setTimeout(() => this.#lost('perl did not get ready within 5 s'), 5000);
    t.unref();
    void p.then(() => clearTimeout(t));
    return p;
  }

  #lost(why: string): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#ready = false;
    this.#o.log?.(`process spawner helper unavailable (${why}); spawning from node`);
    for (const w of this.#waiters.splice(0)) w(false);
    for (const [id, j] of this.#jobs) this.#finish(id, j, 'spawner-died');
    const c = this.#child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  #onLine(line: string): void {
    const [op = '', idText = '', a = '', b = ''] = line.split(' ');
    if (op === 'ready') {
      this.#ready = true;
      for (const w of this.#waiters.splice(0)) w(true);
      return;
    }
    const id = Number(idText);
    const j = this.#jobs.get(id);
    if (j === undefined) return;
    switch (op) {
      case 'pid':
        j.pid = Number(a);
        if (j.timedOut) this.#killGroup(j);
        else {
          // The command's own time starts at its fork, as keepalived times a script from its
          // start: time spent queued in the helper (a burst of forks under load) is not the
          // script's. The queue itself is bounded by the timer armed in run().
          clearTimeout(j.timer);
          j.timer = setTimeout(() => this.#timeOut(j), j.timeoutMs);
        }
        break;
      case 'spawnerr':
        this.#finish(id, j, a || 'spawn failed');
        break;
      case 'out':
      case 'err': {
        const buf = Buffer.from(a, 'hex');
        if (op === 'out') {
          if (j.outLen < j.max) j.out.push(buf.subarray(0, j.max - j.outLen));
          j.outLen += buf.length;
        } else {
          if (j.errLen < j.max) j.err.push(buf.subarray(0, j.max - j.errLen));
          j.errLen += buf.length;
        }
        break;
      }
      case 'eof':
        j.eof = true;
        if (j.exit !== undefined) this.#finish(id, j);
        break;
      case 'exit': {
        const code = Number(a);
        const sig = Number(b);
        j.exit = { code: code < 0 ? null : code, signal: sig > 0 ? (SIGNAL_NAMES[sig] ?? 'SIGKILL') : null };
        if (j.eof) this.#finish(id, j);
        else j.grace = setTimeout(() => this.#finish(id, j), PIPE_GRACE_MS);
        break;
      }
    }
  }

  #timeOut(j: Job): void {
    j.timedOut = true;
    this.#killGroup(j);
  }

  #killGroup(j: Job): void {
    if (j.pid === undefined) return;
    try {
      process.kill(-j.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  #finish(id: number, j: Job, spawnError?: string): void {
    if (!this.#jobs.delete(id)) return;
    clearTimeout(j.timer);
    clearTimeout(j.grace);
    if (spawnError === undefined && j.killGroupOnExit) this.#killGroup(j);
    if (this.available) this.#child?.stdin?.write(`done ${id}\n`);
    j.resolve({
      code: spawnError === undefined ? (j.exit?.code ?? null) : null,
      signal: spawnError === undefined ? (j.exit?.signal ?? null) : null,
      stdout: Buffer.concat(j.out).toString('utf8'),
      stderr: Buffer.concat(j.err).toString('utf8'),
      timedOut: j.timedOut,
      durationMs: performance.now() - j.started,
      ...(spawnError === undefined ? {} : { spawnError }),
    });
  }

  run(file: string, args: readonly string[], o: RunOptions): Promise<RunResult> {
    const child = this.#child;
    if (!this.available || child?.stdin === null || child?.stdin === undefined) return this.#fallback.run(file, args, o);
    const id = ++this.#id;
    const max = o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const env = o.env === undefined ? ['-'] : [String(Object.keys(o.env).length), ...Object.entries(o.env).map(([k, v]) => x(`${k}=${v}`))];
    const argv = [file, ...args];
    const line = [
      'run', String(id), o.uid === undefined ? '-' : String(o.uid), o.gid === undefined ? '-' : String(o.gid), String(max),
      o.cwd === undefined ? '-' : x(o.cwd), o.input === undefined ? '-' : x(o.input), ...env, String(argv.length), ...argv.map(x),
    ].join(' ');
    return new Promise<RunResult>((resolve) => {
      const j: Job = {
        started: performance.now(), max, resolve, killGroupOnExit: o.killGroupOnExit === true, timeoutMs: Math.max(1, o.timeoutMs),
        out: [], err: [], outLen: 0, errLen: 0, eof: false, timedOut: false, timer: undefined, grace: undefined,
      };
      // Until the helper reports the fork, the same timeout bounds the wait in its queue; a command
      // not forked by then counts as timed out (killed as soon as its pid arrives).
      j.timer = setTimeout(() => this.#timeOut(j), j.timeoutMs);
      this.#jobs.set(id, j);
      child.stdin?.write(`${line}\n`);
    });
  }

  close(): Promise<void> {
    const c = this.#child;
    this.#dead = true;
    this.#ready = false;
    for (const [id, j] of this.#jobs) this.#finish(id, j, 'spawner-closed');
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        c.kill('SIGKILL');
        resolve();
      }, 500);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.stdin?.end();
    });
  }
}
