// Desired nftables objects vs netqos's table now: the fewest operations that close the gap, for
// one batch the kernel commits whole. A rule that changed is replaced in place (its neighbours
// keep their limiters' and counts' state), a missing one is inserted where it belongs, a map
// element is deleted and added again only when it leads elsewhere. The table goes when nothing
// of netqos's is left in it; other tools' tables are never read, let alone changed.
import { createHash } from 'crypto';
import {
  canonicalExpression,
  type NftChainState,
  type NftExpr,
  type NftOperation,
  type NftRuleState,
} from '../nftables';
import {
  FROM_POD_MAP,
  NFT_TABLE,
  NFT_TABLE_COMMENT,
  TO_POD_MAP,
  infrastructure,
  parsePodChainName,
  ruleRole,
  type NftPodWant,
  type WantChain,
  type WantRule,
} from './nft-policy';
import {
  elementIndex,
  elementTarget,
  podChains,
  type ElementIndex,
  type NftState,
  type PodChain,
} from './nft-state';
import { QosConflictError } from './reconcile';

export interface NftTarget {
  ifname: string;
  /** Undefined: clear the interface's objects. */
  want?: NftPodWant;
  /**
   * Orphans only: the chains of this name left by interfaces that are gone (any index but this
   * one's, or every one when the name has no interface now) go; the live interface's stay.
   */
  orphansOf?: number | null;
}

export interface NftPlan {
  /** The whole batch, in sending order. */
  operations: NftOperation[];
  /** Each target's share of it (table, map and base-chain operations go to the first target needing them). */
  perTarget: NftOperation[][];
}

const AT = { family: 'inet', table: NFT_TABLE } as const;

function sameBase(want: WantChain, have: NftChainState): boolean {
  return (
    want.hook === have.hook &&
    (want.hook === undefined ||
      (want.priority === have.priority &&
        (have.policy ?? 'accept') === 'accept' &&
        (have.kind ?? 'filter') === 'filter'))
  );
}

function addChain(want: WantChain): NftOperation[] {
  return [
    {
      op: 'add',
      chain: want.hook
        ? { ...AT, name: want.name, hook: want.hook, priority: want.priority, policy: 'accept' }
        : { ...AT, name: want.name },
    },
    // (Written out rather than spread from AT: thousands of these per apply.)
    ...want.rules.map((r): NftOperation => ({
      op: 'add',
      rule: {
        family: 'inet',
        table: NFT_TABLE,
        chain: want.name,
        expressions: r.expressions,
        comment: commentOf(r),
      },
    })),
  ];
}

/**
 * A rule's expressions in canonical form (see lib/nftables/compare.ts), once per list: the lists
 * here are never changed (read back, or shared by pods with the same annotations).
 */
const canonical = new WeakMap<readonly NftExpr[], string>();
function canonicalOf(list: readonly NftExpr[]): string {
  let text = canonical.get(list);
  if (text === undefined) canonical.set(list, (text = JSON.stringify(list.map(canonicalExpression))));
  return text;
}

/**
 * A wanted rule's comment: its role and a digest of its expressions. A rule read back with the
 * same comment is taken as the same rule without comparing its expressions (as Calico compares
 * its rules' hash comments); a changed value changes the digest, so the rule is replaced.
 */
const comments = new WeakMap<WantRule, string>();
function commentOf(w: WantRule): string {
  let text = comments.get(w);
  if (text === undefined) {
    const digest = createHash('sha1').update(canonicalOf(w.expressions)).digest('hex').slice(0, 8);
    comments.set(w, (text = `${w.role} #${digest}`));
  }
  return text;
}

