// The QoS entry points: annotations on many interfaces -> one read, one diff, one batch per
// network namespace. Synchronous twins serve short-lived processes (a CNI plugin).
import {
  describeQdisc,
  openNetlink,
  type NetlinkHandle,
  type Operation,
  type Stats,
  type ApplyResult,
  type FilterState,
  type QdiscState,
  type DumpPlan,
  type Snapshot,
  type TcMirror,
} from '../netlink';
import {
  AnnotationError,
  parseAnnotations,
  qosEntries,
  sameQosEntries,
  type AnnotationMode,
  type QosSpec,
} from './annotations';
import { BoundedCache } from './bounded-cache';
import { ifbNameFor } from './naming';
import { checkBuckets, desiredState, Role, type TbfProfile } from './policy';
import { emptyPhases, flatten, reconcile, type Phases } from './reconcile';
import {
  interfaceState,
  planReadInterfaces,
  planReadMirroredWithStats,
  isOwnTbf,
  type InterfaceState,
} from './state';

export interface QosTarget {
  /** The pod's host-side interface (Calico: cali..., the CNI plugin: the veth peer). */
  ifname: string;
  /** Its network namespace (a name under /var/run/netns or a path); default: this process's. */
  netns?: string;
  /** Pod annotations; keys other than QoS ones are ignored. */
  annotations: Record<string, string>;
}

export interface QosOptions {
  /** 'strict' (default): any bad annotation fails the call; 'calico': clamp and warn as Calico. */
  mode?: AnnotationMode;
  /** TBF numbers: netqos's (default) or exactly Calico's. */
  profile?: TbfProfile;
  /** Handles to use, by netns name ('' for the current one); others are opened and closed. */
  handles?: Map<string, NetlinkHandle>;
}

export interface TargetPlan {
  ifname: string;
  netns?: string;
  spec: QosSpec;
  warnings: string[];
  operations: Operation[];
}

export interface QosPlan {
  targets: TargetPlan[];
  /** Every operation, per namespace in sending order. */
  batches: { netns?: string; operations: Operation[] }[];
}

export interface QosApplyResult extends QosPlan {
  /** Operations sent (0 when everything already matched). */
  sent: number;
}

/** A target's parsed annotations, and `key`: its inputs as a string (unset: not memoizable). */
interface Parsed {
  spec: QosSpec;
  warnings: readonly string[];
  key?: string;
}

/**
 * Parsed annotations by content (with mode and profile): a node's pods share a handful of QoS
 * settings, and every reconcile pass parses them all again. Specs are frozen, as they are shared.
 */
const parsedCache = new BoundedCache<string, Parsed>(4096);
/**
 * The same by annotations object, checked entry by entry (callers such as the agent pass the
 * same objects pass after pass, and may have changed them): no key to build on a hit.
 */
const parsedFor = new WeakMap<
  object,
  { mode?: AnnotationMode; profile?: TbfProfile; entries: string[]; parsed: Parsed }
>();

function parseOne(t: QosTarget, mode: AnnotationMode | undefined, profile: TbfProfile | undefined): Parsed {
  const annotations = t.annotations;
  const seen = annotations && typeof annotations === 'object' ? parsedFor.get(annotations) : undefined;
  if (seen && seen.mode === mode && seen.profile === profile && sameQosEntries(annotations, seen.entries))
    return seen.parsed;
  const entries = qosEntries(annotations);
  const key =
    entries === undefined
      ? undefined
      : `${mode ?? 'strict'}|${profile ?? 'netqos'}|${JSON.stringify(entries)}`;
  let parsed = key === undefined ? undefined : parsedCache.get(key);
  if (!parsed) {
    const result = parseAnnotations(annotations, { mode });
    result.warnings.push(...checkBuckets(result.spec, profile, mode));
    parsed = { spec: freezeSpec(result.spec), warnings: Object.freeze(result.warnings), key };
    if (key !== undefined) parsedCache.set(key, parsed);
  }
  if (entries !== undefined && annotations && typeof annotations === 'object')
    parsedFor.set(annotations, { mode, profile, entries, parsed });
  return parsed;
}

