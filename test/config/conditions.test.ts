// Expected results were taken from haproxy 2.6.12 (`.if <cond>` + `.notice` under `haproxy -c`),
// with FOO=bar, EMPTY='' and NOPE unset. Cases marked "deviation" are where lb is stricter.
import test from 'ava';
import * as fc from 'fast-check';
import {
  CONDITION_PREDICATES,
  HAPROXY_COMPAT_VERSION,
  compareVersions,
  defaultCondContext,
  evalCondition,
  type CondContext,
} from '../../lb/config/conditions.ts';

const ctx: CondContext = {
  env: { FOO: 'bar', EMPTY: '' },
  version: '2.6.12',
  features: new Set(['OPENSSL', 'LIBCRYPT', 'EPOLL']),
};

// Each case is the list of words as the tokenizer hands them over.
const truthTable: Array<[readonly string[], boolean]> = [
  [['1'], true],
  [['0'], false],
  [[], false],
  [[''], false],
  [['2'], true],
  [['-1'], true],
  [['-0'], false],
  [['01'], true],
  [['0x1'], true],
  [['0x0'], false],
  [[' 1 '], true],
  [['defined(FOO)'], true],
  [['defined(NOPE)'], false],
  [['defined(EMPTY)'], true],
  [['defined()'], false],
  [['!defined(FOO)'], false],
  [['!', '1'], false],
  [['!!1'], true],
  [['!(0)'], true],
  [['((1))'], true],
  [['defined(FOO)', '&&', 'defined(NOPE)'], false],
  [['defined(FOO)&&!defined(NOPE)'], true],
  [['defined(FOO)', '&&', 'streq(a,b)'], false],
  [['defined(FOO)', '||', 'defined(NOPE)'], true],
  [['(0', '||', '1)', '&&', '1'], true],
  [['0', '||', '1', '&&', '0'], false], // && binds tighter than ||
  [['1', '||', '0', '&&', '0'], true],
  [['1&&0||1'], true],
  [['!0', '&&', '!0'], true],
  [['!1', '||', '!1'], false],
  [['defined(FOO)', '&&', '(defined(NOPE)', '||', '1)'], true],
  [['streq(a,b)'], false],
  [['streq(a,a)'], true],
  [['streq( a , a )'], true],
  [['streq(a b,a b)'], true],
  [['streq(,)'], true],
  [['streq(a,)'], false],
  [['strneq(a,b)'], true],
  [['strneq(a,a)'], false],
  [['streq(bar,bar)'], true], // what `streq("$FOO",bar)` becomes after expansion
  [['strstr(haproxy,prox)'], true],
  [['strstr(haproxy,nginx)'], false],
  [['feature(OPENSSL)'], true],
  [['feature(openssl)'], false], // feature names are case-sensitive
  [['feature(ZLIB)'], false],
  [['feature(NOPE)'], false],
  [['version_atleast(2.4)'], true],
  [['version_atleast(2)'], true],
  [['version_atleast(2.6.12)'], true],
  [['version_atleast(2.6.13)'], false],
  [['version_atleast(2.7)'], false],
  [['version_atleast(3)'], false],
  [['version_before(2.7)'], true],
  [['version_before(2.6)'], false],
  [['version_before(2.6.12)'], false],
  [['version_before(2.10)'], true], // numeric, not lexical: 6 < 10
];
for (const [args, want] of truthTable) {
  test(`.if ${JSON.stringify(args)} → ${want}`, (t) => {
    t.deepEqual(evalCondition(args, ctx), { ok: true, value: want });
  });
}

