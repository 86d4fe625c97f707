// Which kernel subsystem enforces each control: bandwidth is always tc (a TBF: nftables cannot
// queue), connection limits always nftables (conntrack's `ct count`; no tc action counts
// connections), packet rate and DSCP either. 'auto' uses tc where the kernel has the actions
// (act_police; act_pedit + act_csum + act_skbedit) and nftables where it does not.
//
// What the kernel has is found out without leaving anything behind or notifying anyone: asking
// for action index 0 of a kind (a read) is answered "not found" (ENOENT) when the kernel knows
// the kind and "kind not found" (EINVAL) when it does not. A kind it does not know yet may be a
// module it can load, which only the kernel can tell (its modprobe may look where this process
// cannot, as from a container): asked to make an action of the kind with no options at all, it
// loads the module if it can, then every kind refuses the request (EINVAL) before making
// anything; "Failed to load TC action module" (ENOENT) says it cannot. nf_tables is there when
// its generation can be read.
import { NetqosError } from '../errors';
import type { NetlinkHandle } from '../handle';
import { NetlinkError, type DumpPlan } from '../netlink';
import type { NftablesHandle } from '../nftables';
import type { QosSpec } from './annotations';
import { BoundedCache } from './bounded-cache';
import { QosArgumentError, quoteValue } from './errors';

/** Option value: which subsystem enforces packet rate and DSCP. */
export type Dataplane = 'auto' | 'tc' | 'nftables';
/** The subsystem that enforces a control. */
export type Enforcer = 'tc' | 'nftables';

export const DATAPLANES: readonly Dataplane[] = ['auto', 'tc', 'nftables'];

/** Controls whose dataplane can differ. */
export type Control = 'packetRate' | 'dscp' | 'maxConnections';

/** Where each control of a spec is enforced. */
export interface Placement {
  packetRate: Enforcer;
  dscp: Enforcer;
  maxConnections: 'nftables';
}

/** tc actions each control needs on the tc dataplane. */
export const TC_ACTIONS: Readonly<Record<'packetRate' | 'dscp', readonly string[]>> = {
  packetRate: ['police'],
  dscp: ['pedit', 'csum', 'skbedit'],
};
const ALL_ACTIONS = ['police', 'pedit', 'csum', 'skbedit'] as const;

/** 'present': the kernel knows the kind; 'loadable': it loaded its module when asked; 'absent'. */
export type ActionAvailability = 'present' | 'loadable' | 'absent' | 'unknown';

export interface KernelCapabilities {
  tcActions: Record<string, ActionAvailability>;
  /** nf_tables answers (undefined: not asked yet). */
  nftables?: boolean;
}

/**
 * No dataplane can enforce a control on this kernel (or not the one asked for): nothing was
 * read-modified or sent. `control` is the annotation, `missing` what the kernel lacks.
 */
export class QosDataplaneError extends NetqosError {
  readonly code = 'ERR_NETQOS_DATAPLANE';

  constructor(
    readonly ifname: string,
    readonly control: string,
    readonly missing: readonly string[],
    message: string,
  ) {
    super(`${ifname}: ${message}`);
  }
}

export function checkDataplane(value: unknown, field = 'options.dataplane'): void {
  if (value !== undefined && !DATAPLANES.includes(value as Dataplane))
    throw new QosArgumentError(field, `${quoteValue(value)} is not 'auto', 'tc' or 'nftables'`);
}

/** The controls of a spec that tc or nftables could enforce. */
export function controlsOf(spec: QosSpec): Control[] {
  const out: Control[] = [];
  if (spec.ingress.packetRate || spec.egress.packetRate) out.push('packetRate');
  if (spec.egress.dscp !== undefined) out.push('dscp');
  if (spec.ingress.maxConnections || spec.egress.maxConnections) out.push('maxConnections');
  return out;
}

const usable = (a: ActionAvailability | undefined) => a === 'present' || a === 'loadable';

/** Where each control goes, for a dataplane option and (auto) what the kernel has. */
export function placement(dataplane: Dataplane, caps: KernelCapabilities | undefined): Placement {
  const pick = (control: 'packetRate' | 'dscp'): Enforcer => {
    if (dataplane !== 'auto') return dataplane;
    return TC_ACTIONS[control].every((a) => usable(caps?.tcActions[a])) ? 'tc' : 'nftables';
  };
  return { packetRate: pick('packetRate'), dscp: pick('dscp'), maxConnections: 'nftables' };
}

/** The annotations a control comes from, for messages. */
function controlKeys(spec: QosSpec, control: Control): string {
  const p = 'qos.projectcalico.org/';
  if (control === 'dscp') return `${p}dscp`;
  const suffix = control === 'packetRate' ? 'PacketRate' : 'MaxConnections';
  const dirs = (['ingress', 'egress'] as const).filter((d) => spec[d][control]);
  return dirs.map((d) => `${p}${d}${suffix}`).join(' and ');
}

/**
 * Refuses a spec the kernel cannot enforce where the placement puts it on nftables (chosen, auto's
 * fallback, or a connection limit) when the kernel has no nf_tables. (With dataplane 'tc' the
 * kernel itself answers for its actions, and the tc batch is rolled back.)
 */
