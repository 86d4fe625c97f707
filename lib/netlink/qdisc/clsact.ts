import type { QdiscKind } from '../kind';
import type { Dev } from '../types';

/** clsact: an ingress and an egress filter hook on one interface, no queue. */
export interface ClsactQdisc {
  kind: 'clsact';
  dev: Dev;
}

export const clsact: QdiscKind<ClsactQdisc> = {
  family: 'qdisc',
  kind: 'clsact',
  hooks: ['ingress', 'egress'],
  restorable: true,
  describe: () => '',
};
