import type { FilterKind } from '../kind';
import type { FilterCommon, Handle } from '../types';

/** The matchall classifier: every packet runs its actions. */
export interface MatchallFilter extends FilterCommon {
  kind: 'matchall';
  classid?: Handle;
  skipHw?: boolean;
  skipSw?: boolean;
}

export const matchall: FilterKind<MatchallFilter> = {
  family: 'filter',
  restorable: true,
  kind: 'matchall',
  describe: (f) => (f.classid !== undefined ? `classid ${f.classid}` : ''),
};
