// Pod QoS on the nftables dataplane, on this machine's kernel (which lacks act_police and
// act_pedit, so dataplane 'auto' picks nftables for packet rate and DSCP): a node namespace
// routing between two pods as Calico wires them, a foreign table on the same hooks all along,
// and real traffic. Packet rates both ways, DSCP on IPv4 and IPv6 (ECN kept, checksums valid),
// connection limits both ways; reconcile (nothing to do sends nothing, one change replaces only
// its rules), clear (exactly netqos's objects), a re-created interface of the same name, a chain
// deleted by hand, and a batch the kernel refuses (nothing stays, the tc half included).
import {
  NftablesError,
  applyQos,
  clearQos,
  openNetlink,
  planQos,
  readQos,
  type NetlinkHandle,
  type NftExpr,
  type NftRuleState,
  type QosTarget,
} from '../../lib';
import { holdConnections } from '../helpers/connections';
import { udpFlood } from '../helpers/iperf';
import { sh, tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(90_000);

const Q = 'qos.projectcalico.org/';

interface Pod {
  ns: Netns;
  cali: string;
  v4: string;
  v6: string;
}

/** node routes between pods: pod eth0 198.18.N.2/24 + 2001:2:0:N::2/64, node caliN .1 / ::1. */
function podOnNode(node: Netns, n: number): Pod {
  const ns = tempNetns(`nqp${n}`);
  const cali = `cali${n}`;
  node.ip('link', 'add', cali, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
  node.ip('addr', 'add', `198.18.${n}.1/24`, 'dev', cali);
  node.ip('addr', 'add', `2001:2:0:${n}::1/64`, 'dev', cali, 'nodad');
  node.ip('link', 'set', cali, 'up');
  ns.ip('addr', 'add', `198.18.${n}.2/24`, 'dev', 'eth0');
  ns.ip('addr', 'add', `2001:2:0:${n}::2/64`, 'dev', 'eth0', 'nodad');
  ns.ip('link', 'set', 'eth0', 'up');
  ns.ip('route', 'add', 'default', 'via', `198.18.${n}.1`);
  ns.ip('-6', 'route', 'add', 'default', 'via', `2001:2:0:${n}::1`);
  return { ns, cali, v4: `198.18.${n}.2`, v6: `2001:2:0:${n}::2` };
}

function nft(ns: Netns, ...args: string[]): string {
  return sh('ip', ['netns', 'exec', ns.name, 'nft', ...args]);
}

let node: Netns;
let client: Pod;
let server: Pod;
let nl: NetlinkHandle;

/** A foreign table on the same hooks as netqos's, like kube-proxy's or Calico's: never touched. */
const FOREIGN = `
table inet foreign {
  chain forward { type filter hook forward priority 0; policy accept; counter; }
  chain input { type filter hook input priority 0; policy accept; counter; }
}
table netdev foreignnd {
  chain in1 { type filter hook ingress device "cali1" priority 0; policy accept; counter; }
}`;

/** The foreign tables as nft lists them, counters left out. */
const foreign = () =>
  nft(node, 'list', 'ruleset')
    .split(/\n(?=table )/)
    .filter((t) => /^table (inet foreign|netdev foreignnd) /.test(t.trim()))
    .map((t) => t.replace(/counter packets \d+ bytes \d+/g, 'counter'))
    .join('\n');

beforeAll(() => {
  node = tempNetns('nqnode');
  node.ip('link', 'set', 'lo', 'up');
  sh('ip', ['netns', 'exec', node.name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh('ip', ['netns', 'exec', node.name, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  client = podOnNode(node, 1);
  server = podOnNode(node, 2);
  sh('ip', ['netns', 'exec', node.name, 'nft', '-f', '-'], FOREIGN);
  nl = openNetlink({ netns: node.name });
});
afterAll(() => nl?.close());

const target = (pod: Pod, annotations: Record<string, string>): QosTarget => ({
  ifname: pod.cali,
  netns: node.name,
  annotations,
});
const handles = () => new Map([[node.name, nl]]);

/** A netdev table `count` in `ns` counting, on `dev`'s ingress, packets the expressions match. */
async function counting(ns: Netns, dev: string, rules: Record<string, NftExpr[]>) {
  const h = openNetlink({ netns: ns.name });
  const at = { family: 'netdev', table: 'count', chain: 'in' } as const;
  await h.nftables.apply([
    { op: 'add', table: { family: 'netdev', name: 'count' } },
    { op: 'add', chain: { ...at, name: 'in', hook: 'ingress', device: dev, priority: 0 } },
    ...Object.entries(rules).map(([comment, expressions]) => ({
      op: 'add' as const,
      rule: { ...at, comment, expressions: [...expressions, { kind: 'counter' } as NftExpr] },
    })),
  ]);
  return {
    async read(): Promise<Record<string, number>> {
      const rules = await h.nftables.dump({ type: 'rule', ...at });
      const count = (r: NftRuleState) =>
        (r.expressions.find((e) => e.kind === 'counter') as { packets: number }).packets;
      return Object.fromEntries(rules.map((r) => [r.comment!, count(r)]));
    },
    async close() {
      await h.nftables.apply([{ op: 'delete', table: { family: 'netdev', name: 'count' } }]);
      h.close();
    },
  };
}

const ipv4Udp9: NftExpr[] = [
  { kind: 'meta', key: 'protocol', dreg: 1 },
  { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 0x0800 } },
  { kind: 'payload', base: 'network', offset: 9, len: 1, dreg: 1 },
  { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: 17 } },
  { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
  { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 9 } },
];

function ping(ns: Netns, args: string[]): number {
  let out: string;
  try {
    out = sh('ip', ['netns', 'exec', ns.name, 'ping', '-q', '-c', '20', '-i', '0.02', '-W', '1', ...args]);
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  return Number(/(\d+) received/.exec(out)?.[1] ?? -1);
}

/** netqos's rules now: chain -> comment -> handle. */
function ourRules(): Record<string, Record<string, number>> {
  const doc = JSON.parse(nft(node, '-a', '-j', 'list', 'ruleset')) as {
    nftables: { rule?: { table: string; chain: string; handle: number; comment?: string } }[];
  };
  const out: Record<string, Record<string, number>> = {};
  for (const { rule } of doc.nftables)
    if (rule && rule.table === 'netqos') (out[rule.chain] ??= {})[rule.comment ?? '?'] = rule.handle;
  return out;
}

describe('packet rate: 100/s of a 400/s UDP stream, each way', () => {
  test.each([
    ['egress', 'from the pod'],
    ['ingress', 'to the pod'],
  ] as const)('%sPacketRate 100 (%s)', async (direction, _what) => {
    const before = foreign();
    const annotations = { [`${Q}${direction}PacketRate`]: '100' };
    // egress: client -> server, limited on cali1's ingress; ingress: server -> client, on cali1's egress.
    const [from, to] = direction === 'egress' ? [client, server] : [server, client];
    const result = await applyQos([target(client, annotations)], { handles: handles() });
    expect(result.targets[0].enforcedBy).toEqual({ packetRate: 'nftables' });
    const counter = await counting(to.ns, 'eth0', { udp: ipv4Udp9 });
    try {
      const seconds = 5;
      await udpFlood(from.ns.name, to.v4, 400, seconds);
      const arrived = (await counter.read()).udp;
      const perSecond = (arrived - 5) / seconds;
      const [status] = await readQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
      process.stdout.write(
        `nftables ${direction}PacketRate 100: ${arrived} of ${400 * seconds} arrived, ${perSecond.toFixed(1)}/s; ` +
          `dropped ${status[direction].packetRateDrops}\n`,
      );
      expect(Math.abs(perSecond - 100) / 100).toBeLessThan(0.05);
      expect(status[direction]).toMatchObject({
        packetRate: 100,
        packetBurst: 5,
        enforcedBy: { packetRate: 'nftables' },
      });
      // What did not arrive was dropped by the limit (the receiver's count is after it).
      expect(status[direction].packetRateDrops).toBe(400 * seconds - arrived);
    } finally {
      await counter.close();
      await clearQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
    }
    expect(foreign()).toBe(before);
    expect(nft(node, 'list', 'tables').split('\n').filter(Boolean).sort()).toEqual([
      'table inet foreign',
      'table netdev foreignnd',
    ]);
  });
});

test('dscp EF: every packet from the pod arrives with DSCP 46, ECN unchanged (ECT(0)), checksums valid, IPv4 and IPv6', async () => {
  await applyQos([target(client, { [`${Q}dscp`]: 'EF' })], { handles: handles() });
  // EF (46 << 2 = 0xb8) with ECT(0) (0x02) kept: TOS / traffic class 0xba.
  const counter = await counting(server.ns, 'eth0', {
    v4: [
      { kind: 'meta', key: 'protocol', dreg: 1 },
      { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 0x0800 } },
      { kind: 'payload', base: 'network', offset: 1, len: 1, dreg: 1 },
      { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: 0xba } },
    ],
    v6: [
      { kind: 'meta', key: 'protocol', dreg: 1 },
      { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 0x86dd } },
      { kind: 'payload', base: 'network', offset: 0, len: 2, dreg: 1 },
      { kind: 'bitwise', sreg: 1, dreg: 1, len: 2, mask: { be16: 0x0ff0 }, xor: { be16: 0 } },
      { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 0xba << 4 } },
    ],
  });
  try {
    // Routed through the node to the other pod; an echo is answered only when the rewritten
    // IPv4 header's checksum is valid (the receiving stack drops it otherwise).
    expect(ping(client.ns, ['-Q', '2', server.v4])).toBe(20);
    expect(ping(client.ns, ['-6', '-Q', '2', server.v6])).toBe(20);
    expect(await counter.read()).toEqual({ v4: 20, v6: 20 });
    // The other way is not rewritten.
    const back = await counting(client.ns, 'eth0', {
      ef: [
        { kind: 'payload', base: 'network', offset: 1, len: 1, dreg: 1 },
        { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: 0xba } },
      ],
    });
    try {
      expect(ping(server.ns, ['-Q', '2', client.v4])).toBe(20);
      expect((await back.read()).ef).toBe(0);
    } finally {
      await back.close();
    }
    const [status] = await readQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
    expect(status.egress).toMatchObject({ dscp: 46, enforcedBy: { dscp: 'nftables' } });
    // The pod's requests and its replies to the server's pings: 20 + 20 + 20.
    expect(status.egress.remarkedPackets).toBeGreaterThanOrEqual(60);
  } finally {
    await counter.close();
    await clearQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
  }
});

