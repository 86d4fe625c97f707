// The reconciler's decisions (lib/agent/work.ts, isolate.ts, orphans.ts), without a kernel: which
// pods a pass looks at, how each is judged, which interfaces are cleared, what an outcome makes
// of a pod, and how a failed batch is split so that one pod never blocks the others. The batch
// call is a fake standing in for applyQos; the kernel tests (test/kernel/agent*.test.ts) run the
// whole agent against real namespaces.
import { applyIsolated, culprit, MAX_SET_ASIDE, type ApplyTargets } from '../../lib/agent/isolate';
import { orphanDeletionResult } from '../../lib/agent/orphans';
import { makePod, type AgentPod } from '../../lib/agent/pods';
import {
  changedElsewhere,
  chooseWork,
  claimInterfaces,
  clearable,
  errorText,
  judgePods,
  linkChanges,
  passRetryDelay,
  placePods,
  podVerdict,
  retryDelay,
  retryDue,
  seenOf,
  unclaimedInterfaces,
  type JudgeContext,
  type PodRecord,
} from '../../lib/agent/work';
import { NetlinkError, type Operation } from '../../lib/netlink';
import { QosConflictError, ifbNameFor, type QosTarget } from '../../lib/qos';

const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const IFACE = 'netqos.io/interface';

/** A manifest pod on an explicit interface (netqos.io/interface), with QoS annotations. */
function pod(name: string, ifname: string, annotations: Record<string, string> = {}): AgentPod {
  return makePod(
    { name, source: 'test', annotations: { ...annotations, [IFACE]: ifname } },
    { explicit: true },
  );
}

/** A pod whose interface cannot be known (an invalid netqos.io/interface). */
const withoutInterface = (name: string) => pod(name, 'a/b');

const podMap = (...pods: AgentPod[]) => new Map(pods.map((p) => [p.key, p]));

function record(p: AgentPod, state: PodRecord['state'], extra: Partial<PodRecord> = {}): PodRecord {
  return { pod: p, fp: JSON.stringify([p.ifname ?? null]), state, attempts: 0, nextAt: 0, ...extra };
}

const ctx = (pods: ReadonlyMap<string, AgentPod>, over: Partial<JudgeContext> = {}): JudgeContext => ({
  full: false,
  now: 1000,
  claimedBy: claimInterfaces(pods),
  prefix: 'cali',
  ...over,
});

describe('choosing the work', () => {
  test('an interface two pods name is claimed by the first by key', () => {
    const pods = podMap(pod('b', 'veth1'), pod('a', 'veth1'), pod('c', 'veth2'), withoutInterface('d'));
    expect([...claimInterfaces(pods)]).toEqual([
      ['veth1', 'default/a'],
      ['veth2', 'default/c'],
    ]);
  });

  test('a full pass: every pod, and records of pods that are gone', () => {
    const a = pod('a', 'veth1');
    const records = new Map([['default/gone', record(pod('gone', 'veth9'), 'applied')]]);
    expect([...chooseWork(podMap(a), records, [], true, 0)].sort()).toEqual(['default/a', 'default/gone']);
  });

  test('a partial pass: changed pods, gone pods, retries that are due, nothing else', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => pod(n, `veth-${n}`));
    const records = new Map([
      ['default/a', record(a, 'applied')],
      ['default/b', record(b, 'waiting', { nextAt: 500 })],
      ['default/c', record(c, 'failed', { nextAt: 5000 })],
      ['default/x', record(pod('x', 'veth-x'), 'applied')],
    ]);
    const work = chooseWork(podMap(a, b, c, d), records, ['default/d'], false, 1000);
    expect([...work].sort()).toEqual(['default/b', 'default/d', 'default/x']);
  });

  test('retries: due by state and time; the delay doubles to its cap', () => {
    const p = pod('a', 'veth1');
    expect(retryDue(record(p, 'conflict', { nextAt: 10 }), 10)).toBe(true);
    expect(retryDue(record(p, 'conflict', { nextAt: 11 }), 10)).toBe(false);
    expect(retryDue(record(p, 'invalid', { nextAt: 0 }), 10)).toBe(false);
    expect(retryDue(record(p, 'waiting', { nextAt: Infinity }), Date.now())).toBe(false);
    expect([0, 1, 2, 10].map((n) => retryDelay(n))).toEqual([500, 1000, 2000, 30_000]);
    expect(retryDelay(3, 100, 500)).toBe(500);
    expect([1, 2, 3, 20].map(passRetryDelay)).toEqual([500, 1000, 2000, 30_000]);
  });
});

