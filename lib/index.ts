// netqos: Linux traffic control over rtnetlink, and Calico-style pod QoS on top of it.
//
// The package's public face, name by name: what README's "Library" section documents. Each
// layer's own index (lib/netlink, lib/nftables, lib/qos) is wider, for the layers above it;
// what is only here for tests or for netqos's own front ends is imported from its module.

// Errors: every one a NetqosError with a stable `code`.
export { NetqosError, NetqosArgumentError, NativeEngineMissingError } from './errors';

// tc objects over rtnetlink: the handle, its operations and read-backs, the mirror.
export {
  openNetlink,
  NetlinkHandle,
  NetlinkError,
  TcMirror,
  describeOperation,
  parseRate,
  parseSize,
  parseTime,
  formatRate,
  formatSize,
} from './netlink';
export type {
  OpenOptions,
  ApplyOptions,
  ApplyResult,
  WatchOptions,
  DumpPlan,
  DumpRequest,
  DumpQuery,
  Snapshot,
  TcEvent,
  MirrorCounters,
  NetlinkErrorDetails,
  OperationFailure,
  Operation,
  Dev,
  TcHandle,
  Control,
  Stats,
  Qdisc,
  Filter,
  Action,
  QdiscCommon,
  FilterCommon,
  ActionCommon,
  QdiscRef,
  FilterRef,
  QdiscState,
  FilterState,
  ActionState,
  LinkState,
  TbfQdisc,
  IngressQdisc,
  ClsactQdisc,
  U32Filter,
  U32Key,
  MatchallFilter,
  PoliceAction,
  MirredAction,
  PeditAction,
  PeditKey,
  CsumAction,
  SkbeditAction,
  GactAction,
  IfbLink,
  LinkChange,
  LinkDelete,
} from './netlink';

// nf_tables: its handle, operations and reads, and the rule builders for pod QoS.
export * from './nftables';

// Pod QoS from Calico's annotations.
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
  describeQosOperation,
  formatStatusTable,
  AnnotationError,
  QosArgumentError,
  QosBusyError,
  QosConflictError,
  QuantityError,
  DscpError,
  parseQuantity,
  parseDscp,
  dscpName,
  calicoInterfaceName,
  ifbNameFor,
  isOwnIfb,
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
  QosSpec,
  DirectionQos,
  EgressQos,
  AnnotationMode,
  AnnotationProblem,
  TbfProfile,
  ParseQuantityOptions,
  QuantityErrorReason,
  ParseDscpOptions,
  DscpErrorReason,
} from './qos';
