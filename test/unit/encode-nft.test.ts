// netqos's nf_tables batches against the ones Debian's nft 1.0.6 sends for the same commands,
// captured by scripts/gen-nft-fixtures.sh: BATCH_BEGIN, every message and BATCH_END must decode
// to the same attribute tree (nlmsg type and flags, nfgenmsg, every attribute and nest flag;
// sequence numbers and port ids aside).
//
// Where nft legitimately differs, and what is compared instead:
// - Attribute order: nft writes some attributes in another order (a chain's policy before its
//   hook, a set's id before its policy); the kernel reads attributes into a table by type, so
//   attributes are matched by type and occurrence, not position.
// - Set transaction ids: nft tags every element list and lookup with a set id (NFTA_SET_ELEM_LIST
//   _SET_ID, NFTA_LOOKUP_SET_ID) even for a set an earlier nft process made, where the id means
//   nothing (the kernel finds the set by name first). netqos sends the id only for a set made in
//   the same batch (batch_map_and_rule compares that case with the ids in). For a set made
//   earlier, the ids are taken out of nft's message before comparing.
import { nftRules, type NftOperation } from '../../lib';
import { nftNative } from '../../lib/nftables/handle';
import { decodeNft, loadNftFixtures, nftMsgName } from '../helpers/nfttree';
import { diffTrees, renderTree, type NlAttr, type Tree } from '../helpers/nltree';

const {
  packetRateLimit,
  dscpSet,
  prioritySet,
  connectionLimit,
  ctState,
  dispatchByInterface,
  matchInterface,
} = nftRules;

const NETDEV = { family: 'netdev', table: 't', chain: 'in' } as const;
const PODS = { family: 'inet', table: 't', chain: 'pods' } as const;
const rule = (
  where: typeof NETDEV | typeof PODS,
  expressions: NftOperation extends never ? never : any,
  extra = {},
) => ({ op: 'add', rule: { ...where, expressions, ...extra } }) as NftOperation;
const drop = { kind: 'immediate', verdict: 'drop' } as const;
const accept = { kind: 'immediate', verdict: 'accept' } as const;