describe('judging pods', () => {
  test('a new pod: a record, ready with its parsed annotations', () => {
    const a = pod('a', 'veth1', { [IN]: '10M' });
    const pods = podMap(a);
    const records = new Map<string, PodRecord>();
    const j = judgePods(['default/a'], pods, records, ctx(pods));
    expect(j.ready).toHaveLength(1);
    expect(j.ready[0].spec.ingress.bandwidth).toBe(10_000_000);
    expect(records.get('default/a')).toMatchObject({ pod: a, state: 'new', attempts: 0 });
    expect(j.explicit).toEqual(['veth1']);
    expect(j.invalid).toEqual([]);
  });

  test('an unchanged pod is passed over, except on a full pass or when its interface changed', () => {
    const a = pod('a', 'cali1', { [IN]: '10M' });
    const pods = podMap(a);
    const records = new Map<string, PodRecord>();
    judgePods(['default/a'], pods, records, ctx(pods));
    const rec = records.get('default/a')!;
    rec.state = 'applied';
    expect(judgePods(['default/a'], pods, records, ctx(pods)).ready).toEqual([]);
    expect(judgePods(['default/a'], pods, records, ctx(pods, { full: true })).ready).toHaveLength(1);
    rec.stale = true;
    expect(judgePods(['default/a'], pods, records, ctx(pods)).ready).toHaveLength(1);
    expect(rec.stale).toBe(false);
  });

  test('changed annotations start the attempts again', () => {
    const pods = podMap(pod('a', 'veth1', { [IN]: '10M' }));
    const records = new Map<string, PodRecord>();
    judgePods(['default/a'], pods, records, ctx(pods));
    Object.assign(records.get('default/a')!, { state: 'failed', attempts: 4, nextAt: 1e12 });
    const changed = podMap(pod('a', 'veth1', { [IN]: '20M' }));
    const j = judgePods(['default/a'], changed, records, ctx(changed));
    expect(j.ready).toHaveLength(1);
    expect(records.get('default/a')!.attempts).toBe(0);
  });

  test('a pod gone: its record dropped, its interfaces cleared unless another pod claims them', () => {
    const old = pod('a', 'veth1');
    const records = new Map([['default/a', record(old, 'applied', { ifname: 'veth0' })]]);
    const j = judgePods(['default/a'], new Map(), records, ctx(new Map()));
    expect(records.size).toBe(0);
    expect(j.removed).toEqual([{ key: 'default/a', rec: expect.objectContaining({ pod: old }) }]);
    expect([...j.toClear]).toEqual([
      ['veth0', 'pod default/a was deleted'],
      ['veth1', 'pod default/a was deleted'],
    ]);

    const heir = podMap(pod('b', 'veth1'));
    const again = new Map([['default/a', record(old, 'applied', { ifname: 'veth1' })]]);
    expect(judgePods(['default/a'], heir, again, ctx(heir)).toClear.size).toBe(0);
  });

  test('a pod that moved to another interface: the old one is cleared', () => {
    const records = new Map([['default/a', record(pod('a', 'veth1'), 'applied', { ifname: 'veth1' })]]);
    const pods = podMap(pod('a', 'veth2', { [IN]: '1M' }));
    const j = judgePods(['default/a'], pods, records, ctx(pods));
    expect([...j.toClear]).toEqual([['veth1', 'pod default/a now uses veth2']]);
    expect(j.ready.map((r) => r.rec.pod.ifname)).toEqual(['veth2']);
  });

  test('no interface, an interface another pod has, bad annotations: invalid, each on its own', () => {
    const pods = podMap(
      pod('a', 'veth1', { [IN]: '10M' }),
      pod('b', 'veth1', { [IN]: '10M' }),
      withoutInterface('c'),
      pod('d', 'veth4', { [IN]: 'ten' }),
      pod('e', 'veth5', { [OUT]: '5M' }),
    );
    const records = new Map<string, PodRecord>();
    const j = judgePods(pods.keys(), pods, records, ctx(pods));
    expect(j.ready.map((r) => r.rec.pod.key)).toEqual(['default/a', 'default/e']);
    expect(j.invalid.map(({ rec, reason, message }) => [rec.pod.key, reason, message])).toEqual([
      ['default/b', 'interface', 'interface veth1 is already the interface of pod default/a'],
      ['default/c', 'interface', expect.stringContaining('not a valid interface name')],
      ['default/d', 'annotations', expect.stringContaining(IN)],
    ]);
    expect(records.size).toBe(5);
    // Only pods that own their interface count as naming it explicitly.
    expect(j.explicit).toEqual(['veth1', 'veth4', 'veth5']);
  });

  test('calico mode: adjustments are reported once per set of annotations', () => {
    const pods = podMap(pod('a', 'veth1', { [IN]: 'ten', [OUT]: '5M' }));
    const records = new Map<string, PodRecord>();
    const first = judgePods(['default/a'], pods, records, ctx(pods, { mode: 'calico' }));
    expect(first.invalid).toEqual([]);
    expect(first.ready).toHaveLength(1);
    expect(first.warnings).toEqual([
      { rec: records.get('default/a'), warnings: [expect.stringContaining(IN)] },
    ]);
    const again = judgePods(['default/a'], pods, records, ctx(pods, { mode: 'calico', full: true }));
    expect(again.ready).toHaveLength(1);
    expect(again.warnings).toEqual([]);
  });
});

