/**
 * A QoS spec -> the nf_tables objects that enforce its packet rate, DSCP and connection limits
 * (those the placement gives to nftables), as Calico's nftables mode writes the rules.
 *
 * Directions are the pod's. Per pod interface IF of index N, in netqos's own tables:
 *   table netdev netqos
 *     chain from-IF-N  hook ingress device IF (traffic from the pod)
 *         meta iif != N accept                                           guard
 *         meta protocol ip  limit rate over R/second burst B packets counter drop     rate ip
 *         meta protocol ip6 limit rate over R/second burst B packets counter drop     rate ip6
 *         meta protocol ip  ip dscp set V counter meta priority set P    dscp ip (checksum kept)
 *         meta protocol ip6 ip6 dscp set V counter meta priority set P   dscp ip6
 *     chain to-IF-N    hook egress device IF (traffic to the pod): guard, rate ip, rate ip6
 *   table inet netqos
 *     map from-pod, to-pod { type iface_index : verdict }                N : jump conn-...-IF-N
 *     chain forward { hook forward }  meta iif vmap @from-pod; meta oif vmap @to-pod
 *     chain input   { hook input }    meta iif vmap @from-pod
 *     chain output  { hook output }   meta oif vmap @to-pod
 *     chain conn-from-IF-N / conn-to-IF-N
 *         meta nfproto ipv4 tcp flags & (fin|syn|rst|ack) == syn ct count over C counter reject with tcp reset
 *         (the same for ipv6)
 *
 * Why so: packet rate and DSCP sit on the interface itself, like tc's (so bridged pods and the
 * host's own traffic count too), each interface's chain runs only for its packets (per-packet
 * cost independent of the number of pods). Connection limits need conntrack, so they sit in inet
 * hooks, reached through one verdict-map lookup per packet. Every family gets its own rule, so
 * its own bucket and count (as Calico's separate ip and ip6 tables). Names and map keys carry the
 * interface index, and netdev chains start with a guard on it: a netdev chain can outlive its
 * device and hook the next one of the same name (kernel 6.16+), and must never act on it.
 */
import { nftRules, type NftExpr, type NftHook, type NftSet } from '../nftables';
import type { QosSpec, DirectionQos } from './annotations';
import type { Placement } from './dataplane';
import { dscpToPriority } from './dscp';

export const NFT_TABLE = 'netqos';
/** What marks netqos's tables as its own. */
export const NFT_TABLE_COMMENT = 'netqos pod QoS: packet rate, DSCP, connection limits';
/** Base-chain priorities: none of kube-proxy's or Calico's (-300, -150, -110, -100, -90, 0, 100, 110). */
export const NFT_NETDEV_PRIORITY = -250;
/** After the filters that accept or deny (0), so denied connections are not counted. */
export const NFT_INET_PRIORITY = 20;
export const FROM_POD_MAP = 'from-pod';
export const TO_POD_MAP = 'to-pod';
export const DEFAULT_PACKET_BURST = 5;

export type PodChainKind = 'from' | 'to' | 'conn-from' | 'conn-to';
const KINDS: readonly PodChainKind[] = ['conn-from', 'conn-to', 'from', 'to'];

export const podChainName = (kind: PodChainKind, ifname: string, ifindex: number) =>
  `${kind}-${ifname}-${ifindex}`;

/** The pod chain a name stands for; undefined for any other name. */
export function parsePodChainName(
  name: string,
): { kind: PodChainKind; ifname: string; ifindex: number } | undefined {
  const m = /^(.+)-([1-9][0-9]{0,9})$/.exec(name);
  if (!m) return undefined;
  const kind = KINDS.find((k) => m[1].startsWith(`${k}-`));
  if (!kind) return undefined;
  const ifname = m[1].slice(kind.length + 1);
  if (!ifname || ifname.length > 15) return undefined;
  return { kind, ifname, ifindex: Number(m[2]) };
}

/** A rule netqos wants, known by its role (kept as the rule's comment). */
export interface WantRule {
  role: string;
  expressions: NftExpr[];
}

export interface WantChain {
  family: 'netdev' | 'inet';
  name: string;
  hook?: NftHook;
  device?: string;
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
  expressions[expressions.length - 1],
];

const FAMILIES = ['ip', 'ip6'] as const;

/** `meta iif|oif != N accept`: the chain passes over any other interface's packets. */
function guard(which: 'iif' | 'oif', ifindex: number): WantRule {
  return {
    role: 'guard',
    expressions: [
      { kind: 'meta', key: which, dreg: 1 },
      { kind: 'cmp', op: 'neq', sreg: 1, data: { u32: ifindex } },
      { kind: 'immediate', verdict: 'accept' },
    ],
  };
}

function rateRules(qos: DirectionQos): WantRule[] {
  return FAMILIES.map((family) => ({
    role: `rate ${family}`,
    expressions: counted(
      nftRules.packetRateLimit({
        rate: qos.packetRate!,
        burst: qos.packetBurst ?? DEFAULT_PACKET_BURST,
        family,
        chainFamily: 'netdev',
      }),
    ),
  }));
}

function dscpRules(dscp: number): WantRule[] {
  return FAMILIES.map((family) => ({
    role: `dscp ${family}`,
    expressions: [
      ...nftRules.dscpSet({ family, dscp, chainFamily: 'netdev' }),
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

function netdevChain(kind: 'from' | 'to', ifname: string, ifindex: number, rules: WantRule[]): WantChain {
  return {
    family: 'netdev',
    name: podChainName(kind, ifname, ifindex),
    hook: kind === 'from' ? 'ingress' : 'egress',
    device: ifname,
    priority: NFT_NETDEV_PRIORITY,
    rules: [guard(kind === 'from' ? 'iif' : 'oif', ifindex), ...rules],
  };
}

/** The nftables objects one interface needs for the controls `where` gives to nftables. */
export function desiredNft(ifname: string, ifindex: number, spec: QosSpec, where: Placement): NftPodWant {
  const want: NftPodWant = { ifname, ifindex, chains: [], elements: [] };
  const fromPod: WantRule[] = [];
  if (spec.egress.packetRate && where.packetRate === 'nftables') fromPod.push(...rateRules(spec.egress));
  if (spec.egress.dscp !== undefined && where.dscp === 'nftables')
    fromPod.push(...dscpRules(spec.egress.dscp));
  if (fromPod.length) want.chains.push(netdevChain('from', ifname, ifindex, fromPod));
  if (spec.ingress.packetRate && where.packetRate === 'nftables')
    want.chains.push(netdevChain('to', ifname, ifindex, rateRules(spec.ingress)));
  for (const [direction, kind, map] of [
    ['egress', 'conn-from', FROM_POD_MAP],
    ['ingress', 'conn-to', TO_POD_MAP],
  ] as const) {
    const count = spec[direction].maxConnections;
    if (!count) continue;
    const name = podChainName(kind, ifname, ifindex);
    want.chains.push({ family: 'inet', name, rules: connectionRules(count) });
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

/** The inet table's maps and base chains, there while any pod has a connection limit. */
export function inetInfrastructure(): { maps: NftSet[]; chains: WantChain[] } {
  const base = (name: string, hook: NftHook, rules: WantRule[]): WantChain => ({
    family: 'inet',
    name,
    hook,
    priority: NFT_INET_PRIORITY,
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
      base('forward', 'forward', [dispatch('iif', FROM_POD_MAP), dispatch('oif', TO_POD_MAP)]),
      base('input', 'input', [dispatch('iif', FROM_POD_MAP)]),
      base('output', 'output', [dispatch('oif', TO_POD_MAP)]),
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
