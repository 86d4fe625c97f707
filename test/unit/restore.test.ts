// The rollback's plan (restoreOperations): the operations that turn the state after a failed
// batch back into the state before it, for what the kernel lets change in place and what it
// does not, the kernel's own objects, and chains with templates.
import {
  restoreOperations,
  unrestorableChange,
  type DeviceSnapshot,
  type Snapshot,
} from '../../lib/netlink/atomic';
import type { ChainState, ClassState, FilterState, QdiscState } from '../../lib/netlink/types';

const link = { type: 'link', name: 'a0', index: 2, kind: 'veth', mtu: 1500, up: true } as never;
const snapshot = (device: Partial<DeviceSnapshot>): Snapshot => ({
  links: [link],
  devices: new Map([['a0', { qdiscs: [], filters: [], classes: [], chains: [], ...device }]]),
});
const stats = { bytes: 0, packets: 0 };
const qdisc = (fields: Record<string, unknown>) =>
  ({ type: 'qdisc', dev: 'a0', ifindex: 2, parent: 'root', handle: '1:', stats, ...fields }) as QdiscState;
const klass = (fields: Record<string, unknown>) =>
  ({ type: 'class', dev: 'a0', ifindex: 2, stats, ...fields }) as ClassState;
const chain = (chainIndex: number, template?: Record<string, unknown>) =>
  ({ type: 'chain', dev: 'a0', ifindex: 2, parent: 'ingress', chain: chainIndex, template }) as ChainState;
const filter = (priority: number, chainIndex: number, fields: Record<string, unknown> = {}) =>
  ({
    type: 'filter',
    dev: 'a0',
    ifindex: 2,
    parent: 'ingress',
    priority,
    protocol: 'ip',
    handle: 1,
    chain: chainIndex,
    kind: 'flower',
    ipProto: 'tcp',
    ...fields,
  }) as FilterState;
const clsact = qdisc({ parent: 'ingress', handle: 'ffff:', kind: 'clsact' });
const template = { kind: 'flower', protocol: 'ip', ipProto: 'tcp' };

describe('a classless qdisc of the same kind', () => {
  const fqCodel = (fields: Record<string, unknown>) =>
    qdisc({ kind: 'fq_codel', limit: 10240, flows: 1024, quantum: 1514, ...fields });

  test('is changed in place, without the fields the kernel cannot change', () => {
    const ops = restoreOperations(
      snapshot({ qdiscs: [fqCodel({})] }),
      snapshot({ qdiscs: [fqCodel({ limit: 500 })] }),
    );
    expect(ops).toEqual([
      {
        op: 'replace',
        qdisc: { dev: 'a0', parent: 'root', handle: '1:', kind: 'fq_codel', limit: 10240, quantum: 1514 },
      },
    ]);
  });

  test('is deleted and added back when such a field differs', () => {
    const ops = restoreOperations(
      snapshot({ qdiscs: [fqCodel({})] }),
      snapshot({ qdiscs: [fqCodel({ flows: 64 })] }),
    );
    expect(ops.map((o) => o.op)).toEqual(['delete', 'add']);
    expect(ops[1]).toMatchObject({ qdisc: { kind: 'fq_codel', flows: 1024 } });
  });

  test('is deleted and added back when the kernel cannot change the kind at all (sfq)', () => {
    const ops = restoreOperations(
      snapshot({ qdiscs: [qdisc({ kind: 'sfq', limit: 127 })] }),
      snapshot({ qdiscs: [qdisc({ kind: 'sfq', limit: 50 })] }),
    );
    expect(ops).toEqual([
      { op: 'delete', qdisc: { dev: 'a0', parent: 'root', kind: 'sfq' } },
      { op: 'add', qdisc: { dev: 'a0', parent: 'root', handle: '1:', kind: 'sfq', limit: 127 } },
    ]);
  });

  test('below a class: an sfq leaf changed by the batch is deleted and added back', () => {
    const tree = (limit: number) => ({
      qdiscs: [qdisc({ kind: 'htb' }), qdisc({ kind: 'sfq', parent: '1:10', handle: '10:', limit })],
      classes: [klass({ kind: 'htb', parent: 'root', classid: '1:10', rate: 1e6 })],
    });
    const ops = restoreOperations(snapshot(tree(127)), snapshot(tree(50)));
    expect(ops).toEqual([
      { op: 'delete', qdisc: { dev: 'a0', parent: '1:10' } },
      { op: 'add', qdisc: { dev: 'a0', parent: '1:10', handle: '10:', kind: 'sfq', limit: 127 } },
    ]);
  });
});

