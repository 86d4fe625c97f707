// Expression lists for the rules pod QoS needs, exactly as nft 1.0.6 builds them (each checked
// against nft's own request in test/unit/encode-nft.test.ts), and the objects around them.
import { NetqosArgumentError } from '../errors';
import type { NftData, NftVerdict } from './expr/data';
import type { NftChain, NftElement, NftExpr, NftFamily, NftSet } from './types';

type IpFamily = 'ip' | 'ip6';

function invalid(field: string, value: unknown, allowed: string): never {
  throw new NetqosArgumentError(`${field}: ${JSON.stringify(value)} is not allowed (${allowed})`);
}

function integer(field: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi)
    invalid(field, value, `an integer from ${lo} to ${hi}`);
  return value;
}

/** `meta KEY` compared with data (`meta protocol ip`, `iifname "cali1"`). */
function metaEquals(
  key: 'protocol' | 'nfproto' | 'l4proto' | 'iifname' | 'oifname',
  data: NftData,
): NftExpr[] {
  return [
    { kind: 'meta', key, dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data },
  ];
}

/**
 * Matches one IP family, the way nft adds the dependency: `meta protocol ip|ip6` (the EtherType)
 * in netdev and bridge chains, `meta nfproto ipv4|ipv6` in inet chains, nothing in ip/ip6 chains.
 */
export function matchIpFamily(family: IpFamily, chainFamily: NftFamily): NftExpr[] {
  if (chainFamily === 'netdev' || chainFamily === 'bridge')
    return metaEquals('protocol', { be16: family === 'ip' ? 0x0800 : 0x86dd });
  if (chainFamily === 'inet') return metaEquals('nfproto', { u8: family === 'ip' ? 2 : 10 });
  if (chainFamily !== family)
    invalid('chainFamily', chainFamily, `a ${family} rule needs an ${family}, inet, netdev or bridge chain`);
  return [];
}

/** `iifname "NAME"` / `oifname "NAME"`. */
export function matchInterface(which: 'iifname' | 'oifname', name: string): NftExpr[] {
  if (!name || name.length > 15) invalid(which, name, 'an interface name of 1..15 bytes');
  return metaEquals(which, { ifname: name });
}

/**
 * `[meta protocol ip|ip6] limit rate over RATE/second burst BURST packets drop`: drops what
 * exceeds RATE packets a second. With `family`, only that IP family counts against this rule's
 * own bucket: one rule per family gives each its own budget, as Calico's per-family tables do.
 */
export function packetRateLimit(o: {
  rate: number;
  burst?: number;
  family?: IpFamily;
  chainFamily: NftFamily;
}): NftExpr[] {
  const rate = integer('rate', o.rate, 1, 2 ** 32 - 1);
  const burst = integer('burst', o.burst ?? 5, 1, 2 ** 32 - 1);
  return [
    ...(o.family ? matchIpFamily(o.family, o.chainFamily) : []),
    { kind: 'limit', rate, unit: 'second', burst, type: 'packets', over: true },
    { kind: 'immediate', verdict: 'drop' },
  ];
}

/**
 * `[iifname|oifname NAME] tcp flags & (fin|syn|rst|ack) == syn ct count over COUNT reject with
 * tcp reset`: a new TCP connection beyond COUNT is reset. Only connection openings reach the
 * count (nft's `ct count` counts the connections that passed it); it needs conntrack, so an
 * ip/ip6/inet chain (forward for routed pods).
 */
export function connectionLimit(o: { count: number; iifname?: string; oifname?: string }): NftExpr[] {
  const count = integer('count', o.count, 0, 2 ** 32 - 1);
  return [
    ...(o.iifname !== undefined ? matchInterface('iifname', o.iifname) : []),
    ...(o.oifname !== undefined ? matchInterface('oifname', o.oifname) : []),
    ...metaEquals('l4proto', { u8: 6 }),
    { kind: 'payload', base: 'transport', offset: 13, len: 1, dreg: 1 },
    { kind: 'bitwise', sreg: 1, dreg: 1, len: 1, op: 'mask-xor', mask: { u8: 0x17 }, xor: { u8: 0 } },
    { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: 0x02 } },
    { kind: 'connlimit', count, over: true },
    { kind: 'reject', type: 'tcp-reset', code: 0 },
  ];
}

