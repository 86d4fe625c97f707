import type { FilterCommon, Handle } from '../types';

/** The matchall classifier: every packet runs its actions. */
export interface MatchallFilter extends FilterCommon {
  kind: 'matchall';
  classid?: Handle;
  skipHw?: boolean;
  skipSw?: boolean;
}
