// The tc object model shared by every kind: interfaces, handles, controls, statistics, and the
// operation shapes the engine takes. Each kind's own fields live in qdisc/, filter/, action/, link/.
import type { TbfQdisc } from './qdisc/tbf';
import type { IngressQdisc } from './qdisc/ingress';
import type { ClsactQdisc } from './qdisc/clsact';
import type { HtbClass, HtbQdisc } from './qdisc/htb';
import type { HfscClass, HfscQdisc } from './qdisc/hfsc';
import type { PfifoFastQdisc, PrioQdisc } from './qdisc/prio';
import type { BfifoQdisc, PfifoQdisc } from './qdisc/fifo';
import type { SfqQdisc } from './qdisc/sfq';
import type { FqCodelQdisc } from './qdisc/fq_codel';
import type { CodelQdisc } from './qdisc/codel';
import type { FqQdisc } from './qdisc/fq';
import type { CakeQdisc } from './qdisc/cake';
import type { NetemQdisc } from './qdisc/netem';
import type { U32Filter } from './filter/u32';
import type { MatchallFilter } from './filter/matchall';
import type { FlowerFilter } from './filter/flower';
import type { FwFilter } from './filter/fw';
import type { BpfFilter } from './filter/bpf';
import type { BasicFilter } from './filter/basic';
import type { VlanAction } from './action/vlan';
import type { TunnelKeyAction } from './action/tunnel_key';
import type { ConnmarkAction } from './action/connmark';
import type { CtAction } from './action/ct';
import type { SampleAction } from './action/sample';
import type { BpfAction } from './action/bpf';
import type { NatAction } from './action/nat';
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
  /** The kind's own statistics, when it has them (e.g. HtbClassXstats, FqCodelXstats). */
  xstats?: Record<string, unknown>;
}

export interface QdiscCommon {
  dev: Dev;
  /** Default 'root'. Ingress and clsact have fixed parents. */
  parent?: TcHandle;
  /** Default: the kernel picks one. */
  handle?: TcHandle;
}

export interface ClassCommon {
  dev: Dev;
  /** The class, 'MAJ:MIN' ('1:10'): the major is its qdisc's handle. */
  classid: TcHandle;
  /**
   * The parent class ('1:1'), or for a top-level class its qdisc: HTB takes '1:' or 'root' (and
   * reads back 'root'), HFSC '1:', its root class (which reads back itself, parent 'root').
   */
  parent?: TcHandle;
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

export type Qdisc =
  | TbfQdisc
  | IngressQdisc
  | ClsactQdisc
  | HtbQdisc
  | HfscQdisc
  | PrioQdisc
  | PfifoFastQdisc
  | PfifoQdisc
  | BfifoQdisc
  | SfqQdisc
  | FqCodelQdisc
  | CodelQdisc
  | FqQdisc
  | CakeQdisc
  | NetemQdisc;
export type Class = HtbClass | HfscClass;
export type Filter = U32Filter | MatchallFilter | FlowerFilter | FwFilter | BpfFilter | BasicFilter;
export type Action =
  | PoliceAction
  | MirredAction
  | PeditAction
  | CsumAction
  | SkbeditAction
  | GactAction
  | VlanAction
  | TunnelKeyAction
  | ConnmarkAction
  | CtAction
  | SampleAction
  | BpfAction
  | NatAction;

/** Enough to name a qdisc for deletion. */
export interface QdiscRef {
  dev: Dev;
  parent?: TcHandle;
  handle?: TcHandle;
  kind?: Qdisc['kind'];
}

/** Enough to name a class for deletion. */
export interface ClassRef {
  dev: Dev;
  classid: TcHandle;
  parent?: TcHandle;
  kind?: Class['kind'];
}

type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A classifier's keys without its actions or target: what every filter of a chain must fit. */
export type FilterTemplate = OmitEach<
  Filter,
  Exclude<keyof FilterCommon, 'protocol'> | 'classid' | 'skipHw' | 'skipSw'
>;

/** A filter chain of a hook or classful qdisc; filters join it with `chain`. */
export interface Chain {
  dev: Dev;
  parent: TcHandle;
  chain: number;
  /** A classifier template: filters of the chain must use this kind and these keys' masks. */
  template?: FilterTemplate;
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
  | { op: 'add' | 'replace' | 'change'; class: Class }
  | { op: 'delete'; class: ClassRef }
  | { op: 'add' | 'replace'; filter: Filter }
  | { op: 'delete'; filter: FilterRef }
  | { op: 'add'; chain: Chain }
  | { op: 'delete'; chain: Omit<Chain, 'template'> }
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
export type ClassState = Class & {
  type: 'class';
  dev: string;
  ifindex: number;
  parent: string;
  classid: string;
  /** The handle of the qdisc attached to the class, if one was added there. */
  leaf?: string;
  stats: Stats;
};
export type ChainState = Chain & { type: 'chain'; dev: string; ifindex: number; parent: string };
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
  | { type: 'class'; dev: Dev }
  | { type: 'filter'; dev: Dev; parent?: TcHandle }
  | { type: 'chain'; dev: Dev; parent: TcHandle }
  /** kind: only links of this kind ('ifb', 'veth', ...), filtered by the kernel (not with dev). */
  | { type: 'link'; dev?: Dev; kind?: string };
