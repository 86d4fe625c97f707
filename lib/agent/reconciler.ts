// The reconcile loop: the pods a source wants -> the kernel, in one namespace, through the QoS
// policy (applyQos). State lives in the kernel (netqos marks what it owns), so a pass reads, diffs
// and sends only the difference; a restarted agent with nothing changed sends nothing. The
// handle watches the namespace (a mirror kept by the kernel's notifications), so a pass reads
// only what changed since the one before; a resync reads everything.
//
// A pass:
//   1. picks its work: on start and resync every pod (drift repair), else the pods whose source
//      changed, pods removed, and pods whose retry is due;
//   2. judges each pod on its own: no interface name or invalid annotations -> that pod is
//      reported (log line, a Kubernetes Event) and keeps the QoS it had; the others carry on;
//   3. the interfaces (from the mirror): a pod whose interface is not there yet waits
//      (exponential backoff);
//   4. ONE applyQos call for every pod that is ready plus every interface to clear (deleted pods;
//      on full passes also interfaces no pod claims), i.e. one read and one atomic batch for the
//      namespace. When it fails, the pod at fault (a conflict with another tool's objects, or the
//      interface of the operation the kernel refused) is set aside and the call is repeated
//      without it, so one pod never blocks the others;
//   5. IFBs netqos made whose interface is gone are deleted.
import type { Logger } from 'pino';
import {
  NetlinkError,
  linkTarget,
  openNetlink,
  type LinkState,
  type NetlinkHandle,
  type Operation,
} from '../netlink';
import {
  AnnotationError,
  QosConflictError,
  applyQos,
  ifbDeletion,
  ifbNameFor,
  isNetqosIfbName,
  isValidInterfaceName,
  parseAnnotations,
  readQos,
  type AnnotationMode,
  type QosSpec,
  type QosTarget,
  type TbfProfile,
  type DirectionStatus,
} from '../qos';
import type { AgentMetrics, PodStats } from './metrics';
import { fingerprint, type AgentPod, type PodReport, type PodSource } from './pods';

export type PodState = 'applied' | 'none' | 'waiting' | 'invalid' | 'conflict' | 'failed';
export type Trigger = 'start' | 'event' | 'resync' | 'retry';

export interface ReconcilerOptions {
  /** The pods' network namespace (a name under /var/run/netns or a path); default: this one. */
  netns?: string;
  mode?: AnnotationMode;
  profile?: TbfProfile;
  /** Interfaces named with this prefix belong to pods (default "cali"). */
  prefix?: string;
  /**
   * Which interfaces no pod claims are cleared of netqos objects on full passes: 'prefix'
   * (default): those named with the prefix, and any a pod named explicitly during this run;
   * 'all': every interface of the namespace. Orphan netqos IFBs are always collected.
   */
  gcScope?: 'prefix' | 'all';
  logger: Logger;
  metrics?: AgentMetrics;
  /** Collects bursts of changes into one pass (ms, default 100). */
  debounceMs?: number;
  /** Retry backoff for pods that wait or failed (ms): min doubling to max. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * How often one link dump checks the pods' interfaces (ms, default 2000; 0: never): an
   * interface that appeared (a waiting pod) or was replaced (same name, new index: a recreated
   * sandbox) is reconciled at once instead of at the next retry or resync.
   */
  linkCheckMs?: number;
  /** Called once, after the first successful full pass. */
  onReady?: () => void;
}

interface PodRecord {
  pod: AgentPod;
  fp: string;
  state: PodState | 'new';
  attempts: number;
  nextAt: number;
  /** The interface this pod's QoS was last put on, and its index then. */
  ifname?: string;
  ifindex?: number;
  /** The interface was replaced or removed since (the link check saw it): look again. */
  stale?: boolean;
  /** The last problem reported (reported again only when it changes). */
  reported?: string;
  /** Calico-mode warnings already logged for this fingerprint. */
  warned?: string;
}

type Meta = { kind: 'pod'; rec: PodRecord } | { kind: 'clear'; ifname: string; reason: string };
type Outcome = { ok: true; operations: number; warnings: string[] } | { ok: false; error: unknown };

const RETRY_STATES = new Set<PodRecord['state']>(['waiting', 'conflict', 'failed']);

function hasQos(spec: QosSpec): boolean {
  return (
    Object.values(spec.ingress).some((v) => v !== undefined) ||
    Object.values(spec.egress).some((v) => v !== undefined)
  );
}