const cases: Record<string, NftOperation[]> = {
  table_add: [{ op: 'add', table: { family: 'netdev', name: 'netqos' } }],
  table_create: [{ op: 'create', table: { family: 'inet', name: 'netqos' } }],
  table_comment: [{ op: 'add', table: { family: 'inet', name: 'netqos', comment: 'netqos' } }],
  table_delete: [{ op: 'delete', table: { family: 'inet', name: 'netqos' } }],
  table_flush: [{ op: 'flush', table: { family: 'inet', name: 't' } }],
  chain_netdev_ingress: [
    {
      op: 'add',
      chain: { family: 'netdev', table: 't', name: 'pod_in', hook: 'ingress', device: 'v0', priority: -250 },
    },
  ],
  chain_netdev_egress: [
    {
      op: 'add',
      chain: { family: 'netdev', table: 't', name: 'pod_out', hook: 'egress', device: 'v0', priority: -250 },
    },
  ],
  chain_inet_forward: [
    {
      op: 'add',
      chain: { family: 'inet', table: 't', name: 'pods', hook: 'forward', priority: 5, policy: 'accept' },
    },
  ],
  chain_policy_drop: [
    {
      op: 'add',
      chain: { family: 'inet', table: 't', name: 'pods', hook: 'input', priority: 0, policy: 'drop' },
    },
  ],
  chain_regular: [{ op: 'add', chain: { family: 'inet', table: 't', name: 'pod1' } }],
  chain_create: [{ op: 'create', chain: { family: 'inet', table: 't', name: 'pod1' } }],
  chain_comment: [{ op: 'add', chain: { family: 'inet', table: 't', name: 'pod1', comment: 'pod one' } }],
  chain_delete: [{ op: 'delete', chain: { family: 'inet', table: 't', name: 'pod1' } }],
  chain_delete_handle: [{ op: 'delete', chain: { family: 'inet', table: 't', handle: 2 } }],
  chain_flush: [{ op: 'flush', chain: { family: 'inet', table: 't', name: 'pods' } }],
  rule_limit_over: [rule(NETDEV, packetRateLimit({ rate: 100, burst: 5, chainFamily: 'netdev' }))],
  rule_limit_ip: [
    rule(NETDEV, packetRateLimit({ rate: 100, burst: 5, family: 'ip', chainFamily: 'netdev' })),
  ],
  rule_limit_ip6: [
    rule(NETDEV, packetRateLimit({ rate: 250, burst: 20, family: 'ip6', chainFamily: 'netdev' })),
  ],
  rule_limit_under: [rule(NETDEV, [{ kind: 'limit', rate: 10, unit: 'minute', burst: 3 }, accept])],
  rule_limit_bytes: [
    rule(NETDEV, [
      { kind: 'limit', rate: 2 * 1024 * 1024, burst: 1024 * 1024, type: 'bytes', over: true },
      drop,
    ]),
  ],
  rule_dscp_ip: [rule(NETDEV, dscpSet({ family: 'ip', dscp: 46, chainFamily: 'netdev' }))],
  rule_dscp_ip6: [rule(NETDEV, dscpSet({ family: 'ip6', dscp: 46, chainFamily: 'netdev' }))],
  rule_dscp_ip_inet: [rule(PODS, dscpSet({ family: 'ip', dscp: 34, chainFamily: 'inet' }))],
  rule_meta_priority: [rule(NETDEV, prioritySet('1:10'))],
  rule_meta_mark: [
    rule(PODS, [
      { kind: 'immediate', dreg: 1, data: { u32: 0x10 } },
      { kind: 'meta', key: 'mark', sreg: 1 },
    ]),
  ],
  rule_ct_count: [rule(PODS, connectionLimit({ count: 3, oifname: 'v0' }))],
  rule_ct_state: [rule(PODS, ctState(['established', 'related'], { verdict: 'accept' }))],
  rule_ct_invalid: [rule(PODS, ctState(['invalid'], { verdict: 'drop' }))],
  rule_reject_icmpx: [rule(PODS, [{ kind: 'reject', type: 'icmpx', code: 3 }])],
  rule_counter_accept: [rule(PODS, [...matchInterface('iifname', 'v0'), { kind: 'counter' }, accept])],
  rule_goto: [
    rule(PODS, [...matchInterface('iifname', 'v0'), { kind: 'immediate', verdict: 'goto', chain: 'pod1' }]),
  ],
  rule_jump: [
    rule(PODS, [...matchInterface('oifname', 'v0'), { kind: 'immediate', verdict: 'jump', chain: 'pod1' }]),
  ],
  rule_comment: [rule(PODS, [{ kind: 'counter' }], { comment: 'netqos pod1' })],
  rule_insert: [{ op: 'insert', rule: { ...PODS, expressions: [{ kind: 'counter' }] } }],
  rule_insert_position: [{ op: 'insert', rule: { ...PODS, position: 3, expressions: [drop] } }],
  rule_add_position: [{ op: 'add', rule: { ...PODS, position: 3, expressions: [drop] } }],
  rule_replace: [{ op: 'replace', rule: { ...PODS, handle: 3, expressions: [{ kind: 'counter' }, drop] } }],
  rule_delete: [{ op: 'delete', rule: { ...PODS, handle: 3 } }],
  set_vmap_ifname: [
    { op: 'add', set: nftRules.interfaceVerdictMap({ family: 'inet', table: 't', name: 'pods_in' }) },
  ],
  set_ipv4: [{ op: 'add', set: { family: 'inet', table: 't', name: 'addrs', keyType: 'ipv4_addr' } }],
  set_ipv6: [{ op: 'add', set: { family: 'inet', table: 't', name: 'addrs6', keyType: 'ipv6_addr' } }],
  set_inet_service: [
    { op: 'add', set: { family: 'inet', table: 't', name: 'ports', keyType: 'inet_service' } },
  ],
  set_map_mark: [
    { op: 'add', set: { family: 'inet', table: 't', name: 'marks', keyType: 'ifname', dataType: 'mark' } },
  ],
  set_options: [
    {
      op: 'add',
      set: {
        family: 'inet',
        table: 't',
        name: 's',
        keyType: 'ipv4_addr',
        size: 1024,
        policy: 'memory',
        comment: 'pods',
      },
    },
  ],
  set_timeout: [
    { op: 'add', set: { family: 'inet', table: 't', name: 's', keyType: 'ipv4_addr', timeoutMs: 30_000 } },
  ],
  set_delete: [{ op: 'delete', set: { family: 'inet', table: 't', name: 'addrs' } }],
  set_flush: [{ op: 'flush', set: { family: 'inet', table: 't', name: 'addrs' } }],
  elements_vmap_goto: [
    {
      op: 'add',
      elements: {
        family: 'inet',
        table: 't',
        set: 'pods_in',
        keyType: 'ifname',
        dataType: 'verdict',
        items: nftRules.interfaceTargets({ v0: 'pod1' }),
      },
    },
  ],
  elements_vmap_jump: [
    {
      op: 'add',
      elements: {
        family: 'inet',
        table: 't',
        set: 'pods_in',
        keyType: 'ifname',
        dataType: 'verdict',
        items: nftRules.interfaceTargets({ v1: 'pod1' }, 'jump'),
      },
    },
  ],
  elements_vmap_delete: [
    {
      op: 'delete',
      elements: { family: 'inet', table: 't', set: 'pods_in', keyType: 'ifname', items: [{ key: 'v0' }] },
    },
  ],
  elements_ipv4: [
    {
      op: 'add',
      elements: {
        family: 'inet',
        table: 't',
        set: 'addrs',
        keyType: 'ipv4_addr',
        items: [{ key: '198.18.0.1' }, { key: '198.18.0.2' }],
      },
    },
  ],
  elements_mark_map: [
    {
      op: 'add',
      elements: {
        family: 'inet',
        table: 't',
        set: 'marks',
        keyType: 'ifname',
        dataType: 'mark',
        items: [{ key: 'v0', data: 0x10 }],
      },
    },
  ],
  rule_vmap_iifname: [rule(PODS, dispatchByInterface('iifname', 'pods_in'))],
  rule_vmap_oifname: [rule(PODS, dispatchByInterface('oifname', 'pods_in'))],
  rule_lookup_saddr: [
    rule(PODS, [
      ...nftRules.matchIpFamily('ip', 'inet'),
      { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { kind: 'lookup', set: 'addrs', sreg: 1 },
      drop,
    ]),
  ],
  rule_lookup_invert: [
    rule(PODS, [
      ...nftRules.matchIpFamily('ip', 'inet'),
      { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
      { kind: 'lookup', set: 'addrs', sreg: 1, invert: true },
      drop,
    ]),
  ],
  batch_map_and_rule: [
    { op: 'add', set: nftRules.interfaceVerdictMap({ family: 'inet', table: 't', name: 'm' }) },
    {
      op: 'add',
      elements: {
        family: 'inet',
        table: 't',
        set: 'm',
        keyType: 'ifname',
        dataType: 'verdict',
        items: nftRules.interfaceTargets({ v0: 'pod1' }),
      },
    },
    rule(PODS, dispatchByInterface('iifname', 'm')),
  ],
};

const NFTA_SET_ELEM_LIST_SET_ID = 4;
const NFTA_RULE_EXPRESSIONS = 4;
const NFTA_EXPR_DATA = 2;
const NFTA_LOOKUP_SET_ID = 4;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_NEWRULE = 6;

/** nft's set ids for sets it did not make in this batch (see the header). */
function withoutForeignSetIds(t: Tree, setsMadeHere: boolean): Tree {
  if (setsMadeHere) return t;
  const msg = t.nlmsg.type & 0xff;
  if (msg === NFT_MSG_NEWSETELEM) t.attrs = t.attrs.filter((a) => a.type !== NFTA_SET_ELEM_LIST_SET_ID);
  if (msg === NFT_MSG_NEWRULE) {
    const exprs = t.attrs.find((a) => a.type === NFTA_RULE_EXPRESSIONS)?.nested ?? [];
    for (const e of exprs) {
      const name = e.nested?.find((a) => a.type === 1)?.hex;
      if (name !== Buffer.from('lookup\0').toString('hex')) continue;
      const data = e.nested!.find((a) => a.type === NFTA_EXPR_DATA) as NlAttr;
      data.nested = data.nested!.filter((a) => a.type !== NFTA_LOOKUP_SET_ID);
    }
  }
  return t;
}

const fixtures = loadNftFixtures();

describe(`nf_tables requests match ${fixtures.nft} (kernel ${fixtures.kernel})`, () => {
  test('every fixture case has netqos operations here, and nft accepted it', () => {
    expect(fixtures.cases.map((c) => c.name).sort()).toEqual(Object.keys(cases).sort());
    for (const c of fixtures.cases)
      expect({ name: c.name, exitCode: c.exitCode }).toEqual({ name: c.name, exitCode: 0 });
  });

  test.each(fixtures.cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const ops = cases[name];
    const ours = nftNative().nftEncode(ops);
    const theirs = [c.begin, ...c.messages, c.end].map((h) => Buffer.from(h, 'hex'));
    expect(ours.map((b) => nftMsgName(b.readUInt16LE(4)))).toEqual(
      theirs.map((b) => nftMsgName(b.readUInt16LE(4))),
    );
    const setsMadeHere = ops.some((o) => 'set' in o && (o.op === 'add' || o.op === 'create'));
    ours.forEach((buf, i) => {
      const a = decodeNft(buf);
      const b = withoutForeignSetIds(decodeNft(theirs[i]), setsMadeHere);
      const diff = diffTrees(a, b);
      if (diff.length > 0) {
        throw new Error(
          `${c.command}: message ${i} (${nftMsgName(a.nlmsg.type)}) differs:\n  ${diff.join('\n  ')}\n` +
            `netqos:\n${renderTree(a)}\nnft:\n${renderTree(b)}`,
        );
      }
    });
  });
});

describe('expression lists many rules share', () => {
  const limit = packetRateLimit({ rate: 100, burst: 5, family: 'ip', chainFamily: 'inet' });
  const lookup = [
    { kind: 'meta', key: 'iif', dreg: 1 },
    { kind: 'lookup', set: 'm', sreg: 1, dreg: 0 },
  ] as const;
  const map = (table: string) =>
    ({
      op: 'add',
      set: { family: 'inet', table, name: 'm', keyType: 'iface_index', dataType: 'verdict' },
    }) as NftOperation;
  const ruleIn = (table: string, chain: string, expressions: unknown) =>
    ({ op: 'add', rule: { family: 'inet', table, chain, expressions } }) as NftOperation;
  const shared = (): NftOperation[] => {
    const a = [...limit];
    const b = [...lookup];
    return [
      { op: 'add', table: { family: 'inet', name: 't' } },
      { op: 'add', table: { family: 'inet', name: 'u' } },
      map('t'),
      { op: 'add', chain: { family: 'inet', table: 't', name: 'c' } },
      { op: 'add', chain: { family: 'inet', table: 'u', name: 'c' } },
      ruleIn('t', 'c', a),
      ruleIn('t', 'c', a),
      ruleIn('u', 'c', a),
      { op: 'add', rule: { family: 'ip', table: 't', chain: 'c', expressions: a } },
      ruleIn('t', 'c', b),
      // The same lookup list naming another table's set made later in the batch: its set id.
      map('u'),
      ruleIn('u', 'c', b),
      ruleIn('t', 'c', b),
    ];
  };

  test('encode as their copies do (table, family and set ids of each rule)', () => {
    const ops = shared();
    const copies = JSON.parse(JSON.stringify(ops)) as NftOperation[];
    const ours = nftNative().nftEncode(ops);
    expect(ours.map((b) => b.toString('hex'))).toEqual(
      nftNative()
        .nftEncode(copies)
        .map((b) => b.toString('hex')),
    );
  });

  test('a shared list is read once, so what was encoded is what the first rule read', () => {
    let reads = 0;
    const expr = {
      get kind() {
        reads++;
        return reads === 1 ? 'counter' : 'bogus';
      },
    };
    const list = [expr];
    const ops = [ruleIn('t', 'c', list), ruleIn('t', 'c', list), ruleIn('t', 'c', list)];
    const ours = nftNative().nftEncode(ops);
    expect(reads).toBe(1);
    expect(ours[2].toString('hex')).toEqual(ours[1].toString('hex'));
  });

  test('a list that is refused is refused for the first rule using it', () => {
    const list = [{ kind: 'nope' }];
    expect(() =>
      nftNative().nftEncode([ruleIn('t', 'c', []), ruleIn('t', 'c', list), ruleIn('t', 'c', list)]),
    ).toThrow(/ops\[1\]\.rule\.expressions\[0\]\.kind: "nope" is not an expression/);
  });
});
