import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';

/** Strict-priority bands (tc-prio(8)): band 0 is always served first. */
export interface PrioQdisc extends QdiscCommon {
  kind: 'prio';
  /** 2..16, default 3. */
  bands?: number;
  /**
   * The band of each of the 16 packet priorities (TC_PRIO_*); entries given replace the first of
   * tc's default map 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1.
   */
  priomap?: number[];
}

/** The kernel's old default qdisc: three bands by priority, a fixed map. It takes no options. */
export interface PfifoFastQdisc extends QdiscCommon {
  kind: 'pfifo_fast';
  /** Read back only. */
  bands?: number;
  priomap?: number[];
}

export const prio: QdiscKind<PrioQdisc> = {
  family: 'qdisc',
  kind: 'prio',
  fields: ownFields<PrioQdisc, QdiscCommon>()('bands', 'priomap'),
  restorable: true,
  describe: (q) =>
    [q.bands !== undefined ? `bands ${q.bands}` : '', q.priomap ? `priomap ${q.priomap.join(' ')}` : '']
      .filter(Boolean)
      .join(' '),
};

export const pfifoFast: QdiscKind<PfifoFastQdisc> = {
  family: 'qdisc',
  kind: 'pfifo_fast',
  fields: ownFields<PfifoFastQdisc, QdiscCommon>()('bands', 'priomap'),
  restorable: true,
  describe: () => '',
};
