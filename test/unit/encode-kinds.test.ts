// The classful and classless qdiscs, their classes, the classifiers and actions beyond Calico's
// set, and chains: netqos's request for each fixture case (test/fixtures/tc-requests.json,
// captured from iproute2 6.1's tc by scripts/gen-fixtures.sh) must be the same attribute tree, in
// the same order. The case names the command line; the builder gives the same parameters.
// Left out on purpose: HTB classes' rate tables (TCA_HTB_RTAB/CTAB), which the kernel ignores when
// the rate spec names a link layer, as ours always does.
import { native } from '../../lib/netlink/binding';
import { describeObject, describeOperation } from '../../lib/netlink/describe';
import type { Operation } from '../../lib';
import {
  decodeHex,
  decodeRequest,
  diffTrees,
  loadTcFixtures,
  renderTree,
  tcFixture,
  type Tree,
} from '../helpers/nltree';

type Ix = Record<string, number>;
const mbit = 1_000_000;
const TCA_OPTIONS = 2;
const TCA_HTB_CTAB = 3;
const TCA_HTB_RTAB = 4;

function withoutHtbRateTables(t: Tree): Tree {
  for (const a of t.attrs)
    if (a.type === TCA_OPTIONS && a.nested)
      a.nested = a.nested.filter((x) => x.type !== TCA_HTB_RTAB && x.type !== TCA_HTB_CTAB);
  return t;
}

const htbClass = (ix: Ix, extra: Record<string, unknown>) => ({ dev: ix.v0, kind: 'htb', ...extra }) as never;
/** A filter added on v0 at `parent`. */
const filter = (ix: Ix, parent: string, fields: Record<string, unknown>): Operation =>
  ({ op: 'add', filter: { dev: ix.v0, parent, ...fields } }) as never;
/** One action, through a matchall filter on v0's ingress. */
const action = (ix: Ix, a: Record<string, unknown>): Operation =>
  filter(ix, 'ingress', { kind: 'matchall', actions: [a] });
const drop = { kind: 'gact', control: 'drop' };
/** A qdisc added at the root of v0 with handle 1: (unless the case says otherwise). */
const qdisc = (ix: Ix, fields: Record<string, unknown>): Operation =>
  ({ op: 'add', qdisc: { dev: ix.v0, parent: 'root', handle: '1:', ...fields } }) as never;

