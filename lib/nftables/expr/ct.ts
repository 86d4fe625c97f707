import type { NftRegister } from './data';

export type CtKey =
  | 'state'
  | 'direction'
  | 'status'
  | 'mark'
  | 'secmark'
  | 'expiration'
  | 'helper'
  | 'l3protocol'
  | 'src'
  | 'dst'
  | 'protocol'
  | 'proto-src'
  | 'proto-dst'
  | 'labels'
  | 'packets'
  | 'bytes'
  | 'avgpkt'
  | 'zone'
  | 'eventmask'
  | 'ip-saddr'
  | 'ip-daddr'
  | 'ip6-saddr'
  | 'ip6-daddr'
  | 'id';

/**
 * Conntrack state loaded into `dreg` (ct state is a host-order u32 bitmask: invalid 1,
 * established 2, related 4, new 8, untracked 64), or set from `sreg` (ct mark).
 */
export type CtExpr =
  | { kind: 'ct'; key: CtKey; dreg?: NftRegister; sreg?: never; direction?: 'original' | 'reply' }
  | { kind: 'ct'; key: CtKey; sreg: NftRegister; dreg?: never; direction?: 'original' | 'reply' };