function freezeSpec(spec: QosSpec): QosSpec {
  Object.freeze(spec.ingress);
  Object.freeze(spec.egress);
  return Object.freeze(spec);
}

/** Parses every target's annotations first, so one bad pod stops the call before any change. */
function parseAll(
  targets: readonly QosTarget[],
  mode: AnnotationMode | undefined,
  profile: TbfProfile | undefined,
): Parsed[] {
  const problems: AnnotationError['problems'][number][] = [];
  const parsed = targets.map((t) => {
    try {
      return parseOne(t, mode, profile);
    } catch (e) {
      if (!(e instanceof AnnotationError)) throw e;
      problems.push(
        ...e.problems.map((p) => ({
          ...p,
          message: targets.length > 1 ? `${t.ifname}: ${p.message}` : p.message,
        })),
      );
      return undefined;
    }
  });
  if (problems.length) throw new AnnotationError(problems);
  return parsed.map((p) => p!);
}

function byNamespace(targets: readonly QosTarget[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  targets.forEach((t, i) => {
    const key = t.netns ?? '';
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}

/**
 * Targets a mirror's reconcile found in sync, by interface: their parsed inputs and the mirror's
 * stamps of the interface and its IFB then. All the same again, nothing can have changed, so
 * the reconcile is not computed again (what makes a no-op pass over thousands of pods cost
 * microseconds each).
 */
interface InSync {
  parsed: Parsed;
  stamp: number;
  ifbStamp: number | undefined;
}
const inSync = new WeakMap<TcMirror, BoundedCache<string, InSync>>();

/** Where a namespace's interface states come from: a fresh read, or the handle's mirror. */
type States = { get(ifname: string): InterfaceState; mirror?: TcMirror };

/**
 * Plans one namespace's targets from the interfaces' states; returns the operations and the
 * states it looked at (the snapshot an atomic apply restores).
 */
function planGroup(
  targets: readonly QosTarget[],
  indexes: number[],
  parsed: Parsed[],
  states: States,
  options: QosOptions,
  plans: TargetPlan[],
): { operations: Operation[]; read: InterfaceState[] } {
  const phases: Phases = emptyPhases();
  const read: InterfaceState[] = [];
  const mirror = states.mirror;
  let verified: BoundedCache<string, InSync> | undefined;
  if (mirror) {
    verified = inSync.get(mirror);
    if (!verified) inSync.set(mirror, (verified = new BoundedCache(65536)));
  }
  for (const i of indexes) {
    const t = targets[i];
    const p = parsed[i];
    const plan: TargetPlan = {
      ifname: t.ifname,
      netns: t.netns,
      spec: p.spec,
      warnings: p.warnings.length ? [...p.warnings] : [],
      operations: [],
    };
    plans[i] = plan;
    let now: InSync | undefined;
    if (verified && p.key !== undefined) {
      const stamp = mirror!.stamp(t.ifname);
      if (stamp !== undefined) {
        const ifbStamp = mirror!.stamp(ifbNameFor(t.ifname));
        const was = verified.get(t.ifname);
        if (was && was.parsed === p && was.stamp === stamp && was.ifbStamp === ifbStamp) continue;
        now = { parsed: p, stamp, ifbStamp };
      }
    }
    const state = states.get(t.ifname);
    read.push(state);
    const own = emptyPhases();
    reconcile(
      desiredState(t.ifname, p.spec, {
        profile: options.profile,
        mtu: state.link?.mtu ?? 1500,
        ifindex: state.link?.index ?? 0,
      }),
      state,
      own,
    );
    plan.operations = flatten(own);
    if (now && plan.operations.length === 0) verified!.set(t.ifname, now);
    for (const k of Object.keys(phases) as (keyof Phases)[]) (phases[k] as unknown[]).push(...own[k]);
  }
  return { operations: flatten(phases), read };
}

function handleFor(netns: string, options: QosOptions, opened: NetlinkHandle[]): NetlinkHandle {
  const given = options.handles?.get(netns);
  if (given) return given;
  const h = openNetlink({ netns: netns || undefined });
  opened.push(h);
  return h;
}

/** What the pipeline needs from the kernel next: a read or a batch. */
type ReadStep = { kind: 'read'; nl: NetlinkHandle; plan: DumpPlan<unknown> };
type Step =
  | ReadStep
  | {
      kind: 'apply';
      nl: NetlinkHandle;
      operations: Operation[];
      snapshot: Snapshot;
      interfaces: Map<string, number>;
    };

/** The interfaces the read found, by name: the batch need not look them up again. */
function interfacesOf(states: readonly InterfaceState[]): Map<string, number> {
  const known = new Map<string, number>();
  for (const s of states) {
    if (s.link) known.set(s.link.name, s.link.index);
    if (s.ifb) known.set(s.ifb.link.name, s.ifb.link.index);
  }
  return known;
}

/** What the read found, in the shape an atomic apply restores on failure (no second read). */
function snapshotOf(states: readonly InterfaceState[]): Snapshot {
  const snapshot: Snapshot = { links: [], devices: new Map() };
  for (const s of states) {
    if (!s.link) continue;
    snapshot.links.push(s.link);
    const qdiscs = [s.root, s.hook].filter((q): q is QdiscState => !!q);
    snapshot.devices.set(s.ifname, { qdiscs, filters: [...s.own.values(), ...s.foreign] });
    if (s.ifb) {
      snapshot.links.push(s.ifb.link);
      snapshot.devices.set(s.ifb.link.name, { qdiscs: s.ifb.root ? [s.ifb.root] : [], filters: [] });
    }
  }
  return snapshot;
}

/**
 * Parse, read, diff and (when `send`) apply, namespace by namespace. A generator, so the
 * Promise and the blocking drivers below share every step but the kernel calls.
 */
function* pipeline(
  targets: readonly QosTarget[],
  options: QosOptions,
  send: boolean,
  opened: NetlinkHandle[],
): Generator<Step, QosApplyResult, unknown> {
  const parsed = parseAll(targets, options.mode, options.profile);
  const plans: TargetPlan[] = new Array(targets.length);
  const batches: QosPlan['batches'] = [];
  let sent = 0;
  for (const [netns, indexes] of byNamespace(targets)) {
    const nl = handleFor(netns, options, opened);
    let states: States;
    // A watching handle's mirror answers for the kernel (see NetlinkHandle.watch), once it has
    // taken in what the kernel announced since; while another call is updating it, this one
    // reads the kernel instead.
    const mirror = nl.mirror && !nl.mirror.busy ? nl.mirror : undefined;
    if (mirror) {
      yield { kind: 'read', nl, plan: mirror.plan() };
      states = { get: (ifname) => interfaceState(mirror, ifname), mirror };
    } else {
      const read = (yield {
        kind: 'read',
        nl,
        plan: planReadInterfaces(indexes.map((i) => targets[i].ifname)),
      }) as Map<string, InterfaceState>;
      states = { get: (ifname) => read.get(ifname)! };
    }
    const { operations, read } = planGroup(targets, indexes, parsed, states, options, plans);
    batches.push({ netns: netns || undefined, operations });
    if (send && operations.length) {
      sent += (
        (yield {
          kind: 'apply',
          nl,
          operations,
          snapshot: snapshotOf(read),
          interfaces: interfacesOf(read),
        }) as ApplyResult
      ).count;
    }
  }
  return { targets: plans, batches, sent };
}

async function run(
  targets: readonly QosTarget[],
  options: QosOptions,
  send: boolean,
): Promise<QosApplyResult> {
  const opened: NetlinkHandle[] = [];
  try {
    const steps = pipeline(targets, options, send, opened);
    let step = steps.next();
    while (!step.done) {
      const s = step.value;
      step = steps.next(
        s.kind === 'read'
          ? await s.nl.read(s.plan)
          : await s.nl.apply(s.operations, { atomic: true, snapshot: s.snapshot, interfaces: s.interfaces }),
      );
    }
    return step.value;
  } finally {
    for (const h of opened) h.close();
  }
}

function runSync(targets: readonly QosTarget[], options: QosOptions, send: boolean): QosApplyResult {
  const opened: NetlinkHandle[] = [];
  try {
    const steps = pipeline(targets, options, send, opened);
    let step = steps.next();
    while (!step.done) {
      const s = step.value;
      step = steps.next(
        s.kind === 'read'
          ? s.nl.readSync(s.plan)
          : s.nl.applySync(s.operations, { atomic: true, snapshot: s.snapshot, interfaces: s.interfaces }),
      );
    }
    return step.value;
  } finally {
    for (const h of opened) h.close();
  }
}

/** Makes the kernel match the annotations, sending only the difference (atomically per namespace). */
export function applyQos(targets: readonly QosTarget[], options: QosOptions = {}): Promise<QosApplyResult> {
  return run(targets, options, true);
}
export function applyQosSync(targets: readonly QosTarget[], options: QosOptions = {}): QosApplyResult {
  return runSync(targets, options, true);
}

/** The operations applyQos would send now; sends nothing. */
export async function planQos(targets: readonly QosTarget[], options: QosOptions = {}): Promise<QosPlan> {
  const { targets: t, batches } = await run(targets, options, false);
  return { targets: t, batches };
}
export function planQosSync(targets: readonly QosTarget[], options: QosOptions = {}): QosPlan {
  const { targets: t, batches } = runSync(targets, options, false);
  return { targets: t, batches };
}

/** Removes every netqos object from the interfaces (other tools' objects stay). */
/** An interface, or several, to read or clear. */
export type QosInterface = Omit<QosTarget, 'annotations'>;
const list = (t: QosInterface | readonly QosInterface[]) =>
  (Array.isArray(t) ? t : [t]) as readonly QosInterface[];

export function clearQos(
  targets: QosInterface | readonly QosInterface[],
  options: QosOptions = {},
): Promise<QosApplyResult> {
  return run(
    list(targets).map((t) => ({ ...t, annotations: {} })),
    options,
    true,
  );
}
export function clearQosSync(
  targets: QosInterface | readonly QosInterface[],
  options: QosOptions = {},
): QosApplyResult {
  return runSync(
    list(targets).map((t) => ({ ...t, annotations: {} })),
    options,
    true,
  );
}

export interface DirectionStatus {
  /** bit/s */
  bandwidth?: number;
  /** bytes */
  burst?: number;
  /** bytes */
  limit?: number;
  peakrate?: number;
  minburst?: number;
  packetRate?: number;
  packetBurst?: number;
  /** The shaping TBF's counters (bytes, packets, drops, overlimits, backlog). */
  shaper?: Stats;
  /** The packet-rate policer's counters (drops = packets over the rate). */
  policer?: Stats;
}

export interface QosStatus {
  ifname: string;
  netns?: string;
  exists: boolean;
  /** To the pod. */
  ingress: DirectionStatus;
  /** From the pod. */
  egress: DirectionStatus & { ifb?: string; dscp?: number };
  /** Objects on the interface that other tools own. */
  foreign: { root?: string; filters: number };
}

function tbfStatus(q: QdiscState | undefined): DirectionStatus {
  if (!isOwnTbf(q)) return {};
  const t = q as QdiscState & {
    rate: number;
    burst: number;
    limit: number;
    peakrate?: number;
    minburst?: number;
  };
  return {
    bandwidth: t.rate,
    burst: t.burst,
    limit: t.limit,
    peakrate: t.peakrate,
    minburst: t.minburst,
    shaper: t.stats,
  };
}

function policeStatus(f: FilterState | undefined): DirectionStatus {
  const p = f?.actions?.find((a) => a.kind === 'police') as
    { pktRate?: number; pktBurst?: number; stats?: Stats } | undefined;
  return p ? { packetRate: p.pktRate, packetBurst: p.pktBurst, policer: p.stats } : {};
}

function statusOf(target: QosInterface, s: InterfaceState): QosStatus {
  const pedit = s.own.get(Role.DscpIpv4)?.actions?.find((a) => a.kind === 'pedit') as
    { keys?: { value: number }[] } | undefined;
  const dscp = pedit?.keys?.[0] ? (pedit.keys[0].value >>> 18) & 0x3f : undefined;
  const strip = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    ifname: target.ifname,
    netns: target.netns,
    exists: !!s.link,
    ingress: strip({ ...tbfStatus(s.root), ...policeStatus(s.own.get(Role.ToPod)) }),
    egress: strip({
      ...tbfStatus(s.ifb?.root),
      ...policeStatus(s.own.get(Role.FromPod)),
      ifb: s.ifb?.link.name,
      dscp,
    }),
    foreign: strip({
      root: s.root && !isOwnTbf(s.root) && s.root.handle !== '0:' ? describeQdisc(s.root) : undefined,
      filters: s.foreign.length,
    }),
  };
}

/** The QoS in force on interfaces, read back from the kernel, with statistics. */
export async function readQos(
  target: QosInterface,
  options?: Pick<QosOptions, 'handles'>,
): Promise<QosStatus>;
export async function readQos(
  targets: readonly QosInterface[],
  options?: Pick<QosOptions, 'handles'>,
): Promise<QosStatus[]>;
export async function readQos(
  input: QosInterface | readonly QosInterface[],
  options: Pick<QosOptions, 'handles'> = {},
): Promise<QosStatus | QosStatus[]> {
  const opened: NetlinkHandle[] = [];
  try {
    const steps = readSteps(list(input), options, opened);
    let step = steps.next();
    while (!step.done) step = steps.next(await step.value.nl.read(step.value.plan));
    return Array.isArray(input) ? step.value : step.value[0];
  } finally {
    for (const h of opened) h.close();
  }
}

export function readQosSync(target: QosInterface, options?: Pick<QosOptions, 'handles'>): QosStatus;
export function readQosSync(
  targets: readonly QosInterface[],
  options?: Pick<QosOptions, 'handles'>,
): QosStatus[];
export function readQosSync(
  input: QosInterface | readonly QosInterface[],
  options: Pick<QosOptions, 'handles'> = {},
): QosStatus | QosStatus[] {
  const opened: NetlinkHandle[] = [];
  try {
    const steps = readSteps(list(input), options, opened);
    let step = steps.next();
    while (!step.done) step = steps.next(step.value.nl.readSync(step.value.plan));
    return Array.isArray(input) ? step.value : step.value[0];
  } finally {
    for (const h of opened) h.close();
  }
}

function* readSteps(
  targets: readonly QosInterface[],
  options: Pick<QosOptions, 'handles'>,
  opened: NetlinkHandle[],
): Generator<ReadStep, QosStatus[], unknown> {
  const out: QosStatus[] = new Array(targets.length);
  for (const [netns, indexes] of byNamespace(targets as QosTarget[])) {
    const nl = handleFor(netns, options, opened);
    const ifnames = indexes.map((i) => targets[i].ifname);
    const plan =
      nl.mirror && !nl.mirror.busy
        ? planReadMirroredWithStats(nl.mirror, ifnames)
        : planReadInterfaces(ifnames);
    const states = (yield { kind: 'read', nl, plan }) as Map<string, InterfaceState>;
    for (const i of indexes) out[i] = statusOf(targets[i], states.get(targets[i].ifname)!);
  }
  return out;
}