describe('placing pods and choosing what to clear', () => {
  test('ready pods by whether their interface is there; without QoS a missing one is no matter', () => {
    const pods = podMap(
      pod('a', 'veth1', { [IN]: '1M' }),
      pod('b', 'veth2', { [IN]: '1M' }),
      pod('c', 'veth3'),
    );
    const records = new Map<string, PodRecord>();
    const { ready } = judgePods(pods.keys(), pods, records, ctx(pods));
    const placed = placePods(ready, new Set(['veth1', 'lo']));
    expect(placed.present.map((r) => r.pod.name)).toEqual(['a']);
    expect(placed.absent.map((r) => r.pod.name)).toEqual(['b']);
    expect(placed.none.map((r) => r.pod.name)).toEqual(['c']);
  });

  test('unclaimed interfaces in scope, never netqos IFBs', () => {
    const links = ['lo', 'cali1', 'cali2', 'veth9', ifbNameFor('cali7')].map((name) => ({ name }));
    const claimed = new Map([['cali1', 'default/a']]);
    expect(unclaimedInterfaces(links, claimed, (n) => n.startsWith('cali'))).toEqual(['cali2']);
    expect(unclaimedInterfaces(links, claimed, () => true)).toEqual(['lo', 'cali2', 'veth9']);
  });

  test('what can be cleared: there, unclaimed, a valid name', () => {
    const toClear = new Map([
      ['veth1', 'gone'],
      ['veth2', 'gone'],
      ['veth3', 'gone'],
      ['x'.repeat(16), 'gone'],
    ]);
    const names = new Set(['veth1', 'veth3', 'x'.repeat(16)]);
    expect(clearable(toClear, names, new Map([['veth3', 'default/b']]))).toEqual([['veth1', 'gone']]);
  });
});

