import type { ActionCommon, Control } from '../types';

/**
 * Policer: drop (or reclassify, ...) what exceeds a byte rate or a packet rate. Byte mode:
 * rate (bit/s) and burst (bytes), optional mtu, peakrate. Packet mode: pktRate (packets/s) and
 * pktBurst (packets). The two modes are exclusive (the kernel refuses both in one action).
 */
export interface PoliceAction extends ActionCommon {
  kind: 'police';
  rate?: number;
  burst?: number;
  mtu?: number;
  peakrate?: number;
  pktRate?: number;
  pktBurst?: number;
  /** Verdict for packets within the rate; default 'ok'. */
  conform?: Control;
  /** Verdict for packets over the rate; tc's default is 'reclassify': pass 'drop' to police. */
  exceed?: Control;
}
