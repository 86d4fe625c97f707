import type { ActionCommon, Control } from '../types';

/** Recompute checksums after an edit (ipv4h after a DSCP rewrite). */
export interface CsumAction extends ActionCommon {
  kind: 'csum';
  update: ('ipv4h' | 'icmp' | 'igmp' | 'tcp' | 'udp' | 'udplite' | 'sctp')[];
  control?: Control;
}
