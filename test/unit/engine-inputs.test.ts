// What the engine refuses before anything is sent: every string bound for the kernel with a NUL
// inside (it would be cut there: "vh0\0evil" names vh0), numbers out of their field's range,
// lists longer than the kernel takes, an operation carrying two objects, unknown names; and what
// the handle refuses about its own options. Each is a TypeError with code
// ERR_NETQOS_INVALID_ARGUMENT naming the field and quoting at most a short prefix of the value.
// encode() builds the messages without a socket, so nothing here reaches a kernel.
import { openNetlink } from '../../lib';
import {
  checkApplyOptions,
  checkDumpQuery,
  checkOpenOptions,
  checkWatchOptions,
} from '../../lib/netlink/validate';

interface Addon {
  encode(ops: unknown[]): Buffer[];
  Handle: new (netns?: unknown) => unknown;
}
const addon: Addon = require('../../build/Release/netqos.node');

const tbf = (extra: Record<string, unknown> = {}) => ({
  op: 'add',
  qdisc: { dev: 'v0', kind: 'tbf', rate: 8e6, burst: 10_000, limit: 10_000, ...extra },
});
const filter = (extra: Record<string, unknown> = {}, actions: unknown[] = []) => ({
  op: 'add',
  filter: { dev: 'v0', parent: 'ingress', kind: 'u32', priority: 1, ...extra, actions },
});
const mirred = (extra: Record<string, unknown> = {}) => ({ kind: 'mirred', dev: 'ifb0', ...extra });

