// Unit tests of the drill's pure analysis and of the generated configuration (no namespaces).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { failedBetween, firstAnswerFrom, lastAnswerer, median, parseProbeLine, probesBetween, servedAgainAt, steadyFrom, type ProbeRecord } from './analyze.ts';
import { effectiveAuth, nodeConf, trackIntervalFor } from './conf.ts';
import { goalFor, meetsGoal } from './report.ts';
import type { ScenarioResult } from './scenarios.ts';

const ok = (s: number, n: string): ProbeRecord => ({ s, e: s + 1, n });
const ko = (s: number, f = 'timeout'): ProbeRecord => ({ s, e: s + 80, f });

test('parseProbeLine reads probe.ts lines and rejects anything else', (t) => {
  t.deepEqual(parseProbeLine('{"s":1,"e":2,"n":"A"}'), { s: 1, e: 2, n: 'A' });
  t.deepEqual(parseProbeLine('{"s":1,"e":81,"f":"timeout"}'), { s: 1, e: 81, f: 'timeout' });
  t.is(parseProbeLine('ready'), undefined);
  t.is(parseProbeLine('{"s":1}'), undefined);
  t.is(parseProbeLine('{"s":1,"e":2}'), undefined);
  t.is(parseProbeLine('{broken'), undefined);
});

test('firstAnswerFrom picks the earliest answer of that node ending after the fault', (t) => {
  const probes = [ok(0, 'A'), ok(10, 'A'), ko(20), ko(30), ok(50, 'B'), ok(40, 'B'), ok(60, 'B')];
  t.is(firstAnswerFrom(probes, 'B', 15)?.s, 40);
  t.is(firstAnswerFrom(probes, 'B', 100), undefined);
  t.is(firstAnswerFrom(probes, 'C', 0), undefined);
});

test('failedBetween and probesBetween count by start time, bounds included', (t) => {
  const probes = [ok(0, 'A'), ko(10), ko(20), ok(30, 'B'), ko(40)];
  t.is(failedBetween(probes, 10, 30), 2);
  t.is(failedBetween(probes, 11, 40), 2);
  t.is(probesBetween(probes, 10, 30), 3);
});

test('steadyFrom needs the last N probes all from that node', (t) => {
  t.true(steadyFrom([ok(0, 'A'), ok(10, 'A'), ok(20, 'A')], 'A', 3));
  t.false(steadyFrom([ok(0, 'A'), ko(10), ok(20, 'A')], 'A', 3));
  t.false(steadyFrom([ok(0, 'A'), ok(10, 'A')], 'A', 3));
  t.false(steadyFrom([ok(0, 'A'), ok(10, 'B'), ok(20, 'A')], 'A', 3));
});

test('servedAgainAt: after the last failure; the start when never interrupted; undefined while failing', (t) => {
  t.is(servedAgainAt([ok(100, 'A'), ko(110), ko(120), ok(130, 'A'), ko(140), ok(150, 'A'), ok(160, 'A')], 100, 200), 151);
  t.is(servedAgainAt([ok(100, 'A'), ok(110, 'A')], 100, 200), 100);
  t.is(servedAgainAt([ok(100, 'A'), ko(110)], 100, 200), undefined);
  t.is(servedAgainAt([], 100, 200), undefined);
});

test('lastAnswerer and median', (t) => {
  t.is(lastAnswerer([ok(0, 'A'), ok(10, 'B'), ko(20)], 100), 'B');
  t.is(lastAnswerer([ok(0, 'A'), ok(10, 'B')], 5), 'A');
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 2, 3]), 2.5);
  t.is(median([]), undefined);
});

