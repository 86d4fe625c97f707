import type { NftData, NftRegister } from './data';

/** Goes on only when the register compares so with the data (default op 'eq', sreg 1). */
export interface CmpExpr {
  kind: 'cmp';
  op?: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte';
  sreg?: NftRegister;
  data: NftData;
}
