/**
 * A QoS spec -> the tc objects that enforce it on a pod's host-side interface.
 *
 * Directions are the pod's: ingress = traffic to the pod, egress = traffic from it.
 *   to the pod:   leaves the host-side interface  -> TBF at its root (handle 4e51:), and a
 *                 packet-rate police on its clsact egress hook
 *   from the pod: arrives on the host-side interface -> on its ingress hook, in this order:
 *                 DSCP rewrite (one u32 per IP version: pedit + csum + skbedit, then "continue"),
 *                 then one u32 for all protocols: packet-rate police, then a mirred redirect to
 *                 the IFB whose root TBF shapes the egress bandwidth.
 * Every action carries a cookie "6e7173" ("nqs") + role + the interface's index, and TBFs use
 * handle 4e51: ("NQ"), so netqos can tell its objects from other tools' and never touches the
 * rest; an action dump alone says which interface and role each action serves.
 */
import type { Filter, PoliceAction, TbfQdisc, U32Filter, Action, Operation } from '../netlink';
import {
  AnnotationError,
  calicoQosKey,
  type AnnotationProblem,
  type DirectionQos,
  type QosSpec,
} from './annotations';
import { dscpToPriority } from './dscp';
import { ifbNameFor } from './naming';
import { calicoTbf } from './tbf-values';
import {
  MAX_BUCKET_SECONDS,
  MAX_TBF_BURST_BYTES,
  MAX_TBF_LIMIT_BYTES,
  bucketFits,
  largestBucket,
} from './tc-limits';

export { MAX_BUCKET_SECONDS };

/** How TBF numbers are derived: netqos's (tc's arithmetic, a rate-scaled burst) or Calico's. */
export type TbfProfile = 'netqos' | 'calico';

export const NETQOS_TBF_HANDLE = '4e51:';
/** Interface group of netqos's IFBs. */
export const NETQOS_IFB_GROUP = 0x4e51;
/**
 * IFBs to delete are first moved to this group, then the group is deleted in one message: the
 * kernel then waits one RCU grace period for all of them instead of about 20 ms for each.
 */
export const NETQOS_DOOMED_GROUP = 0x4e52;

/** Operations deleting these IFBs together (see NETQOS_DOOMED_GROUP). */
export function ifbDeletion(names: readonly string[]): Operation[] {
  if (names.length === 0) return [];
  return [
    ...names.map((name): Operation => ({ op: 'change', link: { name, group: NETQOS_DOOMED_GROUP } })),
    { op: 'delete', link: { group: NETQOS_DOOMED_GROUP } },
  ];
}
export const COOKIE_PREFIX = '6e7173';
export enum Role {
  /** Ingress hook, all protocols: police (from the pod) and redirect to the IFB. */
  FromPod = 1,
  DscpIpv4 = 2,
  DscpIpv6 = 3,
  /** Egress hook: police (to the pod). */
  ToPod = 4,
}
// Distinct on both hooks: u32 keeps one set of hash tables per qdisc, and the kernel lists a
// priority's filters from both clsact hooks when they share it.
export const PRIORITY: Record<Role, number> = {
  [Role.DscpIpv4]: 49001,
  [Role.DscpIpv6]: 49002,
  [Role.FromPod]: 49003,
  [Role.ToPod]: 49004,
};
/** "6e7173" + role (1 byte) + ifindex (4 bytes), hex. */
export const cookieFor = (role: Role, ifindex: number) =>
  `${COOKIE_PREFIX}${role.toString(16).padStart(2, '0')}${(ifindex >>> 0).toString(16).padStart(8, '0')}`;

/** Queueing latency that sizes every TBF's limit (Calico's and the CNI plugin's 25 ms). */
export const LATENCY_US = 25_000;
/** Default bucket: 10 ms of the rate, and never less than four full frames. */
export const DEFAULT_BURST_MS = 10;
export const DEFAULT_BURST_FRAMES = 4;
export const ETHERNET_HEADER = 14;

export interface PolicyOptions {
  profile?: TbfProfile;
  /** The interface's MTU (the IFB gets the same). */
  mtu: number;
  /** The interface's index, recorded in the action cookies. */
  ifindex: number;
}

/** The objects netqos wants on one interface; absent fields mean "none of ours". */
export interface DesiredState {
  ifname: string;
  rootTbf?: TbfQdisc;
  ifb?: { name: string; mtu: number; tbf: TbfQdisc };
  /** Filters by role, keyed for matching against what the kernel has. */
  filters: Map<Role, U32Filter>;
}

