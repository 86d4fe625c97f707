// Prometheus metrics (prom-client, a registry of the agent's own). Per-pod traffic statistics
// are read from the kernel (readQos) and exposed as counters: the kernel's counters are monotonic
// until netqos replaces the object, which Prometheus sees as a counter reset.
//
// Scrapes are served from one rendered exposition (exposition()): rendered by one scrape at a
// time, shared by every scrape until the agent's state changes (invalidate()) or it is older than
// maxAgeMs. So many scrapes at once cost one kernel read and one rendering, and the memory of one
// exposition, however many there are.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Direction = 'ingress' | 'egress';

/** One pod's statistics in one direction ("ingress" = to the pod, "egress" = from it). */
export interface PodStats {
  namespace: string;
  pod: string;
  interface: string;
  direction: Direction;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  /** Bytes queued in the shaper now. */
  backlog: number;
  /** The shaping rate, bit/s (absent with a packet rate only). */
  rate?: number;
}

type PodLabel = 'namespace' | 'pod' | 'interface' | 'direction';
const POD_LABELS: PodLabel[] = ['namespace', 'pod', 'interface', 'direction'];
const COUNTED = ['bytes', 'packets', 'drops', 'overlimits'] as const;

export const METRIC_NAMES = {
  podBytes: 'netqos_pod_bytes_total',
  podPackets: 'netqos_pod_packets_total',
  podDrops: 'netqos_pod_drops_total',
  podOverlimits: 'netqos_pod_overlimits_total',
  podBacklog: 'netqos_pod_backlog_bytes',
  podRate: 'netqos_pod_rate_bits_per_second',
  reconciles: 'netqos_agent_reconciles_total',
  reconcileDuration: 'netqos_agent_reconcile_duration_seconds',
  reconcileErrors: 'netqos_agent_reconcile_errors_total',
  operations: 'netqos_agent_operations_total',
  messages: 'netqos_agent_netlink_messages_total',
  pods: 'netqos_agent_pods',
  orphans: 'netqos_agent_orphans_collected_total',
  sourceEvents: 'netqos_agent_source_events_total',
  ready: 'netqos_agent_ready',
  namespaceUp: 'netqos_agent_namespace_up',
  lastSync: 'netqos_agent_last_sync_timestamp_seconds',
} as const;

interface Rendered {
  generation: number;
  at: number;
  body: Buffer;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'trigger' | 'result'>;
  readonly reconcileDuration: Histogram<'trigger'>;
  readonly reconcileErrors: Counter<'reason'>;
  readonly operations: Counter;
  readonly orphans: Counter<'kind'>;
  readonly sourceEvents: Counter<'event'>;
  readonly ready: Gauge;
  readonly namespaceUp: Gauge;
  readonly lastSync: Gauge;
  private readonly podCounters: Record<(typeof COUNTED)[number], Counter<PodLabel>>;
  private readonly podBacklog: Gauge<PodLabel>;
  private readonly podRate: Gauge<PodLabel>;
  /** Last kernel value per series, to turn absolute counters into increments. */
  private readonly last = new Map<string, number>();
  private readonly labelsByKey = new Map<string, Record<PodLabel, string>>();
  private refreshing: Promise<void> | undefined;
  private refreshedAt = 0;
  private messagesSeen = 0;
  /** Bumped when the agent's state changes: an exposition rendered before is not served after. */
  private generation = 0;
  private rendered: Rendered | undefined;
  private rendering: Promise<Rendered> | undefined;
  private readonly maxAgeMs: number;

