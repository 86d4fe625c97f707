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
import { decodeFilter, decodeLinks, decodeQdisc, type NameOf, type Raw } from '../netlink/decode';
import { nameActionInterfaces } from '../netlink/kinds';
import { COOKIE_PREFIX, NETQOS_TBF_HANDLE, Role } from './policy';
import { ifbNameFor, isValidInterfaceName } from './naming';
import { isOwnIfb } from './ownership';

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

  constructor(links: readonly Raw[], qdiscs: readonly Raw[]) {
    for (const l of decodeLinks(links)) {
      this.byName.set(l.name, l);
      this.names.set(l.index, l.name);
    }
    for (const q of qdiscs.map((raw) => decodeQdisc(raw, this.nameOf))) {
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

  addFilters(ifindex: number, filters: readonly Raw[]): void {
    let list = this.filtersOf.get(ifindex);
    if (!list) this.filtersOf.set(ifindex, (list = []));
    list.push(...named(filters, this.nameOf));
  }

  private readonly nameOf: NameOf = (i) => this.names.get(i);
}

/** Filters as read, with `dev` and their actions' interfaces (a redirect's target) named. */
function named(filters: readonly Raw[], nameOf: NameOf): FilterState[] {
  const out = filters.map((raw) => decodeFilter(raw, nameOf));
  nameActionInterfaces(out, nameOf);
  return out;
}

/** Up to this many interfaces are read object by object; more, by listing the namespace's. */
export const FEW_INTERFACES = 4;

/**
 * Reads the state of interfaces of one namespace. A few: each one's link and its IFB asked for
 * by name, their qdiscs (one dump of the namespace's, filtered as it arrives: a qdisc get would
 * make the kernel announce the qdisc to every listener) and the hooks' filters. More: the links
 * and the qdiscs of the whole namespace, then each hook's filters. Every request is answered to
 * this process only. `stats`: with the counters (readQos) or without (planning).
 */
export function* planReadInterfaces(
  ifnames: readonly string[],
  { stats = true }: { stats?: boolean } = {},
): DumpPlan<Map<string, InterfaceState>> {
  if (ifnames.length <= FEW_INTERFACES) return yield* planReadFew(ifnames, stats);
  const [links = [], qdiscs = []] = yield [{ type: 'link' }, { type: 'qdisc', stats }];
  const view = new ReadView(links, qdiscs);
  const requests: { type: 'filter'; dev: number; parent: string; stats: boolean }[] = [];
  const asked = new Set<number>();
  for (const ifname of ifnames) {
    const link = view.link(ifname);
    if (!link || asked.has(link.index)) continue;
    asked.add(link.index);
    for (const parent of hookParents(view.qdiscs(link.index).hook?.kind ?? ''))
      requests.push({ type: 'filter', dev: link.index, parent, stats });
  }
  if (requests.length) {
    const replies = yield requests;
    requests.forEach(({ dev }, i) => view.addFilters(dev, replies[i] ?? []));
  }
  return statesOf(view, ifnames);
}

function* planReadFew(ifnames: readonly string[], stats: boolean): DumpPlan<Map<string, InterfaceState>> {
  const names = [...new Set(ifnames)].filter(isValidInterfaceName);
  const per = (ifname: string): DumpRequest[] => {
    const ifb = ifbNameFor(ifname);
    return [
      { type: 'link', dev: ifname, optional: true },
      { type: 'link', dev: ifb, optional: true },
      { type: 'qdisc', dev: ifname, parent: 'root', optional: true, stats },
      { type: 'qdisc', dev: ifname, parent: 'ingress', optional: true, stats },
      { type: 'qdisc', dev: ifb, parent: 'root', optional: true, stats },
      // Egress first: usually empty, its dump ends at once and lets the next one start in the
      // same sendmsg (see RouteSocket::read).
      { type: 'filter', dev: ifname, parent: 'egress', optional: true, stats },
      { type: 'filter', dev: ifname, parent: 'ingress', optional: true, stats },
    ];
  };
  const replies = names.length ? yield names.flatMap(per) : [];
  // Each name's seven replies, in per's order (a list for every request: see DumpPlan).
  const read = names.map((ifname, k) => {
    const [
      link = [],
      ifbLink = [],
      root = [],
      ingress = [],
      ifbRoot = [],
      egressHook = [],
      ingressHook = [],
    ] = replies.slice(7 * k, 7 * k + 7);
    const hooks = { egress: egressHook, ingress: ingressHook };
    return { ifname, links: [...link, ...ifbLink], qdiscs: [...root, ...ingress, ...ifbRoot], hooks };
  });
  const links: Raw[] = read.flatMap((r) => r.links);
  const qdiscs: Raw[] = read.flatMap((r) => r.qdiscs);
  // Other tools' filters may redirect to interfaces not read yet: read those too, to name them.
  const known = new Set(links.map((l) => l.index as number));
  const targets = new Set<number>();
  read.forEach(({ hooks }) => {
    for (const f of [...hooks.egress, ...hooks.ingress]) {
      for (const a of (f.actions as Raw[] | undefined) ?? [])
        if (a.kind === 'mirred' && typeof a.dev === 'number' && a.dev > 0 && !known.has(a.dev))
          targets.add(a.dev);
    }
  });
  if (targets.size)
    for (const found of yield [...targets].map((dev): DumpRequest => ({ type: 'link', dev, optional: true })))
      links.push(...found);
  const view = new ReadView(links, qdiscs);
  read.forEach(({ ifname, hooks }) => {
    const link = view.link(ifname);
    // A hook's filters only count when the hook qdisc is there (they went with it otherwise).
    const hook = link && view.qdiscs(link.index).hook;
    if (!link || !hook) return;
    for (const parent of ['ingress', 'egress'] as const)
      if (hookParents(hook.kind).includes(parent)) view.addFilters(link.index, hooks[parent]);
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
  const [qdiscs = [], ...hooks] = yield [{ type: 'qdisc' }, ...requests];
  const roots = new Map<number, QdiscState>();
  const nameOf: NameOf = (index) => mirror.linkByIndex(index)?.name;
  for (const raw of qdiscs) {
    if (raw.parent !== 'root') continue;
    const q = decodeQdisc(raw, nameOf);
    roots.set(q.ifindex, q);
  }
  const filters = new Map<number, FilterState[]>();
  requests.forEach(({ dev }, i) => {
    filters.set(dev, [...(filters.get(dev) ?? []), ...named(hooks[i] ?? [], nameOf)]);
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
