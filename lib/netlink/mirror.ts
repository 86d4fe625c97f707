// A mirror of one namespace's traffic-control configuration: its links, the qdiscs at each
// interface's root and hook (ingress or clsact), and the filters on the hooks. It is read once,
// then kept current from the kernel's link and tc notifications, so a caller that asks "what
// does this interface have now" pays nothing per interface beyond a map lookup.
//
// Notifications tell almost everything; where they do not, the mirror reads again, only what is
// in doubt, at the next sync():
// - a u32 filter replaced in place is announced with its old contents (the kernel notifies the
//   node it replaced, and with the priority of the request, which may not be the replaced
//   filter's), so only a filter announced as created (NLM_F_EXCL) is taken as it is; any other
//   makes that interface's hooks read again;
// - a redirect to an interface that went away reads back differently across kernels (its old
//   index, or 0): the filters holding one are read again;
// - an action changed on its own (tc actions replace ... index N) says nothing of the filters
//   that hold it: theirs are read again;
// - lost notifications (the socket's buffer overflowed) make everything read again.
// Deletions the kernel does not announce are inferred: deleting an interface removes its qdiscs
// and filters, deleting a hook qdisc removes its filters. The kernel's default root qdiscs
// (handle 0: — noqueue, pfifo_fast, mq — attached when an interface comes up or loses its root,
// unannounced) are not mirrored: an interface without a root here has the kernel's default.
//
// The mirror keeps no statistics (objects as notifications tell them): read them live (dump).
import { decodeFilter, decodeLink, decodeQdisc, fieldsOf, type Raw } from './decode';
import type { DumpPlan, DumpRequest } from './dump';
import { ACTION_KINDS, hookParents } from './kinds';
import type { FilterState, LinkState, QdiscState } from './types';

/** A decoded notification, as the native engine delivers it. */
export type TcEvent = Raw & { event: 'new' | 'del'; type: 'link' | 'qdisc' | 'filter' | 'actions' };

/** The part of a handle the mirror needs: its notifications. */
export interface EventSource {
  events(): { events: TcEvent[]; overflow: boolean };
}

const isHookParent = (parent: unknown) => parent === 'ingress' || parent === 'egress';
/** Hooks read per request batch when the mirror fills (see readHooks). */
const HOOKS_PER_READ = 4096;
const filterKey = (f: FilterState) => `${f.parent}|${f.priority}|${f.protocol}|${f.chain}|${f.handle}`;

export interface MirrorCounters {
  /** Notifications applied. */
  events: number;
  /** Interfaces whose hooks were read again because a notification could not tell. */
  rereads: number;
  /** Whole reads (the first, and one after each overflow). */
  fills: number;
}

export class TcMirror {
  private readonly links = new Map<number, LinkState>();
  private readonly indexes = new Map<string, number>();
  private readonly roots = new Map<number, QdiscState>();
  private readonly hooks = new Map<number, QdiscState>();
  private readonly filtersOf = new Map<number, FilterState[]>();
  /** Interfaces whose hook filters must be read again. */
  private readonly doubtful = new Set<number>();
  /**
   * Actions' fields that name an interface (a mirred target, ...), by that interface's index:
   * renamed when it is, re-read when it goes. Three entries each, [action, field, the filter's
   * interface, ...] (an interface is named by one or two; a Set and an object per reference
   * would weigh more than the pod's other objects together).
   */
  private readonly references = new Map<number, (Raw | string | number)[]>();
  /** The interfaces an action's fields name (to forget its references when it goes). */
  private readonly referencedBy = new WeakMap<Raw, number[]>();
  /** When each interface's objects last changed (a tick of `clock`): see stamp(). */
  private readonly stamps = new Map<number, number>();
  private clock = 0;
  private filled = false;
  private running = false;
  readonly counters: MirrorCounters = { events: 0, rereads: 0, fills: 0 };

  constructor(private readonly source: EventSource) {}

  /** The interface called `name` now, or undefined. */
  link(name: string): LinkState | undefined {
    const index = this.indexes.get(name);
    return index === undefined ? undefined : this.links.get(index);
  }

  linkByIndex(index: number): LinkState | undefined {
    return this.links.get(index);
  }

  /** Every interface of the namespace. */
  allLinks(): IterableIterator<LinkState> {
    return this.links.values();
  }

  /** Whether a plan() is under way (it may be waiting for a read): run one at a time. */
  get busy(): boolean {
    return this.running;
  }

  /** Makes the next plan() read everything again (a periodic check that nothing was missed). */
  invalidate(): void {
    this.filled = false;
  }

  /** The interface's root qdisc and its ingress or clsact qdisc. */
  qdiscs(ifindex: number): { root?: QdiscState; hook?: QdiscState } {
    return { root: this.roots.get(ifindex), hook: this.hooks.get(ifindex) };
  }

  /** The filters on the interface's hooks (both clsact hooks), with their actions. */
  filters(ifindex: number): readonly FilterState[] {
    return this.filtersOf.get(ifindex) ?? [];
  }

