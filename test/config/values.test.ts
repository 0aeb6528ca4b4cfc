// Expected values and error cases below were taken from haproxy 2.6.12 (`haproxy -c -f`) where it
// has an opinion; cases marked "deviation" are where lb is deliberately stricter.
import test from 'ava';
import * as fc from 'fast-check';
import { isIPv4, isIPv6 } from 'node:net';
import {
  formatTime,
  isIPv4Text,
  isIPv6Text,
  normalizeIPv4,
  parseAddress,
  parseCidr,
  parseInteger,
  parseSize,
  parseTime,
  type Address,
  type AddressOptions,
  type Result,
} from '../../lb/config/values.ts';

const BIND: AddressOptions = { port: 'required', portRange: true };
const SERVER: AddressOptions = { port: 'optional', portOffset: true, allowFd: false };
const NOPORT: AddressOptions = { port: 'forbidden' };

function isResult(r: Result<unknown>): boolean {
  return typeof r === 'object' && r !== null && (r.ok ? 'value' in r : typeof r.error === 'string');
}

// ---------------------------------------------------------------------------------- parseTime

const timeOk: Array<[string, number, ('ms' | 's')?]> = [
  ['0', 0],
  ['5000', 5000],
  ['30s', 30_000],
  ['5m', 300_000],
  ['2h', 7_200_000],
  ['1d', 86_400_000],
  ['24d', 2_073_600_000],
  ['250ms', 250],
  ['10us', 1], // rounded up, never 0 for a non-zero input
  ['1000us', 1],
  ['1001us', 2],
  ['1500us', 2],
  ['0us', 0],
  ['2147483647', 2_147_483_647],
  ['2147483647ms', 2_147_483_647],
  ['007s', 7000],
  ['3', 3000, 's'],
  ['3ms', 3, 's'],
];
for (const [text, ms, unit] of timeOk) {
  test(`parseTime('${text}'${unit === undefined ? '' : `, ${unit}`}) = ${ms}`, (t) => {
    t.deepEqual(parseTime(text, unit), { ok: true, value: ms });
  });
}

const timeBad: Array<[string, RegExp]> = [
  ['', /expects an integer value/],
  ['30d', /timer overflow in '30d' \(maximum value is 2147483647 ms/],
  ['25d', /timer overflow/],
  ['2147483648', /timer overflow/],
  ['99999999999999999999', /timer overflow/],
  ['99999999999999999999999999999999d', /timer overflow/],
  ['-5', /unexpected character '-' in time value '-5'/],
  ['+5', /unexpected character '\+'/],
  ['10x', /unexpected character 'x'/],
  ['1.5s', /unexpected character '\.'/],
  ['abc', /unexpected character 'a'/],
  ['10S', /unexpected character 'S'/], // units are case-sensitive in haproxy
  ['10 s', /unexpected character ' '/],
  ['0x10', /unexpected character 'x'/],
  ['10ms5', /unexpected character '5' after the time value/], // deviation: 2.6 only warns
  ['1m1s', /unexpected character '1' after the time value/],
  ['s', /unexpected character 's'/],
];
for (const [text, re] of timeBad) {
  test(`parseTime rejects '${text}'`, (t) => {
    const r = parseTime(text);
    t.false(r.ok);
    if (!r.ok) t.regex(r.error, re);
  });
}

test('formatTime picks the largest exact unit', (t) => {
  t.is(formatTime(0), '0');
  t.is(formatTime(30_000), '30s');
  t.is(formatTime(1500), '1500ms');
  t.is(formatTime(7_200_000), '2h');
  t.is(formatTime(86_400_000 * 3), '3d');
  t.is(formatTime(90_000), '90s');
});

test('property: parseTime round-trips formatTime and explicit units', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (ms) => {
      const viaFormat = parseTime(formatTime(ms));
      const viaMs = parseTime(`${ms}ms`);
      return viaFormat.ok && viaFormat.value === ms && viaMs.ok && viaMs.value === ms;
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(['s', 1000] as const, ['m', 60_000] as const, ['h', 3_600_000] as const, ['d', 86_400_000] as const),
      fc.integer({ min: 0, max: 30 * 86_400 }),
      ([unit, mult], n) => {
        const r = parseTime(`${n}${unit}`);
        const expected = n * mult;
        return expected > 2 ** 31 - 1 ? !r.ok : r.ok && r.value === expected;
      },
    ),
  );
  t.pass();
});

// ---------------------------------------------------------------------------------- parseSize