describe("the kernel's own objects are left to it", () => {
  test('a default root qdisc (handle 0:) is not added back: deleting ours brings it', () => {
    const ops = restoreOperations(
      snapshot({ qdiscs: [qdisc({ kind: 'pfifo_fast', handle: '0:', bands: 3 })] }),
      snapshot({ qdiscs: [qdisc({ kind: 'netem', delayUs: 1000 })] }),
    );
    expect(ops).toEqual([{ op: 'delete', qdisc: { dev: 'a0', parent: 'root', kind: 'netem' } }]);
  });

  test("HFSC's root class and a prio's bands are neither deleted nor added", () => {
    const before = snapshot({
      qdiscs: [qdisc({ kind: 'hfsc' }), qdisc({ kind: 'prio', parent: '1:10', handle: '10:', bands: 3 })],
      classes: [
        klass({ kind: 'hfsc', parent: 'root', classid: '1:' }),
        klass({ kind: 'hfsc', parent: '1:', classid: '1:10', ls: { m2: 1e6 } }),
        klass({ kind: 'prio', parent: '10:', classid: '10:1' }),
      ],
    });
    const after = snapshot({
      qdiscs: [qdisc({ kind: 'hfsc' })],
      classes: [klass({ kind: 'hfsc', parent: 'root', classid: '1:' })],
    });
    expect(restoreOperations(before, after)).toEqual([
      { op: 'add', class: { dev: 'a0', parent: '1:', classid: '1:10', kind: 'hfsc', ls: { m2: 1e6 } } },
      { op: 'add', qdisc: { dev: 'a0', parent: '1:10', handle: '10:', kind: 'prio', bands: 3 } },
    ]);
  });
});

describe('chains', () => {
  test('a templated chain the batch deleted comes back before the filters that join it', () => {
    const ops = restoreOperations(
      snapshot({
        qdiscs: [clsact],
        chains: [chain(0), chain(5, template)],
        filters: [filter(1, 0, { actions: [{ kind: 'gact', control: 'goto chain 5' }] }), filter(2, 5)],
      }),
      snapshot({ qdiscs: [clsact], chains: [], filters: [] }),
    );
    expect(ops).toEqual([
      { op: 'add', chain: { dev: 'a0', parent: 'ingress', chain: 5, template } },
      { op: 'add', filter: expect.objectContaining({ priority: 1 }) },
      { op: 'add', filter: expect.objectContaining({ priority: 2, chain: 5 }) },
    ]);
  });

  test('a chain the batch made goes first; one with another template is made again', () => {
    const udp = { ...template, ipProto: 'udp' };
    const ops = restoreOperations(
      snapshot({ qdiscs: [clsact], chains: [chain(5, template)], filters: [filter(1, 5)] }),
      snapshot({
        qdiscs: [clsact],
        chains: [chain(5, udp), chain(6, template)],
        // Unchanged by itself, but it goes with its chain: it must come back.
        filters: [filter(1, 5)],
      }),
    );
    expect(ops).toEqual([
      { op: 'delete', chain: { dev: 'a0', parent: 'ingress', chain: 5 } },
      { op: 'delete', chain: { dev: 'a0', parent: 'ingress', chain: 6 } },
      { op: 'add', chain: { dev: 'a0', parent: 'ingress', chain: 5, template } },
      { op: 'add', filter: expect.objectContaining({ priority: 1, chain: 5 }) },
    ]);
  });

  test('a chain without a template comes back with its filters alone', () => {
    const ops = restoreOperations(
      snapshot({ qdiscs: [clsact], chains: [chain(0), chain(3)], filters: [filter(1, 3)] }),
      snapshot({ qdiscs: [clsact], chains: [], filters: [] }),
    );
    expect(ops).toEqual([
      { op: 'add', chain: { dev: 'a0', parent: 'ingress', chain: 0 } },
      { op: 'add', filter: expect.objectContaining({ priority: 1, chain: 3 }) },
    ]);
  });

  test('a snapshot read without chains (the QoS layer) changes no chain', () => {
    const before = snapshot({ qdiscs: [clsact], filters: [filter(1, 0)] });
    before.devices.get('a0')!.chains = undefined;
    const ops = restoreOperations(before, snapshot({ qdiscs: [clsact], chains: [chain(7, template)] }));
    expect(ops).toEqual([{ op: 'add', filter: expect.objectContaining({ priority: 1 }) }]);
  });
});

