// Atomic batches: before sending, remember the state of every interface the batch touches; if
// any operation fails, put those interfaces back as they were (by difference, so it also undoes
// operations whose exact inverse is unknown, such as a filter whose handle the kernel chose).
import { NetqosArgumentError } from '../errors';
import type { DumpPlan } from './dump';
import { FILTER_KINDS, QDISC_KINDS, hookParents, isRestorable, nameActionInterfaces } from './kinds';
import type { Dev, FilterState, LinkState, Operation, QdiscState } from './types';
import { linkTarget, type LinkDelete } from './link/link';

type Raw = Record<string, unknown>;

export interface Snapshot {
  links: LinkState[];
  devices: Map<string, { qdiscs: QdiscState[]; filters: FilterState[] }>;
}

/** Which qdisc slot an operation names: the root, the hook (ingress/clsact), or another parent. */
function qdiscSlot(q: { kind?: string; parent?: string | number }): 'root' | 'ingress' | undefined {
  if (q.kind !== undefined && QDISC_KINDS.get(q.kind)?.hooks) return 'ingress';
  const p = q.parent;
  if (p === undefined || p === 'root' || p === 0xffffffff || p === 'ffff:ffff') return 'root';
  if (p === 'ingress' || p === 0xfffffff1 || p === 'ffff:fff1') return 'ingress';
  return undefined;
}

/**
 * Why an atomic batch must not be sent as it is: an operation that would replace or delete an
 * object the rollback could not bring back (another tool's htb, a veth, a classful child, a
 * flower filter), so a failure would leave it destroyed. Undefined when every change can be
 * undone. `before` must cover the interfaces the operations touch (as planSnapshot reads them).
 */
export function unrestorableChange(ops: readonly Operation[], before: Snapshot): string | undefined {
  const byIndex = new Map(before.links.map((l) => [l.index, l]));
  const byName = new Map(before.links.map((l) => [l.name, l]));
  const linkOf = (dev: Dev) => (typeof dev === 'number' ? byIndex.get(dev) : byName.get(dev));
  const malformed = (v: unknown) => typeof v !== 'object' || v === null;
  for (const [i, o] of ops.entries()) {
    const at = `ops[${i}]`;
    // Malformed operations are left to the engine, which refuses the batch before sending any.
    if (malformed(o) || malformed('qdisc' in o ? o.qdisc : 'filter' in o ? o.filter : o.link)) continue;
    if ('qdisc' in o) {
      const q = o.qdisc as { kind?: string; parent?: string | number; dev: Dev };
      const slot = qdiscSlot(q);
      if (slot === undefined)
        return `${at}: an atomic batch restores only root and hook qdiscs, not one at parent ${String(q.parent)}`;
      if (o.op === 'add') continue; // the kernel refuses to add over an existing qdisc
      const name = linkOf(q.dev)?.name ?? (typeof q.dev === 'string' ? q.dev : undefined);
      const existing =
        name === undefined ? undefined : before.devices.get(name)?.qdiscs.find((x) => x.parent === slot);
      if (existing && existing.handle !== '0:' && !isRestorable(existing.kind))
        return `${at}: ${o.op} would remove the ${slot} qdisc ${existing.kind} ${existing.handle} on ${name}, which a rollback cannot put back`;
    } else if ('filter' in o) {
      if (o.op === 'add') continue;
      const f = o.filter as {
        dev: Dev;
        parent: string | number;
        priority?: number;
        protocol?: unknown;
        handle?: number;
      };
      const name = linkOf(f.dev)?.name ?? (typeof f.dev === 'string' ? f.dev : undefined);
      const hit = (name === undefined ? [] : (before.devices.get(name)?.filters ?? [])).find(
        (x) =>
          x.parent === f.parent &&
          (f.priority === undefined || x.priority === f.priority) &&
          (f.protocol === undefined || x.protocol === f.protocol) &&
          (f.handle === undefined || x.handle === f.handle) &&
          !FILTER_KINDS.get(x.kind)?.restorable,
      );
      if (hit)
        return `${at}: ${o.op} would remove the ${hit.kind} filter ${hit.parent} priority ${hit.priority} on ${name}, which a rollback cannot put back`;
    } else if (o.op === 'delete') {
      const target = linkTarget(o.link);
      const doomed =
        target === undefined
          ? before.links.filter((l) => l.group === (o.link as { group: number }).group)
          : [linkOf(target)].filter((l): l is LinkState => !!l);
      const lost = doomed.find((l) => l.kind !== 'ifb');
      if (lost)
        return `${at}: delete would remove ${lost.name}, a ${lost.kind ?? 'link of unknown kind'}, which a rollback cannot put back (only IFBs are recreated)`;
    }
  }
  return undefined;
}

