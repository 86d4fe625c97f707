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
