// A reconcile pass's decisions, as plain functions of what the reconciler knows (its records of
// the pods, the pods the source wants, the interfaces there are): which pods to look at, how each
// is judged, which become targets of the one applyQos call, which interfaces are cleared, and
// what each outcome means for its pod. Nothing here reads the kernel, logs or keeps time; the
// reconciler (reconciler.ts) does, and applies these decisions.
import { NetlinkError, type LinkState } from '../netlink';
import {
  AnnotationError,
  QosConflictError,
  ifbNameFor,
  isNetqosIfbName,
  isValidInterfaceName,
  parseAnnotations,
  type AnnotationMode,
  type QosSpec,
} from '../qos';
import { fingerprint, type AgentPod, type PodReport } from './pods';

export type PodState = 'applied' | 'none' | 'waiting' | 'invalid' | 'conflict' | 'failed';

/** What the reconciler remembers of a pod between passes. */
export interface PodRecord {
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
  /** Its interface's and IFB's mirror stamps after the last pass (see changedElsewhere). */
  seen?: string;
  /** The last problem reported (reported again only when it changes). */
  reported?: string;
  /** Calico-mode warnings already logged for this fingerprint. */
  warned?: string;
}

/** States a pod is retried from, with backoff. */
export const RETRY_STATES: ReadonlySet<PodRecord['state']> = new Set<PodRecord['state']>([
  'waiting',
  'conflict',
  'failed',
]);

/** A retrying pod whose time has come. */
export const retryDue = (rec: PodRecord, now: number): boolean =>
  RETRY_STATES.has(rec.state) && rec.nextAt <= now;

/** The wait before the next try of a pod that failed `attempts` times: doubling, capped. */
export const retryDelay = (attempts: number, minMs = 500, maxMs = 30_000): number =>
  Math.min(minMs * 2 ** attempts, maxMs);

/** The wait before a failed pass is tried again, after `failures` failures in a row. */
export const passRetryDelay = (failures: number): number =>
  Math.min(500 * 2 ** Math.max(0, failures - 1), 30_000);

/** Whether a spec asks for anything at all. */
export function hasQos(spec: QosSpec): boolean {
  return (
    Object.values(spec.ingress).some((v) => v !== undefined) ||
    Object.values(spec.egress).some((v) => v !== undefined)
  );
}

/** Which pod claims which interface: the first by key when two name the same one. */
export function claimInterfaces(pods: ReadonlyMap<string, AgentPod>): Map<string, string> {
  const claimedBy = new Map<string, string>();
  for (const key of [...pods.keys()].sort()) {
    const ifname = pods.get(key)!.ifname;
    if (ifname && !claimedBy.has(ifname)) claimedBy.set(ifname, key);
  }
  return claimedBy;
}

/**
 * The pods a pass looks at: every pod on a full pass; else the pods the source changed
 * (`dirty`), the pods it no longer has, and the pods whose retry is due.
 */
export function chooseWork(
  pods: ReadonlyMap<string, AgentPod>,
  records: ReadonlyMap<string, PodRecord>,
  dirty: Iterable<string>,
  full: boolean,
  now: number,
): Set<string> {
  const work = new Set<string>(full ? pods.keys() : []);
  for (const k of dirty) work.add(k);
  for (const [k, r] of records) if (!pods.has(k) || retryDue(r, now)) work.add(k);
  return work;
}

export interface JudgeContext {
  /** A full pass looks at every pod again, changed or not. */
  full: boolean;
  now: number;
  /** claimInterfaces(pods). */
  claimedBy: ReadonlyMap<string, string>;
  mode?: AnnotationMode;
  /** Interfaces named with this prefix are Calico's; others were named explicitly. */
  prefix: string;
}

export interface Judgement {
  /** Pods to put in force, with their parsed annotations. */
  ready: { rec: PodRecord; spec: QosSpec }[];
  /** Pods that cannot be put in force as they are: no usable interface, or bad annotations. */
  invalid: { rec: PodRecord; reason: 'interface' | 'annotations'; message: string }[];
  /** Calico-mode adjustments not logged yet for the pod's current annotations. */
  warnings: { rec: PodRecord; warnings: readonly string[] }[];
  /** Pods the source no longer has (their records dropped from `records`). */
  removed: { key: string; rec: PodRecord }[];
  /** Interfaces no pod claims any more, to clear, with why. */
  toClear: Map<string, string>;
  /** Interfaces named explicitly (not by the prefix) by pods that claim them. */
  explicit: string[];
}