describe('max connections: of 5 simultaneous TCP connections 3 are held, 2 reset; closing one admits another', () => {
  test.each(['ingress', 'egress'] as const)('%sMaxConnections 3', async (direction) => {
    const before = foreign();
    // ingress: on the server pod (connections to it); egress: on the client pod (made by it).
    const pod = direction === 'ingress' ? server : client;
    await applyQos([target(pod, { [`${Q}${direction}MaxConnections`]: '3' })], { handles: handles() });
    try {
      expect(await holdConnections(server.ns.name, client.ns.name, server.v4, 5)).toEqual({
        connected: 3,
        refused: 2,
        afterClose: 'connected',
      });
      const [status] = await readQos([{ ifname: pod.cali, netns: node.name }], { handles: handles() });
      expect(status[direction]).toEqual({
        maxConnections: 3,
        rejectedConnections: 2,
        enforcedBy: { maxConnections: 'nftables' },
      });
      // IPv6 has its own count, as Calico's ip6 table has.
      expect(await holdConnections(server.ns.name, client.ns.name, server.v6, 5)).toMatchObject({
        connected: 3,
        refused: 2,
      });
    } finally {
      await clearQos([{ ifname: pod.cali, netns: node.name }], { handles: handles() });
    }
    expect(foreign()).toBe(before);
  });
});

