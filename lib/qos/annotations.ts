/**
 * Pod QoS annotations -> a validated QoS spec.
 *
 * Keys (Calico's, libcalico-go .../k8s/conversion/constants.go), per direction, where "ingress"
 * is traffic to the pod and "egress" traffic from it:
 *   qos.projectcalico.org/{ingress,egress}Bandwidth    bit/s    1k .. 1P
 *   qos.projectcalico.org/{ingress,egress}Burst        bits     1k .. 34359738360   needs bandwidth
 *   qos.projectcalico.org/{ingress,egress}Peakrate     bit/s    1.01k .. 1.01P      > bandwidth
 *   qos.projectcalico.org/{ingress,egress}Minburst     bytes    1k .. 100M          needs peakrate
 *   qos.projectcalico.org/{ingress,egress}PacketRate   pkt/s    1 .. 10k
 *   qos.projectcalico.org/{ingress,egress}PacketBurst  packets  1 .. 10k (default 5) needs packet rate
 *   qos.projectcalico.org/{ingress,egress}MaxConnections  connections  1 .. 4294967295
 *   qos.projectcalico.org/dscp                         0..63 or a name, on egress traffic
 *   kubernetes.io/{ingress,egress}-bandwidth           bit/s    1k .. 1P (the Calico key wins)
 * Also accepted: qos.projectcalico.org/{ingress,egress}Packets as aliases of the packet-rate keys
 * (the Calico lab text uses them; Calico itself does not read them), with a warning.
 *
 * Modes:
 * - 'strict' (default): every invalid value, out-of-range value, broken dependency or unknown
 *   qos.projectcalico.org/ key is a problem; all problems are thrown together as one
 *   AnnotationError, so nothing half-valid is ever applied. No default burst is filled in: the
 *   caller's burst policy decides it.
 * - 'calico': what Calico's handleQoSControlsAnnotations does, value for value. Never throws.
 *   Unparseable -> that control off; out of range -> clamped to the bound; broken dependency ->
 *   the dependent field dropped; invalid DSCP -> unset; bandwidth without burst -> burst 4Gi bits.
 *   Each of these is reported as a warning worded like Calico's error.
 *
 * All numbers in the spec are integers below 2^53 (the bounds guarantee it).
 */

import { NetqosError } from '../errors';
import { parseDscp, DscpError, DSCP_ALLOWED_FORMS } from './dscp';
import { QosArgumentError, quoteValue } from './errors';
import { parseQuantity, QuantityError } from './quantity';
import { MAX_TBF_BURST_BYTES } from './tc-limits';

export type AnnotationMode = 'strict' | 'calico';
export type Direction = 'ingress' | 'egress';

/** Limits for one direction. Every field is optional: unset means "no such control". */
export interface DirectionQos {
  /** TBF rate, bit/s. */
  bandwidth?: number;
  /** TBF bucket size, bits. */
  burst?: number;
  /** TBF peak rate, bit/s; always greater than bandwidth. */
  peakrate?: number;
  /** TBF peak bucket (minburst), bytes. */
  minburst?: number;
  /** Policed packet rate, packets/s. */
  packetRate?: number;
  /** Policed packet burst, packets. */
  packetBurst?: number;
  /** Open TCP connections at most (to the pod: accepted; from it: made); more are reset. */
  maxConnections?: number;
}

/** Egress (from the pod) adds DSCP marking; Calico marks only traffic leaving the pod. */
export interface EgressQos extends DirectionQos {
  /** DS field value 0..63 written into packets from the pod. */
  dscp?: number;
}

export interface QosSpec {
  /** Traffic to the pod. */
  ingress: DirectionQos;
  /** Traffic from the pod. */
  egress: EgressQos;
}

export interface ParseAnnotationsOptions {
  mode?: AnnotationMode;
}

export interface ParsedAnnotations {
  spec: QosSpec;
  /** Human-readable notes; in calico mode, every value Calico would have changed or ignored. */
  warnings: string[];
}

export interface AnnotationProblem {
  /** The annotation key at fault. */
  key: string;
  /** Its value as given. */
  value: string;
  /** One line naming the key, the value and what is allowed. */
  message: string;
}

