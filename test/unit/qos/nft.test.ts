// The nftables half of the QoS policy, pure: which dataplane enforces what, the objects a spec
// needs, and the difference against a table's state (built here from the operations the same
// planner made, as the kernel would list them). test/kernel/qos-nftables.test.ts runs it for real.
import { nftNative } from '../../../lib/nftables/handle';
import type {
  NftChainState,
  NftOperation,
  NftRuleState,
  NftSetState,
  NftTableState,
} from '../../../lib/nftables';
import { parseAnnotations, QosConflictError, QosDataplaneError } from '../../../lib/qos';
import { checkPlacement, placement, type KernelCapabilities } from '../../../lib/qos/dataplane';
import {
  NFT_TABLE_COMMENT,
  desiredNft,
  parsePodChainName,
  podChainName,
  tcPart,
} from '../../../lib/qos/nft-policy';
import { reconcileNft } from '../../../lib/qos/nft-reconcile';
import {
  elementIndex,
  noNftables,
  podChains,
  stateAfter as committed,
  type NftState,
} from '../../../lib/qos/nft-state';

const Q = 'qos.projectcalico.org/';
const spec = (a: Record<string, string>) => parseAnnotations(a).spec;
const caps = (present: boolean, nftables = true): KernelCapabilities => ({
  tcActions: Object.fromEntries(
    ['police', 'pedit', 'csum', 'skbedit'].map((k) => [k, present ? 'present' : 'absent']),
  ),
  nftables,
});
const ALL = {
  [`${Q}egressPacketRate`]: '100',
  [`${Q}ingressPacketRate`]: '200',
  [`${Q}dscp`]: 'EF',
  [`${Q}ingressMaxConnections`]: '3',
  [`${Q}egressBandwidth`]: '10M',
};

describe('where each control goes', () => {
  test('auto: tc where the kernel has (or can load) the actions, nftables where not', () => {
    expect(placement('auto', caps(true))).toEqual({
      packetRate: 'tc',
      dscp: 'tc',
      maxConnections: 'nftables',
    });
    expect(placement('auto', caps(false))).toEqual({
      packetRate: 'nftables',
      dscp: 'nftables',
      maxConnections: 'nftables',
    });
    // act_police loadable, act_csum unknown (no modules.dep to tell): DSCP falls back.
    const mixed: KernelCapabilities = {
      tcActions: { police: 'loadable', pedit: 'present', csum: 'unknown', skbedit: 'present' },
    };
    expect(placement('auto', mixed)).toMatchObject({ packetRate: 'tc', dscp: 'nftables' });
    expect(placement('tc', caps(false))).toMatchObject({ packetRate: 'tc', dscp: 'tc' });
    expect(placement('nftables', caps(true))).toMatchObject({ packetRate: 'nftables', dscp: 'nftables' });
  });

  test('a kernel with neither: one error naming both, per control', () => {
    const s = spec({ [`${Q}egressPacketRate`]: '100' });
    const where = placement('auto', caps(false, false));
    let err: unknown;
    try {
      checkPlacement('cali0', s, 'auto', where, caps(false, false));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QosDataplaneError);
    expect(err).toMatchObject({
      code: 'ERR_NETQOS_DATAPLANE',
      ifname: 'cali0',
      control: `${Q}egressPacketRate`,
      missing: ['act_police', 'nf_tables'],
    });
    expect((err as Error).message).toBe(
      `cali0: ${Q}egressPacketRate: this kernel has neither the tc action act_police (it lacks act_police) nor nf_tables, one of which this control needs; nothing was applied`,
    );
    expect(() =>
      checkPlacement('cali0', spec({ [`${Q}ingressMaxConnections`]: '3' }), 'tc', where, caps(true, false)),
    ).toThrow(/ingressMaxConnections: connection limits need nf_tables/);
    expect(() =>
      checkPlacement(
        'cali0',
        spec({ [`${Q}dscp`]: 'EF' }),
        'nftables',
        placement('nftables', undefined),
        caps(true, false),
      ),
    ).toThrow(/dataplane 'nftables' needs nf_tables/);
    // tc chosen: the kernel itself answers for its actions (and the batch is rolled back).
    expect(() =>
      checkPlacement('cali0', s, 'tc', placement('tc', undefined), caps(false, false)),
    ).not.toThrow();
  });

  test("tc's part: the controls on nftables taken out, bandwidth kept", () => {
    expect(tcPart(spec(ALL), placement('auto', caps(false)))).toEqual({
      ingress: {},
      egress: { bandwidth: 10_000_000 },
    });
    expect(tcPart(spec(ALL), placement('auto', caps(true)))).toEqual({
      ingress: { packetRate: 200, packetBurst: 5 },
      egress: { bandwidth: 10_000_000, packetRate: 100, packetBurst: 5, dscp: 46 },
    });
  });
});

