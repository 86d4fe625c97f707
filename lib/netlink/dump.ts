// Reading the kernel's state back: which dump requests a query needs, and how their raw replies
// become typed objects with interface names. Written as a generator so the synchronous and the
// Promise paths share one plan.
import { hookParents, nameActionInterfaces } from './kinds';
import type { ChainState, ClassState, Dev, DumpQuery, FilterState, LinkState, QdiscState } from './types';

type Raw = Record<string, unknown>;
/**
 * One read: everything of a type (link, qdisc) or of one hook (filter, with dev and parent), or
 * one object (a link with dev, a qdisc with dev and parent). `optional`: what is not there (the
 * interface, the qdisc, the hook) reads as nothing instead of an error.
 */
export type DumpRequest = {
  type: 'qdisc' | 'class' | 'filter' | 'chain' | 'link' | 'action';
  dev?: Dev;
  parent?: string | number;
  optional?: boolean;
  /** action: the kind to list ("mirred"); with `index`, the one action of that index is got. */
  kind?: string;
  index?: number;
};
/** Yields batches of requests, receives their replies, returns the objects. */
export type DumpPlan<T> = Generator<DumpRequest[], T, Raw[][]>;

export function* planDump(
  query: DumpQuery,
): DumpPlan<(QdiscState | ClassState | FilterState | ChainState | LinkState)[]> {
  if (query.type === 'link') {
    const [links] = yield [
      query.dev === undefined ? { type: 'link' } : { type: 'link', dev: query.dev, optional: true },
    ];
    return links as unknown as LinkState[];
  }
  if (query.type === 'qdisc') {
    const [qdiscs, links] = yield [{ type: 'qdisc', dev: query.dev }, { type: 'link' }];
    return nameAll(qdiscs, links) as unknown as QdiscState[];
  }
  if (query.type === 'class' || query.type === 'chain') {
    const [objects, links] = yield [{ ...query }, { type: 'link' }];
    // The kernel names a chain's block by its qdisc (ffff: for both clsact hooks): the parent
    // asked for says which one.
    if (query.type === 'chain') for (const c of objects) c.parent = query.parent;
    return nameAll(objects, links) as unknown as (ClassState | ChainState)[];
  }
  let parents: (string | number)[];
  let links: Raw[];
  if (query.parent !== undefined) {
    parents = [query.parent];
    [links] = yield [{ type: 'link' }];
  } else {
    // Every filter hook the interface has: those of its ingress or clsact qdisc.
    const [qdiscs, linkList] = yield [{ type: 'qdisc', dev: query.dev }, { type: 'link' }];
    links = linkList;
    parents = qdiscs.flatMap((q) => hookParents(q.kind as string));
  }
  if (parents.length === 0) return [];
  const replies = yield parents.map((parent) => ({ type: 'filter' as const, dev: query.dev, parent }));
  return nameAll(replies.flat(), links) as unknown as FilterState[];
}

/** Adds `dev` (the interface name) beside each `ifindex`, and names the actions' interfaces. */
function nameAll(objects: Raw[], links: Raw[]): Raw[] {
  const names = new Map<number, string>();
  for (const l of links) names.set(l.index as number, l.name as string);
  for (const o of objects) o.dev = names.get(o.ifindex as number) ?? o.ifindex;
  nameActionInterfaces(objects, names);
  return objects;
}

export function runDumpSync<T>(plan: DumpPlan<T>, run: (r: DumpRequest[]) => Raw[][]): T {
  let step = plan.next(undefined as unknown as Raw[][]);
  while (!step.done) step = plan.next(run(step.value as DumpRequest[]));
  return step.value;
}

export async function runDump<T>(plan: DumpPlan<T>, run: (r: DumpRequest[]) => Promise<Raw[][]>): Promise<T> {
  let step = plan.next(undefined as unknown as Raw[][]);
  while (!step.done) step = plan.next(await run(step.value as DumpRequest[]));
  return step.value;
}
