import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/**
 * The keys flower matches. A masked number key takes its mask in the `...Mask` field (default: all
 * bits, which reads back as no mask). Addresses take a prefix ('198.18.0.0/15') or, for MACs, a
 * mask ('02:00:00:00:00:00/ff:ff:ff:00:00:00'); read back in the shortest of these forms. IP
 * keys need protocol 'ip' or 'ipv6' (or vlanEthType/cvlanEthType one of them), ports an ipProto.
 */
export interface FlowerKeys {
  /** Fragment flags: 'frag', 'nofrag', 'firstfrag', 'nofirstfrag', joined by '/'. */
  ipFlags?: string;
  /** Conntrack state: '+trk+est', '-trk', ... (trk, new, est, rel, inv, rpl; reads back in that order). */
  ctState?: string;
  ctZone?: number;
  ctZoneMask?: number;
  ctMark?: number;
  ctMarkMask?: number;
  /** Conntrack labels, up to 16 bytes as hex, and their mask. */
  ctLabel?: string;
  ctLabelMask?: string;
  /** The interface the packet came in on. */
  indev?: string;
  /** With protocol 802.1q or 802.1ad. */
  vlanId?: number;
  vlanPrio?: number;
  /** The protocol inside the tag: 'ip', 'ipv6', '802.1q' (a second tag), ... or a number. */
  vlanEthType?: string | number;
  cvlanId?: number;
  cvlanPrio?: number;
  cvlanEthType?: string | number;
  dstMac?: string;
  srcMac?: string;
  ipProto?: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | number;
  ipTos?: number;
  ipTosMask?: number;
  ipTtl?: number;
  ipTtlMask?: number;
  dstIp?: string;
  srcIp?: string;
  /** A port (with ipProto tcp, udp or sctp), masked, or the start of a range up to `...Max`. */
  dstPort?: number;
  dstPortMask?: number;
  dstPortMax?: number;
  srcPort?: number;
  srcPortMask?: number;
  srcPortMax?: number;
  /** TCP flags (12 bits: 0x02 SYN, 0x10 ACK, ...), with ipProto tcp. */
  tcpFlags?: number;
  tcpFlagsMask?: number;
  /** With ipProto icmp (protocol ip) or icmpv6 (protocol ipv6). */
  icmpType?: number;
  icmpTypeMask?: number;
  icmpCode?: number;
  icmpCodeMask?: number;
  /** Tunnel metadata (as a collect-metadata tunnel device decapsulated it). */
  encDstIp?: string;
  encSrcIp?: string;
  encKeyId?: number;
  encDstPort?: number;
  encTos?: number;
  encTosMask?: number;
  encTtl?: number;
  encTtlMask?: number;
}

/** The flower classifier (tc-flower(8)): header fields, with masks. */
export interface FlowerFilter extends FilterCommon, FlowerKeys {
  kind: 'flower';
  classid?: TcHandle;
  skipHw?: boolean;
  skipSw?: boolean;
}

const KEY_WORDS: [keyof FlowerKeys, string][] = [
  ['ctState', 'ct_state'],
  ['ctZone', 'ct_zone'],
  ['ctMark', 'ct_mark'],
  ['indev', 'indev'],
  ['vlanId', 'vlan_id'],
  ['vlanEthType', 'vlan_ethtype'],
  ['cvlanId', 'cvlan_id'],
  ['dstMac', 'dst_mac'],
  ['srcMac', 'src_mac'],
  ['ipProto', 'ip_proto'],
  ['dstIp', 'dst_ip'],
  ['srcIp', 'src_ip'],
  ['dstPort', 'dst_port'],
  ['srcPort', 'src_port'],
  ['tcpFlags', 'tcp_flags'],
  ['icmpType', 'type'],
  ['encDstIp', 'enc_dst_ip'],
  ['encKeyId', 'enc_key_id'],
];

/** The keys tc style ("ip_proto tcp dst_port 5201"), the most telling ones. */
export function flowerKeysText(f: FlowerKeys & { dstPortMax?: number; srcPortMax?: number }): string {
  return KEY_WORDS.flatMap(([key, word]) => {
    const v = f[key];
    if (v === undefined) return [];
    const max = key === 'dstPort' ? f.dstPortMax : key === 'srcPort' ? f.srcPortMax : undefined;
    return [`${word} ${v}${max !== undefined ? `-${max}` : ''}`];
  }).join(' ');
}

export const flower: FilterKind<FlowerFilter> = {
  family: 'filter',
  restorable: true,
  kind: 'flower',
  fields: ownFields<FlowerFilter, FilterCommon>()(
    'classid',
    'skipHw',
    'skipSw',
    'ipFlags',
    'ctState',
    'ctZone',
    'ctZoneMask',
    'ctMark',
    'ctMarkMask',
    'ctLabel',
    'ctLabelMask',
    'indev',
    'vlanId',
    'vlanPrio',
    'vlanEthType',
    'cvlanId',
    'cvlanPrio',
    'cvlanEthType',
    'dstMac',
    'srcMac',
    'ipProto',
    'ipTos',
    'ipTosMask',
    'ipTtl',
    'ipTtlMask',
    'dstIp',
    'srcIp',
    'dstPort',
    'dstPortMask',
    'dstPortMax',
    'srcPort',
    'srcPortMask',
    'srcPortMax',
    'tcpFlags',
    'tcpFlagsMask',
    'icmpType',
    'icmpTypeMask',
    'icmpCode',
    'icmpCodeMask',
    'encDstIp',
    'encSrcIp',
    'encKeyId',
    'encDstPort',
    'encTos',
    'encTosMask',
    'encTtl',
    'encTtlMask',
  ),
  describe: (f) =>
    [flowerKeysText(f), f.classid !== undefined ? `classid ${f.classid}` : ''].filter(Boolean).join(' '),
};
