// Desired nftables objects vs netqos's tables now: the fewest operations that close the gap, for
// one batch the kernel commits whole. A rule that changed is replaced in place (its neighbours
// keep their limiters' and counts' state), a missing one is inserted where it belongs, a map
// element is deleted and added again only when it leads elsewhere. A table goes when nothing of
// netqos's is left in it; other tools' tables are never read, let alone changed.
import {
  sameExpressions,
  type NftChainState,
  type NftElementState,
  type NftOperation,
  type NftRuleState,
} from '../nftables';
import {
  FROM_POD_MAP,
  NFT_TABLE,
  NFT_TABLE_COMMENT,
  TO_POD_MAP,
  inetInfrastructure,
  parsePodChainName,
  type NftPodWant,
  type WantChain,
} from './nft-policy';
import { podChains, type NftState, type NftTableView, type PodChain } from './nft-state';
import { QosConflictError } from './reconcile';

export interface NftTarget {
  ifname: string;
  /** Undefined: clear the interface's objects. */
  want?: NftPodWant;
}

export interface NftPlan {
  /** The whole batch, in sending order. */
  operations: NftOperation[];
  /** Each target's share of it (table and map operations go to the first target needing them). */
  perTarget: NftOperation[][];
}

type Family = 'netdev' | 'inet';
const FAMILIES: readonly Family[] = ['netdev', 'inet'];

const isOwnTable = (view: NftTableView) => view.table?.comment === NFT_TABLE_COMMENT;

function sameBase(want: WantChain, have: NftChainState): boolean {
  return (
    want.hook === have.hook &&
    (want.hook === undefined ||
      (want.priority === have.priority &&
        want.device === have.device &&
        (have.policy ?? 'accept') === 'accept' &&
        (have.kind ?? 'filter') === 'filter'))
  );
}

function addChain(want: WantChain): NftOperation[] {
  const chain = { family: want.family, table: NFT_TABLE, name: want.name } as const;
  return [
    {
      op: 'add',
      chain: want.hook
        ? { ...chain, hook: want.hook, priority: want.priority, device: want.device, policy: 'accept' }
        : chain,
    },
    ...want.rules.map((r): NftOperation => ({
      op: 'add',
      rule: { ...chain, chain: want.name, expressions: r.expressions, comment: r.role },
    })),
  ];
}

/** The operations that make an existing chain's rules the wanted ones. */
function reconcileRules(want: WantChain, have: readonly NftRuleState[], out: NftOperation[]): void {
  const at = { family: want.family, table: NFT_TABLE, chain: want.name } as const;
  const roles = new Set(want.rules.map((r) => r.role));
  const byRole = new Map<string, NftRuleState>();
  for (const r of have) {
    if (r.comment !== undefined && roles.has(r.comment) && !byRole.has(r.comment)) byRole.set(r.comment, r);
    // Anything else in netqos's chain is drift (a rule added by hand, a duplicate): it goes.
    else out.push({ op: 'delete', rule: { ...at, handle: r.handle } });
  }
  want.rules.forEach((w, i) => {
    const h = byRole.get(w.role);
    if (h) {
      if (!sameExpressions(h.expressions, w.expressions))
        out.push({
          op: 'replace',
          rule: { ...at, handle: h.handle, expressions: w.expressions, comment: w.role },
        });
      return;
    }
    const next = want.rules
      .slice(i + 1)
      .map((x) => byRole.get(x.role))
      .find((x) => x !== undefined);
    out.push(
      next
        ? {
            op: 'insert',
            rule: { ...at, position: next.handle, expressions: w.expressions, comment: w.role },
          }
        : { op: 'add', rule: { ...at, expressions: w.expressions, comment: w.role } },
    );
  });
}

/** A chain as wanted: added, rebuilt (its hook differs), or its rules reconciled. */
function reconcileChain(
  want: WantChain,
  have: NftChainState | undefined,
  rules: readonly NftRuleState[],
  out: NftOperation[],
): void {
  if (!have) {
    out.push(...addChain(want));
    return;
  }
  if (!sameBase(want, have)) {
    out.push({ op: 'delete', chain: { family: want.family, table: NFT_TABLE, name: want.name } });
    out.push(...addChain(want));
    return;
  }
  reconcileRules(want, rules, out);
}

/** A verdict map's element as read: its key and where it jumps. */
const target = (e: NftElementState): string | undefined => (e as { chain?: string }).chain;

/** Map elements leading to `chain`. */
function elementsTo(view: NftTableView, chain: string): { map: string; key: number }[] {
  const out: { map: string; key: number }[] = [];
  for (const [map, items] of view.elements)
    for (const e of items) if (target(e) === chain) out.push({ map, key: e.key as number });
  return out;
}

const elementOp = (op: 'add' | 'delete', map: string, key: number, chain?: string): NftOperation =>
  op === 'add'
    ? {
        op,
        elements: {
          family: 'inet',
          table: NFT_TABLE,
          set: map,
          keyType: 'iface_index',
          dataType: 'verdict',
          items: [{ key, verdict: 'jump', chain: chain! }],
        },
      }
    : {
        op,
        elements: { family: 'inet', table: NFT_TABLE, set: map, keyType: 'iface_index', items: [{ key }] },
      };

/** Whether a chain of netqos's table is one netqos makes (a pod's, or the inet base chains). */
const INFRASTRUCTURE = new Set(inetInfrastructure().chains.map((c) => c.name));
const isNetqosChain = (family: Family, name: string) =>
  parsePodChainName(name) !== undefined || (family === 'inet' && INFRASTRUCTURE.has(name));

