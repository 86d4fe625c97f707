// What an interface has now, read from the kernel and sorted into netqos's objects (by handle
// 4e51: and action cookies) and everything else.
import {
  hookParents,
  type DumpPlan,
  type DumpRequest,
  type FilterState,
  type LinkState,
  type QdiscState,
  type TcMirror,
} from '../netlink';
import { COOKIE_PREFIX, NETQOS_TBF_HANDLE, Role } from './policy';
import { ifbNameFor, isValidInterfaceName } from './naming';
import { isOwnIfb } from './ownership';

type Raw = Record<string, unknown>;

export interface InterfaceState {
  ifname: string;
  link?: LinkState;
  /** Whatever sits at the root (ours if kind tbf and handle 4e51:). */
  root?: QdiscState;
  /** The interface's ingress or clsact qdisc. */
  hook?: QdiscState;
  /** netqos's IFB for this interface, and its root qdisc. */
  ifb?: { link: LinkState; root?: QdiscState };
  /** A link that carries the IFB's name but is not netqos's (another kind, or another group). */
  ifbNameTakenBy?: LinkState;
  own: Map<Role, FilterState>;
  /** Every filter on the hooks that is not netqos's. */
  foreign: FilterState[];
}

export function isOwnTbf(q: QdiscState | undefined): boolean {
  return !!q && q.kind === 'tbf' && q.handle === NETQOS_TBF_HANDLE;
}

/** Role and interface index from a netqos cookie; undefined for any other cookie. */
export function parseCookie(cookie: string | undefined): { role: Role; ifindex: number } | undefined {
  if (!cookie || !cookie.startsWith(COOKIE_PREFIX) || cookie.length !== COOKIE_PREFIX.length + 10)
    return undefined;
  return { role: parseInt(cookie.slice(6, 8), 16) as Role, ifindex: parseInt(cookie.slice(8), 16) };
}

/**
 * The netqos role of a filter on interface `ifindex`, from its actions' cookies; undefined for
 * other tools' filters (and for netqos filters recorded for another interface index).
 */
export function roleOf(f: FilterState, ifindex: number): Role | undefined {
  for (const a of f.actions ?? []) {
    const parsed = parseCookie((a as { cookie?: string }).cookie);
    if (parsed && parsed.ifindex === ifindex) return parsed.role;
  }
  return undefined;
}

/** What reading an interface's state needs of its namespace: a fresh read, or a TcMirror. */
export interface TcView {
  link(name: string): LinkState | undefined;
  qdiscs(ifindex: number): { root?: QdiscState; hook?: QdiscState };
  /** The filters on both hooks, interfaces named. */
  filters(ifindex: number): readonly FilterState[];
}

/** One interface's state, sorted into netqos's objects and the rest. */
export function interfaceState(view: TcView, ifname: string): InterfaceState {
  const state: InterfaceState = { ifname, own: new Map(), foreign: [] };
  const link = view.link(ifname);
  if (!link) return state;
  state.link = link;
  const { root, hook } = view.qdiscs(link.index);
  state.root = root;
  state.hook = hook;
  // Only netqos's own IFB is netqos's, whatever else might carry the name.
  const ifbLink = view.link(ifbNameFor(ifname));
  if (isOwnIfb(ifbLink)) state.ifb = { link: ifbLink!, root: view.qdiscs(ifbLink!.index).root };
  else if (ifbLink) state.ifbNameTakenBy = ifbLink;
  for (const f of view.filters(link.index)) {
    const role = roleOf(f, link.index);
    if (role !== undefined && !state.own.has(role)) state.own.set(role, f);
    else state.foreign.push(f);
  }
  return state;
}

/** A read's results, indexed, with interface names filled in. */
class ReadView implements TcView {
  private readonly byName = new Map<string, LinkState>();
  private readonly names = new Map<number, string>();
  private readonly qdiscsOf = new Map<number, { root?: QdiscState; hook?: QdiscState }>();
  private readonly filtersOf = new Map<number, FilterState[]>();

