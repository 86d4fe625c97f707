// The mirror (NetlinkHandle.watch) against the kernel: after every change — netqos's own, and
// other tools' through tc and ip, including the ones the kernel announces misleadingly or not at
// all — what the mirror says of every interface equals a fresh read of the namespace, and reads
// of one interface at a time (gets) say the same. And a reconcile served by the mirror sends
// nothing and asks the kernel nothing when nothing changed.
import { execFileSync } from 'child_process';
import { applyQos, applyQosSync, openNetlink, readQos, type NetlinkHandle } from '../../lib';
import {
  FEW_INTERFACES,
  planReadInterfaces,
  planReadMirrored,
  type InterfaceState,
} from '../../lib/qos/state';
import { tempNetns, type Netns } from '../helpers/netns';

const LIMITS = {
  'qos.projectcalico.org/ingressBandwidth': '10M',
  'qos.projectcalico.org/egressBandwidth': '10M',
};

/**
 * Configuration only: statistics and operational state (carrier, flags) are not mirrored, nor
 * the kernel's default root qdiscs (handle 0:), which it attaches without a notification.
 */
function config(states: Map<string, InterfaceState>): unknown {
  const strip = (o: unknown): unknown =>
    JSON.parse(
      JSON.stringify(o, (k, v) => (['stats', 'flags', 'up', 'address'].includes(k) ? undefined : v)),
    );
  const root = (q: InterfaceState['root']) => (q?.handle === '0:' ? undefined : q);
  return [...states.entries()].map(([name, s]) => [
    name,
    strip({
      ...s,
      root: root(s.root),
      ifb: s.ifb && { ...s.ifb, root: root(s.ifb.root) },
      own: [...s.own.entries()],
    }),
  ]);
}

function linkNames(ns: Netns): string[] {
  return JSON.parse(ns.ip('-j', 'link', 'show')).map((l: { ifname: string }) => l.ifname);
}

/** The mirror, a read of the whole namespace and reads of one interface at a time agree. */
async function expectMirrorMatches(ns: Netns, nl: NetlinkHandle): Promise<void> {
  const names = linkNames(ns);
  expect(names.length).toBeGreaterThan(FEW_INTERFACES);
  const mirrored = await nl.read(planReadMirrored(nl.mirror!, names));
  const fresh = await nl.read(planReadInterfaces(names));
  expect(config(mirrored)).toEqual(config(fresh));
  const one = new Map<string, InterfaceState>();
  for (const name of names) one.set(name, (await nl.read(planReadInterfaces([name]))).get(name)!);
  expect(config(one)).toEqual(config(fresh));
}

const tc = (ns: Netns, ...args: string[]) => execFileSync('tc', ['-n', ns.name, ...args], { stdio: 'pipe' });
const tcBatch = (ns: Netns, lines: string[]) =>
  execFileSync('tc', ['-n', ns.name, '-batch', '-'], {
    input: lines.join('\n') + '\n',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 26,
  });

