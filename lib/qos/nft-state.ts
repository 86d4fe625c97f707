// What netqos's nf_tables table holds now, read in one generation: its chains with their rules
// (in order, with counters), its maps and their elements; sorted by pod chain.
import type {
  NftChainState,
  NftElementState,
  NftQuery,
  NftReadPlan,
  NftRuleState,
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
  const [tables, chains, rules] = yield [
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
  const [sets] = yield [{ type: 'set', ...at }];
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
    maps.forEach((m, i) => state.elements.set(m, (elements[i][0] as { items: NftElementState[] }).items));
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

/** Every pod chain, by interface name. */
export function podChains(state: NftState): Map<string, PodChain[]> {
  const out = new Map<string, PodChain[]>();
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