/** Fixture case -> the operation that must produce the same request. */
const CASES: Record<string, (ix: Ix) => Operation> = {
  // htb default 10 r2q 5 direct_qlen 100
  htb_qdisc: (ix) => ({
    op: 'add',
    qdisc: {
      dev: ix.v0,
      parent: 'root',
      handle: '1:',
      kind: 'htb',
      defaultClass: 0x10,
      r2q: 5,
      directQlen: 100,
    },
  }),
  htb_qdisc_plain: (ix) => ({ op: 'add', qdisc: { dev: ix.v0, parent: 'root', handle: '1:', kind: 'htb' } }),
  // class add parent 1: classid 1:1 htb rate 20mbit
  htb_class: (ix) => ({ op: 'add', class: htbClass(ix, { parent: '1:', classid: '1:1', rate: 20 * mbit }) }),
  // htb rate 10mbit ceil 20mbit burst 15k cburst 20k prio 1 quantum 3000 mpu 64 overhead 4
  htb_class_full: (ix) => ({
    op: 'add',
    class: htbClass(ix, {
      parent: '1:1',
      classid: '1:10',
      rate: 10 * mbit,
      ceil: 20 * mbit,
      burst: 15 * 1024,
      cburst: 20 * 1024,
      prio: 1,
      quantum: 3000,
      mpu: 64,
      overhead: 4,
    }),
  }),
  htb_class_rate64: (ix) => ({
    op: 'add',
    class: htbClass(ix, { parent: '1:', classid: '1:2', rate: 50_000 * mbit, ceil: 60_000 * mbit }),
  }),
  htb_class_change: (ix) => ({
    op: 'change',
    class: htbClass(ix, { parent: '1:', classid: '1:1', rate: 30 * mbit, ceil: 40 * mbit }),
  }),
  htb_class_replace: (ix) => ({
    op: 'replace',
    class: htbClass(ix, { parent: '1:', classid: '1:1', rate: 30 * mbit }),
  }),
  class_delete: (ix) => ({ op: 'delete', class: { dev: ix.v0, classid: '1:1' } }),
  hfsc_qdisc: (ix) => qdisc(ix, { kind: 'hfsc', defaultClass: 0x10 }),
  // hfsc rt m1 20mbit d 10ms m2 10mbit ls m2 15mbit ul m2 30mbit
  hfsc_class: (ix) => ({
    op: 'add',
    class: {
      dev: ix.v0,
      parent: '1:',
      classid: '1:10',
      kind: 'hfsc',
      rt: { m1: 20 * mbit, dUs: 10_000, m2: 10 * mbit },
      ls: { m2: 15 * mbit },
      ul: { m2: 30 * mbit },
    },
  }),
  hfsc_class_ls: (ix) => ({
    op: 'add',
    class: { dev: ix.v0, parent: '1:', classid: '1:20', kind: 'hfsc', ls: { m2: 5 * mbit } },
  }),

  // prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 3 3
  prio: (ix) =>
    qdisc(ix, { kind: 'prio', bands: 4, priomap: [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 3, 3] }),
  prio_default: (ix) => qdisc(ix, { kind: 'prio' }),
  pfifo: (ix) => qdisc(ix, { kind: 'pfifo', limit: 100 }),
  bfifo: (ix) => qdisc(ix, { kind: 'bfifo', limit: 64 * 1024 }),
  pfifo_fast: (ix) => qdisc(ix, { kind: 'pfifo_fast' }),
  // sfq perturb 10 quantum 1514 limit 100 divisor 1024 flows 64 depth 64 headdrop
  sfq: (ix) =>
    qdisc(ix, {
      kind: 'sfq',
      perturbSec: 10,
      quantum: 1514,
      limit: 100,
      divisor: 1024,
      flows: 64,
      depth: 64,
      headdrop: true,
    }),
  sfq_default: (ix) => qdisc(ix, { kind: 'sfq' }),
  // fq_codel limit 2000 flows 512 quantum 1514 target 4ms interval 80ms ecn ce_threshold 2ms
  // memory_limit 16mb drop_batch 32
  fq_codel: (ix) =>
    qdisc(ix, {
      kind: 'fq_codel',
      handle: undefined,
      limit: 2000,
      flows: 512,
      quantum: 1514,
      targetUs: 4000,
      intervalUs: 80_000,
      ecn: true,
      ceThresholdUs: 2000,
      memoryLimit: 16 * 1024 * 1024,
      dropBatch: 32,
    }),
  fq_codel_child: (ix) => ({
    op: 'add',
    qdisc: { dev: ix.v0, parent: '1:1', handle: '10:', kind: 'fq_codel', ecn: false },
  }),
  codel: (ix) =>
    qdisc(ix, {
      kind: 'codel',
      handle: undefined,
      limit: 1000,
      targetUs: 5000,
      intervalUs: 100_000,
      ecn: true,
      ceThresholdUs: 1000,
    }),
  // fq limit 5000 flow_limit 50 quantum 3028 initial_quantum 15140 maxrate 100mbit buckets 2048
  // orphan_mask 1023 pacing refill_delay 40ms low_rate_threshold 1mbit ce_threshold 5ms horizon 5s
  // horizon_drop timer_slack 20us
  fq: (ix) =>
    qdisc(ix, {
      kind: 'fq',
      handle: undefined,
      limit: 5000,
      flowLimit: 50,
      quantum: 3028,
      initialQuantum: 15140,
      maxrate: 100 * mbit,
      buckets: 2048,
      orphanMask: 1023,
      pacing: true,
      refillDelayUs: 40_000,
      lowRateThreshold: 1 * mbit,
      ceThresholdUs: 5000,
      horizonUs: 5_000_000,
      horizonDrop: true,
      timerSlackNs: 20_000,
    }),
  fq_nopacing: (ix) => qdisc(ix, { kind: 'fq', handle: undefined, pacing: false, horizonDrop: false }),
  // cake bandwidth 100mbit rtt 50ms diffserv4 dual-dsthost nat wash no-split-gso ingress ack-filter
  // ptm overhead 18 mpu 64 memlimit 32mb fwmark 0xff
  cake: (ix) =>
    qdisc(ix, {
      kind: 'cake',
      handle: undefined,
      bandwidth: 100 * mbit,
      rttUs: 50_000,
      diffserv: 'diffserv4',
      flowMode: 'dual-dsthost',
      nat: true,
      wash: true,
      splitGso: false,
      ingress: true,
      ackFilter: 'filter',
      atm: 'ptm',
      overhead: 18,
      mpu: 64,
      memlimit: 32 * 1024 * 1024,
      fwmark: 0xff,
    }),
  // cake unlimited besteffort flows nonat nowash split-gso egress no-ack-filter raw autorate-ingress
  cake_raw: (ix) =>
    qdisc(ix, {
      kind: 'cake',
      handle: undefined,
      bandwidth: 0,
      diffserv: 'besteffort',
      flowMode: 'flows',
      nat: false,
      wash: false,
      splitGso: true,
      ingress: false,
      ackFilter: 'none',
      raw: true,
      autorateIngress: true,
    }),
  cake_rate64: (ix) =>
    qdisc(ix, {
      kind: 'cake',
      handle: undefined,
      bandwidth: 40_000 * mbit,
      diffserv: 'diffserv3',
      flowMode: 'triple-isolate',
      atm: 'atm',
      overhead: -4,
    }),
  netem_delay: (ix) => qdisc(ix, { kind: 'netem', delayUs: 50_000, jitterUs: 5000, delayCorrelation: 25 }),
  netem_distribution: (ix) =>
    qdisc(ix, { kind: 'netem', delayUs: 50_000, jitterUs: 10_000, distribution: 'normal' }),
  netem_pareto: (ix) =>
    qdisc(ix, { kind: 'netem', delayUs: 20_000, jitterUs: 4000, distribution: 'paretonormal' }),
  netem_loss: (ix) => qdisc(ix, { kind: 'netem', loss: { percent: 10, correlation: 25 } }),
  netem_loss_state: (ix) =>
    qdisc(ix, { kind: 'netem', loss: { model: 'state', p13: 1, p31: 30, p32: 2, p23: 40, p14: 5 } }),
  netem_loss_gemodel: (ix) =>
    qdisc(ix, { kind: 'netem', loss: { model: 'gemodel', p: 1, r: 10, oneMinusH: 70, oneMinusK: 0.1 } }),
  // netem limit 5000 delay 10ms reorder 25% 50% gap 5 duplicate 1% 10% corrupt 0.1% 5% loss 0.5% ecn
  netem_mix: (ix) =>
    qdisc(ix, {
      kind: 'netem',
      limit: 5000,
      delayUs: 10_000,
      reorder: 25,
      reorderCorrelation: 50,
      gap: 5,
      duplicate: 1,
      duplicateCorrelation: 10,
      corrupt: 0.1,
      corruptCorrelation: 5,
      loss: { percent: 0.5 },
      ecn: true,
    }),
  netem_rate: (ix) =>
    qdisc(ix, { kind: 'netem', rate: 1 * mbit, packetOverhead: 20, cellSize: 100, cellOverhead: -4 }),
  netem_rate64: (ix) => qdisc(ix, { kind: 'netem', delayUs: 1000, rate: 50_000 * mbit }),
  netem_slot: (ix) =>
    qdisc(ix, { kind: 'netem', slot: { minDelayUs: 1000, maxDelayUs: 5000, packets: 10, bytes: 15000 } }),
  netem_slot_distribution: (ix) =>
    qdisc(ix, { kind: 'netem', slot: { distribution: 'pareto', delayUs: 1000, jitterUs: 2000 } }),
  netem_change: (ix) => ({
    op: 'change',
    qdisc: { dev: ix.v0, parent: 'root', handle: '1:', kind: 'netem', delayUs: 100_000 },
  }),
  // filter add parent 1: protocol ip prio 1 flower classid 1:1 ip_proto tcp dst_port 5201
  flower_tcp_classid: (ix) =>
    filter(ix, '1:', {
      protocol: 'ip',
      priority: 1,
      kind: 'flower',
      classid: '1:1',
      ipProto: 'tcp',
      dstPort: 5201,
    }),
  flower_ip_masks: (ix) =>
    filter(ix, 'ffff:', {
      protocol: 'ip',
      priority: 2,
      kind: 'flower',
      skipHw: true,
      dstMac: '02:00:00:00:00:01',
      srcMac: '02:00:00:00:00:00/ff:ff:ff:00:00:00',
      ipProto: 'udp',
      ipTos: 0x10,
      ipTosMask: 0xfc,
      ipTtl: 64,
      dstIp: '198.18.0.0/15',
      srcIp: '198.18.0.1',
      dstPort: 1000,
      dstPortMax: 2000,
      srcPort: 53,
      actions: [drop],
    }),
  flower_ipv6_icmp: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ipv6',
      priority: 3,
      kind: 'flower',
      ipProto: 'icmpv6',
      dstIp: '2001:2::/48',
      srcIp: '2001:2::1',
      icmpType: 128,
      icmpCode: 0,
      actions: [{ kind: 'gact', control: 'pass' }],
    }),
  flower_icmp: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      kind: 'flower',
      ipProto: 'icmp',
      icmpType: 8,
      icmpTypeMask: 255,
      actions: [drop],
    }),
  flower_tcp_flags: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      priority: 4,
      kind: 'flower',
      ipProto: 'tcp',
      srcPort: 1024,
      srcPortMask: 0xfc00,
      tcpFlags: 0x2,
      tcpFlagsMask: 0x12,
      actions: [drop],
    }),
  flower_vlan: (ix) =>
    filter(ix, 'ingress', {
      protocol: '802.1q',
      priority: 5,
      kind: 'flower',
      vlanId: 100,
      vlanPrio: 3,
      vlanEthType: 'ip',
      dstIp: '198.18.0.2',
      actions: [{ kind: 'vlan', action: 'pop' }],
    }),
  flower_cvlan: (ix) =>
    filter(ix, 'ingress', {
      protocol: '802.1ad',
      kind: 'flower',
      vlanId: 100,
      vlanEthType: '802.1q',
      cvlanId: 200,
      cvlanPrio: 1,
      cvlanEthType: 'ipv6',
      actions: [drop],
    }),
  flower_ct: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      priority: 6,
      kind: 'flower',
      ctState: '+trk+est-new',
      ctZone: 5,
      ctMark: 0x10,
      ctMarkMask: 0xff,
      ctLabel: '000102030405060708090a0b0c0d0e0f',
      actions: [{ kind: 'gact', control: 'pass' }],
    }),
  flower_enc: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      priority: 7,
      kind: 'flower',
      encDstIp: '198.18.0.2',
      encSrcIp: '198.18.0.0/24',
      encKeyId: 42,
      encDstPort: 4789,
      encTos: 0x10,
      encTosMask: 0xff,
      encTtl: 64,
      actions: [{ kind: 'tunnel_key', action: 'unset' }],
    }),
  flower_enc_v6: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'all',
      kind: 'flower',
      encDstIp: '2001:2::2',
      encSrcIp: '2001:2::1',
      encKeyId: 7,
      actions: [drop],
    }),
  flower_ip_flags: (ix) =>
    filter(ix, 'ingress', { protocol: 'ip', kind: 'flower', ipFlags: 'frag/nofirstfrag', actions: [drop] }),
  flower_indev: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'all',
      priority: 8,
      kind: 'flower',
      indev: 'v0',
      actions: [{ kind: 'gact', control: 'pass' }],
    }),
  flower_all: (ix) => filter(ix, 'ingress', { kind: 'flower', actions: [drop] }),
  flower_goto_chain: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      priority: 9,
      kind: 'flower',
      ipProto: 'tcp',
      actions: [{ kind: 'gact', control: 'goto chain 5' }],
    }),
  flower_in_chain: (ix) =>
    filter(ix, 'ingress', {
      protocol: 'ip',
      priority: 9,
      chain: 5,
      kind: 'flower',
      ipProto: 'tcp',
      dstPort: 80,
      actions: [drop],
    }),
  chain_add: (ix) => ({ op: 'add', chain: { dev: ix.v0, parent: 'ingress', chain: 3 } }),
  chain_template: (ix) => ({
    op: 'add',
    chain: {
      dev: ix.v0,
      parent: 'ingress',
      chain: 5,
      template: { kind: 'flower', protocol: 'ip', ipProto: 'tcp', dstIp: '0.0.0.0/16' },
    },
  }),
  chain_delete: (ix) => ({ op: 'delete', chain: { dev: ix.v0, parent: 'ingress', chain: 3 } }),
  fw: (ix) =>
    filter(ix, '1:', {
      protocol: 'ip',
      priority: 2,
      handle: 0x10,
      kind: 'fw',
      mask: 0xff,
      classid: '1:1',
      indev: 'v0',
      actions: [{ kind: 'gact', control: 'pass' }],
    }),
  fw_plain: (ix) => filter(ix, '1:', { priority: 3, handle: 5, kind: 'fw', classid: '1:1' }),
  // bpf bytecode "1,6 0 0 4294967295," classid 1:1
  bpf_cbpf_classid: (ix) =>
    filter(ix, '1:', {
      priority: 4,
      kind: 'bpf',
      program: { bytecode: [{ code: 6, jt: 0, jf: 0, k: 0xffffffff }] },
      classid: '1:1',
    }),
  // bpf pinned @BPFFS@/cls da: tc opened the pinned program as descriptor 4
  bpf_pinned_da: (ix) =>
    filter(ix, 'ingress', {
      priority: 5,
      kind: 'bpf',
      program: { fd: 4 },
      name: 'cls:[*fsobj]',
      directAction: true,
    }),
  bpf_pinned_classid: (ix) =>
    filter(ix, '1:', {
      priority: 6,
      handle: 7,
      kind: 'bpf',
      program: { fd: 4 },
      name: 'cls:[*fsobj]',
      classid: '1:1',
      skipHw: true,
      actions: [{ kind: 'gact', control: 'pass' }],
    }),
  // basic match "cmp(u16 at 2 layer transport eq 5201)" classid 1:1
  basic_cmp: (ix) =>
    filter(ix, '1:', {
      protocol: 'ip',
      priority: 7,
      kind: 'basic',
      matches: [{ align: 'u16', offset: 2, layer: 'transport', op: 'eq', value: 5201 }],
      classid: '1:1',
    }),
  // basic match "cmp(u8 at 9 layer network eq 6) and not cmp(u16 at 0 layer transport mask 0xff00
  // gt 1023)" action drop
  basic_cmp_and: (ix) =>
    filter(ix, '1:', {
      protocol: 'ip',
      priority: 8,
      kind: 'basic',
      matches: [
        { align: 'u8', offset: 9, layer: 'network', value: 6, relation: 'and' },
        { align: 'u16', offset: 0, layer: 'transport', mask: 0xff00, op: 'gt', value: 1023, invert: true },
      ],
      actions: [drop],
    }),

  vlan_pop: (ix) => action(ix, { kind: 'vlan', action: 'pop' }),
  vlan_push: (ix) =>
    action(ix, {
      kind: 'vlan',
      action: 'push',
      id: 100,
      protocol: '802.1ad',
      priority: 5,
      control: 'pipe',
      index: 3,
    }),
  vlan_modify: (ix) =>
    action(ix, { kind: 'vlan', action: 'modify', id: 200, priority: 2, control: 'continue' }),
  vlan_push_eth: (ix) =>
    action(ix, {
      kind: 'vlan',
      action: 'push_eth',
      dstMac: '02:00:00:00:00:02',
      srcMac: '02:00:00:00:00:01',
    }),
  tunnel_key_set: (ix) =>
    action(ix, {
      kind: 'tunnel_key',
      action: 'set',
      srcIp: '198.18.0.1',
      dstIp: '198.18.0.2',
      keyId: 42,
      dstPort: 4789,
      tos: 0x10,
      ttl: 64,
      checksum: false,
    }),
  tunnel_key_set_v6: (ix) =>
    action(ix, { kind: 'tunnel_key', action: 'set', srcIp: '2001:2::1', dstIp: '2001:2::2', keyId: 7 }),
  tunnel_key_unset: (ix) => action(ix, { kind: 'tunnel_key', action: 'unset' }),
  connmark: (ix) => action(ix, { kind: 'connmark' }),
  connmark_zone: (ix) => action(ix, { kind: 'connmark', zone: 5, control: 'pipe', index: 4 }),
  ct_plain: (ix) => action(ix, { kind: 'ct' }),
  ct_clear: (ix) => action(ix, { kind: 'ct', clear: true }),
  ct_commit_nat: (ix) =>
    action(ix, {
      kind: 'ct',
      commit: true,
      zone: 5,
      mark: 0x10,
      markMask: 0xff,
      label: '000102030405060708090a0b0c0d0e0f',
      labelMask: 'ffffffffffffffffffffffffffffffff',
      nat: { type: 'src', addrMin: '198.18.0.1', addrMax: '198.18.0.10', portMin: 1000, portMax: 2000 },
      control: 'pipe',
    }),
  ct_nat_restore: (ix) => action(ix, { kind: 'ct', zone: 2, nat: {}, control: 'pipe' }),
  ct_commit_force_v6: (ix) =>
    action(ix, {
      kind: 'ct',
      commit: true,
      force: true,
      nat: { type: 'dst', addrMin: '2001:2::2' },
      control: 'pipe',
    }),
  sample: (ix) => action(ix, { kind: 'sample', rate: 100, group: 5, trunc: 128 }),
  // bpf bytecode "1,6 0 0 0," pipe
  act_bpf_cbpf: (ix) =>
    action(ix, { kind: 'bpf', program: { bytecode: [{ code: 6, jt: 0, jf: 0, k: 0 }] }, control: 'pipe' }),
  act_bpf_pinned: (ix) => action(ix, { kind: 'bpf', program: { fd: 4 }, name: 'act:[*fsobj]', index: 9 }),
  nat_egress: (ix) =>
    action(ix, { kind: 'nat', direction: 'egress', old: '198.18.0.1/32', new: '198.18.1.1' }),
  nat_ingress: (ix) =>
    action(ix, {
      kind: 'nat',
      direction: 'ingress',
      old: '198.18.0.0/16',
      new: '198.19.0.0',
      control: 'pass',
    }),
};
const STRIP: Record<string, (t: Tree) => Tree> = {
  htb_class: withoutHtbRateTables,
  htb_class_full: withoutHtbRateTables,
  htb_class_rate64: withoutHtbRateTables,
  htb_class_change: withoutHtbRateTables,
  htb_class_replace: withoutHtbRateTables,
};