const sizeOk: Array<[string, number]> = [
  ['0', 0],
  ['10', 10],
  ['1k', 1024],
  ['1K', 1024],
  ['16k', 16_384],
  ['1m', 1_048_576],
  ['1M', 1_048_576],
  ['1g', 1_073_741_824],
  ['3g', 3 * 1_073_741_824],
  ['4294967295', 4_294_967_295],
];
for (const [text, bytes] of sizeOk) {
  test(`parseSize('${text}') = ${bytes}`, (t) => {
    t.deepEqual(parseSize(text), { ok: true, value: bytes });
  });
}
const sizeBad: Array<[string, RegExp]> = [
  ['', /missing size/],
  ['10x', /unexpected character 'x' in size '10x'/],
  ['1kb', /unexpected character 'b'/],
  ['-1', /unexpected character '-'/],
  ['1.5k', /unexpected character '\.'/],
  ['k', /unexpected character 'k'/],
  ['4g', /size overflow in '4g'/],
  ['4294967296', /size overflow/],
  ['99999999999999999999999k', /size overflow/],
];
for (const [text, re] of sizeBad) {
  test(`parseSize rejects '${text}'`, (t) => {
    const r = parseSize(text);
    t.false(r.ok);
    if (!r.ok) t.regex(r.error, re);
  });
}

// ------------------------------------------------------------------------------- parseInteger

test('parseInteger accepts decimal integers within the range', (t) => {
  t.deepEqual(parseInteger('42', 0, 100), { ok: true, value: 42 });
  t.deepEqual(parseInteger('0', 0, 100), { ok: true, value: 0 });
  t.deepEqual(parseInteger('100', 0, 100), { ok: true, value: 100 });
  t.deepEqual(parseInteger('-3', -10, 10), { ok: true, value: -3 });
  t.deepEqual(parseInteger('007', 0, 10), { ok: true, value: 7 });
});
const intBad: Array<[string, number, number, RegExp]> = [
  ['', 0, 10, /'' is not a valid integer/],
  ['abc', 0, 10, /'abc' is not a valid integer/],
  ['0x10', 0, 100, /not a valid integer/],
  ['+5', 0, 10, /not a valid integer/],
  ['1.0', 0, 10, /not a valid integer/],
  [' 5', 0, 10, /not a valid integer/],
  ['11', 0, 10, /out of range \[0\.\.10\]/],
  ['-1', 0, 10, /out of range \[0\.\.10\]/],
  ['0', 1, 65535, /'0' is out of range \[1\.\.65535\]/],
  ['99999999999999999999', 0, Number.MAX_SAFE_INTEGER, /out of range/],
];
for (const [text, min, max, re] of intBad) {
  test(`parseInteger rejects '${text}' for [${min}..${max}]`, (t) => {
    const r = parseInteger(text, min, max);
    t.false(r.ok);
    if (!r.ok) t.regex(r.error, re);
  });
}

// ------------------------------------------------------------------------------- parseAddress

