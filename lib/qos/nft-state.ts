// What netqos's nf_tables table holds now, read in one generation: its chains with their rules
// (in order, with counters), its maps and their elements; sorted by pod chain.
import type {
  NftChain,
  NftChainState,
  NftElementState,
  NftObjectState,
  NftOperation,
  NftQuery,
  NftReadPlan,
  NftRule,
  NftRuleState,
  NftSet,
  NftSetState,
  NftTableState,
} from '../nftables';
import { FROM_POD_MAP, NFT_TABLE, TO_POD_MAP, parsePodChainName, type PodChainKind } from './nft-policy';

export interface NftState {
  /** False when the kernel has no nf_tables: nothing of netqos's can be there. */
  available: boolean;
  /** The ruleset generation the read described (an apply checks it has not moved). */
  generation: number;
  table?: NftTableState;
  chains: Map<string, NftChainState>;
  /** Each chain's rules, in order. */
  rules: Map<string, NftRuleState[]>;
  sets: Map<string, NftSetState>;
  /** Elements of netqos's maps, by map. */
  elements: Map<string, NftElementState[]>;
}

const empty = (available: boolean): NftState => ({
  available,
  generation: 0,
  chains: new Map(),
  rules: new Map(),
  sets: new Map(),
  elements: new Map(),
});

export const noNftables = (): NftState => empty(false);

/** Reads netqos's table (the kernel's answers carry every rule's counters). */
export function* planReadNft(): NftReadPlan<NftState> {
  const at = { family: 'inet', table: NFT_TABLE } as const;
  const [tables = [], chains = [], rules = []] = yield [
    { type: 'table', family: 'inet', name: NFT_TABLE },
    { type: 'chain', ...at },
    { type: 'rule', ...at },
  ];
  const state = empty(true);
  state.table = tables[0] as NftTableState | undefined;
  if (!state.table) return state;
  for (const c of chains as NftChainState[]) state.chains.set(c.name, c);
  for (const r of rules as NftRuleState[]) {
    const list = state.rules.get(r.chain);
    if (list) list.push(r);
    else state.rules.set(r.chain, [r]);
  }
  // (A set dump of a table that is not there is an error, unlike a chain or rule dump.)
  const [sets = []] = yield [{ type: 'set', ...at }];
  for (const s of sets as NftSetState[]) state.sets.set(s.name, s);
  const maps = [FROM_POD_MAP, TO_POD_MAP].filter((m) => state.sets.has(m));
  if (maps.length) {
    const elements = yield maps.map((set): NftQuery => ({
      type: 'elements',
      ...at,
      set,
      keyType: 'iface_index',
      dataType: 'verdict',
    }));
    maps.forEach((m, i) => {
      const [answer] = elements[i] ?? []; // one answer per query, in order
      state.elements.set(m, (answer as { items: NftElementState[] } | undefined)?.items ?? []);
    });
  }
  return state;
}

/** A pod chain found in the table. */
export interface PodChain {
  kind: PodChainKind;
  ifname: string;
  ifindex: number;
  chain: NftChainState;
  rules: NftRuleState[];
}

const sorted = new WeakMap<NftState, Map<string, PodChain[]>>();

/** Every pod chain, by interface name (worked out once per state read). */
export function podChains(state: NftState): Map<string, PodChain[]> {
  const known = sorted.get(state);
  if (known) return known;
  const out = new Map<string, PodChain[]>();
  sorted.set(state, out);
  for (const chain of state.chains.values()) {
    const parsed = parsePodChainName(chain.name);
    if (!parsed) continue;
    const entry: PodChain = { ...parsed, chain, rules: state.rules.get(chain.name) ?? [] };
    const list = out.get(parsed.ifname);
    if (list) list.push(entry);
    else out.set(parsed.ifname, [entry]);
  }
  return out;
}

/** The maps' elements by key and by the chain they lead to. */
export interface ElementIndex {
  byKey: Map<string, Map<number, NftElementState>>;
  byChain: Map<string, { map: string; key: number }[]>;
}

const indexed = new WeakMap<NftState, ElementIndex>();

/** A verdict map's element as read: where it jumps. */
export const elementTarget = (e: NftElementState): string | undefined => (e as { chain?: string }).chain;

/** The elements of netqos's maps, indexed (worked out once per state read). */
export function elementIndex(state: NftState): ElementIndex {
  const known = indexed.get(state);
  if (known) return known;
  const index: ElementIndex = { byKey: new Map(), byChain: new Map() };
  indexed.set(state, index);
  for (const [map, items] of state.elements) {
    const keys = new Map<number, NftElementState>();
    index.byKey.set(map, keys);
    for (const e of items) {
      keys.set(e.key as number, e);
      const chain = elementTarget(e);
      if (chain === undefined) continue;
      const list = index.byChain.get(chain);
      if (list) list.push({ map, key: e.key as number });
      else index.byChain.set(chain, [{ map, key: e.key as number }]);
    }
  }
  return index;
}

/**
 * The views of `before` worked out already, carried to the state its batch made (taken over,
 * as its maps are): unchanged when the batch left them alone, the pods whose chains it touched
 * looked at again. (After changing one pod of thousands, the next plan need not parse every
 * chain name again.)
 */