describe('a mirror follows every change', () => {
  let ns: Netns;
  let nl: NetlinkHandle;
  const handles = () => new Map([[ns.name, nl]]);
  const target = (annotations: Record<string, string>) => ({ ifname: 'cali0', netns: ns.name, annotations });

  beforeAll(async () => {
    ns = tempNetns('nqm').veth('cali0', 'eth0').veth('v2', 'v3').veth('v4', 'v5');
    // Another tool's objects exist before the mirror starts.
    tc(ns, 'qdisc', 'add', 'dev', 'v2', 'clsact');
    tc(
      ns,
      'filter',
      'add',
      'dev',
      'v2',
      'egress',
      'prio',
      '3',
      'protocol',
      'ip',
      'u32',
      'match',
      'ip',
      'dst',
      '198.18.0.0/15',
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      'cali0',
    );
    nl = openNetlink({ netns: ns.name });
    // A small buffer (1 MiB, the default is 64), so that other tools can overflow it quickly.
    await nl.watch({ receiveBuffer: 1 << 20 });
  });
  afterAll(() => nl.close());

  test('the first read', async () => {
    expect(nl.mirror!.counters.fills).toBe(1);
    await expectMirrorMatches(ns, nl);
  });

  test("netqos's own apply, change and no-op", async () => {
    // The IFB, its TBF, the root TBF, clsact, the redirect.
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(5);
    await expectMirrorMatches(ns, nl);
    const changed = {
      'qos.projectcalico.org/ingressBandwidth': '20M',
      'qos.projectcalico.org/egressBandwidth': '30M',
    };
    expect((await applyQos([target(changed)], { handles: handles() })).sent).toBe(2);
    await expectMirrorMatches(ns, nl);
    // Nothing changed: no message sent, and no read either (no sendmsg at all).
    const before = nl.counters();
    expect((await applyQos([target(changed)], { handles: handles() })).sent).toBe(0);
    expect(nl.counters()).toEqual(before);
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(2);
  });

  test('a change by another tool after a no-op pass is seen and repaired (on the pod interface and on its IFB)', async () => {
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(0);
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(0);
    tc(
      ns,
      'qdisc',
      'change',
      'dev',
      'cali0',
      'root',
      'handle',
      '4e51:',
      'tbf',
      'rate',
      '5mbit',
      'burst',
      '10k',
      'latency',
      '20ms',
    );
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(1);
    const ifb = nl
      .mirror!.filters(ns.ifindex('cali0'))
      .flatMap((f) => f.actions ?? [])
      .find((a) => a.kind === 'mirred')!.dev as string;
    tc(
      ns,
      'qdisc',
      'change',
      'dev',
      ifb,
      'root',
      'handle',
      '4e51:',
      'tbf',
      'rate',
      '5mbit',
      'burst',
      '10k',
      'latency',
      '20ms',
    );
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(1);
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(0);
    await expectMirrorMatches(ns, nl);
  });

  test('readQos through the mirror: its configuration, with live statistics, as a fresh read says', async () => {
    const viaMirror = await readQos(
      [
        { ifname: 'cali0', netns: ns.name },
        { ifname: 'v2', netns: ns.name },
      ],
      { handles: handles() },
    );
    const fresh = await readQos([
      { ifname: 'cali0', netns: ns.name },
      { ifname: 'v2', netns: ns.name },
    ]);
    expect(viaMirror).toEqual(fresh);
    expect(viaMirror[0].ingress.shaper).toMatchObject({ bytes: expect.any(Number), drops: 0 });
  });

  test('other tools: filters added, replaced across priorities, deleted by priority and by flush', async () => {
    tc(
      ns,
      'filter',
      'add',
      'dev',
      'cali0',
      'ingress',
      'prio',
      '7',
      'protocol',
      'ip',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      'v2',
    );
    await expectMirrorMatches(ns, nl);
    // u32 shares its hash table across priorities: this replaces netqos's filter (prio 49003,
    // node 800::800), and the kernel announces it with prio 7 and the old contents.
    tc(
      ns,
      'filter',
      'replace',
      'dev',
      'cali0',
      'ingress',
      'prio',
      '7',
      'protocol',
      'ip',
      'handle',
      '800::800',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      'v2',
    );
    await expectMirrorMatches(ns, nl);
    const rereads = nl.mirror!.counters.rereads;
    expect(rereads).toBeGreaterThan(0);
    tc(ns, 'filter', 'del', 'dev', 'cali0', 'ingress', 'prio', '7', 'protocol', 'ip');
    await expectMirrorMatches(ns, nl);
    // The mirror sees the stomped filter, so a reconcile repairs it.
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBeGreaterThan(0);
    await expectMirrorMatches(ns, nl);
    tc(ns, 'filter', 'del', 'dev', 'cali0', 'ingress');
    await expectMirrorMatches(ns, nl);
  });

  test('other tools: an action replaced on its own, a hook qdisc deleted with its filters', async () => {
    const index = (nl.mirror!.filters(ns.ifindex('v2'))[0].actions![0] as { index: number }).index;
    tc(
      ns,
      'actions',
      'replace',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      'cali0',
      'index',
      String(index),
    );
    await expectMirrorMatches(ns, nl);
    tc(ns, 'qdisc', 'del', 'dev', 'v2', 'clsact');
    await expectMirrorMatches(ns, nl);
    expect(nl.mirror!.filters(ns.ifindex('v2'))).toEqual([]);
  });

  test('other tools: root qdiscs replaced and deleted, links renamed, deleted and made again', async () => {
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBeGreaterThan(0);
    tc(
      ns,
      'qdisc',
      'replace',
      'dev',
      'v2',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      '5mbit',
      'burst',
      '10k',
      'latency',
      '20ms',
    );
    await expectMirrorMatches(ns, nl);
    tc(ns, 'qdisc', 'del', 'dev', 'v2', 'root');
    await expectMirrorMatches(ns, nl);
    const ifb = nl
      .mirror!.filters(ns.ifindex('cali0'))
      .flatMap((f) => f.actions ?? [])
      .find((a) => a.kind === 'mirred')!.dev as string;
    ns.ip('link', 'set', ifb, 'name', 'nqrenamed');
    await expectMirrorMatches(ns, nl);
    ns.ip('link', 'set', 'nqrenamed', 'name', ifb);
    await expectMirrorMatches(ns, nl);
    // The IFB deleted by hand: the redirect now points nowhere, and a reconcile repairs it.
    ns.ip('link', 'del', ifb);
    await expectMirrorMatches(ns, nl);
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(3);
    await expectMirrorMatches(ns, nl);
    ns.ip('link', 'del', 'cali0');
    await expectMirrorMatches(ns, nl);
    expect(nl.mirror!.link('cali0')).toBeUndefined();
    ns.veth('cali0', 'eth0');
    expect((await applyQos([target(LIMITS)], { handles: handles() })).sent).toBe(3);
    await expectMirrorMatches(ns, nl);
  });

  test('lost notifications: the mirror reads everything again', async () => {
    // More notifications than the socket holds, from another process while nothing drains it.
    const fills = nl.mirror!.counters.fills;
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `qdisc replace dev v3 root handle 1: tbf rate ${1000 + (i % 2)}kbit burst 10k latency 20ms`,
    );
    tcBatch(ns, lines);
    tc(
      ns,
      'qdisc',
      'replace',
      'dev',
      'v3',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      '3mbit',
      'burst',
      '10k',
      'latency',
      '20ms',
    );
    await expectMirrorMatches(ns, nl);
    expect(nl.mirror!.counters.fills).toBe(fills + 1);
    expect(nl.mirror!.qdiscs(ns.ifindex('v3')).root).toMatchObject({ kind: 'tbf', rate: 3_000_000 });
  });

  test("a batch's own notifications never overflow: they are drained between chunks", async () => {
    const fills = nl.mirror!.counters.fills;
    const ops = Array.from({ length: 20_000 }, (_, i) => ({
      op: 'replace' as const,
      qdisc: {
        kind: 'tbf' as const,
        dev: 'v3',
        parent: 'root',
        handle: '1:',
        rate: 1_000_000 + (i % 2) * 8000,
        burst: 10_000,
        latencyUs: 20_000,
      },
    }));
    await nl.apply(ops);
    await expectMirrorMatches(ns, nl);
    expect(nl.mirror!.counters.fills).toBe(fills);
  });
});