/**
 * The peak bucket, bytes: raised to a full frame by the policy, so cut back to the longest the
 * kernel reports back at the peak rate (an annotated minburst beyond that was refused or clamped
 * by checkEngineBuckets; only the frame raise, a jumbo MTU at a few kbit/s, gets here).
 */
function peakBucket(bytes: number, peakrate: number): number {
  return Math.min(bytes, Math.max(1, largestBucket(Math.floor(peakrate / 8))));
}

/** TBF parameters for one direction's bandwidth. Exported for tests and the CLI's plan view. */
export function tbfFor(dev: string, qos: DirectionQos, options: PolicyOptions): TbfQdisc | undefined {
  if (!qos.bandwidth) return undefined;
  const frame = options.mtu + ETHERNET_HEADER;
  // Built field by field, without object spreads: this runs for every pod of every reconcile.
  const tbf = {
    kind: 'tbf',
    dev,
    parent: 'root',
    handle: NETQOS_TBF_HANDLE,
    rate: qos.bandwidth,
  } as TbfQdisc & { burst?: number; bufferTicks?: number; limit: number };
  if (options.profile === 'calico') {
    const v = calicoTbf({
      rateBps: qos.bandwidth,
      burstBits: qos.burst ?? 4294967296,
      peakrateBps: qos.peakrate,
      minburstBytes: qos.minburst,
      mtu: options.mtu,
    });
    tbf.bufferTicks = v.buffer;
    tbf.limit = v.limit;
    if (v.peakrate) {
      tbf.peakrate = qos.peakrate;
      tbf.minburst = peakBucket(v.minburst, qos.peakrate!);
    }
    return tbf;
  }
  const rateBytes = Math.floor(qos.bandwidth / 8);
  // The default bucket is netqos's choice, so it yields to the kernel's bounds: at most 2^32-1
  // bytes (from 3.4 Tbit/s) and at most the longest bucket the kernel holds (a jumbo MTU at a
  // few kbit/s). An annotated burst was checked against both (annotations.ts, checkBuckets).
  tbf.burst =
    qos.burst !== undefined
      ? Math.ceil(qos.burst / 8)
      : Math.min(
          Math.max(Math.ceil((rateBytes * DEFAULT_BURST_MS) / 1000), DEFAULT_BURST_FRAMES * frame),
          MAX_TBF_BURST_BYTES,
          Math.max(1, largestBucket(rateBytes)),
        );
  // tc's formula: limit = rate x latency + burst (with a peak rate, the smaller of that and
  // peak x latency + minburst), as tc saturated to the kernel's 32 bits (from about 1 Tbit/s:
  // a 25 ms queue is more than 4 GiB there).
  tbf.limit = Math.floor((rateBytes * LATENCY_US) / 1e6 + tbf.burst!);
  if (qos.peakrate) {
    tbf.peakrate = qos.peakrate;
    tbf.minburst = peakBucket(Math.max(qos.minburst ?? 0, frame), qos.peakrate);
    tbf.limit = Math.min(
      tbf.limit,
      Math.floor((Math.floor(qos.peakrate / 8) * LATENCY_US) / 1e6 + tbf.minburst),
    );
  }
  tbf.limit = Math.min(tbf.limit, MAX_TBF_LIMIT_BYTES);
  return tbf;
}

function police(qos: DirectionQos, conform: 'ok' | 'pipe', cookie: string): PoliceAction | undefined {
  if (!qos.packetRate) return undefined;
  return {
    kind: 'police',
    pktRate: qos.packetRate,
    pktBurst: qos.packetBurst ?? 5,
    conform,
    exceed: 'drop',
    cookie,
  };
}

/** pedit keys writing `dscp` into the DS field and keeping ECN (tc's `retain 0xfc`). */
export function dscpActions(dscp: number, family: 4 | 6, cookie: string): Action[] {
  const tos = dscp << 2;
  const edit: Action =
    family === 4
      ? {
          kind: 'pedit',
          keys: [{ htype: 'ipv4', cmd: 'set', offset: 0, value: tos << 16, mask: ~(0xfc << 16) >>> 0 }],
          control: 'pipe',
          cookie,
        }
      : {
          kind: 'pedit',
          keys: [{ htype: 'ipv6', cmd: 'set', offset: 0, value: tos << 20, mask: ~(0xfc << 20) >>> 0 }],
          control: 'pipe',
          cookie,
        };
  const actions: Action[] = [edit];
  if (family === 4) actions.push({ kind: 'csum', update: ['ipv4h'], control: 'pipe', cookie });
  actions.push({ kind: 'skbedit', priority: dscpToPriority(dscp), control: 'continue', cookie });
  return actions;
}