describe.each(Object.entries(CASES))('%s', (name, build) => {
  test('equals what iproute2 sends, attribute for attribute and in order', () => {
    const fixture = tcFixture(name);
    const [ours] = native().encode([build(fixture.ifindex)]);
    const expected = (STRIP[name] ?? ((t: Tree) => t))(decodeHex(fixture.hex));
    const actual = decodeRequest(ours);
    const diff = diffTrees(actual, expected, { strictOrder: true });
    if (diff.length)
      throw new Error(
        `${fixture.command}\n${diff.join('\n')}\nours:\n${renderTree(actual)}\ntc:\n${renderTree(expected)}`,
      );
  });
});

test('every fixture case of these kinds is compared here', () => {
  const ours = (command: string) =>
    /^tc (class|chain) /.test(command) ||
    (/^tc qdisc /.test(command) &&
      / (htb|hfsc|prio|pfifo|bfifo|pfifo_fast|sfq|fq_codel|codel|fq|cake|netem)( |$)/.test(command)) ||
    / (flower|fw|bpf|basic)( |$)/.test(command) ||
    /action (vlan|tunnel_key|connmark|ct|sample|bpf|nat)\b/.test(command);
  const uncovered = loadTcFixtures()
    .cases.filter((c) => ours(c.command) && !CASES[c.name])
    .map((c) => `${c.name}: ${c.command}`);
  expect(uncovered).toEqual([]);
});

