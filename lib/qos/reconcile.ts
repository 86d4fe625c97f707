// Desired objects vs the kernel's: the operations that close the gap, touching only netqos's
// objects, in an order that never leaves traffic unshaped or blackholed on the way:
//   1. IFBs are created (before anything redirects to them),
//   2. TBFs are added or replaced in place, the hook qdisc is added, filters added or replaced,
//   3. filters that are no longer wanted are deleted, then the root TBF,
//   4. IFBs and empty hook qdiscs go last.
import { NetqosError } from '../errors';
import type { FilterState, Operation, QdiscState, TbfQdisc, U32Filter } from '../netlink';
import { describeForeignLink } from './ownership';
import { ifbDeletion, NETQOS_IFB_GROUP, NETQOS_TBF_HANDLE, Role, type DesiredState } from './policy';
import { isOwnTbf, type InterfaceState } from './state';
import { PSCHED_TICKS_PER_USEC } from './tc-limits';

/**
 * Applying would mean changing or replacing another tool's object (or the interface is
 * missing): nothing is sent. `ifname` is the pod interface at fault.
 */
export class QosConflictError extends NetqosError {
  readonly code = 'ERR_NETQOS_CONFLICT';

  constructor(
    readonly ifname: string,
    message: string,
  ) {
    super(`${ifname}: ${message}`);
    this.name = 'QosConflictError';
  }
}

/** Root qdiscs netqos may replace: none at all, the kernel's default (handle 0:) or its own TBF. */
const replaceable = (root: QdiscState | undefined): boolean =>
  !root || root.handle === '0:' || isOwnTbf(root);

export interface Phases {
  links: Operation[];
  changes: Operation[];
  removals: Operation[];
  cleanup: Operation[];
  /** IFBs to delete, together, last. */
  ifbs: string[];
}

export const emptyPhases = (): Phases => ({ links: [], changes: [], removals: [], cleanup: [], ifbs: [] });
export const flatten = (p: Phases): Operation[] => [
  ...p.links,
  ...p.changes,
  ...p.removals,
  ...p.cleanup,
  ...ifbDeletion(p.ifbs),
];

/** The bucket the kernel will report for a TBF we asked for (it keeps the ticks we send). */
function expectedBurst(want: TbfQdisc): number | undefined {
  if (want.bufferTicks === undefined) return want.burst;
  return Math.round((Math.floor(want.rate / 8) * want.bufferTicks) / PSCHED_TICKS_PER_USEC / 1e6);
}

export function sameTbf(want: TbfQdisc, have: QdiscState | undefined): boolean {
  if (!have || have.kind !== 'tbf' || have.handle !== NETQOS_TBF_HANDLE) return false;
  const h = have as QdiscState & {
    rate: number;
    burst: number;
    limit: number;
    peakrate?: number;
    minburst?: number;
  };
  // One tick's worth of bytes is the resolution of what the kernel reports.
  const slack = (rate: number) => Math.ceil(((rate / 8) * 64) / 1e9) + 1;
  const close = (a: number | undefined, b: number | undefined, rate: number) =>
    a === undefined ? b === undefined : b !== undefined && Math.abs(a - b) <= slack(rate);
  // The kernel keeps rates in bytes/s: 1010 bit/s reads back as 1008.
  const bytes = (bits: number | undefined) => Math.floor((bits ?? 0) / 8);
  return (
    bytes(h.rate) === bytes(want.rate) &&
    h.limit === want.limit &&
    close(expectedBurst(want), h.burst, want.rate) &&
    bytes(h.peakrate) === bytes(want.peakrate) &&
    (!want.peakrate || close(want.minburst, h.minburst, want.peakrate))
  );
}

/** Does the kernel's object carry every field we asked for (extra read-back fields ignored)? */
export function covers(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => covers(w, have[i]));
  }
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object') return false;
    return Object.entries(want).every(
      ([k, v]) => v === undefined || covers(v, (have as Record<string, unknown>)[k]),
    );
  }
  // skbedit reads its priority back as "MAJ:MIN".
  const [, maj, min] =
    typeof want === 'number' && typeof have === 'string'
      ? (/^([0-9a-f]+):([0-9a-f]*)$/.exec(have) ?? [])
      : [];
  if (maj !== undefined) return want === ((parseInt(maj, 16) << 16) | parseInt(min || '0', 16)) >>> 0;
  return want === have;
}

export function sameFilter(want: U32Filter, have: FilterState): boolean {
  const keys = want.keys ?? [{ value: 0, mask: 0, offset: 0 }];
  return (
    have.kind === 'u32' &&
    have.parent === want.parent &&
    have.priority === want.priority &&
    have.protocol === want.protocol &&
    covers(keys, (have as U32Filter).keys) &&
    covers(want.actions, have.actions)
  );
}