  constructor(links: LinkState[], qdiscs: QdiscState[]) {
    for (const l of links) {
      this.byName.set(l.name, l);
      this.names.set(l.index, l.name);
    }
    for (const q of qdiscs) {
      q.dev = this.names.get(q.ifindex) ?? String(q.ifindex);
      let entry = this.qdiscsOf.get(q.ifindex);
      if (!entry) this.qdiscsOf.set(q.ifindex, (entry = {}));
      if (q.parent === 'root') entry.root ??= q;
      else if (q.parent === 'ingress') entry.hook ??= q;
    }
  }

  link(name: string): LinkState | undefined {
    return this.byName.get(name);
  }

  qdiscs(ifindex: number): { root?: QdiscState; hook?: QdiscState } {
    return this.qdiscsOf.get(ifindex) ?? {};
  }

  filters(ifindex: number): readonly FilterState[] {
    return this.filtersOf.get(ifindex) ?? [];
  }

  addFilters(ifindex: number, filters: Raw[]): void {
    let list = this.filtersOf.get(ifindex);
    if (!list) this.filtersOf.set(ifindex, (list = []));
    list.push(...named(filters, ifindex, (i) => this.names.get(i)));
  }
}

/** Filters of interface `ifindex` as read, with `dev` and their redirects' targets named. */
function named(
  filters: Raw[],
  ifindex: number,
  nameOf: (index: number) => string | undefined,
): FilterState[] {
  return filters.map((raw) => {
    const f = raw as unknown as FilterState;
    f.dev = nameOf(ifindex) ?? String(ifindex);
    for (const a of (f.actions ?? []) as unknown as Raw[]) {
      if (a.kind === 'mirred' && typeof a.dev === 'number') a.dev = nameOf(a.dev) ?? a.dev;
    }
    return f;
  });
}

/** Up to this many interfaces are read object by object; more, by listing the namespace's. */
export const FEW_INTERFACES = 4;

/**
 * Reads the state of interfaces of one namespace. A few: each one's link, root and hook qdiscs,
 * hooks' filters and its IFB, asked for directly, in one round (the cost does not grow with the
 * namespace). More: two dumps of the whole namespace, then one per filter hook.
 */
export function* planReadInterfaces(ifnames: readonly string[]): DumpPlan<Map<string, InterfaceState>> {
  if (ifnames.length <= FEW_INTERFACES) return yield* planReadFew(ifnames);
  const [links, qdiscs] = yield [{ type: 'link' }, { type: 'qdisc' }];
  const view = new ReadView(links as unknown as LinkState[], qdiscs as unknown as QdiscState[]);
  const requests: { type: 'filter'; dev: number; parent: string }[] = [];
  const asked = new Set<number>();
  for (const ifname of ifnames) {
    const link = view.link(ifname);
    if (!link || asked.has(link.index)) continue;
    asked.add(link.index);
    for (const parent of hookParents(view.qdiscs(link.index).hook?.kind ?? ''))
      requests.push({ type: 'filter', dev: link.index, parent });
  }
  if (requests.length) {
    const replies = yield requests;
    replies.forEach((filters, i) => view.addFilters(requests[i].dev, filters));
  }
  return statesOf(view, ifnames);
}

