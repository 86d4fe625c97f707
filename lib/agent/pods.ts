// What the agent knows of a pod, whichever source it came from, and the pod -> interface rule.
import { calicoInterfaceName, isValidInterfaceName, CALICO_INTERFACE_PREFIX } from '../qos';

/** The annotation that names a pod's host-side interface explicitly (manifest directory mode). */
export const INTERFACE_ANNOTATION = 'netqos.io/interface';
export const DEFAULT_NAMESPACE = 'default';

export interface PodRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

/** A pod as the reconciler sees it. */
export interface AgentPod {
  /** "<namespace>/<name>". */
  key: string;
  namespace: string;
  name: string;
  /** Only the annotations netqos reads (QoS keys and netqos.io/interface). */
  annotations: Record<string, string>;
  /** The host-side interface, or undefined when it cannot be derived (see interfaceError). */
  ifname?: string;
  interfaceError?: string;
  /** Where it came from: a file path, or "kubernetes". */
  source: string;
  /** For Kubernetes Events about the pod. */
  ref?: PodRef;
}

export interface InterfaceRule {
  /** Host-side interface prefix for Calico's naming (default "cali"). */
  prefix?: string;
  /** Honour netqos.io/interface (manifest mode; never for Kubernetes pods). */
  explicit?: boolean;
}

const RELEVANT =
  /^(qos\.projectcalico\.org\/|kubernetes\.io\/(ingress|egress)-bandwidth$|netqos\.io\/interface$)/;

/** The annotations that matter to netqos, others dropped (so unrelated changes do not count). */
export function relevantAnnotations(
  all: Readonly<Record<string, unknown>> | undefined | null,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all ?? {})) if (RELEVANT.test(k) && typeof v === 'string') out[k] = v;
  return out;
}

/** Calico's VethNameForWorkload with a configurable prefix, or the explicit annotation. */
export function podInterface(
  namespace: string,
  name: string,
  annotations: Readonly<Record<string, string>>,
  rule: InterfaceRule = {},
): { ifname?: string; error?: string } {
  const explicit = annotations[INTERFACE_ANNOTATION];
  if (rule.explicit && explicit !== undefined) {
    return isValidInterfaceName(explicit)
      ? { ifname: explicit }
      : {
          error: `${INTERFACE_ANNOTATION}: ${JSON.stringify(explicit)} is not a valid interface name (1 to 15 bytes, not "." or "..", no "/", ":" or whitespace)`,
        };
  }
  if (!name) return { error: 'the pod has no metadata.name, so its Calico interface name cannot be derived' };
  const ifname = calicoInterfaceName(
    namespace || DEFAULT_NAMESPACE,
    name,
    rule.prefix ?? CALICO_INTERFACE_PREFIX,
  );
  return isValidInterfaceName(ifname)
    ? { ifname }
    : {
        error: `interface prefix ${JSON.stringify(rule.prefix)} makes ${JSON.stringify(ifname)}, not a valid interface name (at most 15 bytes)`,
      };
}

export function makePod(
  input: {
    namespace?: string;
    name: string;
    annotations?: Record<string, unknown> | null;
    source: string;
    ref?: PodRef;
  },
  rule: InterfaceRule,
): AgentPod {
  const namespace = input.namespace || DEFAULT_NAMESPACE;
  const annotations = relevantAnnotations(input.annotations);
  const { ifname, error } = podInterface(namespace, input.name, annotations, rule);
  return {
    key: `${namespace}/${input.name}`,
    namespace,
    name: input.name,
    annotations,
    ...(ifname ? { ifname } : {}),
    ...(error ? { interfaceError: error } : {}),
    source: input.source,
    ...(input.ref ? { ref: input.ref } : {}),
  };
}

/** What a change must alter to matter: the interface and the relevant annotations. */
export function fingerprint(pod: AgentPod): string {
  const keys = Object.keys(pod.annotations).sort();
  return JSON.stringify([
    pod.ifname ?? null,
    pod.interfaceError ?? null,
    keys.map((k) => [k, pod.annotations[k]]),
  ]);
}

/** The subset of a Kubernetes Pod object the agent reads. */
export interface KubePod {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string> | null;
  };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { phase?: string };
}

/**
 * A Kubernetes pod -> AgentPod, or undefined for pods without a Calico interface of their own:
 * host-network pods, and pods that finished (Succeeded/Failed: their sandbox and veth are gone).
 * netqos.io/interface is ignored: a pod's owner must not be able to point the agent at another
 * interface of the node.
 */
export function podFromKubernetes(obj: KubePod, rule: InterfaceRule): AgentPod | undefined {
  const md = obj.metadata ?? {};
  if (!md.name) return undefined;
  if (obj.spec?.hostNetwork) return undefined;
  const phase = obj.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const namespace = md.namespace || DEFAULT_NAMESPACE;
  return makePod(
    {
      namespace,
      name: md.name,
      annotations: md.annotations,
      source: 'kubernetes',
      ref: {
        apiVersion: obj.apiVersion ?? 'v1',
        kind: obj.kind ?? 'Pod',
        name: md.name,
        namespace,
        uid: md.uid,
        resourceVersion: md.resourceVersion,
      },
    },
    { ...rule, explicit: false },
  );
}

/** A problem to report about a pod (log line; a Kubernetes Event when the source can). */
export interface PodReport {
  reason: 'InvalidQoSAnnotations' | 'QoSConflict' | 'QoSApplyFailed';
  message: string;
}

/** Where pods come from. */
export interface PodSource {
  readonly kind: 'kubernetes' | 'manifests';
  /** Starts following; `changed` gets the keys of pods that were added, changed or removed. */
  start(listener: SourceListener): Promise<void>;
  stop(): Promise<void>;
  /** Every pod now, by key; undefined until the first complete listing. */
  pods(): ReadonlyMap<string, AgentPod> | undefined;
  /**
   * False while part of the desired state is unknown (an unreadable manifest): the agent then
   * does not clear interfaces that no known pod claims.
   */
  complete(): boolean;
  /** A periodic safety-net rescan (manifest directory). */
  rescan?(): void;
  /** Tell the pod's owner (Kubernetes Events). */
  report?(pod: AgentPod, report: PodReport): Promise<void>;
}

export interface SourceListener {
  changed(keys: readonly string[]): void;
  /** The first complete listing is in (and again after each relist). */
  synced(): void;
}