export function reconcile(want: DesiredState, have: InterfaceState, out: Phases): void {
  const dev = want.ifname;
  if (!have.link) throw new QosConflictError(dev, 'the interface does not exist');

  // A link squatting the IFB's name is someone else's: neither used, replaced nor deleted.
  const squatter = have.ifbNameTakenBy;
  if (want.ifb && squatter) {
    throw new QosConflictError(
      dev,
      `egress shaping needs the IFB ${squatter.name}, but that name is taken by ${describeForeignLink(squatter)} that is not netqos's; netqos leaves it alone (rename or remove it)`,
    );
  }
  if (want.ifb && !replaceable(have.ifb?.root)) {
    const root = have.ifb!.root!;
    throw new QosConflictError(
      dev,
      `the root qdisc ${root.kind} ${root.handle} on netqos's IFB ${have.ifb!.link.name} belongs to another tool; netqos replaces only the kernel's default or its own (handle ${NETQOS_TBF_HANDLE})`,
    );
  }
  if (want.rootTbf && !sameTbf(want.rootTbf, have.root) && !replaceable(have.root)) {
    throw new QosConflictError(
      dev,
      `the root qdisc ${have.root!.kind} ${have.root!.handle} belongs to another tool; netqos replaces only the kernel's default or its own (handle ${NETQOS_TBF_HANDLE})`,
    );
  }

  // 1. The IFB for egress shaping (one left in the deletion group by an interrupted call is kept).
  if (want.ifb && !have.ifb)
    out.links.push({
      op: 'add',
      link: { kind: 'ifb', name: want.ifb.name, mtu: want.ifb.mtu, up: true, group: NETQOS_IFB_GROUP },
    });
  else if (want.ifb && have.ifb!.link.group !== NETQOS_IFB_GROUP)
    out.links.push({ op: 'change', link: { name: want.ifb.name, group: NETQOS_IFB_GROUP } });

  // 2. TBFs, in place; the hook qdisc; filters.
  if (want.ifb && !sameTbf(want.ifb.tbf, have.ifb?.root))
    out.changes.push({ op: 'replace', qdisc: want.ifb.tbf });
  if (want.rootTbf && !sameTbf(want.rootTbf, have.root))
    out.changes.push({ op: 'replace', qdisc: want.rootTbf });
  const needsEgressHook = [...want.filters.values()].some((f) => f.parent === 'egress');
  if (want.filters.size && !have.hook) out.changes.push({ op: 'add', qdisc: { dev, kind: 'clsact' } });
  if (needsEgressHook && have.hook?.kind === 'ingress') {
    throw new QosConflictError(
      dev,
      'a packet rate to the pod needs the clsact egress hook, but the interface has an ingress qdisc that another tool added',
    );
  }
  for (const [role, f] of want.filters) {
    const current = have.own.get(role);
    if (!current) out.changes.push({ op: 'add', filter: f });
    else if (!sameFilter(f, current)) {
      // Same priority, protocol and handle: the kernel swaps the actions in one step.
      if (current.priority === f.priority && current.protocol === f.protocol) {
        out.changes.push({ op: 'replace', filter: { ...f, handle: current.handle } });
      } else {
        out.removals.push(deleteFilter(current, have));
        out.changes.push({ op: 'add', filter: f });
      }
    }
  }

  // 3. What is no longer wanted.
  for (const [role, f] of have.own)
    if (!want.filters.has(role as Role)) out.removals.push(deleteFilter(f, have));
  if (!want.rootTbf && isOwnTbf(have.root))
    out.removals.push({ op: 'delete', qdisc: { dev, parent: 'root', handle: NETQOS_TBF_HANDLE } });

  // 4. The IFB, and a clsact nobody uses any more.
  if (!want.ifb && have.ifb) out.ifbs.push(have.ifb.link.name);
  // The clsact goes with our last filter, unless another tool's filters still use it.
  if (!want.filters.size && have.own.size > 0 && have.hook?.kind === 'clsact' && have.foreign.length === 0) {
    out.cleanup.push({ op: 'delete', qdisc: { dev, kind: 'clsact' } });
  }
}

/**
 * Deletes one of our filters. When no other filter shares its priority and protocol, the whole
 * priority goes (u32 would otherwise leave its empty hash table behind).
 */
function deleteFilter(f: FilterState, have: InterfaceState): Operation {
  const shared = have.foreign.some(
    (o) => o.parent === f.parent && o.priority === f.priority && o.protocol === f.protocol,
  );
  return {
    op: 'delete',
    filter: {
      dev: have.ifname,
      parent: f.parent,
      priority: f.priority,
      protocol: f.protocol as never,
      kind: 'u32',
      ...(shared ? { handle: f.handle } : {}),
    },
  };
}
