// The seam between the engine's replies and the typed model (lib/netlink/decode.ts): objects of
// the type asked for pass, named; anything else is a NetlinkError naming what came.
import { NetlinkError } from '../../lib';
import {
  decodeChain,
  decodeClass,
  decodeFilter,
  decodeLink,
  decodeLinks,
  decodeQdisc,
  namesOf,
} from '../../lib/netlink/decode';

// As the engine decodes them (captured from this kernel).
const link = () => ({ type: 'link', index: 3, name: 'v0', kind: 'veth', mtu: 1500, group: 0 });
const qdisc = () => ({ type: 'qdisc', ifindex: 3, kind: 'clsact', parent: 'ingress', handle: 'ffff:' });
const klass = () => ({
  type: 'class',
  ifindex: 3,
  kind: 'htb',
  parent: '1:1',
  classid: '1:10',
  leaf: '10:',
  rate: 5000000,
  ceil: 20000000,
});
const chain = () => ({
  type: 'chain',
  ifindex: 3,
  parent: 'ingress',
  chain: 3,
  template: { kind: 'flower', protocol: 'ip', dstIp: '198.18.0.0/15' },
});
const filter = () => ({
  type: 'filter',
  ifindex: 3,
  kind: 'u32',
  parent: 'ingress',
  priority: 1,
  protocol: 'all',
  handle: 0x80000800,
  chain: 0,
  actions: [{ kind: 'mirred', direction: 'egress', mode: 'redirect', dev: 4, control: 'stolen', index: 1 }],
});

test('objects of the type asked for: typed, their interface named (or its index as text)', () => {
  const names = namesOf(decodeLinks([link()]));
  expect(names).toEqual(new Map([[3, 'v0']]));
  expect(decodeQdisc(qdisc(), (i) => names.get(i))).toMatchObject({ kind: 'clsact', dev: 'v0' });
  expect(decodeQdisc(qdisc(), () => undefined).dev).toBe('3');
  expect(decodeClass(klass(), (i) => names.get(i))).toMatchObject({
    classid: '1:10',
    leaf: '10:',
    dev: 'v0',
  });
  expect(decodeChain(chain(), (i) => names.get(i))).toMatchObject({
    chain: 3,
    dev: 'v0',
    template: { kind: 'flower' },
  });
  expect(decodeChain(chain(), () => undefined).dev).toBe('3');
  // A redirect's target stays an index: each reader names actions its own way.
  expect(decodeFilter(filter(), (i) => names.get(i))).toMatchObject({
    dev: 'v0',
    actions: [expect.objectContaining({ dev: 4 })],
  });
});

test('another type, or a field missing or of another type: a NetlinkError (EPROTO) naming it', () => {
  const refused = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(NetlinkError);
      expect((e as NetlinkError).code).toBe('EPROTO');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };
  expect(refused(() => decodeLink(qdisc()))).toMatch(
    /^the engine's reply is not a link \(type: "qdisc"\): \{/,
  );
  expect(refused(() => decodeQdisc({ ...qdisc(), handle: 0xffff0000 }, () => 'v0'))).toMatch(
    /not a qdisc \(handle: 4294901760\)/,
  );
  const { priority: _, ...noPriority } = filter();
  expect(refused(() => decodeFilter(noPriority, () => 'v0'))).toMatch(/not a filter \(priority: undefined\)/);
  expect(refused(() => decodeClass(qdisc(), () => 'v0'))).toMatch(/not a class \(type: "qdisc"\)/);
  expect(refused(() => decodeClass({ ...klass(), classid: 0x10010 }, () => 'v0'))).toMatch(
    /not a class \(classid: 65552\)/,
  );
  const { chain: _c, ...noChain } = chain();
  expect(refused(() => decodeChain(noChain, () => 'v0'))).toMatch(/not a chain \(chain: undefined\)/);
  expect(refused(() => decodeLink(null as never))).toMatch(/not a link/);
  const long = { ...link(), name: 7, blob: 'x'.repeat(10_000) };
  expect(refused(() => decodeLink(long)).length).toBeLessThan(300);
});
