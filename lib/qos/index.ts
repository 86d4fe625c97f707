export * from './annotations';
export * from './quantity';
export * from './dscp';
export * from './naming';
export { isOwnIfb } from './ownership';
export { QosArgumentError, QosBusyError, quoteValue, MAX_QUOTED_CHARS } from './errors';
export { calicoTbf, tcTbf } from './tbf-values';
export {
  desiredState,
  tbfFor,
  ifbDeletion,
  NETQOS_TBF_HANDLE,
  NETQOS_IFB_GROUP,
  NETQOS_DOOMED_GROUP,
  COOKIE_PREFIX,
  Role,
  PRIORITY,
  type TbfProfile,
  type DesiredState,
} from './policy';
export { QosConflictError } from './reconcile';
export {
  QosDataplaneError,
  DATAPLANES,
  type Dataplane,
  type Enforcer,
  type Placement,
  type KernelCapabilities,
} from './dataplane';
export {
  NFT_TABLE,
  NFT_TABLE_COMMENT,
  NFT_PREROUTING_PRIORITY,
  NFT_FILTER_PRIORITY,
  podChainName,
  parsePodChainName,
} from './nft-policy';
export {
  describeQosOperation,
  describeQosNftOperation,
  formatStatusTable,
  hasQos,
  TABLE_COLUMNS,
} from './describe';
export {
  applyQos,
  applyQosSync,
  planQos,
  planQosSync,
  clearQos,
  clearQosSync,
  readQos,
  readQosSync,
  parseQosAnnotations,
} from './qos';
export type {
  QosTarget,
  QosInterface,
  QosOptions,
  QosPlan,
  QosApplyResult,
  TargetPlan,
  QosStatus,
  DirectionStatus,
  Enforcement,
} from './qos';