/** The device an operation names (for finding the pod at fault). */
function operationDevice(op: Operation | undefined): string | number | undefined {
  if (!op) return undefined;
  if ('qdisc' in op) return op.qdisc.dev;
  if ('filter' in op) return op.filter.dev;
  return 'link' in op ? linkTarget(op.link) : undefined;
}

export class Reconciler {
  /** Reads and changes (its counters() are the agent's modifying messages). */
  readonly handle: NetlinkHandle;
  /** Statistics for /metrics, on a socket of its own so a scrape never waits behind a batch. */
  private readonly statsHandle: NetlinkHandle;
  private readonly records = new Map<string, PodRecord>();
  private readonly dirty = new Set<string>();
  /** Interfaces named explicitly (netqos.io/interface) during this run: in the GC scope. */
  private readonly explicitSeen = new Set<string>();
  private pendingFull: Trigger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private passFailures = 0;
  private linkTimer: NodeJS.Timeout | undefined;
  private linkChecking = false;
  private readyFired = false;
  private lastPassAt = 0;
  private lastFullAt = 0;
  private readonly handles: Map<string, NetlinkHandle>;

  constructor(
    private readonly source: PodSource,
    private readonly options: ReconcilerOptions,
  ) {
    this.handle = openNetlink({ netns: options.netns });
    this.statsHandle = openNetlink({ netns: options.netns });
    this.handles = new Map([[options.netns ?? '', this.handle]]);
    const every = options.linkCheckMs ?? 2000;
    if (every > 0) {
      this.linkTimer = setInterval(() => void this.checkLinks(), every);
      this.linkTimer.unref();
    }
  }

  get ready(): boolean {
    return this.readyFired;
  }

  /** When the last pass ended (ms since the epoch), successful or not; 0 before any. */
  get lastPass(): number {
    return this.lastPassAt;
  }

  get lastFullSync(): number {
    return this.lastFullAt;
  }

  /** Pods changed in the source. */
  changed(keys: readonly string[]): void {
    for (const k of keys) this.dirty.add(k);
    this.schedule(this.options.debounceMs ?? 100);
  }

  /** A full pass: every pod, drift repair and garbage collection. */
  requestFull(trigger: 'start' | 'resync'): void {
    if (this.pendingFull !== 'start') this.pendingFull = trigger;
    this.schedule(0);
  }

  /** Stops scheduling, waits for the pass in flight, closes the netlink handle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.linkTimer) clearInterval(this.linkTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    this.handle.close();
    this.statsHandle.close();
  }

  /** Waits until no pass runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Pods by state, for metrics. */
  counts(): Record<PodState, number> {
    const out: Record<PodState, number> = {
      applied: 0,
      none: 0,
      waiting: 0,
      invalid: 0,
      conflict: 0,
      failed: 0,
    };
    for (const r of this.records.values()) if (r.state !== 'new') out[r.state]++;
    return out;
  }

  /** The state of one pod, for tests and logs. */
  stateOf(key: string): PodState | 'new' | undefined {
    return this.records.get(key)?.state;
  }

  /** Modifying netlink messages sent so far by this agent. */
  messages(): number {
    try {
      return this.handle.counters().messages;
    } catch {
      return 0;
    }
  }

  /** Per-pod statistics of the pods whose QoS is in force, read from the kernel now. */
  async podStats(): Promise<PodStats[]> {
    const recs = [...this.records.values()].filter((r) => r.state === 'applied' && r.ifname);
    if (!recs.length || this.stopped) return [];
    const statuses = await readQos(
      recs.map((r) => ({ ifname: r.ifname!, netns: this.options.netns })),
      { handles: new Map([[this.options.netns ?? '', this.statsHandle]]) },
    );
    const out: PodStats[] = [];
    statuses.forEach((s, i) => {
      if (!s.exists) return;
      const { pod } = recs[i];
      for (const [direction, d] of [
        ['ingress', s.ingress],
        ['egress', s.egress],
      ] as const) {
        const stats = directionStats(d);
        if (stats)
          out.push({ namespace: pod.namespace, pod: pod.name, interface: s.ifname, direction, ...stats });
      }
    });
    return out;
  }