describe('reconcile', () => {
  const all = {
    [`${Q}egressPacketRate`]: '100',
    [`${Q}ingressPacketRate`]: '200',
    [`${Q}dscp`]: 'AF41',
    [`${Q}egressMaxConnections`]: '10',
    [`${Q}egressBandwidth`]: '10M',
  };
  afterEach(() => clearQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() }));

  test('the same again sends nothing and moves no generation; one change replaces only its rules, in place', async () => {
    const first = await applyQos([target(client, all)], { handles: handles() });
    expect(first.targets[0].enforcedBy).toEqual({
      bandwidth: 'tc',
      packetRate: 'nftables',
      dscp: 'nftables',
      maxConnections: 'nftables',
    });
    const generation = nl.nftables.generation();
    const again = await applyQos([target(client, all)], { handles: handles() });
    expect(again.sent).toBe(0);
    expect(again.batches[0]).toMatchObject({ operations: [], nftables: [] });
    expect(nl.nftables.generation()).toBe(generation);

    // Traffic through the DSCP rule, so its counter has something to keep.
    expect(ping(client.ns, [server.v4])).toBe(20);
    const rules = ourRules();
    const change = await applyQos([target(client, { ...all, [`${Q}egressPacketRate`]: '150' })], {
      handles: handles(),
    });
    // The packet rate's two rules (one per IP family), replaced where they are; nothing else.
    expect(change.sent).toBe(2);
    expect(change.batches[0].operations).toEqual([]);
    expect(
      change.batches[0].nftables.map(
        (o) => `${o.op} ${'rule' in o ? (o.rule as { comment?: string }).comment : ''}`,
      ),
    ).toEqual(['replace rate ip', 'replace rate ip6']);
    expect(ourRules()).toEqual(rules);
    const [status] = await readQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
    expect(status.egress).toMatchObject({ packetRate: 150, dscp: 34, maxConnections: 10 });
    expect(status.egress.remarkedPackets).toBeGreaterThanOrEqual(20); // counted before the change, kept

    // A control added goes where it belongs; one removed takes only its rules.
    const fewer = await applyQos(
      [target(client, { ...all, [`${Q}egressPacketRate`]: '150', [`${Q}dscp`]: 'EF' })],
      {
        handles: handles(),
      },
    );
    expect(fewer.sent).toBe(2);
    const noRate: Record<string, string> = { ...all, [`${Q}dscp`]: 'EF' };
    delete noRate[`${Q}egressPacketRate`];
    const removed = await applyQos([target(client, noRate)], { handles: handles() });
    expect(removed.batches[0].nftables.map((o) => `${o.op} ${'rule' in o ? 'rule' : ''}`)).toEqual([
      'delete rule',
      'delete rule',
    ]);
    const plan = await planQos([target(client, { ...all, [`${Q}dscp`]: 'EF' })], { handles: handles() });
    const added = plan.batches[0].nftables;
    expect(added.map((o) => o.op)).toEqual(['insert', 'insert']);
  });

  test('clear removes exactly netqos objects, its tables when empty; the foreign tables stay as they were', async () => {
    const before = foreign();
    await applyQos([target(client, all), target(server, { [`${Q}ingressMaxConnections`]: '5' })], {
      handles: handles(),
    });
    // One pod cleared: the other's objects, and so the tables, stay.
    await clearQos([{ ifname: 'cali1', netns: node.name }], { handles: handles() });
    expect(Object.keys(ourRules()).sort()).toEqual([
      'forward',
      'output',
      'prerouting',
      'to-cali2-' + node.ifindex('cali2'),
    ]);
    const last = await clearQos([{ ifname: 'cali2', netns: node.name }], { handles: handles() });
    expect(last.batches[0].nftables).toEqual([{ op: 'delete', table: { family: 'inet', name: 'netqos' } }]);
    expect(nft(node, 'list', 'tables').split('\n').filter(Boolean).sort()).toEqual([
      'table inet foreign',
      'table netdev foreignnd',
    ]);
    expect(foreign()).toBe(before);
    const nothing = await clearQos([{ ifname: 'cali2', netns: node.name }], { handles: handles() });
    expect(nothing.sent).toBe(0);
  });

  test('a chain deleted by hand comes back, with its map element', async () => {
    await applyQos([target(client, all)], { handles: handles() });
    const index = node.ifindex('cali1');
    nft(node, 'delete', 'element', 'inet', 'netqos', 'from-pod', `{ ${index} }`);
    nft(node, 'delete', 'chain', 'inet', 'netqos', `from-cali1-${index}`);
    const repaired = await applyQos([target(client, all)], { handles: handles() });
    expect(repaired.batches[0].operations).toEqual([]);
    expect(
      repaired.batches[0].nftables.map(
        (o) => `${o.op} ${'rule' in o ? (o.rule as { comment?: string }).comment : Object.keys(o)[1]}`,
      ),
    ).toEqual([
      'add chain',
      'add rate ip',
      'add rate ip6',
      'add dscp ip',
      'add dscp ip6',
      'add connections ip',
      'add connections ip6',
      'add elements',
    ]);
    expect((await applyQos([target(client, all)], { handles: handles() })).sent).toBe(0);
    // A rule deleted by hand comes back in its place; one added by hand goes.
    const before = ourRules()[`from-cali1-${index}`];
    nft(node, 'delete', 'rule', 'inet', 'netqos', `from-cali1-${index}`, 'handle', String(before['dscp ip']));
    nft(node, 'add', 'rule', 'inet', 'netqos', `from-cali1-${index}`, 'counter');
    const again = await applyQos([target(client, all)], { handles: handles() });
    expect(again.batches[0].nftables.map((o) => o.op)).toEqual(['delete', 'insert']);
    expect(Object.keys(ourRules()[`from-cali1-${index}`])).toEqual(Object.keys(before));
  });
});

