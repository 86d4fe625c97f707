// An atomic batch that fails halfway leaves the kernel as it found it, including objects that
// other tools made; a plain batch keeps what succeeded.
import { NetlinkError, openNetlink, type NetlinkHandle, type Operation } from '../../lib';
import { sh, tempNetns, type Netns } from '../helpers/netns';

let ns: Netns;
let nl: NetlinkHandle;

function tc(...args: string[]) {
  sh('tc', ['-n', ns.name, ...args]);
}

/** What an outsider sees: tc's and ip's view of v0 and the IFB. */
function kernelView() {
  return {
    qdiscs: ns
      .tcJson('qdisc', 'show', 'dev', 'v0')
      .map((q: any) => ({ kind: q.kind, handle: q.handle, options: q.options })),
    filters: ns
      .tcJson('filter', 'show', 'dev', 'v0', 'ingress')
      .filter((f: any) => f.options && !('ht_divisor' in f.options))
      .map((f: any) => ({ pref: f.pref, protocol: f.protocol, options: f.options })),
    ifbs: JSON.parse(ns.ip('-j', 'link', 'show', 'type', 'ifb')).map((l: any) => l.ifname),
  };
}

const failingBatch: Operation[] = [
  {
    op: 'replace',
    qdisc: {
      dev: 'v0',
      parent: 'root',
      handle: '1:',
      kind: 'tbf',
      rate: 10_000_000,
      burst: 32768,
      latencyUs: 25_000,
    },
  },
  { op: 'add', link: { kind: 'ifb', name: 'nqifb-at', mtu: 1500, up: true } },
  {
    op: 'add',
    filter: {
      dev: 'v0',
      parent: 'ingress',
      kind: 'u32',
      priority: 1,
      actions: [{ kind: 'mirred', dev: 'nqifb-at' }],
    },
  },
  {
    op: 'add',
    qdisc: {
      dev: 'nqifb-at',
      parent: 'root',
      handle: '1:',
      kind: 'tbf',
      rate: 10_000_000,
      burst: 32768,
      latencyUs: 25_000,
    },
  },
  { op: 'delete', filter: { dev: 'v0', parent: 'ingress', priority: 7, protocol: 'ip' } },
  {
    op: 'add',
    qdisc: { dev: 'v9', parent: 'root', kind: 'tbf', rate: 1_000_000, burst: 10_000, latencyUs: 25_000 },
  },
];

beforeEach(() => {
  ns = tempNetns().veth('v0', 'v1');
  nl = openNetlink({ netns: ns.name });
  // State another tool made before us.
  tc(
    'qdisc',
    'add',
    'dev',
    'v0',
    'root',
    'handle',
    '1:',
    'tbf',
    'rate',
    '5mbit',
    'burst',
    '16kb',
    'latency',
    '50ms',
  );
  tc('qdisc', 'add', 'dev', 'v0', 'ingress');
  tc(
    'filter',
    'add',
    'dev',
    'v0',
    'ingress',
    'protocol',
    'ip',
    'prio',
    '7',
    'u32',
    'match',
    'ip',
    'dst',
    '198.18.0.0/15',
    'flowid',
    '1:7',
  );
});
afterEach(() => {
  nl.close();
  ns.remove();
});

test('atomic: a failure at the last operation undoes the five before it', async () => {
  const before = kernelView();
  const err = (await nl.apply(failingBatch, { atomic: true }).catch((e) => e)) as NetlinkError;
  expect(err).toBeInstanceOf(NetlinkError);
  expect(err).toMatchObject({ code: 'ENODEV', index: 5, rolledBack: true });
  expect(err.message).toContain('rolled back');
  expect(kernelView()).toEqual(before);
  expect(before.filters).toHaveLength(1);
  expect(before.qdiscs.find((q: any) => q.kind === 'tbf').options.rate).toBe(625_000);
});

test('atomic, synchronous: the same', () => {
  const before = kernelView();
  expect(() => nl.applySync(failingBatch, { atomic: true })).toThrow(/rolled back/);
  expect(kernelView()).toEqual(before);
});

test('not atomic: what succeeded stays, and the error lists the failure', async () => {
  const before = kernelView();
  const err = (await nl.apply(failingBatch).catch((e) => e)) as NetlinkError;
  expect(err).toMatchObject({ code: 'ENODEV', index: 5 });
  expect(err.rolledBack).toBeUndefined();
  const after = kernelView();
  expect(after).not.toEqual(before);
  expect(after.ifbs).toContain('nqifb-at');
  expect(after.filters.map((f: any) => f.pref)).toEqual([1]);
});

test('throwOnFailure: false resolves with each failure and its index', async () => {
  const result = await nl.apply(failingBatch, { throwOnFailure: false });
  expect(result.count).toBe(failingBatch.length);
  expect(result.failures).toEqual([
    expect.objectContaining({ index: 5, code: 'ENODEV', message: 'interface "v9" does not exist' }),
  ]);
  const atomic = await nl.apply(
    [
      { op: 'add', qdisc: { dev: 'v1', kind: 'clsact' } },
      { op: 'add', qdisc: { dev: 'v9', kind: 'clsact' } },
    ],
    { atomic: true, throwOnFailure: false },
  );
  expect(ns.tcJson('qdisc', 'show', 'dev', 'v1').map((q: any) => q.kind)).not.toContain('clsact');
  expect(atomic).toMatchObject({ rolledBack: true, failures: [{ index: 1 }] });
});
