// Pod source: the Kubernetes API. @kubernetes/client-node's ListWatch lists this node's pods
// (field selector spec.nodeName=<node>) and watches from the list's resourceVersion:
//   - an expired resourceVersion (410 Gone, as a status or as an ERROR event) makes it relist;
//     pods missing from the new list arrive as deletions;
//   - any other failure (connection refused or dropped, 5xx, a failed list) stops it: this source
//     starts it again after an exponential backoff (0.5 s doubling to 30 s, reset by the next
//     successful list or event), watching on from the last resourceVersion it saw.
// The client is an ES module: it is loaded with a real dynamic import, so CommonJS builds work on
// every Node 20 (require(esm) is not there before 20.19).
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  podFromKubernetes,
  type AgentPod,
  type InterfaceRule,
  type KubePod,
  type PodReport,
  type PodSource,
  type SourceListener,
} from './pods';

// TypeScript would turn `import()` into require() under "module": "commonjs".
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
  specifier: string,
) => Promise<T>;

export interface KubernetesSourceOptions {
  nodeName: string;
  /** A kubeconfig file; default: the in-cluster service account, else $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  rule: InterfaceRule;
  logger: Logger;
  /** Backoff between restarts of a failed list/watch (ms). */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Counts for metrics. */
  onEvent?: (kind: 'add' | 'update' | 'delete' | 'list' | 'error' | 'restart' | 'relist') => void;
  /** A list that takes longer fails and is tried again (ms, default 60000). */
  listTimeoutMs?: number;
  /** Component name on Events (default netqos-agent). */
  component?: string;
}

const isAbort = (e: unknown) => {
  const err = e as { name?: string; type?: string; code?: string } | undefined;
  return err?.name === 'AbortError' || err?.type === 'aborted' || err?.code === 'ABORT_ERR';
};

export class KubernetesSource implements PodSource {
  readonly kind = 'kubernetes' as const;
  private informer: k8s.ListWatch<k8s.V1Pod> | undefined;
  private api: k8s.CoreV1Api | undefined;
  private listed = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private cache: { version: number; pods: Map<string, AgentPod> } | undefined;
  private version = 0;

  constructor(private readonly options: KubernetesSourceOptions) {}

  async start(listener: SourceListener): Promise<void> {
    const { logger, nodeName } = this.options;
    const client = await importEsm<typeof k8s>('@kubernetes/client-node');
    const kc = new client.KubeConfig();
    if (this.options.kubeconfig) kc.loadFromFile(this.options.kubeconfig);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the Kubernetes configuration names no cluster');
    this.api = kc.makeApiClient(client.CoreV1Api);
    const fieldSelector = `spec.nodeName=${nodeName}`;
    const api = this.api;
    const listTimeoutMs = this.options.listTimeoutMs ?? 60_000;
    const listFn = async () => {
      const wasListed = this.listed;
      let timer: NodeJS.Timeout | undefined;
      // A list that never answers would stall the informer for good: give up and start again.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`listing pods took more than ${listTimeoutMs / 1000} s`)),
          listTimeoutMs,
        );
      });
      const list = await Promise.race([api.listPodForAllNamespaces({ fieldSelector }), timeout]).finally(() =>
        clearTimeout(timer),
      );
      this.failures = 0;
      this.options.onEvent?.(wasListed ? 'relist' : 'list');
      logger.info(
        { pods: list.items.length, resourceVersion: list.metadata?.resourceVersion, relist: wasListed },
        'listed the pods of this node',
      );
      // ListWatch adds the items (and reports deletions) right after this promise settles.
      setImmediate(() => {
        if (this.stopped) return;
        this.listed = true;
        this.version++;
        listener.synced();
      });
      return list;
    };
    const informer = new client.ListWatch<k8s.V1Pod>(
      '/api/v1/pods',
      new client.Watch(kc),
      listFn,
      false,
      undefined,
      fieldSelector,
    );
    this.informer = informer;
    const changed = (kind: 'add' | 'update' | 'delete') => (pod: k8s.V1Pod) => {
      this.failures = 0;
      this.version++;
      this.options.onEvent?.(kind);
      const md = pod.metadata;
      if (md?.name) listener.changed([`${md.namespace || 'default'}/${md.name}`]);
    };
    informer.on('add', changed('add'));
    informer.on('update', changed('update'));
    informer.on('delete', changed('delete'));
    informer.on('error', (err: unknown) => {
      if (this.stopped || isAbort(err)) return;
      this.options.onEvent?.('error');
      const delay = Math.min(
        (this.options.backoffMinMs ?? 500) * 2 ** this.failures,
        this.options.backoffMaxMs ?? 30_000,
      );
      this.failures++;
      const e = err as { message?: string; statusCode?: number; code?: string | number };
      logger.warn(
        {
          err: e?.message ?? String(err),
          status: e?.statusCode ?? e?.code,
          retryInMs: delay,
          server: cluster.server,
        },
        'listing or watching pods failed; starting again after a backoff',
      );
      if (this.restartTimer) clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopped) return;
        this.options.onEvent?.('restart');
        informer
          .start()
          .catch((e2: Error) => logger.warn({ err: e2.message }, 'restarting the pod watch failed'));
      }, delay);
    });
    logger.info({ server: cluster.server, fieldSelector }, 'following the pods of this node');
    // Not awaited: the first list may take long (or fail and be retried); the agent is up and
    // answers signals and /healthz meanwhile, and /readyz says when the first sync is done.
    informer.start().catch((e: Error) => logger.warn({ err: e.message }, 'starting the pod watch failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer?.stop();
  }

  pods(): ReadonlyMap<string, AgentPod> | undefined {
    if (!this.listed || !this.informer) return undefined;
    if (this.cache?.version === this.version) return this.cache.pods;
    const pods = new Map<string, AgentPod>();
    for (const obj of this.informer.list()) {
      const pod = podFromKubernetes(obj as KubePod, this.options.rule);
      if (pod) pods.set(pod.key, pod);
    }
    this.cache = { version: this.version, pods };
    return pods;
  }

  complete(): boolean {
    return this.listed;
  }

  async report(pod: AgentPod, report: PodReport): Promise<void> {
    if (!this.api || !pod.ref) return;
    const now = new Date();
    const component = this.options.component ?? 'netqos-agent';
    await this.api.createNamespacedEvent({
      namespace: pod.namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
        involvedObject: {
          apiVersion: pod.ref.apiVersion,
          kind: pod.ref.kind,
          name: pod.ref.name,
          namespace: pod.ref.namespace,
          uid: pod.ref.uid,
          resourceVersion: pod.ref.resourceVersion,
        },
        reason: report.reason,
        message: report.message.slice(0, 1024),
        type: 'Warning',
        source: { component, host: this.options.nodeName },
        reportingComponent: component,
        reportingInstance: this.options.nodeName,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }
}