function carryViews(before: NftState, after: NftState, chains: Set<string>, elements: boolean): void {
  const index = indexed.get(before);
  if (index && !elements) indexed.set(after, index);
  const out = sorted.get(before);
  if (!out) return;
  const touched = new Map<string, string[]>();
  for (const name of chains) {
    const parsed = parsePodChainName(name);
    if (!parsed) continue;
    const list = touched.get(parsed.ifname);
    if (list) list.push(name);
    else touched.set(parsed.ifname, [name]);
  }
  for (const [ifname, names] of touched) {
    const list: PodChain[] = [];
    for (const name of new Set([...(out.get(ifname) ?? []).map((c) => c.chain.name), ...names])) {
      const chain = after.chains.get(name);
      if (chain) list.push({ ...parsePodChainName(name)!, chain, rules: after.rules.get(name) ?? [] });
    }
    if (list.length) out.set(ifname, list);
    else out.delete(ifname);
  }
  sorted.set(after, out);
}

/**
 * The state after netqos's own batch `ops`, planned from `state` and committed with nothing in
 * between (the generation moved by exactly one): what a read would find then, without reading
 * (objects the kernel made take their handles from the batch's echo, `created`). Undefined when
 * an operation is not one this module plans (the caller then reads again).
 */
export function stateAfter(
  state: NftState,
  ops: readonly NftOperation[],
  created: readonly { index: number; object: NftObjectState }[],
  generation: number,
): NftState | undefined {
  const handleOf = new Map<number, number>();
  for (const c of created)
    if (!handleOf.has(c.index)) handleOf.set(c.index, (c.object as { handle: number }).handle);
  const known = ops.every((op, i) =>
    'table' in op
      ? true
      : 'set' in op
        ? op.op === 'add'
        : 'chain' in op
          ? op.op === 'add' || op.op === 'delete'
          : 'rule' in op
            ? op.op === 'delete' ||
              (op.op === 'replace' ? op.rule.handle !== undefined : op.op !== 'destroy' && handleOf.has(i))
            : 'elements' in op && (op.op === 'add' || op.op === 'delete'),
  );
  if (!known) return undefined;
  // The state before is the last read of a ruleset this batch has moved on: its maps are taken
  // over, not copied (a change of one pod among 10,000 would copy 20,000 entries). Whoever still
  // plans from it planned for a generation the kernel has left, so its batch is refused
  // (ERESTART) and planned again from a new read.
  const s: NftState = {
    available: true,
    generation,
    table: state.table,
    chains: state.chains,
    rules: state.rules,
    sets: state.sets,
    elements: state.elements,
  };
  // What the batch touched, for carryViews.
  const chainsTouched = new Set<string>();
  let elementsTouched = false;
  const rulesOf = (chain: string) => {
    chainsTouched.add(chain);
    const list = [...(s.rules.get(chain) ?? [])];
    s.rules.set(chain, list);
    return list;
  };
  for (const [i, op] of ops.entries()) {
    if ('table' in op) {
      if (op.op === 'delete') return { ...empty(true), generation };
      s.table = {
        type: 'table',
        family: 'inet',
        name: op.table.name!,
        handle: handleOf.get(i) ?? 0,
        flags: [],
        comment: (op.table as { comment?: string }).comment,
      };
    } else if ('set' in op) {
      elementsTouched = true;
      if (op.op !== 'add') return undefined;
      const set = op.set as NftSet;
      s.sets.set(set.name, {
        ...set,
        type: 'set',
        handle: handleOf.get(i) ?? 0,
        keyType: set.keyType,
        keyLength: 4,
        dataType: set.dataType,
        flags: ['map'],
      } as NftSetState);
    } else if ('chain' in op) {
      const name = op.chain.name!;
      chainsTouched.add(name);
      if (op.op === 'delete') {
        s.chains.delete(name);
        s.rules.delete(name);
      } else if (op.op === 'add')
        s.chains.set(name, { ...(op.chain as NftChain), type: 'chain', handle: handleOf.get(i) ?? 0 });
      else return undefined;
    } else if ('rule' in op) {
      const list = rulesOf(op.rule.chain);
      const at = (handle: number) => list.findIndex((r) => r.handle === handle);
      if (op.op === 'delete') list.splice(at(op.rule.handle), 1);
      else {
        const rule = {
          ...(op.rule as NftRule),
          type: 'rule',
          handle: op.op === 'replace' ? op.rule.handle : handleOf.get(i),
        } as NftRuleState;
        if (rule.handle === undefined) return undefined;
        delete rule.position;
        if (op.op === 'replace') list[at(op.rule.handle)] = rule;
        else if (op.op === 'insert') list.splice(op.rule.position ? at(op.rule.position) : 0, 0, rule);
        else list.push(rule);
      }
    } else if ('elements' in op) {
      elementsTouched = true;
      const map = op.elements.set;
      const keys = new Set(op.elements.items.map((e) => e.key));
      const list = (s.elements.get(map) ?? []).filter((e) => !keys.has(e.key));
      if (op.op === 'add') list.push(...(op.elements.items as NftElementState[]));
      else if (op.op !== 'delete') return undefined;
      s.elements.set(map, list);
    } else return undefined;
  }
  carryViews(state, s, chainsTouched, elementsTouched);
  return s;
}
