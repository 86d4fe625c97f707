// The QoS entry points: annotations on many interfaces -> one read, one diff, one batch per
// network namespace. Synchronous twins serve short-lived processes (a CNI plugin).
import type { NetlinkHandle } from '../handle';
import {
  describeQdisc,
  type Operation,
  type Stats,
  type ApplyResult,
  type FilterState,
  type QdiscState,
  type Snapshot,
  type TcMirror,
} from '../netlink';
import {
  AnnotationError,
  checkAnnotationsSize,
  parseAnnotations,
  qosEntries,
  sameQosEntries,
  type AnnotationMode,
  type ParsedAnnotations,
  type QosSpec,
} from './annotations';
import { checkOptions, checkTargets, type TargetKind } from './arguments';
import { BoundedCache } from './bounded-cache';
import { borrowHandle, type Borrowed } from './handles';
import { lockInterfaces, lockInterfacesSync } from './locks';
import { ifbNameFor } from './naming';
import {
  checkPlacement,
  controlsOf,
  explainNftRefusal,
  placement,
  type Dataplane,
  type Enforcer,
  type KernelCapabilities,
  type Placement,
} from './dataplane';
import type { NftOperation } from '../nftables';
import { desiredNft, tcPart } from './nft-policy';
import { reconcileNft, type NftTarget } from './nft-reconcile';
import type { NftState } from './nft-state';
import { nftStatus } from './nft-status';
import { kernelSteps, type Step } from './steps';
import { checkBuckets, checkEngineBuckets, desiredState, Role, type TbfProfile } from './policy';
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
  /**
   * Handles to use, by netns name ('' for the current one). For other namespaces the call opens
   * its own, kept for the next call for 2 s (see handles.ts).
   */
  handles?: Map<string, NetlinkHandle>;
  /**
   * Which subsystem enforces packet rate and DSCP: 'tc' (police; pedit + csum + skbedit),
   * 'nftables' (limit; payload rewrite), or 'auto' (default): tc where the kernel has those
   * actions, nftables where not. Bandwidth is always tc's TBF, connection limits always
   * nftables' ct count.
   */
  dataplane?: Dataplane;
}

/** Which subsystem enforces each control a target has. */
export interface Enforcement {
  bandwidth?: 'tc';
  packetRate?: Enforcer;
  dscp?: Enforcer;
  maxConnections?: 'nftables';
}

export interface TargetPlan {
  ifname: string;
  netns?: string;
  spec: QosSpec;
  warnings: string[];
  /** tc operations. */
  operations: Operation[];
  /** nftables operations (table and map ones under the first target needing them). */
  nftables: NftOperation[];
  /** Where each of the spec's controls is enforced. */
  enforcedBy: Enforcement;
}

export interface QosPlan {
  targets: TargetPlan[];
  /**
   * Every operation, per namespace in sending order: the tc batch (atomic by rollback), then
   * the nftables batch (atomic in the kernel); when the second fails, the first is undone.
   */
  batches: { netns?: string; operations: Operation[]; nftables: NftOperation[] }[];
}

