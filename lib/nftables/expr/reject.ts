/**
 * Answers and drops the packet: a TCP reset (the rule must match TCP first, as nft makes it), or
 * an ICMP error (`code`: ICMP's own for 'icmp', default 3 port unreachable; for 'icmpx' 0 no
 * route, 1 port unreachable (default), 2 host unreachable, 3 administratively prohibited).
 */
export interface RejectExpr {
  kind: 'reject';
  type: 'tcp-reset' | 'icmp' | 'icmpx';
  code?: number;
}
