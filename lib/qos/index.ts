export * from './annotations';
export * from './quantity';
export * from './dscp';
export * from './naming';
export { isOwnIfb } from './ownership';
export { QosArgumentError, QosBusyError, quoteValue, MAX_QUOTED_CHARS } from './errors';
export { NETQOS_IFB_GROUP, NETQOS_DOOMED_GROUP, type TbfProfile, type DesiredState } from './policy';
export { QosConflictError } from './reconcile';
export { describeQosOperation, formatStatusTable, hasQos, TABLE_COLUMNS } from './describe';
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
} from './qos';
