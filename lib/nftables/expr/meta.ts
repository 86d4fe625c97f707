import type { NftRegister } from './data';

export type MetaKey =
  | 'len'
  | 'protocol'
  | 'priority'
  | 'mark'
  | 'iif'
  | 'oif'
  | 'iifname'
  | 'oifname'
  | 'iiftype'
  | 'oiftype'
  | 'skuid'
  | 'skgid'
  | 'nftrace'
  | 'rtclassid'
  | 'secmark'
  | 'nfproto'
  | 'l4proto'
  | 'bri_iifname'
  | 'bri_oifname'
  | 'pkttype'
  | 'cpu'
  | 'iifgroup'
  | 'oifgroup'
  | 'cgroup'
  | 'prandom'
  | 'secpath'
  | 'iifkind'
  | 'oifkind';

/** Packet metadata: loaded into `dreg` (default 1), or set from `sreg` (meta priority/mark set). */
export type MetaExpr =
  | { kind: 'meta'; key: MetaKey; dreg?: NftRegister; sreg?: never }
  | { kind: 'meta'; key: MetaKey; sreg: NftRegister; dreg?: never };