type Want = Omit<Address, 'raw'>;
const addrOk: Array<[string, AddressOptions, Want]> = [
  ['*:80', BIND, { family: 'ipv4', host: '0.0.0.0', port: 80 }],
  [':443', BIND, { family: 'ipv4', host: '0.0.0.0', port: 443 }],
  ['0.0.0.0:80', BIND, { family: 'ipv4', host: '0.0.0.0', port: 80 }],
  ['[::]:443', BIND, { family: 'ipv6', host: '::', port: 443 }],
  [':::443', BIND, { family: 'ipv6', host: '::', port: 443 }],
  ['::1:86', BIND, { family: 'ipv6', host: '::1', port: 86 }],
  ['[::1]:87', BIND, { family: 'ipv6', host: '::1', port: 87 }],
  ['[::ffff:1.2.3.4]:80', BIND, { family: 'ipv6', host: '::ffff:1.2.3.4', port: 80 }],
  ['[127.0.0.1]:80', BIND, { family: 'ipv4', host: '127.0.0.1', port: 80 }],
  ['10.0.1.10:8080', SERVER, { family: 'ipv4', host: '10.0.1.10', port: 8080 }],
  ['127.0.0.1:8001-8003', BIND, { family: 'ipv4', host: '127.0.0.1', port: 8001, portLast: 8003 }],
  ['127.0.0.1:80-80', BIND, { family: 'ipv4', host: '127.0.0.1', port: 80, portLast: 80 }],
  ['127.0.0.1:1-65535', BIND, { family: 'ipv4', host: '127.0.0.1', port: 1, portLast: 65535 }],
  ['[::1]:80-81', BIND, { family: 'ipv6', host: '::1', port: 80, portLast: 81 }],
  ['127.1:80', BIND, { family: 'ipv4', host: '127.0.0.1', port: 80 }],
  ['0:80', BIND, { family: 'ipv4', host: '0.0.0.0', port: 80 }],
  ['1.2.3:80', BIND, { family: 'ipv4', host: '1.2.0.3', port: 80 }],
  ['ipv4@:81', BIND, { family: 'ipv4', host: '0.0.0.0', port: 81 }],
  ['ipv6@:::82', BIND, { family: 'ipv6', host: '::', port: 82 }],
  ['ipv6@:82', BIND, { family: 'ipv6', host: '::', port: 82 }],
  ['tcp@:80', BIND, { family: 'ipv4', host: '0.0.0.0', port: 80 }],
  ['tcp4@127.0.0.1:80', BIND, { family: 'ipv4', host: '127.0.0.1', port: 80 }],
  ['tcp6@[::1]:80', BIND, { family: 'ipv6', host: '::1', port: 80 }],
  ['ipv6@localhost:80', BIND, { family: 'ipv6', host: 'localhost', port: 80 }],
  ['localhost:84', BIND, { family: 'ipv4', host: 'localhost', port: 84 }],
  ['db.example.com:3306', SERVER, { family: 'ipv4', host: 'db.example.com', port: 3306 }],
  ['db.example.com', SERVER, { family: 'ipv4', host: 'db.example.com' }],
  ['127.0.0.1', SERVER, { family: 'ipv4', host: '127.0.0.1' }],
  ['[::1]', SERVER, { family: 'ipv6', host: '::1' }],
  ['127.0.0.1:0', SERVER, { family: 'ipv4', host: '127.0.0.1', port: 0 }],
  ['127.0.0.1:65535', SERVER, { family: 'ipv4', host: '127.0.0.1', port: 65535 }],
  ['127.0.0.1:+5', SERVER, { family: 'ipv4', host: '127.0.0.1', port: 5, portOffset: true }],
  ['127.0.0.1:-5', SERVER, { family: 'ipv4', host: '127.0.0.1', port: -5, portOffset: true }],
  ['127.0.0.1:+0', SERVER, { family: 'ipv4', host: '127.0.0.1', port: 0, portOffset: true }],
  ['unix@/run/lb.sock', BIND, { family: 'unix', host: '/run/lb.sock' }],
  ['unix@rel.sock', BIND, { family: 'unix', host: 'rel.sock' }],
  ['/run/lb.sock', BIND, { family: 'unix', host: '/run/lb.sock' }],
  ['/run/lb.sock', SERVER, { family: 'unix', host: '/run/lb.sock' }],
  ['abns@foo', BIND, { family: 'abns', host: 'foo' }],
  ['fd@3', BIND, { family: 'fd', host: '3' }],
  ['sockpair@4', BIND, { family: 'sockpair', host: '4' }],
  ['10.0.0.1', NOPORT, { family: 'ipv4', host: '10.0.0.1' }],
];
for (const [text, opts, want] of addrOk) {
  test(`parseAddress('${text}', ${opts.port})`, (t) => {
    t.deepEqual(parseAddress(text, opts), { ok: true, value: { ...want, raw: text } });
  });
}

