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
