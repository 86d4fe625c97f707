// The nftables typed layer without a kernel: builders refuse what the kernel would, name the field
// and the value; the engine refuses bad operations the same way before sending anything; what the
// kernel reads back (data values as hex, defaults explicit) compares equal to what was built.
import {
  canonicalExpression,
  dataHex,
  describeNft,
  nftRules,
  sameExpressions,
  type NftExpr,
} from '../../lib';
import { nftNative } from '../../lib/nftables/handle';

const invalid = (message: string | RegExp) =>
  expect.objectContaining({ code: 'ERR_NETQOS_INVALID_ARGUMENT', message: expect.stringMatching(message) });

/** A rule's expressions as the engine decodes its own request (what a dump returns). */
function readBack(expressions: NftExpr[], family: 'inet' | 'netdev' = 'inet'): NftExpr[] {
  const [, message] = nftNative().nftEncode([
    { op: 'add', rule: { family, table: 't', chain: 'c', expressions } },
  ]);
  const { objects } = nftNative().nftDecode(message);
  return objects[0].expressions as NftExpr[];
}

describe('builders', () => {
  test('refuse values out of range, naming them', () => {
    expect(() => nftRules.packetRateLimit({ rate: 0, chainFamily: 'netdev' })).toThrow(
      invalid(/^rate: 0 is not allowed/),
    );
    expect(() => nftRules.packetRateLimit({ rate: 10, burst: 1.5, chainFamily: 'netdev' })).toThrow(
      invalid(/^burst: 1.5/),
    );
    expect(() => nftRules.dscpSet({ family: 'ip', dscp: 64, chainFamily: 'netdev' })).toThrow(
      invalid(/^dscp: 64 .*0 to 63/),
    );
    expect(() => nftRules.matchInterface('iifname', 'a-name-longer-than-15')).toThrow(invalid(/^iifname: /));
    expect(() => nftRules.prioritySet('1:zz')).toThrow(invalid(/^priority: "1:zz"/));
    expect(() => nftRules.matchIpFamily('ip6', 'ip')).toThrow(invalid(/^chainFamily: "ip"/));
  });

  test('tc class ids as nft writes them', () => {
    expect(nftRules.classId('1:10')).toBe(0x10010);
    expect(nftRules.classId('ffff:ffff')).toBe(0xffffffff);
    expect(nftRules.classId(5)).toBe(5);
  });

  test.each([
    [
      'packet rate, netdev, IPv4',
      nftRules.packetRateLimit({ rate: 100, burst: 5, family: 'ip', chainFamily: 'netdev' }),
    ],
    ['packet rate, inet, IPv6', nftRules.packetRateLimit({ rate: 7, family: 'ip6', chainFamily: 'inet' })],
    ['ct count', nftRules.connectionLimit({ count: 3, oifname: 'cali1' })],
    ['dscp IPv4', nftRules.dscpSet({ family: 'ip', dscp: 46, chainFamily: 'netdev' })],
    ['dscp IPv6', nftRules.dscpSet({ family: 'ip6', dscp: 10, chainFamily: 'inet' })],
    ['meta priority', nftRules.prioritySet('1:10')],
    ['vmap', nftRules.dispatchByInterface('oifname', 'pods')],
    ['ct state', nftRules.ctState(['established', 'related'], { verdict: 'accept' })],
  ])('%s reads back as what was built', (_name, expressions) => {
    const back = readBack(expressions);
    expect(sameExpressions(back, expressions)).toBe(true);
    // ... and not as something else.
    expect(sameExpressions(back, [...expressions.slice(0, -1), { kind: 'counter' }])).toBe(false);
  });
});

describe('canonical forms', () => {
  test('data values are their bytes', () => {
    expect(dataHex({ ifname: 'v0' })).toBe('7630' + '00'.repeat(14));
    expect(dataHex({ be16: 0x86dd })).toBe('86dd');
    expect(dataHex({ ipv4: '198.18.0.1' })).toBe('c6120001');
    expect(dataHex({ ipv6: '2001:2::1' })).toBe('20010002' + '00'.repeat(11) + '01');
    expect(dataHex({ string: 'cali', length: 6 })).toBe('63616c690000');
    expect(dataHex({ u8: 0x17 })).toBe('17');
    expect(dataHex({ u32: 1 })).toBe(require('os').endianness() === 'LE' ? '01000000' : '00000001');
  });

  test('defaults are made explicit and counts dropped', () => {
    expect(canonicalExpression({ kind: 'limit', rate: 10 })).toEqual({
      burst: 5,
      kind: 'limit',
      over: false,
      rate: 10,
      type: 'packets',
      unit: 'second',
    });
    expect(canonicalExpression({ kind: 'counter', packets: 5, bytes: 300 })).toEqual({ kind: 'counter' });
    expect(
      sameExpressions(
        [{ kind: 'reject', type: 'tcp-reset' }],
        [{ kind: 'reject', type: 'tcp-reset', code: 0 }],
      ),
    ).toBe(true);
  });
});

describe('operations refused before anything is sent', () => {
  test.each([
    [
      {
        op: 'add',
        rule: { family: 'inet', table: 't', chain: 'c', expressions: [{ kind: 'limit', rate: 0 }] },
      },
      /^ops\[0\]\.rule\.expressions\[0\]\.rate: 0 is out of range/,
    ],
    [
      { op: 'add', table: { family: 'inet6', name: 't' } },
      /^ops\[0\]\.table\.family: "inet6" is not a family/,
    ],
    [
      { op: 'add', chain: { family: 'netdev', table: 't', name: 'c', hook: 'ingress', priority: 0 } },
      /^ops\[0\]\.chain\.device: is required/,
    ],
    [
      { op: 'delete', rule: { family: 'inet', table: 't', chain: 'c' } },
      /^ops\[0\]\.rule\.handle: is required to delete a rule/,
    ],
    [
      { op: 'add', set: { family: 'inet', table: 't', name: 's', keyType: 'ipv5_addr' } },
      /^ops\[0\]\.set\.keyType: "ipv5_addr"/,
    ],
    [
      {
        op: 'add',
        rule: { family: 'inet', table: 't', chain: 'c', expressions: [{ kind: 'cmp', data: { u8: 300 } }] },
      },
      /^ops\[0\]\.rule\.expressions\[0\]\.data\.u8: 300 is out of range/,
    ],
    [
      { op: 'add', table: { family: 'inet', name: 't' }, chain: { family: 'inet', table: 't', name: 'c' } },
      /an operation names one object/,
    ],
  ])('%j', (op, message) => {
    expect(() => nftNative().nftEncode([op])).toThrow(invalid(message));
  });
});

test('operations are described for messages', () => {
  expect(
    describeNft({ op: 'add', rule: { family: 'inet', table: 'netqos', chain: 'pods', expressions: [] } }),
  ).toBe('add rule inet netqos pods');
  expect(describeNft({ op: 'delete', chain: { family: 'inet', table: 'netqos', handle: 4 } })).toBe(
    'delete chain inet netqos handle 4',
  );
  expect(
    describeNft({
      op: 'add',
      elements: {
        family: 'inet',
        table: 'netqos',
        set: 'm',
        keyType: 'ifname',
        items: [{ key: 'a' }, { key: 'b' }],
      },
    }),
  ).toBe('add 2 elements of set inet netqos m');
});
