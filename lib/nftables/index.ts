// nf_tables objects, operations and reads; expression builders for pod QoS rules.
export * from './types';
export type { NftData, NftRegister, NftVerdict } from './expr/data';
export type { MetaExpr, MetaKey } from './expr/meta';
export type { PayloadExpr } from './expr/payload';
export type { BitwiseExpr } from './expr/bitwise';
export type { CmpExpr } from './expr/cmp';
export type { LimitExpr } from './expr/limit';
export type { ConnlimitExpr } from './expr/connlimit';
export type { CtExpr, CtKey } from './expr/ct';
export type { CounterExpr } from './expr/counter';
export type { RejectExpr } from './expr/reject';
export type { ImmediateExpr } from './expr/immediate';
export type { LookupExpr } from './expr/lookup';
export { NftablesHandle, NftablesError, openNftables, describeNft } from './handle';
export type { NftApplyOptions, NftApplyResult, NftOpenOptions, NftReadPlan } from './handle';
export * as nftRules from './rules';
export { canonicalExpression, dataHex, sameExpressions } from './compare';
