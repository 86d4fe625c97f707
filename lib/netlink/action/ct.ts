import { ownFields, type ActionKind } from '../kind';
import type { ActionCommon, Control } from '../types';

/** NAT a ct action applies: a type and a range for a committed connection, or none to reapply its NAT. */
export interface CtNat {
  type?: 'src' | 'dst';
  addrMin?: string;
  /** Default addrMin. */
  addrMax?: string;
  portMin?: number;
  /** Default portMin. */
  portMax?: number;
}

/** Send packets through conntrack; commit connections with a mark, labels, NAT (tc-ct(8)). */
export interface CtAction extends ActionCommon {
  kind: 'ct';
  zone?: number;
  commit?: boolean;
  /** With commit: replace a connection in the other direction. */
  force?: boolean;
  /** Drop the packet's conntrack state (alone). */
  clear?: boolean;
  /** Mark set on commit, and the bits of it to set (default all). */
  mark?: number;
  markMask?: number;
  /** Labels set on commit, up to 16 bytes as hex, and their mask (default all ones). */
  label?: string;
  labelMask?: string;
  nat?: CtNat;
  /** Default 'pipe'. */
  control?: Control;
}

export const ct: ActionKind<CtAction> = {
  family: 'action',
  kind: 'ct',
  fields: ownFields<CtAction, ActionCommon>()(
    'nat',
    'control',
    'zone',
    'commit',
    'force',
    'clear',
    'mark',
    'markMask',
    'label',
    'labelMask',
  ),
  describe(a) {
    const parts = ['ct'];
    if (a.clear) parts.push('clear');
    if (a.commit) parts.push('commit');
    if (a.force) parts.push('force');
    if (a.zone !== undefined) parts.push(`zone ${a.zone}`);
    if (a.mark !== undefined) parts.push(`mark ${a.mark}`);
    if (a.nat) {
      const n = a.nat;
      parts.push(
        n.type
          ? `nat ${n.type} addr ${n.addrMin}${n.addrMax && n.addrMax !== n.addrMin ? `-${n.addrMax}` : ''}`
          : 'nat',
      );
      if (n.portMin !== undefined)
        parts.push(`port ${n.portMin}${n.portMax && n.portMax !== n.portMin ? `-${n.portMax}` : ''}`);
    }
    return parts.join(' ');
  },
};