/** The interfaces (by name or index) an operation list changes. */
export function touchedDevices(ops: readonly Operation[]): Dev[] {
  const devs = new Set<Dev>();
  // Malformed operations are skipped: the engine refuses the batch before sending any of it.
  const add = (dev: unknown) => {
    if (typeof dev === 'string' || typeof dev === 'number') devs.add(dev);
  };
  for (const o of ops as readonly unknown[]) {
    if (typeof o !== 'object' || o === null) continue;
    const { qdisc, filter, link } = o as {
      qdisc?: { dev?: unknown };
      filter?: { dev?: unknown };
      link?: unknown;
    };
    if (qdisc) add(qdisc.dev);
    else if (filter) add(filter.dev);
    // A whole-group delete names no interface: its members were named when moved into it.
    else if (typeof link === 'object' && link !== null) add(linkTarget(link as LinkDelete));
  }
  return [...devs];
}

export function* planSnapshot(devs: readonly Dev[]): DumpPlan<Snapshot> {
  const [linkRaw, qdiscRaw] = yield [{ type: 'link' }, { type: 'qdisc' }];
  const links = linkRaw as unknown as LinkState[];
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const names = new Set<string>();
  for (const d of devs) {
    const name = typeof d === 'number' ? byIndex.get(d) : d;
    if (name !== undefined) names.add(name);
  }
  const devices: Snapshot['devices'] = new Map();
  const linkByName = new Map(links.map((l) => [l.name, l]));
  const qdiscsByIndex = new Map<number, QdiscState[]>();
  for (const q of qdiscRaw as unknown as QdiscState[]) {
    const list = qdiscsByIndex.get(q.ifindex);
    if (list) list.push(q);
    else qdiscsByIndex.set(q.ifindex, [q]);
  }
  const filterRequests: { type: 'filter'; dev: number; parent: string; name: string }[] = [];
  for (const name of names) {
    const link = linkByName.get(name);
    const qdiscs = link ? (qdiscsByIndex.get(link.index) ?? []) : [];
    for (const q of qdiscs) q.dev = name;
    devices.set(name, { qdiscs, filters: [] });
    for (const q of qdiscs)
      for (const parent of hookParents(q.kind))
        filterRequests.push({ type: 'filter', dev: link!.index, parent, name });
  }
  if (filterRequests.length > 0) {
    const replies = yield filterRequests.map(({ type, dev, parent }) => ({ type, dev, parent }));
    replies.forEach((filters, i) => {
      const dev = filterRequests[i].name;
      for (const f of filters) f.dev = dev;
      // Actions' interfaces by name: a deleted IFB comes back with a new index.
      nameActionInterfaces(filters, byIndex);
      devices.get(dev)!.filters.push(...(filters as unknown as FilterState[]));
    });
  }
  return { links: links.filter((l) => names.has(l.name)), devices };
}

/** Throws a NetqosArgumentError (nothing sent) on an unrestorableChange. */
export function refuseUnrestorable(ops: readonly Operation[], before: Snapshot): void {
  const why = unrestorableChange(ops, before);
  if (why !== undefined) throw new NetqosArgumentError(`atomic apply refused, nothing sent: ${why}`);
}

/**
 * Operations that turn `after` back into `before`, for the interfaces in `before`: links first
 * (a restored filter may redirect to a restored IFB), then qdiscs, then filters.
 */