  /** One link dump: pods whose interface appeared, vanished or was replaced are looked at now. */
  private async checkLinks(): Promise<void> {
    if (this.stopped || this.linkChecking || !this.records.size) return;
    this.linkChecking = true;
    try {
      const links = await this.statsHandle.dump({ type: 'link' });
      if (this.stopped) return;
      const index = new Map(links.map((l) => [l.name, l.index]));
      let found = false;
      for (const [key, rec] of this.records) {
        const now = rec.pod.ifname ? index.get(rec.pod.ifname) : undefined;
        if (rec.state === 'applied' && rec.ifindex !== undefined && now !== rec.ifindex) {
          rec.stale = true;
          this.dirty.add(key);
          found = true;
        } else if (rec.state === 'waiting' && now !== undefined && rec.nextAt > Date.now()) {
          rec.nextAt = 0;
          this.dirty.add(key);
          found = true;
        }
      }
      if (found) this.schedule(0);
    } catch {
      /* the next pass reports kernel trouble */
    } finally {
      this.linkChecking = false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.kick();
      },
      Math.max(0, delayMs),
    );
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.afterLoop();
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const trigger: Trigger = this.pendingFull ?? (this.dirty.size ? 'event' : 'retry');
      this.pendingFull = undefined;
      await this.timedPass(trigger);
    } while (this.again && !this.stopped && (this.pendingFull || this.dirty.size));
  }

  private afterLoop(): void {
    if (this.stopped) return;
    if (this.pendingFull)
      return this.schedule(Math.min(500 * 2 ** Math.max(0, this.passFailures - 1), 30_000));
    if (this.dirty.size) return this.schedule(this.options.debounceMs ?? 100);
    let next = Infinity;
    for (const r of this.records.values()) if (RETRY_STATES.has(r.state) && r.nextAt < next) next = r.nextAt;
    if (next < Infinity) this.schedule(Math.max(0, next - Date.now()));
  }

  private async timedPass(trigger: Trigger): Promise<void> {
    const { metrics, logger } = this.options;
    const end = metrics?.reconcileDuration.startTimer({ trigger });
    const full = trigger === 'start' || trigger === 'resync';
    try {
      const did = await this.pass(trigger);
      this.passFailures = 0;
      if (did) {
        metrics?.reconciles.inc({ trigger, result: 'ok' });
        end?.();
      }
      if (did && full) {
        this.lastFullAt = Date.now();
        metrics?.lastSync.set(this.lastFullAt / 1000);
        if (!this.readyFired) {
          this.readyFired = true;
          metrics?.ready.set(1);
          logger.info({ pods: this.records.size, ...this.counts() }, 'first sync done; ready');
          this.options.onReady?.();
        }
      }
    } catch (e) {
      end?.();
      this.passFailures++;
      metrics?.reconciles.inc({ trigger, result: 'error' });
      metrics?.reconcileErrors.inc({ reason: 'pass' });
      logger.error({ trigger, err: errorText(e) }, 'reconcile pass failed; trying again');
      // Whatever was pending is tried again, in full.
      this.pendingFull = full ? trigger : 'resync';
    } finally {
      this.lastPassAt = Date.now();
    }
  }

  /** One pass; false when there was nothing to do (the source has not listed yet). */
  private async pass(trigger: Trigger): Promise<boolean> {
    const { logger, metrics } = this.options;
    const pods = this.source.pods();
    if (!pods) return false; // not listed yet: the source's synced() asks for the first pass
    const started = Date.now();
    const full = trigger === 'start' || trigger === 'resync';
    const now = Date.now();

    // Which pod claims which interface (the first by key when two name the same one).
    const claimedBy = new Map<string, string>();
    for (const key of [...pods.keys()].sort()) {
      const ifname = pods.get(key)!.ifname;
      if (ifname && !claimedBy.has(ifname)) claimedBy.set(ifname, key);
    }

    const work = new Set<string>(full ? pods.keys() : []);
    for (const k of this.dirty) work.add(k);
    this.dirty.clear();
    for (const [k, r] of this.records) {
      if (!pods.has(k) || (RETRY_STATES.has(r.state) && r.nextAt <= now)) work.add(k);
    }

    const ready: { rec: PodRecord; spec: QosSpec }[] = [];
    const toClear = new Map<string, string>();
    const clearIfUnclaimed = (ifname: string | undefined, reason: string) => {
      if (ifname && !claimedBy.has(ifname) && !toClear.has(ifname)) toClear.set(ifname, reason);
    };
    for (const key of work) {
      const pod = pods.get(key);
      let rec = this.records.get(key);
      if (!pod) {
        if (rec) {
          clearIfUnclaimed(rec.ifname, `pod ${key} was deleted`);
          clearIfUnclaimed(rec.pod.ifname, `pod ${key} was deleted`);
          this.records.delete(key);
          logger.info({ pod: key, interface: rec.ifname ?? rec.pod.ifname }, 'pod removed');
        }
        continue;
      }
      const fp = fingerprint(pod);
      if (
        !full &&
        rec &&
        rec.fp === fp &&
        !rec.stale &&
        !(RETRY_STATES.has(rec.state) && rec.nextAt <= now) &&
        rec.state !== 'new'
      )
        continue;
      if (!rec) {
        rec = { pod, fp, state: 'new', attempts: 0, nextAt: 0 };
        this.records.set(key, rec);
      } else if (rec.fp !== fp) {
        rec.fp = fp;
        rec.attempts = 0;
      }
      rec.stale = false;
      if (rec.ifname && rec.ifname !== pod.ifname)
        clearIfUnclaimed(rec.ifname, `pod ${key} now uses ${pod.ifname ?? 'no interface'}`);
      rec.pod = pod;
      if (!pod.ifname) {
        this.invalid(rec, 'interface', pod.interfaceError ?? 'no interface');
        continue;
      }
      if (claimedBy.get(pod.ifname) !== key) {
        this.invalid(
          rec,
          'interface',
          `interface ${pod.ifname} is already the interface of pod ${claimedBy.get(pod.ifname)}`,
        );
        continue;
      }
      if (!pod.ifname.startsWith(this.options.prefix ?? 'cali')) this.explicitSeen.add(pod.ifname);
      let spec: QosSpec;
      try {
        const parsed = parseAnnotations(pod.annotations, { mode: this.options.mode });
        spec = parsed.spec;
        if (parsed.warnings.length && rec.warned !== fp) {
          rec.warned = fp;
          logger.warn(
            { pod: key, interface: pod.ifname, warnings: parsed.warnings },
            'QoS annotations adjusted as Calico would',
          );
        }
      } catch (e) {
        if (!(e instanceof AnnotationError)) throw e;
        this.invalid(rec, 'annotations', e.problems.map((p) => p.message).join('; '));
        continue;
      }
      ready.push({ rec, spec });
    }

    if (!ready.length && !toClear.size && !full) return true;

    const links = await this.currentLinks(trigger === 'resync');
    const indexes = new Map(links.map((l) => [l.name, l.index]));
    const names = new Set(indexes.keys());
    const targets: QosTarget[] = [];
    const meta: Meta[] = [];
    for (const { rec, spec } of ready) {
      const ifname = rec.pod.ifname!;
      if (!names.has(ifname)) {
        if (!hasQos(spec)) {
          this.setState(rec, 'none');
          continue;
        }
        if (rec.state !== 'waiting')
          logger.info(
            { pod: rec.pod.key, interface: ifname },
            "the pod's interface does not exist yet; waiting for it",
          );
        this.retryLater(rec, 'waiting');
        continue;
      }
      targets.push({ ifname, netns: this.options.netns, annotations: rec.pod.annotations });
      meta.push({ kind: 'pod', rec });
    }
    if (full) {
      // Forget explicit interfaces that are gone and that no pod names any more.
      for (const n of this.explicitSeen) if (!names.has(n) && !claimedBy.has(n)) this.explicitSeen.delete(n);
    }
    if (full && this.source.complete()) {
      for (const l of links) {
        if (isNetqosIfbName(l.name) || claimedBy.has(l.name) || !this.inScope(l.name)) continue;
        clearIfUnclaimed(l.name, 'no pod claims this interface');
      }
    }
    for (const [ifname, reason] of toClear) {
      if (!names.has(ifname) || claimedBy.has(ifname) || !isValidInterfaceName(ifname)) continue;
      targets.push({ ifname, netns: this.options.netns, annotations: {} });
      meta.push({ kind: 'clear', ifname, reason });
    }

    let sent = 0;
    let changedPods = 0;
    if (targets.length) {
      const outcomes = await this.applyIsolated(targets, meta);
      outcomes.forEach((o, i) => {
        const m = meta[i];
        if (o.ok) sent += o.operations;
        if (m.kind === 'pod') {
          const { rec } = m;
          if (o.ok) {
            rec.ifname = rec.pod.ifname;
            rec.ifindex = indexes.get(rec.ifname!);
            rec.attempts = 0;
            rec.reported = undefined;
            if (o.operations) {
              changedPods++;
              logger.info(
                {
                  pod: rec.pod.key,
                  interface: rec.ifname,
                  operations: o.operations,
                  annotations: rec.pod.annotations,
                  repaired: trigger === 'resync' && rec.state === 'applied',
                },
                'QoS applied',
              );
            }
            this.setState(rec, 'applied');
          } else if (vanished(o.error)) {
            // The interface went away between the link dump and the batch: wait for it again.
            this.retryLater(rec, 'waiting');
          } else if (o.error instanceof QosConflictError) {
            metrics?.reconcileErrors.inc({ reason: 'conflict' });
            this.report(rec, { reason: 'QoSConflict', message: o.error.message });
            this.retryLater(rec, 'conflict');
          } else {
            metrics?.reconcileErrors.inc({ reason: 'netlink' });
            this.report(rec, { reason: 'QoSApplyFailed', message: errorText(o.error) });
            this.retryLater(rec, 'failed');
          }
        } else if (o.ok) {
          if (o.operations) {
            metrics?.orphans.inc({ kind: 'interface' });
            logger.info({ interface: m.ifname, operations: o.operations, reason: m.reason }, 'QoS cleared');
          }
        } else if (!vanished(o.error)) {
          metrics?.reconcileErrors.inc({ reason: 'netlink' });
          logger.warn(
            { interface: m.ifname, reason: m.reason, err: errorText(o.error) },
            'clearing QoS failed; trying again on the next resync',
          );
        }
      });
    }

    // IFBs netqos made for interfaces that are gone.
    const parents = new Set<string>();
    for (const l of links)
      if (!isNetqosIfbName(l.name) && isValidInterfaceName(l.name)) parents.add(ifbNameFor(l.name));
    const orphans = links.filter((l) => isNetqosIfbName(l.name) && !parents.has(l.name)).map((l) => l.name);
    if (orphans.length) {
      const ops: Operation[] = ifbDeletion(orphans);
      try {
        const r = await this.handle.apply(ops);
        sent += r.count;
        metrics?.orphans.inc({ kind: 'ifb' }, orphans.length);
        logger.info(
          {
            ifbs: orphans.length > 10 ? `${orphans.slice(0, 10).join(', ')}, ...` : orphans.join(', '),
            count: orphans.length,
          },
          'orphan IFBs deleted',
        );
      } catch (e) {
        const err = e as NetlinkError;
        // Gone already (another agent, a human) is fine; anything else is logged.
        const real = (err.failures ?? []).filter((f) => f.code !== 'ENODEV' && f.code !== 'ENOENT');
        const okCount = ops.length - (err.failures?.length ?? ops.length);
        sent += Math.max(0, okCount);
        if (okCount > 0) metrics?.orphans.inc({ kind: 'ifb' }, okCount);
        if (real.length || !err.failures) logger.warn({ err: errorText(e) }, 'deleting orphan IFBs failed');
      }
    }
    metrics?.operations.inc(sent);
    const summary = {
      trigger,
      pods: pods.size,
      checked: targets.length,
      changed: changedPods,
      operations: sent,
      ms: Date.now() - started,
    };
    if (sent) logger.info(summary, 'reconciled');
    else logger.debug(summary, 'reconciled; nothing to change');
    return true;
  }

  /**
   * The interfaces now, from the handle's mirror (watched from the first pass on, so that a pass
   * reads only what changed since the last one, and applyQos reads nothing). A resync reads
   * everything again, so nothing the mirror might have missed outlives one resync period.
   */
  private async currentLinks(resync: boolean): Promise<LinkState[]> {
    const mirror = this.handle.mirror ?? (await this.handle.watch());
    if (resync) mirror.invalidate();
    await this.handle.read(mirror.plan());
    return [...mirror.allLinks()];
  }

  /** One applyQos call; on failure, sets the pod at fault aside and repeats without it. */
  private async applyIsolated(targets: QosTarget[], meta: Meta[]): Promise<Outcome[]> {
    const out: Outcome[] = new Array(targets.length);
    const options = { mode: this.options.mode, profile: this.options.profile, handles: this.handles };
    let live = targets.map((_, i) => i);
    for (let round = 0; live.length; round++) {
      try {
        const r = await applyQos(
          live.map((i) => targets[i]),
          options,
        );
        live.forEach(
          (i, j) =>
            (out[i] = {
              ok: true,
              operations: r.targets[j].operations.length,
              warnings: r.targets[j].warnings,
            }),
        );
        return out;
      } catch (e) {
        const culprit = this.culprit(e, live, targets);
        if (culprit === undefined || round >= 16) {
          // Cannot tell who: each on its own.
          this.options.logger.warn(
            { err: errorText(e), targets: live.length },
            'the batch failed; applying pod by pod',
          );
          for (const i of live) {
            try {
              const r = await applyQos([targets[i]], options);
              out[i] = {
                ok: true,
                operations: r.targets[0].operations.length,
                warnings: r.targets[0].warnings,
              };
            } catch (e2) {
              out[i] = { ok: false, error: e2 };
            }
          }
          return out;
        }
        out[culprit] = { ok: false, error: e };
        const m = meta[culprit];
        this.options.logger.debug(
          {
            interface: targets[culprit].ifname,
            pod: m.kind === 'pod' ? m.rec.pod.key : undefined,
            err: errorText(e),
          },
          'set aside from the batch',
        );
        live = live.filter((i) => i !== culprit);
      }
    }
    return out;
  }

  private culprit(e: unknown, live: number[], targets: QosTarget[]): number | undefined {
    let dev: string | number | undefined;
    if (e instanceof QosConflictError) dev = e.ifname;
    else if (e instanceof NetlinkError) dev = operationDevice(e.operation);
    if (dev === undefined) return undefined;
    return live.find(
      (i) =>
        targets[i].ifname === dev ||
        (typeof dev === 'string' && isNetqosIfbName(dev) && ifbNameFor(targets[i].ifname) === dev),
    );
  }

  private inScope(ifname: string): boolean {
    if (this.options.gcScope === 'all') return true;
    return ifname.startsWith(this.options.prefix ?? 'cali') || this.explicitSeen.has(ifname);
  }

  private setState(rec: PodRecord, state: PodState): void {
    rec.state = state;
    if (!RETRY_STATES.has(state)) rec.nextAt = 0;
  }

  private retryLater(rec: PodRecord, state: PodState): void {
    const delay = Math.min(
      (this.options.retryMinMs ?? 500) * 2 ** rec.attempts,
      this.options.retryMaxMs ?? 30_000,
    );
    rec.attempts++;
    rec.nextAt = Date.now() + delay;
    rec.state = state;
  }

  /** Counted and reported once per distinct problem, however many passes see it. */
  private invalid(rec: PodRecord, reason: 'annotations' | 'interface', message: string): void {
    this.setState(rec, 'invalid');
    if (
      this.report(rec, {
        reason: 'InvalidQoSAnnotations',
        message: reason === 'annotations' ? `invalid QoS annotations: ${message}` : message,
      })
    ) {
      this.options.metrics?.reconcileErrors.inc({ reason });
    }
  }

  /** Logs a pod's problem and tells its owner (a Kubernetes Event), once per distinct problem. */
  private report(rec: PodRecord, report: PodReport): boolean {
    const key = `${rec.fp}\u0000${report.reason}\u0000${report.message}`;
    if (rec.reported === key) return false;
    rec.reported = key;
    const { logger, metrics } = this.options;
    logger.warn(
      {
        pod: rec.pod.key,
        source: rec.pod.source,
        interface: rec.pod.ifname,
        reason: report.reason,
        problem: report.message,
      },
      `pod ${rec.pod.key}: ${report.message}; its other pods carry on, this one keeps the QoS it had`,
    );
    this.source.report?.(rec.pod, report).catch((e: unknown) => {
      metrics?.reconcileErrors.inc({ reason: 'report' });
      logger.warn({ pod: rec.pod.key, err: errorText(e) }, 'creating the Kubernetes Event failed');
    });
    return true;
  }
}

/** The interface is gone (deleted while the pass ran). */
function vanished(e: unknown): boolean {
  if (e instanceof QosConflictError) return /the interface does not exist/.test(e.message);
  return e instanceof NetlinkError && e.code === 'ENODEV';
}

function directionStats(
  d: DirectionStatus,
): Omit<PodStats, 'namespace' | 'pod' | 'interface' | 'direction'> | undefined {
  const main = d.shaper ?? d.policer;
  if (!main) return undefined;
  return {
    bytes: main.bytes,
    packets: main.packets,
    drops: (d.shaper?.drops ?? 0) + (d.policer?.drops ?? 0),
    overlimits: (d.shaper?.overlimits ?? 0) + (d.policer?.overlimits ?? 0),
    backlog: d.shaper?.backlog ?? 0,
    ...(d.bandwidth !== undefined ? { rate: d.bandwidth } : {}),
  };
}

export function errorText(e: unknown): string {
  if (e instanceof NetlinkError)
    return e.kernelMessage ? `${e.message} (kernel: ${e.kernelMessage})` : e.message;
  return e instanceof Error ? e.message : String(e);
}
