import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/** The matchall classifier: every packet runs its actions. */
export interface MatchallFilter extends FilterCommon {
  kind: 'matchall';
  classid?: TcHandle;
  skipHw?: boolean;
  skipSw?: boolean;
}

export const matchall: FilterKind<MatchallFilter> = {
  family: 'filter',
  restorable: true,
  kind: 'matchall',
  fields: ownFields<MatchallFilter, FilterCommon>()('classid', 'skipHw', 'skipSw'),
  describe: (f) => (f.classid !== undefined ? `classid ${f.classid}` : ''),
};
