/**
 * A QoS spec -> the nf_tables objects that enforce its packet rate, DSCP and connection limits
 * (those the placement gives to nftables), as Calico's nftables mode writes the rules.
 *
 * Directions are the pod's. All in netqos's own table, inet netqos; per pod interface IF of
 * index N:
 *   map from-pod, to-pod { type iface_index : verdict }      N : jump from-IF-N / to-IF-N
 *   chain prerouting { hook prerouting priority -140 }  meta iif vmap @from-pod
 *   chain forward    { hook forward priority 20 }       meta oif vmap @to-pod
 *   chain output     { hook output priority 20 }        meta oif vmap @to-pod
 *   chain from-IF-N (traffic from the pod)
 *     meta nfproto ipv4 limit rate over R/second burst B packets counter drop          rate ip
 *     meta nfproto ipv6 limit rate over R/second burst B packets counter drop          rate ip6
 *     meta nfproto ipv4 ip dscp set V counter meta priority set P                      dscp ip
 *     meta nfproto ipv6 ip6 dscp set V counter meta priority set P                     dscp ip6
 *     meta nfproto ipv4 tcp flags & (fin|syn|rst|ack) == syn ct count over C counter
 *         reject with tcp reset                                                         connections ip
 *     (the same for ipv6)                                                               connections ip6
 *   chain to-IF-N (traffic to the pod): rate ip, rate ip6, connections ip, connections ip6
 *
 * Why so: one hash lookup per packet and hook, whatever the number of pods; each family its own
 * rule, so its own bucket and count (as Calico's separate ip and ip6 tables). From the pod,
 * prerouting sees every packet (forwarded or for the node), after conntrack (-200) and after a
 * tc redirect through an IFB for egress shaping (a netdev ingress chain would not: the IFB hands
 * the packet back past netfilter's ingress hook). To the pod, forward and output see what the
 * node routes and sends to it (a reject is not allowed in postrouting). Map keys are interface
 * indexes, not names: an element never matches the next interface of the same name.
 */
import { nftRules, type NftExpr, type NftHook, type NftSet } from '../nftables';
import type { QosSpec, DirectionQos } from './annotations';
import type { Placement } from './dataplane';
import { dscpToPriority } from './dscp';

export const NFT_TABLE = 'netqos';
/** What marks netqos's tables as its own. */
export const NFT_TABLE_COMMENT = 'netqos pod QoS: packet rate, DSCP, connection limits';
/**
 * Base-chain priorities, none of kube-proxy's or Calico's (-300, -150, -110, -100, -90, 0, 100,
 * 110): from the pod after conntrack (-200) and before DNAT; to the pod after the filters that
 * accept or deny (0).
 */
export const NFT_PREROUTING_PRIORITY = -140;
export const NFT_FILTER_PRIORITY = 20;
export const FROM_POD_MAP = 'from-pod';
export const TO_POD_MAP = 'to-pod';
export const DEFAULT_PACKET_BURST = 5;

export type PodChainKind = 'from' | 'to';
const KINDS: readonly PodChainKind[] = ['from', 'to'];

export const podChainName = (kind: PodChainKind, ifname: string, ifindex: number) =>
  `${kind}-${ifname}-${ifindex}`;

/** The pod chain a name stands for; undefined for any other name. */
export function parsePodChainName(
  name: string,
): { kind: PodChainKind; ifname: string; ifindex: number } | undefined {
  const [, prefix, index] = /^(.+)-([1-9][0-9]{0,9})$/.exec(name) ?? [];
  if (prefix === undefined || index === undefined) return undefined;
  const kind = KINDS.find((k) => prefix.startsWith(`${k}-`));
  if (!kind) return undefined;
  const ifname = prefix.slice(kind.length + 1);
  if (!ifname || ifname.length > 15) return undefined;
  return { kind, ifname, ifindex: Number(index) };
}

/**
 * The role a rule's comment names: "rate ip #1f2e3d4c" is the role "rate ip" with a digest of
 * the rule's expressions (see nft-reconcile.ts).
 */
