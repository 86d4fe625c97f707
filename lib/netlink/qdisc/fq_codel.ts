import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { sizeText } from '../units';
import { codelText } from './codel';

/** Fair queueing with CoDel per flow (tc-fq_codel(8)). Times in microseconds. */
export interface FqCodelQdisc extends QdiscCommon {
  kind: 'fq_codel';
  /** Packets queued at most; default 10240. */
  limit?: number;
  /** Flow queues; default 1024. */
  flows?: number;
  /** Bytes dequeued per round; default the MTU. */
  quantum?: number;
  targetUs?: number;
  intervalUs?: number;
  /** Default on. */
  ecn?: boolean;
  ceThresholdUs?: number;
  /** Bytes the queues may hold at most; default 32 MiB. */
  memoryLimit?: number;
  /** Packets dropped at once when over the limit; default 64. */
  dropBatch?: number;
}

/** fq_codel's extended statistics: the qdisc's (a class's, one flow queue, has deficit ... dropNextUs). */
export interface FqCodelXstats {
  maxPacket: number;
  dropOverlimit: number;
  ecnMark: number;
  newFlowCount: number;
  newFlows: number;
  oldFlows: number;
  ceMark: number;
  memoryUsage: number;
  dropOvermemory: number;
}

export const fqCodel: QdiscKind<FqCodelQdisc> = {
  family: 'qdisc',
  kind: 'fq_codel',
  fields: ownFields<FqCodelQdisc, QdiscCommon>()(
    'limit',
    'quantum',
    'flows',
    'ecn',
    'targetUs',
    'intervalUs',
    'ceThresholdUs',
    'memoryLimit',
    'dropBatch',
  ),
  restorable: true,
  fixed: ['flows'], // EINVAL once its flow table exists
  describe(q) {
    const parts = codelText(q);
    if (q.flows !== undefined) parts.push(`flows ${q.flows}`);
    if (q.quantum !== undefined) parts.push(`quantum ${q.quantum}`);
    if (q.memoryLimit !== undefined) parts.push(`memory_limit ${sizeText(q.memoryLimit)}`);
    if (q.dropBatch !== undefined) parts.push(`drop_batch ${q.dropBatch}`);
    return parts.join(' ');
  },
};
