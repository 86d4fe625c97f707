// Atomic batches: before sending, remember the state of every interface the batch touches; if
// any operation fails, put those interfaces back as they were (by difference, so it also undoes
// operations whose exact inverse is unknown, such as a filter whose handle the kernel chose).
import { NetqosArgumentError } from '../errors';
import { decodeChain, decodeClass, decodeFilter, decodeLinks, decodeQdisc, namesOf } from './decode';
import type { DumpPlan } from './dump';
import {
  FILTER_KINDS,
  QDISC_KINDS,
  hasClasses,
  hookParents,
  inPlaceChange,
  isRestorable,
  nameActionInterfaces,
} from './kinds';
import type { ChainState, ClassState, Dev, FilterState, LinkState, Operation, QdiscState } from './types';
import { linkTarget, type LinkDelete } from './link/link';

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
  /**
   * The chains of the hooks and classful qdiscs (present when read whole): a chain's template is
   * state of its own, which the filters in it do not bring back.
   */
  chains?: ChainState[];
}

/** Which qdisc slot an operation names: the root, the hook (ingress/clsact), or another parent. */
function qdiscSlot(q: { kind?: string; parent?: string | number }): 'root' | 'ingress' | undefined {
  if (q.kind !== undefined && QDISC_KINDS.get(q.kind)?.hooks) return 'ingress';
  const p = q.parent;
  if (p === undefined || p === 'root' || p === 0xffffffff || p === 'ffff:ffff') return 'root';
  if (p === 'ingress' || p === 0xfffffff1 || p === 'ffff:fff1') return 'ingress';
  return undefined;
}

/** A handle as the kernel's read-back names it ('1:10'), from a caller's string or number. */
function handleText(h: string | number | undefined): string | undefined {
  if (typeof h === 'number') return `${(h >>> 16).toString(16)}:${(h & 0xffff).toString(16)}`;
  return h?.toLowerCase();
}

/**
 * Why an atomic batch must not be sent as it is: an operation that would replace or delete an
 * object the rollback could not bring back (another tool's qdisc, a veth, a class a qdisc made
 * itself), or one whose kind of object the snapshot does not cover (classes and chains, when the
 * caller's snapshot was not read whole), so a failure would leave it changed. Undefined when
 * every change can be undone. `before` must cover the interfaces the operations touch (as
 * planSnapshot reads them).
 */
