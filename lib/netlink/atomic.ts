// Atomic batches: before sending, remember the state of every interface the batch touches; if
// any operation fails, put those interfaces back as they were (by difference, so it also undoes
// operations whose exact inverse is unknown, such as a filter whose handle the kernel chose).
import type { DumpPlan } from './dump';
import { hasClasses, hookParents, isRestorable, nameActionInterfaces } from './kinds';
import type { ClassState, Dev, FilterState, LinkState, Operation, QdiscState } from './types';
import { linkTarget } from './link/link';

type Raw = Record<string, unknown>;

export interface Snapshot {
  links: LinkState[];
  devices: Map<string, DeviceSnapshot>;
}

export interface DeviceSnapshot {
  qdiscs: QdiscState[];
  filters: FilterState[];
  /**
   * Present when the interface was read whole (planSnapshot): every qdisc, the classes of its
   * classful qdiscs and the filters attached to them. Only then are classes and the qdiscs below
   * them restored; a snapshot without it restores root and hook qdiscs and hook filters.
   */
  classes?: ClassState[];
}

/** The interfaces (by name or index) an operation list changes. */
export function touchedDevices(ops: readonly Operation[]): Dev[] {
  const devs = new Set<Dev>();
  for (const o of ops) {
    if ('qdisc' in o) devs.add(o.qdisc.dev);
    else if ('filter' in o) devs.add(o.filter.dev);
    else if ('class' in o) devs.add(o.class.dev);
    else if ('chain' in o) devs.add(o.chain.dev);
    else {
      // A whole-group delete names no interface: its members were named when moved into it.
      const target = linkTarget(o.link);
      if (target !== undefined) devs.add(target);
    }
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
  const requests: { type: 'filter' | 'class'; dev: number; parent?: string; name: string }[] = [];
  for (const name of names) {
    const link = linkByName.get(name);
    const qdiscs = link ? (qdiscsByIndex.get(link.index) ?? []) : [];
    for (const q of qdiscs) q.dev = name;
    devices.set(name, { qdiscs, filters: [], classes: [] });
    for (const q of qdiscs)
      for (const parent of hookParents(q.kind))
        requests.push({ type: 'filter', dev: link!.index, parent, name });
    // Classful qdiscs: their classes, and the filters that classify into them.
    const classful = qdiscs.filter((q) => hasClasses(q.kind));
    for (const q of classful) requests.push({ type: 'filter', dev: link!.index, parent: q.handle, name });
    if (classful.length > 0) requests.push({ type: 'class', dev: link!.index, name });
  }
  if (requests.length > 0) {
    const replies = yield requests.map(({ name: _name, ...request }) => request);
    replies.forEach((objects, i) => {
      const { type, name: dev } = requests[i];
      for (const o of objects) o.dev = dev;
      const device = devices.get(dev)!;
      if (type === 'class') {
        device.classes = objects as unknown as ClassState[];
        return;
      }
      // Actions' interfaces by name: a deleted IFB comes back with a new index.
      nameActionInterfaces(objects, byIndex);
      device.filters.push(...(objects as unknown as FilterState[]));
    });
  }
  return { links: links.filter((l) => names.has(l.name)), devices };
}

/**
 * Operations that turn `after` back into `before`, for the interfaces in `before`: links first
 * (a restored filter may redirect to a restored IFB), then root and hook qdiscs, then what hangs
 * below them (classes and their qdiscs, removed deepest first and added shallowest first), then
 * filters.
 */
export function restoreOperations(before: Snapshot, after: Snapshot): Operation[] {
  const links: Operation[] = [];
  const qdiscs: Operation[] = [];
  const trees: Operation[] = [];
  const filterDeletes: Operation[] = [];
  const filterAdds: Operation[] = [];
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
    const replaced = restoreQdiscs(name, state.qdiscs, now.qdiscs, qdiscs);
    if (state.classes) restoreTree(name, state, now, replaced.has('root'), trees);
    restoreFilters(name, state, now, filterDeletes, filterAdds, replaced.has('root'));
  }
  // Filters go before the classes they point to (a class in use cannot be deleted), and come
  // back after them.
  return [...links, ...qdiscs, ...filterDeletes, ...trees, ...filterAdds];
}

