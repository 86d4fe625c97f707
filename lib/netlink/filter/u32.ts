import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/** One 32-bit comparison: (word at offset & mask) == value, in host order as tc prints them. */
export interface U32Key {
  value: number;
  mask: number;
  /** Byte offset from the network header, a multiple of 4. */
  offset?: number;
  offmask?: number;
}

/** The u32 classifier. Without keys it matches every packet (tc's `match u32 0 0`). */
export interface U32Filter extends FilterCommon {
  kind: 'u32';
  keys?: U32Key[];
  classid?: TcHandle;
  skipHw?: boolean;
  skipSw?: boolean;
}

export const u32: FilterKind<U32Filter> = {
  family: 'filter',
  restorable: true,
  kind: 'u32',
  fields: ownFields<U32Filter, FilterCommon>()('keys', 'classid', 'skipHw', 'skipSw'),
  describe: (f) => {
    const keys = f.keys ?? [];
    const match = keys.length === 0 ? '' : `${keys.length} key${keys.length === 1 ? '' : 's'}`;
    return [match, f.classid !== undefined ? `classid ${f.classid}` : ''].filter(Boolean).join(' ');
  },
};