/**
 * A bucket that lasts longer than the kernel can report at this rate would never read back as
 * written (so never converge). Strict mode refuses it, naming the annotation; calico mode clamps
 * it to the longest the kernel holds and says so (Calico's own 4Gi-bit default is such a bucket
 * below 15.6 Mbit/s). The calico TBF profile sends Calico's saturated tick counts instead.
 */
export function checkBuckets(
  spec: QosSpec,
  profile: TbfProfile | undefined,
  mode: 'strict' | 'calico' = 'strict',
): string[] {
  if (profile === 'calico') return [];
  const problems: AnnotationProblem[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const qos = spec[direction];
    if (!qos.bandwidth || qos.burst === undefined) continue;
    // As sent: whole bytes of bucket at whole bytes/s.
    const rateBytes = Math.floor(qos.bandwidth / 8);
    if (bucketFits(Math.ceil(qos.burst / 8), rateBytes)) continue;
    const seconds = qos.burst / qos.bandwidth;
    const key = calicoQosKey(direction, 'burst');
    const longest = largestBucket(rateBytes) * 8;
    problems.push({
      key,
      value: String(qos.burst),
      message: `${key}: ${qos.burst} bits at ${qos.bandwidth} bit/s is a ${seconds.toFixed(3)} s bucket; the kernel holds at most ${MAX_BUCKET_SECONDS.toFixed(3)} s (at most ${longest} bits at this rate)`,
    });
    if (mode === 'calico') qos.burst = longest;
  }
  if (problems.length && mode === 'strict') throw new AnnotationError(problems);
  return problems.map(
    (p) => `${p.message}: using ${spec[p.key.includes('ingress') ? 'ingress' : 'egress'].burst}`,
  );
}

/**
 * The other buckets the engine or the kernel bounds in time: the peak bucket (minburst bytes at
 * the peak rate, which the kernel reports back in 32-bit ticks, so a longer one never reads back
 * as written and never converges) and the packet-rate policer's (packet burst at the packet
 * rate, which the engine refuses at 2^32-1 ticks: a packet burst of 10k at 1 packet/s), and
 * with Calico's TBF numbers, the shortest bucket they can express. Strict mode refuses them
 * naming the annotation; calico mode clamps them to what fits and says so.
 */
