import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Recompute checksums after an edit (ipv4h after a DSCP rewrite). */
export interface CsumAction extends ActionCommon {
  kind: 'csum';
  update: ('ipv4h' | 'icmp' | 'igmp' | 'tcp' | 'udp' | 'udplite' | 'sctp')[];
  control?: Control;
}

export const csum: ActionKind<CsumAction> = {
  family: 'action',
  kind: 'csum',
  fields: ownFields<CsumAction, ActionCommon>()('control', 'update'),
  describe: (a) => `csum ${a.update.join(',')}`,
};
