// ingress, clsact, u32 match-all and mirred to an IFB: the egress-shaping path Calico builds,
// on this machine's kernel, read back through netqos and through tc.
import { openNetlink, type NetlinkHandle } from '../../lib';
import { tempNetns, type Netns } from '../helpers/netns';

let ns: Netns;
let nl: NetlinkHandle;

beforeAll(() => {
  ns = tempNetns().veth('v0', 'v1');
  nl = openNetlink({ netns: ns.name });
});
afterAll(() => nl.close());

test('IFB created up with its MTU in one message, listed, then deleted', async () => {
  await nl.apply([{ op: 'add', link: { kind: 'ifb', name: 'nqifb-a', mtu: 1400, up: true, txqlen: 0 } }]);
  const [link] = await nl.dump({ type: 'link', dev: 'nqifb-a' });
  expect(link).toMatchObject({ name: 'nqifb-a', kind: 'ifb', mtu: 1400, up: true, txqlen: 0 });
  const ip = JSON.parse(ns.ip('-j', '-d', 'link', 'show', 'nqifb-a'))[0];
  expect(ip).toMatchObject({ ifname: 'nqifb-a', mtu: 1400, linkinfo: { info_kind: 'ifb' } });
  expect(ip.flags).toContain('UP');
  await nl.apply([{ op: 'delete', link: { name: 'nqifb-a' } }]);
  expect(await nl.dump({ type: 'link', dev: 'nqifb-a' })).toEqual([]);
});

test('ingress qdisc + u32 match-all + mirred redirect to an IFB created in the same batch', async () => {
  const result = await nl.apply([
    { op: 'add', link: { kind: 'ifb', name: 'nqifb-v0', mtu: 1500, up: true } },
    { op: 'add', qdisc: { dev: 'v0', kind: 'ingress' } },
    {
      op: 'add',
      filter: {
        dev: 'v0',
        parent: 'ingress',
        kind: 'u32',
        priority: 1,
        protocol: 'all',
        actions: [
          { kind: 'mirred', direction: 'egress', mode: 'redirect', dev: 'nqifb-v0', cookie: '6e7100aa' },
        ],
      },
    },
    {
      op: 'add',
      qdisc: {
        dev: 'nqifb-v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 10_000_000,
        burst: 32768,
        latencyUs: 25_000,
      },
    },
  ]);
  expect(result.count).toBe(4);

  const filters = await nl.dump({ type: 'filter', dev: 'v0' });
  expect(filters).toHaveLength(1);
  expect(filters[0]).toMatchObject({
    kind: 'u32',
    parent: 'ingress',
    priority: 1,
    protocol: 'all',
    chain: 0,
    keys: [{ value: 0, mask: 0, offset: 0 }],
    actions: [
      {
        kind: 'mirred',
        direction: 'egress',
        mode: 'redirect',
        dev: 'nqifb-v0',
        control: 'stolen',
        cookie: '6e7100aa',
      },
    ],
  });
  expect(filters[0].actions![0].stats).toBeDefined();

  const tc = ns.tcJson('filter', 'show', 'dev', 'v0', 'ingress');
  const rule = tc.find((f: any) => f.options?.actions);
  expect(rule).toMatchObject({ protocol: 'all', pref: 1, kind: 'u32' });
  expect(rule.options.actions[0]).toMatchObject({
    kind: 'mirred',
    mirred_action: 'redirect',
    direction: 'egress',
    to_dev: 'nqifb-v0',
    control_action: { type: 'stolen' },
    cookie: '6e7100aa',
  });
  expect(ns.tcJson('qdisc', 'show', 'dev', 'nqifb-v0')[0]).toMatchObject({
    kind: 'tbf',
    options: { rate: 1_250_000 },
  });
});

test('clsact with filters on both hooks; mirror on egress', async () => {
  await nl.apply([
    { op: 'add', qdisc: { dev: 'v1', kind: 'clsact' } },
    {
      op: 'add',
      filter: {
        dev: 'v1',
        parent: 'ingress',
        kind: 'u32',
        priority: 10,
        protocol: 'ip',
        actions: [{ kind: 'mirred', dev: 'nqifb-v0' }],
      },
    },
    {
      op: 'add',
      filter: {
        dev: 'v1',
        parent: 'egress',
        kind: 'u32',
        priority: 5,
        protocol: 'ipv6',
        actions: [{ kind: 'mirred', mode: 'mirror', dev: 'nqifb-v0' }],
      },
    },
  ]);
  const filters = await nl.dump({ type: 'filter', dev: 'v1' });
  const byParent = Object.fromEntries(filters.map((f) => [f.parent, f]));
  expect(byParent.ingress).toMatchObject({
    priority: 10,
    protocol: 'ip',
    actions: [{ kind: 'mirred', mode: 'redirect', control: 'stolen' }],
  });
  expect(byParent.egress).toMatchObject({
    priority: 5,
    protocol: 'ipv6',
    actions: [{ kind: 'mirred', mode: 'mirror', control: 'pipe', dev: 'nqifb-v0' }],
  });
  const egress = ns.tcJson('filter', 'show', 'dev', 'v1', 'egress').find((f: any) => f.options?.actions);
  expect(egress).toMatchObject({ protocol: 'ipv6', pref: 5 });
  expect(egress.options.actions[0]).toMatchObject({ mirred_action: 'mirror', to_dev: 'nqifb-v0' });
});

test('u32 keys and classid round-trip; filter delete by priority', async () => {
  await nl.apply([
    {
      op: 'add',
      filter: {
        dev: 'v0',
        parent: 'ingress',
        kind: 'u32',
        priority: 2,
        protocol: 'ip',
        classid: '1:1',
        keys: [{ value: 0x00b80000, mask: 0x00fc0000, offset: 0 }],
      },
    },
  ]);
  let filters = await nl.dump({ type: 'filter', dev: 'v0', parent: 'ingress' });
  expect(filters.find((f) => f.priority === 2)).toMatchObject({
    classid: '1:1',
    keys: [{ value: 0x00b80000, mask: 0x00fc0000, offset: 0 }],
  });
  await nl.apply([{ op: 'delete', filter: { dev: 'v0', parent: 'ingress', priority: 2, protocol: 'ip' } }]);
  filters = await nl.dump({ type: 'filter', dev: 'v0', parent: 'ingress' });
  expect(filters.map((f) => f.priority)).toEqual([1]);
});

test('deleting the ingress qdisc takes its filters with it', async () => {
  await nl.apply([{ op: 'delete', qdisc: { dev: 'v0', kind: 'ingress' } }]);
  expect(await nl.dump({ type: 'filter', dev: 'v0' })).toEqual([]);
  expect(ns.tcJson('qdisc', 'show', 'dev', 'v0').map((q: any) => q.kind)).not.toContain('ingress');
});