export function checkEngineBuckets(
  spec: QosSpec,
  profile: TbfProfile | undefined,
  mode: 'strict' | 'calico' = 'strict',
): string[] {
  const problems: AnnotationProblem[] = [];
  const warnings: string[] = [];
  // Calico's numbers need a bucket of at least one microsecond at the rate (makeTBF refuses a
  // zero buffer, "invalid value(s) for TokenBucketState"): strict refuses, calico raises it.
  if (profile === 'calico')
    for (const direction of ['ingress', 'egress'] as const) {
      const qos = spec[direction];
      if (!qos.bandwidth || qos.burst === undefined) continue;
      const rateBytes = Math.floor(qos.bandwidth / 8);
      const shortest = Math.ceil(rateBytes / 1e6) * 8; // bits: one microsecond of the rate
      if (Math.floor(qos.burst / 8) * 1e6 >= rateBytes) continue;
      const key = calicoQosKey(direction, 'burst');
      const message = `${key}: ${qos.burst} bits at ${qos.bandwidth} bit/s is under a microsecond; Calico's TBF numbers need at least ${shortest} bits at this rate`;
      if (mode === 'strict') problems.push({ key, value: String(qos.burst), message });
      else {
        qos.burst = shortest;
        warnings.push(`${message}: using ${shortest}`);
      }
    }
  const judge = (
    key: string,
    size: number,
    unit: string,
    perSecond: number,
    rateText: string,
    clamp: (largest: number) => void,
  ): void => {
    if (bucketFits(size, perSecond)) return;
    const largest = largestBucket(perSecond);
    const message = `${key}: ${size} ${unit} at ${rateText} is a ${(size / perSecond).toFixed(3)} s bucket; the kernel holds at most ${MAX_BUCKET_SECONDS.toFixed(3)} s (at most ${largest} ${unit} at this rate)`;
    if (mode === 'strict') problems.push({ key, value: String(size), message });
    else {
      clamp(largest);
      warnings.push(`${message}: using ${largest}`);
    }
  };
  for (const direction of ['ingress', 'egress'] as const) {
    const qos = spec[direction];
    // The engine and the kernel keep rates in whole bytes/s: 1010 bit/s is not above 1008.
    if (qos.peakrate && qos.bandwidth && Math.floor(qos.peakrate / 8) <= Math.floor(qos.bandwidth / 8)) {
      const key = calicoQosKey(direction, 'peakrate');
      const message = `${key}: ${qos.peakrate} bit/s is ${Math.floor(qos.peakrate / 8)} bytes/s, not above the bandwidth's ${Math.floor(qos.bandwidth / 8)} bytes/s (the kernel keeps whole bytes/s)`;
      if (mode === 'strict') problems.push({ key, value: String(qos.peakrate), message });
      else {
        delete qos.peakrate;
        delete qos.minburst;
        warnings.push(`${message}; peakrate dropped`);
      }
    }
    if (qos.peakrate && qos.minburst !== undefined) {
      const peakBytes = Math.floor(qos.peakrate / 8);
      judge(
        calicoQosKey(direction, 'minburst'),
        qos.minburst,
        'bytes',
        peakBytes,
        `${qos.peakrate} bit/s`,
        (n) => {
          qos.minburst = n;
        },
      );
    }
    // (A packet burst also has MAX_PACKET_BURST, far above the annotations' 10k.)
    if (qos.packetRate && qos.packetBurst !== undefined) {
      judge(
        calicoQosKey(direction, 'packetBurst'),
        qos.packetBurst,
        'packets',
        qos.packetRate,
        `${qos.packetRate} packets/s`,
        (n) => {
          qos.packetBurst = n;
        },
      );
    }
  }
  if (problems.length) throw new AnnotationError(problems);
  return warnings;
}

export function desiredState(ifname: string, spec: QosSpec, options: PolicyOptions): DesiredState {
  checkBuckets(spec, options.profile);
  checkEngineBuckets(spec, options.profile);
  const filters = new Map<Role, U32Filter>();
  const u32 = (
    role: Role,
    parent: 'ingress' | 'egress',
    protocol: Filter['protocol'],
    actions: Action[],
  ): U32Filter => ({
    kind: 'u32',
    dev: ifname,
    parent,
    priority: PRIORITY[role],
    protocol,
    actions,
  });

  const rootTbf = tbfFor(ifname, spec.ingress, options);
  const toPod = police(spec.ingress, 'ok', cookieFor(Role.ToPod, options.ifindex));
  if (toPod) filters.set(Role.ToPod, u32(Role.ToPod, 'egress', 'all', [toPod]));

  if (spec.egress.dscp !== undefined) {
    filters.set(
      Role.DscpIpv4,
      u32(
        Role.DscpIpv4,
        'ingress',
        'ip',
        dscpActions(spec.egress.dscp, 4, cookieFor(Role.DscpIpv4, options.ifindex)),
      ),
    );
    filters.set(
      Role.DscpIpv6,
      u32(
        Role.DscpIpv6,
        'ingress',
        'ipv6',
        dscpActions(spec.egress.dscp, 6, cookieFor(Role.DscpIpv6, options.ifindex)),
      ),
    );
  }

  let ifb: DesiredState['ifb'];
  const egressTbf = tbfFor(ifbNameFor(ifname), spec.egress, options);
  if (egressTbf) ifb = { name: ifbNameFor(ifname), mtu: options.mtu, tbf: egressTbf };
  const cookie = cookieFor(Role.FromPod, options.ifindex);
  const fromPod: Action[] = [];
  const policeFromPod = police(spec.egress, ifb ? 'pipe' : 'ok', cookie);
  if (policeFromPod) fromPod.push(policeFromPod);
  if (ifb) fromPod.push({ kind: 'mirred', direction: 'egress', mode: 'redirect', dev: ifb.name, cookie });
  if (fromPod.length) filters.set(Role.FromPod, u32(Role.FromPod, 'ingress', 'all', fromPod));

  return { ifname, rootTbf, ifb, filters };
}
