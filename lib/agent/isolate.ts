// One applyQos call for a whole pass, and failure isolation: when the batch fails, the target at
// fault (a conflict with another tool's objects, or the interface of the operation the kernel
// refused) is set aside and the call repeated without it, so one pod never blocks the others.
// The call itself is injected (the reconciler passes applyQos with its handles).
import type { Logger } from 'pino';
import { NetlinkError, linkTarget, type Operation } from '../netlink';
import { QosConflictError, ifbNameFor, isNetqosIfbName, type QosApplyResult, type QosTarget } from '../qos';
import { errorText, type Outcome } from './work';

/** applyQos with the caller's options. */
export type ApplyTargets = (targets: QosTarget[]) => Promise<Pick<QosApplyResult, 'targets'>>;

/** Rounds of setting one target aside before falling back to one call per target. */
export const MAX_SET_ASIDE = 16;

/** The device an operation names. */
function operationDevice(op: Operation | undefined): string | number | undefined {
  if (!op) return undefined;
  if ('qdisc' in op) return op.qdisc.dev;
  if ('filter' in op) return op.filter.dev;
  if ('class' in op) return op.class.dev;
  if ('chain' in op) return op.chain.dev;
  return linkTarget(op.link);
}

/**
 * The target (an index of `live`'s) a failure names: the interface of a conflict, or of the
 * operation the kernel refused (a pod's IFB counts as the pod's). Undefined when it names none.
 */
export function culprit(
  e: unknown,
  live: readonly number[],
  targets: readonly QosTarget[],
): number | undefined {
  let dev: string | number | undefined;
  if (e instanceof QosConflictError) dev = e.ifname;
  // (An nftables batch's error names the interface whose operation the kernel refused.)
  else if (e instanceof NetlinkError) dev = (e as { ifname?: string }).ifname ?? operationDevice(e.operation);
  if (dev === undefined) return undefined;
  const names = (t: QosTarget | undefined) =>
    t !== undefined &&
    (t.ifname === dev || (typeof dev === 'string' && isNetqosIfbName(dev) && ifbNameFor(t.ifname) === dev));
  return live.find((i) => names(targets[i]));
}

/** The outcome of the j-th target of a call that succeeded (applyQos answers each, in order). */
function applied(r: Pick<QosApplyResult, 'targets'>, j: number): Outcome {
  const t = r.targets[j];
  if (!t) return { ok: false, error: new Error(`netqos: no result for target ${j} of ${r.targets.length}`) };
  return { ok: true, operations: t.operations.length + t.nftables.length, warnings: t.warnings };
}

/**
 * Applies every target in one call; on failure, sets the target at fault aside and repeats
 * without it. When no target can be blamed (or after MAX_SET_ASIDE rounds), each is applied on
 * its own. One outcome per target, in order. `podOf(i)` names target i's pod for the log.
 */
export async function applyIsolated(
  targets: readonly QosTarget[],
  apply: ApplyTargets,
  logger: Pick<Logger, 'warn' | 'debug'>,
  podOf: (i: number) => string | undefined = () => undefined,
): Promise<Outcome[]> {
  const out: Outcome[] = new Array<Outcome>(targets.length);
  // [index in targets, target] of those not set aside.
  let live = [...targets.entries()];
  for (let round = 0; live.length; round++) {
    try {
      const r = await apply(live.map(([, t]) => t));
      live.forEach(([i], j) => (out[i] = applied(r, j)));
      return out;
    } catch (e) {
      const i = culprit(
        e,
        live.map(([k]) => k),
        targets,
      );
      if (i === undefined || round >= MAX_SET_ASIDE) {
        // Cannot tell who: each on its own.
        logger.warn({ err: errorText(e), targets: live.length }, 'the batch failed; applying pod by pod');
        for (const [k, t] of live) {
          try {
            out[k] = applied(await apply([t]), 0);
          } catch (e2) {
            out[k] = { ok: false, error: e2 };
          }
        }
        return out;
      }
      out[i] = { ok: false, error: e };
      logger.debug(
        { interface: targets[i]?.ifname, pod: podOf(i), err: errorText(e) },
        'set aside from the batch',
      );
      live = live.filter(([k]) => k !== i);
    }
  }
  return out;
}