test('a batch uses the interface indexes it is given instead of looking the names up', async () => {
  const ns = tempNetns('nqm').veth('cali0', 'eth0');
  const nl = openNetlink({ netns: ns.name });
  try {
    const op = (rate: number) => ({
      op: 'replace' as const,
      qdisc: {
        kind: 'tbf' as const,
        dev: 'cali0',
        parent: 'root',
        handle: '4e51:',
        rate,
        burst: 12_500,
        latencyUs: 25_000,
      },
    });
    let before = nl.counters().sendmsgCalls;
    await nl.apply([op(10_000_000)]);
    expect(nl.counters().sendmsgCalls - before).toBe(2); // the name's lookup, then the batch
    before = nl.counters().sendmsgCalls;
    const interfaces = new Map([['cali0', ns.ifindex('cali0')]]);
    expect((await nl.apply([op(20_000_000)], { interfaces })).sendmsgCalls).toBe(1);
    expect(nl.counters().sendmsgCalls - before).toBe(1);
    expect(ns.tcJson('qdisc', 'show', 'dev', 'cali0')[0]).toMatchObject({
      kind: 'tbf',
      options: { rate: 2_500_000 },
    });
    // A name the batch itself creates is looked up after it exists, vouched for or not.
    const ifb = { op: 'add' as const, link: { kind: 'ifb' as const, name: 'nqifbtest', up: true } };
    await nl.apply([ifb, { ...op(10_000_000), qdisc: { ...op(10_000_000).qdisc, dev: 'nqifbtest' } }], {
      interfaces: new Map([['nqifbtest', 99_999]]),
    });
    expect(ns.tcJson('qdisc', 'show', 'dev', 'nqifbtest')[0]).toMatchObject({ kind: 'tbf' });
  } finally {
    nl.close();
    ns.remove();
  }
});

