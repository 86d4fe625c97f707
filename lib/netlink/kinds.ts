// The one table of tc kinds on the TypeScript side (native/registry.cc is the other side's).
// Adding a kind: its file exports its fields' type and its descriptor; list both here and in
// types.ts' unions (ARCHITECTURE.md, "Adding a tc kind").
import { fieldsOf, type NameOf } from './decode';
import type { ActionKind, ClassKind, FilterKind, LinkKind, QdiscKind } from './kind';
import type { FilterState } from './types';
import { csum } from './action/csum';
import { gact } from './action/gact';
import { mirred } from './action/mirred';
import { pedit } from './action/pedit';
import { police } from './action/police';
import { skbedit } from './action/skbedit';
import { matchall } from './filter/matchall';
import { flower } from './filter/flower';
import { fw } from './filter/fw';
import { bpf } from './filter/bpf';
import { basic } from './filter/basic';
import { vlan } from './action/vlan';
import { tunnelKey } from './action/tunnel_key';
import { connmark } from './action/connmark';
import { ct } from './action/ct';
import { sample } from './action/sample';
import { bpfAction } from './action/bpf';
import { nat } from './action/nat';
import { u32 } from './filter/u32';
import { ifb } from './link/link';
import { clsact } from './qdisc/clsact';
import { htb, htbClass } from './qdisc/htb';
import { hfsc, hfscClass } from './qdisc/hfsc';
import { pfifoFast, prio } from './qdisc/prio';
import { bfifo, pfifo } from './qdisc/fifo';
import { sfq } from './qdisc/sfq';
import { fqCodel } from './qdisc/fq_codel';
import { codel } from './qdisc/codel';
import { fq } from './qdisc/fq';
import { cake } from './qdisc/cake';
import { netem } from './qdisc/netem';
import { ingress } from './qdisc/ingress';
import { tbf } from './qdisc/tbf';

// Descriptors by kind name; a descriptor's own parameter type is erased to `never` here.
const table = <K extends { kind: string }>(...kinds: K[]): ReadonlyMap<string, K> =>
  new Map(kinds.map((k) => [k.kind, k]));

export const QDISC_KINDS = table<QdiscKind>(
  tbf,
  ingress,
  clsact,
  htb,
  hfsc,
  prio,
  pfifoFast,
  pfifo,
  bfifo,
  sfq,
  fqCodel,
  codel,
  fq,
  cake,
  netem,
);
export const CLASS_KINDS = table<ClassKind>(htbClass, hfscClass);
export const FILTER_KINDS = table<FilterKind>(u32, matchall, flower, fw, bpf, basic);
export const ACTION_KINDS = table<ActionKind>(
  police,
  mirred,
  pedit,
  csum,
  skbedit,
  gact,
  vlan,
  tunnelKey,
  connmark,
  ct,
  sample,
  bpfAction,
  nat,
);
export const LINK_KINDS = table<LinkKind>(ifb);

/** The filter hooks (dump parents) of a hook qdisc kind; none for other kinds. */
export function hookParents(qdiscKind: string): readonly string[] {
  return QDISC_KINDS.get(qdiscKind)?.hooks ?? [];
}

/** Whether a qdisc of this kind has classes (RTM_NEWTCLASS) netqos can read and write. */
export function hasClasses(qdiscKind: string): boolean {
  return CLASS_KINDS.has(qdiscKind);
}

/**
 * The read-back `was` as the input of an in-place change of `now` (a qdisc of the same kind): its
 * fields without those the kernel cannot change; undefined when it can change none of them or
 * one of those differs, and only deleting and adding it back restores it.
 */
export function inPlaceChange(
  was: Record<string, unknown>,
  now: Record<string, unknown>,
  input: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const fixed = QDISC_KINDS.get(was.kind as string)?.fixed ?? [];
  if (fixed === 'all') return undefined;
  const out = { ...input };
  for (const field of fixed) {
    if (JSON.stringify(was[field]) !== JSON.stringify(now[field])) return undefined;
    delete out[field];
  }
  return out;
}

/** Whether a qdisc of this kind is one an atomic batch can recreate from its read-back. */
export function isRestorable(qdiscKind: string): boolean {
  return QDISC_KINDS.get(qdiscKind)?.restorable ?? false;
}

/**
 * Replaces the interface indexes a read-back action holds (a mirred target, ...) by names,
 * where `nameOf` knows them.
 */
export function nameActionInterfaces(filters: readonly Pick<FilterState, 'actions'>[], nameOf: NameOf): void {
  for (const f of filters) {
    for (const a of f.actions ?? []) {
      const fields = fieldsOf(a);
      for (const field of ACTION_KINDS.get(a.kind)?.interfaceFields ?? []) {
        const index = fields[field];
        if (typeof index === 'number') fields[field] = nameOf(index) ?? index;
      }
    }
  }
}

/** An action on one line, by its kind's descriptor (the bare kind for one netqos does not know). */
export function describeAction(a: { kind: string }): string {
  const k = ACTION_KINDS.get(a.kind);
  return k ? k.describe(a as never) : a.kind;
}
