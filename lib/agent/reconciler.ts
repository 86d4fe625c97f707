// The reconcile loop: the pods a source wants -> the kernel, in one namespace, through the QoS
// policy (applyQos). State lives in the kernel (netqos marks what it owns), so a pass reads, diffs
// and sends only the difference; a restarted agent with nothing changed sends nothing. The
// handle watches the namespace (a mirror kept by the kernel's notifications), so a pass reads
// only what changed since the one before; a resync reads everything.
//
// A pass (its decisions are plain functions in work.ts; this file reads, sends, logs and counts):
//   1. picks its work (chooseWork): on start and resync every pod (drift repair), else the pods
//      whose source changed, pods removed, and pods whose retry is due;
//   2. judges each pod on its own (judgePods): no interface name or invalid annotations -> that
//      pod is reported (log line, a Kubernetes Event) and keeps the QoS it had; the others carry on;
//   3. the interfaces (from the mirror; placePods): a pod whose interface is not there yet waits
//      (exponential backoff);
//   4. ONE applyQos call for every pod that is ready plus every interface to clear (deleted pods;
//      on full passes also interfaces no pod claims), i.e. one read and one atomic batch for the
//      namespace. When it fails, the pod at fault (a conflict with another tool's objects, or the
//      interface of the operation the kernel refused) is set aside and the call is repeated
//      without it, so one pod never blocks the others (isolate.ts); each outcome makes the pod's
//      new state (podVerdict);
//   5. IFBs netqos made whose interface is gone are deleted (orphans.ts), and (on full passes, or
//      when a pod went) the nftables chains of interfaces that are gone.
//
// Before each pass (and after a failed one) the namespace's name is checked against the
// namespace the handles are in (namespace.ts): deleted or replaced, the handles are closed, the
// pods wait and /readyz says why; once the name leads to a namespace again, new handles and a
// full pass.
import type { Logger } from 'pino';
import type { NetlinkHandle } from '../handle';
import type { LinkState, TcMirror } from '../netlink';
import {
  applyQos,
  collectNftOrphans,
  readQos,
  type AnnotationMode,
  type Dataplane,
  type DirectionStatus,
  type TbfProfile,
} from '../qos';
import { applyIsolated } from './isolate';
import type { AgentMetrics, PodStats } from './metrics';
import { connect, lostReason, namespaceExists, type Connection } from './namespace';
import { orphanDeletion, orphanDeletionResult, orphanIfbs } from './orphans';
import { fingerprint, type AgentPod, type PodReport, type PodSource } from './pods';
import {
  RETRY_STATES,
  changedElsewhere,
  chooseWork,
  claimInterfaces,
  clearable,
  errorText,
  judgePods,
  linkChanges,
  passRetryDelay,
  placePods,
  podVerdict,
  retryDelay,
  seenOf,
  unclaimedInterfaces,
  vanished,
  type PodRecord,
  type PodState,
} from './work';

export type { PodState } from './work';
export { errorText } from './work';
export type Trigger = 'start' | 'event' | 'resync' | 'retry';

export interface ReconcilerOptions {
  /** The pods' network namespace (a name under /var/run/netns or a path); default: this one. */
  netns?: string;
  mode?: AnnotationMode;
  profile?: TbfProfile;
  /** What enforces packet rate and DSCP (see QosOptions.dataplane; default auto). */
  dataplane?: Dataplane;
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
  /** Opens the handles on the namespace (default: namespace.ts connect, netlink handles). */
  connect?: (netns: string | undefined) => Connection;
}

/** A target of the pass's applyQos call: a pod's interface, or one to clear. */
type Meta = { kind: 'pod'; rec: PodRecord } | { kind: 'clear'; ifname: string; reason: string };