test('a small apply queued while a large one runs waits its turn', async () => {
  const ns = tempNetns('nqm').veth('cali0', 'eth0').veth('v2', 'v3');
  const nl = openNetlink({ netns: ns.name });
  try {
    const tbf = (dev: string, rate: number) => ({
      op: 'replace' as const,
      qdisc: {
        kind: 'tbf' as const,
        dev,
        parent: 'root',
        handle: '1:',
        rate,
        burst: 10_000,
        latencyUs: 20_000,
      },
    });
    const large = nl.apply(Array.from({ length: 5000 }, (_, i) => tbf('v2', 1_000_000 + (i % 2) * 8000)));
    const small = nl.apply([tbf('cali0', 3_000_000)]);
    const [a, b] = await Promise.all([large, small]);
    expect([a.count, b.count]).toEqual([5000, 1]);
    expect(ns.tcJson('qdisc', 'show', 'dev', 'cali0')[0]).toMatchObject({
      kind: 'tbf',
      options: { rate: 375_000 },
    });
  } finally {
    nl.close();
    ns.remove();
  }
});

test('watch options are checked', () => {
  const nl = openNetlink();
  try {
    expect(() => nl.watchSync({ receiveBuffer: 12.5 })).toThrow(
      /receiveBuffer: 12.5 is not a whole number of bytes from 4096/,
    );
  } finally {
    nl.close();
  }
});

test('the blocking twins: watchSync and applyQosSync read the mirror', () => {
  const ns = tempNetns('nqm').veth('cali0', 'eth0');
  const nl = openNetlink({ netns: ns.name });
  try {
    const mirror = nl.watchSync();
    expect(nl.watchSync()).toBe(mirror);
    const handles = new Map([[ns.name, nl]]);
    const t = { ifname: 'cali0', netns: ns.name, annotations: LIMITS };
    expect(applyQosSync([t], { handles }).sent).toBe(5);
    const before = nl.counters();
    expect(applyQosSync([t], { handles }).sent).toBe(0);
    expect(nl.counters()).toEqual(before);
    const fresh = nl.readSync(planReadInterfaces(['cali0']));
    expect(config(nl.readSync(planReadMirrored(mirror, ['cali0'])))).toEqual(config(fresh));
  } finally {
    nl.close();
    ns.remove();
  }
});
