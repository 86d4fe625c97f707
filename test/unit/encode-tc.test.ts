// netqos's requests against iproute2's own, captured by scripts/gen-fixtures.sh: the same
// command line must produce the same attribute tree (sequence numbers and port ids aside).
// Left out on purpose: TBF's rate tables (TCA_TBF_RTAB/PTAB): the kernel ignores them when the
// rate spec names a link layer, which ours always does, and they cost 1-2 KiB per message.
import { native } from '../../lib/netlink/binding';
import type { Operation } from '../../lib';
import { decodeHex, decodeRequest, diffTrees, renderTree, tcFixture, type Tree } from '../helpers/nltree';

const TCA_OPTIONS = 2;
const TCA_TBF_RTAB = 2;
const TCA_TBF_PTAB = 3;

function withoutRateTables(t: Tree): Tree {
  for (const a of t.attrs) {
    if (a.type === TCA_OPTIONS && a.nested)
      a.nested = a.nested.filter((x) => x.type !== TCA_TBF_RTAB && x.type !== TCA_TBF_PTAB);
  }
  return t;
}

type Case = [name: string, build: (ix: Record<string, number>) => Operation, note?: 'tbf'];
const mbit = 1_000_000;

const cases: Case[] = [
  [
    'tbf_basic',
    (ix) => ({
      op: 'add',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 10 * mbit,
        burst: 32 * 1024,
        latencyUs: 25_000,
      },
    }),
    'tbf',
  ],
  [
    'tbf_replace_limit',
    (ix) => ({
      op: 'replace',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 100 * mbit,
        burst: 64 * 1024,
        limit: 200_000,
      },
    }),
    'tbf',
  ],
  [
    'tbf_rate64',
    (ix) => ({
      op: 'add',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 40_000 * mbit,
        burst: 1 << 20,
        latencyUs: 10_000,
      },
    }),
    'tbf',
  ],
  [
    'tbf_peakrate',
    (ix) => ({
      op: 'add',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 10 * mbit,
        burst: 32 * 1024,
        latencyUs: 25_000,
        peakrate: 20 * mbit,
        minburst: 1514,
      },
    }),
    'tbf',
  ],
  [
    'tbf_peakrate64',
    (ix) => ({
      op: 'add',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 40_000 * mbit,
        burst: 1 << 20,
        latencyUs: 10_000,
        peakrate: 50_000 * mbit,
        minburst: 1514,
      },
    }),
    'tbf',
  ],
  [
    'tbf_change',
    (ix) => ({
      op: 'change',
      qdisc: {
        dev: ix.v0,
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 20 * mbit,
        burst: 32 * 1024,
        latencyUs: 25_000,
      },
    }),
    'tbf',
  ],
  ['qdisc_delete_root', (ix) => ({ op: 'delete', qdisc: { dev: ix.v0, parent: 'root' } })],
  ['ingress', (ix) => ({ op: 'add', qdisc: { dev: ix.v0, kind: 'ingress' } })],
  ['clsact', (ix) => ({ op: 'add', qdisc: { dev: ix.v1, kind: 'clsact' } })],
  [
    'u32_mirred_ifb',
    (ix) => ({
      op: 'add',
      filter: {
        dev: ix.v0,
        parent: 'ffff:',
        protocol: 'all',
        priority: 1,
        kind: 'u32',
        actions: [{ kind: 'mirred', direction: 'egress', mode: 'redirect', dev: ix.ifbx }],
      },
    }),
  ],
  [
    'u32_mirred_clsact_egress_mirror',
    (ix) => ({
      op: 'add',
      filter: {
        dev: ix.v1,
        parent: 'egress',
        protocol: 'ip',
        priority: 5,
        kind: 'u32',
        actions: [{ kind: 'mirred', mode: 'mirror', dev: ix.ifbx }],
      },
    }),
  ],
  [
    'u32_classid',
    (ix) => ({
      op: 'add',
      filter: {
        dev: ix.v0,
        parent: 'ffff:',
        protocol: 'ip',
        priority: 2,
        handle: 0x80000010,
        kind: 'u32',
        classid: '1:1',
      },
    }),
  ],
  [
    'u32_mirred_cookie',
    (ix) => ({
      op: 'add',
      filter: {
        dev: ix.v1,
        parent: 'egress',
        protocol: 'ip',
        priority: 12,
        kind: 'u32',
        actions: [{ kind: 'mirred', dev: ix.ifbx, cookie: '6e71deadbeef' }],
      },
    }),
  ],
  [
    'filter_delete',
    (ix) => ({ op: 'delete', filter: { dev: ix.v0, parent: 'ffff:', protocol: 'all', priority: 1 } }),
  ],
  ['link_ifb', () => ({ op: 'add', link: { kind: 'ifb', name: 'nqifb0', mtu: 1400 } })],
  ['link_ifb_up', () => ({ op: 'add', link: { kind: 'ifb', name: 'nqifb0', mtu: 1400, up: true } })],
  ['link_delete', (ix) => ({ op: 'delete', link: { index: ix.nqifb0 } })],
];

describe.each(cases)('%s', (name, build, note) => {
  test('equals what iproute2 sends', () => {
    const fixture = tcFixture(name);
    const [ours] = native().encode([build(fixture.ifindex)]);
    const expected = decodeHex(fixture.hex);
    const actual = decodeRequest(ours);
    if (note === 'tbf') withoutRateTables(expected);
    const diff = diffTrees(actual, expected);
    if (diff.length)
      throw new Error(
        `${fixture.command}\n${diff.join('\n')}\nours:\n${renderTree(actual)}\ntc:\n${renderTree(expected)}`,
      );
  });
});