describe('what an atomic batch refuses to send (unrestorableChange)', () => {
  const tree = snapshot({
    qdiscs: [qdisc({ kind: 'hfsc' }), qdisc({ kind: 'red', parent: '1:10', handle: '10:' })],
    classes: [
      klass({ kind: 'hfsc', parent: 'root', classid: '1:' }),
      klass({ kind: 'hfsc', parent: '1:', classid: '1:10', ls: { m2: 1e6 } }),
      klass({ kind: 'hfsc', parent: '1:', classid: '1:20', ls: { m2: 1e6 } }),
    ],
  });
  const refused = (ops: unknown[], s: Snapshot = tree) => unrestorableChange(ops as never, s);

  test('classes and the qdiscs below them, when the snapshot holds them', () => {
    expect(
      refused([{ op: 'change', class: { dev: 'a0', classid: '1:10', kind: 'hfsc', ls: { m2: 2e6 } } }]),
    ).toBe(undefined);
    expect(refused([{ op: 'add', qdisc: { dev: 'a0', parent: '1:20', kind: 'sfq' } }])).toBe(undefined);
    expect(refused([{ op: 'delete', class: { dev: 'a0', classid: '1:20' } }])).toBe(undefined);
  });

  test("a class its qdisc made, another tool's qdisc below a class, or below a replaced root", () => {
    expect(refused([{ op: 'delete', class: { dev: 'a0', classid: '1:' } }])).toMatch(
      /^ops\[0\]: delete would change the hfsc class 1: on a0, which its qdisc made/,
    );
    expect(refused([{ op: 'delete', qdisc: { dev: 'a0', parent: '1:10' } }])).toMatch(
      /^ops\[0\]: delete would remove the 1:10 qdisc red 10: on a0, which a rollback cannot put back/,
    );
    expect(refused([{ op: 'delete', qdisc: { dev: 'a0', parent: 0x10010 } }])).toMatch(/qdisc red 10:/);
    expect(refused([{ op: 'replace', qdisc: { dev: 'a0', parent: 'root', kind: 'tbf' } }])).toMatch(
      /^ops\[0\]: replace would remove the qdisc red 10: at 1:10 on a0/,
    );
  });

  test('classes and chains with a snapshot read without them (as the QoS layer reads)', () => {
    const partial: Snapshot = { links: [link], devices: new Map([['a0', { qdiscs: [], filters: [] }]]) };
    expect(
      refused([{ op: 'add', class: { dev: 'a0', classid: '1:1', kind: 'htb', rate: 1e6 } }], partial),
    ).toMatch(/^ops\[0\]: the snapshot given holds no classes/);
    expect(refused([{ op: 'add', chain: { dev: 'a0', parent: 'ingress', chain: 1 } }], partial)).toMatch(
      /^ops\[0\]: the snapshot given holds no chains/,
    );
    expect(refused([{ op: 'add', qdisc: { dev: 'a0', parent: '1:10', kind: 'sfq' } }], partial)).toMatch(
      /restores only root and hook qdiscs, not one at parent 1:10/,
    );
  });
});
