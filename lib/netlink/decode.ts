// The seam between the engine's replies and the typed model: the engine decodes each netlink
// message into a plain object tagged with its `type`; these functions check the tag and the
// fields every object of that type has, name its interface, and hand it on typed. A reply that
// is not what was asked for (an engine and a library out of step) is a NetlinkError (EPROTO)
// naming what came, never an object of the wrong shape passed on.
import { NetlinkError } from './errors';
import type { ChainState, ClassState, FilterState, LinkState, QdiscState } from './types';

/** An object as the engine returns it: decoded, not yet typed. */
export type Raw = Record<string, unknown>;
/** An interface's name by its index, where the caller knows it. */
export type NameOf = (ifindex: number) => string | undefined;

type Shape = Readonly<Record<string, 'number' | 'string'>>;
const LINK: Shape = { index: 'number', name: 'string' };
const QDISC: Shape = { ifindex: 'number', kind: 'string', parent: 'string', handle: 'string' };
const CLASS: Shape = { ifindex: 'number', kind: 'string', parent: 'string', classid: 'string' };
const CHAIN: Shape = { ifindex: 'number', parent: 'string', chain: 'number' };
const FILTER: Shape = {
  ifindex: 'number',
  kind: 'string',
  parent: 'string',
  priority: 'number',
  protocol: 'string',
  chain: 'number',
  handle: 'number',
};

function check(raw: Raw, type: string, shape: Shape): void {
  let wrong = raw?.type !== type ? 'type' : undefined;
  if (!wrong) for (const field in shape) if (typeof raw[field] !== shape[field]) wrong ??= field;
  if (wrong === undefined) return;
  const seen = JSON.stringify(raw, (k, v: unknown) => (k === 'stats' ? undefined : v)) ?? String(raw);
  throw new NetlinkError(
    `the engine's reply is not a ${type} (${wrong}: ${JSON.stringify(raw?.[wrong])}): ${seen.slice(0, 200)}`,
    { errno: 71, code: 'EPROTO' },
  );
}

/** A reply object's fields by name (an action's interface fields, a filter's key). */
export const fieldsOf = (o: object): Raw => o as Raw;

export function decodeLink(raw: Raw): LinkState {
  check(raw, 'link', LINK);
  return raw as unknown as LinkState;
}

/** A qdisc with `dev`: its interface's name, or the index as text when `nameOf` does not know it. */
export function decodeQdisc(raw: Raw, nameOf: NameOf): QdiscState {
  check(raw, 'qdisc', QDISC);
  const q = raw as unknown as QdiscState;
  q.dev = nameOf(q.ifindex) ?? String(q.ifindex);
  return q;
}

/** A class with `dev` (as decodeQdisc). */
export function decodeClass(raw: Raw, nameOf: NameOf): ClassState {
  check(raw, 'class', CLASS);
  const c = raw as unknown as ClassState;
  c.dev = nameOf(c.ifindex) ?? String(c.ifindex);
  return c;
}

/**
 * A chain with `dev` (as decodeQdisc). A dump's chains carry the parent it asked for (the kernel
 * names a chain's block by its qdisc: ffff: for both clsact hooks).
 */
export function decodeChain(raw: Raw, nameOf: NameOf): ChainState {
  check(raw, 'chain', CHAIN);
  const c = raw as unknown as ChainState;
  c.dev = nameOf(c.ifindex) ?? String(c.ifindex);
  return c;
}

/**
 * A filter with `dev` (as decodeQdisc). Its actions' interface fields (a redirect's target) are
 * indexes still: each caller names them its own way (nameActionInterfaces, the mirror).
 */
export function decodeFilter(raw: Raw, nameOf: NameOf): FilterState {
  check(raw, 'filter', FILTER);
  const f = raw as unknown as FilterState;
  f.dev = nameOf(f.ifindex) ?? String(f.ifindex);
  return f;
}

export const decodeLinks = (raws: readonly Raw[]): LinkState[] => raws.map(decodeLink);

/** Names by index from links as read. */
export function namesOf(links: readonly LinkState[]): Map<number, string> {
  return new Map(links.map((l) => [l.index, l.name]));
}