export function checkPlacement(
  ifname: string,
  spec: QosSpec,
  dataplane: Dataplane,
  where: Placement,
  caps: KernelCapabilities,
): void {
  for (const control of controlsOf(spec)) {
    if (where[control] === 'tc') continue;
    const keys = controlKeys(spec, control);
    if (caps.nftables) continue;
    if (control === 'maxConnections')
      throw new QosDataplaneError(
        ifname,
        keys,
        ['nf_tables'],
        `${keys}: connection limits need nf_tables (conntrack's ct count), which this kernel lacks (CONFIG_NF_TABLES, CONFIG_NFT_CONNLIMIT); nothing was applied`,
      );
    const actions = TC_ACTIONS[control].map((a) => `act_${a}`);
    if (dataplane === 'auto') {
      const lacking = TC_ACTIONS[control].filter((a) => !usable(caps.tcActions[a])).map((a) => `act_${a}`);
      throw new QosDataplaneError(
        ifname,
        keys,
        [...lacking, 'nf_tables'],
        `${keys}: this kernel has neither the tc action${actions.length > 1 ? 's' : ''} ${actions.join(', ')} (it lacks ${lacking.join(', ')}) nor nf_tables, one of which this control needs; nothing was applied`,
      );
    }
    throw new QosDataplaneError(
      ifname,
      keys,
      ['nf_tables'],
      `${keys}: dataplane 'nftables' needs nf_tables, which this kernel lacks (CONFIG_NF_TABLES); use dataplane 'auto' or 'tc' (nothing was applied)`,
    );
  }
}

/**
 * nf_tables without the inet family (CONFIG_NF_TABLES_INET; some kernels build nf_tables with
 * the bridge family only) refuses netqos's table with EOPNOTSUPP, which no read can foresee:
 * that refusal said plainly, as a QosDataplaneError; anything else as it was.
 */
export function explainNftRefusal(
  error: unknown,
  ifname: string,
  spec: QosSpec,
  dataplane: Dataplane,
  where: Placement,
): unknown {
  const op = (error as { nftOperation?: { op: string; table?: { family: string } } }).nftOperation;
  const code = (error as { code?: string }).code;
  if (
    !op?.table ||
    op.op !== 'add' ||
    op.table.family !== 'inet' ||
    (code !== 'EOPNOTSUPP' && code !== 'ENOTSUP')
  )
    return error;
  const controls = controlsOf(spec).filter((c) => where[c] === 'nftables');
  const keys = controls.map((c) => controlKeys(spec, c)).join(', ') || 'its controls';
  const fallback =
    dataplane === 'auto' && controls.some((c) => c !== 'maxConnections')
      ? ' (and lacks the tc actions that could enforce the others)'
      : '';
  return new QosDataplaneError(
    ifname,
    keys,
    ['nf_tables inet family'],
    `${keys}: netqos's nftables rules need nf_tables with the inet family, which this kernel lacks (CONFIG_NF_TABLES_INET)${fallback}; nothing was applied (the kernel answered ${code} to "add table inet")`,
  );
}

/** The get of one action kind (index 0: never an action): ENOENT = known, EINVAL = unknown. */
function* planActionGet(kind: string): DumpPlan<unknown> {
  return yield [{ type: 'action', kind, index: 0 }];
}

/** Makes the kernel load the kind's module if it can; refused whatever happens (see above). */
function* planActionLoad(kind: string): DumpPlan<unknown> {
  return yield [{ type: 'action', kind, load: true }];
}

const code = (e: unknown) => (e as NetlinkError | undefined)?.code;

/** What the answer to a get says; undefined: the kind is unknown, maybe loadable. */
function afterGet(error: unknown): ActionAvailability | undefined {
  if (code(error) === 'ENOENT') return 'present';
  if (code(error) === 'EINVAL') return undefined;
  throw error;
}

/** What the answer to a load says. */
function afterLoad(error: unknown): ActionAvailability {
  if (code(error) === 'EINVAL') return 'loadable';
  if (code(error) === 'ENOENT' || code(error) === 'EOPNOTSUPP') return 'absent';
  throw error;
}

/** Probes per namespace (by namespace key), kept for the process's life. */
const probed = new BoundedCache<string, KernelCapabilities>(1024);

/** What the kernel behind a namespace offers; read once per namespace. */
export async function probeKernel(nl: NetlinkHandle, key: string): Promise<KernelCapabilities> {
  const known = probed.get(key);
  if (known) return known;
  const tcActions: Record<string, ActionAvailability> = {};
  for (const kind of ALL_ACTIONS) {
    // (An action of index 0 cannot exist: any answer but an error is a known kind.)
    const have = await nl.read(planActionGet(kind)).then(() => 'present' as const, afterGet);
    tcActions[kind] =
      have ?? (await nl.read(planActionLoad(kind)).then(() => 'loadable' as const, afterLoad));
  }
  return probed.set(key, { tcActions });
}

export function probeKernelSync(nl: NetlinkHandle, key: string): KernelCapabilities {
  const known = probed.get(key);
  if (known) return known;
  const tcActions: Record<string, ActionAvailability> = {};
  const attempt = (
    plan: DumpPlan<unknown>,
    ok: ActionAvailability,
    judge: (e: unknown) => ActionAvailability | undefined,
  ) => {
    try {
      nl.readSync(plan);
      return ok;
    } catch (e) {
      return judge(e);
    }
  };
  for (const kind of ALL_ACTIONS)
    tcActions[kind] =
      attempt(planActionGet(kind), 'present', afterGet) ??
      attempt(planActionLoad(kind), 'loadable', afterLoad)!;
  return probed.set(key, { tcActions });
}

/** Errors that mean "no nf_tables here" (no nfnetlink, or no nf_tables subsystem in it). */
export function isNoNftables(e: unknown): boolean {
  const code = (e as NetlinkError | undefined)?.code;
  return (
    e instanceof NetlinkError &&
    (code === 'EPROTONOSUPPORT' || code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'EINVAL')
  );
}

/** Whether nf_tables answers in this namespace (its generation is a read). */
export function nftablesAvailable(nft: () => NftablesHandle): boolean {
  try {
    nft().generation();
    return true;
  } catch (e) {
    if (isNoNftables(e)) return false;
    throw e;
  }
}