export function unrestorableChange(ops: readonly Operation[], before: Snapshot): string | undefined {
  const byIndex = new Map(before.links.map((l) => [l.index, l]));
  const byName = new Map(before.links.map((l) => [l.name, l]));
  const linkOf = (dev: Dev) => (typeof dev === 'number' ? byIndex.get(dev) : byName.get(dev));
  const deviceOf = (dev: Dev) => {
    const name = linkOf(dev)?.name ?? (typeof dev === 'string' ? dev : undefined);
    return { name, device: name === undefined ? undefined : before.devices.get(name) };
  };
  const malformed = (v: unknown) => typeof v !== 'object' || v === null;
  const objectOf = (o: Operation): unknown =>
    'qdisc' in o
      ? o.qdisc
      : 'filter' in o
        ? o.filter
        : 'class' in o
          ? o.class
          : 'chain' in o
            ? o.chain
            : o.link;
  const notRead = (at: string, what: string) =>
    `${at}: the snapshot given holds no ${what} (read it whole with planSnapshot), so a rollback could not put them back`;
  for (const [i, o] of ops.entries()) {
    const at = `ops[${i}]`;
    // Malformed operations are left to the engine, which refuses the batch before sending any.
    if (malformed(o) || malformed(objectOf(o))) continue;
    if ('qdisc' in o) {
      const q = o.qdisc as { kind?: string; parent?: string | number; dev: Dev };
      const slot = qdiscSlot(q);
      const { name, device } = deviceOf(q.dev);
      if (slot === undefined && device && !device.classes)
        return `${at}: an atomic batch restores only root and hook qdiscs, not one at parent ${String(q.parent)}`;
      if (o.op === 'add') continue; // the kernel refuses to add over an existing qdisc
      const parent = slot ?? handleText(q.parent);
      const existing = device?.qdiscs.find((x) => x.parent === parent);
      if (existing && existing.handle !== '0:' && !isRestorable(existing.kind))
        return `${at}: ${o.op} would remove the ${parent} qdisc ${existing.kind} ${existing.handle} on ${name}, which a rollback cannot put back`;
      // What hangs below the root goes with it.
      const below =
        slot === 'root' && o.op !== 'change'
          ? device?.qdiscs.find(
              (x) =>
                x.parent !== 'root' && x.parent !== 'ingress' && x.handle !== '0:' && !isRestorable(x.kind),
            )
          : undefined;
      if (below)
        return `${at}: ${o.op} would remove the qdisc ${below.kind} ${below.handle} at ${below.parent} on ${name}, which a rollback cannot put back`;
    } else if ('class' in o) {
      const c = o.class as { classid?: string | number; dev: Dev };
      const { name, device } = deviceOf(c.dev);
      if (device && !device.classes) return notRead(at, 'classes');
      if (o.op === 'add') continue;
      const existing = device?.classes?.find((x) => x.classid === handleText(c.classid));
      if (existing && (!hasClasses(existing.kind) || existing.classid.endsWith(':')))
        return `${at}: ${o.op} would change the ${existing.kind} class ${existing.classid} on ${name}, which its qdisc made and a rollback cannot put back`;
    } else if ('chain' in o) {
      const { device } = deviceOf((o.chain as { dev: Dev }).dev);
      if (device && !device.chains) return notRead(at, 'chains');
    } else if ('filter' in o) {
      if (o.op === 'add') continue;
      const f = o.filter as {
        dev: Dev;
        parent: string | number;
        priority?: number;
        protocol?: unknown;
        handle?: number;
      };
      const { name, device } = deviceOf(f.dev);
      const hit = (device?.filters ?? []).find(
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
    const {
      qdisc,
      filter,
      class: klass,
      chain,
      link,
    } = o as {
      qdisc?: { dev?: unknown };
      filter?: { dev?: unknown };
      class?: { dev?: unknown };
      chain?: { dev?: unknown };
      link?: unknown;
    };
    const object = qdisc ?? filter ?? klass ?? chain;
    if (object) add(object.dev);
    // A whole-group delete names no interface: its members were named when moved into it.
    else if (typeof link === 'object' && link !== null) add(linkTarget(link as LinkDelete));
  }
  return [...devs];
}

export function* planSnapshot(devs: readonly Dev[]): DumpPlan<Snapshot> {
  const [linkRaw = [], qdiscRaw = []] = yield [{ type: 'link' }, { type: 'qdisc' }];
  const links = decodeLinks(linkRaw);
  const byIndex = namesOf(links);
  const nameOf = (i: number) => byIndex.get(i);
  const names = new Set<string>();
  for (const d of devs) {
    const name = typeof d === 'number' ? byIndex.get(d) : d;
    if (name !== undefined) names.add(name);
  }
  const devices: Snapshot['devices'] = new Map();
  const linkByName = new Map(links.map((l) => [l.name, l]));
  const qdiscsByIndex = new Map<number, QdiscState[]>();
  for (const q of qdiscRaw.map((raw) => decodeQdisc(raw, nameOf))) {
    const list = qdiscsByIndex.get(q.ifindex);
    if (list) list.push(q);
    else qdiscsByIndex.set(q.ifindex, [q]);
  }
  const requests: { type: 'filter' | 'chain' | 'class'; dev: number; parent?: string; name: string }[] = [];
  for (const name of names) {
    const link = linkByName.get(name);
    const qdiscs = link ? (qdiscsByIndex.get(link.index) ?? []) : [];
    devices.set(name, { qdiscs, filters: [], classes: [], chains: [] });
    // The filters and chains of each hook, and of each classful qdisc (which classify into its
    // classes); then the classes.
    const classful = qdiscs.filter((q) => hasClasses(q.kind));
    const blocks = [...qdiscs.flatMap((q) => hookParents(q.kind)), ...classful.map((q) => q.handle)];
    for (const parent of blocks) {
      requests.push({ type: 'filter', dev: link!.index, parent, name });
      requests.push({ type: 'chain', dev: link!.index, parent, name });
    }
    if (classful.length > 0) requests.push({ type: 'class', dev: link!.index, name });
  }
  if (requests.length > 0) {
    const replies = yield requests.map(({ type, dev, parent }) => ({ type, dev, parent }));
    requests.forEach(({ type, name }, i) => {
      const raws = replies[i] ?? [];
      const device = devices.get(name)!;
      if (type === 'class') device.classes = raws.map((raw) => decodeClass(raw, nameOf));
      else if (type === 'chain') device.chains!.push(...raws.map((raw) => decodeChain(raw, nameOf)));
      else {
        const filters = raws.map((raw) => decodeFilter(raw, nameOf));
        // Actions' interfaces by name: a deleted IFB comes back with a new index.
        nameActionInterfaces(filters, nameOf);
        device.filters.push(...filters);
      }
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
 * (a restored filter may redirect to a restored IFB), then root and hook qdiscs, then what hangs
 * below them (classes and their qdiscs, removed deepest first and added shallowest first), then
 * chains (before the filters that join them), then filters.
 */
export function restoreOperations(before: Snapshot, after: Snapshot): Operation[] {
  const links: Operation[] = [];
  const qdiscs: Operation[] = [];
  const trees: Operation[] = [];
  const filterDeletes: Operation[] = [];
  const filterAdds: Operation[] = [];
  const chainDeletes: Operation[] = [];
  const chainAdds: Operation[] = [];
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
    const replaced = restoreQdiscs(name, state.qdiscs, now.qdiscs, qdiscs);
    if (state.classes) restoreTree(name, state, now, replaced.has('root'), trees);
    const gone = goneBlocks(state, now, replaced.has('root'));
    const flushed = state.chains
      ? restoreChains(name, state, now, gone, chainDeletes, chainAdds)
      : new Set<string>();
    restoreFilters(name, state, now, filterDeletes, filterAdds, gone, flushed);
  }
  // A chain's deletion takes its filters; filters go before the classes they point to (a class
  // in use cannot be deleted), and come back after them and after their chains.
  return [...links, ...qdiscs, ...chainDeletes, ...filterDeletes, ...trees, ...chainAdds, ...filterAdds];
}

/**
 * A qdisc the rollback may delete and add back: a restorable kind that is not the kernel's
 * default (handle 0:, as noqueue or a NIC's pfifo_fast), which comes back by itself.
 */
const restorable = (q: QdiscState) => q.handle !== '0:' && isRestorable(q.kind);

/**
 * The classes someone added (RTM_NEWTCLASS), which rollback may delete and add back: not those
 * a qdisc makes itself (prio's bands, mq's queues, HFSC's root class 'MAJ:'), which come and go
 * with their qdisc.
 */
const added = (s: DeviceSnapshot): ClassState[] =>
  (s.classes ?? []).filter((c) => hasClasses(c.kind) && !c.classid.endsWith(':'));

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
    const bOurs = b && restorable(b);
    const aOurs = a && restorable(a);
    if (!bOurs) {
      // The kernel's default (noqueue, pfifo_fast, ...) comes back when ours is deleted.
      if (aOurs) ops.push({ op: 'delete', qdisc: { dev, parent: a!.parent, kind: a!.kind } });
      if (aOurs) replaced.add(parent);
      continue;
    }
    // A classless qdisc of the same kind is changed in place where the kernel can; a classful
    // one is recreated (its classes follow in restoreTree).
    const change = aOurs && a!.kind === b!.kind && !hasClasses(b!.kind) ? changeOf(b!, a!, dev) : undefined;
    if (change) {
      ops.push({ op: 'replace', qdisc: change as never });
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
  const rootBack = rootRecreated ? before.qdiscs.some((q) => q.parent === 'root' && restorable(q)) : true;
  const keep = <T>(list: T[]) => (rootBack ? list : []);
  const b = { qdiscs: keep(inner(before)), classes: keep(added(before)) };
  const a = rootRecreated ? { qdiscs: [], classes: [] } : { qdiscs: inner(after), classes: added(after) };
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
      // A qdisc of another kind or handle at the same class cannot be changed into it, nor one
      // the kernel cannot change as needed.
      return (
        'q' in n &&
        'q' in was &&
        (n.q.kind !== was.q.kind ||
          n.q.handle !== was.q.handle ||
          (canonical(n.q) !== canonical(was.q) && !changeOf(was.q, n.q, dev)))
      );
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
    if ('q' in n) {
      const now = kept ? (afterNodes.get(key(n)) as { q: QdiscState }).q : undefined;
      ops.push({
        op: kept ? 'replace' : 'add',
        qdisc: (now ? changeOf(n.q, now, dev) : asInput(n.q, dev)) as never,
      });
    } else ops.push({ op: kept ? 'replace' : 'add', class: asInput(n.c, dev) as never });
  }
}

/**
 * The parents (hooks, the root qdisc's handle) of `after` whose filters and chains the restore
 * takes away: a hook qdisc being recreated takes its hooks', a recreated root its own.
 */
function goneBlocks(before: DeviceSnapshot, after: DeviceSnapshot, rootRecreated: boolean): Set<string> {
  const hook = (s: DeviceSnapshot) => s.qdiscs.find((q) => q.parent === 'ingress');
  const gone = new Set<string>();
  const b = hook(before)?.kind;
  const a = hook(after)?.kind;
  if (a && b !== a) for (const parent of hookParents(a)) gone.add(parent);
  const root = after.qdiscs.find((q) => q.parent === 'root');
  if (root && rootRecreated) gone.add(root.handle);
  return gone;
}

const chainKey = (parent: string, chain: number) => `${parent}/${chain}`;

/**
 * Restores chains: a chain `after` has that `before` lacks, or whose template differs, is
 * deleted (taking its filters); one `before` has that is missing (or was deleted) comes back
 * with its template. Returns the chains deleted, whose filters are gone with them.
 */
function restoreChains(
  dev: string,
  before: DeviceSnapshot,
  after: DeviceSnapshot,
  gone: ReadonlySet<string>,
  deletes: Operation[],
  adds: Operation[],
): Set<string> {
  const template = (c: ChainState) => JSON.stringify(sortKeys(c.template ?? null));
  const beforeByKey = new Map((before.chains ?? []).map((c) => [chainKey(c.parent, c.chain), c]));
  const afterByKey = new Map(
    (after.chains ?? []).filter((c) => !gone.has(c.parent)).map((c) => [chainKey(c.parent, c.chain), c]),
  );
  const flushed = new Set<string>();
  for (const [k, c] of afterByKey) {
    const b = beforeByKey.get(k);
    if (b && template(b) === template(c)) continue;
    deletes.push({ op: 'delete', chain: { dev, parent: c.parent, chain: c.chain } });
    flushed.add(k);
  }
  for (const [k, c] of beforeByKey) {
    if (afterByKey.has(k) && !flushed.has(k)) continue;
    // A chain without a template comes back with its filters (the kernel makes it for them).
    if (!c.template && before.filters.some((f) => f.parent === c.parent && f.chain === c.chain)) continue;
    adds.push({
      op: 'add',
      chain: { dev, parent: c.parent, chain: c.chain, ...(c.template ? { template: c.template } : {}) },
    });
  }
  return flushed;
}

function restoreFilters(
  dev: string,
  before: { qdiscs: QdiscState[]; filters: FilterState[] },
  after: { qdiscs: QdiscState[]; filters: FilterState[] },
  deletes: Operation[],
  adds: Operation[],
  gone: ReadonlySet<string>,
  flushed: ReadonlySet<string>,
): void {
  // Filters of a recreated hook or root, or of a deleted chain, went with it.
  const afterFilters = after.filters.filter(
    (f) => !gone.has(f.parent) && !flushed.has(chainKey(f.parent, f.chain)),
  );
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

/** The read-back `was` as a change of `now` in place, or undefined where the kernel cannot. */
const changeOf = (was: QdiscState, now: QdiscState, dev: string) =>
  inPlaceChange(was as never, now as never, asInput(was, dev));

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