function* planReadFew(ifnames: readonly string[]): DumpPlan<Map<string, InterfaceState>> {
  const names = [...new Set(ifnames)].filter(isValidInterfaceName);
  const per = (ifname: string): DumpRequest[] => {
    const ifb = ifbNameFor(ifname);
    return [
      { type: 'link', dev: ifname, optional: true },
      { type: 'link', dev: ifb, optional: true },
      { type: 'qdisc', dev: ifname, parent: 'root', optional: true },
      { type: 'qdisc', dev: ifname, parent: 'ingress', optional: true },
      { type: 'qdisc', dev: ifb, parent: 'root', optional: true },
      { type: 'filter', dev: ifname, parent: 'ingress', optional: true },
      { type: 'filter', dev: ifname, parent: 'egress', optional: true },
    ];
  };
  const replies = names.length ? yield names.flatMap(per) : [];
  const links: Raw[] = [];
  const qdiscs: Raw[] = [];
  names.forEach((_, k) => {
    const r = replies.slice(7 * k, 7 * k + 7);
    links.push(...r[0], ...r[1]);
    qdiscs.push(...r[2], ...r[3], ...r[4]);
  });
  // Other tools' filters may redirect to interfaces not read yet: read those too, to name them.
  const known = new Set(links.map((l) => l.index as number));
  const targets = new Set<number>();
  names.forEach((_, k) => {
    for (const f of [...replies[7 * k + 5], ...replies[7 * k + 6]]) {
      for (const a of (f.actions as Raw[] | undefined) ?? [])
        if (a.kind === 'mirred' && typeof a.dev === 'number' && a.dev > 0 && !known.has(a.dev))
          targets.add(a.dev);
    }
  });
  if (targets.size)
    for (const found of yield [...targets].map((dev): DumpRequest => ({ type: 'link', dev, optional: true })))
      links.push(...found);
  const view = new ReadView(links as unknown as LinkState[], qdiscs as unknown as QdiscState[]);
  names.forEach((ifname, k) => {
    const link = view.link(ifname);
    // A hook's filters only count when the hook qdisc is there (they went with it otherwise).
    const hook = link && view.qdiscs(link.index).hook;
    if (!link || !hook) return;
    for (const [parent, i] of [
      ['ingress', 5],
      ['egress', 6],
    ] as const) {
      if (hookParents(hook.kind).includes(parent)) view.addFilters(link.index, replies[7 * k + i]);
    }
  });
  return statesOf(view, ifnames);
}

/** The same from a mirror: it applies what the kernel announced, and reads only what that leaves in doubt. */
export function* planReadMirrored(
  mirror: TcMirror,
  ifnames: readonly string[],
): DumpPlan<Map<string, InterfaceState>> {
  yield* mirror.plan();
  return statesOf(mirror, ifnames);
}

/**
 * The same with live statistics, which a mirror does not keep: the configuration is the
 * mirror's, the counters come from one qdisc dump (the TBFs') and from the hooks of the
 * interfaces whose netqos filters police (the policers'), instead of every hook of every pod.
 */
export function* planReadMirroredWithStats(
  mirror: TcMirror,
  ifnames: readonly string[],
): DumpPlan<Map<string, InterfaceState>> {
  yield* mirror.plan();
  const requests: { type: 'filter'; dev: number; parent: string }[] = [];
  const asked = new Set<number>();
  for (const ifname of ifnames) {
    const s = interfaceState(mirror, ifname);
    if (
      !s.link ||
      asked.has(s.link.index) ||
      ![...s.own.values()].some((f) => f.actions?.some((a) => a.kind === 'police'))
    )
      continue;
    asked.add(s.link.index);
    for (const parent of hookParents(s.hook?.kind ?? ''))
      requests.push({ type: 'filter', dev: s.link.index, parent });
  }
  const [qdiscs, ...hooks] = yield [{ type: 'qdisc' }, ...requests];
  const roots = new Map<number, QdiscState>();
  for (const raw of qdiscs) {
    const q = raw as unknown as QdiscState;
    if (q.parent !== 'root') continue;
    q.dev = mirror.linkByIndex(q.ifindex)?.name ?? String(q.ifindex);
    roots.set(q.ifindex, q);
  }
  const filters = new Map<number, FilterState[]>();
  hooks.forEach((list, i) => {
    const dev = requests[i].dev;
    filters.set(dev, [
      ...(filters.get(dev) ?? []),
      ...named(list, dev, (index) => mirror.linkByIndex(index)?.name),
    ]);
  });
  const live: TcView = {
    link: (name) => mirror.link(name),
    qdiscs: (ifindex) => ({ root: roots.get(ifindex), hook: mirror.qdiscs(ifindex).hook }),
    filters: (ifindex) => filters.get(ifindex) ?? mirror.filters(ifindex),
  };
  return statesOf(live, ifnames);
}

function statesOf(view: TcView, ifnames: readonly string[]): Map<string, InterfaceState> {
  const states = new Map<string, InterfaceState>();
  for (const ifname of ifnames) states.set(ifname, interfaceState(view, ifname));
  return states;
}
