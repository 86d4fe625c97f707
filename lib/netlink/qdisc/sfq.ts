import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';

/** Stochastic fairness queueing (tc-sfq(8)). Unset fields take the kernel's defaults (read back). */
export interface SfqQdisc extends QdiscCommon {
  kind: 'sfq';
  /** Bytes a flow sends per round; default the MTU. */
  quantum?: number;
  /** Seconds between hash perturbations; 0: never. */
  perturbSec?: number;
  /** Packets queued at most (at least 2). */
  limit?: number;
  /** Hash buckets, a power of 2 up to 65536. */
  divisor?: number;
  flows?: number;
  /** Packets per flow at most (up to 127). */
  depth?: number;
  /** Drop from the head of a full flow instead of the tail. */
  headdrop?: boolean;
}

export const sfq: QdiscKind<SfqQdisc> = {
  family: 'qdisc',
  kind: 'sfq',
  fields: ownFields<SfqQdisc, QdiscCommon>()(
    'limit',
    'quantum',
    'perturbSec',
    'divisor',
    'flows',
    'depth',
    'headdrop',
  ),
  restorable: true,
  fixed: 'all', // "Change operation not supported by specified qdisc"
  describe(q) {
    const parts: string[] = [];
    if (q.limit !== undefined) parts.push(`limit ${q.limit}p`);
    if (q.quantum !== undefined) parts.push(`quantum ${q.quantum}b`);
    if (q.perturbSec !== undefined) parts.push(`perturb ${q.perturbSec}sec`);
    if (q.divisor !== undefined) parts.push(`divisor ${q.divisor}`);
    if (q.flows !== undefined) parts.push(`flows ${q.flows}`);
    if (q.depth !== undefined) parts.push(`depth ${q.depth}`);
    if (q.headdrop) parts.push('headdrop');
    return parts.join(' ');
  },
};