describe('outcomes', () => {
  const enodev = new NetlinkError('veth1: no such device', { errno: 19, code: 'ENODEV' });
  const refused = new NetlinkError('the kernel refused', {
    errno: 22,
    code: 'EINVAL',
    kernelMessage: 'bad rate',
  });

  test('applied, waiting (the interface vanished), conflict, failed', () => {
    expect(podVerdict({ ok: true, operations: 3, warnings: [] })).toEqual({
      state: 'applied',
      operations: 3,
    });
    expect(podVerdict({ ok: false, error: enodev })).toEqual({ state: 'waiting' });
    expect(
      podVerdict({ ok: false, error: new QosConflictError('veth1', 'the interface does not exist') }),
    ).toEqual({ state: 'waiting' });
    expect(podVerdict({ ok: false, error: new QosConflictError('veth1', 'a root htb qdisc') })).toEqual({
      state: 'conflict',
      report: { reason: 'QoSConflict', message: 'veth1: a root htb qdisc' },
      errorReason: 'conflict',
    });
    expect(podVerdict({ ok: false, error: refused })).toEqual({
      state: 'failed',
      report: { reason: 'QoSApplyFailed', message: 'the kernel refused (kernel: bad rate)' },
      errorReason: 'netlink',
    });
    expect(errorText('plain')).toBe('plain');
  });

  test('orphan IFB deletion: gone already is fine; a failed group delete deletes nothing', () => {
    const orphans = [{ name: 'nqifb1' }, { name: 'nqifb2' }, { name: 'nqifb3' }];
    const fail = (index: number, code: string) => ({ index, errno: 1, code, message: '', description: code });
    expect(orphanDeletionResult(orphans, { count: 4, failures: [] })).toEqual({
      deleted: ['nqifb1', 'nqifb2', 'nqifb3'],
      sent: 4,
      failures: [],
    });
    expect(
      orphanDeletionResult(orphans, { count: 4, failures: [fail(1, 'ENODEV'), fail(2, 'EPERM')] }),
    ).toEqual({
      deleted: ['nqifb1'],
      sent: 2,
      failures: ['EPERM EPERM'],
    });
    expect(orphanDeletionResult(orphans, { count: 4, failures: [fail(3, 'EBUSY')] }).deleted).toEqual([]);
  });
});

describe('rechecks', () => {
  test('after a change elsewhere: applied pods whose stamps moved, waiting pods whose interface came', () => {
    const pods = podMap(
      pod('a', 'veth1'),
      pod('b', 'veth2'),
      pod('c', 'veth3'),
      pod('d', 'veth4'),
      pod('e', 'veth5'),
    );
    const stamps = new Map([
      ['veth1', 1],
      ['veth2', 2],
      ['veth3', 3],
    ]);
    const mirror = { stamp: (n: string) => stamps.get(n) };
    const records = new Map([
      [
        'default/a',
        record(pods.get('default/a')!, 'applied', { ifname: 'veth1', seen: seenOf(mirror, 'veth1') }),
      ],
      ['default/b', record(pods.get('default/b')!, 'applied', { ifname: 'veth2', seen: 'old' })],
      ['default/c', record(pods.get('default/c')!, 'waiting', { nextAt: 5000 })],
      ['default/d', record(pods.get('default/d')!, 'waiting', { nextAt: 5000 })],
      ['default/e', record(pods.get('default/e')!, 'waiting', { nextAt: Infinity })],
      ['default/z', record(pod('z', 'veth1'), 'applied', { ifname: 'veth1', seen: 'old' })],
    ]);
    const seenNow = (n: string) => seenOf(mirror, n);
    const present = (n: string) => stamps.has(n) || n === 'veth5';
    expect(changedElsewhere(records, pods, seenNow, present, false)).toEqual({
      stale: ['default/b'],
      due: ['default/c'],
    });
    expect(changedElsewhere(records, pods, seenNow, present, true).stale).toEqual(['default/a', 'default/b']);
  });

  test('a link dump: applied pods whose interface was replaced or removed, waiting pods whose came', () => {
    const records = new Map([
      ['default/a', record(pod('a', 'veth1'), 'applied', { ifname: 'veth1', ifindex: 5 })],
      ['default/b', record(pod('b', 'veth2'), 'applied', { ifname: 'veth2', ifindex: 6 })],
      ['default/c', record(pod('c', 'veth3'), 'applied', { ifname: 'veth3', ifindex: 7 })],
      ['default/d', record(pod('d', 'veth4'), 'waiting', { nextAt: 5000 })],
      ['default/e', record(pod('e', 'veth5'), 'waiting', { nextAt: 500 })],
    ]);
    const indexes = new Map([
      ['veth1', 5],
      ['veth2', 16],
      ['veth4', 8],
      ['veth5', 9],
    ]);
    expect(linkChanges(records, indexes, 1000)).toEqual({
      stale: ['default/b', 'default/c'],
      due: ['default/d'],
    });
  });
});

