import {
  calicoIfbName,
  calicoInterfaceName,
  ifbNameFor,
  isNetqosIfbName,
  isValidInterfaceName,
  MAX_INTERFACE_NAME_LENGTH,
} from '../../../lib/qos/naming';

describe('ifbNameFor', () => {
  test('"nqifb" + the first 10 hex digits of sha256(ifname): 15 characters', () => {
    // sha256("eth0") = 9c32a8c7e5...
    expect(ifbNameFor('eth0')).toBe('nqifb9c32a8c7e5');
    expect(ifbNameFor('cali82111e10a96')).toBe('nqifb847e9d687c');
    expect(ifbNameFor('eth0')).toHaveLength(MAX_INTERFACE_NAME_LENGTH);
  });

  test('deterministic', () => {
    expect(ifbNameFor('veth-server')).toBe(ifbNameFor('veth-server'));
  });

  test('no collisions across 20000 Calico-style names, always valid, always recognisable', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const ifname = calicoInterfaceName('ns', `pod-${i}`);
      const ifb = ifbNameFor(ifname);
      expect(ifb.length).toBeLessThanOrEqual(MAX_INTERFACE_NAME_LENGTH);
      expect(isValidInterfaceName(ifb)).toBe(true);
      expect(isNetqosIfbName(ifb)).toBe(true);
      seen.add(ifb);
    }
    expect(seen.size).toBe(20_000);
  });

  test("never looks like Calico's or the CNI plugin's IFB", () => {
    const ifb = ifbNameFor('cali12345678901');
    expect(ifb.startsWith('bwcali')).toBe(false);
    expect(ifb.startsWith('bwp')).toBe(false);
    expect(ifb).not.toBe(calicoIfbName('cali12345678901'));
  });

  test.each(['', 'a/b', 'a:b', 'a b', 'tab\there', '.', '..', 'sixteen-chars-xx', 'ééééééééé'])(
    'refuses %j',
    (ifname) => {
      expect(() => ifbNameFor(ifname)).toThrow(TypeError);
    },
  );

  test('accepts the longest valid name', () => {
    expect(ifbNameFor('fifteen-chars-x')).toMatch(/^nqifb[0-9a-f]{10}$/);
  });
});

describe('isNetqosIfbName', () => {
  test.each([
    ['nqifb9c32a8c7e5', true],
    ['nqifb9c32a8c7e', false],
    ['nqifb9C32A8C7E5', false],
    ['bwcali0de808c1b', false],
    ['eth0', false],
  ])('%s -> %s', (name, expected) => {
    expect(isNetqosIfbName(name)).toBe(expected);
  });
});

describe('calicoIfbName (utils.MustFormatHashWithPrefix(15, "bwcali", ifname))', () => {
  test('"bwcali" + the first 9 hex digits of sha512(ifname)', () => {
    // sha512 values computed independently (Python hashlib).
    expect(calicoIfbName('eth0')).toBe('bwcali0de808c1b');
    expect(calicoIfbName('cali82111e10a96')).toBe('bwcali40ce0a8c4');
    expect(calicoIfbName('cali12345678901')).toBe('bwcali16fffcf1d');
  });

  test('15 characters, deterministic', () => {
    expect(calicoIfbName('cali82111e10a96')).toHaveLength(15);
    expect(calicoIfbName('x')).toBe(calicoIfbName('x'));
  });
});

describe('calicoInterfaceName (VethNameForWorkload)', () => {
  test('Calico\'s own test vector: ("namespace", "podname") with prefix "eni"', () => {
    expect(calicoInterfaceName('namespace', 'podname', 'eni')).toBe('eni82111e10a96');
  });

  test('the default prefix is "cali", giving 15 characters', () => {
    expect(calicoInterfaceName('namespace', 'podname')).toBe('cali82111e10a96');
    expect(calicoInterfaceName('default', 'iperf-server-qos')).toBe('cali3ee7bb185a2');
    expect(calicoInterfaceName('default', 'iperf-server-qos')).toHaveLength(15);
  });

  test('namespace and pod are joined with a dot before hashing', () => {
    expect(calicoInterfaceName('a.b', 'c')).toBe(calicoInterfaceName('a', 'b.c'));
    expect(calicoInterfaceName('a', 'b')).not.toBe(calicoInterfaceName('b', 'a'));
  });
});

describe('isValidInterfaceName', () => {
  test.each([
    ['eth0', true],
    ['cali82111e10a96', true],
    ['a', true],
    ['veth_1-2.3', true],
    ['', false],
    ['.', false],
    ['..', false],
    ['a/b', false],
    ['a:b', false],
    ['a b', false],
    ['0123456789abcdef', false],
  ])('%j -> %s', (name, expected) => {
    expect(isValidInterfaceName(name)).toBe(expected);
  });
});
