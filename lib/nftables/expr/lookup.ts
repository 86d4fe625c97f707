import type { NftRegister } from './data';

/**
 * Matches when the register's value is in the set (or, `invert`, is not); with `dreg` it loads
 * the element's data too: 0 for a verdict map (`iifname vmap @pods`).
 */
export interface LookupExpr {
  kind: 'lookup';
  set: string;
  sreg?: NftRegister;
  dreg?: NftRegister;
  invert?: boolean;
}