describe('objects', () => {
  test('chain names carry the interface and its index, and parse back', () => {
    expect(podChainName('from', 'cali-a-1', 42)).toBe('from-cali-a-1-42');
    expect(parsePodChainName('from-cali-a-1-42')).toEqual({ kind: 'from', ifname: 'cali-a-1', ifindex: 42 });
    expect(parsePodChainName('to-x-7')).toEqual({ kind: 'to', ifname: 'x', ifindex: 7 });
    for (const other of [
      'prerouting',
      'from-7',
      'from-cali1',
      'conn-cali1-7',
      'from-cali1-07',
      'to-0123456789abcdef-3',
    ])
      expect(parsePodChainName(other)).toBeUndefined();
  });

  test('per direction one chain, rules in order, one map element each', () => {
    const want = desiredNft('cali1', 7, spec(ALL), placement('auto', caps(false)));
    expect(want.chains.map((c) => [c.name, c.rules.map((r) => r.role)])).toEqual([
      ['from-cali1-7', ['rate ip', 'rate ip6', 'dscp ip', 'dscp ip6']],
      ['to-cali1-7', ['rate ip', 'rate ip6', 'connections ip', 'connections ip6']],
    ]);
    expect(want.elements).toEqual([
      { map: 'from-pod', key: 7, chain: 'from-cali1-7' },
      { map: 'to-pod', key: 7, chain: 'to-cali1-7' },
    ]);
    // With the tc actions there, only the connection limit is nftables'.
    const tc = desiredNft('cali1', 7, spec(ALL), placement('auto', caps(true)));
    expect(tc.chains.map((c) => c.name)).toEqual(['to-cali1-7']);
    expect(
      desiredNft('cali1', 7, spec({ [`${Q}egressBandwidth`]: '1M' }), placement('auto', caps(false))),
    ).toEqual({ ifname: 'cali1', ifindex: 7, chains: [], elements: [] });
  });
});

/** The table as the kernel would list it after `ops` (adds only), with handles. */
function stateAfter(ops: NftOperation[], state: NftState = { ...noNftables(), available: true }): NftState {
  let handle = 100;
  const s: NftState = {
    ...state,
    chains: new Map(state.chains),
    rules: new Map([...state.rules].map(([k, v]) => [k, [...v]])),
    sets: new Map(state.sets),
    elements: new Map([...state.elements].map(([k, v]) => [k, [...v]])),
  };
  for (const op of ops) {
    if ('table' in op && op.op === 'add')
      s.table = {
        type: 'table',
        family: 'inet',
        name: op.table.name!,
        handle: 1,
        flags: [],
        comment: op.table.comment,
      } as NftTableState;
    else if ('set' in op && op.op === 'add')
      s.sets.set(op.set.name, { ...op.set, type: 'set' } as unknown as NftSetState);
    else if ('chain' in op && op.op === 'add')
      s.chains.set(op.chain.name!, { ...op.chain, type: 'chain', handle: handle++ } as NftChainState);
    else if ('rule' in op && op.op === 'add') {
      const list = s.rules.get(op.rule.chain) ?? [];
      list.push({ ...op.rule, type: 'rule', handle: handle++ } as NftRuleState);
      s.rules.set(op.rule.chain, list);
    } else if ('elements' in op && op.op === 'add') {
      const list = s.elements.get(op.elements.set) ?? [];
      list.push(...(op.elements.items as never[]));
      s.elements.set(op.elements.set, list);
    } else throw new Error(`not simulated: ${JSON.stringify(op)}`);
  }
  return s;
}

