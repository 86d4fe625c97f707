import type { Dev } from '../types';

/** clsact: an ingress and an egress filter hook on one interface, no queue. */
export interface ClsactQdisc {
  kind: 'clsact';
  dev: Dev;
}