/** The error encode() throws for these operations (fails the test if it throws none). */
function refusal(ops: unknown[]): Error & { code?: string } {
  try {
    addon.encode(ops);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error(`encode accepted ${JSON.stringify(ops, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
}

function expectRefused(ops: unknown[], message: RegExp): void {
  const err = refusal(ops);
  expect(err.name).toBe('TypeError');
  expect(err.code).toBe('ERR_NETQOS_INVALID_ARGUMENT');
  expect(err.message).toMatch(message);
  expect(err.message.length).toBeLessThan(400);
}

describe('strings with a NUL inside are refused, never cut', () => {
  const nul = 'contains a NUL character';
  test.each([
    ['qdisc dev', [tbf({ dev: 'vh0\0evil' })], /ops\[0\]\.qdisc\.dev: "vh0\\u0000evil" contains a NUL/],
    ['qdisc kind', [tbf({ kind: 'tbf\0' })], /ops\[0\]\.qdisc\.kind: "tbf\\u0000" contains a NUL/],
    ['qdisc parent', [tbf({ parent: 'root\0x' })], /ops\[0\]\.qdisc\.parent: .* contains a NUL/],
    ['qdisc handle', [tbf({ handle: '1:\0' })], /ops\[0\]\.qdisc\.handle: .* contains a NUL/],
    ['op', [{ op: 'add\0', qdisc: tbf().qdisc }], /ops\[0\]\.op: .* contains a NUL/],
    ['filter protocol', [filter({ protocol: 'ip\0v6' })], /ops\[0\]\.filter\.protocol: .* contains a NUL/],
    ['action kind', [filter({}, [{ kind: 'mirred\0' }])], /filter\.actions\[0\]\.kind: .* contains a NUL/],
    ['mirred dev', [filter({}, [mirred({ dev: 'v1\0x' })])], /actions\[0\]\.dev: .* contains a NUL/],
    ['mirred mode', [filter({}, [mirred({ mode: 'mirror\0' })])], /actions\[0\]\.mode: .* contains a NUL/],
    ['control', [filter({}, [mirred({ control: 'pipe\0' })])], /actions\[0\]\.control: .* contains a NUL/],
    ['cookie', [filter({}, [mirred({ cookie: 'ab\0c' })])], /actions\[0\]\.cookie: .* contains a NUL/],
    [
      'csum update',
      [filter({}, [{ kind: 'csum', update: ['ipv4h', 'tcp\0'] }])],
      /actions\[0\]\.update\[1\]: "tcp\\u0000" contains a NUL/,
    ],
    [
      'link name',
      [{ op: 'add', link: { kind: 'ifb', name: 'ifb\0x' } }],
      /ops\[0\]\.link\.name: .* contains a NUL/,
    ],
    [
      'link kind',
      [{ op: 'add', link: { kind: 'ifb\0', name: 'ifbx' } }],
      /ops\[0\]\.link\.kind: .* contains a NUL/,
    ],
  ])('%s', (_what, ops, message) => {
    expectRefused(ops, message);
    expect(refusal(ops).message).toContain(nul);
  });
});

describe('numbers out of range', () => {
  test.each([
    ['NaN', tbf({ rate: NaN }), /qdisc\.rate: NaN is not a non-negative integer/],
    ['Infinity', tbf({ burst: Infinity }), /qdisc\.burst: Infinity is not a non-negative integer/],
    ['negative', tbf({ limit: -1 }), /qdisc\.limit: -1 is not a non-negative integer/],
    ['fraction', tbf({ burst: 1.5 }), /qdisc\.burst: 1\.5 is not a non-negative integer/],
    ['u32 above 2^32', tbf({ limit: 2 ** 32 }), /qdisc\.limit: 4294967296 is out of range/],
    ['u32 burst above 2^32', tbf({ burst: 2 ** 32 }), /qdisc\.burst: 4294967296 is out of range/],
    ['above 2^53', tbf({ rate: 2 ** 60 }), /qdisc\.rate: 1152921504606846976 is above 2\^53 - 1.*BigInt/],
    ['huge', tbf({ rate: 1e300 }), /qdisc\.rate: 1e\+300 is not an unsigned 64-bit integer/],
    [
      'bigint beyond u64',
      tbf({ rate: 2n ** 64n }),
      /qdisc\.rate: a bigint is not an unsigned 64-bit integer/,
    ],
    ['negative bigint', tbf({ rate: -1n }), /qdisc\.rate: a bigint is not an unsigned 64-bit integer/],
    [
      'u16 priority',
      filter({ priority: 65536 }),
      /filter\.priority: 65536 is out of range \(allowed 0\.\.65535\)/,
    ],
    ['u32 handle', filter({ handle: 2 ** 32 }), /filter\.handle: 4294967296 is out of range/],
    ['chain', filter({ chain: 2 ** 32 }), /filter\.chain: 4294967296 is out of range/],
    ['ifindex 0', tbf({ dev: 0 }), /qdisc\.dev: expected an interface name or index, got 0/],
    [
      'ifindex 2^31',
      tbf({ dev: 2 ** 31 }),
      /qdisc\.dev: expected an interface name or index, got 2147483648/,
    ],
    [
      'string for a number',
      tbf({ rate: '10mbit' }),
      /qdisc\.rate: expected a non-negative integer, got "10mbit"/,
    ],
    ['goto chain overflow', filter({}, [mirred({ control: 'goto chain 268435456' })]), /at most 268435455/],
    [
      'goto chain junk',
      filter({}, [mirred({ control: 'goto chain 5x' })]),
      /"goto chain 5x" is not a control/,
    ],
    ['goto chain negative', filter({}, [mirred({ control: 'jump -1' })]), /"jump -1" is not a control/],
  ])('%s', (_what, op, message) => expectRefused([op], message));
});

describe('types a field does not take are refused, not ignored', () => {
  test.each([
    [
      'numeric kind on delete',
      { op: 'delete', qdisc: { dev: 'v0', kind: 5 } },
      /qdisc\.kind: expected a string, got 5/,
    ],
    ['numeric op', { op: 1, qdisc: tbf().qdisc }, /ops\[0\]\.op: expected a string, got 1/],
    [
      'numeric control',
      filter({}, [mirred({ control: 2 })]),
      /actions\[0\]\.control: expected a string, got 2/,
    ],
    [
      'numeric cookie',
      filter({}, [mirred({ cookie: 1234 })]),
      /actions\[0\]\.cookie: expected a string, got 1234/,
    ],
    [
      'numeric direction',
      filter({}, [mirred({ direction: 1 })]),
      /actions\[0\]\.direction: expected a string/,
    ],
    ['numeric link name', { op: 'delete', link: { name: 5 } }, /link\.name: expected a string, got 5/],
    ['null dev', tbf({ dev: null }), /qdisc\.dev: expected an interface name or index, got null/],
    ['symbol', tbf({ kind: Symbol('tbf') }), /qdisc\.kind: expected a string, got a value of another type/],
    ['function', tbf({ rate: () => 1 }), /qdisc\.rate: expected a non-negative integer, got an object/],
  ])('%s', (_what, op, message) => expectRefused([op], message));
});

describe('operations and lists', () => {
  test('an operation with two objects', () => {
    expectRefused(
      [{ op: 'add', qdisc: tbf().qdisc, filter: filter().filter }],
      /ops\[0\]: an operation carries one of qdisc, class, filter, chain or link, not several/,
    );
    expectRefused(
      [{ op: 'delete', qdisc: { dev: 'v0' }, link: { name: 'v0' } }],
      /ops\[0\]: an operation carries one of qdisc, class, filter, chain or link/,
    );
    expectRefused(
      [{ op: 'add', class: { dev: 'v0', classid: '1:1', kind: 'htb', rate: 1e6 }, chain: { dev: 'v0' } }],
      /ops\[0\]: an operation carries one of qdisc, class, filter, chain or link/,
    );
  });
  test('unknown operations and kinds name what is allowed', () => {
    expectRefused([{ op: 'upsert', qdisc: tbf().qdisc }], /allowed: add, replace, change, delete/);
    expectRefused(
      [tbf({ kind: 'red' })],
      /"red" is not a qdisc kind netqos knows \(allowed: tbf, ingress, clsact, htb, .*netem\)/,
    );
    expectRefused([filter({ kind: 'flow' })], /"flow" is not a classifier kind .*allowed: u32, matchall/);
    expectRefused([filter({}, [{ kind: 'ife' }])], /"ife" is not an action kind .*allowed: police, mirred/);
    expectRefused([{ op: 'add', link: { kind: 'veth', name: 'x' } }], /link\.kind: must be "ifb"/);
  });
  test('lists longer than the kernel takes', () => {
    const actions = Array.from({ length: 33 }, () => mirred());
    expectRefused([filter({}, actions)], /filter\.actions: has 33 actions \(at most 32\)/);
    const keys = Array.from({ length: 129 }, () => ({ value: 0, mask: 0 }));
    expectRefused([filter({ keys })], /filter\.keys: has 129 keys \(at most 128\)/);
    const update = Array.from({ length: 17 }, () => 'tcp');
    expectRefused(
      [filter({}, [{ kind: 'csum', update }])],
      /actions\[0\]\.update: has 17 names \(at most 16\)/,
    );
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    expectRefused([filter({}, sparse)], /filter\.actions: has 4294967295 actions/);
    expectRefused(sparse, /^operations: has 4294967295 items \(at most 1000000 in one call; split it\)/);
    const sparseOps: unknown[] = [];
    sparseOps.length = 1000;
    expectRefused(sparseOps, /^ops\[0\]: expected an operation object, got undefined/);
  });
  test('a link group delete names a group other than 0 (every interface is in group 0)', () => {
    expectRefused([{ op: 'delete', link: { group: 0 } }], /link\.group: 0 is out of range \(allowed 1\.\./);
    expectRefused([{ op: 'delete', link: { name: 'x', group: 7 } }], /link\.group: deletes a whole group/);
    expectRefused(
      [{ op: 'change', link: { name: 'x', index: 3, up: true } }],
      /give name or index, not both/,
    );
    expect(addon.encode([{ op: 'delete', link: { group: 7 } }])).toHaveLength(1);
  });
});

describe('a long value is quoted by a short prefix only', () => {
  const huge = 'x'.repeat(1 << 20);
  test.each([
    ['dev', tbf({ dev: huge })],
    ['kind', tbf({ kind: huge })],
    ['parent', tbf({ parent: huge })],
    ['op', { op: huge, qdisc: tbf().qdisc }],
    ['cookie', filter({}, [mirred({ cookie: huge })])],
    ['control', filter({}, [mirred({ control: huge })])],
    ['protocol', filter({ protocol: huge })],
  ])('%s', (_what, op) => {
    const err = refusal([op]);
    expect(err.code).toBe('ERR_NETQOS_INVALID_ARGUMENT');
    expect(err.message).toContain(`"${'x'.repeat(64)}"... (1048576 bytes)`);
    expect(err.message.length).toBeLessThan(300);
  });
});

describe('the handle refuses options it does not know or cannot use', () => {
  const code = 'ERR_NETQOS_INVALID_ARGUMENT';
  test.each([
    ['5', 5],
    ['{}', {}],
    ['[]', []],
    ['true', true],
    ['0', 0],
    ["''", ''],
    ['null', null],
    ['a NUL', 'ns\0evil'],
    ['5000 bytes', 'x'.repeat(5000)],
  ])('netns %s', (_what, netns) => {
    expect(() => openNetlink({ netns } as never)).toThrow(
      expect.objectContaining({ code, field: 'options.netns' }),
    );
    // The engine itself refuses it too (a caller of the raw addon).
    if (netns !== null)
      expect(() => new addon.Handle(netns)).toThrow(
        expect.objectContaining({ code, message: expect.stringMatching(/^netns: /) }),
      );
  });
  test('a netns message quotes a prefix', () => {
    expect(() => checkOpenOptions({ netns: 'x'.repeat(5000) })).toThrow(/"x{64}"\.\.\. \(5000 characters\)/);
  });
  test('options objects: null, a misspelt key, wrong types', () => {
    expect(() => openNetlink(null as never)).toThrow(expect.objectContaining({ code, field: 'options' }));
    expect(() => checkOpenOptions({ netNs: 'a' })).toThrow(
      /options\.netNs: is not an option \(allowed: netns\)/,
    );
    expect(() => checkApplyOptions(null)).toThrow(/options: expected an object, got null/);
    expect(() => checkApplyOptions({ atomc: true })).toThrow(/options\.atomc: is not an option/);
    expect(() => checkApplyOptions({ atomic: 'yes' })).toThrow(
      /options\.atomic: expected true or false, got "yes"/,
    );
    expect(() => checkApplyOptions({ interfaces: {} })).toThrow(/options\.interfaces: expected a Map/);
    expect(() => checkApplyOptions({ interfaces: new Map([['v0\0x', 3]]) })).toThrow(/contains a NUL/);
    expect(() => checkApplyOptions({ interfaces: new Map([['v0', 0]]) })).toThrow(
      /options\.interfaces\["v0"\]: expected an interface index/,
    );
    expect(() => checkApplyOptions({ snapshot: {}, atomic: true })).toThrow(
      /options\.snapshot: expected a snapshot/,
    );
    expect(() => checkWatchOptions(null)).toThrow(/options: expected an object/);
    expect(() => checkWatchOptions({ receiveBuffer: 1e12 })).toThrow(
      /options\.receiveBuffer: 1000000000000 is not/,
    );
  });
  test('dump queries: a known type with its own fields', () => {
    expect(() => checkDumpQuery({ type: 'bogus' })).toThrow(
      /query\.type: "bogus" is not a type \(allowed: qdisc, class, filter, chain, link\)/,
    );
    expect(() => checkDumpQuery(null)).toThrow(/query: expected an object/);
    expect(() => checkDumpQuery({})).toThrow(/query\.type: is required/);
    expect(() => checkDumpQuery({ type: 'qdisc', parent: 'root' })).toThrow(
      /query\.parent: is not an option/,
    );
    expect(() => checkDumpQuery({ type: 'link', devv: 'x' })).toThrow(/query\.devv: is not an option/);
    expect(() => checkDumpQuery({ type: 'filter' })).toThrow(/query\.dev: is required/);
    expect(() => checkDumpQuery({ type: 'link', dev: 'v0\0x' })).toThrow(/query\.dev: .* contains a NUL/);
    expect(() => checkDumpQuery({ type: 'link', dev: 0 })).toThrow(/query\.dev: expected an interface name/);
    expect(() => checkDumpQuery({ type: 'filter', dev: 'v0', parent: {} })).toThrow(
      /query\.parent: expected a handle/,
    );
    expect(() => checkDumpQuery({ type: 'filter', dev: 'v0', parent: 'ingress' })).not.toThrow();
    expect(() => checkDumpQuery({ type: 'link', kind: 'ifb' })).not.toThrow();
    expect(() => checkDumpQuery({ type: 'link', kind: 5 })).toThrow(/query\.kind: expected a link kind/);
    expect(() => checkDumpQuery({ type: 'link', kind: 'ifb\0' })).toThrow(/query\.kind: .* contains a NUL/);
    expect(() => checkDumpQuery({ type: 'link', kind: 'ifb', dev: 'v0' })).toThrow(
      /query\.kind: lists links of a kind: give it without dev/,
    );
    expect(() => checkDumpQuery({ type: 'qdisc', kind: 'tbf' })).toThrow(/query\.kind: is not an option/);
    expect(() => checkDumpQuery({ type: 'class' })).toThrow(/query\.dev: is required to read classes/);
    expect(() => checkDumpQuery({ type: 'class', dev: 'v0', parent: '1:' })).toThrow(
      /query\.parent: is not an option/,
    );
    expect(() => checkDumpQuery({ type: 'chain', dev: 'v0' })).toThrow(
      /query\.parent: is required to read chains/,
    );
    expect(() => checkDumpQuery({ type: 'chain', dev: 'v0', parent: 'ingress' })).not.toThrow();
  });
});
