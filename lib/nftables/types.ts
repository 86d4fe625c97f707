// The nf_tables object model: tables, chains, rules (an expression list close to the kernel's),
// sets and their elements, the operations the engine takes and the states it reads back. Each
// expression's own fields live in expr/.
import type { BitwiseExpr } from './expr/bitwise';
import type { CmpExpr } from './expr/cmp';
import type { ConnlimitExpr } from './expr/connlimit';
import type { CounterExpr } from './expr/counter';
import type { CtExpr } from './expr/ct';
import type { NftVerdict } from './expr/data';
import type { ImmediateExpr } from './expr/immediate';
import type { LimitExpr } from './expr/limit';
import type { LookupExpr } from './expr/lookup';
import type { MetaExpr } from './expr/meta';
import type { PayloadExpr } from './expr/payload';
import type { RejectExpr } from './expr/reject';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export type NftExpr =
  | MetaExpr
  | PayloadExpr
  | BitwiseExpr
  | CmpExpr
  | LimitExpr
  | ConnlimitExpr
  | CtExpr
  | CounterExpr
  | RejectExpr
  | ImmediateExpr
  | LookupExpr;

export interface NftTable {
  family: NftFamily;
  name: string;
  /** 'owner': the table goes with the socket that made it (not what a daemon wants). */
  flags?: ('dormant' | 'owner' | 'persist')[];
  comment?: string;
}

export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  comment?: string;
  /** A base chain: the hook it is attached to. Regular chains (jump/goto targets) have none. */
  hook?: NftHook;
  /** Base chains: the chain type (default 'filter'). */
  kind?: 'filter' | 'route' | 'nat';
  /** Base chains: lower runs first. Calico and kube-proxy use -300, -150, -110, -100, -90, 0, 100, 110. */
  priority?: number;
  /** netdev chains and the inet ingress hook: the interface (or several). */
  device?: string;
  devices?: string[];
  policy?: 'accept' | 'drop';
}

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  expressions: NftExpr[];
  comment?: string;
  /** replace: the rule to replace; add: append after it; insert: insert before it. */
  handle?: number;
  position?: number;
}

/** Set key and map data types (nft's names; `nft list` prints the elements with them). */
export type NftDataType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'ether_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'mark'
  /** An interface index (`meta iif`/`oif`): unlike a name, never the next interface's. */
  | 'iface_index'
  | 'ifname';

export interface NftSet {
  family: NftFamily;
  table: string;
  name: string;
  keyType: NftDataType;
  /** A map: the type of each element's data ('verdict' for a verdict map). */
  dataType?: NftDataType | 'verdict';
  flags?: ('constant' | 'interval' | 'map' | 'timeout' | 'dynamic' | 'object' | 'concat')[];
  timeoutMs?: number;
  size?: number;
  policy?: 'performance' | 'memory';
  comment?: string;
}

/** A key of the set's key type: a string (ifname, addresses) or a number (mark, port, protocol). */
export type NftKey = string | number;

export type NftElement =
  | { key: NftKey; data?: NftKey; timeoutMs?: number; comment?: string }
  | ({ key: NftKey; timeoutMs?: number; comment?: string } & NftVerdict);

export interface NftElements {
  family: NftFamily;
  table: string;
  set: string;
  /** The set's types (elements carry no type of their own). */
  keyType: NftDataType;
  dataType?: NftDataType | 'verdict';
  items: NftElement[];
}

/** Names an object for deletion: by name, or tables/chains/sets by `handle` too. */
export interface NftTableRef {
  family: NftFamily;
  name?: string;
  handle?: number;
}
export interface NftChainRef {
  family: NftFamily;
  table: string;
  name?: string;
  handle?: number;
}
export interface NftRuleRef {
  family: NftFamily;
  table: string;
  chain: string;
  handle: number;
}
export interface NftSetRef {
  family: NftFamily;
  table: string;
  name?: string;
  handle?: number;
}
export interface NftElementsRef {
  family: NftFamily;
  table: string;
  set: string;
  keyType: NftDataType;
  items: { key: NftKey }[];
}

/**
 * One change. `add` creates or leaves alone (rules: appends), `create` fails when the object
 * exists, `insert` prepends a rule, `replace` a rule by handle, `delete` fails when it is
 * missing, `destroy` does not (kernel 6.3+), `flush` empties a table or chain of its rules or a
 * set of its elements.
 */
export type NftOperation =
  | { op: 'add' | 'create'; table: NftTable }
  | { op: 'delete' | 'destroy' | 'flush'; table: NftTableRef }
  | { op: 'add' | 'create'; chain: NftChain }
  | { op: 'delete' | 'destroy' | 'flush'; chain: NftChainRef }
  | { op: 'add' | 'insert'; rule: NftRule }
  | { op: 'replace'; rule: NftRule & { handle: number } }
  | { op: 'delete' | 'destroy'; rule: NftRuleRef }
  | { op: 'add' | 'create'; set: NftSet }
  | { op: 'delete' | 'destroy' | 'flush'; set: NftSetRef }
  | { op: 'add' | 'create'; elements: NftElements }
  | { op: 'delete' | 'destroy'; elements: NftElementsRef };

/** Objects as read back (dumps, echoes, notifications). */
export type NftTableState = Omit<NftTable, 'flags'> & {
  type: 'table';
  handle: number;
  flags: string[];
  /** The kernel's use count: the chains, sets and other objects in it. */
  use?: number;
  owner?: number;
};
export type NftChainState = NftChain & {
  type: 'chain';
  handle: number;
  /** The kernel's use count: its rules plus the rules and map elements that jump or go to it. */
  use?: number;
  flags?: ('base' | 'hw-offload' | 'binding')[];
  /** Base chains: what passed the hook. */
  counters?: { packets: number; bytes: number };
};
/** Expressions read back: data values as { hex }, counters with their values. */
export type NftRuleState = NftRule & { type: 'rule'; handle: number };
export type NftSetState = Omit<NftSet, 'keyType' | 'dataType' | 'flags'> & {
  type: 'set';
  handle: number;
  /** nft's type name, or its number when netqos does not know it. */
  keyType: string;
  keyLength: number;
  dataType?: string;
  dataLength?: number;
  flags: string[];
};
export type NftElementState = {
  key: NftKey;
  data?: NftKey;
  flags?: number;
  timeoutMs?: number;
  expiresMs?: number;
  comment?: string;
} & Partial<NftVerdict>;
export interface NftElementsState {
  type: 'elements';
  family: NftFamily;
  table: string;
  set: string;
  items: NftElementState[];
}
export interface NftGenerationState {
  type: 'generation';
  id: number;
  pid?: number;
  process?: string;
}
export type NftObjectState = NftTableState | NftChainState | NftRuleState | NftSetState | NftElementsState;

/** What to read: everything of a type (optionally of one family, table, chain), or one object. */
export type NftQuery =
  | { type: 'table'; family?: NftFamily; name?: string }
  | { type: 'chain'; family?: NftFamily; table?: string; name?: string }
  | { type: 'rule'; family?: NftFamily; table?: string; chain?: string; handle?: number }
  | { type: 'set'; family?: NftFamily; table?: string; name?: string }
  | {
      type: 'elements';
      family: NftFamily;
      table: string;
      set: string;
      /** The set's types: given, the set is not read first to learn them. */
      keyType?: NftDataType;
      dataType?: NftDataType | 'verdict';
    };

/** A notification: the object as read back, created ('new') or deleted ('del'), or a new generation. */
export type NftEvent =
  (NftObjectState & { event: 'new' | 'del' }) | (NftGenerationState & { event: 'generation' });