/** The operations that make an existing chain's rules the wanted ones. */
function reconcileRules(want: WantChain, have: readonly NftRuleState[], out: NftOperation[]): void {
  const at = { ...AT, chain: want.name };
  const roles = new Set(want.rules.map((r) => r.role));
  const byRole = new Map<string, NftRuleState>();
  for (const r of have) {
    const role = ruleRole(r.comment);
    if (role !== undefined && roles.has(role) && !byRole.has(role)) byRole.set(role, r);
    // Anything else in netqos's chain is drift (a rule added by hand, a duplicate): it goes.
    else out.push({ op: 'delete', rule: { ...at, handle: r.handle } });
  }
  want.rules.forEach((w, i) => {
    const h = byRole.get(w.role);
    if (h) {
      if (h.comment !== commentOf(w))
        out.push({
          op: 'replace',
          rule: { ...at, handle: h.handle, expressions: w.expressions, comment: commentOf(w) },
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
            rule: { ...at, position: next.handle, expressions: w.expressions, comment: commentOf(w) },
          }
        : { op: 'add', rule: { ...at, expressions: w.expressions, comment: commentOf(w) } },
    );
  });
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
    : { op, elements: { ...AT, set: map, keyType: 'iface_index', items: [{ key }] } };

/** The table's chains netqos makes: its pods' and its base chains. */
const BASE_CHAINS = new Set(infrastructure().chains.map((c) => c.name));
const isNetqosChain = (name: string) => parsePodChainName(name) !== undefined || BASE_CHAINS.has(name);
/** Whether every chain in the table is netqos's (worked out once per state read). */
const onlyOurs = new WeakMap<NftState, boolean>();
function onlyNetqosChains(state: NftState): boolean {
  let known = onlyOurs.get(state);
  if (known === undefined) onlyOurs.set(state, (known = [...state.chains.keys()].every(isNetqosChain)));
  return known;
}

/**
 * Operations for one target: `changes` (adds, replacements, rebuilds), then `removals`, made
 * only when asked for (when the table goes, its deletion takes everything with it: clearing a
 * node's pods then plans nothing per pod).
 */
interface TargetPart {
  changes: NftOperation[];
  removals: () => NftOperation[];
  added: number;
  removed: number;
}

function planTarget(elements: ElementIndex, t: NftTarget, have: readonly PodChain[]): TargetPart {
  const changes: NftOperation[] = [];
  const removals: NftOperation[] = [];
  const later: (() => void)[] = [];
  let added = 0;
  let removed = 0;
  const wanted = new Set((t.want?.chains ?? []).map((c) => c.name));
  // Elements whose map and key are deleted in this batch, and chains that go.
  const deleted = new Set<string>();
  const gone = new Set<string>();
  const leadingTo = (chain: string) => elements.byChain.get(chain) ?? [];
  for (const want of t.want?.chains ?? []) {
    const h = have.find((c) => c.chain.name === want.name);
    if (!h) {
      added++;
      changes.push(...addChain(want));
    } else if (!sameBase(want, h.chain)) {
      // Someone made a base chain of that name: rebuilt, with what led to it.
      for (const e of leadingTo(want.name)) {
        changes.push(elementOp('delete', e.map, e.key));
        deleted.add(`${e.map}:${e.key}`);
      }
      changes.push({ op: 'delete', chain: { ...AT, name: want.name } }, ...addChain(want));
    } else reconcileRules(want, h.rules, changes);
  }
  for (const h of have) {
    if (wanted.has(h.chain.name)) continue;
    removed++;
    gone.add(h.chain.name);
    const leading = leadingTo(h.chain.name);
    for (const e of leading) deleted.add(`${e.map}:${e.key}`);
    later.push(() => {
      for (const e of leading) removals.push(elementOp('delete', e.map, e.key));
      removals.push({ op: 'delete', chain: { ...AT, name: h.chain.name } });
    });
  }
  // Map elements: each wanted one by its key (the interface's index); one leading elsewhere is
  // replaced, one for a control no longer wanted goes.
  const index = t.want?.ifindex;
  if (index !== undefined)
    for (const map of [FROM_POD_MAP, TO_POD_MAP]) {
      const want = t.want!.elements.find((e) => e.map === map);
      const current = deleted.has(`${map}:${index}`) ? undefined : elements.byKey.get(map)?.get(index);
      if (want && current && current.verdict === 'jump' && elementTarget(current) === want.chain) continue;
      if (current && !gone.has(elementTarget(current) ?? '')) {
        if (want) changes.push(elementOp('delete', map, index));
        else later.push(() => removals.push(elementOp('delete', map, index)));
      }
      if (want) changes.push(elementOp('add', map, index, want.chain));
    }
  return {
    changes,
    removals: () => {
      for (const f of later.splice(0)) f();
      return removals;
    },
    added,
    removed,
  };
}

export function reconcileNft(state: NftState, targets: readonly NftTarget[]): NftPlan {
  const owned = state.table?.comment === NFT_TABLE_COMMENT;
  const chains = owned ? podChains(state) : new Map<string, PodChain[]>();
  // Pod chains in the table once the batch is through.
  let remaining = 0;
  for (const list of chains.values()) remaining += list.length;
  let first: number | undefined;
  const elements = elementIndex(state);
  const parts = targets.map((t, i) => {
    if (state.table && !owned && t.want?.chains.length)
      throw new QosConflictError(
        t.ifname,
        `the nftables table inet ${NFT_TABLE} exists but is not netqos's (its comment is not "${NFT_TABLE_COMMENT}"); netqos leaves it alone (rename or remove it)`,
      );
    let have = chains.get(t.ifname) ?? [];
    if (t.orphansOf !== undefined) have = have.filter((c) => c.ifindex !== t.orphansOf);
    const part = planTarget(elements, t, have);
    remaining += part.added - part.removed;
    if (part.changes.length + part.removals.length) first ??= i;
    return part;
  });

  const head: NftOperation[] = [];
  const tail: NftOperation[] = [];
  let dropTable = false;
  if (remaining > 0) {
    if (!state.table)
      head.push({ op: 'add', table: { family: 'inet', name: NFT_TABLE, comment: NFT_TABLE_COMMENT } });
    // The maps and base chains, repaired too when drifted.
    const infra = infrastructure();
    for (const m of infra.maps) if (!state.sets.has(m.name)) head.push({ op: 'add', set: m });
    for (const c of infra.chains) {
      const have = state.chains.get(c.name);
      if (!have) head.push(...addChain(c));
      else if (!sameBase(c, have))
        head.push({ op: 'delete', chain: { ...AT, name: c.name } }, ...addChain(c));
      else reconcileRules(c, state.rules.get(c.name) ?? [], head);
    }
  } else if (state.table && owned && onlyNetqosChains(state)) {
    // Nothing of netqos's left, nor anyone else's chain: the table goes, with all that is in it.
    dropTable = true;
    tail.push({ op: 'delete', table: { family: 'inet', name: NFT_TABLE } });
  }
  const removals = parts.map((p) => (dropTable ? [] : p.removals()));
  const perTarget = parts.map((p, i) => {
    const removed = removals[i] ?? []; // parallel to parts
    return removed.length ? [...p.changes, ...removed] : p.changes;
  });
  const operations = [...head, ...parts.flatMap((p) => p.changes), ...removals.flat(), ...tail];
  if (targets.length && head.length + tail.length) perTarget[first ?? 0]?.push(...head, ...tail);
  return { operations, perTarget };
}