export interface QosApplyResult extends QosPlan {
  /** Operations sent, tc's and nftables' (0 when everything already matched). */
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

/**
 * Annotations judged exactly as applyQos judges them (the parser, then the buckets the kernel
 * can hold at those rates): what it accepts, planning builds and the engine applies.
 */
export function parseQosAnnotations(
  annotations: Readonly<Record<string, string>>,
  options: Pick<QosOptions, 'mode' | 'profile'> = {},
): ParsedAnnotations {
  const result = parseAnnotations(annotations, { mode: options.mode });
  result.warnings.push(...checkBuckets(result.spec, options.profile, options.mode));
  result.warnings.push(...checkEngineBuckets(result.spec, options.profile, options.mode));
  return result;
}

/** Longer inputs are parsed every time rather than kept as a cache key. */
const MAX_MEMO_KEY = 4096;

/**
 * The last annotations parsed through the key: pods alike come in runs, and a target holding
 * the same QoS entries needs no key built and hashed (new objects each pass, as from an informer).
 */
let lastParsed:
  { mode?: AnnotationMode; profile?: TbfProfile; entries: string[]; parsed: Parsed } | undefined;

function parseOne(t: QosTarget, mode: AnnotationMode | undefined, profile: TbfProfile | undefined): Parsed {
  const annotations = t.annotations;
  checkAnnotationsSize(annotations); // before the memos, which look only at the QoS keys
  const seen = annotations && typeof annotations === 'object' ? parsedFor.get(annotations) : undefined;
  if (seen && seen.mode === mode && seen.profile === profile && sameQosEntries(annotations, seen.entries))
    return seen.parsed;
  const last = lastParsed;
  if (
    last &&
    last.mode === mode &&
    last.profile === profile &&
    annotations &&
    typeof annotations === 'object' &&
    sameQosEntries(annotations, last.entries)
  )
    return last.parsed;
  const entries = qosEntries(annotations);
  let key =
    entries === undefined
      ? undefined
      : `${mode ?? 'strict'}|${profile ?? 'netqos'}|${JSON.stringify(entries)}`;
  if (key !== undefined && key.length > MAX_MEMO_KEY) key = undefined;
  let parsed = key === undefined ? undefined : parsedCache.get(key);
  if (!parsed) {
    const result = parseQosAnnotations(annotations, { mode, profile });
    parsed = { spec: freezeSpec(result.spec), warnings: Object.freeze(result.warnings), key };
    if (key !== undefined) parsedCache.set(key, parsed);
  }
  if (entries !== undefined && annotations && typeof annotations === 'object') {
    parsedFor.set(annotations, { mode, profile, entries, parsed });
    if (key !== undefined) lastParsed = { mode, profile, entries, parsed };
  }
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

/**
 * The targets' positions, by namespace. Each position indexes the targets and the lists made
 * parallel to them (parsed, plans, statuses): the `!` on such a lookup below rests on that.
 */
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
  /** The placement it was computed for. */
  where: string;
}
const inSync = new WeakMap<TcMirror, BoundedCache<string, InSync>>();

/** Where a namespace's interface states come from: a fresh read, or the handle's mirror. */
type States = { get(ifname: string): InterfaceState; mirror?: TcMirror };

const placementKey = (w: Placement) => `${w.packetRate}/${w.dscp}`;

/** Which subsystem enforces each control the spec has. */
function enforcement(spec: QosSpec, where: Placement): Enforcement {
  const out: Enforcement = {};
  if (spec.ingress.bandwidth || spec.egress.bandwidth) out.bandwidth = 'tc';
  for (const control of controlsOf(spec)) (out as Record<string, Enforcer>)[control] = where[control];
  return out;
}

/**
 * Plans one namespace's targets from the interfaces' states (tc's part of each spec); returns
 * the operations and the states it looked at (the snapshot an atomic apply restores).
 */
function planGroup(
  targets: readonly QosTarget[],
  indexes: number[],
  parsed: Parsed[],
  states: States,
  options: QosOptions,
  where: Placement,
  plans: TargetPlan[],
): { operations: Operation[]; read: InterfaceState[] } {
  const phases: Phases = emptyPhases();
  const read: InterfaceState[] = [];
  const mirror = states.mirror;
  const whereKey = placementKey(where);
  let verified: BoundedCache<string, InSync> | undefined;
  if (mirror) {
    verified = inSync.get(mirror);
    if (!verified) inSync.set(mirror, (verified = new BoundedCache(65536)));
  }
  for (const i of indexes) {
    const t = targets[i]!; // a position from byNamespace
    const p = parsed[i]!;
    const plan: TargetPlan = {
      ifname: t.ifname,
      netns: t.netns,
      spec: p.spec,
      warnings: p.warnings.length ? [...p.warnings] : [],
      operations: [],
      nftables: [],
      enforcedBy: enforcement(p.spec, where),
    };
    plans[i] = plan;
    let now: InSync | undefined;
    if (verified && p.key !== undefined) {
      const stamp = mirror!.stamp(t.ifname);
      if (stamp !== undefined) {
        const ifbStamp = mirror!.stamp(ifbNameFor(t.ifname));
        const was = verified.get(t.ifname);
        if (
          was &&
          was.parsed === p &&
          was.stamp === stamp &&
          was.ifbStamp === ifbStamp &&
          was.where === whereKey
        )
          continue;
        now = { parsed: p, stamp, ifbStamp, where: whereKey };
      }
    }
    const state = states.get(t.ifname);
    read.push(state);
    const own = emptyPhases();
    reconcile(
      desiredState(t.ifname, tcPart(p.spec, where), {
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

/**
 * Targets found in sync with a table state, by interface: their parsed inputs, index and
 * placement then. A state is reused only while the ruleset's generation stays the same, so the
 * same inputs again need no comparison (a no-op pass over thousands of pods).
 */
const nftInSync = new WeakMap<NftState, Map<string, { parsed: Parsed; index: number; where: string }>>();

/**
 * After netqos's own batch: the targets found in sync before it that it did not touch are in
 * sync with the state it made (so the next pass compares only what changed).
 */
function carryInSync(before: NftState, after: NftState, batch: NftOperation[], plans: TargetPlan[]): void {
  const was = nftInSync.get(before);
  if (!was) return;
  const shares = plans.reduce((n, p) => n + p.nftables.length, 0);
  // Operations of the table itself (maps, base chains) may concern every target.
  if (shares !== batch.length || plans.some((p) => p.nftables.some((o) => 'table' in o || 'set' in o)))
    return;
  // Taken over as stateAfter takes the state's maps (the state before is stale).
  for (const p of plans) if (p.nftables.length) was.delete(p.ifname);
  nftInSync.set(after, was);
}

/** The nftables half of one namespace's plan: the batch, each target's share in its plan. */
function planNftGroup(
  targets: readonly QosTarget[],
  indexes: number[],
  parsed: Parsed[],
  states: States,
  where: Placement,
  nft: NftState,
  plans: TargetPlan[],
): NftOperation[] {
  if (!nft.available) return [];
  let verified = nftInSync.get(nft);
  if (!verified) nftInSync.set(nft, (verified = new Map()));
  const whereKey = placementKey(where);
  const planned: { i: number; index?: number; ifname: string; p: Parsed }[] = [];
  const nftTargets: NftTarget[] = [];
  for (const i of indexes) {
    const t = targets[i]!; // a position from byNamespace
    const p = parsed[i]!;
    // (An interface that is not there was refused by the tc half already.)
    const index = states.mirror?.link(t.ifname)?.index ?? states.get(t.ifname).link?.index;
    const was = verified.get(t.ifname);
    if (was && was.parsed === p && was.index === index && was.where === whereKey) continue;
    planned.push({ i, index, ifname: t.ifname, p });
    nftTargets.push({
      ifname: t.ifname,
      want: index ? desiredNft(t.ifname, index, p.spec, where) : undefined,
    });
  }
  if (!nftTargets.length) return [];
  const plan = reconcileNft(nft, nftTargets);
  planned.forEach(({ i, index, ifname, p }, k) => {
    const share = plan.perTarget[k] ?? []; // (one share per target, in order)
    plans[i]!.nftables = share; // planGroup made every plan of the group
    if (!share.length && index && p.key !== undefined)
      verified!.set(ifname, { parsed: p, index, where: whereKey });
  });
  return plan.operations;
}

/** The handle given for the namespace, else a kept one (see handles.ts), noted in `borrowed`. */
function handleFor(
  netns: string,
  nsKey: string,
  options: Pick<QosOptions, 'handles'>,
  borrowed: Borrowed[],
): NetlinkHandle {
  const given = options.handles?.get(netns);
  if (given) return given;
  const b = borrowHandle(netns, nsKey);
  borrowed.push(b);
  return b.handle;
}

/** Runs a call with the handles it borrows, giving them back (not to be reused if it threw). */
function withHandles<T>(call: (borrowed: Borrowed[]) => T): T {
  const borrowed: Borrowed[] = [];
  let failed = true;
  try {
    const out = call(borrowed);
    failed = false;
    return out;
  } finally {
    for (const b of borrowed) b.giveBack(failed);
  }
}

async function withHandlesAsync<T>(call: (borrowed: Borrowed[]) => Promise<T>): Promise<T> {
  const borrowed: Borrowed[] = [];
  let failed = true;
  try {
    const out = await call(borrowed);
    failed = false;
    return out;
  } finally {
    for (const b of borrowed) b.giveBack(failed);
  }
}

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

/** A batch whose ruleset moved since its read (ERESTART) is planned again from a new read, this often. */
const NFT_ATTEMPTS = 5;

/** The target whose share of the nftables batch holds the operation. */
function nftCulprit(
  plans: TargetPlan[],
  indexes: number[],
  op: NftOperation | undefined,
): number | undefined {
  for (const i of indexes) if (op && plans[i]?.nftables.includes(op)) return i;
  return undefined;
}

/**
 * Parse, read, diff and (when `send`) apply, namespace by namespace. A generator, so the
 * Promise and the blocking drivers below share every step but the kernel calls.
 */
function* pipeline(
  targets: readonly QosTarget[],
  nsKeys: readonly string[],
  options: QosOptions,
  send: boolean,
  borrowed: Borrowed[],
): Generator<Step, QosApplyResult, unknown> {
  const parsed = parseAll(targets, options.mode, options.profile);
  const dataplane = options.dataplane ?? 'auto';
  const plans: TargetPlan[] = new Array(targets.length);
  const batches: QosPlan['batches'] = [];
  let sent = 0;
  for (const [netns, indexes] of byNamespace(targets)) {
    const nsKey = nsKeys[indexes[0]!]!; // positions from byNamespace, never an empty group
    const nl = handleFor(netns, nsKey, options, borrowed);
    // Which subsystem gets packet rate and DSCP: asked of the kernel once per namespace, and only
    // when a target has one of them (and the choice is not made already).
    let caps: KernelCapabilities | undefined;
    const choosing = indexes.some((i) => controlsOf(parsed[i]!.spec).some((c) => c !== 'maxConnections'));
    if (choosing && dataplane !== 'nftables')
      caps = (yield { kind: 'probe', nl, key: nsKey }) as KernelCapabilities;
    const where = placement(dataplane, caps);
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
        plan: planReadInterfaces(
          indexes.map((i) => targets[i]!.ifname),
          { stats: false },
        ),
      }) as Map<string, InterfaceState>;
      states = { get: (ifname) => read.get(ifname)! };
    }
    let nft = (yield { kind: 'nftRead', nl, reuse: true }) as NftState;
    for (const i of indexes)
      checkPlacement(targets[i]!.ifname, parsed[i]!.spec, dataplane, where, {
        tcActions: caps?.tcActions ?? {},
        nftables: nft.available,
      });
    const { operations, read } = planGroup(targets, indexes, parsed, states, options, where, plans);
    let nftOperations = planNftGroup(targets, indexes, parsed, states, where, nft, plans);
    const batch = { netns: netns || undefined, operations, nftables: nftOperations };
    batches.push(batch);
    if (!send) continue;
    const snapshot = snapshotOf(read);
    if (operations.length) {
      sent += (
        (yield {
          kind: 'apply',
          nl,
          operations,
          snapshot,
          interfaces: interfacesOf(read),
        }) as ApplyResult
      ).count;
    }
    for (let attempt = 1; nftOperations.length; attempt++) {
      try {
        const applied = (yield { kind: 'nftApply', nl, operations: nftOperations, state: nft }) as {
          count: number;
          state?: NftState;
        };
        sent += applied.count;
        if (applied.state)
          carryInSync(
            nft,
            applied.state,
            nftOperations,
            indexes.map((i) => plans[i]!),
          );
        break;
      } catch (e) {
        // Someone changed the ruleset since the read (another netqos call included): read again.
        if ((e as { code?: string }).code === 'ERESTART' && attempt < NFT_ATTEMPTS) {
          nft = (yield { kind: 'nftRead', nl }) as NftState;
          nftOperations = batch.nftables = planNftGroup(targets, indexes, parsed, states, where, nft, plans);
          continue;
        }
        // Nothing of the nftables batch was applied: neither stays of the tc batch.
        if (operations.length) yield { kind: 'undo', nl, operations, snapshot, cause: e };
        const op = (e as { nftOperation?: NftOperation }).nftOperation;
        const culprit = nftCulprit(plans, indexes, op) ?? indexes.find((i) => plans[i]?.nftables.length);
        const [t, p] = culprit === undefined ? [] : [targets[culprit], parsed[culprit]];
        if (!t || !p) throw e;
        if (e instanceof Error) Object.assign(e, { ifname: t.ifname });
        throw explainNftRefusal(e, t.ifname, p.spec, dataplane, where);
      }
    }
  }
  return { targets: plans, batches, sent };
}

/** Checks the arguments; returns each target's namespace key (see arguments.ts). */
function check(targets: unknown, options: unknown, kind: TargetKind): string[] {
  checkOptions(options);
  return checkTargets(targets, kind, (options as QosOptions | undefined)?.handles);
}

async function run(
  targets: readonly QosTarget[],
  options: QosOptions,
  send: boolean,
  nsKeys: readonly string[],
): Promise<QosApplyResult> {
  // A call that changes the kernel holds its interfaces from its read to the end of its batch.
  const release = send
    ? await lockInterfaces(
        nsKeys,
        targets.map((t) => t.ifname),
      )
    : undefined;
  try {
    return await withHandlesAsync((borrowed) =>
      kernelSteps.drive(pipeline(targets, nsKeys, options, send, borrowed)),
    );
  } finally {
    release?.();
  }
}

function runSync(
  targets: readonly QosTarget[],
  options: QosOptions,
  send: boolean,
  nsKeys: readonly string[],
): QosApplyResult {
  const release = send
    ? lockInterfacesSync(
        nsKeys,
        targets.map((t) => t.ifname),
      )
    : undefined;
  try {
    return withHandles((borrowed) =>
      kernelSteps.driveSync(pipeline(targets, nsKeys, options, send, borrowed)),
    );
  } finally {
    release?.();
  }
}

/**
 * Makes the kernel match the annotations, sending only the difference (atomically per
 * namespace). Calls on the same interface are serialized (see locks.ts): the later call wins.
 */
export async function applyQos(
  targets: readonly QosTarget[],
  options: QosOptions = {},
): Promise<QosApplyResult> {
  const nsKeys = check(targets, options, 'annotated');
  return run(targets, options, true, nsKeys);
}
/** The same, blocking; QosBusyError when a Promise call of this process is changing one of the interfaces. */
export function applyQosSync(targets: readonly QosTarget[], options: QosOptions = {}): QosApplyResult {
  const nsKeys = check(targets, options, 'annotated');
  return runSync(targets, options, true, nsKeys);
}

/** The operations applyQos would send now; sends nothing. */
export async function planQos(targets: readonly QosTarget[], options: QosOptions = {}): Promise<QosPlan> {
  const nsKeys = check(targets, options, 'annotated');
  const { targets: t, batches } = await run(targets, options, false, nsKeys);
  return { targets: t, batches };
}
export function planQosSync(targets: readonly QosTarget[], options: QosOptions = {}): QosPlan {
  const nsKeys = check(targets, options, 'annotated');
  const { targets: t, batches } = runSync(targets, options, false, nsKeys);
  return { targets: t, batches };
}

/** An interface, or several, to read or clear. */
export type QosInterface = Omit<QosTarget, 'annotations'>;
const list = (t: QosInterface | readonly QosInterface[]) =>
  (Array.isArray(t) || t === null || typeof t !== 'object' ? t : [t]) as readonly QosInterface[];
const unannotated = (targets: readonly QosInterface[]): QosTarget[] =>
  targets.map((t) => ({ ifname: t.ifname, netns: t.netns, annotations: {} }));

/** Removes every netqos object from the interfaces, tc's and nftables' (other tools' objects stay). */
export async function clearQos(
  targets: QosInterface | readonly QosInterface[],
  options: QosOptions = {},
): Promise<QosApplyResult> {
  const nsKeys = check(list(targets), options, 'interface');
  return run(unannotated(list(targets)), options, true, nsKeys);
}
export function clearQosSync(
  targets: QosInterface | readonly QosInterface[],
  options: QosOptions = {},
): QosApplyResult {
  const nsKeys = check(list(targets), options, 'interface');
  return runSync(unannotated(list(targets)), options, true, nsKeys);
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
  /** Open TCP connections at most (nftables' ct count, per IP family). */
  maxConnections?: number;
  /** Which subsystem enforces each control found here. */
  enforcedBy?: Enforcement;
  /** The shaping TBF's counters (bytes, packets, drops, overlimits, backlog). */
  shaper?: Stats;
  /** The tc packet-rate policer's counters (drops = packets over the rate). */
  policer?: Stats;
  /** Packets dropped for exceeding the packet rate (tc's policer or nftables' limit). */
  packetRateDrops?: number;
  /** Connections reset for exceeding maxConnections. */
  rejectedConnections?: number;
}

export interface QosStatus {
  ifname: string;
  netns?: string;
  exists: boolean;
  /** To the pod. */
  ingress: DirectionStatus;
  /** From the pod. */
  egress: DirectionStatus & {
    ifb?: string;
    dscp?: number;
    /** Packets whose DSCP netqos rewrote (nftables; tc's pedit does not count them). */
    remarkedPackets?: number;
  };
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
    enforcedBy: { bandwidth: 'tc' },
  };
}

function policeStatus(f: FilterState | undefined): DirectionStatus {
  const p = f?.actions?.find((a) => a.kind === 'police') as
    { pktRate?: number; pktBurst?: number; stats?: Stats } | undefined;
  return p
    ? {
        packetRate: p.pktRate,
        packetBurst: p.pktBurst,
        policer: p.stats,
        packetRateDrops: p.stats?.drops,
        enforcedBy: { packetRate: 'tc' },
      }
    : {};
}

const strip = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** Two partial statuses of one direction as one (their enforcedBy merged). */
function both<T extends DirectionStatus>(a: T, b: Partial<T>): T {
  const enforcedBy = { ...a.enforcedBy, ...b.enforcedBy };
  return strip({ ...a, ...b, enforcedBy: Object.keys(enforcedBy).length ? enforcedBy : undefined });
}

function statusOf(target: QosInterface, s: InterfaceState, nft: NftState): QosStatus {
  const pedit = s.own.get(Role.DscpIpv4)?.actions?.find((a) => a.kind === 'pedit') as
    { keys?: { value: number }[] } | undefined;
  const dscp = pedit?.keys?.[0] ? (pedit.keys[0].value >>> 18) & 0x3f : undefined;
  const fromNft = s.link ? nftStatus(nft, target.ifname, s.link.index) : { ingress: {}, egress: {} };
  return {
    ifname: target.ifname,
    netns: target.netns,
    exists: !!s.link,
    ingress: both(both(tbfStatus(s.root), policeStatus(s.own.get(Role.ToPod))), fromNft.ingress),
    egress: both(
      both(
        both(tbfStatus(s.ifb?.root), policeStatus(s.own.get(Role.FromPod))),
        strip({ ifb: s.ifb?.link.name, dscp, enforcedBy: dscp !== undefined ? { dscp: 'tc' } : undefined }),
      ),
      fromNft.egress,
    ),
    foreign: strip({
      root: s.root && !isOwnTbf(s.root) && s.root.handle !== '0:' ? describeQdisc(s.root) : undefined,
      filters: s.foreign.length,
    }),
  };
}

/** The QoS in force on interfaces, read back from the kernel (tc and nftables), with statistics. */
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
  const nsKeys = check(list(input), options, 'read');
  const out = await withHandlesAsync((borrowed) =>
    kernelSteps.drive(readSteps(list(input), nsKeys, options, borrowed)),
  );
  return Array.isArray(input) ? out : out[0]!; // one target, one status
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
  const nsKeys = check(list(input), options, 'read');
  const out = withHandles((borrowed) =>
    kernelSteps.driveSync(readSteps(list(input), nsKeys, options, borrowed)),
  );
  return Array.isArray(input) ? out : out[0]!; // one target, one status
}

function* readSteps(
  targets: readonly QosInterface[],
  nsKeys: readonly string[],
  options: Pick<QosOptions, 'handles'>,
  borrowed: Borrowed[],
): Generator<Step, QosStatus[], unknown> {
  const out: QosStatus[] = new Array(targets.length);
  for (const [netns, indexes] of byNamespace(targets as QosTarget[])) {
    const nl = handleFor(netns, nsKeys[indexes[0]!]!, options, borrowed);
    const ifnames = indexes.map((i) => targets[i]!.ifname); // positions from byNamespace
    const plan =
      nl.mirror && !nl.mirror.busy
        ? planReadMirroredWithStats(nl.mirror, ifnames)
        : planReadInterfaces(ifnames);
    const states = (yield { kind: 'read', nl, plan }) as Map<string, InterfaceState>;
    const nft = (yield { kind: 'nftRead', nl }) as NftState;
    for (const i of indexes) {
      const t = targets[i]!;
      out[i] = statusOf(t, states.get(t.ifname)!, nft);
    }
  }
  return out;
}