const errors: Array<[readonly string[], string]> = [
  [['nope(x)'], "unknown predicate 'nope' in conditional expression 'nope(x)' at position 1"],
  [['defind(FOO)'], "unknown predicate 'defind' (did you mean 'defined'?)"],
  [['1', '||', 'nope(x)'], "unknown predicate 'nope'"],
  [['0', '&&', 'nope(x)'], "unknown predicate 'nope'"],
  [['enabled(POLL)'], "unknown predicate 'enabled'"],
  [['abc'], "unparsable term 'abc' in conditional expression 'abc' at position 1"],
  [['a b'], "unparsable term 'a b'"],
  [['bar'], "unparsable term 'bar'"], // what `"$FOO"` becomes
  [['defined', 'FOO'], "unparsable term 'defined FOO'"],
  [['(1'], "expected ')' after sub-expression in conditional expression '(1' at position 1"],
  [['((1)'], "expected ')' after sub-expression"],
  [['1)'], "unexpected character ')' at the end in conditional expression '1)' at position 2"],
  [['()'], "unparsable term ')'"],
  [['1', '1'], "unexpected character '1' at the end"],
  [['1abc'], "unexpected character 'a' at the end in conditional expression '1abc' at position 2"],
  [['1', '&', '1'], "unexpected character '&' at the end"],
  [['1', '&&'], 'missing term'],
  [['&&', '1'], "unparsable term '&& 1'"],
  [['1', '|||', '0'], "unparsable term '| 0'"],
  [['!'], 'missing term'],
  [['defined(FOO'], "expected ')' in argument 1 of predicate 'defined'"],
  [['streq(a,b'], "expected ')' in argument 2 of predicate 'streq'"],
  [['streq(a)'], "predicate 'streq' expects 2 argument(s), got 1"],
  [['streq(a,b,c)'], "predicate 'streq' expects 2 argument(s), got 3"],
  [['defined(A,B)'], "predicate 'defined' expects 1 argument(s), got 2"],
  [['defined(FOO)', 'defined(FOO)'], "unexpected character 'd' at the end"],
  [['version_atleast(abc)'], "invalid version 'abc' in argument of predicate 'version_atleast'"], // deviation
  [['version_before()'], "invalid version '' in argument of predicate 'version_before'"], // deviation
  [['version_atleast(2.4-dev)'], "invalid version '2.4-dev'"],
];
for (const [args, msg] of errors) {
  test(`.if ${JSON.stringify(args)} is an error`, (t) => {
    const r = evalCondition(args, ctx);
    t.false(r.ok, JSON.stringify(r));
    if (!r.ok) t.true(r.error.includes(msg), r.error);
  });
}

test('whitespace-only expression is false, as in haproxy for an empty .if', (t) => {
  t.deepEqual(evalCondition(['  '], ctx), { ok: true, value: false });
});

test('deep nesting is reported, not thrown', (t) => {
  const deep = `${'('.repeat(100_000)}1${')'.repeat(100_000)}`;
  const r = evalCondition([deep], ctx);
  t.false(r.ok);
  const shallow = `${'('.repeat(50)}1${')'.repeat(50)}`;
  t.deepEqual(evalCondition([shallow], ctx), { ok: true, value: true });
  t.deepEqual(evalCondition([`${'!'.repeat(101)}1`], ctx), { ok: true, value: false });
});

test('a version in the context that is not numeric is reported', (t) => {
  const r = evalCondition(['version_atleast(2.4)'], { ...ctx, version: 'dev' });
  t.false(r.ok);
});

test('compareVersions treats missing parts as zero', (t) => {
  t.is(compareVersions([2, 6], [2, 6, 0]), 0);
  t.is(compareVersions([2, 6, 1], [2, 6]), 1);
  t.is(compareVersions([2, 9], [2, 10]), -1);
});

test('defaultCondContext reports the compatible version, process env and real features', (t) => {
  const d = defaultCondContext();
  t.is(HAPROXY_COMPAT_VERSION, '2.6.0');
  t.is(d.version, HAPROXY_COMPAT_VERSION);
  t.is(d.env, process.env);
  t.true(d.features.has('OPENSSL'));
  t.false(d.features.has('QUIC'));
  t.deepEqual(evalCondition(['version_atleast(2.6)', '&&', 'version_before(2.6.1)'], d), { ok: true, value: true });
});

test('CONDITION_PREDICATES lists the documented predicates', (t) => {
  for (const p of ['defined', 'feature', 'streq', 'strneq', 'version_atleast', 'version_before']) {
    t.true(CONDITION_PREDICATES.includes(p), p);
  }
});

test('property: evalCondition never throws and always returns a Result', (t) => {
  const word = fc.oneof(
    fc.string(),
    fc.constantFrom('(', ')', '!', '&&', '||', '0', '1', 'defined(FOO)', 'streq(a,b)', 'version_atleast(2.4)', 'nope(x)', ','),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (args) => {
      const r = evalCondition(args, ctx);
      return typeof r === 'object' && (r.ok ? typeof r.value === 'boolean' : typeof r.error === 'string');
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: boolean algebra of && || ! matches JavaScript on random expressions', (t) => {
  type E = { text: string; value: boolean };
  const { expr } = fc.letrec<{ expr: E }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom<E>(
        { text: '1', value: true },
        { text: '0', value: false },
        { text: 'defined(FOO)', value: true },
        { text: 'defined(NOPE)', value: false },
      ),
      tie('expr').map((e) => ({ text: `!${e.text}`, value: !e.value })),
      fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => ({ text: `(${a.text} && ${b.text})`, value: a.value && b.value })),
      fc.tuple(tie('expr'), tie('expr')).map(([a, b]) => ({ text: `(${a.text}||${b.text})`, value: a.value || b.value })),
    ),
  }));
  fc.assert(
    fc.property(expr, (e) => {
      const r = evalCondition(e.text.split(' '), ctx);
      return r.ok && r.value === e.value;
    }),
  );
  t.pass();
});
