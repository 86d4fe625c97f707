// The classful and classless qdiscs, their classes, the classifiers and actions beyond Calico's
// set, and chains: netqos's request for each fixture case (test/fixtures/tc-requests.json,
// captured from iproute2 6.1's tc by scripts/gen-fixtures.sh) must be the same attribute tree, in
// the same order. The case names the command line; the builder gives the same parameters.
// Left out on purpose: HTB classes' rate tables (TCA_HTB_RTAB/CTAB), which the kernel ignores when
// the rate spec names a link layer, as ours always does.
import { native } from '../../lib/netlink/binding';
import type { Operation } from '../../lib';
import { decodeHex, decodeRequest, diffTrees, renderTree, tcFixture, type Tree } from '../helpers/nltree';

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
