import type { NftData, NftRegister, NftVerdict } from './data';

/** Ends the rule with a verdict, or loads a data value into a register (for a meta set). */
export type ImmediateExpr =
  ({ kind: 'immediate' } & NftVerdict) | { kind: 'immediate'; dreg?: NftRegister; data: NftData };