  /**
   * A number that changes whenever anything the mirror holds of the interface called `name`
   * changes (its link, its root or hook qdisc, its filters), never repeating, also across
   * interfaces and re-reads: an equal stamp means the same interface with the same objects.
   * Undefined for a name the mirror does not know.
   */
  stamp(name: string): number | undefined {
    const index = this.indexes.get(name);
    return index === undefined ? undefined : this.stamps.get(index);
  }

  private touch(ifindex: number): void {
    this.stamps.set(ifindex, ++this.clock);
  }

  /**
   * Applies the notifications received since the last sync, and reads again what they leave in
   * doubt (nothing, usually: then it makes no request at all). Run it through a handle's
   * read() or readSync().
   */
  *plan(): DumpPlan<void> {
    if (this.running) throw new Error('TcMirror: plan() is already running (one at a time; see busy)');
    this.running = true;
    try {
      yield* this.update();
    } finally {
      this.running = false;
    }
  }

  private *update(): DumpPlan<void> {
    let { events, overflow } = this.source.events();
    while (!this.filled || overflow) {
      // Subscribed before this read, so whatever changes during it is queued and replayed after.
      yield* this.fill();
      ({ events, overflow } = this.source.events());
    }
    for (const e of events) this.apply(e);
    this.counters.events += events.length;
    if (this.doubtful.size === 0) return;
    const doubtful = [...this.doubtful];
    this.counters.rereads += doubtful.length;
    this.doubtful.clear();
    for (const ifindex of doubtful) this.dropFilters(ifindex);
    yield* this.readHooks(doubtful);
  }

  /**
   * Reads the filters of these interfaces' hooks (those their hook qdisc has) into the mirror,
   * a slice of hooks per read (what one read decodes is held whole until it is built).
   */
  private *readHooks(ifindexes: Iterable<number>): DumpPlan<void> {
    let requests: DumpRequest[] = [];
    let owners: number[] = [];
    for (const ifindex of ifindexes) {
      for (const parent of hookParents(this.hooks.get(ifindex)?.kind ?? '')) {
        requests.push({ type: 'filter', dev: ifindex, parent, stats: false });
        owners.push(ifindex);
        if (requests.length < HOOKS_PER_READ) continue;
        yield* this.addHooks(requests, owners);
        requests = [];
        owners = [];
      }
    }
    if (requests.length) yield* this.addHooks(requests, owners);
  }

  private *addHooks(requests: DumpRequest[], owners: number[]): DumpPlan<void> {
    const replies = yield requests;
    owners.forEach((ifindex, i) => this.addFilters(ifindex, replies[i] ?? []));
  }

  /** Reads everything: links, qdiscs, then every hook's filters. */
  private *fill(): DumpPlan<void> {
    this.links.clear();
    this.indexes.clear();
    this.roots.clear();
    this.hooks.clear();
    this.filtersOf.clear();
    this.doubtful.clear();
    this.references.clear();
    this.stamps.clear();
    const [links = [], qdiscs = []] = yield [{ type: 'link' }, { type: 'qdisc', stats: false }];
    for (const l of links) this.putLink(decodeLink(l));
    for (const q of qdiscs) this.putQdisc(decodeQdisc(q, this.nameOf));
    yield* this.readHooks([...this.hooks.keys()]);
    this.filled = true;
    this.counters.fills++;
  }

  private apply(event: TcEvent): void {
    // What is kept is the object itself, as a read would return it (a copy: deleting a field
    // would leave the kept object in V8's slow, larger form).
    const { event: what, created, ...e } = event;
    const added = what === 'new';
    switch (e.type) {
      case 'link': {
        const l = decodeLink(e);
        if (added) this.putLink(l);
        else this.dropLink(l.index);
        return;
      }
      case 'qdisc': {
        const q = decodeQdisc(e, this.nameOf);
        if (added) this.putQdisc(q);
        else this.dropQdisc(q);
        return;
      }
      case 'filter': {
        // Only a filter announced as created (NLM_F_EXCL) is known to be as announced.
        const f = decodeFilter(e, this.nameOf);
        if (added) this.putFilter(f, created === true);
        else this.dropFilter(f);
        return;
      }
      case 'actions':
        this.doubtActions(e as TcEvent);
        return;
    }
  }

  private putLink(l: LinkState): void {
    const before = this.links.get(l.index);
    if (before && this.indexes.get(before.name) === l.index) this.indexes.delete(before.name);
    this.links.set(l.index, l);
    this.indexes.set(l.name, l.index);
    this.touch(l.index);
    if (!before || before.name !== l.name) this.renamed(l.index);
  }

  private dropLink(index: number): void {
    const l = this.links.get(index);
    if (l && this.indexes.get(l.name) === index) this.indexes.delete(l.name);
    this.links.delete(index);
    this.roots.delete(index);
    this.hooks.delete(index);
    this.dropFilters(index);
    this.doubtful.delete(index);
    const held = this.references.get(index) ?? [];
    for (let i = 2; i < held.length; i += 3) this.doubtful.add(held[i] as number);
    this.references.delete(index);
    this.stamps.delete(index);
  }

