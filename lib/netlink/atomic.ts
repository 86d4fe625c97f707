// Atomic batches: before sending, remember the state of every interface the batch touches; if
// any operation fails, put those interfaces back as they were (by difference, so it also undoes
// operations whose exact inverse is unknown, such as a filter whose handle the kernel chose).
import { HOOK_PARENTS, type DumpPlan } from './dump';
import type { Dev, FilterState, LinkState, Operation, QdiscState } from './types';
import { linkTarget, type LinkDelete } from './link/link';

type Raw = Record<string, unknown>;

export interface Snapshot {
  links: LinkState[];
  devices: Map<string, { qdiscs: QdiscState[]; filters: FilterState[] }>;
}

const RESTORABLE_QDISCS = new Set(['tbf', 'ingress', 'clsact']);

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
  // A mirred target is remembered by name: a deleted IFB comes back with a new index.
  const nameTargets = (filters: Raw[]) => {
    for (const f of filters)
      for (const a of (f.actions as Raw[] | undefined) ?? []) {
        if (a.kind === 'mirred' && typeof a.dev === 'number') a.dev = byIndex.get(a.dev) ?? a.dev;
      }
  };
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
      for (const parent of HOOK_PARENTS[q.kind] ?? [])
        filterRequests.push({ type: 'filter', dev: link!.index, parent, name });
  }
  if (filterRequests.length > 0) {
    const replies = yield filterRequests.map(({ type, dev, parent }) => ({ type, dev, parent }));
    replies.forEach((filters, i) => {
      const dev = filterRequests[i].name;
      for (const f of filters) f.dev = dev;
      nameTargets(filters);
      devices.get(dev)!.filters.push(...(filters as unknown as FilterState[]));
    });
  }
  return { links: links.filter((l) => names.has(l.name)), devices };
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
    const bOurs = b && RESTORABLE_QDISCS.has(b.kind);
    const aOurs = a && RESTORABLE_QDISCS.has(a.kind);
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
