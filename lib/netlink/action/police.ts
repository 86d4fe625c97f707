import { ownFields, type ActionKind } from '../kind';
import { formatRate, sizeText } from '../units';
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

export const police: ActionKind<PoliceAction> = {
  family: 'action',
  kind: 'police',
  fields: ownFields<PoliceAction, ActionCommon>()(
    'rate',
    'peakrate',
    'burst',
    'mtu',
    'pktRate',
    'pktBurst',
    'conform',
    'exceed',
  ),
  describe(a) {
    const what =
      a.pktRate !== undefined
        ? `${a.pktRate}pps burst ${a.pktBurst ?? 5}pkt`
        : `rate ${formatRate(a.rate ?? 0)}${a.burst !== undefined ? ` burst ${sizeText(a.burst)}` : ''}`;
    return `police ${what} conform ${a.conform ?? 'ok'} exceed ${a.exceed ?? 'reclassify'}`;
  },
};
