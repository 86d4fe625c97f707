/**
 * The CNI invocation (CNI_* variables and the configuration on standard input) -> what the
 * plugin does, validated before anything touches the kernel. Pure: no kernel, no files.
 *
 * Inputs, all optional:
 *  - the reference `bandwidth` plugin's fields, top-level `ingressRate`, `ingressBurst`,
 *    `egressRate`, `egressBurst` (bit/s and bits), or `runtimeConfig.bandwidth` with the same
 *    fields (capability "bandwidth"); like the reference, a non-zero top-level field makes the
 *    top-level entry the one used and runtimeConfig.bandwidth is then ignored;
 *  - pod annotations, `runtimeConfig["io.kubernetes.cri.pod-annotations"]` (capability
 *    "io.kubernetes.cri.pod-annotations", as containerd passes them): every
 *    `qos.projectcalico.org/*` key and `kubernetes.io/{ingress,egress}-bandwidth`;
 *  - netqos's own: `mode` ("strict" | "calico"), `profile` ("netqos" | "calico"), `dataplane`
 *    ("auto" | "tc" | "nftables": what enforces packet rate and DSCP), `dataDir`.
 *
 * Precedence, per direction (ingress = to the pod, egress = from the pod), for the shaper
 * (bandwidth, burst, peakrate, minburst):
 *   1. the top-level fields (the administrator's network-wide limit): when one sets a rate for
 *      the direction, it replaces the pod's annotations for that direction's shaper;
 *   2. the pod's annotations, when they set the direction's bandwidth (either key; the
 *      qos.projectcalico.org one wins over kubernetes.io, as in Calico);
 *   3. runtimeConfig.bandwidth (which containerd derives from the same kubernetes.io keys).
 * Packet rates and DSCP come from the annotations only. The bandwidth fields become the
 * equivalent annotations (rate -> {dir}Bandwidth, burst bits -> {dir}Burst), so one validator
 * and one mapping serve all sources.
 *
 * Keys are read as Go's encoding/json reads them into a struct (go-json.ts), as the reference
 * plugin and the runtimes do: `"IngressRate"` (what containerd and CRI-O send, go-cni's struct
 * having no json tags) fills ingressRate; the annotations' own keys are matched exactly.
 *
 * Bounds (everything the record store or the kernel must hold is checked before either is
 * touched): standard input MAX_STDIN_BYTES; each CNI_* variable MAX_ENV_VALUE_BYTES, no NUL;
 * CNI_CONTAINERID and CNI_IFNAME together one file name (records.ts); the network name one
 * directory name; dataDir short enough for both below it.
 */
import {
  AnnotationError,
  calicoQosKey,
  kubernetesBandwidthKey,
  parseAnnotations,
  type AnnotationMode,
  type Direction,
  type QosSpec,
} from '../qos/annotations';
import type { Dataplane } from '../qos/dataplane';
import { checkBuckets, type TbfProfile } from '../qos/policy';
import { CNI_CODE, CniError } from './errors';
import { ANY, NUMBER, STRING, decodeStruct, type Schema } from './go-json';
import { MAX_ENV_VALUE_BYTES, MAX_STDIN_BYTES } from './limits';
import { NAME_MAX, recordNameProblem } from './records';
import { SUPPORTED_VERSIONS } from './version';

export { SUPPORTED_VERSIONS, LATEST_VERSION } from './version';
export { MAX_ENV_VALUE_BYTES, MAX_STDIN_BYTES } from './limits';
export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type Command = (typeof COMMANDS)[number];

/** The pod-annotations capability key (containerd's CRI plugin). */
export const POD_ANNOTATIONS_KEY = 'io.kubernetes.cri.pod-annotations';
/** Where ADD records each attachment (for DEL without a namespace, and for GC). */
export const DEFAULT_DATA_DIR = '/var/lib/cni/netqos';