/**
 * Judges each pod of `work` on its own, and brings `records` (the reconciler's memory of the
 * pods) up to date: a new pod gets a record, a removed one loses it, a changed one starts its
 * attempts again. A pod whose record says nothing changed is left out, except on full passes.
 */
export function judgePods(
  work: Iterable<string>,
  pods: ReadonlyMap<string, AgentPod>,
  records: Map<string, PodRecord>,
  ctx: JudgeContext,
): Judgement {
  const out: Judgement = {
    ready: [],
    invalid: [],
    warnings: [],
    removed: [],
    toClear: new Map(),
    explicit: [],
  };
  const clearIfUnclaimed = (ifname: string | undefined, reason: string) => {
    if (ifname && !ctx.claimedBy.has(ifname) && !out.toClear.has(ifname)) out.toClear.set(ifname, reason);
  };
  for (const key of work) {
    const pod = pods.get(key);
    let rec = records.get(key);
    if (!pod) {
      if (rec) {
        clearIfUnclaimed(rec.ifname, `pod ${key} was deleted`);
        clearIfUnclaimed(rec.pod.ifname, `pod ${key} was deleted`);
        records.delete(key);
        out.removed.push({ key, rec });
      }
      continue;
    }
    const fp = fingerprint(pod);
    if (!ctx.full && rec && rec.fp === fp && !rec.stale && !retryDue(rec, ctx.now) && rec.state !== 'new')
      continue;
    if (!rec) {
      rec = { pod, fp, state: 'new', attempts: 0, nextAt: 0 };
      records.set(key, rec);
    } else if (rec.fp !== fp) {
      rec.fp = fp;
      rec.attempts = 0;
    }
    rec.stale = false;
    if (rec.ifname && rec.ifname !== pod.ifname)
      clearIfUnclaimed(rec.ifname, `pod ${key} now uses ${pod.ifname ?? 'no interface'}`);
    rec.pod = pod;
    if (!pod.ifname) {
      out.invalid.push({ rec, reason: 'interface', message: pod.interfaceError ?? 'no interface' });
      continue;
    }
    const owner = ctx.claimedBy.get(pod.ifname);
    if (owner !== key) {
      out.invalid.push({
        rec,
        reason: 'interface',
        message: `interface ${pod.ifname} is already the interface of pod ${owner}`,
      });
      continue;
    }
    if (!pod.ifname.startsWith(ctx.prefix)) out.explicit.push(pod.ifname);
    let parsed: ReturnType<typeof parseAnnotations>;
    try {
      parsed = parseAnnotations(pod.annotations, { mode: ctx.mode });
    } catch (e) {
      if (!(e instanceof AnnotationError)) throw e;
      out.invalid.push({ rec, reason: 'annotations', message: e.problems.map((p) => p.message).join('; ') });
      continue;
    }
    if (parsed.warnings.length && rec.warned !== fp) {
      rec.warned = fp;
      out.warnings.push({ rec, warnings: parsed.warnings });
    }
    out.ready.push({ rec, spec: parsed.spec });
  }
  return out;
}

export interface Placement {
  /** Pods whose interface is there: targets of the applyQos call. */
  present: PodRecord[];
  /** Pods whose interface is not there yet, with QoS to put on it: they wait for it. */
  absent: PodRecord[];
  /** Pods without interface and without QoS: nothing to do. */
  none: PodRecord[];
}

/** The ready pods by whether their interface is in `names` (the namespace's interfaces now). */
export function placePods(ready: Judgement['ready'], names: ReadonlySet<string>): Placement {
  const out: Placement = { present: [], absent: [], none: [] };
  for (const { rec, spec } of ready) {
    if (names.has(rec.pod.ifname!)) out.present.push(rec);
    else if (hasQos(spec)) out.absent.push(rec);
    else out.none.push(rec);
  }
  return out;
}

/**
 * Interfaces whose netqos objects a full pass clears: those in scope (`inScope`) that no pod
 * claims, netqos's own IFBs aside (orphans.ts collects those).
 */
export function unclaimedInterfaces(
  links: Iterable<Pick<LinkState, 'name'>>,
  claimedBy: ReadonlyMap<string, string>,
  inScope: (ifname: string) => boolean,
): string[] {
  const out: string[] = [];
  for (const l of links)
    if (!isNetqosIfbName(l.name) && !claimedBy.has(l.name) && inScope(l.name)) out.push(l.name);
  return out;
}

