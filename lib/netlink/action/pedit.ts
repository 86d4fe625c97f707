import { ownFields, type ActionKind } from '../kind';
import { dscpText } from '../dsfield';
import type { ActionCommon, Control } from '../types';

/** One packet edit: word = (word & mask) ^ value at offset of the chosen header. */
export interface PeditKey {
  htype: 'network' | 'eth' | 'ipv4' | 'ipv6' | 'tcp' | 'udp';
  cmd?: 'set' | 'add';
  offset: number;
  /** Host-order 32-bit words, as the kernel applies them. */
  value: number;
  mask: number;
  /** With offmask and shift: take the offset from the packet at this byte. */
  at?: number;
  offmask?: number;
  shift?: number;
}

/** Packet editor in extended mode (tc's `pedit ex munge ...`). */
export interface PeditAction extends ActionCommon {
  kind: 'pedit';
  keys: PeditKey[];
  /** Default 'ok' (tc's); use 'pipe' to run the next action (csum). */
  control?: Control;
}

export const pedit: ActionKind<PeditAction> = {
  family: 'action',
  kind: 'pedit',
  fields: ownFields<PeditAction, ActionCommon>()('keys', 'control'),
  describe(a) {
    const k = a.keys[0];
    // The DS field edit netqos sends (one key at offset 0 of the IP header): say the DSCP.
    if (
      a.keys.length === 1 &&
      k &&
      (k.htype === 'ipv4' || k.htype === 'ipv6') &&
      k.offset === 0 &&
      (k.cmd ?? 'set') === 'set'
    ) {
      const dscp = k.htype === 'ipv4' ? (k.value >>> 18) & 0x3f : (k.value >>> 22) & 0x3f;
      return `pedit ${k.htype} dscp ${dscpText(dscp)}`;
    }
    return `pedit ${a.keys.length} key${a.keys.length === 1 ? '' : 's'}`;
  },
};
