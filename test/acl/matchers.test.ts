// Cases marked "(2.6)" were run through haproxy 2.6.12 with `str(...)`/`int(...)` sample fetches
// on a loopback listener and the result recorded here.
import test from 'ava';
import * as fc from 'fast-check';
import {
  MATCH_METHODS,
  MATCH_METHOD_NAMES,
  asciiLower,
  compileIntRanges,
  compileMatcher,
  type Sample,
} from '../../lb/acl/matchers.ts';

const CS = { ignoreCase: false };
const CI = { ignoreCase: true };

type Case = [method: string, patterns: string[], ci: boolean, sample: Sample, want: boolean];
const cases: Case[] = [
  // str
  ['str', ['abc', 'def'], false, 'abc', true],
  ['str', ['abc', 'def'], false, 'ABC', false],
  ['str', ['abc', 'def'], true, 'ABC', true], // (2.6)
  ['str', ['ABC'], true, 'abc', true],
  ['str', ['abc'], false, 'abcd', false],
  ['str', ['42'], false, 42, true], // (2.6) int sample cast to string
  ['str', ['1'], false, true, true],
  ['str', ['abc'], false, undefined, false],
  ['str', [], false, 'abc', false],
  ['str', ['É'], true, 'é', false], // ASCII-only folding, like strcasecmp
  // beg
  ['beg', ['/static', '/img'], false, '/static/a.css', true],
  ['beg', ['/static'], false, '/STATIC/a.css', false],
  ['beg', ['/static'], true, '/STATIC/a.css', true],
  ['beg', ['ab'], true, 'ABC', true], // (2.6)
  ['beg', ['abcd'], true, 'ABC', false],
  ['beg', ['abc'], false, undefined, false],
  // end
  ['end', ['.jpg', '.css'], false, '/a/b.css', true],
  ['end', ['.jpg'], false, '/a/b.JPG', false],
  ['end', ['.jpg'], true, '/a/b.JPG', true],
  ['end', ['bc'], true, 'ABC', true], // (2.6)
  ['end', ['xabc'], true, 'abc', false],
  // sub
  ['sub', ['admin'], false, '/x/admin/y', true],
  ['sub', ['admin'], false, '/x/ADMIN/y', false],
  ['sub', ['admin'], true, '/x/ADMIN/y', true],
  ['sub', ['b'], true, 'ABC', true], // (2.6)
  ['sub', ['zz', 'q'], false, 'abc', false],
  // reg
  ['reg', ['^/api/v[0-9]+/'], false, '/api/v2/users', true],
  ['reg', ['^/api/v[0-9]+/'], false, '/API/v2/users', false],
  ['reg', ['^abc$'], true, 'ABC', true], // (2.6)
  ['reg', ['^4'], false, 42, true], // (2.6)
  ['reg', ['^[^.]+\\.example\\.org$'], true, 'WWW.example.ORG', true],
  ['reg', ['x', 'y'], false, 'aaa', false],
  // dom: delimiters / ? . :
  ['dom', ['example.com'], false, 'www.example.com:80', true], // (2.6)
  ['dom', ['ample.com'], false, 'www.example.com', false], // (2.6)
  ['dom', ['example.com'], false, 'WWW.Example.COM', false], // (2.6)
  ['dom', ['example.com'], true, 'WWW.Example.COM', true], // (2.6)
  ['dom', ['example.com'], false, '/x?example.com', true], // (2.6)
  ['dom', ['example.com'], false, 'example.com/x', true], // (2.6)
  ['dom', ['.example.com.'], false, 'www.example.com', true], // (2.6) delimiters stripped
  ['dom', ['.b'], false, 'a..b', true], // (2.6)
  ['dom', ['example.com'], false, 'example.community', false],
  ['dom', ['example'], false, 'myexample.com', false],
  ['dom', ['com'], false, 'example.com', true],
  // dir: delimiters / ?
  ['dir', ['b/c'], false, '/a/b/c', true], // (2.6)
  ['dir', ['/a/'], false, '/a/b', true], // (2.6)
  ['dir', ['b'], false, '/a?b', true], // (2.6)
  ['dir', ['a/b'], false, '/x/a/b/y', true], // (2.6)
  ['dir', ['/a'], false, '/a/b/', true], // (2.6)
  ['dir', ['a'], false, '/ab/c', false], // (2.6)
  ['dir', ['a'], true, '/A/B', true], // (2.6)
  ['dir', ['a'], false, '/A/B', false],
  ['dir', ['example'], false, 'www.example.com', false], // '.' is not a dir delimiter
  // len
  ['len', ['4'], false, 'abcd', true], // (2.6)
  ['len', ['5'], false, 12345, true], // (2.6)
  ['len', ['0:3'], false, 'abcd', false],
  ['len', ['ge', '3'], false, 'abcd', true],
  ['len', ['0'], false, '', true],
  ['len', ['0'], false, undefined, false],
  // int
  ['int', ['42'], false, '42', true], // (2.6)
  ['int', ['42'], false, '42x', true], // (2.6) leading digits
  ['int', ['0'], false, 'abc', true], // (2.6) no digits → 0
  ['int', ['5'], false, '+5', true], // (2.6)
  ['int', ['-42'], false, '-42x', true], // (2.6)
  ['int', ['10:20'], false, 15, true], // (2.6)
  ['int', ['10:20'], false, 21, false],
  ['int', [':5'], false, 5, true], // (2.6)
  ['int', ['30:'], false, 30, true], // (2.6)
  ['int', ['30:'], false, 29, false],
  ['int', ['le', '5'], false, 5, true], // (2.6)
  ['int', ['lt', '5'], false, 5, false], // (2.6)
  ['int', ['gt', '5', '4'], false, 4, false], // (2.6) operator sticks
  ['int', ['gt', '5', 'eq', '4'], false, 4, true],
  ['int', ['ge', '1024'], false, 1024, true],
  ['int', ['ge', '1024'], false, 1023, false],
  ['int', ['eq', '7'], false, 7, true],
  ['int', ['1', '2', '3'], false, 2, true],
  ['int', ['1'], false, true, true],
  ['int', ['1'], false, undefined, false],
  // ip
  ['ip', ['10.0.0.0/8'], false, '10.1.2.3', true],
  ['ip', ['10.0.0.0/8'], false, '11.1.2.3', false],
  ['ip', ['10.0.0.0/8'], false, '::ffff:10.1.2.3', true], // (2.6) v4-mapped sample
  ['ip', ['::ffff:10.0.0.0/104'], false, '10.1.2.3', true], // (2.6) v4 sample, mapped pattern
  ['ip', ['2001:db8::/32'], false, '2001:db8::1', true], // (2.6)
  ['ip', ['0.0.0.0/0'], false, '2001:db8::1', false], // (2.6)
  ['ip', ['0.0.0.0/0'], false, 'notanip', false], // (2.6)
  ['ip', ['192.168.0.0/255.255.0.0'], false, '192.168.9.9', true],
  ['ip', ['1.2.3.4'], false, '1.2.3.4', true],
  ['ip', ['1.2.3.4'], false, '1.2.3.5', false],
  ['ip', ['10.0.0.1/8'], false, '10.200.0.1', true], // host bits ignored
  ['ip', ['10.0.0.0/8'], false, undefined, false],
  ['ip', ['10.0.0.0/8'], false, 167772161, false],
  ['ip', [], false, '10.0.0.1', false],
  // found
  ['found', [], false, '', true], // (2.6) an empty sample exists
  ['found', [], false, 0, true],
  ['found', [], false, false, true],
  ['found', [], false, undefined, false],
  // bool
  ['bool', [], false, 7, true], // (2.6)
  ['bool', [], false, -1, true], // (2.6)
  ['bool', [], false, 0, false], // (2.6)
  ['bool', [], false, '1', true], // (2.6)
  ['bool', [], false, 'abc', false], // (2.6)
  ['bool', [], false, true, true],
  ['bool', [], false, false, false],
  ['bool', [], false, undefined, false],
];
for (const [method, patterns, ci, sample, want] of cases) {
  test(`-m ${method}${ci ? ' -i' : ''} ${JSON.stringify(patterns)} on ${JSON.stringify(sample) ?? 'undefined'} → ${want}`, (t) => {
    const m = compileMatcher(method, patterns, ci ? CI : CS);
    if (!m.ok) {
      t.fail(m.error);
    } else {
      t.is(m.value(sample), want);
      // Compiled once, used many times: a second call must agree (no hidden state like lastIndex).
      t.is(m.value(sample), want);
    }
  });
}