const addrBad: Array<[string, AddressOptions, string]> = [
  ['', BIND, 'missing address'],
  ['127.0.0.1', BIND, "missing port specification in '127.0.0.1'"],
  ['127.0.0.1:', BIND, "missing port specification in '127.0.0.1:'"],
  ['[::1]', BIND, "missing port specification in '[::1]'"],
  ['127.0.0.1:0', BIND, "invalid port '0'"],
  ['127.0.0.1:0-5', BIND, "invalid port '0'"],
  ['127.0.0.1:65536', BIND, "invalid port '65536'"],
  ['127.0.0.1:99999999999', SERVER, "invalid port '99999999999'"],
  ['127.0.0.1:abc', BIND, "invalid character 'a' in port number 'abc' in '127.0.0.1:abc'"],
  ['127.0.0.1:80x', BIND, "invalid character 'x' in port number '80x' in '127.0.0.1:80x'"], // deviation
  ['127.0.0.1:90-80', BIND, "invalid port range '90-80'"],
  ['127.0.0.1:5-', BIND, "invalid port ''"],
  ['127.0.0.1:8001-8003', SERVER, "port range not permitted here in '127.0.0.1:8001-8003'"],
  ['127.0.0.1:-5', BIND, "port offset not permitted here in '127.0.0.1:-5'"],
  ['127.0.0.1:+5', BIND, "port offset not permitted here in '127.0.0.1:+5'"],
  ['127.0.0.1:-', BIND, "port offset not permitted here in '127.0.0.1:-'"],
  ['127.0.0.1:+', SERVER, "invalid port offset '+' in '127.0.0.1:+'"],
  ['127.0.0.1:-70000', SERVER, "invalid port offset '-70000' in '127.0.0.1:-70000'"],
  ['127.0.0.1:80', NOPORT, "port specification not permitted here in '127.0.0.1:80'"],
  ['256.1.1.1:80', BIND, "invalid address: '256.1.1.1' in '256.1.1.1:80'"],
  ['1.2.3.4.5:80', BIND, "invalid address: '1.2.3.4.5' in '1.2.3.4.5:80'"],
  ['ipv6@127.0.0.1:88', BIND, "invalid address: '127.0.0.1' in 'ipv6@127.0.0.1:88'"],
  ['ipv4@[::1]:80', BIND, "invalid address: '[::1]' in 'ipv4@[::1]:80'"],
  ['[::1:80', BIND, "invalid address: '[::1' in '[::1:80'"],
  ['::1]:80', BIND, "invalid address: '::1]' in '::1]:80'"],
  ['[::1]x', BIND, "invalid address: '[::1]x' in '[::1]x'"],
  ['[]:80', BIND, "invalid address: '[]' in '[]:80'"],
  ['127.0.0.1:80:90', BIND, "invalid address: '127.0.0.1:80' in '127.0.0.1:80:90'"],
  ['::1', SERVER, "ambiguous IPv6 address '::1' in '::1': write '[::1]' or '[::1]:<port>'"],
  ['2001:db8::1', SERVER, "ambiguous IPv6 address '2001:db8::1'"],
  ['bad_host!:80', BIND, "invalid address: 'bad_host!' in 'bad_host!:80'"],
  ['-host:80', BIND, "invalid address: '-host' in '-host:80'"],
  ['foo@bar:80', BIND, "unknown address prefix 'foo@' in 'foo@bar:80' (expected one of ipv4@"],
  ['UNIX@/x', BIND, "unknown address prefix 'UNIX@'"],
  ['udp@:80', BIND, "dgram-type address not acceptable in 'udp@:80'"],
  ['quic4@:443', BIND, "dgram-type address not acceptable in 'quic4@:443'"],
  ['unix@', BIND, "missing socket path in 'unix@'"], // deviation: 2.6 accepts an empty path
  ['abns@', BIND, "missing socket path in 'abns@'"],
  [`/${'x'.repeat(120)}`, BIND, 'is too long (maximum 107 bytes)'],
  ['fd@', BIND, "file descriptor '' is not a valid integer in 'fd@'"],
  ['fd@abc', BIND, "file descriptor 'abc' is not a valid integer in 'fd@abc'"],
  ['fd@3', SERVER, "a file descriptor is not acceptable here in 'fd@3'"],
  ['sockpair@3', SERVER, "a file descriptor is not acceptable here in 'sockpair@3'"],
];
for (const [text, opts, msg] of addrBad) {
  test(`parseAddress rejects '${text.slice(0, 30)}' (${opts.port})`, (t) => {
    const r = parseAddress(text, opts);
    t.false(r.ok, JSON.stringify(r));
    if (!r.ok) t.true(r.error.includes(msg), r.error);
  });
}

test('normalizeIPv4 implements the inet_aton decimal forms', (t) => {
  t.is(normalizeIPv4('10'), '0.0.0.10');
  t.is(normalizeIPv4('10.1'), '10.0.0.1');
  t.is(normalizeIPv4('10.1.65535'), '10.1.255.255');
  t.is(normalizeIPv4('4294967295'), '255.255.255.255');
  t.is(normalizeIPv4('4294967296'), undefined);
  t.is(normalizeIPv4('10.1.65536'), undefined);
  t.is(normalizeIPv4('1.2.3.256'), undefined);
  t.is(normalizeIPv4('1..2'), undefined);
  t.is(normalizeIPv4('a.b'), undefined);
});

// ---------------------------------------------------------------------------------- parseCidr