describe('every kind is described by its descriptor, as netqos show and the lab print it', () => {
  const bare = new Set(['htb_qdisc_plain', 'prio_default', 'pfifo_fast', 'sfq_default', 'chain_add']);
  test.each(Object.entries(CASES))('%s', (name, build) => {
    const op = build({ v0: 3, v1: 2, ifbx: 4 });
    const line = describeOperation(op);
    const object =
      'qdisc' in op ? op.qdisc : 'class' in op ? op.class : 'filter' in op ? op.filter : undefined;
    const kind = object && 'kind' in object ? object.kind : undefined;
    if (kind) expect(line).toContain(`${kind} `);
    if (op.op !== 'delete' && !bare.has(name)) expect(line).toMatch(/: \S/); // parameters follow the head
  });

  test('read-back objects, one line each', () => {
    expect(
      describeObject({
        type: 'qdisc',
        kind: 'netem',
        dev: 'a0',
        ifindex: 3,
        parent: 'root',
        handle: '1:',
        delayUs: 50_000,
        jitterUs: 5000,
        loss: { percent: 10 },
      } as never),
    ).toBe('netem qdisc 1: root: delay 50ms 5ms loss 10%');
    expect(
      describeObject({
        type: 'class',
        kind: 'htb',
        parent: '1:1',
        classid: '1:10',
        rate: 5_000_000,
        ceil: 20_000_000,
      } as never),
    ).toBe('htb class 1:10 parent 1:1: rate 5Mbit ceil 20Mbit');
    expect(
      describeObject({
        type: 'filter',
        kind: 'flower',
        parent: 'ingress',
        priority: 1,
        chain: 0,
        ipProto: 'tcp',
        dstPort: 5201,
        classid: '1:20',
        actions: [{ kind: 'gact', control: 'drop' }],
      } as never),
    ).toBe('flower filter ingress priority 1: ip_proto tcp dst_port 5201 classid 1:20 | gact drop');
  });
});