const compileErrors: Array<[string, string[], string]> = [
  ['foo', ['x'], "unknown matching method 'foo'"],
  ['subb', ['x'], "unknown matching method 'subb' (did you mean 'sub'?)"],
  ['regex', ['x'], "(did you mean 'reg'?)"],
  ['reg', ['([a'], "regex '([a' is invalid ("],
  ['reg', ['ok', '*bad'], "regex '*bad' is invalid"],
  ['int', ['abc'], "'abc' is not a number"], // (2.6)
  ['int', ['1.5'], "'1.5' is not a number"], // (2.6)
  ['int', ['0x10'], "'0x10' is not a number"], // (2.6)
  ['int', ['gt', 'abc'], "'abc' is neither a number nor a supported operator"], // (2.6)
  ['int', ['20:10'], "'20:10' is not a valid number range"], // (2.6)
  ['int', [':'], "':' is not a valid number range"],
  ['int', ['1:x'], "'1:x' is not a valid number range"],
  ['int', ['ge'], "missing value after operator 'ge'"], // deviation: 2.6 ignores it
  ['int', ['ge', 'lt', '5'], "missing value after operator 'ge'"],
  ['int', ['ge', '1:5'], "operator 'ge' cannot be applied to the range '1:5'"],
  ['len', ['abc'], "'abc' is not a number"], // (2.6)
  ['ip', ['10.0.0.0/33'], "'10.0.0.0/33' is not a valid IPv4 or IPv6 address"], // (2.6)
  ['ip', ['300.0.0.0/8'], "'300.0.0.0/8' is not a valid IPv4 or IPv6 address"], // (2.6)
  ['ip', ['localhost'], "'localhost' is not a valid IPv4 or IPv6 address"], // deviation: 2.6 resolves
  ['found', ['x'], "'-m found' takes no pattern, got 'x'"], // deviation: 2.6 ignores it
  ['bool', ['x', 'y'], "'-m bool' takes no pattern, got 'x y'"], // deviation: 2.6 ignores it
  ['str', ['a', ''], "empty pattern is not supported with '-m str'"],
  ['beg', [''], "empty pattern is not supported with '-m beg'"],
  ['sub', [''], "empty pattern is not supported with '-m sub'"],
  ['dom', ['..'], "pattern '..' contains only delimiters"],
  ['dir', ['/'], "pattern '/' contains only delimiters"],
];
for (const [method, patterns, msg] of compileErrors) {
  test(`compile error: -m ${method} ${JSON.stringify(patterns)}`, (t) => {
    const r = compileMatcher(method, patterns, CS);
    t.false(r.ok);
    if (!r.ok) t.true(r.error.includes(msg), r.error);
  });
}

