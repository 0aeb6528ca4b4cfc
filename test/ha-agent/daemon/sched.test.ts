// Scheduling priority at start (ha-agent/sched.ts): keepalived's vrrp_priority / vrrp_rt_priority.
import test from 'ava';
import { DEFAULT_ROOT_NICE, applyScheduling, restoreNice } from '../../../ha-agent/sched.ts';

function rig(o: { root: boolean; chrtStatus?: number }) {
  const nice: number[] = [];
  const chrt: string[][] = [];
  const logs: string[] = [];
  return {
    nice, chrt, logs,
    opts: {
      isRoot: o.root,
      log: (level: string, l: string) => logs.push(`${level} ${l}`),
      setNice: (n: number) => nice.push(n),
      runChrt: (args: readonly string[]) => (chrt.push([...args]), { status: o.chrtStatus ?? 0, stderr: 'chrt: failed' }),
    },
  };
}

test('default: nice -20 when root, nothing otherwise, never real time', (t) => {
  const r = rig({ root: true });
  t.like(applyScheduling(r.opts), { nice: DEFAULT_ROOT_NICE });
  t.deepEqual(r.nice, [-20]);
  t.deepEqual(r.chrt, []);
  const u = rig({ root: false });
  t.deepEqual(Object.keys(applyScheduling(u.opts)), ['previousNice']);
  t.deepEqual(u.nice, []);
});

test('explicit nice and SCHED_RR with reset-on-fork; out of range values are refused with a warning', (t) => {
  const r = rig({ root: true });
  t.like(applyScheduling({ ...r.opts, nice: -5, rtPriority: 40 }), { nice: -5, rt: 40 });
  t.deepEqual(r.chrt, [['--rr', '--reset-on-fork', '--all-tasks', '--pid', '40', String(process.pid)]]);
  const bad = rig({ root: true });
  t.deepEqual(Object.keys(applyScheduling({ ...bad.opts, nice: -21, rtPriority: 100 })), ['previousNice']);
  t.is(bad.logs.filter((l) => l.startsWith('warn')).length, 2);
  const off = rig({ root: true });
  t.deepEqual(Object.keys(applyScheduling({ ...off.opts, nice: null })), ['previousNice']);
  t.deepEqual(off.nice, []);
});

test('failures are logged, never thrown', (t) => {
  const r = rig({ root: true, chrtStatus: 1 });
  const res = applyScheduling({ ...r.opts, setNice: () => { throw new Error('EACCES'); }, rtPriority: 10 });
  t.deepEqual(Object.keys(res), ['previousNice']);
  t.true(r.logs.some((l) => l.includes('cannot set nice')));
  t.true(r.logs.some((l) => l.includes('chrt') && l.includes('failed')));
});

test('restoreNice puts the start value back and never throws', (t) => {
  const seen: number[] = [];
  restoreNice(0, (n) => seen.push(n));
  t.deepEqual(seen, [0]);
  t.notThrows(() => restoreNice(3, () => { throw new Error('EPERM'); }));
});
