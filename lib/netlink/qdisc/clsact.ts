import type { QdiscCommon } from '../types';
import { ownFields, type QdiscKind } from '../kind';
import type { Dev } from '../types';

/** clsact: an ingress and an egress filter hook on one interface, no queue. */
export interface ClsactQdisc {
  kind: 'clsact';
  dev: Dev;
}

export const clsact: QdiscKind<ClsactQdisc> = {
  family: 'qdisc',
  kind: 'clsact',
  fields: ownFields<ClsactQdisc, QdiscCommon>()(),
  hooks: ['ingress', 'egress'],
  restorable: true,
  describe: () => '',
};