/** Restores the root and hook qdiscs; returns the slots whose qdisc was deleted or added. */
function restoreQdiscs(
  dev: string,
  before: QdiscState[],
  after: QdiscState[],
  ops: Operation[],
): Set<string> {
  const replaced = new Set<string>();
  for (const parent of ['root', 'ingress']) {
    const b = before.find((q) => q.parent === parent);
    const a = after.find((q) => q.parent === parent);
    if (b && a && canonical(b) === canonical(a)) continue;
    const bOurs = b && isRestorable(b.kind);
    const aOurs = a && isRestorable(a.kind);
    if (!bOurs) {
      // The kernel's default (noqueue, pfifo_fast, ...) comes back when ours is deleted.
      if (aOurs) ops.push({ op: 'delete', qdisc: { dev, parent: a!.parent, kind: a!.kind } });
      if (aOurs) replaced.add(parent);
      continue;
    }
    // A classless qdisc of the same kind is changed in place; a classful one is recreated (its
    // classes follow in restoreTree).
    if (aOurs && a!.kind === b!.kind && !hasClasses(b!.kind)) {
      ops.push({ op: 'replace', qdisc: asInput(b!, dev) as never });
      continue;
    }
    if (aOurs) ops.push({ op: 'delete', qdisc: { dev, parent: a!.parent, kind: a!.kind } });
    ops.push({ op: 'add', qdisc: asInput(b!, dev) as never });
    replaced.add(parent);
  }
  return replaced;
}

/**
 * Restores the classes of classful qdiscs and the qdiscs attached below the root (to classes),
 * by difference: what the batch added or changed goes deepest first, what it removed or changed
 * comes back shallowest first (a class after its parent, a qdisc after its class). When the
 * root qdisc was recreated, nothing of the batch's tree is left and the whole tree comes back.
 */
