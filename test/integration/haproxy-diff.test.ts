// Differential against Debian's haproxy 2.6 on the same configuration: the `;csv` header and the
// `show stat` header are identical, the seed's "Debug This" awk fields ($62, $63) are the same
// columns, and a server's state after `set server B/S state drain` on the runtime API is the same
// (stats status/weight and `show servers state` op/admin/weights).
import { spawn } from 'node:child_process';
import test from 'ava';
import { freePorts, haveCommand, sleep, startLb, writeConfig } from '../proxy/run/harness.ts';
import { backend, cli, get, parseCsv, waitFor } from './helpers.ts';

const HAVE = haveCommand('haproxy');

function config(fe: number, st: number, cliPort: number, ports: readonly number[]): string {
  return `
global
    stats socket ipv4@127.0.0.1:${cliPort} level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend web_frontend
    bind 127.0.0.1:${fe}
    default_backend web_backend
backend web_backend
    balance roundrobin
    option httpchk GET /health
    server backend1 127.0.0.1:${ports[0]} check inter 200
    server backend2 127.0.0.1:${ports[1]} check inter 200
    server backend3 127.0.0.1:${ports[2]} check inter 200
listen stats
    bind 127.0.0.1:${st}
    stats enable
    stats uri /stats
    stats auth admin:pass
`;
}

interface Target {
  csv(): Promise<string>;
  cli(cmd: string): Promise<string>;
  stop(): Promise<unknown>;
}

async function runHaproxy(file: string, st: number, cliPort: number): Promise<Target> {
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: 'ignore' });
  const t: Target = {
    csv: async () => (await get(st, '/stats;csv', 'admin:pass')).body,
    cli: (cmd) => cli(cliPort, cmd),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
  for (let i = 0; i < 100; i++) {
    try {
      await t.csv();
      return t;
    } catch {
      await sleep(50);
    }
  }
  return t;
}

async function runLb(file: string, fe: number, st: number, cliPort: number): Promise<Target> {
  const lb = await startLb(file, fe);
  return { csv: async () => (await get(st, '/stats;csv', 'admin:pass')).body, cli: (cmd) => cli(cliPort, cmd), stop: () => lb.stop() };
}

/** What a drained server looks like to an operator, from both outputs. */
async function drainedView(x: Target): Promise<Record<string, string>> {
  const set = await x.cli('set server web_backend/backend2 state drain');
  await sleep(100);
  const row = parseCsv(await x.csv()).rows.find((r) => r['svname'] === 'backend2') ?? {};
  const state = (await x.cli('show servers state web_backend')).split('\n');
  const hdr = (state[1] ?? '').replace(/^# /, '').split(' ');
  const line = (state.find((l) => l.includes(' backend2 ')) ?? '').split(' ');
  const col = (n: string): string => line[hdr.indexOf(n)] ?? '?';
  return {
    cliAnswer: set,
    status: row['status'] ?? '?',
    weight: row['weight'] ?? '?',
    act: row['act'] ?? '?',
    srv_op_state: col('srv_op_state'),
    srv_admin_state: col('srv_admin_state'),
    srv_uweight: col('srv_uweight'),
    srv_iweight: col('srv_iweight'),
    backendStatus: parseCsv(await x.csv()).rows.find((r) => r['pxname'] === 'web_backend' && r['svname'] === 'BACKEND')?.['status'] ?? '?',
  };
}

test.serial('haproxy 2.6 and lb: same ;csv and show stat headers, same "Debug This" columns, same state after set server state drain', async (t) => {
  if (!HAVE) {
    t.log('SKIPPED: haproxy is not installed');
    t.pass();
    return;
  }
  const [p1, p2, p3, hfe, hst, hcli, lfe, lst, lcli] = await freePorts(9);
  const bes = [backend(p1!), backend(p2!), backend(p3!)];
  for (const b of bes) await b.start();
  const ports = [p1!, p2!, p3!];
  const hap = await runHaproxy(writeConfig(config(hfe!, hst!, hcli!, ports)), hst!, hcli!);
  const ours = await runLb(writeConfig(config(lfe!, lst!, lcli!, ports)), lfe!, lst!, lcli!);
  t.teardown(async () => {
    await hap.stop();
    await ours.stop();
    for (const b of bes) await b.kill();
  });
  const upAll = (x: Target) => waitFor(async () => String(parseCsv(await x.csv()).rows.filter((r) => r['check_status'] === 'L7OK').length), (v) => v === '3', 5000);
  t.true((await upAll(hap)) >= 0, 'haproxy checked its servers');
  t.true((await upAll(ours)) >= 0, 'lb checked its servers');

  const hcsv = await hap.csv();
  const lcsv = await ours.csv();
  t.is(lcsv.split('\n')[0], hcsv.split('\n')[0], ';csv header');
  const hshow = await hap.cli('show stat');
  const lshow = await ours.cli('show stat');
  t.is(lshow.split('\n')[0], hshow.split('\n')[0], 'show stat header');

  // The seed's walkthrough: awk -F, '/web_backend/ {print $2, "rtime_avg="$62, "rtime_max="$63}'.
  const awk = (csv: string): string[] =>
    csv
      .split('\n')
      .filter((l) => l.includes('web_backend'))
      .map((l) => {
        const f = l.split(',');
        return `${f[1]} ${parseCsv(csv).header[61]}=${f[61] === undefined ? 'MISSING' : 'present'} ${parseCsv(csv).header[62]}=${f[62] === undefined ? 'MISSING' : 'present'}`;
      });
  t.deepEqual(awk(lcsv), awk(hcsv), 'the awk fields exist where haproxy has them');
  t.deepEqual(parseCsv(lcsv).header.slice(58, 62), ['qtime', 'ctime', 'rtime', 'ttime']);

  const h = await drainedView(hap);
  const l = await drainedView(ours);
  t.deepEqual(l, h, 'state after set server state drain');
  t.is(h.status, 'DRAIN');
});