export function restoreOperations(before: Snapshot, after: Snapshot): Operation[] {
  const links: Operation[] = [];
  const qdiscs: Operation[] = [];
  const filters: Operation[] = [];
  const linkAfter = new Map(after.links.map((l) => [l.name, l]));
  const linkBefore = new Map(before.links.map((l) => [l.name, l]));
  // Links the batch created go, with everything on them.
  for (const [name, link] of linkAfter) {
    if (!linkBefore.has(name) && link.kind === 'ifb') links.push({ op: 'delete', link: { name } });
  }
  // Attributes the batch changed on links that are still there (an IFB moved to the deletion group).
  for (const [name, was] of linkBefore) {
    const now = linkAfter.get(name);
    if (!now) continue;
    const change: { name: string; up?: boolean; mtu?: number; group?: number } = { name };
    if (was.group !== undefined && now.group !== was.group) change.group = was.group;
    if (was.mtu !== undefined && now.mtu !== was.mtu) change.mtu = was.mtu;
    if (now.up !== was.up) change.up = was.up;
    if (Object.keys(change).length > 1) links.push({ op: 'change', link: change });
  }
  for (const [name, state] of before.devices) {
    const link = linkBefore.get(name);
    if (!link) continue;
    let now = after.devices.get(name);
    if (!linkAfter.has(name)) {
      if (link.kind !== 'ifb') continue; // only IFBs can be recreated as they were
      links.push({
        op: 'add',
        link: { kind: 'ifb', name, mtu: link.mtu, up: link.up, ...(link.group ? { group: link.group } : {}) },
      });
      now = { qdiscs: [], filters: [] };
    }
    now ??= { qdiscs: [], filters: [] };
    restoreQdiscs(name, state.qdiscs, now.qdiscs, qdiscs);
    restoreFilters(name, state, now, filters);
  }
  return [...links, ...qdiscs, ...filters];
}

function restoreQdiscs(dev: string, before: QdiscState[], after: QdiscState[], ops: Operation[]): void {
  for (const parent of ['root', 'ingress']) {
    const b = before.find((q) => q.parent === parent);
    const a = after.find((q) => q.parent === parent);
    if (b && a && canonical(b) === canonical(a)) continue;
    const bOurs = b && isRestorable(b.kind);
    const aOurs = a && isRestorable(a.kind);
    if (!bOurs) {
      // The kernel's default (noqueue, pfifo_fast, ...) comes back when ours is deleted.
      if (aOurs) ops.push({ op: 'delete', qdisc: { dev, parent: a!.parent, kind: a!.kind } });
      continue;
    }
    if (aOurs && a!.kind === b!.kind && b!.kind === 'tbf') {
      ops.push({ op: 'replace', qdisc: asInput(b!, dev) as never });
      continue;
    }
    if (aOurs) ops.push({ op: 'delete', qdisc: { dev, parent: a!.parent, kind: a!.kind } });
    ops.push({ op: 'add', qdisc: asInput(b!, dev) as never });
  }
}

function restoreFilters(
  dev: string,
  before: { qdiscs: QdiscState[]; filters: FilterState[] },
  after: { qdiscs: QdiscState[]; filters: FilterState[] },
  ops: Operation[],
): void {
  const hookKind = (s: { qdiscs: QdiscState[] }) => s.qdiscs.find((q) => q.parent === 'ingress')?.kind;
  // If the hook qdisc is being recreated, its filters went with it.
  const recreated = hookKind(before) !== hookKind(after) || !hookKind(after);
  const afterFilters = recreated ? [] : after.filters;
  const key = (f: FilterState) => `${f.parent}/${f.priority}/${f.protocol}/${f.chain}/${f.handle}`;
  const beforeByKey = new Map(before.filters.map((f) => [key(f), f]));
  const afterByKey = new Map(afterFilters.map((f) => [key(f), f]));
  for (const [k, f] of afterByKey) {
    const b = beforeByKey.get(k);
    if (b && canonical(b) === canonical(f)) continue;
    ops.push({
      op: 'delete',
      filter: {
        dev,
        parent: f.parent,
        priority: f.priority,
        protocol: f.protocol as never,
        handle: f.handle,
        chain: f.chain,
        kind: f.kind,
      },
    });
  }
  for (const [k, f] of beforeByKey) {
    const a = afterByKey.get(k);
    if (a && canonical(a) === canonical(f)) continue;
    ops.push({ op: 'add', filter: asInput(f, dev) as never });
  }
}

const STATE_ONLY = new Set(['type', 'ifindex', 'stats', 'dev']);

/** A read-back object as an operation input: state-only fields and action indexes dropped. */
export function asInput(o: QdiscState | FilterState, dev: string): Raw {
  const out: Raw = { dev };
  for (const [k, v] of Object.entries(o)) {
    if (STATE_ONLY.has(k)) continue;
    if (k === 'actions') out.actions = (v as Raw[]).map(({ index: _i, stats: _s, ...rest }) => rest);
    else out[k] = v;
  }
  if (o.type === 'filter' && (o as FilterState).chain === 0) delete out.chain;
  return out;
}

/** Order-independent identity of an object's configuration (statistics and indexes ignored). */
export function canonical(o: QdiscState | FilterState): string {
  return JSON.stringify(sortKeys(asInput(o, '')));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Raw)
        .sort()
        .map((k) => [k, sortKeys((v as Raw)[k])]),
    );
  }
  return v;
}