function restoreTree(
  dev: string,
  before: DeviceSnapshot,
  after: DeviceSnapshot,
  rootRecreated: boolean,
  ops: Operation[],
): void {
  const inner = (s: DeviceSnapshot) => s.qdiscs.filter((q) => q.parent !== 'root' && q.parent !== 'ingress');
  const rootBack = rootRecreated
    ? before.qdiscs.some((q) => q.parent === 'root' && isRestorable(q.kind))
    : true;
  const keep = <T>(list: T[]) => (rootBack ? list : []);
  const b = { qdiscs: keep(inner(before)), classes: keep(before.classes ?? []) };
  const a = rootRecreated
    ? { qdiscs: [], classes: [] }
    : { qdiscs: inner(after), classes: after.classes ?? [] };
  type Node = { q: QdiscState } | { c: ClassState };
  const depthIn = (s: { qdiscs: QdiscState[]; classes: ClassState[] }) => {
    const classes = new Map(s.classes.map((c) => [c.classid, c]));
    const qdiscAt = new Map(s.qdiscs.map((q) => [q.handle, q]));
    const depth = (n: Node, seen = 0): number => {
      if (seen > 64) return seen; // a loop cannot happen in the kernel; never recurse forever
      if ('q' in n) {
        const parent = classes.get(n.q.parent);
        return parent ? depth({ c: parent }, seen + 1) + 1 : 1;
      }
      const parent = classes.get(n.c.parent);
      if (parent) return depth({ c: parent }, seen + 1) + 1;
      const owner = qdiscAt.get(`${n.c.classid.split(':')[0]}:`);
      return owner ? depth({ q: owner }, seen + 1) + 1 : 1;
    };
    return depth;
  };
  const key = (n: Node) => ('q' in n ? `qdisc ${n.q.parent}` : `class ${n.c.classid}`);
  const nodes = (s: { qdiscs: QdiscState[]; classes: ClassState[] }) =>
    new Map<string, Node>(
      [...s.qdiscs.map((q) => ({ q })), ...s.classes.map((c) => ({ c }))].map((n) => [key(n), n]),
    );
  const beforeNodes = nodes(b);
  const afterNodes = nodes(a);
  const same = (x: Node, y: Node) => canonical('q' in x ? x.q : x.c) === canonical('q' in y ? y.q : y.c);
  // Deletions, deepest first: a class's removal takes its qdisc and its own classes with it.
  const depthAfter = depthIn(a);
  const removed = [...afterNodes.values()]
    .filter((n) => {
      const was = beforeNodes.get(key(n));
      if (!was) return true;
      // A qdisc of another kind or handle at the same class cannot be changed into it.
      return 'q' in n && 'q' in was && (n.q.kind !== was.q.kind || n.q.handle !== was.q.handle);
    })
    .sort((x, y) => depthAfter(y) - depthAfter(x));
  const removedClasses = new Set(removed.flatMap((n) => ('c' in n ? [n.c.classid] : [])));
  for (const n of removed) {
    if ('q' in n) {
      if (!removedClasses.has(n.q.parent)) ops.push({ op: 'delete', qdisc: { dev, parent: n.q.parent } });
    } else if (!removedClasses.has(n.c.parent)) {
      ops.push({ op: 'delete', class: { dev, classid: n.c.classid } });
    } else {
      removedClasses.add(n.c.classid);
    }
  }
  // Additions and changes back to what was, shallowest first.
  const depthBefore = depthIn(b);
  const restored = [...beforeNodes.values()]
    .filter((n) => {
      const now = afterNodes.get(key(n));
      return !now || !same(n, now);
    })
    .sort((x, y) => depthBefore(x) - depthBefore(y));
  for (const n of restored) {
    const kept = afterNodes.has(key(n)) && !removed.some((r) => key(r) === key(n));
    if ('q' in n) ops.push({ op: kept ? 'replace' : 'add', qdisc: asInput(n.q, dev) as never });
    else ops.push({ op: kept ? 'replace' : 'add', class: asInput(n.c, dev) as never });
  }
}

function restoreFilters(
  dev: string,
  before: { qdiscs: QdiscState[]; filters: FilterState[] },
  after: { qdiscs: QdiscState[]; filters: FilterState[] },
  deletes: Operation[],
  adds: Operation[],
  rootRecreated = false,
): void {
  const hookKind = (s: { qdiscs: QdiscState[] }) => s.qdiscs.find((q) => q.parent === 'ingress')?.kind;
  // If the hook qdisc is being recreated, its filters went with it; so did a recreated root's.
  const recreated = hookKind(before) !== hookKind(after) || !hookKind(after);
  const rootHandle = after.qdiscs.find((q) => q.parent === 'root')?.handle;
  const afterFilters = after.filters.filter((f) => !(f.parent === rootHandle ? rootRecreated : recreated));
  const key = (f: FilterState) => `${f.parent}/${f.priority}/${f.protocol}/${f.chain}/${f.handle}`;
  const beforeByKey = new Map(before.filters.map((f) => [key(f), f]));
  const afterByKey = new Map(afterFilters.map((f) => [key(f), f]));
  for (const [k, f] of afterByKey) {
    const b = beforeByKey.get(k);
    if (b && canonical(b) === canonical(f)) continue;
    deletes.push({
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
    adds.push({ op: 'add', filter: asInput(f, dev) as never });
  }
}

const STATE_ONLY = new Set(['type', 'ifindex', 'stats', 'dev', 'leaf']);

/** A read-back object as an operation input: state-only fields and action indexes dropped. */
export function asInput(o: QdiscState | ClassState | FilterState, dev: string): Raw {
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
export function canonical(o: QdiscState | ClassState | FilterState): string {
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