test('a re-created interface of the same name: the old chain never acts on it, and goes with the next apply', async () => {
  // A pod with a packet rate, deleted without its QoS being cleared (its node agent was down).
  const pod = podOnNode(node, 3);
  await applyQos([target(pod, { [`${Q}egressPacketRate`]: '100' })], { handles: handles() });
  const old = node.ifindex('cali3');
  node.ip('link', 'del', 'cali3');
  pod.ns.remove();
  // The next pod of that name: the old chain is still there, but the map leads to it by the old
  // interface's index only.
  const next = podOnNode(node, 3);
  expect(node.ifindex('cali3')).not.toBe(old);
  expect(nft(node, 'list', 'chains', 'inet')).toContain(`from-cali3-${old}`);
  const counter = await counting(server.ns, 'eth0', { udp: ipv4Udp9 });
  try {
    await udpFlood(next.ns.name, server.v4, 400, 2);
    expect((await counter.read()).udp).toBe(800);
  } finally {
    await counter.close();
  }
  // Its own QoS: the old chain goes in the same batch, the new one is the interface's.
  const now = node.ifindex('cali3');
  const r = await applyQos([target(next, { [`${Q}egressPacketRate`]: '200' })], { handles: handles() });
  expect(r.batches[0].nftables).toContainEqual({
    op: 'delete',
    chain: { family: 'inet', table: 'netqos', name: `from-cali3-${old}` },
  });
  expect(nft(node, 'list', 'chains', 'inet')).not.toContain(`from-cali3-${old}`);
  expect(nft(node, 'list', 'chains', 'inet')).toContain(`from-cali3-${now}`);
  await clearQos([{ ifname: 'cali3', netns: node.name }], { handles: handles() });
  expect(nft(node, 'list', 'tables')).not.toContain('netqos');
});