export const ruleRole = (comment: string | undefined): string | undefined =>
  comment?.replace(/ #[0-9a-f]{8}$/, '');

/** A rule netqos wants, known by its role (kept as the rule's comment, with a digest). */
export interface WantRule {
  role: string;
  expressions: NftExpr[];
}

export interface WantChain {
  name: string;
  hook?: NftHook;
  priority?: number;
  rules: WantRule[];
}

/** One interface's nftables objects: its chains and the map elements leading to them. */
export interface NftPodWant {
  ifname: string;
  ifindex: number;
  chains: WantChain[];
  elements: { map: string; key: number; chain: string }[];
}

/** The rule with a counter before its verdict (its last expression). */
const counted = (expressions: NftExpr[]): NftExpr[] => [
  ...expressions.slice(0, -1),
  { kind: 'counter' },
  ...expressions.slice(-1),
];

const FAMILIES = ['ip', 'ip6'] as const;

function rateRules(qos: DirectionQos): WantRule[] {
  return FAMILIES.map((family) => ({
    role: `rate ${family}`,
    expressions: counted(
      nftRules.packetRateLimit({
        rate: qos.packetRate!,
        burst: qos.packetBurst ?? DEFAULT_PACKET_BURST,
        family,
        chainFamily: 'inet',
      }),
    ),
  }));
}

function dscpRules(dscp: number): WantRule[] {
  return FAMILIES.map((family) => ({
    role: `dscp ${family}`,
    expressions: [
      ...nftRules.dscpSet({ family, dscp, chainFamily: 'inet' }),
      { kind: 'counter' },
      // The skb priority the tc path's skbedit gives (what the kernel derives from the TOS).
      ...nftRules.prioritySet(dscpToPriority(dscp)),
    ],
  }));
}

function connectionRules(count: number): WantRule[] {
  return FAMILIES.map((family) => ({
    role: `connections ${family}`,
    expressions: [...nftRules.matchIpFamily(family, 'inet'), ...counted(nftRules.connectionLimit({ count }))],
  }));
}

/**
 * Rule lists by spec (specs are frozen and shared by pods with the same annotations) and
 * placement: pods alike share them, and so their comparisons (nft-reconcile.ts).
 */
const rulesBySpec = new WeakMap<QosSpec, Map<string, WantRule[]>>();

/** The nftables objects one interface needs for the controls `where` gives to nftables. */
export function desiredNft(ifname: string, ifindex: number, spec: QosSpec, where: Placement): NftPodWant {
  const want: NftPodWant = { ifname, ifindex, chains: [], elements: [] };
  let memo = rulesBySpec.get(spec);
  if (!memo) rulesBySpec.set(spec, (memo = new Map()));
  const rules = (direction: 'ingress' | 'egress'): WantRule[] => {
    const key = `${direction}/${where.packetRate}/${where.dscp}`;
    const known = memo!.get(key);
    if (known) return known;
    const qos = spec[direction];
    const out: WantRule[] = [];
    if (qos.packetRate && where.packetRate === 'nftables') out.push(...rateRules(qos));
    if (direction === 'egress' && spec.egress.dscp !== undefined && where.dscp === 'nftables')
      out.push(...dscpRules(spec.egress.dscp));
    if (qos.maxConnections) out.push(...connectionRules(qos.maxConnections));
    if (Object.isFrozen(spec)) memo!.set(key, out);
    return out;
  };
  for (const [direction, kind, map] of [
    ['egress', 'from', FROM_POD_MAP],
    ['ingress', 'to', TO_POD_MAP],
  ] as const) {
    const list = rules(direction);
    if (!list.length) continue;
    const name = podChainName(kind, ifname, ifindex);
    want.chains.push({ name, rules: list });
    want.elements.push({ map, key: ifindex, chain: name });
  }
  return want;
}

/** `meta iif|oif vmap @MAP`. */
function dispatch(which: 'iif' | 'oif', map: string): WantRule {
  return {
    role: which === 'iif' ? 'from pods' : 'to pods',
    expressions: [
      { kind: 'meta', key: which, dreg: 1 },
      { kind: 'lookup', set: map, sreg: 1, dreg: 0 },
    ],
  };
}

/** The table's maps and base chains, there while any pod has a control on nftables. */
export function infrastructure(): { maps: NftSet[]; chains: WantChain[] } {
  const base = (name: NftHook, priority: number, rules: WantRule[]): WantChain => ({
    name,
    hook: name,
    priority,
    rules,
  });
  return {
    maps: [FROM_POD_MAP, TO_POD_MAP].map((name): NftSet => ({
      family: 'inet',
      table: NFT_TABLE,
      name,
      keyType: 'iface_index',
      dataType: 'verdict',
    })),
    chains: [
      base('prerouting', NFT_PREROUTING_PRIORITY, [dispatch('iif', FROM_POD_MAP)]),
      base('forward', NFT_FILTER_PRIORITY, [dispatch('oif', TO_POD_MAP)]),
      base('output', NFT_FILTER_PRIORITY, [dispatch('oif', TO_POD_MAP)]),
    ],
  };
}

/** The spec tc enforces: the controls the placement gives to nftables taken out. */
export function tcPart(spec: QosSpec, where: Placement): QosSpec {
  const strip = <T extends DirectionQos>(qos: T, dscp: boolean): T => {
    const out = { ...qos };
    if (where.packetRate === 'nftables') {
      delete out.packetRate;
      delete out.packetBurst;
    }
    delete out.maxConnections;
    if (dscp && where.dscp === 'nftables') delete (out as { dscp?: number }).dscp;
    return out;
  };
  return { ingress: strip(spec.ingress, false), egress: strip(spec.egress, true) };
}