describe('failure isolation: one applyQos call, the target at fault set aside', () => {
  const logger = { warn: jest.fn(), debug: jest.fn() };
  const targets: QosTarget[] = ['veth0', 'veth1', 'veth2', 'veth3'].map((ifname) => ({
    ifname,
    annotations: { [IN]: '1M' },
  }));
  const result = (t: QosTarget[]) => ({
    targets: t.map((x) => ({
      ifname: x.ifname,
      spec: { ingress: {}, egress: {} },
      warnings: [],
      operations: [],
      nftables: [],
      enforcedBy: {},
    })),
  });
  const redirectTo = (dev: string): Operation => ({
    op: 'add',
    filter: { kind: 'matchall', dev, parent: 'ingress' },
  });

  /** A fake applyQos: fails (the whole batch) while a target it is given is in `bad`. */
  function fakeApply(bad: Map<string, unknown>, calls: string[][]): ApplyTargets {
    return async (t) => {
      calls.push(t.map((x) => x.ifname));
      for (const x of t) if (bad.has(x.ifname)) throw bad.get(x.ifname);
      return result(t);
    };
  }

  test('a conflict and a refused operation on an IFB: those two fail, the rest in one more call', async () => {
    const calls: string[][] = [];
    const conflict = new QosConflictError('veth1', 'a root htb qdisc');
    const refused = new NetlinkError('refused', {
      errno: 22,
      code: 'EINVAL',
      operation: redirectTo(ifbNameFor('veth3')),
    });
    const bad = new Map<string, unknown>([
      ['veth1', conflict],
      ['veth3', refused],
    ]);
    const out = await applyIsolated(targets, fakeApply(bad, calls), logger, (i) => `pod${i}`);
    expect(out.map((o) => o.ok)).toEqual([true, false, true, false]);
    expect(out[1]).toEqual({ ok: false, error: conflict });
    expect(out[3]).toEqual({ ok: false, error: refused });
    expect(calls).toEqual([
      ['veth0', 'veth1', 'veth2', 'veth3'],
      ['veth0', 'veth2', 'veth3'],
      ['veth0', 'veth2'],
    ]);
    expect(logger.debug).toHaveBeenCalledWith(
      expect.objectContaining({ interface: 'veth1', pod: 'pod1' }),
      'set aside from the batch',
    );
  });

  test('an error that names no target: each target on its own', async () => {
    const calls: string[][] = [];
    const bad = new Map<string, unknown>([['veth2', new Error('out of memory')]]);
    const out = await applyIsolated(targets, fakeApply(bad, calls), logger);
    expect(out.map((o) => o.ok)).toEqual([true, true, false, true]);
    expect(calls).toEqual([['veth0', 'veth1', 'veth2', 'veth3'], ['veth0'], ['veth1'], ['veth2'], ['veth3']]);
  });

  test('the culprit: by interface, by its IFB, by an operation on a link; none for others', () => {
    const live = [0, 1, 2, 3];
    expect(culprit(new QosConflictError('veth2', 'x'), live, targets)).toBe(2);
    expect(culprit(new QosConflictError('veth2', 'x'), [0, 1, 3], targets)).toBeUndefined();
    const onLink = new NetlinkError('x', {
      errno: 17,
      code: 'EEXIST',
      operation: { op: 'add', link: { kind: 'ifb', name: ifbNameFor('veth0') } },
    });
    expect(culprit(onLink, live, targets)).toBe(0);
    expect(culprit(new NetlinkError('x', { errno: 1, code: 'EPERM' }), live, targets)).toBeUndefined();
    expect(culprit(new Error('x'), live, targets)).toBeUndefined();
  });

  test(`after ${MAX_SET_ASIDE} targets set aside, the rest go one by one`, async () => {
    const many: QosTarget[] = Array.from({ length: MAX_SET_ASIDE + 3 }, (_, i) => ({
      ifname: `veth${i}`,
      annotations: {},
    }));
    const bad = new Map<string, unknown>(many.map((t) => [t.ifname, new QosConflictError(t.ifname, 'x')]));
    const calls: string[][] = [];
    const out = await applyIsolated(many, fakeApply(bad, calls), logger);
    expect(out.every((o) => !o.ok)).toBe(true);
    // A batch call per target set aside, the one that gave up, then one call per target left.
    expect(calls.map((c) => c.length)).toEqual([
      ...Array.from({ length: MAX_SET_ASIDE + 1 }, (_, round) => many.length - round),
      1,
      1,
      1,
    ]);
  });
});
