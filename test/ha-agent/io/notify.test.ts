import test from 'ava';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { FakeRunner, ProcessRunner, type RunResult } from '../../../ha-agent/runner.ts';
import { NotifyQueue, TRANSITION_CHANNEL } from '../../../ha-agent/notify.ts';

const runner = new ProcessRunner();

function tmp(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A script that appends "<tag> start", sleeps, appends "<tag> end <args>". */
function script(dir: string, name: string, sleepS: number): string {
  const log = join(dir, 'log');
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho "${name} start" >> ${log}\nsleep ${sleepS}\necho "${name} end $*" >> ${log}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('real: scripts run one at a time, in transition order, specific before generic', async (t) => {
  const dir = tmp(t);
  const q = new NotifyQueue({
    runner,
    timeoutMs: 5000,
    scripts: {
      VI_1: { master: script(dir, 'master', 0.3), backup: script(dir, 'backup', 0.01), generic: script(dir, 'generic', 0.05) },
    },
  });
  q.transition({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'peer silent', priority: 101 });
  q.transition({ instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'higher priority peer', priority: 101 });
  t.true(q.running);
  await q.idle();
  const lines = readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');
  t.deepEqual(lines, [
    'master start',
    'master end ',
    'generic start',
    'generic end INSTANCE VI_1 MASTER 101',
    'backup start',
    'backup end ',
    'generic start',
    'generic end INSTANCE VI_1 BACKUP 101',
  ]);
});

test('real: a hung notify script is killed at its timeout and the queue moves on', async (t) => {
  const dir = tmp(t);
  const results: RunResult[] = [];
  const logs: string[] = [];
  const q = new NotifyQueue({
    runner,
    timeoutMs: 200,
    scripts: { VI_1: { master: script(dir, 'hang', 30), backup: script(dir, 'next', 0) } },
    onScriptDone: (_argv, r) => results.push(r),
    log: (l) => logs.push(l),
  });
  const t0 = performance.now();
  q.transition({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'x', priority: 100 });
  q.transition({ instance: 'VI_1', from: 'MASTER', to: 'BACKUP', reason: 'y', priority: 100 });
  await q.close();
  t.true(performance.now() - t0 < 3000);
  t.true(results[0]?.timedOut);
  t.is(results[1]?.code, 0);
  t.deepEqual(readFileSync(join(dir, 'log'), 'utf8').trim().split('\n'), ['hang start', 'next start', 'next end']);
  t.regex(logs[0] ?? '', /timed out/);
});

test('every transition is one JSON line (file and stream) and a diagnostics_channel message', async (t) => {
  const dir = tmp(t);
  const file = join(dir, 'transitions.jsonl');
  const published: string[] = [];
  const onMsg = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && 'instance' in m && 'to' in m) published.push(`${String(m.instance)}>${String(m.to)}`);
  };
  subscribe(TRANSITION_CHANNEL, onMsg);
  t.teardown(() => unsubscribe(TRANSITION_CHANNEL, onMsg));
  const q = new NotifyQueue({ runner: new FakeRunner(), jsonl: { path: file } });
  const time = new Date('2030-01-02T03:04:05.678Z');
  q.transition({ instance: 'VI_1', from: 'INIT', to: 'BACKUP', reason: 'start', priority: 100, time });
  q.transition({ instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired', priority: 100 });
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l): unknown => JSON.parse(l));
  t.deepEqual(lines[0], { time: '2030-01-02T03:04:05.678Z', instance: 'VI_1', from: 'INIT', to: 'BACKUP', reason: 'start', priority: 100 });
  t.like(lines[1], { from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' });
  t.deepEqual(published.filter((p) => p.startsWith('VI_1>')), ['VI_1>BACKUP', 'VI_1>MASTER']);

  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b.toString()));
  const q2 = new NotifyQueue({ runner: new FakeRunner(), jsonl: { stream } });
  q2.transition({ instance: 'VI_2', from: 'MASTER', to: 'FAULT', reason: 'track eth0 down', priority: 50, time });
  t.is(chunks.join(''), '{"time":"2030-01-02T03:04:05.678Z","instance":"VI_2","from":"MASTER","to":"FAULT","reason":"track eth0 down","priority":50}\n');
});

test('fake runner: exact argv, INIT runs no script, STOP/FAULT map to their scripts, bad strings are logged', async (t) => {
  const fake = new FakeRunner();
  const logs: string[] = [];
  const q = new NotifyQueue({
    runner: fake,
    scripts: {
      VI_1: { fault: '/etc/ha/fault.sh "a b"', stop: ['/etc/ha/stop.sh'], generic: '/etc/ha/notify.sh' },
      VI_2: { master: '/bin/x "unterminated' },
    },
    log: (l) => logs.push(l),
  });
  q.transition({ instance: 'VI_1', from: 'BACKUP', to: 'INIT', reason: 'r', priority: 1 });
  q.transition({ instance: 'VI_1', from: 'BACKUP', to: 'FAULT', reason: 'r', priority: 0 });
  q.transition({ instance: 'VI_1', from: 'FAULT', to: 'STOP', reason: 'r', priority: 0 });
  q.transition({ instance: 'VI_2', from: 'BACKUP', to: 'MASTER', reason: 'r', priority: 9 });
  q.transition({ instance: 'nobody', from: 'BACKUP', to: 'MASTER', reason: 'r', priority: 9 });
  await q.idle();
  t.deepEqual(fake.argv, [
    ['/etc/ha/fault.sh', 'a b'],
    ['/etc/ha/notify.sh', 'INSTANCE', 'VI_1', 'FAULT', '0'],
    ['/etc/ha/stop.sh'],
    ['/etc/ha/notify.sh', 'INSTANCE', 'VI_1', 'STOP', '0'],
  ]);
  t.regex(logs.join('\n'), /VI_2: unterminated/);
});

test('a full queue drops the oldest waiting scripts and counts them', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const fake = new FakeRunner(async () => {
    await gate;
    return {};
  });
  const q = new NotifyQueue({ runner: fake, maxQueue: 2, scripts: { I: { master: 'm', backup: 'b' } } });
  for (let i = 0; i < 5; i++) q.transition({ instance: 'I', from: 'x', to: i % 2 === 0 ? 'MASTER' : 'BACKUP', reason: String(i), priority: i });
  t.is(q.pending, 2);
  t.is(q.dropped, 2);
  release();
  await q.idle();
  t.deepEqual(fake.argv, [['m'], ['b'], ['m']]);
});