test('a batch the kernel refuses: its words, nothing of it applied, and the tc half undone', async () => {
  const limits = { [`${Q}ingressMaxConnections`]: '3' };
  await applyQos([target(server, limits)], { handles: handles() });
  const index = node.ifindex('cali2');
  // Someone else's rule in netqos's table jumps to the pod's chain: deleting it is refused (EBUSY).
  nft(node, 'add', 'chain', 'inet', 'netqos', 'theirs');
  nft(node, 'add', 'rule', 'inet', 'netqos', 'theirs', 'jump', `to-cali2-${index}`);
  const tcBefore = sh('tc', ['-n', node.name, 'qdisc', 'show', 'dev', 'cali2']);
  const rulesBefore = ourRules();
  const err = await applyQos([target(server, { [`${Q}ingressBandwidth`]: '10M' })], {
    handles: handles(),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NftablesError);
  expect(err).toMatchObject({ code: 'EBUSY', ifname: 'cali2' });
  expect((err as Error).message).toMatch(
    /delete chain inet netqos to-cali2-\d+ \(operation \d+\) failed: EBUSY/,
  );
  expect((err as Error).message).toContain('nothing of the batch was applied');
  // The TBF the tc half added is gone again; the nftables rules are as they were.
  expect(sh('tc', ['-n', node.name, 'qdisc', 'show', 'dev', 'cali2'])).toBe(tcBefore);
  expect(ourRules()).toEqual(rulesBefore);
  nft(node, 'delete', 'table', 'inet', 'netqos');
});
