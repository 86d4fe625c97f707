// What the TypeScript side knows about each tc kind beyond its fields: one descriptor per kind,
// defined in the kind's own file (qdisc/, filter/, action/, link/) and registered in kinds.ts.
// Generic code (reads, rollback, the mirror, descriptions) asks the descriptor; it never names
// a kind.

export interface QdiscKind<Q = never> {
  readonly family: 'qdisc';
  readonly kind: string;
  /** Its own fields beyond the common ones (ownFields): what an operation may carry. */
  readonly fields: readonly string[];
  /**
   * A hook qdisc (ingress, clsact): it sits at the fixed parent 'ingress' and carries no queue;
   * filters attach to its hooks ('ingress', and 'egress' for clsact).
   */
  readonly hooks?: readonly ('ingress' | 'egress')[];
  /**
   * What a dump reads back is a valid operation that recreates it, so an atomic batch can put
   * it back as it was. Kinds that are not restorable are never replaced by netqos's rollback.
   */
  readonly restorable: boolean;
  /**
   * Fields the kernel refuses to change on an existing qdisc (fq_codel's flows), or 'all' for a
   * kind it cannot change in place at all (sfq): rollback leaves such fields out of an in-place
   * change when they are unchanged, and otherwise deletes the qdisc and adds it back.
   */
  readonly fixed?: readonly string[] | 'all';
  /** Its parameters on one line, tc style ("rate 10Mbit burst 12500b limit 43750b"); '' if none. */
  describe(q: Q): string;
}

/** The classes of a classful qdisc kind (RTM_NEWTCLASS), registered under the qdisc's kind name. */
export interface ClassKind<C = never> {
  readonly family: 'class';
  readonly kind: string;
  /** Its own fields beyond the common ones (ownFields): what an operation may carry. */
  readonly fields: readonly string[];
  /** Its parameters on one line, tc style ("rate 10Mbit ceil 20Mbit"); '' if none. */
  describe(c: C): string;
}

export interface FilterKind<F = never> {
  readonly family: 'filter';
  readonly kind: string;
  /** Its own fields beyond the common ones (ownFields): what an operation may carry. */
  readonly fields: readonly string[];
  /** What a dump reads back is a valid add: an atomic batch can put it back as it was. */
  readonly restorable: boolean;
  /** Its own parameters (not the actions), tc style; '' if none. */
  describe(f: F): string;
}

export interface ActionKind<A = never> {
  readonly family: 'action';
  readonly kind: string;
  /** Its own fields beyond the common ones (ownFields): what an operation may carry. */
  readonly fields: readonly string[];
  /**
   * Fields that name an interface: operations give a name or an index, replies an index, which
   * reads name again (a deleted IFB comes back with a new index, so rollback needs the name).
   */
  readonly interfaceFields?: readonly string[];
  /** The action on one line, tc style ("police 100pps burst 5pkt conform ok exceed drop"). */
  describe(a: A): string;
}

export interface LinkKind<L = never> {
  readonly family: 'link';
  readonly kind: string;
  /** Its own fields beyond the common ones (ownFields): what an operation may carry. */
  readonly fields: readonly string[];
  /** What an add sets, tc style ("mtu 1500, up"); '' if nothing. */
  describe(l: L): string;
}

/** Every key of every member of a union (keyof a union has only the keys all members share). */
type KeysOf<T> = T extends unknown ? Extract<keyof T, string> : never;
type Missing<T, Common, L extends readonly string[]> = Exclude<KeysOf<T>, keyof Common | 'kind' | L[number]>;

/**
 * A kind's own fields (beyond `Common` and `kind`), as a list the compiler checks against the
 * kind's type: it refuses a list that misses a field or names one the type lacks. Operations are
 * checked against these lists, so a misspelt field ("dstport") is an error rather than a filter
 * that silently matches more than meant.
 */
export function ownFields<T, Common>() {
  return <const L extends readonly Exclude<KeysOf<T>, keyof Common | 'kind'>[]>(
    ...names: L & ([Missing<T, Common, L>] extends [never] ? unknown : { missing: Missing<T, Common, L> })
  ): readonly string[] => names;
}
