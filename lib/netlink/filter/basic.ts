import { ownFields, type FilterKind } from '../kind';
import type { FilterCommon, TcHandle } from '../types';

/** A cmp ematch: (the `align` at `offset` of `layer`, masked) compared with `value`. */
export interface CmpEmatch {
  kind?: 'cmp';
  align: 'u8' | 'u16' | 'u32';
  /** Bytes from the start of the layer's header. */
  offset: number;
  /** Default 'network'. */
  layer?: 'link' | 'network' | 'transport' | number;
  mask?: number;
  /** Default 'eq'. */
  op?: 'eq' | 'gt' | 'lt';
  value: number;
  /** The value is in host order (tc's "trans"). */
  trans?: boolean;
  invert?: boolean;
  /** How this one joins the next: required between ematches, absent on the last. */
  relation?: 'and' | 'or';
}

/** The basic classifier (tc-basic(8)) with a flat list of cmp ematches. */
export interface BasicFilter extends FilterCommon {
  kind: 'basic';
  matches?: CmpEmatch[];
  classid?: TcHandle;
}

const ematchText = (e: CmpEmatch) =>
  `${e.invert ? 'not ' : ''}cmp(${e.align} at ${e.offset} layer ${e.layer ?? 'network'}${e.mask ? ` mask 0x${e.mask.toString(16)}` : ''} ${e.op ?? 'eq'} ${e.value})${e.relation ? ` ${e.relation}` : ''}`;

export const basic: FilterKind<BasicFilter> = {
  family: 'filter',
  restorable: true,
  kind: 'basic',
  fields: ownFields<BasicFilter, FilterCommon>()('classid', 'matches'),
  describe: (f) =>
    [
      f.matches?.length ? `match ${f.matches.map(ematchText).join(' ')}` : '',
      f.classid !== undefined ? `classid ${f.classid}` : '',
    ]
      .filter(Boolean)
      .join(' '),
};
