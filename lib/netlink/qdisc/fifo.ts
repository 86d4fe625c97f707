import { ownFields, type QdiscKind } from '../kind';
import type { QdiscCommon } from '../types';
import { sizeText } from '../units';

/** One tail-drop queue limited in packets (tc-pfifo(8)); default limit: the txqueuelen. */
export interface PfifoQdisc extends QdiscCommon {
  kind: 'pfifo';
  /** Packets. */
  limit?: number;
}

/** One tail-drop queue limited in bytes (tc-bfifo(8)); default limit: txqueuelen times the MTU. */
export interface BfifoQdisc extends QdiscCommon {
  kind: 'bfifo';
  /** Bytes. */
  limit?: number;
}

export const pfifo: QdiscKind<PfifoQdisc> = {
  family: 'qdisc',
  kind: 'pfifo',
  fields: ownFields<PfifoQdisc, QdiscCommon>()('limit'),
  restorable: true,
  describe: (q) => (q.limit !== undefined ? `limit ${q.limit}p` : ''),
};

export const bfifo: QdiscKind<BfifoQdisc> = {
  family: 'qdisc',
  kind: 'bfifo',
  fields: ownFields<BfifoQdisc, QdiscCommon>()('limit'),
  restorable: true,
  describe: (q) => (q.limit !== undefined ? `limit ${sizeText(q.limit)}` : ''),
};