/**
 * Bursts runtimes send when the pod says nothing about a burst (Kubernetes has no burst
 * annotation): containerd math.MaxUint32 bits, CRI-O math.MaxUint32*8-1 bits. The reference
 * plugin installs them as given (a 512 MiB or 4 GiB bucket: seconds of line rate before any
 * shaping); netqos treats them as "no burst given" and uses its default bucket (10 ms of the
 * rate, at least four frames). Only in runtimeConfig.bandwidth: a top-level burst is the
 * administrator's and is kept.
 */
export const RUNTIME_PLACEHOLDER_BURSTS: readonly number[] = [4294967295, 34359738359];

const PATH_MAX = 4096;
/** dataDir, with a network's directory and a record below it, within PATH_MAX. */
export const MAX_DATA_DIR_BYTES = PATH_MAX - 1 - 2 * (NAME_MAX + 1);

/** At most `max` characters of a value for an error message, and its size when cut. */
export function excerpt(value: string, max = 64): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}... (${Buffer.byteLength(value)} bytes)`;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_UINT32 = 4294967295;

export interface Invocation {
  command: Command;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path?: string;
}

/**
 * CNI_* variables, checked as the reference library (skel) checks them: CNI_COMMAND always;
 * CNI_CONTAINERID, CNI_IFNAME, CNI_PATH for ADD, CHECK and DEL; CNI_NETNS for ADD and CHECK.
 * Returns undefined when CNI_COMMAND is unset (the plugin was run by hand).
 */
export function readEnvironment(env: NodeJS.ProcessEnv): Invocation | undefined {
  const command = env.CNI_COMMAND;
  if (command === undefined || command === '') return undefined;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, `unknown CNI_COMMAND: ${command}`);
  }
  const cmd = command as Command;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('CNI_') || value === undefined) continue;
    if (value.includes('\0'))
      throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, `${key} contains a NUL character`, excerpt(value));
    if (Buffer.byteLength(value) > MAX_ENV_VALUE_BYTES)
      throw new CniError(
        CNI_CODE.INVALID_ENVIRONMENT,
        `${key} is too long`,
        `${Buffer.byteLength(value)} bytes, at most ${MAX_ENV_VALUE_BYTES}: ${excerpt(value)}`,
      );
  }
  const attachment = cmd === 'ADD' || cmd === 'CHECK' || cmd === 'DEL';
  const required = attachment
    ? ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH', ...(cmd === 'DEL' ? [] : ['CNI_NETNS'])]
    : [];
  const missing = required.filter((k) => !env[k]);
  if (missing.length)
    throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, `required env variables [${missing.join(',')}] missing`);
  const inv: Invocation = {
    command: cmd,
    containerId: env.CNI_CONTAINERID || undefined,
    netns: env.CNI_NETNS || undefined,
    ifname: env.CNI_IFNAME || undefined,
    args: env.CNI_ARGS || undefined,
    path: env.CNI_PATH || undefined,
  };
  if (attachment) {
    if (!NAME_RE.test(inv.containerId!)) {
      throw new CniError(
        CNI_CODE.INVALID_ENVIRONMENT,
        'invalid characters in containerID',
        excerpt(inv.containerId!),
      );
    }
    const problem = interfaceNameProblem(inv.ifname!);
    if (problem) throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, problem, excerpt(inv.ifname!));
    // DEL of an attachment ADD refused (it had no record) still cleans up and succeeds.
    const tooLong = recordNameProblem(inv.containerId!, inv.ifname!);
    if (tooLong && cmd !== 'DEL') throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, tooLong);
  }
  return inv;
}

/** The kernel's rules for an interface name (net/core/dev.c dev_valid_name), as CNI states them. */
function interfaceNameProblem(name: string): string | undefined {
  if (Buffer.byteLength(name, 'utf8') > 15) return 'interface name is too long';
  if (name === '.' || name === '..') return 'interface name is . or ..';
  if (/[/:\s]/.test(name)) return 'interface name contains / or : or whitespace characters';
  return undefined;
}

/** "1.0.0" -> [1, 0, 0]; undefined when not a version. */
function parseVersion(v: string): [number, number, number] | undefined {
  const [, major, minor, patch] = /^(\d+)\.(\d+)\.(\d+)$/.exec(v) ?? [];
  return patch === undefined ? undefined : [Number(major), Number(minor), Number(patch)];
}

export function versionAtLeast(v: string, min: string): boolean {
  const a = parseVersion(v);
  const b = parseVersion(min)!;
  if (!a) return false;
  const [[a0, a1, a2], [b0, b1, b2]] = [a, b];
  return a0 !== b0 ? a0 > b0 : a1 !== b1 ? a1 > b1 : a2 >= b2;
}

export type RawConfig = Record<string, unknown>;

const BANDWIDTH_ENTRY: Record<string, Schema> = {
  ingressRate: NUMBER,
  ingressBurst: NUMBER,
  egressRate: NUMBER,
  egressBurst: NUMBER,
  unshapedSubnets: { kind: 'slice', of: STRING },
  shapedSubnets: { kind: 'slice', of: STRING },
};
const ATTACHMENTS: Schema = {
  kind: 'slice',
  of: { kind: 'struct', fields: { containerID: STRING, ifname: STRING } },
};
/**
 * The configuration as a Go struct would declare it (libcni's NetConf, the reference plugin's
 * BandwidthEntry, netqos's own fields): what go-json.ts matches keys against. Keys not here are
 * not read.
 */
const NET_CONF: Record<string, Schema> = {
  cniVersion: STRING,
  name: STRING,
  type: STRING,
  prevResult: { kind: 'map', of: ANY },
  mode: STRING,
  profile: STRING,
  dataplane: STRING,
  dataDir: STRING,
  ...BANDWIDTH_ENTRY,
  runtimeConfig: {
    kind: 'struct',
    fields: {
      bandwidth: { kind: 'struct', pointer: true, fields: BANDWIDTH_ENTRY },
      'io.kubernetes.cri.pod-annotations': { kind: 'map', of: ANY },
    },
  },
  'cni.dev/valid-attachments': ATTACHMENTS,
  'cni.dev/attachments': ATTACHMENTS,
};

/** Standard input -> the configuration object, keys as Go reads them (see the top). */
export function decodeConfig(stdin: string): RawConfig {
  if (stdin.length > MAX_STDIN_BYTES || Buffer.byteLength(stdin) > MAX_STDIN_BYTES) throw stdinTooLarge();
  return decodeStruct(stdin, NET_CONF);
}

export function stdinTooLarge(): CniError {
  return new CniError(
    CNI_CODE.INVALID_CONFIG,
    'network configuration too large',
    `more than ${MAX_STDIN_BYTES} bytes on standard input`,
  );
}

/** The configuration's cniVersion if it looks like one (for error objects), else undefined. */
export function versionOf(conf: RawConfig | undefined): string | undefined {
  // Digits and dots only (as the native shim reads it): an error object never echoes junk.
  const v = conf?.cniVersion;
  return typeof v === 'string' && /^[0-9.]{1,14}$/.test(v) ? v : undefined;
}

/** Name and version checks (skel's order: name, then version), and the verb's minimum version. */
export function checkCommon(conf: RawConfig, command: Command): string {
  if (conf.name === undefined || conf.name === '')
    throw new CniError(CNI_CODE.INVALID_CONFIG, 'missing network name');
  if (typeof conf.name !== 'string' || !NAME_RE.test(conf.name)) {
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'invalid characters found in network name',
      excerpt(String(conf.name)),
    );
  }
  if (Buffer.byteLength(conf.name) > NAME_MAX) {
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'network name is too long',
      `${Buffer.byteLength(conf.name)} bytes, at most ${NAME_MAX} (it names the directory of the network's records): ${excerpt(conf.name)}`,
    );
  }
  // As libcni's decoder: a configuration without cniVersion is 0.1.0.
  const version = conf.cniVersion === undefined || conf.cniVersion === '' ? '0.1.0' : conf.cniVersion;
  if (typeof version !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      CNI_CODE.INCOMPATIBLE_VERSION,
      'incompatible CNI versions',
      `config is ${JSON.stringify(version)}, plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`,
    );
  }
  const minimum: Partial<Record<Command, string>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };
  const min = minimum[command];
  if (min && !versionAtLeast(version, min)) {
    throw new CniError(
      CNI_CODE.INCOMPATIBLE_VERSION,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${min} or later, config is ${version}`,
    );
  }
  return version;
}

export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}
const BANDWIDTH_FIELDS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;

function readBandwidth(obj: Record<string, unknown>, where: string): BandwidthEntry {
  const out: BandwidthEntry = {};
  for (const f of BANDWIDTH_FIELDS) {
    const v = obj[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new CniError(
        CNI_CODE.INVALID_CONFIG,
        `invalid ${where}${f}: rate and burst must be non-negative integers (bit/s, bits)`,
        JSON.stringify(v),
      );
    }
    out[f] = v;
  }
  return out;
}

/** The reference plugin's validateRateAndBurst, word for word. */
function validateRateAndBurst(rate: number, burst: number, where: string): void {
  const fail = (msg: string) => {
    throw new CniError(CNI_CODE.INVALID_CONFIG, msg, `${where}: rate ${rate} bit/s, burst ${burst} bits`);
  };
  if (burst === 0 && rate !== 0) fail('if rate is set, burst must also be set');
  if (rate === 0 && burst !== 0) fail('if burst is set, rate must also be set');
  if (Math.floor(burst / 8) >= MAX_UINT32) fail('burst cannot be more than 4GB');
}

export type QosSource = 'config' | 'annotations' | 'runtimeConfig';

export interface PluginConfig {
  cniVersion: string;
  name: string;
  prevResult?: PrevResult;
  mode: AnnotationMode;
  profile: TbfProfile;
  dataplane: Dataplane;
  dataDir: string;
  /** The annotations applied to the host-side interface (bandwidth fields converted). */
  annotations: Record<string, string>;
  /** Where each direction's shaper came from (undefined: no shaper that way). */
  sources: Record<Direction, QosSource | undefined>;
  /** The annotations parsed and bounded (calico mode: clamped). */
  spec: QosSpec;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
  [k: string]: unknown;
}
export interface PrevResult {
  cniVersion?: string;
  interfaces?: CniInterface[];
  [k: string]: unknown;
}

function readPrevResult(conf: RawConfig): PrevResult | undefined {
  const p = conf.prevResult;
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p))
    throw new CniError(CNI_CODE.INVALID_CONFIG, 'prevResult is not an object');
  const r = p as PrevResult;
  if (
    r.interfaces !== undefined &&
    (!Array.isArray(r.interfaces) ||
      r.interfaces.some((i) => !i || typeof i !== 'object' || typeof i.name !== 'string'))
  ) {
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'prevResult.interfaces must be a list of interfaces with a name',
    );
  }
  return r;
}

function object(v: unknown, what: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new CniError(CNI_CODE.INVALID_CONFIG, `${what} must be an object`);
  return v as Record<string, unknown>;
}

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const shaperKeys = (d: Direction) => [
  calicoQosKey(d, 'bandwidth'),
  calicoQosKey(d, 'burst'),
  calicoQosKey(d, 'peakrate'),
  calicoQosKey(d, 'minburst'),
  kubernetesBandwidthKey(d),
];

/**
 * The annotations to apply, from the three sources (see the top of this file), and where each
 * direction's shaper came from. Throws CniError 7 for the reference plugin's errors.
 */
export function mergeQos(conf: RawConfig): {
  annotations: Record<string, string>;
  sources: Record<Direction, QosSource | undefined>;
} {
  if (Array.isArray(conf.unshapedSubnets) ? conf.unshapedSubnets.length : conf.unshapedSubnets) {
    throw new CniError(
      CNI_CODE.UNSUPPORTED_FIELD,
      'unsupported field: unshapedSubnets',
      "netqos shapes all of a pod's traffic",
    );
  }
  if (Array.isArray(conf.shapedSubnets) ? conf.shapedSubnets.length : conf.shapedSubnets) {
    throw new CniError(
      CNI_CODE.UNSUPPORTED_FIELD,
      'unsupported field: shapedSubnets',
      "netqos shapes all of a pod's traffic",
    );
  }
  const runtime = object(conf.runtimeConfig, 'runtimeConfig') ?? {};
  const top = readBandwidth(conf, '');
  const fromRuntime = object(runtime.bandwidth, 'runtimeConfig.bandwidth');
  const runtimeBw = fromRuntime ? readBandwidth(fromRuntime, 'runtimeConfig.bandwidth.') : undefined;
  // The reference's getBandwidth: the top-level entry unless it is all zero and runtimeConfig has one.
  const topLevel = BANDWIDTH_FIELDS.some((f) => (top[f] ?? 0) !== 0) || !runtimeBw;
  const bw = topLevel ? top : runtimeBw!;
  const where = topLevel ? 'configuration' : 'runtimeConfig.bandwidth';
  for (const d of DIRECTIONS)
    validateRateAndBurst(bw[`${d}Rate`] ?? 0, bw[`${d}Burst`] ?? 0, `${where} ${d}`);

  const pod = object(runtime[POD_ANNOTATIONS_KEY], `runtimeConfig["${POD_ANNOTATIONS_KEY}"]`) ?? {};
  const annotations: Record<string, string> = {};
  // Runtimes send strings (Kubernetes' annotations are). Other JSON values go on for the policy
  // to refuse (strict) or ignore (calico), objects and arrays as their JSON text: an object's own
  // "toString" key would make it fail to print.
  for (const [k, v] of Object.entries(pod))
    annotations[k] = (v !== null && typeof v === 'object' ? JSON.stringify(v) : v) as string;
  const sources: Record<Direction, QosSource | undefined> = { ingress: undefined, egress: undefined };
  for (const d of DIRECTIONS) {
    const rate = bw[`${d}Rate`] ?? 0;
    const burst = bw[`${d}Burst`] ?? 0;
    const podSets =
      annotations[calicoQosKey(d, 'bandwidth')] !== undefined ||
      annotations[kubernetesBandwidthKey(d)] !== undefined;
    if (topLevel && rate > 0) {
      for (const k of shaperKeys(d)) delete annotations[k];
      annotations[calicoQosKey(d, 'bandwidth')] = String(rate);
      annotations[calicoQosKey(d, 'burst')] = String(burst);
      sources[d] = 'config';
    } else if (podSets) {
      sources[d] = 'annotations';
    } else if (!topLevel && rate > 0) {
      annotations[calicoQosKey(d, 'bandwidth')] = String(rate);
      if (!RUNTIME_PLACEHOLDER_BURSTS.includes(burst)) annotations[calicoQosKey(d, 'burst')] = String(burst);
      sources[d] = 'runtimeConfig';
    }
  }
  return { annotations, sources };
}

function option<T extends string>(conf: RawConfig, key: string, allowed: readonly T[], fallback: T): T {
  const v = conf[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      `invalid ${key}: ${excerpt(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)))} (allowed: ${allowed.join(', ')})`,
    );
  }
  return v as T;
}

export function dataDirOf(conf: RawConfig): string {
  const v = conf.dataDir;
  if (v === undefined || v === null || v === '') return DEFAULT_DATA_DIR;
  if (typeof v !== 'string' || !v.startsWith('/') || v.includes('\0'))
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      `invalid dataDir: ${excerpt(String(typeof v === 'string' ? v : JSON.stringify(v)))} (an absolute path)`,
    );
  if (Buffer.byteLength(v) > MAX_DATA_DIR_BYTES)
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'dataDir is too long',
      `${Buffer.byteLength(v)} bytes, at most ${MAX_DATA_DIR_BYTES}: ${excerpt(v)}`,
    );
  return v;
}

const SOURCE_WORDS: Record<QosSource, string> = {
  config: "the configuration's top-level fields",
  annotations: "the pod's annotations",
  runtimeConfig: 'runtimeConfig.bandwidth',
};

/**
 * The whole configuration for ADD and CHECK (DEL, GC and STATUS read less): prevResult when
 * `needPrev`, options, and the QoS, validated (strict mode: every bad value; both modes: a bucket
 * a TBF cannot hold). Warnings (calico mode) are returned for standard error.
 */
export function readPluginConfig(
  conf: RawConfig,
  command: Command,
): { config: PluginConfig; spec: QosSpec; warnings: string[] } {
  const cniVersion = checkCommon(conf, command);
  const prevResult = readPrevResult(conf);
  if (!prevResult && (command === 'ADD' || command === 'CHECK')) {
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'must be called as chained plugin',
      "no prevResult: put netqos after the plugin that creates the pod's veth (ptp, bridge, ...)",
    );
  }
  const mode = option<AnnotationMode>(conf, 'mode', ['strict', 'calico'], 'strict');
  const profile = option<TbfProfile>(conf, 'profile', ['netqos', 'calico'], 'netqos');
  const dataplane = option<Dataplane>(conf, 'dataplane', ['auto', 'tc', 'nftables'], 'auto');
  const dataDir = dataDirOf(conf);
  const { annotations, sources } = mergeQos(conf);
  let parsed;
  try {
    parsed = parseAnnotations(annotations, { mode });
  } catch (e) {
    if (!(e instanceof AnnotationError)) throw e;
    const converted = DIRECTIONS.filter((d) => sources[d] === 'config' || sources[d] === 'runtimeConfig');
    const note = converted.length
      ? `\n(${converted.map((d) => `${d}Bandwidth/${d}Burst come from ${SOURCE_WORDS[sources[d]!]}: ${d}Rate / ${d}Burst`).join('; ')})`
      : '';
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'invalid QoS configuration',
      e.problems.map((p) => p.message).join('\n') + note,
    );
  }
  const spec = parsed.spec;
  const warnings = parsed.warnings;
  // The kernel's longest bucket: strict mode refuses a longer one, calico mode clamps it (as
  // Calico's saturating arithmetic does) and says so.
  try {
    warnings.push(...checkBuckets(spec, profile, mode));
  } catch (e) {
    if (!(e instanceof AnnotationError)) throw e;
    const d = e.problems[0]?.key.includes('ingress') ? 'ingress' : 'egress';
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      `${d} burst too large for the rate`,
      `${e.problems.map((p) => p.message).join('\n')} (from ${SOURCE_WORDS[sources[d] ?? 'annotations']})`,
    );
  }
  return {
    config: {
      cniVersion,
      name: conf.name as string,
      prevResult,
      mode,
      profile,
      dataplane,
      dataDir,
      annotations,
      sources,
      spec,
    },
    spec,
    warnings,
  };
}

/**
 * GC's `cni.dev/valid-attachments` (libcni also sends `cni.dev/attachments`, CNI issue #1101).
 * Undefined when the runtime sent neither: then no attachment is judged stale.
 */
export function validAttachments(conf: RawConfig): { containerID: string; ifname: string }[] | undefined {
  const list = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'];
  if (list === undefined || list === null) return undefined;
  const ok =
    Array.isArray(list) &&
    list.every(
      (a) => a && typeof a === 'object' && typeof a.containerID === 'string' && typeof a.ifname === 'string',
    );
  if (!ok)
    throw new CniError(
      CNI_CODE.INVALID_CONFIG,
      'cni.dev/valid-attachments must be a list of {"containerID", "ifname"}',
    );
  return (list as { containerID: string; ifname: string }[]).map(({ containerID, ifname }) => ({
    containerID,
    ifname,
  }));
}