test('goals: the issue numbers, judged on the right measure', (t) => {
  const r = (id: ScenarioResult['id'], ms: number | null, failed = 0): ScenarioResult => ({
    id, agent: 'ha-agent', advertInt: 0.1, auth: 'HMAC', trackInterval: 0.1, failed, probes: 100, final: '', notes: [], timeline: [],
    ...(id.startsWith('d-split') ? { servedMs: ms, oneMasterMs: ms } : { failoverMs: ms }),
  });
  const a = goalFor('a-link', 0.1);
  const b = goalFor('b-term', 0.1);
  const d = goalFor('d-split', 0.1);
  const e = goalFor('e-switchover', 0.1);
  if (a === undefined || b === undefined || d === undefined || e === undefined) {
    t.fail('missing goal');
    return;
  }
  t.true(meetsGoal(r('a-link', 350), a));
  t.false(meetsGoal(r('a-link', 351), a));
  t.true(meetsGoal(r('a-link', 360), a, 10));
  t.false(meetsGoal(r('a-link', null), a));
  t.false(meetsGoal(r('b-term', 81), b));
  t.false(meetsGoal(r('d-split', 1500), d));
  t.true(meetsGoal(r('e-switchover', 900, 0), e));
  t.false(meetsGoal(r('e-switchover', 100, 1), e));
  t.is(goalFor('a-link', 1)?.maxMs, 3700);
});

test('conf: keepalived at a fractional advert_int runs VRRPv3 without auth; ha-agent keeps HMAC', (t) => {
  t.is(effectiveAuth('keepalived', 0.1, 'PASS'), 'none');
  t.is(effectiveAuth('keepalived', 1, 'PASS'), 'PASS');
  t.is(effectiveAuth('ha-agent', 0.1, 'HMAC'), 'HMAC');
  t.is(trackIntervalFor('keepalived', 0.1), 1);
  t.is(trackIntervalFor('ha-agent', 0.1), 0.1);
  const base = { node: 'A' as const, trackFile: '/x/ok', trackInterval: 1, notifyScript: '/x/n' };
  const k = nodeConf({ ...base, agent: 'keepalived', advertInt: 0.1, auth: 'PASS' });
  t.regex(k, /vrrp_version 3/);
  t.notRegex(k, /auth_type/);
  t.regex(k, /state MASTER[\s\S]*priority 101[\s\S]*advert_int 0\.1/);
  const h = nodeConf({ ...base, agent: 'ha-agent', advertInt: 0.1, auth: 'HMAC', keyFile: '/x/key' });
  t.regex(h, /auth_type HMAC\n\s*auth_key_file \/x\/key/);
  t.notRegex(h, /vrrp_version/);
  t.throws(() => nodeConf({ ...base, agent: 'ha-agent', advertInt: 1, auth: 'HMAC' }));
  t.regex(nodeConf({ ...base, node: 'B', agent: 'keepalived', advertInt: 1, auth: 'PASS' }), /state BACKUP[\s\S]*priority 100[\s\S]*auth_type PASS/);
});

// Both agents must accept the generated files (config-test mode needs no interface for ha-agent;
// keepalived -t checks the interface, so only its syntax errors are looked for).
test('conf: the generated files pass ha-agent -t, and keepalived -t reports no config error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hapair-drill-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key'), 'k'.repeat(32), { mode: 0o600 });
  writeFileSync(join(dir, 'n'), '#!/bin/sh\n', { mode: 0o700 });
  for (const [agent, advertInt, auth] of [['ha-agent', 0.1, 'HMAC'], ['ha-agent', 1, 'PASS'], ['keepalived', 0.1, 'PASS'], ['keepalived', 1, 'PASS']] as const) {
    const file = join(dir, `${agent}-${advertInt}.conf`);
    writeFileSync(file, nodeConf({ agent, node: 'B', advertInt, auth, keyFile: join(dir, 'key'), trackFile: join(dir, 'ok'), trackInterval: trackIntervalFor(agent, advertInt), notifyScript: join(dir, 'n') }));
    const h = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'ha-agent.js'), '-t', '-f', file], { encoding: 'utf8', timeout: 20_000 });
    t.is(h.status, 0, `ha-agent -t ${agent} ${advertInt}: ${h.stderr}`);
    if (agent !== 'keepalived') continue; // HMAC is our extension: keepalived rejects it by design
    const k = spawnSync('keepalived', ['-t', '-f', file], { encoding: 'utf8', timeout: 20_000 });
    if (k.error !== undefined) {
      t.log(`keepalived not runnable (${k.error.message}); its half of this check is skipped`);
      continue;
    }
    // Interface eth0 may not exist here ("Unknown interface"); anything mentioning a line is a config error.
    const lineErrors = k.stderr.split('\n').filter((l) => /Line \d+/.test(l));
    t.deepEqual(lineErrors, [], `keepalived -t ${agent} ${advertInt}`);
  }
});