describe('the difference', () => {
  const nft = placement('auto', caps(false));
  const want = (a: Record<string, string>, ifindex = 7) => desiredNft('cali1', ifindex, spec(a), nft);

  test('from nothing: table, maps, base chains, then the pod; every operation encodes', () => {
    const plan = reconcileNft({ ...noNftables(), available: true }, [{ ifname: 'cali1', want: want(ALL) }]);
    const shape = plan.operations.map((o) => `${o.op} ${Object.keys(o)[1]}`);
    expect(shape.slice(0, 9)).toEqual([
      'add table',
      'add set',
      'add set',
      'add chain',
      'add rule',
      'add chain',
      'add rule',
      'add chain',
      'add rule',
    ]);
    expect(plan.operations).toContainEqual({
      op: 'add',
      chain: {
        family: 'inet',
        table: 'netqos',
        name: 'prerouting',
        hook: 'prerouting',
        priority: -140,
        policy: 'accept',
      },
    });
    expect(plan.perTarget[0]).toHaveLength(plan.operations.length);
    expect(() => nftNative().nftEncode(plan.operations)).not.toThrow();
  });

  test('the same again: nothing; one value changed: its rules replaced by handle, nothing else', () => {
    const first = reconcileNft({ ...noNftables(), available: true }, [{ ifname: 'cali1', want: want(ALL) }]);
    const state = stateAfter(first.operations);
    expect(reconcileNft(state, [{ ifname: 'cali1', want: want(ALL) }]).operations).toEqual([]);
    const change = reconcileNft(state, [
      { ifname: 'cali1', want: want({ ...ALL, [`${Q}ingressMaxConnections`]: '4' }) },
    ]);
    const handles = state.rules.get('to-cali1-7')!.map((r) => r.handle);
    expect(
      change.operations.map((o) => [o.op, 'rule' in o ? (o.rule as { handle?: number }).handle : undefined]),
    ).toEqual([
      ['replace', handles[2]],
      ['replace', handles[3]],
    ]);
  });

  test('a control added goes before the rules after it; clear removes the pod, then the table', () => {
    const state = stateAfter(
      reconcileNft({ ...noNftables(), available: true }, [
        { ifname: 'cali1', want: want({ [`${Q}dscp`]: 'EF' }) },
      ]).operations,
    );
    const more = reconcileNft(state, [
      { ifname: 'cali1', want: want({ [`${Q}dscp`]: 'EF', [`${Q}egressPacketRate`]: '5' }) },
    ]);
    const dscpIp = state.rules.get('from-cali1-7')![0].handle;
    expect(
      more.operations.map((o) => [o.op, 'rule' in o ? (o.rule as { position?: number }).position : 0]),
    ).toEqual([
      ['insert', dscpIp],
      ['insert', dscpIp],
    ]);
    const clear = reconcileNft(state, [{ ifname: 'cali1' }]);
    expect(clear.operations).toEqual([{ op: 'delete', table: { family: 'inet', name: 'netqos' } }]);
    expect(clear.perTarget).toEqual([clear.operations]);
  });

  test('another interface of the same name: the old chain and element go, the new ones come', () => {
    const state = stateAfter(
      reconcileNft({ ...noNftables(), available: true }, [{ ifname: 'cali1', want: want(ALL, 7) }])
        .operations,
    );
    const plan = reconcileNft(state, [{ ifname: 'cali1', want: want(ALL, 9) }]);
    const text = plan.operations.map(
      (o) =>
        `${o.op} ${'chain' in o ? o.chain.name : 'rule' in o ? o.rule.chain : 'elements' in o ? `${o.elements.set} ${o.elements.items.map((i) => i.key).join()}` : ''}`,
    );
    expect(text).toEqual(
      expect.arrayContaining([
        'add from-cali1-9',
        'add from-pod 9',
        'add to-pod 9',
        'delete from-pod 7',
        'delete from-cali1-7',
        'delete to-pod 7',
        'delete to-cali1-7',
      ]),
    );
    // Deletions after additions, elements before their chains.
    expect(text.indexOf('delete from-pod 7')).toBeLessThan(text.indexOf('delete from-cali1-7'));
    expect(text.indexOf('add from-pod 9')).toBeLessThan(text.indexOf('delete from-pod 7'));
    // Orphans only: the live interface's chains stay.
    const orphans = reconcileNft(
      stateAfter(
        plan.operations.filter((o) => o.op === 'add'),
        state,
      ),
      [{ ifname: 'cali1', orphansOf: 9 }],
    );
    expect(
      orphans.operations.map((o) => `${o.op} ${'chain' in o ? o.chain.name : Object.keys(o)[1]}`),
    ).toEqual(['delete elements', 'delete from-cali1-7', 'delete elements', 'delete to-cali1-7']);
  });

  test("a table of that name that is not netqos's: refused; one holding another tool's chain stays", () => {
    const mine = stateAfter(
      reconcileNft({ ...noNftables(), available: true }, [{ ifname: 'cali1', want: want(ALL) }]).operations,
    );
    const theirs: NftState = { ...mine, table: { ...mine.table!, comment: 'kube-proxy' } };
    expect(() => reconcileNft(theirs, [{ ifname: 'cali1', want: want(ALL) }])).toThrow(QosConflictError);
    expect(reconcileNft(theirs, [{ ifname: 'cali1' }]).operations).toEqual([]);
    const shared = stateAfter(
      [{ op: 'add', chain: { family: 'inet', table: 'netqos', name: 'someone' } }],
      mine,
    );
    const clear = reconcileNft(shared, [{ ifname: 'cali1' }]);
    expect(clear.operations.some((o) => 'table' in o)).toBe(false);
    expect(
      clear.operations.filter((o) => 'chain' in o).map((o) => ('chain' in o ? o.chain.name : '')),
    ).toEqual(['from-cali1-7', 'to-cali1-7']);
    expect(mine.table!.comment).toBe(NFT_TABLE_COMMENT);
  });
});

