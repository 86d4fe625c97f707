import type { QdiscCommon } from '../types';
import { ownFields, type QdiscKind } from '../kind';
import type { Dev } from '../types';

/** The ingress hook (handle ffff:): filters on it see packets the interface receives. */
export interface IngressQdisc {
  kind: 'ingress';
  dev: Dev;
}

export const ingress: QdiscKind<IngressQdisc> = {
  family: 'qdisc',
  kind: 'ingress',
  fields: ownFields<IngressQdisc, QdiscCommon>()(),
  hooks: ['ingress'],
  restorable: true,
  describe: () => '',
};