  constructor(
    private readonly sources: {
      /** Per-pod statistics read from the kernel now. */
      podStats: () => Promise<PodStats[]>;
      /** Modifying netlink messages sent so far (the handle's counters()). */
      messages: () => number;
      /** Pods by reconcile state. */
      podStates: () => Record<string, number>;
    },
    options: {
      defaultMetrics?: boolean;
      /** How long one rendered exposition serves scrapes at most (ms, default 1000). */
      maxAgeMs?: number;
    } = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    const registers = [this.registry];
    const refresh = () => this.refresh();
    const counter = (name: string, help: string) =>
      new Counter<PodLabel>({ name, help, labelNames: POD_LABELS, registers, collect: refresh });
    this.podCounters = {
      bytes: counter(
        METRIC_NAMES.podBytes,
        "Bytes through the pod's shaper (else its packet-rate policer), by direction: ingress = to the pod, egress = from the pod",
      ),
      packets: counter(
        METRIC_NAMES.podPackets,
        "Packets through the pod's shaper (else its policer), by direction",
      ),
      drops: counter(METRIC_NAMES.podDrops, "Packets dropped by the pod's shaper and policer, by direction"),
      overlimits: counter(
        METRIC_NAMES.podOverlimits,
        "Overlimit events of the pod's shaper and policer (traffic held back or dropped over the rate), by direction",
      ),
    };
    this.podBacklog = new Gauge<PodLabel>({
      name: METRIC_NAMES.podBacklog,
      help: "Bytes queued in the pod's shaper now, by direction",
      labelNames: POD_LABELS,
      registers,
      collect: refresh,
    });
    this.podRate = new Gauge<PodLabel>({
      name: METRIC_NAMES.podRate,
      help: 'The shaping rate in force, bit/s, by direction',
      labelNames: POD_LABELS,
      registers,
      collect: refresh,
    });
    this.reconciles = new Counter({
      name: METRIC_NAMES.reconciles,
      help: 'Reconcile passes by trigger (start, event, resync, retry) and result (ok, error)',
      labelNames: ['trigger', 'result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: METRIC_NAMES.reconcileDuration,
      help: 'Duration of reconcile passes, seconds',
      labelNames: ['trigger'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: METRIC_NAMES.reconcileErrors,
      help: "Reconcile errors by reason: annotations (invalid), interface (name not derivable), conflict (another tool's objects), netlink (the kernel refused), pass (a whole pass failed), report (an Event could not be created), namespace (the pods' network namespace was deleted or replaced)",
      labelNames: ['reason'],
      registers,
    });
    this.operations = new Counter({
      name: METRIC_NAMES.operations,
      help: 'Traffic-control operations sent to the kernel',
      registers,
    });
    const messages = new Counter({
      name: METRIC_NAMES.messages,
      help: "Modifying rtnetlink messages sent (the netlink handle's counter; reads not counted)",
      registers,
      collect: () => {
        const now = this.sources.messages();
        if (now > this.messagesSeen) messages.inc(now - this.messagesSeen);
        this.messagesSeen = now;
      },
    });
    const pods = new Gauge({
      name: METRIC_NAMES.pods,
      help: "Pods by state: applied (in force), none (no QoS, no interface), waiting (interface not there yet), invalid (annotations or interface name), conflict (another tool's objects), failed (the kernel refused)",
      labelNames: ['state'],
      registers,
      collect: () => {
        pods.reset();
        for (const [state, n] of Object.entries(this.sources.podStates())) pods.set({ state }, n);
      },
    });
    this.orphans = new Counter({
      name: METRIC_NAMES.orphans,
      help: 'netqos objects collected: ifb (an IFB whose interface is gone), interface (an interface no pod claims any more, cleared)',
      labelNames: ['kind'],
      registers,
    });
    this.sourceEvents = new Counter({
      name: METRIC_NAMES.sourceEvents,
      help: 'Pod source events: add, update, delete, list, relist, error, restart',
      labelNames: ['event'],
      registers,
    });
    this.ready = new Gauge({
      name: METRIC_NAMES.ready,
      help: '1 once the first complete reconcile succeeded',
      registers,
    });
    this.namespaceUp = new Gauge({
      name: METRIC_NAMES.namespaceUp,
      help: "1 while the agent holds the pods' network namespace; 0 once it was deleted or replaced under its name, until the agent has opened it again",
      registers,
    });
    this.lastSync = new Gauge({
      name: METRIC_NAMES.lastSync,
      help: 'Unix time of the last successful full reconcile (start or resync)',
      registers,
    });
    for (const r of ['start', 'event', 'resync', 'retry'])
      for (const result of ['ok', 'error']) this.reconciles.inc({ trigger: r, result }, 0);
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Renders the registry now (every scrape should use exposition()). */
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The exposition for a scrape: the last one rendered while it is current (same state, younger
   * than maxAgeMs), else a new one, rendered once for every scrape waiting for it.
   */
  async exposition(): Promise<Buffer> {
    // At least as new as the state when the scrape came: a rendering begun before a later
    // change still serves it (else, with passes ending all the time, a scrape could wait forever).
    const asked = this.generation;
    for (;;) {
      const r = this.rendered;
      if (r && r.generation >= asked && Date.now() - r.at < this.maxAgeMs) return r.body;
      this.rendering ??= this.render().finally(() => (this.rendering = undefined));
      const got = await this.rendering;
      if (got.generation >= asked) return got.body;
      // Begun before a change this scrape came after: once more, at most.
    }
  }

  /** The agent's state changed (a pass, the namespace): the next scrape renders afresh. */
  invalidate(): void {
    this.generation++;
  }

  private async render(): Promise<Rendered> {
    const generation = this.generation;
    const at = Date.now();
    const body = Buffer.from(await this.registry.metrics());
    this.rendered = { generation, at, body };
    return this.rendered;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads the kernel once for all the per-pod metrics of one scrape (scrapes within 200 ms share it). */
  private refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (Date.now() - this.refreshedAt < 200) return Promise.resolve();
    this.refreshing = this.sources
      .podStats()
      .then((stats) => this.update(stats))
      .catch(() => {
        /* a failed read leaves the last values; the reconciler reports kernel trouble */
      })
      .finally(() => {
        this.refreshedAt = Date.now();
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private update(stats: PodStats[]): void {
    const live = new Set<string>();
    for (const s of stats) {
      const labels: Record<PodLabel, string> = {
        namespace: s.namespace,
        pod: s.pod,
        interface: s.interface,
        direction: s.direction,
      };
      const id = POD_LABELS.map((l) => labels[l]).join('\u0000');
      live.add(id);
      this.labelsByKey.set(id, labels);
      for (const field of COUNTED) {
        const key = `${id}\u0000${field}`;
        const value = s[field];
        const before = this.last.get(key);
        if (before === undefined || value < before) {
          // New series, or the kernel object was replaced (its counters restarted).
          this.podCounters[field].remove(labels);
          this.podCounters[field].inc(labels, value);
        } else if (value > before) this.podCounters[field].inc(labels, value - before);
        this.last.set(key, value);
      }
      this.podBacklog.set(labels, s.backlog);
      if (s.rate !== undefined) this.podRate.set(labels, s.rate);
      else this.podRate.remove(labels);
    }
    for (const [id, labels] of [...this.labelsByKey]) {
      if (live.has(id)) continue;
      for (const field of COUNTED) {
        this.podCounters[field].remove(labels);
        this.last.delete(`${id}\u0000${field}`);
      }
      this.podBacklog.remove(labels);
      this.podRate.remove(labels);
      this.labelsByKey.delete(id);
    }
  }
}