export class AnnotationError extends NetqosError {
  readonly code = 'ERR_NETQOS_ANNOTATION';
  readonly problems: readonly AnnotationProblem[];

  constructor(problems: AnnotationProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid QoS annotations (${count}):\n${problems.map((p) => `  - ${p.message}`).join('\n')}`);
    this.name = 'AnnotationError';
    this.problems = problems;
  }
}

export const CALICO_QOS_PREFIX = 'qos.projectcalico.org/';

/** Calico's default burst when a bandwidth is set without one: 4Gi bits (512 MiB). Calico mode only. */
export const CALICO_DEFAULT_BURST_BITS = 4294967296;
/** Default packet burst when a packet rate is set without one (both modes, as Calico). */
export const DEFAULT_PACKET_BURST = 5;

type QuantityField = keyof DirectionQos;

interface QuantityRule {
  /** Appended to the direction to form the key: ingress + Bandwidth. */
  keySuffix: string;
  /** Calico's noun in "error parsing ingress <what> annotation". */
  what: string;
  unit: string;
  min: bigint;
  max: bigint;
  /** The bounds as a user would write them. */
  minText: string;
  maxText: string;
  /** The bounds as Calico's resource.Quantity prints them (canonical form). */
  calicoMinText: string;
  calicoMaxText: string;
  examples: string;
}

/** Bounds from libcalico-go workload_endpoint_default.go (the `var (...)` block). */
const QUANTITY_RULES: Readonly<Record<QuantityField, QuantityRule>> = {
  bandwidth: {
    keySuffix: 'Bandwidth',
    what: 'bandwidth',
    unit: 'bit/s',
    min: 1000n,
    max: 10n ** 15n,
    minText: '1k',
    maxText: '1P',
    calicoMinText: '1k',
    calicoMaxText: '1P',
    examples: '10M, 500k, 1G',
  },
  burst: {
    keySuffix: 'Burst',
    what: 'burst',
    unit: 'bits',
    min: 1000n,
    // The TBF bucket's 32 bits of bytes; Calico's bound is the same number.
    max: BigInt(MAX_TBF_BURST_BYTES) * 8n,
    minText: '1k',
    maxText: '34359738360',
    calicoMinText: '1k',
    calicoMaxText: '34359738360',
    examples: '1M, 4Mi, 100k',
  },
  peakrate: {
    keySuffix: 'Peakrate',
    what: 'peakrate',
    unit: 'bit/s',
    min: 1010n,
    max: 1010n * 10n ** 12n,
    minText: '1.01k',
    maxText: '1.01P',
    calicoMinText: '1010',
    calicoMaxText: '1010T',
    examples: '20M, 1G',
  },
  minburst: {
    keySuffix: 'Minburst',
    what: 'minburst',
    unit: 'bytes',
    min: 1000n,
    max: 100_000_000n,
    minText: '1k',
    maxText: '100M',
    calicoMinText: '1k',
    calicoMaxText: '100M',
    examples: '1514, 3k, 64Ki',
  },
  packetRate: {
    keySuffix: 'PacketRate',
    what: 'packet rate',
    unit: 'packets/s',
    min: 1n,
    max: 10_000n,
    minText: '1',
    maxText: '10k',
    calicoMinText: '1',
    calicoMaxText: '10k',
    examples: '100, 1k, 10k',
  },
  packetBurst: {
    keySuffix: 'PacketBurst',
    what: 'packet burst',
    unit: 'packets',
    min: 1n,
    max: 10_000n,
    minText: '1',
    maxText: '10k',
    calicoMinText: '1',
    calicoMaxText: '10k',
    examples: '5, 10, 100',
  },
  maxConnections: {
    keySuffix: 'MaxConnections',
    what: 'max connections',
    unit: 'connections',
    min: 1n,
    max: 4294967295n,
    minText: '1',
    maxText: '4294967295',
    calicoMinText: '1',
    calicoMaxText: '4294967295',
    examples: '3, 100, 10k',
  },
};

/** The bounds per field, as numbers, for help texts and other layers. */
export const QOS_LIMITS: Readonly<Record<QuantityField, { min: number; max: number; unit: string }>> =
  Object.freeze(
    Object.fromEntries(
      Object.entries(QUANTITY_RULES).map(([field, rule]) => [
        field,
        Object.freeze({ min: Number(rule.min), max: Number(rule.max), unit: rule.unit }),
      ]),
    ) as Record<QuantityField, { min: number; max: number; unit: string }>,
  );

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const FIELD_ORDER: readonly QuantityField[] = [
  'bandwidth',
  'burst',
  'peakrate',
  'minburst',
  'packetRate',
  'packetBurst',
  'maxConnections',
];

/** The Calico annotation key of a field, e.g. ('ingress', 'bandwidth') -> qos.projectcalico.org/ingressBandwidth. */
export function calicoQosKey(direction: Direction, field: QuantityField): string {
  return `${CALICO_QOS_PREFIX}${direction}${QUANTITY_RULES[field].keySuffix}`;
}

/** kubernetes.io/ingress-bandwidth or kubernetes.io/egress-bandwidth. */
export function kubernetesBandwidthKey(direction: Direction): string {
  return `kubernetes.io/${direction}-bandwidth`;
}

const packetsAliasKey = (direction: Direction): string => `${CALICO_QOS_PREFIX}${direction}Packets`;
export const DSCP_KEY = `${CALICO_QOS_PREFIX}dscp`;

/** Every qos.projectcalico.org/ key netqos reads (aliases excluded). */
export const CALICO_QOS_KEYS: readonly string[] = Object.freeze([
  ...DIRECTIONS.flatMap((direction) => FIELD_ORDER.map((field) => calicoQosKey(direction, field))),
  DSCP_KEY,
]);

const RECOGNISED_CALICO_KEYS = new Set<string>([...CALICO_QOS_KEYS, ...DIRECTIONS.map(packetsAliasKey)]);

/** Collects problems (strict) and warnings (both modes) while parsing. */
class Findings {
  readonly problems: AnnotationProblem[] = [];
  readonly warnings: string[] = [];

  constructor(readonly mode: AnnotationMode) {}

  /** Record a problem worded `<key>: "<value>" <detail>`, e.g. `... "10Mb" is not a quantity (...)`. */
  problem(key: string, value: unknown, detail: string): void {
    this.problemWithMessage(key, value, `${key}: ${quoteValue(value)} ${detail}`);
  }

  problemWithMessage(key: string, value: unknown, message: string): void {
    this.problems.push({ key, value: typeof value === 'string' ? value : quoteValue(value), message });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}

/** An annotation that was present, with the value this mode resolved it to. */
interface Reading {
  key: string;
  raw: string;
  /** Strict: the valid value, or undefined when invalid. Calico: the value, 0n meaning off. */
  value: bigint | undefined;
}

function describeRange(rule: QuantityRule): string {
  return `allowed: ${rule.minText} to ${rule.maxText} ${rule.unit}`;
}

function belowMinimumHints(raw: string, value: bigint): string {
  if (/[0-9.]m$/.test(raw)) return ' ("m" means milli; write M for mega)';
  if (value <= 0n) return ' (remove the annotation to leave this unlimited)';
  return '';
}

function readQuantity(
  findings: Findings,
  direction: Direction,
  field: QuantityField,
  key: string,
  raw: unknown,
): Reading {
  const rule = QUANTITY_RULES[field];
  const calicoContext = `error parsing ${direction} ${rule.what} annotation`;

  if (typeof raw !== 'string') {
    const text = quoteValue(raw);
    if (findings.mode === 'strict') {
      findings.problem(
        key,
        raw,
        `must be a string (quote it in YAML), e.g. "${rule.examples.split(',')[0]}"`,
      );
    } else {
      findings.warn(`${key}: ${text}: ${calicoContext}: not a string; control off`);
    }
    return { key, raw: text, value: findings.mode === 'strict' ? undefined : 0n };
  }

  let parsed: bigint;
  try {
    // Calico mode parses exactly as apimachinery does, digit-less numbers ("M") included.
    parsed = parseQuantity(raw, { acceptDigitlessAsZero: findings.mode === 'calico' });
  } catch (error) {
    if (!(error instanceof QuantityError)) throw error;
    if (error.reason === 'too-large') {
      parsed = rule.max + 1n; // treated like any other value above the maximum
    } else if (findings.mode === 'strict') {
      const what = error.reason === 'no-digits' ? 'has no digits' : 'is not a quantity';
      findings.problem(key, raw, `${what} (use e.g. ${rule.examples})`);
      return { key, raw, value: undefined };
    } else {
      findings.warn(
        `${key}: ${quoteValue(raw)}: ${calicoContext}: ${error.goError ?? error.message}; control off`,
      );
      return { key, raw, value: 0n };
    }
  }

  if (parsed < rule.min) {
    if (findings.mode === 'strict') {
      findings.problem(
        key,
        raw,
        `is below the minimum ${rule.minText} ${rule.unit}${belowMinimumHints(raw, parsed)} (${describeRange(rule)})`,
      );
      return { key, raw, value: undefined };
    }
    findings.warn(
      `${key}: ${quoteValue(raw)}: ${calicoContext}: resource specified is too small ` +
        `(less than ${rule.calicoMinText}), setting it to ${rule.calicoMinText}`,
    );
    return { key, raw, value: rule.min };
  }
  if (parsed > rule.max) {
    if (findings.mode === 'strict') {
      findings.problem(
        key,
        raw,
        `is above the maximum ${rule.maxText} ${rule.unit} (${describeRange(rule)})`,
      );
      return { key, raw, value: undefined };
    }
    findings.warn(
      `${key}: ${quoteValue(raw)}: ${calicoContext}: resource specified is too large ` +
        `(more than ${rule.calicoMaxText}), setting it to ${rule.calicoMaxText}`,
    );
    return { key, raw, value: rule.max };
  }
  return { key, raw, value: parsed };
}

type Annotations = Readonly<Record<string, string>>;

const has = (annotations: Annotations, key: string): boolean => Object.hasOwn(annotations, key);

/** Resolve the readings of one direction: which key supplies each field, parsed and bounded. */
function readDirection(
  findings: Findings,
  annotations: Annotations,
  direction: Direction,
): Partial<Record<QuantityField, Reading>> {
  const readings: Partial<Record<QuantityField, Reading>> = {};
  const read = (field: QuantityField, key: string): Reading =>
    readQuantity(findings, direction, field, key, annotations[key]);

  // Bandwidth: the Kubernetes key first, then Calico's overrides it (even when Calico's is bad,
  // which in calico mode turns the limit off, as Calico does).
  const k8sKey = kubernetesBandwidthKey(direction);
  const calicoBandwidthKey = calicoQosKey(direction, 'bandwidth');
  if (has(annotations, k8sKey)) readings.bandwidth = read('bandwidth', k8sKey);
  if (has(annotations, calicoBandwidthKey)) {
    if (readings.bandwidth) {
      findings.warn(
        `${k8sKey} (${quoteValue(annotations[k8sKey])}) is overridden by ${calicoBandwidthKey} ` +
          `(${quoteValue(annotations[calicoBandwidthKey])})`,
      );
    }
    readings.bandwidth = read('bandwidth', calicoBandwidthKey);
  }

  for (const field of ['burst', 'peakrate', 'minburst', 'packetBurst', 'maxConnections'] as const) {
    const key = calicoQosKey(direction, field);
    if (has(annotations, key)) readings[field] = read(field, key);
  }

  const packetRateKey = calicoQosKey(direction, 'packetRate');
  const aliasKey = packetsAliasKey(direction);
  if (has(annotations, packetRateKey)) {
    readings.packetRate = read('packetRate', packetRateKey);
    if (has(annotations, aliasKey)) {
      findings.warn(`${aliasKey} is ignored: ${packetRateKey} is also set and takes precedence`);
    }
  } else if (has(annotations, aliasKey)) {
    findings.warn(
      `${aliasKey} is an alias: use ${packetRateKey} (Calico itself reads only ${packetRateKey})`,
    );
    readings.packetRate = read('packetRate', aliasKey);
  }
  return readings;
}

const defined = (value: bigint | undefined): value is bigint => value !== undefined;

function toDirectionQos(values: Partial<Record<QuantityField, bigint | undefined>>): DirectionQos {
  const result: DirectionQos = {};
  for (const field of FIELD_ORDER) {
    const value = values[field];
    // In calico mode 0 means "off", exactly as in Calico's QoSControls struct.
    if (defined(value) && value !== 0n) result[field] = Number(value);
  }
  return result;
}

/** Strict mode: dependencies between present keys, checked only where both ends are valid. */
function strictDirection(
  findings: Findings,
  direction: Direction,
  readings: Partial<Record<QuantityField, Reading>>,
): DirectionQos {
  const { bandwidth, burst, peakrate, minburst, packetRate, packetBurst } = readings;
  const bandwidthKeys = `${calicoQosKey(direction, 'bandwidth')} (or ${kubernetesBandwidthKey(direction)})`;

  if (burst && defined(burst.value) && !bandwidth) {
    findings.problem(burst.key, burst.raw, `needs a bandwidth: set ${bandwidthKeys} as well`);
  }
  if (peakrate && defined(peakrate.value)) {
    if (!bandwidth) {
      findings.problem(peakrate.key, peakrate.raw, `needs a bandwidth: set ${bandwidthKeys} as well`);
    } else if (defined(bandwidth.value) && peakrate.value <= bandwidth.value) {
      findings.problem(
        peakrate.key,
        peakrate.raw,
        `must be greater than the ${direction} bandwidth (${bandwidth.key}: ${quoteValue(bandwidth.raw)})`,
      );
    }
  }
  if (minburst && defined(minburst.value) && !peakrate) {
    findings.problem(
      minburst.key,
      minburst.raw,
      `needs a peakrate: set ${calicoQosKey(direction, 'peakrate')} as well (minburst is the peak bucket)`,
    );
  }
  if (packetBurst && defined(packetBurst.value) && !packetRate) {
    findings.problem(
      packetBurst.key,
      packetBurst.raw,
      `needs a packet rate: set ${calicoQosKey(direction, 'packetRate')} as well`,
    );
  }

  const packetBurstValue =
    packetRate && defined(packetRate.value) && !packetBurst
      ? BigInt(DEFAULT_PACKET_BURST)
      : packetBurst?.value;
  return toDirectionQos({
    bandwidth: bandwidth?.value,
    burst: burst?.value,
    peakrate: peakrate?.value,
    minburst: minburst?.value,
    packetRate: packetRate?.value,
    packetBurst: packetBurstValue,
    maxConnections: readings.maxConnections?.value,
  });
}

/** Calico mode: handleQoSControlsAnnotations' dependency checks and defaults, in its order. */
function calicoDirection(
  findings: Findings,
  direction: Direction,
  readings: Partial<Record<QuantityField, Reading>>,
): DirectionQos {
  const value = (field: QuantityField): bigint => readings[field]?.value ?? 0n;
  const bandwidth = value('bandwidth');
  let burst = value('burst');
  let peakrate = value('peakrate');
  let minburst = value('minburst');
  const packetRate = value('packetRate');
  let packetBurst = value('packetBurst');
  const dropped = (field: QuantityField, message: string): void => {
    const reading = readings[field] as Reading;
    findings.warn(
      `${reading.key}: ${quoteValue(reading.raw)}: ${message}; ${QUANTITY_RULES[field].what} dropped`,
    );
  };

  if (burst !== 0n && bandwidth === 0n) {
    dropped('burst', `${direction} bandwidth must be specified when ${direction} burst is specified`);
    burst = 0n;
  }
  if (peakrate !== 0n && (bandwidth === 0n || bandwidth >= peakrate)) {
    dropped('peakrate', `${direction} peakrate must be greater than ${direction} bandwidth when specified`);
    peakrate = 0n;
  }
  if (minburst !== 0n && peakrate === 0n) {
    dropped('minburst', `${direction} peakrate must be specified when ${direction} minburst is specified`);
    minburst = 0n;
  }
  if (packetBurst !== 0n && packetRate === 0n) {
    dropped(
      'packetBurst',
      `${direction} packet rate must be specified when ${direction} packet burst is specified`,
    );
    packetBurst = 0n;
  }
  if (bandwidth !== 0n && burst === 0n) burst = BigInt(CALICO_DEFAULT_BURST_BITS);
  if (packetRate !== 0n && packetBurst === 0n) packetBurst = BigInt(DEFAULT_PACKET_BURST);
  return toDirectionQos({
    bandwidth,
    burst,
    peakrate,
    minburst,
    packetRate,
    packetBurst,
    maxConnections: value('maxConnections'),
  });
}

function readDscp(findings: Findings, annotations: Annotations): number | undefined {
  if (!has(annotations, DSCP_KEY)) return undefined;
  const raw: unknown = annotations[DSCP_KEY];
  const text = typeof raw === 'string' ? raw : quoteValue(raw);
  try {
    if (typeof raw !== 'string') throw new DscpError(text, 'unknown', `${text} is not a valid DSCP value`);
    return parseDscp(raw, { calico: findings.mode === 'calico' });
  } catch (error) {
    if (!(error instanceof DscpError)) throw error;
    if (findings.mode === 'strict') {
      const what = error.reason === 'out-of-range' ? 'is out of range' : 'is not a valid DSCP value';
      const hint = typeof raw === 'string' ? '' : ' (annotation values are strings: quote it in YAML)';
      findings.problem(DSCP_KEY, raw, `${what}: use ${DSCP_ALLOWED_FORMS}${hint}`);
    } else {
      const cs7 = text.trim().toUpperCase() === 'CS7' ? ' (Calico does not know CS7; write 56)' : '';
      findings.warn(
        `${DSCP_KEY}: ${quoteValue(raw)}: error parsing DSCP annotation: ` +
          `${error.calicoMessage}${cs7}; DSCP left unset`,
      );
    }
    return undefined;
  }
}

/** Levenshtein distance, for "did you mean" on misspelt keys. */
function editDistance(a: string, b: string): number {
  // Rows of b.length + 1 entries, filled left to right: every index read below is in range.
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggestKey(unknownKey: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of RECOGNISED_CALICO_KEYS) {
    if (Math.abs(unknownKey.length - key.length) > 3) continue; // at least that many edits apart
    const distance = editDistance(unknownKey.toLowerCase(), key.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/** Longer unknown keys are quoted like values, cut short. */
const MAX_QUOTED_KEY = 128;

function checkUnknownKeys(findings: Findings, annotations: Annotations): void {
  const unknown = Object.keys(annotations)
    .filter((key) => key.startsWith(CALICO_QOS_PREFIX) && !RECOGNISED_CALICO_KEYS.has(key))
    .sort();
  for (const key of unknown) {
    const suggestion = suggestKey(key);
    const hint = suggestion ? `did you mean ${suggestion}?` : `known keys: ${CALICO_QOS_KEYS.join(', ')}`;
    const shown = key.length <= MAX_QUOTED_KEY ? key : quoteValue(key);
    if (findings.mode === 'strict') {
      const value: unknown = annotations[key];
      const message = `${shown}: unknown QoS annotation (${hint}); its value was ${quoteValue(value)}`;
      findings.problemWithMessage(key, value, message);
    } else {
      findings.warn(`${shown}: unknown QoS annotation, ignored as Calico ignores it (${hint})`);
    }
  }
}

/**
 * The part of a pod's annotations parseAnnotations reads, as [key, value, key, value, ...] in
 * their order (equal lists, equal results): for memoizing. Undefined when a value it reads is
 * not a string.
 */
export function qosEntries(
  annotations: Readonly<Record<string, string>> | undefined | null,
): string[] | undefined {
  if (annotations == null || typeof annotations !== 'object') return undefined;
  const entries: string[] = [];
  for (const key in annotations) {
    if (!Object.hasOwn(annotations, key) || !isQosKey(key)) continue;
    const value = annotations[key];
    if (typeof value !== 'string') return undefined;
    entries.push(key, value);
  }
  return entries;
}

/** Whether `annotations` still holds exactly `entries` (see qosEntries), without copying them. */
export function sameQosEntries(
  annotations: Readonly<Record<string, string>>,
  entries: readonly string[],
): boolean {
  let i = 0;
  for (const key in annotations) {
    if (!Object.hasOwn(annotations, key) || !isQosKey(key)) continue;
    if (key !== entries[i] || annotations[key] !== entries[i + 1]) return false;
    i += 2;
  }
  return i === entries.length;
}

const isQosKey = (key: string) =>
  key.startsWith(CALICO_QOS_PREFIX) || key === KUBERNETES_INGRESS_KEY || key === KUBERNETES_EGRESS_KEY;
const KUBERNETES_INGRESS_KEY = kubernetesBandwidthKey('ingress');
const KUBERNETES_EGRESS_KEY = kubernetesBandwidthKey('egress');

/** Kubernetes' bound on a pod's annotations, keys and values together (TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** The annotations' size in bytes (UTF-8 keys and string values, as Kubernetes counts) when over the bound. */
export function oversizeAnnotations(annotations: Readonly<Record<string, unknown>>): number | undefined {
  const strings: string[] = [];
  let units = 0;
  for (const key in annotations) {
    if (!Object.hasOwn(annotations, key)) continue;
    const value = annotations[key];
    strings.push(key);
    if (typeof value === 'string') strings.push(value);
    units += key.length + (typeof value === 'string' ? value.length : 0);
  }
  // A UTF-16 unit takes at most 3 bytes: most annotations are counted without encoding them.
  if (units * 3 <= MAX_ANNOTATIONS_BYTES) return undefined;
  const bytes = strings.reduce((n, text) => n + Buffer.byteLength(text), 0);
  return bytes > MAX_ANNOTATIONS_BYTES ? bytes : undefined;
}

/** Throws AnnotationError for annotations over Kubernetes' bound. */
export function checkAnnotationsSize(annotations: Readonly<Record<string, unknown>>): void {
  const size = oversizeAnnotations(annotations);
  if (size === undefined) return;
  throw new AnnotationError([
    {
      key: '',
      value: '',
      message: `the annotations take ${size} bytes (keys and values); Kubernetes allows at most ${MAX_ANNOTATIONS_BYTES}`,
    },
  ]);
}

/**
 * Parse a pod's annotations into a QoS spec. Annotations with other prefixes are ignored; none
 * at all (undefined, or null in some JSON) is no QoS. Strict mode throws AnnotationError listing
 * every problem; calico mode never throws, except for annotations over Kubernetes' 256 KiB,
 * which no pod can carry (an AnnotationError in both modes).
 */
export function parseAnnotations(
  annotations: Readonly<Record<string, string>> | undefined | null,
  options: ParseAnnotationsOptions = {},
): ParsedAnnotations {
  if (options === null || typeof options !== 'object')
    throw new QosArgumentError('options', `${quoteValue(options)} is not an options object`);
  const mode = options.mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'calico') {
    throw new QosArgumentError('options.mode', `${quoteValue(mode)} is not 'strict' or 'calico'`);
  }
  annotations ??= {};
  if (typeof annotations !== 'object' || Array.isArray(annotations)) {
    throw new QosArgumentError(
      'annotations',
      `${quoteValue(annotations)} is not an object of string keys and string values`,
    );
  }
  checkAnnotationsSize(annotations);
  const findings = new Findings(mode);

  const spec = { ingress: {}, egress: {} } as QosSpec;
  for (const direction of DIRECTIONS) {
    const readings = readDirection(findings, annotations, direction);
    spec[direction] =
      mode === 'strict'
        ? strictDirection(findings, direction, readings)
        : calicoDirection(findings, direction, readings);
  }
  const dscp = readDscp(findings, annotations);
  if (dscp !== undefined) spec.egress.dscp = dscp;
  checkUnknownKeys(findings, annotations);

  if (findings.problems.length > 0) throw new AnnotationError(findings.problems);
  return { spec, warnings: findings.warnings };
}
