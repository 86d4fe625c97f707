import type { Dev } from '../types';

/** The ingress hook (handle ffff:): filters on it see packets the interface receives. */
export interface IngressQdisc {
  kind: 'ingress';
  dev: Dev;
}
