// Pod QoS from annotations on a live interface: apply, read back, idempotence, a change that
// touches only what it must, removal; other tools' objects survive every step.
import {
  applyQos,
  clearQos,
  planQos,
  readQos,
  openNetlink,
  AnnotationError,
  type QosTarget,
} from '../../lib';
import { sh, tempNetns, type Netns } from '../helpers/netns';

let ns: Netns;
const LIMITS = {
  'qos.projectcalico.org/ingressBandwidth': '10M',
  'qos.projectcalico.org/egressBandwidth': '10M',
};

function target(annotations: Record<string, string>): QosTarget {
  return { ifname: 'cali0', netns: ns.name, annotations };
}
function view() {
  return {
    qdiscs: ns
      .tcJson('qdisc', 'show')
      .map((q: any) => `${q.dev} ${q.kind} ${q.handle} ${q.options?.rate ?? ''}`)
      .sort(),
    filters: ['ingress', 'egress'].flatMap((hook) => {
      try {
        return ns
          .tcJson('filter', 'show', 'dev', 'cali0', hook)
          .filter((f: any) => f.options?.actions || f.options?.flowid)
          .map(
            (f: any) =>
              `${hook} ${f.pref} ${f.protocol} ${(f.options.actions ?? []).map((a: any) => a.kind).join('+')}`,
          );
      } catch {
        return [];
      }
    }),
    links: JSON.parse(ns.ip('-j', 'link', 'show'))
      .map((l: any) => l.ifname)
      .sort(),
  };
}

beforeAll(() => {
  ns = tempNetns().veth('cali0', 'eth0');
  // Another tool's objects: a clsact with an ingress filter on the pod interface.
  sh('tc', ['-n', ns.name, 'qdisc', 'add', 'dev', 'cali0', 'clsact']);
  sh('tc', [
    '-n',
    ns.name,
    'filter',
    'add',
    'dev',
    'cali0',
    'ingress',
    'protocol',
    'ip',
    'prio',
    '100',
    'u32',
    'match',
    'ip',
    'dst',
    '198.18.0.0/15',
    'flowid',
    '1:1',
  ]);
});

test('apply the lab annotations: TBF on the interface, IFB + redirect + TBF for egress', async () => {
  const result = await applyQos([target(LIMITS)]);
  expect(result.sent).toBe(4); // ifb, its tbf, the root tbf, the redirect filter
  const [status] = await readQos([target({})]);
  expect(status).toMatchObject({
    exists: true,
    // Default bucket: 10 ms of the rate (12,500 B); limit: 25 ms of the rate + the bucket.
    ingress: { bandwidth: 10_000_000, burst: 12_500, limit: 31_250 + 12_500 },
    egress: { bandwidth: 10_000_000, ifb: expect.stringMatching(/^nqifb[0-9a-f]{10}$/) },
    foreign: { filters: 1 },
  });
  expect(status.ingress.shaper).toMatchObject({ drops: 0 });
  expect(await readQos({ ifname: 'cali0', netns: ns.name })).toMatchObject({
    ifname: 'cali0',
    exists: true,
    ingress: { bandwidth: 10_000_000 },
  });
  const v = view();
  expect(v.filters).toEqual(expect.arrayContaining(['ingress 100 ip ', 'ingress 49003 all mirred']));
  expect(v.links).toContain(status.egress.ifb);
});

test('applying the same annotations again sends nothing', async () => {
  const nl = openNetlink({ netns: ns.name });
  try {
    const before = nl.counters().messages;
    const result = await applyQos([target(LIMITS)], { handles: new Map([[ns.name, nl]]) });
    expect(result.sent).toBe(0);
    expect(result.batches[0].operations).toEqual([]);
    expect(nl.counters().messages).toBe(before);
  } finally {
    nl.close();
  }
});

test('changing one annotation changes only that TBF, in place', async () => {
  const plan = await planQos([target({ ...LIMITS, 'qos.projectcalico.org/egressBandwidth': '20M' })]);
  expect(plan.batches[0].operations).toHaveLength(1);
  expect(plan.batches[0].operations[0]).toMatchObject({
    op: 'replace',
    qdisc: { kind: 'tbf', rate: 20_000_000 },
  });
  const result = await applyQos([target({ ...LIMITS, 'qos.projectcalico.org/egressBandwidth': '20M' })]);
  expect(result.sent).toBe(1);
  const [status] = await readQos([target({})]);
  expect(status.egress.bandwidth).toBe(20_000_000);
  expect(status.ingress.bandwidth).toBe(10_000_000);
});

test('a bad annotation fails with its key, value and what is allowed, and changes nothing', async () => {
  const before = view();
  const err = await applyQos([target({ ...LIMITS, 'qos.projectcalico.org/ingressBandwidth': '10Mb' })]).catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(AnnotationError);
  expect(err.message).toContain('qos.projectcalico.org/ingressBandwidth');
  expect(err.message).toContain('10Mb');
  expect(view()).toEqual(before);
});

test('a change the kernel refuses halfway is rolled back whole', async () => {
  // This kernel lacks act_pedit: on the tc dataplane the DSCP filters fail after the IFB, its
  // TBF and the clsact hook went in; the whole batch comes back out.
  const before = view();
  const err = await applyQos([target({ ...LIMITS, 'qos.projectcalico.org/dscp': 'EF' })], {
    dataplane: 'tc',
  }).catch((e) => e);
  if (err === undefined) return; // a kernel with pedit: nothing to roll back
  expect(err).toMatchObject({ name: 'NetlinkError', rolledBack: true });
  expect(view()).toEqual(before);
});

test('removing the annotations removes every netqos object and only those', async () => {
  const result = await clearQos([{ ifname: 'cali0', netns: ns.name }]);
  expect(result.sent).toBeGreaterThanOrEqual(3);
  const v = view();
  expect(v.links.filter((l: string) => l.startsWith('nqifb'))).toEqual([]);
  expect(v.filters).toEqual(['ingress 100 ip ']);
  expect(v.qdiscs.filter((q: string) => q.includes('tbf'))).toEqual([]);
  expect(v.qdiscs).toEqual(expect.arrayContaining([expect.stringMatching(/^cali0 clsact/)]));
  const [status] = await readQos([target({})]);
  expect(status.ingress).toEqual({});
  expect(status.egress).toEqual({});
});