export class Reconciler {
  /**
   * The handles on the namespace (reads and changes; statistics for /metrics on a socket of its
   * own, so a scrape never waits behind a batch), or undefined while the namespace is lost.
   */
  private conn: Connection | undefined;
  /** Why the namespace cannot be reached now (deleted, replaced, not reopened yet). */
  private lost: string | undefined;
  /** The last namespace problem logged (each is logged once). */
  private lostLogged: string | undefined;
  /** Modifying messages sent through handles closed since (a lost namespace's). */
  private messagesBefore = 0;
  private readonly records = new Map<string, PodRecord>();
  private readonly dirty = new Set<string>();
  /** Interfaces named explicitly (netqos.io/interface) during this run: in the GC scope. */
  private readonly explicitSeen = new Set<string>();
  private pendingFull: Trigger | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running: Promise<void> | undefined;
  private again = false;
  /** Changes made by someone else in this process (the CNI server) since the last pass looked. */
  private externalChanges = 0;
  private recheck = false;
  /** A change of someone else's overlapped a pass: every pod is looked at on the next recheck. */
  private recheckAll = false;
  private stopped = false;
  private passFailures = 0;
  private linkTimer: NodeJS.Timeout | undefined;
  private linkChecking = false;
  private readyFired = false;
  private lastPassAt = 0;
  private lastFullAt = 0;

  constructor(
    private readonly source: PodSource,
    private readonly options: ReconcilerOptions,
  ) {
    this.conn = (options.connect ?? connect)(options.netns);
    options.metrics?.namespaceUp.set(1);
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

  /** Why the pods' namespace cannot be reached now (deleted or replaced), or undefined. */
  get namespaceProblem(): string | undefined {
    return this.lost;
  }

  /** Pods changed in the source. */
  changed(keys: readonly string[]): void {
    for (const k of keys) this.dirty.add(k);
    this.schedule(this.options.debounceMs ?? 100);
  }

  /**
   * Someone else in this process changed interfaces of this namespace (the agent's CNI server
   * served an ADD or DEL): the pods whose interface or IFB changed since the last pass are
   * reconciled again, so the pod source's QoS wins in the next pass, not at the next resync.
   */
  externalChange(): void {
    this.externalChanges++;
    this.recheck = true;
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
    this.disconnect();
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
      return this.messagesBefore + (this.conn?.handle.counters().messages ?? 0);
    } catch {
      return this.messagesBefore;
    }
  }