describe('the state after a batch', () => {
  const nft = placement('auto', caps(false));
  const want = (ifname: string, index: number, a: Record<string, string>) =>
    desiredNft(ifname, index, spec(a), nft);
  /** The same state as a read would give it: nothing worked out from it yet. */
  const read = (s: NftState): NftState => ({
    ...s,
    chains: new Map(s.chains),
    rules: new Map(s.rules),
    sets: new Map(s.sets),
    elements: new Map(s.elements),
  });
  const views = (s: NftState) => ({
    pods: [...podChains(s)].sort(([a], [b]) => a.localeCompare(b)),
    elements: elementIndex(s),
  });

  test("carries what was worked out from the state before: plans and views are a fresh read's", () => {
    const pods = ['cali0', 'cali1', 'cali2'];
    let state = stateAfter(
      reconcileNft(
        { ...noNftables(), available: true },
        pods.map((p, i) => ({ ifname: p, want: want(p, 10 + i, ALL) })),
      ).operations,
    );
    let handle = 1000;
    const steps: { ifname: string; want?: ReturnType<typeof want> }[][] = [
      [{ ifname: 'cali1', want: want('cali1', 11, { ...ALL, [`${Q}egressPacketRate`]: '7' }) }],
      [{ ifname: 'cali3', want: want('cali3', 13, ALL) }],
      [{ ifname: 'cali0' }],
      [{ ifname: 'cali2', want: want('cali2', 12, { [`${Q}ingressMaxConnections`]: '3' }) }],
      [{ ifname: 'cali2', want: want('cali2', 12, { ...ALL, [`${Q}dscp`]: 'AF11' }) }],
      [{ ifname: 'cali1', want: want('cali1', 21, ALL) }],
    ];
    for (const [n, targets] of steps.entries()) {
      views(state); // worked out, as a plan does
      const plan = reconcileNft(state, targets);
      expect(plan.operations.length).toBeGreaterThan(0);
      const created = plan.operations.flatMap((o, index) =>
        o.op === 'add' || o.op === 'insert' ? [{ index, object: { handle: handle++ } as never }] : [],
      );
      const after = committed(state, plan.operations, created, state.generation + 1);
      expect(after).toBeDefined();
      const fresh = read(after!);
      expect({ step: n, ...views(after!) }).toEqual({ step: n, ...views(fresh) });
      const everyone = ['cali0', 'cali1', 'cali2', 'cali3'].map((p, i) => ({
        ifname: p,
        want: want(p, 10 + i, { ...ALL, [`${Q}egressPacketRate`]: '9' }),
      }));
      expect(reconcileNft(after!, everyone)).toEqual(reconcileNft(fresh, everyone));
      state = after!;
    }
  });
});
