// What an interface has now, read from the kernel and sorted into netqos's objects (by handle
// 4e51: and action cookies) and everything else.
import type { DumpPlan, FilterState, LinkState, QdiscState } from '../netlink';
import { COOKIE_PREFIX, NETQOS_TBF_HANDLE, Role } from './policy';
import { ifbNameFor } from './naming';

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
  own: Map<Role, FilterState>;
  /** Every filter on the hooks that is not netqos's. */
  foreign: FilterState[];
}

export function isOwnTbf(q: QdiscState | undefined): boolean {
  return !!q && q.kind === 'tbf' && q.handle === NETQOS_TBF_HANDLE;
}

/** Role and interface index from a netqos cookie; undefined for any other cookie. */
export function parseCookie(cookie: string | undefined): { role: Role; ifindex: number } | undefined {
  if (!cookie || !cookie.startsWith(COOKIE_PREFIX) || cookie.length !== COOKIE_PREFIX.length + 10) return undefined;
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

const HOOKS: Record<string, string[]> = { ingress: ['ingress'], clsact: ['ingress', 'egress'] };

/** Reads the state of many interfaces of one namespace: two dumps, then one per filter hook. */
export function* planReadInterfaces(ifnames: readonly string[]): DumpPlan<Map<string, InterfaceState>> {
  const [linkRaw, qdiscRaw] = yield [{ type: 'link' }, { type: 'qdisc' }];
  const links = linkRaw as unknown as LinkState[];
  const byName = new Map(links.map((l) => [l.name, l]));
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const qdiscsByIndex = new Map<number, QdiscState[]>();
  for (const q of qdiscRaw as unknown as QdiscState[]) {
    q.dev = byIndex.get(q.ifindex) ?? String(q.ifindex);
    const list = qdiscsByIndex.get(q.ifindex);
    if (list) list.push(q);
    else qdiscsByIndex.set(q.ifindex, [q]);
  }
  const states = new Map<string, InterfaceState>();
  const requests: { type: 'filter'; dev: number; parent: string; ifname: string }[] = [];
  for (const ifname of ifnames) {
    const state: InterfaceState = { ifname, own: new Map(), foreign: [] };
    states.set(ifname, state);
    const link = byName.get(ifname);
    if (!link) continue;
    state.link = link;
    const qdiscs = qdiscsByIndex.get(link.index) ?? [];
    state.root = qdiscs.find((q) => q.parent === 'root');
    state.hook = qdiscs.find((q) => q.parent === 'ingress');
    // Only an IFB is netqos's, whatever else might carry the name.
    const ifbLink = byName.get(ifbNameFor(ifname));
    if (ifbLink?.kind === 'ifb') state.ifb = { link: ifbLink, root: (qdiscsByIndex.get(ifbLink.index) ?? []).find((q) => q.parent === 'root') };
    for (const parent of HOOKS[state.hook?.kind ?? ''] ?? []) requests.push({ type: 'filter', dev: link.index, parent, ifname });
  }
  if (requests.length) {
    const replies = yield requests.map(({ type, dev, parent }) => ({ type, dev, parent }));
    replies.forEach((filters, i) => {
      const state = states.get(requests[i].ifname)!;
      for (const raw of filters as Raw[]) {
        const f = raw as unknown as FilterState;
        f.dev = state.ifname;
        for (const a of (f.actions ?? []) as unknown as Raw[]) {
          if (a.kind === 'mirred' && typeof a.dev === 'number') a.dev = byIndex.get(a.dev) ?? a.dev;
        }
        const role = roleOf(f, state.link!.index);
        if (role !== undefined && !state.own.has(role)) state.own.set(role, f);
        else state.foreign.push(f);
      }
    });
  }
  return states;
}