  /** Per-pod statistics of the pods whose QoS is in force, read from the kernel now. */
  async podStats(): Promise<PodStats[]> {
    const recs = [...this.records.values()].filter((r) => r.state === 'applied' && r.ifname);
    const conn = this.conn;
    if (!recs.length || this.stopped || !conn) return [];
    const statuses = await readQos(
      recs.map((r) => ({ ifname: r.ifname!, netns: this.options.netns })),
      { handles: new Map([[this.options.netns ?? '', conn.stats]]) },
    );
    const out: PodStats[] = [];
    recs.forEach(({ pod }, i) => {
      const s = statuses[i]; // readQos answers each target, in order
      if (!s?.exists) return;
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

  /**
   * One link dump: pods whose interface appeared, vanished or was replaced are looked at now. And
   * the namespace itself: lost, or back (a pass then says so and acts).
   */
  private async checkLinks(): Promise<void> {
    if (this.stopped || this.linkChecking) return;
    const conn = this.conn;
    if (conn ? lostReason(this.options.netns, conn) : namespaceExists(this.options.netns!)) {
      this.requestFull('resync');
      return;
    }
    if (!conn || !this.records.size) return;
    this.linkChecking = true;
    try {
      const links = await conn.stats.dump({ type: 'link' });
      if (this.stopped) return;
      const { stale, due } = linkChanges(
        this.records,
        new Map(links.map((l) => [l.name, l.index])),
        Date.now(),
      );
      for (const key of stale) this.records.get(key)!.stale = true;
      for (const key of due) this.records.get(key)!.nextAt = 0;
      for (const key of [...stale, ...due]) this.dirty.add(key);
      const found = stale.length + due.length > 0;
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
      const trigger: Trigger = this.pendingFull ?? (this.dirty.size || this.recheck ? 'event' : 'retry');
      this.pendingFull = undefined;
      await this.timedPass(trigger);
    } while (this.again && !this.stopped && (this.pendingFull || this.dirty.size || this.recheck));
  }

  private afterLoop(): void {
    if (this.stopped) return;
    if (this.pendingFull) return this.schedule(passRetryDelay(this.passFailures));
    if (this.dirty.size || this.recheck) return this.schedule(this.options.debounceMs ?? 100);
    let next = Infinity;
    for (const r of this.records.values()) if (RETRY_STATES.has(r.state) && r.nextAt < next) next = r.nextAt;
    if (next < Infinity) this.schedule(Math.max(0, next - Date.now()));
  }

  private async timedPass(trigger: Trigger): Promise<void> {
    const { metrics, logger } = this.options;
    const end = metrics?.reconcileDuration.startTimer({ trigger });
    const full = trigger === 'start' || trigger === 'resync';
    try {
      const done = await this.pass(trigger);
      this.passFailures = 0;
      if (done === 'partial' || done === 'full') {
        metrics?.reconciles.inc({ trigger, result: 'ok' });
        end?.();
      }
      if (done === 'full') {
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
      // A pass fails when the namespace went away under it: that is what to say.
      const why = this.conn && lostReason(this.options.netns, this.conn);
      if (why) {
        this.loseNamespace(why);
        this.pendingFull = 'resync';
        return;
      }
      this.passFailures++;
      metrics?.reconciles.inc({ trigger, result: 'error' });
      metrics?.reconcileErrors.inc({ reason: 'pass' });
      logger.error({ trigger, err: errorText(e) }, 'reconcile pass failed; trying again');
      // Whatever was pending is tried again, in full.
      this.pendingFull = full ? trigger : 'resync';
    } finally {
      this.lastPassAt = Date.now();
      metrics?.invalidate();
    }
  }

  /**
   * One pass: 'full' or 'partial' (every pod or some), 'idle' when the source has not listed yet,
   * 'lost' when the namespace cannot be reached (the pods wait for it).
   */
  private async pass(trigger: Trigger): Promise<'full' | 'partial' | 'idle' | 'lost'> {
    const { logger, metrics } = this.options;
    const pods = this.source.pods();
    if (!pods) return 'idle'; // not listed yet: the source's synced() asks for the first pass
    const started = Date.now();
    const now = Date.now();
    const held = this.connection(pods);
    if (!held) return 'lost';
    const { conn } = held;
    // A namespace back (a new one, or the same reopened): everything again.
    const full = trigger === 'start' || trigger === 'resync' || held.reopened;

    const claimedBy = claimInterfaces(pods);
    const externalAtStart = this.externalChanges;
    let links: LinkState[] | undefined;
    if (full) this.recheckAll = false;
    if (this.recheck) {
      this.recheck = false;
      if (!full) {
        links = await this.currentLinks(conn, false);
        this.markChangedElsewhere(conn.handle.mirror!, pods);
      }
    }

    const work = chooseWork(pods, this.records, this.dirty, full, now);
    this.dirty.clear();
    const judged = judgePods(work, pods, this.records, {
      full,
      now,
      claimedBy,
      mode: this.options.mode,
      prefix: this.prefix,
    });
    for (const { key, rec } of judged.removed)
      logger.info({ pod: key, interface: rec.ifname ?? rec.pod.ifname }, 'pod removed');
    for (const ifname of judged.explicit) this.explicitSeen.add(ifname);
    for (const { rec, warnings } of judged.warnings)
      logger.warn(
        { pod: rec.pod.key, interface: rec.pod.ifname, warnings },
        'QoS annotations adjusted as Calico would',
      );
    for (const { rec, reason, message } of judged.invalid) this.invalid(rec, reason, message);
    if (!judged.ready.length && !judged.toClear.size && !full) return 'partial';

    links ??= await this.currentLinks(conn, trigger === 'resync');
    const indexes = new Map(links.map((l) => [l.name, l.index]));
    const names = new Set(indexes.keys());
    const placed = placePods(judged.ready, names);
    for (const rec of placed.none) this.setState(rec, 'none');
    for (const rec of placed.absent) {
      if (rec.state !== 'waiting')
        logger.info(
          { pod: rec.pod.key, interface: rec.pod.ifname },
          "the pod's interface does not exist yet; waiting for it",
        );
      this.retryLater(rec, 'waiting');
    }
    const { toClear } = judged;
    if (full) {
      // Forget explicit interfaces that are gone and that no pod names any more.
      for (const n of this.explicitSeen) if (!names.has(n) && !claimedBy.has(n)) this.explicitSeen.delete(n);
    }
    if (full && this.source.complete()) {
      for (const ifname of unclaimedInterfaces(links, claimedBy, (n) => this.inScope(n)))
        if (!toClear.has(ifname)) toClear.set(ifname, 'no pod claims this interface');
    }
    const meta: Meta[] = [
      ...placed.present.map((rec): Meta => ({ kind: 'pod', rec })),
      ...clearable(toClear, names, claimedBy).map(([ifname, reason]): Meta => ({
        kind: 'clear',
        ifname,
        reason,
      })),
    ];

    const applied = meta.length
      ? await this.applyTargets(conn, meta, indexes, trigger)
      : { sent: 0, changed: 0 };
    let sent = applied.sent + (await this.collectOrphans(conn, links));
    // nftables chains of interfaces that are gone (a deleted pod's): on full passes, and when a
    // pod went.
    if (full || toClear.size) sent += await this.collectNftOrphans(conn);
    await this.noteSeen(conn, externalAtStart);
    metrics?.operations.inc(sent);
    const summary = {
      trigger,
      pods: pods.size,
      checked: meta.length,
      changed: applied.changed,
      operations: sent,
      ms: Date.now() - started,
    };
    if (sent) logger.info(summary, 'reconciled');
    else logger.debug(summary, 'reconciled; nothing to change');
    return full ? 'full' : 'partial';
  }

  /**
   * The handles for this pass: the namespace checked first (deleted or replaced: the handles are
   * closed), opened again when lost (`reopened`). Undefined while it cannot be: the pods wait.
   */
  private connection(
    pods: ReadonlyMap<string, AgentPod>,
  ): { conn: Connection; reopened: boolean } | undefined {
    const why = this.conn && lostReason(this.options.netns, this.conn);
    if (why) this.loseNamespace(why);
    if (this.conn) return { conn: this.conn, reopened: false };
    const conn = this.reconnect();
    if (conn) return { conn, reopened: true };
    this.waitForNamespace(pods);
    return undefined;
  }

  /** The pass's one applyQos call (isolate.ts), and what each outcome makes of its pod. */
  private async applyTargets(
    conn: Connection,
    meta: readonly Meta[],
    indexes: ReadonlyMap<string, number>,
    trigger: Trigger,
  ): Promise<{ sent: number; changed: number }> {
    const { logger, metrics, netns } = this.options;
    const targets = meta.map((m) =>
      m.kind === 'pod'
        ? { ifname: m.rec.pod.ifname!, netns, annotations: m.rec.pod.annotations }
        : { ifname: m.ifname, netns, annotations: {} },
    );
    const handles = new Map<string, NetlinkHandle>([[netns ?? '', conn.handle]]);
    const options = {
      mode: this.options.mode,
      profile: this.options.profile,
      dataplane: this.options.dataplane,
      handles,
    };
    const outcomes = await applyIsolated(
      targets,
      (t) => applyQos(t, options),
      logger,
      (i) => {
        const m = meta[i];
        return m?.kind === 'pod' ? m.rec.pod.key : undefined;
      },
    );
    let sent = 0;
    let changed = 0;
    meta.forEach((m, i) => {
      const o = outcomes[i];
      if (!o) return; // applyIsolated answers each target, in order
      if (o.ok) sent += o.operations;
      if (m.kind === 'clear') {
        if (o.ok) {
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
        return;
      }
      const { rec } = m;
      const verdict = podVerdict(o);
      if (verdict.state === 'applied') {
        rec.ifname = rec.pod.ifname;
        rec.ifindex = indexes.get(rec.ifname!);
        rec.attempts = 0;
        rec.reported = undefined;
        if (verdict.operations) {
          changed++;
          logger.info(
            {
              pod: rec.pod.key,
              interface: rec.ifname,
              operations: verdict.operations,
              annotations: rec.pod.annotations,
              repaired: trigger === 'resync' && rec.state === 'applied',
            },
            'QoS applied',
          );
        }
        this.setState(rec, 'applied');
      } else if (verdict.state === 'waiting') {
        this.retryLater(rec, 'waiting');
      } else {
        metrics?.reconcileErrors.inc({ reason: verdict.errorReason });
        this.report(rec, verdict.report);
        this.retryLater(rec, verdict.state);
      }
    });
    return { sent, changed };
  }

  /** Deletes the IFBs netqos made whose interface is gone (orphans.ts); the operations sent. */
  private async collectOrphans(conn: Connection, links: readonly LinkState[]): Promise<number> {
    const { logger, metrics } = this.options;
    const orphans = orphanIfbs(links);
    if (!orphans.length) return 0;
    try {
      const r = await conn.handle.apply(orphanDeletion(orphans), { throwOnFailure: false });
      // Gone already (another agent, a human) is fine; anything else is logged. When the group
      // delete fails, the IFBs moved into it stay netqos's (isOwnIfb) and the next pass retries.
      const { deleted, sent, failures } = orphanDeletionResult(orphans, r);
      if (deleted.length) {
        metrics?.orphans.inc({ kind: 'ifb' }, deleted.length);
        logger.info(
          {
            ifbs: deleted.length > 10 ? `${deleted.slice(0, 10).join(', ')}, ...` : deleted.join(', '),
            count: deleted.length,
          },
          'orphan IFBs deleted',
        );
      }
      if (failures.length) logger.warn({ err: failures.join('; ') }, 'deleting orphan IFBs failed');
      return sent;
    } catch (e) {
      logger.warn({ err: errorText(e) }, 'deleting orphan IFBs failed');
      return 0;
    }
  }

  /** Deletes the nftables chains of interfaces that are gone (nft-orphans.ts); the operations sent. */
  private async collectNftOrphans(conn: Connection): Promise<number> {
    const { logger, metrics } = this.options;
    try {
      const o = await collectNftOrphans(conn.handle);
      if (o.chains.length) {
        metrics?.orphans.inc({ kind: 'nftables' }, o.chains.length);
        logger.info(
          { chains: o.chains.slice(0, 10).join(', '), count: o.chains.length },
          'orphan nftables chains deleted',
        );
      }
      return o.sent;
    } catch (e) {
      logger.warn({ err: errorText(e) }, 'deleting orphan nftables chains failed');
      return 0;
    }
  }

  /**
   * Each pod's interface and IFB as they are now, this pass's changes included: a difference
   * found by a later recheck is someone else's. When someone else changed something during the
   * pass, whose change is whose cannot be told: the next recheck looks at every pod.
   */
  private async noteSeen(conn: Connection, externalAtStart: number): Promise<void> {
    const mirror = conn.handle.mirror;
    if (!mirror) return;
    await conn.handle.read(mirror.plan());
    if (this.externalChanges !== externalAtStart) this.recheckAll = true;
    else
      for (const r of this.records.values())
        if (r.state === 'applied' && r.ifname) r.seen = seenOf(mirror, r.ifname);
  }

  /**
   * After someone else's change: applied pods whose interface or IFB changed since the last pass
   * are reconciled again (all of them after recheckAll), and waiting pods whose interface is
   * there now are tried now.
   */
  private markChangedElsewhere(mirror: TcMirror, pods: ReadonlyMap<string, AgentPod>): void {
    const { stale, due } = changedElsewhere(
      this.records,
      pods,
      (ifname) => seenOf(mirror, ifname),
      (ifname) => mirror.link(ifname) !== undefined,
      this.recheckAll,
    );
    for (const key of stale) {
      this.records.get(key)!.stale = true;
      this.dirty.add(key);
    }
    for (const key of due) this.records.get(key)!.nextAt = 0;
    this.recheckAll = false;
  }

  /**
   * The namespace is gone or another under its name: the handles are closed (they kept the old
   * one alive), the pods wait for it, and every check tries to open it again.
   */
  private loseNamespace(why: string): void {
    const { logger, metrics, netns } = this.options;
    logger.error(
      { netns, reason: why },
      `${why}; the pods' QoS cannot be kept in force until it is back (checked every few seconds)`,
    );
    this.lost = why;
    this.lostLogged = why;
    this.disconnect();
    metrics?.namespaceUp.set(0);
    metrics?.reconcileErrors.inc({ reason: 'namespace' });
    this.explicitSeen.clear();
    for (const rec of this.records.values()) this.awaitNamespace(rec);
  }

  /** Opens the namespace again; undefined (and the reason kept) while it cannot be. */
  private reconnect(): Connection | undefined {
    const { logger, metrics, netns } = this.options;
    try {
      this.conn = (this.options.connect ?? connect)(netns);
    } catch (e) {
      const why = `${this.lost ?? `network namespace "${netns}" cannot be reached`}; opening it again failed: ${errorText(e)}`;
      if (namespaceExists(netns!) && this.lostLogged !== why) {
        this.lostLogged = why;
        logger.warn({ netns, reason: why }, 'the network namespace cannot be opened yet');
      }
      return undefined;
    }
    logger.info({ netns, was: this.lost }, 'the network namespace is back; reconciling every pod');
    this.lost = undefined;
    this.lostLogged = undefined;
    metrics?.namespaceUp.set(1);
    return this.conn;
  }

  /** While the namespace is lost: the pods the source has are known, all waiting. */
  private waitForNamespace(pods: ReadonlyMap<string, AgentPod>): void {
    this.dirty.clear();
    for (const key of this.records.keys()) if (!pods.has(key)) this.records.delete(key);
    for (const [key, pod] of pods) {
      let rec = this.records.get(key);
      if (!rec)
        this.records.set(key, (rec = { pod, fp: fingerprint(pod), state: 'new', attempts: 0, nextAt: 0 }));
      rec.pod = pod;
      rec.fp = fingerprint(pod);
      this.awaitNamespace(rec);
    }
  }

  private awaitNamespace(rec: PodRecord): void {
    rec.state = 'waiting';
    rec.nextAt = Infinity; // the namespace check, not a retry, brings it back
    rec.attempts = 0;
    rec.ifname = undefined;
    rec.ifindex = undefined;
    rec.stale = false;
    rec.reported = undefined;
    rec.seen = undefined;
  }

  private disconnect(): void {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    try {
      this.messagesBefore += conn.handle.counters().messages;
    } catch {
      /* closed already */
    }
    conn.handle.close();
    conn.stats.close();
  }

  /**
   * The interfaces now, from the handle's mirror (watched from the first pass on, so that a pass
   * reads only what changed since the last one, and applyQos reads nothing). A resync reads
   * everything again, so nothing the mirror might have missed outlives one resync period.
   */
  private async currentLinks({ handle }: Connection, resync: boolean): Promise<LinkState[]> {
    const mirror = handle.mirror ?? (await handle.watch());
    if (resync) mirror.invalidate();
    await handle.read(mirror.plan());
    return [...mirror.allLinks()];
  }

  private get prefix(): string {
    return this.options.prefix ?? 'cali';
  }

  private inScope(ifname: string): boolean {
    if (this.options.gcScope === 'all') return true;
    return ifname.startsWith(this.prefix) || this.explicitSeen.has(ifname);
  }

  private setState(rec: PodRecord, state: PodState): void {
    rec.state = state;
    if (!RETRY_STATES.has(state)) rec.nextAt = 0;
  }

  private retryLater(rec: PodRecord, state: PodState): void {
    const delay = retryDelay(rec.attempts, this.options.retryMinMs, this.options.retryMaxMs);
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

function directionStats(
  d: DirectionStatus & { remarkedPackets?: number },
): Omit<PodStats, 'namespace' | 'pod' | 'interface' | 'direction'> | undefined {
  const main = d.shaper ?? d.policer;
  const nft = {
    ...(d.packetRateDrops !== undefined ? { packetRateDrops: d.packetRateDrops } : {}),
    ...(d.rejectedConnections !== undefined ? { rejectedConnections: d.rejectedConnections } : {}),
    ...(d.remarkedPackets !== undefined ? { remarkedPackets: d.remarkedPackets } : {}),
  };
  if (!main) return Object.keys(nft).length ? nft : undefined;
  return {
    bytes: main.bytes,
    packets: main.packets,
    drops: (d.shaper?.drops ?? 0) + (d.policer?.drops ?? 0),
    overlimits: (d.shaper?.overlimits ?? 0) + (d.policer?.overlimits ?? 0),
    backlog: d.shaper?.backlog ?? 0,
    ...(d.bandwidth !== undefined ? { rate: d.bandwidth } : {}),
    ...nft,
  };
}
