import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** Pop, push or modify a VLAN tag, or pop or push an Ethernet header (tc-vlan(8)). */
export interface VlanAction extends ActionCommon {
  kind: 'vlan';
  action: 'pop' | 'push' | 'modify' | 'pop_eth' | 'push_eth';
  /** The tag's VLAN id (push, modify), 0..4095. */
  id?: number;
  /** The tag's protocol (push, modify); default 802.1q. */
  protocol?: '802.1q' | '802.1ad';
  /** The tag's priority (push, modify), 0..7. */
  priority?: number;
  /** The Ethernet header push_eth adds. */
  dstMac?: string;
  srcMac?: string;
  /** Default 'pipe'. */
  control?: Control;
}

export const vlan: ActionKind<VlanAction> = {
  family: 'action',
  kind: 'vlan',
  fields: ownFields<VlanAction, ActionCommon>()(
    'action',
    'priority',
    'protocol',
    'dstMac',
    'srcMac',
    'id',
    'control',
  ),
  describe(a) {
    const parts = ['vlan', a.action];
    if (a.id !== undefined) parts.push(`id ${a.id}`);
    if (a.protocol) parts.push(`protocol ${a.protocol}`);
    if (a.priority !== undefined) parts.push(`priority ${a.priority}`);
    if (a.dstMac) parts.push(`dst_mac ${a.dstMac}`);
    if (a.srcMac) parts.push(`src_mac ${a.srcMac}`);
    return parts.join(' ');
  },
};
