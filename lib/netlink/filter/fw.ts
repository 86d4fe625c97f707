import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/** The fw classifier (tc-fw(8)): `handle` is the firewall mark to match; `mask` selects its bits. */
export interface FwFilter extends FilterCommon {
  kind: 'fw';
  mask?: number;
  classid?: TcHandle;
  /** The interface the packet came in on. */
  indev?: string;
}

export const fw: FilterKind<FwFilter> = {
  family: 'filter',
  restorable: true,
  kind: 'fw',
  fields: ownFields<FwFilter, FilterCommon>()('classid', 'indev', 'mask'),
  describe: (f) =>
    [
      f.handle !== undefined
        ? `mark 0x${f.handle.toString(16)}${f.mask !== undefined ? `/0x${f.mask.toString(16)}` : ''}`
        : '',
      f.classid !== undefined ? `classid ${f.classid}` : '',
    ]
      .filter(Boolean)
      .join(' '),
};
