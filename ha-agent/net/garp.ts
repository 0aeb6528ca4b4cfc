// Gratuitous ARP without a process per packet: one long-lived perl child holding an AF_PACKET
// socket, fed one request per line over stdin.
//
// Why: `arping -U` is a spawn per GARP, and each spawn blocks node's event loop 10-70 ms on a loaded
// host (see ip-batch.ts); a burst of five at the moment we become MASTER delayed the client's
// first answer by ~190 ms. perl is always there on Debian (perl-base is Essential; lb/log uses the
// same trick for unix datagrams) and its Socket module can send on AF_PACKET with a packed
// sockaddr_ll. perl reads the interface's index and MAC from sysfs (in its own namespace) per frame,
// so a re-created interface or a changed MAC is picked up.
//
// Protocol: node writes `ID DEV IPV4\n`; perl answers `ok ID\n` or `err ID REASON\n`. At start
// perl prints `ready\n`, or `fatal REASON\n` and exits (no CAP_NET_RAW, no perl): the caller then
// falls back to `arping -U` (VipManager), which stays the documented fallback.
//
// The frame is what keepalived and `arping -U` send: an ARP request, broadcast, sender = target =
// the VIP, sender MAC = the interface's MAC, target MAC ff:ff:ff:ff:ff:ff. Neighbours with
// arp_accept (routers facing a VRRP pair, the drill's client) update or create their entry.
import { spawn, type ChildProcess } from 'node:child_process';
import { isIPv4 } from 'node:net';
import { createInterface } from 'node:readline';

const PERL_GARP = [
  'use strict; use Socket;',
  '$| = 1;',
  // AF_PACKET = 17, SOCK_RAW = 3, protocol 0: send only, nothing is ever queued for us to read.
  'socket(my $s, 17, 3, 0) or do { print "fatal socket: $!\\n"; exit 1 };',
  'print "ready\\n";',
  'sub rd { my $f = shift; open(my $h, "<", $f) or return undef; my $v = <$h>; close $h; chomp $v if defined $v; return $v }',
  'while (my $l = <STDIN>) {',
  '  chomp $l; my ($id, $dev, $ip) = split / /, $l;',
  '  next unless defined $ip;',
  '  my $ifx = rd("/sys/class/net/$dev/ifindex"); my $mac = rd("/sys/class/net/$dev/address");',
  '  my $a = inet_aton($ip);',
  '  if (!defined $ifx || !defined $mac || !defined $a) { print "err $id no such interface or address\\n"; next }',
  '  $mac =~ s/://g; my $bc = "ffffffffffff";',
  // Ethernet (dst broadcast, src MAC, type ARP) + ARP request Ethernet/IPv4, sender = target = VIP.
  '  my $f = pack("H12 H12 n n n C C n H12 a4 H12 a4", $bc, $mac, 0x0806, 1, 0x0800, 6, 4, 1, $mac, $a, $bc, $a);',
  // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
  '  my $to = pack("S n i S C C a8", 17, 0x0806, $ifx, 1, 0, 6, pack("H12", $bc));',
  '  if (defined send($s, $f, 0, $to)) { print "ok $id\\n" } else { print "err $id $!\\n" }',
  '}',
].join('\n');

export interface GarpSender {
  /** Sends one gratuitous ARP for `ip` on `dev`; resolves true when handed to the kernel. */
  send(dev: string, ip: string): Promise<boolean>;
  /** False until `ready`, and after a fatal error: the caller uses its fallback then. */
  readonly available: boolean;
  close(): Promise<void>;
}

export interface PerlGarpOptions {
  /** argv prefix to run perl; default `['perl']`. Tests prefix `ip netns exec NS`. */
  readonly command?: readonly string[];
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export class PerlGarpSender implements GarpSender {
  readonly #o: PerlGarpOptions;
  #child: ChildProcess | undefined;
  #ready = false;
  #failed = false;
  #id = 0;
  readonly #pending = new Map<number, { resolve: (ok: boolean) => void; timer: NodeJS.Timeout }>();
  readonly #readyWaiters: ((ok: boolean) => void)[] = [];
  #closed = false;

  constructor(o: PerlGarpOptions = {}) {
    this.#o = o;
  }

  get available(): boolean {
    return this.#ready && !this.#failed && !this.#closed;
  }

  /** Starts perl (at daemon start); resolves true once it holds its socket, false if it cannot. */
  start(): Promise<boolean> {
    if (this.#ready) return Promise.resolve(true);
    if (this.#failed || this.#closed) return Promise.resolve(false);
    const p = new Promise<boolean>((resolve) => this.#readyWaiters.push(resolve));
    if (this.#child !== undefined) return p;
    const [file = 'perl', ...pre] = this.#o.command ?? ['perl'];
    let child: ChildProcess;
    try {
      child = spawn(file, [...pre, '-e', PERL_GARP], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.#fail(`cannot start perl: ${String(err)}`);
      return p;
    }
    this.#child = child;
    child.stdin?.on('error', () => this.#fail('stdin closed'));
    child.on('error', (err) => this.#fail(`cannot start perl: ${err.message}`));
    child.on('exit', (code, signal) => this.#fail(`perl exited (${signal ?? String(code)})`));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.#o.log?.(`garp helper: ${s.trim()}`));
    if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', (l) => this.#onLine(l));
    const t = setTimeout(() => this.#fail('perl did not get ready within 5 s'), 5000);
    t.unref();
    void p.then(() => clearTimeout(t));
    return p;
  }

  #onLine(line: string): void {
    if (line === 'ready') {
      this.#ready = true;
      for (const w of this.#readyWaiters.splice(0)) w(true);
      return;
    }
    if (line.startsWith('fatal')) {
      this.#fail(line);
      return;
    }
    const [what, id, ...rest] = line.split(' ');
    const p = this.#pending.get(Number(id));
    if (p === undefined) return;
    this.#pending.delete(Number(id));
    clearTimeout(p.timer);
    if (what !== 'ok') this.#o.log?.(`gratuitous ARP not sent: ${rest.join(' ')}`);
    p.resolve(what === 'ok');
  }

  #fail(why: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#ready = false;
    if (!this.#closed) this.#o.log?.(`garp helper unavailable (${why}); using arping -U`);
    for (const w of this.#readyWaiters.splice(0)) w(false);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(false);
    }
    this.#pending.clear();
    const c = this.#child;
    this.#child = undefined;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  send(dev: string, ip: string): Promise<boolean> {
    const child = this.#child;
    if (!this.available || child?.stdin === null || child?.stdin === undefined) return Promise.resolve(false);
    if (!isIPv4(ip) || !/^[\w.:-]{1,15}$/.test(dev)) {
      this.#o.log?.(`gratuitous ARP: bad interface or IPv4 address '${dev}' '${ip}'`);
      return Promise.resolve(false);
    }
    const id = ++this.#id;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(false);
      }, this.#o.timeoutMs ?? 2000);
      this.#pending.set(id, { resolve, timer });
      child.stdin?.write(`${id} ${dev} ${ip}\n`);
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    const c = this.#child;
    this.#fail('closed');
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      setTimeout(resolve, 500).unref();
    });
  }
}