test('the table holds exactly the twelve documented methods', (t) => {
  t.deepEqual(
    [...MATCH_METHOD_NAMES].sort(),
    ['bool', 'beg', 'dir', 'dom', 'end', 'found', 'int', 'ip', 'len', 'reg', 'str', 'sub'].sort(),
  );
  for (const name of MATCH_METHOD_NAMES) t.is(typeof MATCH_METHODS.get(name)?.compile, 'function');
});

test('compileIntRanges turns operators into ranges', (t) => {
  t.deepEqual(compileIntRanges(['gt', '5', '10', 'le', '2']), {
    ok: true,
    value: [
      { lo: 6, hi: Number.POSITIVE_INFINITY },
      { lo: 11, hi: Number.POSITIVE_INFINITY },
      { lo: Number.NEGATIVE_INFINITY, hi: 2 },
    ],
  });
  t.deepEqual(compileIntRanges(['-5:-1']), { ok: true, value: [{ lo: -5, hi: -1 }] });
});

test('asciiLower folds only ASCII and keeps the same string when nothing changes', (t) => {
  t.is(asciiLower('AbC/É'), 'abc/É');
  const s = 'already lower';
  t.is(asciiLower(s), s);
});

test('property: str -i agrees with a lower-cased exact comparison (ASCII)', (t) => {
  const ascii = fc.string({ unit: fc.constantFrom(...'aAbBcC./:'.split('')), maxLength: 6 });
  fc.assert(
    fc.property(fc.array(ascii, { minLength: 1, maxLength: 4 }).filter((a) => a.every((p) => p !== '')), ascii, (patterns, sample) => {
      const m = compileMatcher('str', patterns, CI);
      const b = compileMatcher('beg', patterns, CI);
      const e = compileMatcher('end', patterns, CI);
      const sub = compileMatcher('sub', patterns, CI);
      if (!m.ok || !b.ok || !e.ok || !sub.ok) return false;
      const low = sample.toLowerCase();
      const lp = patterns.map((p) => p.toLowerCase());
      return (
        m.value(sample) === lp.includes(low) &&
        b.value(sample) === lp.some((p) => low.startsWith(p)) &&
        e.value(sample) === lp.some((p) => low.endsWith(p)) &&
        sub.value(sample) === lp.some((p) => low.includes(p))
      );
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('property: dom matches exactly when the pattern is a whole run of labels', (t) => {
  const label = fc.constantFrom('a', 'b', 'ab', 'www', 'com');
  fc.assert(
    fc.property(fc.array(label, { minLength: 1, maxLength: 5 }), fc.array(label, { minLength: 1, maxLength: 3 }), (host, pat) => {
      const m = compileMatcher('dom', [pat.join('.')], CS);
      if (!m.ok) return false;
      // Reference: is `pat` a contiguous sub-list of `host`'s labels?
      let want = false;
      for (let i = 0; i + pat.length <= host.length; i++) {
        if (pat.every((l, j) => host[i + j] === l)) want = true;
      }
      return m.value(host.join('.')) === want;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('property: int ranges agree with direct comparison', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -100, max: 100 }), fc.integer({ min: -120, max: 120 }), (a, b, v) => {
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      const m = compileMatcher('int', [`${lo}:${hi}`], CS);
      const ge = compileMatcher('int', ['ge', String(a)], CS);
      const lt = compileMatcher('int', ['lt', String(a)], CS);
      if (!m.ok || !ge.ok || !lt.ok) return false;
      return m.value(v) === (v >= lo && v <= hi) && ge.value(v) === v >= a && lt.value(v) === v < a && m.value(String(v)) === m.value(v);
    }),
  );
  t.pass();
});

test('property: compileMatcher and matchers never throw', (t) => {
  const sample = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(undefined), fc.double());
  fc.assert(
    fc.property(fc.constantFrom(...MATCH_METHOD_NAMES, 'nope'), fc.array(fc.string(), { maxLength: 4 }), fc.boolean(), sample, (method, patterns, ci, s) => {
      const m = compileMatcher(method, patterns, { ignoreCase: ci });
      if (!m.ok) return typeof m.error === 'string';
      return typeof m.value(s) === 'boolean';
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('ip matching of random v4 addresses agrees with a numeric prefix check', (t) => {
  const toNum = (ip: string): number => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  fc.assert(
    fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (net, ip, prefix) => {
      const m = compileMatcher('ip', [`${net}/${prefix}`], CS);
      if (!m.ok) return false;
      const size = 2 ** (32 - prefix);
      const want = Math.floor(toNum(net) / size) === Math.floor(toNum(ip) / size);
      return m.value(ip) === want && m.value(`::ffff:${ip}`) === want;
    }),
  );
  t.pass();
});