const cidrOk: Array<[string, string, string, number]> = [
  ['10.0.0.0/8', 'ipv4', '10.0.0.0', 8],
  ['10.0.0.1/8', 'ipv4', '10.0.0.1', 8],
  ['192.168.0.0/255.255.0.0', 'ipv4', '192.168.0.0', 16],
  ['10.0.0.0/255.255.255.255', 'ipv4', '10.0.0.0', 32],
  ['0.0.0.0/0.0.0.0', 'ipv4', '0.0.0.0', 0],
  ['1.2.3.4', 'ipv4', '1.2.3.4', 32],
  ['10.0.0.0/0', 'ipv4', '10.0.0.0', 0],
  ['10.0.0.0/08', 'ipv4', '10.0.0.0', 8],
  ['10/8', 'ipv4', '0.0.0.10', 8], // inet_aton: a lone number is the whole address
  ['::1', 'ipv6', '::1', 128],
  ['2001:db8::/32', 'ipv6', '2001:db8::', 32],
  ['::/0', 'ipv6', '::', 0],
  ['::ffff:10.0.0.1/128', 'ipv6', '::ffff:10.0.0.1', 128],
];
for (const [text, family, address, prefix] of cidrOk) {
  test(`parseCidr('${text}')`, (t) => {
    t.deepEqual(parseCidr(text), { ok: true, value: { family, address, prefix } });
  });
}
const cidrBad: Array<[string, string]> = [
  ['', 'missing address'],
  ['/8', 'missing address'],
  ['10.0.0.0/', 'missing prefix length'],
  ['10.0.0.0/33', 'prefix length must be 0..32'],
  ['2001:db8::/129', 'prefix length must be 0..128'],
  ['300.0.0.0/8', "bad address '300.0.0.0'"],
  ['fe80::1%eth0', "bad address 'fe80::1%eth0'"],
  ['10.0.0.0/-1', "bad prefix length '-1'"],
  ['10.0.0.0/1000', "bad prefix length '1000'"],
  ['192.168.0.0/255.0.255.0', "'255.0.255.0' is not a contiguous netmask"], // deviation
  ['192.168.0.0/0.0.0.255', 'is not a contiguous netmask'],
  ['::/255.255.0.0', "bad prefix length '255.255.0.0'"],
  ['10.0.0.0/8/8', "more than one '/'"],
  ['example.com', "bad address 'example.com'"],
];
for (const [text, msg] of cidrBad) {
  test(`parseCidr rejects '${text}'`, (t) => {
    const r = parseCidr(text);
    t.false(r.ok);
    if (!r.ok) {
      t.true(r.error.startsWith(`'${text}' is not a valid IPv4 or IPv6 address`), r.error);
      t.true(r.error.includes(msg), r.error);
    }
  });
}

// --------------------------------------------------------------------------------- properties

test('property: the parsers never throw and always return a Result', (t) => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: fc.constantFrom(...'0123456789.:/[]@*-+kmgsuhdabcfx%'.split('')) }),
    fc.string({ unit: 'binary' }),
  );
  const opts = fc.record({
    port: fc.constantFrom('required' as const, 'optional' as const, 'forbidden' as const),
    portRange: fc.boolean(),
    portOffset: fc.boolean(),
    allowFd: fc.boolean(),
  });
  fc.assert(
    fc.property(text, opts, (s, o) => {
      return (
        isResult(parseTime(s)) &&
        isResult(parseTime(s, 's')) &&
        isResult(parseSize(s)) &&
        isResult(parseInteger(s, 0, 100)) &&
        isResult(parseAddress(s, o)) &&
        isResult(parseCidr(s))
      );
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: successful parses respect their documented bounds', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789:.-+[]'.split('')) }), (s) => {
      const a = parseAddress(`127.0.0.1:${s}`, { port: 'required', portRange: true });
      if (a.ok) {
        const { port, portLast } = a.value;
        if (port === undefined || port < 1 || port > 65535) return false;
        if (portLast !== undefined && (portLast < port || portLast > 65535)) return false;
      }
      const c = parseCidr(`10.0.0.0/${s}`);
      if (c.ok && (c.value.prefix < 0 || c.value.prefix > 32)) return false;
      const ti = parseTime(s);
      return !ti.ok || (Number.isInteger(ti.value) && ti.value >= 0 && ti.value <= 2 ** 31 - 1);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: every valid IPv4 dotted quad with a port parses back to itself', (t) => {
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
      const r = parseAddress(`${ip}:${port}`, BIND);
      return r.ok && r.value.host === ip && r.value.port === port && r.value.family === 'ipv4';
    }),
  );
  fc.assert(
    fc.property(fc.ipV6(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
      const r = parseAddress(`[${ip}]:${port}`, BIND);
      return r.ok && r.value.host === ip && r.value.port === port && r.value.family === 'ipv6';
    }),
  );
  t.pass();
});

test('property: the hand-written IPv4/IPv6 recognisers agree with node:net on arbitrary and address-like strings', (t) => {
  // values.ts avoids node:net on the config hot path; this keeps it honest.
  const addressLike = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/),
    fc.string({ maxLength: 50 }),
  );
  fc.assert(
    fc.property(addressLike, (s) => isIPv4Text(s) === isIPv4(s) && isIPv6Text(s) === isIPv6(s)),
    { numRuns: 20000 },
  );
  t.pass();
});