/** The interfaces of `toClear` that can be cleared now: there, unclaimed, valid names. */
export function clearable(
  toClear: ReadonlyMap<string, string>,
  names: ReadonlySet<string>,
  claimedBy: ReadonlyMap<string, string>,
): [ifname: string, reason: string][] {
  return [...toClear].filter(
    ([ifname]) => names.has(ifname) && !claimedBy.has(ifname) && isValidInterfaceName(ifname),
  );
}

/** What the applyQos call did for one target (isolate.ts). */
export type Outcome = { ok: true; operations: number; warnings: string[] } | { ok: false; error: unknown };

/** The interface is gone (deleted while the pass ran). */
export function vanished(e: unknown): boolean {
  if (e instanceof QosConflictError) return /the interface does not exist/.test(e.message);
  return e instanceof NetlinkError && e.code === 'ENODEV';
}

/** The text of an error for logs and reports: a kernel refusal with the kernel's own words. */
export function errorText(e: unknown): string {
  if (e instanceof NetlinkError)
    return e.kernelMessage ? `${e.message} (kernel: ${e.kernelMessage})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** What an outcome makes of a pod: its new state, and the problem to report and count. */
export type PodVerdict =
  | { state: 'applied'; operations: number }
  | { state: 'waiting' }
  | { state: 'conflict' | 'failed'; report: PodReport; errorReason: 'conflict' | 'netlink' };

export function podVerdict(o: Outcome): PodVerdict {
  if (o.ok) return { state: 'applied', operations: o.operations };
  // The interface went away between the link dump and the batch: wait for it again.
  if (vanished(o.error)) return { state: 'waiting' };
  if (o.error instanceof QosConflictError)
    return {
      state: 'conflict',
      report: { reason: 'QoSConflict', message: o.error.message },
      errorReason: 'conflict',
    };
  return {
    state: 'failed',
    report: { reason: 'QoSApplyFailed', message: errorText(o.error) },
    errorReason: 'netlink',
  };
}

/** The stamps a mirror keeps per interface (lib/netlink/mirror.ts). */
export interface Stamps {
  stamp(name: string): number | undefined;
}

/** What the mirror holds of a pod's interface and of its IFB, as one comparable value. */
export function seenOf(mirror: Stamps, ifname: string): string {
  return `${mirror.stamp(ifname)}/${mirror.stamp(ifbNameFor(ifname))}`;
}

/** Pods to look at again (`stale`: their interface changed) and to try now (`due`). */
export interface Rechecks {
  stale: string[];
  due: string[];
}

/**
 * After someone else's change: applied pods whose interface or IFB changed since the last pass
 * (`seenNow` differs from what the record saw; all of them with `all`), and waiting pods whose
 * interface is there now (`present`), unless they wait for the namespace itself.
 */
export function changedElsewhere(
  records: ReadonlyMap<string, PodRecord>,
  pods: ReadonlyMap<string, AgentPod>,
  seenNow: (ifname: string) => string,
  present: (ifname: string) => boolean,
  all: boolean,
): Rechecks {
  const out: Rechecks = { stale: [], due: [] };
  for (const [key, rec] of records) {
    if (!pods.has(key)) continue;
    if (rec.state === 'applied' && rec.ifname && (all || rec.seen !== seenNow(rec.ifname)))
      out.stale.push(key);
    else if (rec.state === 'waiting' && rec.pod.ifname && present(rec.pod.ifname) && rec.nextAt !== Infinity)
      out.due.push(key);
  }
  return out;
}

/**
 * What one link dump (name -> index) says of the pods: applied ones whose interface vanished or
 * was replaced (another index) are `stale`; waiting ones whose interface is there now and whose
 * retry is not yet due are `due` at once.
 */
export function linkChanges(
  records: ReadonlyMap<string, PodRecord>,
  indexes: ReadonlyMap<string, number>,
  now: number,
): Rechecks {
  const out: Rechecks = { stale: [], due: [] };
  for (const [key, rec] of records) {
    const index = rec.pod.ifname ? indexes.get(rec.pod.ifname) : undefined;
    if (rec.state === 'applied' && rec.ifindex !== undefined && index !== rec.ifindex) out.stale.push(key);
    else if (rec.state === 'waiting' && index !== undefined && rec.nextAt > now) out.due.push(key);
  }
  return out;
}
