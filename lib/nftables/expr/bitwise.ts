import type { NftData, NftRegister } from './data';

/**
 * dreg = (sreg & mask) ^ xor over `len` bytes (`op` 'mask-xor' is the default; nft names it in
 * some rules and not in others, and netqos sends it only when given), or a shift of 32-bit words.
 */
export type BitwiseExpr =
  | {
      kind: 'bitwise';
      op?: 'mask-xor';
      sreg?: NftRegister;
      dreg?: NftRegister;
      len: number;
      mask: NftData;
      xor: NftData;
    }
  | {
      kind: 'bitwise';
      op: 'lshift' | 'rshift';
      sreg?: NftRegister;
      dreg?: NftRegister;
      len: number;
      shift: number;
    };