/**
 * `ip dscp set V` / `ip6 dscp set V`: rewrites the DSCP bits and keeps the two ECN bits; for IPv4
 * the kernel updates the header checksum (payload write with an inet checksum at offset 10).
 */
export function dscpSet(o: { family: IpFamily; dscp: number; chainFamily: NftFamily }): NftExpr[] {
  const dscp = integer('dscp', o.dscp, 0, 63);
  // The first two bytes of the header: IPv4 version/IHL then TOS; IPv6 version, then the
  // traffic class across the nibble boundary.
  const v4 = o.family === 'ip';
  const mask = v4 ? 0xff03 : 0xf03f;
  const xor = v4 ? dscp << 2 : dscp << 6;
  return [
    ...matchIpFamily(o.family, o.chainFamily),
    { kind: 'payload', base: 'network', offset: 0, len: 2, dreg: 1 },
    { kind: 'bitwise', sreg: 1, dreg: 1, len: 2, op: 'mask-xor', mask: { be16: mask }, xor: { be16: xor } },
    v4
      ? { kind: 'payload', base: 'network', offset: 0, len: 2, sreg: 1, csumType: 'inet', csumOffset: 10 }
      : { kind: 'payload', base: 'network', offset: 0, len: 2, sreg: 1 },
  ];
}

/** A tc class id "MAJOR:MINOR" (hex, as tc and nft write them) or its number. */
export function classId(value: string | number): number {
  if (typeof value === 'number') return integer('priority', value, 0, 2 ** 32 - 1);
  const [, major, minor] = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(value) ?? [];
  if (major === undefined || minor === undefined)
    invalid('priority', value, '"MAJOR:MINOR" in hex, such as "1:10", or a number');
  return ((parseInt(major, 16) << 16) | parseInt(minor, 16)) >>> 0;
}

/** `meta priority set MAJOR:MINOR`: the skb priority (the tc class a qdisc may use). */
export function prioritySet(priority: string | number): NftExpr[] {
  return [
    { kind: 'immediate', dreg: 1, data: { u32: classId(priority) } },
    { kind: 'meta', key: 'priority', sreg: 1 },
  ];
}

/**
 * `iifname vmap @MAP` / `oifname vmap @MAP`: one hash lookup per packet whatever the number of
 * interfaces in the map (each element jumps or goes to that interface's chain).
 */
export function dispatchByInterface(which: 'iifname' | 'oifname', map: string): NftExpr[] {
  return [
    { kind: 'meta', key: which, dreg: 1 },
    { kind: 'lookup', set: map, sreg: 1, dreg: 0 },
  ];
}

/** `ct state S[,S...]` then the verdict (`ct state established,related accept`). */
export function ctState(
  states: ('invalid' | 'established' | 'related' | 'new' | 'untracked')[],
  verdict: NftVerdict,
): NftExpr[] {
  const bits = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
  let mask = 0;
  for (const s of states) mask |= bits[s] ?? invalid('states', s, Object.keys(bits).join(', '));
  return [
    { kind: 'ct', key: 'state', dreg: 1 },
    { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: { u32: mask }, xor: { u32: 0 } },
    { kind: 'cmp', op: 'neq', sreg: 1, data: { u32: 0 } },
    { kind: 'immediate', ...verdict },
  ];
}

/** A verdict map from interface names to chains: `map NAME { type ifname : verdict; }`. */
export function interfaceVerdictMap(o: {
  family: NftFamily;
  table: string;
  name: string;
  comment?: string;
}): NftSet {
  return { ...o, keyType: 'ifname', dataType: 'verdict' };
}

/** Its elements: each interface goes to (or jumps to) its chain. */
export function interfaceTargets(
  targets: Record<string, string>,
  verdict: 'goto' | 'jump' = 'goto',
): NftElement[] {
  return Object.entries(targets).map(([key, chain]) => ({ key, verdict, chain }));
}

/** A base chain on one interface's netdev hook (ingress or egress, kernel 5.16+). */
export function netdevChain(o: {
  table: string;
  name: string;
  hook: 'ingress' | 'egress';
  device: string;
  priority: number;
  comment?: string;
}): NftChain {
  return { family: 'netdev', kind: 'filter', policy: 'accept', ...o };
}
