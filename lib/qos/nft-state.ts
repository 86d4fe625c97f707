// What netqos's nf_tables tables hold now, read in one generation: their chains with their rules
// (in order, with counters), the inet table's maps and elements; sorted by pod chain.
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

export interface NftTableView {
  table?: NftTableState;
  chains: Map<string, NftChainState>;
  /** Each chain's rules, in order. */
  rules: Map<string, NftRuleState[]>;
  sets: Map<string, NftSetState>;
  /** Elements of netqos's maps, by map. */
  elements: Map<string, NftElementState[]>;
}

export interface NftState {
  /** False when the kernel has no nf_tables: nothing of netqos's can be there. */
  available: boolean;
  generation: number;
  netdev: NftTableView;
  inet: NftTableView;
}

export const emptyTableView = (): NftTableView => ({
  chains: new Map(),
  rules: new Map(),
  sets: new Map(),
  elements: new Map(),
});

export const noNftables = (): NftState => ({
  available: false,
  generation: 0,
  netdev: emptyTableView(),
  inet: emptyTableView(),
});

/** Reads netqos's two tables (the kernel's answers carry every rule's counters). */
export function* planReadNft(): NftReadPlan<Omit<NftState, 'generation'>> {
  const queries: NftQuery[] = [];
  for (const family of ['netdev', 'inet'] as const)
    queries.push(
      { type: 'table', family, name: NFT_TABLE },
      { type: 'chain', family, table: NFT_TABLE },
      { type: 'rule', family, table: NFT_TABLE },
    );
  const replies = yield queries;
  const view = (k: number): NftTableView => {
    const v = emptyTableView();
    v.table = replies[k][0] as NftTableState | undefined;
    for (const c of replies[k + 1] as NftChainState[]) v.chains.set(c.name, c);
    for (const r of replies[k + 2] as NftRuleState[]) {
      const list = v.rules.get(r.chain);
      if (list) list.push(r);
      else v.rules.set(r.chain, [r]);
    }
    return v;
  };
  const netdev = view(0);
  const inet = view(3);
  if (inet.table) {
    const [sets] = yield [{ type: 'set', family: 'inet', table: NFT_TABLE }];
    for (const s of sets as NftSetState[]) inet.sets.set(s.name, s);
    const maps = [FROM_POD_MAP, TO_POD_MAP].filter((m) => inet.sets.has(m));
    if (maps.length) {
      const elements = yield maps.map((set): NftQuery => ({
        type: 'elements',
        family: 'inet',
        table: NFT_TABLE,
        set,
        keyType: 'iface_index',
        dataType: 'verdict',
      }));
      maps.forEach((m, i) => inet.elements.set(m, (elements[i][0] as { items: NftElementState[] }).items));
    }
  }
  return { available: true, netdev, inet };
}

/** A pod chain found in a table. */
export interface PodChain {
  family: 'netdev' | 'inet';
  kind: PodChainKind;
  ifname: string;
  ifindex: number;
  chain: NftChainState;
  rules: NftRuleState[];
}

/** Every pod chain of both tables, by interface name. */
export function podChains(state: NftState): Map<string, PodChain[]> {
  const out = new Map<string, PodChain[]>();
  for (const family of ['netdev', 'inet'] as const) {
    const view = state[family];
    for (const chain of view.chains.values()) {
      const parsed = parsePodChainName(chain.name);
      if (!parsed) continue;
      const entry: PodChain = { family, ...parsed, chain, rules: view.rules.get(chain.name) ?? [] };
      const list = out.get(parsed.ifname);
      if (list) list.push(entry);
      else out.set(parsed.ifname, [entry]);
    }
  }
  return out;
}
