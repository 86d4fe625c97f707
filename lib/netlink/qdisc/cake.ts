import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { formatRate, formatTime, sizeText } from '../units';

/** Common Applications Kept Enhanced (tc-cake(8)): shaper, flow isolation and AQM. */
export interface CakeQdisc extends QdiscCommon {
  kind: 'cake';
  /** Shaped rate, bit/s; 0: unlimited. */
  bandwidth?: number;
  /** Round-trip time the AQM assumes, microseconds (tc's rtt: the target follows at a twentieth). */
  rttUs?: number;
  targetUs?: number;
  diffserv?: 'diffserv3' | 'diffserv4' | 'diffserv8' | 'besteffort' | 'precedence';
  flowMode?:
    | 'flowblind'
    | 'srchost'
    | 'dsthost'
    | 'hosts'
    | 'flows'
    | 'dual-srchost'
    | 'dual-dsthost'
    | 'triple-isolate';
  /** Look through NAT for the real hosts. */
  nat?: boolean;
  /** Clear DSCP on the way through. */
  wash?: boolean;
  splitGso?: boolean;
  /** Shape what arrives (an IFB's egress) rather than what leaves. */
  ingress?: boolean;
  autorateIngress?: boolean;
  ackFilter?: 'none' | 'filter' | 'aggressive';
  /** Link-layer framing: ATM cells, PTM (64b/65b), or none. */
  atm?: 'none' | 'atm' | 'ptm';
  /** Bytes added to each packet (-64..256). */
  overhead?: number;
  /** Count packets as the kernel sees them (no overhead, no ATM framing unless given). */
  raw?: boolean;
  /** Minimum packet size counted, bytes (0..256). */
  mpu?: number;
  /** Bytes of memory the queues may use. */
  memlimit?: number;
  /** Mask of the firewall mark that selects a tin. */
  fwmark?: number;
}

/** One tin's statistics in CakeXstats. */
export interface CakeTinXstats {
  thresholdRate: number;
  targetUs: number;
  intervalUs: number;
  peakDelayUs: number;
  avgDelayUs: number;
  baseDelayUs: number;
  sentPackets: number;
  sentBytes: number;
  droppedPackets: number;
  ecnMarkedPackets: number;
  acksDroppedPackets: number;
  sparseFlows: number;
  bulkFlows: number;
  unresponsiveFlows: number;
  [stat: string]: number;
}

/** cake's extended statistics. */
export interface CakeXstats {
  capacityEstimate: number;
  memoryLimit: number;
  memoryUsed: number;
  avgNetoff: number;
  minNetlen: number;
  maxNetlen: number;
  minAdjlen: number;
  maxAdjlen: number;
  tins: CakeTinXstats[];
}

export const cake: QdiscKind<CakeQdisc> = {
  family: 'qdisc',
  kind: 'cake',
  fields: ownFields<CakeQdisc, QdiscCommon>()(
    'ingress',
    'mpu',
    'overhead',
    'targetUs',
    'atm',
    'bandwidth',
    'rttUs',
    'diffserv',
    'flowMode',
    'nat',
    'wash',
    'splitGso',
    'autorateIngress',
    'ackFilter',
    'raw',
    'memlimit',
    'fwmark',
  ),
  restorable: true,
  describe(q) {
    const parts: string[] = [];
    if (q.bandwidth !== undefined)
      parts.push(q.bandwidth ? `bandwidth ${formatRate(q.bandwidth)}` : 'unlimited');
    for (const v of [q.diffserv, q.flowMode]) if (v) parts.push(v);
    if (q.rttUs !== undefined) parts.push(`rtt ${formatTime(q.rttUs)}`);
    if (q.nat !== undefined) parts.push(q.nat ? 'nat' : 'nonat');
    if (q.wash !== undefined) parts.push(q.wash ? 'wash' : 'nowash');
    if (q.ingress !== undefined) parts.push(q.ingress ? 'ingress' : 'egress');
    if (q.ackFilter) parts.push(q.ackFilter === 'none' ? 'no-ack-filter' : `ack-${q.ackFilter}`);
    if (q.raw) parts.push('raw');
    if (q.atm && q.atm !== 'none') parts.push(q.atm);
    if (q.overhead !== undefined) parts.push(`overhead ${q.overhead}`);
    if (q.mpu !== undefined) parts.push(`mpu ${q.mpu}`);
    if (q.memlimit !== undefined) parts.push(`memlimit ${sizeText(q.memlimit)}`);
    return parts.join(' ');
  },
};
