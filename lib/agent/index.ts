// The node agent (`netqos agent`): follows the pods of a node (Kubernetes, or a directory of Pod
// manifests) and keeps their QoS annotations in force, with metrics and health endpoints.
export { startAgent, parseListen, makeLogger, DEFAULT_LISTEN, type Agent, type AgentOptions } from './agent';
export { runAgent, buildAgentCommand } from './cli';
export { ManifestSource, isManifestName } from './manifests';
export { AgentMetrics, METRIC_NAMES, type PodStats } from './metrics';
export { Reconciler, type PodState, type ReconcilerOptions, type Trigger } from './reconciler';
export {
  INTERFACE_ANNOTATION,
  fingerprint,
  makePod,
  podFromKubernetes,
  podInterface,
  relevantAnnotations,
  type AgentPod,
  type PodReport,
  type PodSource,
  type SourceListener,
} from './pods';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes';
