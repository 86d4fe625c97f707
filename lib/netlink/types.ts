// The tc object model shared by every kind: interfaces, handles, controls, statistics, and the
// operation shapes the engine takes. Each kind's own fields live in qdisc/, filter/, action/, link/.
import type { TbfQdisc } from './qdisc/tbf';
import type { IngressQdisc } from './qdisc/ingress';
import type { ClsactQdisc } from './qdisc/clsact';
import type { U32Filter } from './filter/u32';
import type { MatchallFilter } from './filter/matchall';
import type { PoliceAction } from './action/police';
import type { MirredAction } from './action/mirred';
import type { PeditAction } from './action/pedit';
import type { CsumAction } from './action/csum';
import type { SkbeditAction } from './action/skbedit';
import type { GactAction } from './action/gact';
import type { IfbLink, LinkChange, LinkDelete, LinkState } from './link/link';

/** An interface: its name (resolved in the handle's namespace when sent) or its index. */
export type Dev = string | number;

/**
 * A tc handle: 'root', 'ingress', 'egress' (clsact's egress hook, filters only), 'MAJ:' or
 * 'MAJ:MIN' in hex as tc prints them ('1:', 'ffff:', '1:1'), or the 32-bit number.
 */
export type TcHandle = string | number;

/** What happens to a packet after an action: tc's control names. */
export type Control =
  | 'ok'
  | 'pass'
  | 'drop'
  | 'shot'
  | 'reclassify'
  | 'pipe'
  | 'stolen'
  | 'continue'
  | 'trap'
  | `goto chain ${number}`
  | `jump ${number}`;

/** Counters of a qdisc or an action, as the kernel keeps them. */
export interface Stats {
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  requeues: number;
  /** Bytes queued now. */
  backlog: number;
  /** Packets queued now. */
  qlen: number;
}

export interface QdiscCommon {
  dev: Dev;
  /** Default 'root'. Ingress and clsact have fixed parents. */
  parent?: TcHandle;
  /** Default: the kernel picks one. */
  handle?: TcHandle;
}

export interface FilterCommon {
  dev: Dev;
  /** 'ingress' (ingress qdisc or clsact ingress), 'egress' (clsact egress), or a qdisc handle. */
  parent: TcHandle;
  /** 1..65535; lower runs first. Default: the kernel picks one. */
  priority?: number;
  /** 'all' (default), 'ip', 'ipv6', 'arp', '802.1q', '802.1ad', or an EtherType. */
  protocol?: 'all' | 'ip' | 'ipv6' | 'arp' | '802.1q' | '802.1ad' | number;
  chain?: number;
  /** The classifier-specific handle (u32: 0x800_00_001 style numbers). */
  handle?: number;
  actions?: Action[];
}

export interface ActionCommon {
  /** Up to 16 bytes as hex: a mark of ownership that reads back with the action. */
  cookie?: string;
  /** The action's index in the kernel's table; default: a new one. */
  index?: number;
}

export type Qdisc = TbfQdisc | IngressQdisc | ClsactQdisc;
export type Filter = U32Filter | MatchallFilter;
export type Action = PoliceAction | MirredAction | PeditAction | CsumAction | SkbeditAction | GactAction;

/** Enough to name a qdisc for deletion. */
export interface QdiscRef {
  dev: Dev;
  parent?: TcHandle;
  handle?: TcHandle;
  kind?: Qdisc['kind'];
}

/** Enough to name a filter (or all filters of a priority) for deletion. */
export interface FilterRef {
  dev: Dev;
  parent: TcHandle;
  priority?: number;
  protocol?: FilterCommon['protocol'];
  handle?: number;
  chain?: number;
  kind?: Filter['kind'];
}

export type Operation =
  | { op: 'add' | 'replace' | 'change'; qdisc: Qdisc }
  | { op: 'delete'; qdisc: QdiscRef }
  | { op: 'add' | 'replace'; filter: Filter }
  | { op: 'delete'; filter: FilterRef }
  | { op: 'add'; link: IfbLink }
  | { op: 'change'; link: LinkChange }
  | { op: 'delete'; link: LinkDelete };

/** Objects as read back from the kernel: names and indexes resolved, with statistics. */
export type QdiscState = Qdisc & {
  type: 'qdisc';
  dev: string;
  ifindex: number;
  parent: string;
  handle: string;
  stats: Stats;
};
export type FilterState = Filter & {
  type: 'filter';
  dev: string;
  ifindex: number;
  parent: string;
  priority: number;
  protocol: string;
  handle: number;
  chain: number;
  actions?: ActionState[];
};
export type ActionState = Action & { index: number; stats?: Stats };
export type { LinkState };

export type DumpQuery =
  | { type: 'qdisc'; dev?: Dev }
  | { type: 'filter'; dev: Dev; parent?: TcHandle }
  /** kind: only links of this kind ('ifb', 'veth', ...), filtered by the kernel (not with dev). */
  | { type: 'link'; dev?: Dev; kind?: string };
