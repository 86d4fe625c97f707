import { ownFields, type LinkKind } from '../kind';

/** An IFB device: created up, with its MTU (and group), in one message. */
export interface IfbLink {
  kind: 'ifb';
  name: string;
  mtu?: number;
  up?: boolean;
  txqlen?: number;
  /** Interface group (a u32 label; see LinkDelete's group). */
  group?: number;
}

/** Changes to an existing link, by name or index. */
export type LinkChange = ({ name: string; index?: never } | { index: number; name?: never }) & {
  up?: boolean;
  mtu?: number;
  group?: number;
};

/**
 * A link to delete, or every link of a group at once: the kernel then waits one RCU grace
 * period for all of them rather than about 20 ms for each.
 */
export type LinkDelete = { name: string } | { index: number } | { group: number };

/** A link as read back. */
export interface LinkState {
  type: 'link';
  index: number;
  name: string;
  kind?: string;
  mtu?: number;
  txqlen?: number;
  group?: number;
  up: boolean;
  flags: number;
  /** The peer's index for a veth (in its namespace). */
  linkIndex?: number;
  linkNetnsId?: number;
  /** "aa:bb:cc:dd:ee:ff" */
  address?: string;
}

/** The interface a link operation names (undefined for a whole group). */
export function linkTarget(l: IfbLink | LinkChange | LinkDelete): string | number | undefined {
  if ('name' in l && l.name !== undefined) return l.name;
  if ('index' in l && l.index !== undefined) return l.index;
  return undefined;
}

export const ifb: LinkKind<IfbLink> = {
  family: 'link',
  kind: 'ifb',
  fields: ownFields<IfbLink, object>()('mtu', 'name', 'group', 'up', 'txqlen'),
  describe: (l) => [l.mtu !== undefined ? `mtu ${l.mtu}` : '', l.up ? 'up' : ''].filter(Boolean).join(', '),
};