  /** Interface `index` appeared or changed its name: the objects that name it follow. */
  private renamed(index: number): void {
    const name = this.links.get(index)?.name;
    if (name === undefined) return;
    const held = this.references.get(index) ?? [];
    for (let i = 0; i < held.length; i += 3) {
      (held[i] as Raw)[held[i + 1] as string] = name;
      this.touch(held[i + 2] as number);
    }
    const root = this.roots.get(index);
    if (root) root.dev = name;
    const hook = this.hooks.get(index);
    if (hook) hook.dev = name;
    for (const f of this.filtersOf.get(index) ?? []) f.dev = name;
  }

  private dropFilters(ifindex: number, keep?: (f: FilterState) => boolean): void {
    const list = this.filtersOf.get(ifindex);
    if (!list) return;
    this.touch(ifindex);
    const kept = keep ? list.filter(keep) : [];
    for (const f of list) {
      if (kept.includes(f)) continue;
      for (const action of f.actions ?? []) {
        const a = fieldsOf(action);
        for (const index of this.referencedBy.get(a) ?? []) {
          const held = this.references.get(index);
          if (!held) continue;
          for (let i = held.length - 3; i >= 0; i -= 3) if (held[i] === a) held.splice(i, 3);
          if (!held.length) this.references.delete(index);
        }
      }
    }
    if (kept.length) this.filtersOf.set(ifindex, kept);
    else this.filtersOf.delete(ifindex);
  }

  private readonly nameOf = (index: number): string => this.links.get(index)?.name ?? String(index);

  private putQdisc(q: QdiscState): void {
    q.dev = this.nameOf(q.ifindex);
    if (q.parent === 'root' || q.parent === 'ingress') this.touch(q.ifindex);
    if (q.parent === 'root') {
      if (q.handle === '0:') this.roots.delete(q.ifindex);
      else this.roots.set(q.ifindex, q);
    } else if (q.parent === 'ingress') {
      const before = this.hooks.get(q.ifindex);
      // A different hook qdisc is a new one: whatever filters the old one had went with it.
      if (before && (before.kind !== q.kind || before.handle !== q.handle)) this.dropFilters(q.ifindex);
      this.hooks.set(q.ifindex, q);
    }
  }

  private dropQdisc(q: QdiscState): void {
    if (q.parent === 'root') {
      // Only the root it names: a replacement may be announced after its successor.
      if (this.roots.get(q.ifindex)?.handle !== q.handle) return;
      this.roots.delete(q.ifindex);
      this.touch(q.ifindex);
    } else if (q.parent === 'ingress') {
      this.touch(q.ifindex);
      this.hooks.delete(q.ifindex);
      this.dropFilters(q.ifindex);
      this.doubtful.delete(q.ifindex);
    }
  }

  private named(f: FilterState): FilterState {
    f.dev = this.nameOf(f.ifindex);
    for (const action of f.actions ?? []) {
      const a = fieldsOf(action);
      for (const field of ACTION_KINDS.get(a.kind as string)?.interfaceFields ?? []) {
        const index = a[field];
        if (typeof index !== 'number') continue;
        const targets = this.referencedBy.get(a);
        if (targets) targets.push(index);
        else this.referencedBy.set(a, [index]);
        const held = this.references.get(index);
        if (held) held.push(a, field, f.ifindex);
        else this.references.set(index, [a, field, f.ifindex]);
        a[field] = this.links.get(index)?.name ?? index;
      }
    }
    return f;
  }

  private addFilters(ifindex: number, filters: Raw[]): void {
    let list = this.filtersOf.get(ifindex);
    if (!list) this.filtersOf.set(ifindex, (list = []));
    this.touch(ifindex);
    for (const f of filters) list.push(this.named(decodeFilter(f, this.nameOf)));
  }

  private putFilter(f: FilterState, created: boolean): void {
    if (!isHookParent(f.parent)) return;
    const key = filterKey(f);
    if (!created || this.filtersOf.get(f.ifindex)?.some((o) => filterKey(o) === key)) {
      this.doubtful.add(f.ifindex);
      return;
    }
    this.addFilters(f.ifindex, [fieldsOf(f)]);
  }

  private dropFilter(f: FilterState): void {
    const list = this.filtersOf.get(f.ifindex);
    if (!list || !isHookParent(f.parent)) return;
    // Handle 0: the whole priority (every filter of that priority and protocol) went.
    const gone = (o: FilterState) =>
      o.parent === f.parent &&
      o.priority === f.priority &&
      o.protocol === f.protocol &&
      o.chain === f.chain &&
      (f.handle === 0 || o.handle === f.handle);
    this.dropFilters(f.ifindex, (o) => !gone(o));
  }

  /** An action changed on its own: the filters holding it are read again. */
  private doubtActions(e: TcEvent): void {
    const changed = new Set(((e.actions as Raw[] | undefined) ?? []).map((a) => `${a.kind}|${a.index}`));
    if (changed.size === 0) return;
    for (const [ifindex, list] of this.filtersOf) {
      if (list.some((f) => (f.actions ?? []).some((a) => changed.has(`${a.kind}|${a.index}`))))
        this.doubtful.add(ifindex);
    }
  }
}