export function reconcileNft(state: NftState, targets: readonly NftTarget[]): NftPlan {
  const perTarget: NftOperation[][] = targets.map(() => []);
  const changes: NftOperation[][] = targets.map(() => []);
  const removals: NftOperation[][] = targets.map(() => []);
  const owned = { netdev: isOwnTable(state.netdev), inet: isOwnTable(state.inet) };
  const chains = podChains(state);
  // Pod chains in each table once the batch is through.
  const remaining = { netdev: 0, inet: 0 };
  for (const list of chains.values()) for (const c of list) if (owned[c.family]) remaining[c.family]++;
  // Which target first touched each family (table operations are put down to it).
  const first: Partial<Record<Family, number>> = {};

  targets.forEach((t, i) => {
    const wantChains = t.want?.chains ?? [];
    for (const family of FAMILIES) {
      if (state[family].table && !owned[family] && wantChains.some((c) => c.family === family))
        throw new QosConflictError(
          t.ifname,
          `the nftables table ${family} ${NFT_TABLE} exists but is not netqos's (its comment is not "${NFT_TABLE_COMMENT}"); netqos leaves it alone (rename or remove it)`,
        );
    }
    const have = (chains.get(t.ifname) ?? []).filter((c) => owned[c.family]);
    const keep = new Set<PodChain>();
    const deleted = new Set<string>(); // map:key
    for (const want of wantChains) {
      const h = have.find((c) => c.family === want.family && c.chain.name === want.name);
      if (h) keep.add(h);
      else remaining[want.family]++;
      // A chain rebuilt loses the elements leading to it, which are then added again.
      const rebuilt = h && !sameBase(want, h.chain);
      if (rebuilt)
        for (const e of elementsTo(state.inet, want.name)) {
          changes[i].push(elementOp('delete', e.map, e.key));
          deleted.add(`${e.map}:${e.key}`);
        }
      const before = changes[i].length;
      reconcileChain(want, h?.chain, h?.rules ?? [], changes[i]);
      if (changes[i].length > before) first[want.family] ??= i;
    }
    for (const h of have) {
      if (keep.has(h)) continue;
      remaining[h.family]--;
      first[h.family] ??= i;
      for (const e of elementsTo(state.inet, h.chain.name))
        removals[i].push(elementOp('delete', e.map, e.key));
      removals[i].push({ op: 'delete', chain: { family: h.family, table: NFT_TABLE, name: h.chain.name } });
    }
    // Map elements: each wanted one by its key; one leading elsewhere is replaced.
    const gone = new Set(removals[i].flatMap((o) => ('chain' in o ? [o.chain.name!] : [])));
    for (const map of [FROM_POD_MAP, TO_POD_MAP]) {
      const want = t.want?.elements.find((e) => e.map === map);
      const items = state.inet.elements.get(map) ?? [];
      const current = t.want
        ? items.find((e) => e.key === t.want!.ifindex && !deleted.has(`${map}:${e.key}`))
        : undefined;
      if (want) {
        if (current && current.verdict === 'jump' && target(current) === want.chain) continue;
        if (current && !gone.has(target(current) ?? '')) changes[i].push(elementOp('delete', map, want.key));
        changes[i].push(elementOp('add', map, want.key, want.chain));
        first.inet ??= i;
      } else if (current && !gone.has(target(current) ?? '')) {
        removals[i].push(elementOp('delete', map, current.key as number));
        first.inet ??= i;
      }
    }
  });

  const head: NftOperation[] = [];
  const tail: NftOperation[] = [];
  const dropFamily = new Set<Family>();
  for (const family of FAMILIES) {
    const view = state[family];
    const needed = remaining[family] > 0;
    if (needed && !view.table)
      head.push({ op: 'add', table: { family, name: NFT_TABLE, comment: NFT_TABLE_COMMENT } });
    if (needed && family === 'inet') {
      // The inet table's maps and base chains, repaired too when drifted.
      const infra = inetInfrastructure();
      for (const m of infra.maps) if (!view.sets.has(m.name)) head.push({ op: 'add', set: m });
      for (const c of infra.chains)
        reconcileChain(c, view.chains.get(c.name), view.rules.get(c.name) ?? [], head);
    }
    // Nothing of netqos's left, nor anyone else's chain: the table goes, with all that is in it.
    if (
      !needed &&
      view.table &&
      owned[family] &&
      [...view.chains.keys()].every((n) => isNetqosChain(family, n))
    ) {
      dropFamily.add(family);
      tail.push({ op: 'delete', table: { family, name: NFT_TABLE } });
    }
  }
  const inFamily = (op: NftOperation): Family | undefined => {
    const o = op as { chain?: { family: Family }; rule?: { family: Family }; elements?: { family: Family } };
    return o.chain?.family ?? o.rule?.family ?? o.elements?.family;
  };
  const operations: NftOperation[] = [...head];
  targets.forEach((_, i) => {
    removals[i] = removals[i].filter((op) => !dropFamily.has(inFamily(op)!));
    operations.push(...changes[i]);
  });
  targets.forEach((_, i) => operations.push(...removals[i]));
  operations.push(...tail);
  targets.forEach((_, i) => perTarget[i].push(...changes[i], ...removals[i]));
  // Table and map operations belong to the first target that needed them.
  const shared = [...head, ...tail];
  for (const op of shared) {
    const family = ('table' in op ? op.table.family : (inFamily(op) ?? 'inet')) as Family;
    const owner = first[family] ?? first.inet ?? first.netdev ?? 0;
    if (targets.length) perTarget[owner].push(op);
  }
  return { operations, perTarget };
}
