// Reading the kernel's state back: which dump requests a query needs, and how their raw replies
// become typed objects with interface names. Written as a generator so the synchronous and the
// Promise paths share one plan.
import {
  decodeChain,
  decodeClass,
  decodeFilter,
  decodeLinks,
  decodeQdisc,
  namesOf,
  type NameOf,
  type Raw,
} from './decode';
import { hookParents, nameActionInterfaces } from './kinds';
import type { ChainState, ClassState, Dev, DumpQuery, FilterState, LinkState, QdiscState } from './types';
/**
 * One read: everything of a type (link, qdisc), of one interface (class, with dev) or of one hook
 * or classful qdisc (filter and chain, with dev and parent), or one object (a link with dev, a
 * qdisc with dev and parent). `optional`: what is not there (the interface, the qdisc, the hook)
 * reads as nothing instead of an error.
 */
export type DumpRequest = {
  type: 'qdisc' | 'class' | 'filter' | 'chain' | 'link' | 'action';
  dev?: Dev;
  parent?: string | number;
  optional?: boolean;
  /** Default true; false: no `stats` objects (for readers that keep no counters). */
  stats?: boolean;
  /** Links: `type`, `index` and `name` only (enough to name other objects' interfaces). */
  namesOnly?: boolean;
  /** Links listed: only those of this kind (the kernel filters them). Actions: the kind to list. */
  kind?: string;
  /** action: with `kind`, the one action of that index is got instead. */
  index?: number;
  /**
   * action: have the kernel load the kind's module, by asking it to make an action of the kind
   * without options, which every kind refuses before making anything (EINVAL: the kind is there
   * now; ENOENT: it cannot be loaded). Nothing made, nobody notified.
   */
  load?: boolean;
};
/**
 * Yields batches of requests, receives their replies, returns the objects. The replies are one
 * list per request, in order, empty when nothing came (records.ts makes each): a plan's `= []`
 * on a reply it destructures never applies.
 */
export type DumpPlan<T> = Generator<DumpRequest[], T, Raw[][]>;

/** The interfaces' names, to name other objects' interfaces by. */
const NAMES: DumpRequest = { type: 'link', namesOnly: true };

export function* planDump(
  query: DumpQuery,
): DumpPlan<(QdiscState | ClassState | FilterState | ChainState | LinkState)[]> {
  if (query.type === 'link') {
    const [links = []] = yield [
      query.dev === undefined
        ? { type: 'link', kind: query.kind }
        : { type: 'link', dev: query.dev, optional: true, kind: query.kind },
    ];
    return decodeLinks(links);
  }
  if (query.type === 'qdisc') {
    const [qdiscs = [], links = []] = yield [{ type: 'qdisc', dev: query.dev }, NAMES];
    const names = namesOf(decodeLinks(links));
    return qdiscs.map((q) => decodeQdisc(q, (i) => names.get(i)));
  }
  if (query.type === 'class' || query.type === 'chain') {
    // Every object is on `dev` and refers to no other interface: a name names them all, an
    // index is named by a get of that one link.
    const request: DumpRequest = { type: query.type, dev: query.dev };
    if (query.type === 'chain') request.parent = query.parent;
    const byIndex = typeof query.dev === 'number';
    const [objects = [], links = []] = yield byIndex
      ? [request, { type: 'link', dev: query.dev, optional: true, namesOnly: true }]
      : [request];
    const name = byIndex ? decodeLinks(links)[0]?.name : (query.dev as string);
    const nameOf: NameOf = () => name;
    return query.type === 'class'
      ? objects.map((c) => decodeClass(c, nameOf))
      : objects.map((c) => decodeChain(c, nameOf));
  }
  let parents: (string | number)[];
  let links: Raw[];
  if (query.parent !== undefined) {
    parents = [query.parent];
    [links = []] = yield [NAMES];
  } else {
    // Every filter hook the interface has: those of its ingress or clsact qdisc.
    const [qdiscs = [], linkList = []] = yield [{ type: 'qdisc', dev: query.dev }, NAMES];
    links = linkList;
    parents = qdiscs.flatMap((q) => hookParents(q.kind as string));
  }
  if (parents.length === 0) return [];
  const replies = yield parents.map((parent) => ({ type: 'filter' as const, dev: query.dev, parent }));
  const names = namesOf(decodeLinks(links));
  const nameOf = (i: number) => names.get(i);
  const filters: FilterState[] = replies.flat().map((f) => decodeFilter(f, nameOf));
  nameActionInterfaces(filters, nameOf);
  return filters;
}

export function runDumpSync<T>(plan: DumpPlan<T>, run: (r: DumpRequest[]) => Raw[][]): T {
  let step = plan.next();
  while (!step.done) step = plan.next(run(step.value as DumpRequest[]));
  return step.value;
}

export async function runDump<T>(plan: DumpPlan<T>, run: (r: DumpRequest[]) => Promise<Raw[][]>): Promise<T> {
  let step = plan.next();
  while (!step.done) step = plan.next(await run(step.value as DumpRequest[]));
  return step.value;
}
