// The rule for tc kinds (ARCHITECTURE.md, "Adding a tc kind"): every kind the native registry
// holds has a TypeScript descriptor registered in lib/netlink/kinds.ts, and the other way round,
// and iproute2's own request for it is captured in the fixtures the encoders are compared with.
import { native } from '../../lib/netlink/binding';
import { ACTION_KINDS, CLASS_KINDS, FILTER_KINDS, LINK_KINDS, QDISC_KINDS } from '../../lib/netlink/kinds';
import { loadTcFixtures } from '../helpers/nltree';

const sorted = (names: Iterable<string>) => [...names].sort();

test.each([
  ['qdisc', QDISC_KINDS],
  ['class', CLASS_KINDS],
  ['filter', FILTER_KINDS],
  ['action', ACTION_KINDS],
] as const)('%s kinds: the native registry and the TypeScript table list the same', (family, table) => {
  expect(sorted(table.keys())).toEqual(sorted(native().kinds()[family]));
  for (const [name, descriptor] of table) {
    expect(descriptor.family).toBe(family);
    expect(descriptor.kind).toBe(name);
  }
});

test('every kind has a captured iproute2 request among the fixtures', () => {
  const words = new Set(loadTcFixtures().cases.flatMap((c) => c.command.split(/\s+/)));
  const missing = [QDISC_KINDS, CLASS_KINDS, FILTER_KINDS, ACTION_KINDS, LINK_KINDS]
    .flatMap((table) => [...table.keys()])
    .filter((kind) => !words.has(kind));
  expect(missing).toEqual([]);
});

test('every class kind is a qdisc kind (the classes of a classful qdisc)', () => {
  for (const name of CLASS_KINDS.keys()) expect(QDISC_KINDS.has(name)).toBe(true);
});

test('hook qdiscs name their filter hooks; the others have none', () => {
  for (const q of QDISC_KINDS.values()) {
    for (const hook of q.hooks ?? []) expect(['ingress', 'egress']).toContain(hook);
  }
  expect(QDISC_KINDS.get('clsact')?.hooks).toEqual(['ingress', 'egress']);
  expect(QDISC_KINDS.get('tbf')?.hooks).toBeUndefined();
});
