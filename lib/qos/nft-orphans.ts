// nftables objects of interfaces that are gone: a pod deleted while nothing cleared its QoS (its
// tc objects went with its interface, its chains did not). Their chains and map elements are
// deleted, and the table when nothing else is left. The table is read before the interfaces, so
// a chain made meanwhile for a new interface is never taken for an orphan (its interface existed
// before it), and the batch is refused if the table moved since (then read again).
import type { NetlinkHandle } from '../handle';
import type { DumpPlan, LinkState } from '../netlink';
import { reconcileNft } from './nft-reconcile';
import { podChains, type NftState } from './nft-state';
import { kernelSteps, type Step } from './steps';

const ATTEMPTS = 5;

export interface NftOrphans {
  /** The chains deleted. */
  chains: string[];
  /** Operations sent. */
  sent: number;
}

function* planLinks(): DumpPlan<LinkState[]> {
  const [links] = yield [{ type: 'link' }];
  return links as unknown as LinkState[];
}

function* orphanSteps(nl: NetlinkHandle): Generator<Step, NftOrphans, unknown> {
  const none = { chains: [], sent: 0 };
  for (let attempt = 1; ; attempt++) {
    const state = (yield { kind: 'nftRead', nl }) as NftState;
    if (!state.available || !state.table) return none;
    const byName = podChains(state);
    if (!byName.size) return none;
    const links = (yield { kind: 'read', nl, plan: planLinks() }) as LinkState[];
    const index = new Map(links.map((l) => [l.name, l.index]));
    const targets = [...byName.keys()].map((ifname) => ({ ifname, orphansOf: index.get(ifname) ?? null }));
    const plan = reconcileNft(state, targets);
    if (!plan.operations.length) return none;
    const chains = targets.flatMap((t) =>
      byName
        .get(t.ifname)!
        .filter((c) => c.ifindex !== t.orphansOf)
        .map((c) => c.chain.name),
    );
    try {
      const r = (yield {
        kind: 'nftApply',
        nl,
        operations: plan.operations,
        state,
      }) as { count: number };
      return { chains, sent: r.count };
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERESTART' || attempt >= ATTEMPTS) throw e;
    }
  }
}

/** Deletes the nftables chains (and map elements) of interfaces no longer in the namespace. */
export function collectNftOrphans(nl: NetlinkHandle): Promise<NftOrphans> {
  return kernelSteps.drive(orphanSteps(nl));
}

export function collectNftOrphansSync(nl: NetlinkHandle): NftOrphans {
  return kernelSteps.driveSync(orphanSteps(nl));
}
