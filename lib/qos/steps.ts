// The kernel calls the QoS pipelines (qos.ts) ask for, one step at a time: a generator yields a
// step, a driver runs it (off the JavaScript thread, or blocking) and hands back its result, or
// throws its error into the generator, which may then ask for more (the undo of a tc batch when
// the nftables one failed). So the Promise and the Sync entry points share every other line.
import type { NetlinkHandle } from '../handle';
import type { ApplyResult, DumpPlan, Operation, Snapshot } from '../netlink';
import { planSnapshot, restoreOperations, touchedDevices } from '../netlink/atomic';
import { builtByNetqos } from '../netlink/known-fields';
import type { NftApplyResult, NftOperation } from '../nftables';
import { isNoNftables, probeKernel, probeKernelSync, type KernelCapabilities } from './dataplane';
import { noNftables, planReadNft, stateAfter, type NftState } from './nft-state';

export type ReadStep = { kind: 'read'; nl: NetlinkHandle; plan: DumpPlan<unknown> };
export type Step =
  | ReadStep
  /** What the namespace's kernel offers (see dataplane.ts). */
  | { kind: 'probe'; nl: NetlinkHandle; key: string }
  /**
   * netqos's nftables table (empty when the kernel has no nf_tables). `reuse`: the last state
   * read through this handle when the ruleset's generation says nothing changed since (its
   * counters are then not current: for planning, not for readQos).
   */
  | { kind: 'nftRead'; nl: NetlinkHandle; reuse?: boolean }
  | {
      kind: 'apply';
      nl: NetlinkHandle;
      operations: Operation[];
      snapshot: Snapshot;
      interfaces: Map<string, number>;
    }
  /**
   * One nftables batch planned from `state`, refused whole when the ruleset moved from its
   * generation (ERESTART). Once committed, the state it made is what the next reuse finds.
   */
  | { kind: 'nftApply'; nl: NetlinkHandle; operations: NftOperation[]; state: NftState }
  /** Puts the interfaces a successful tc batch touched back as `snapshot` has them. */
  | { kind: 'undo'; nl: NetlinkHandle; operations: Operation[]; snapshot: Snapshot; cause: unknown };

/** The undo failed too: the error says so, with what the kernel answered. */
function undoFailed(cause: unknown, e: unknown): unknown {
  if (cause instanceof Error)
    cause.message += `; undoing the tc part failed too: ${e instanceof Error ? e.message : String(e)}`;
  return cause;
}

/** The last state read through each nftables handle. */
const lastRead = new WeakMap<object, NftState>();

function withGeneration(nl: NetlinkHandle, state: NftState): NftState {
  const read = { ...state, generation: nl.nftables.readGeneration };
  lastRead.set(nl.nftables, read);
  return read;
}

/**
 * Batches up to this many operations have the kernel echo what they made, so that the state
 * after them is known without reading the table again; a larger one (a node's first apply) is
 * cheaper to read back once than to echo.
 */
const ECHO_AT_MOST = 512;
const echoes = (step: Extract<Step, { kind: 'nftApply' }>) => step.operations.length <= ECHO_AT_MOST;

/** Keeps the state a committed batch made, when nothing else committed in between (`state`). */
function applied(
  step: Extract<Step, { kind: 'nftApply' }>,
  result: NftApplyResult,
): NftApplyResult & { state?: NftState } {
  const after =
    echoes(step) && result.generation === step.state.generation + 1
      ? stateAfter(step.state, step.operations, result.created, result.generation)
      : undefined;
  if (after) lastRead.set(step.nl.nftables, after);
  else lastRead.delete(step.nl.nftables);
  return { ...result, state: after };
}

/** The last state read, when nothing in the ruleset changed since (one generation request). */
function reusable(nl: NetlinkHandle): NftState | undefined {
  const last = lastRead.get(nl.nftables);
  return last && nl.nftables.generation() === last.generation ? last : undefined;
}

async function runAsync(step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'read':
      return step.nl.read(step.plan);
    case 'probe':
      return probeKernel(step.nl, step.key);
    case 'nftRead':
      try {
        if (step.reuse) {
          const last = reusable(step.nl);
          if (last) return last;
        }
        return withGeneration(step.nl, await step.nl.nftables.read(planReadNft));
      } catch (e) {
        if (isNoNftables(e)) return noNftables();
        throw e;
      }
    case 'apply':
      return step.nl.apply(builtByNetqos(step.operations), {
        atomic: true,
        snapshot: step.snapshot,
        interfaces: step.interfaces,
      }) as Promise<ApplyResult>;
    case 'nftApply':
      return applied(
        step,
        await step.nl.nftables.apply(step.operations, {
          generation: step.state.generation,
          echo: echoes(step),
        }),
      );
    case 'undo':
      try {
        const after = await step.nl.read(planSnapshot(touchedDevices(step.operations)));
        await step.nl.apply(builtByNetqos(restoreOperations(step.snapshot, after)));
      } catch (e) {
        throw undoFailed(step.cause, e);
      }
      return undefined;
  }
}

function runSync(step: Step): unknown {
  switch (step.kind) {
    case 'read':
      return step.nl.readSync(step.plan);
    case 'probe':
      return probeKernelSync(step.nl, step.key);
    case 'nftRead':
      try {
        if (step.reuse) {
          const last = reusable(step.nl);
          if (last) return last;
        }
        return withGeneration(step.nl, step.nl.nftables.readSync(planReadNft));
      } catch (e) {
        if (isNoNftables(e)) return noNftables();
        throw e;
      }
    case 'apply':
      return step.nl.applySync(builtByNetqos(step.operations), {
        atomic: true,
        snapshot: step.snapshot,
        interfaces: step.interfaces,
      });
    case 'nftApply':
      return applied(
        step,
        step.nl.nftables.applySync(step.operations, {
          generation: step.state.generation,
          echo: echoes(step),
        }),
      );
    case 'undo':
      try {
        const after = step.nl.readSync(planSnapshot(touchedDevices(step.operations)));
        step.nl.applySync(builtByNetqos(restoreOperations(step.snapshot, after)));
      } catch (e) {
        throw undoFailed(step.cause, e);
      }
      return undefined;
  }
}

export const kernelSteps = {
  async drive<T>(steps: Generator<Step, T, unknown>): Promise<T> {
    let next = steps.next();
    while (!next.done) {
      let value: unknown;
      try {
        value = await runAsync(next.value);
      } catch (e) {
        next = steps.throw(e);
        continue;
      }
      next = steps.next(value);
    }
    return next.value;
  },

  driveSync<T>(steps: Generator<Step, T, unknown>): T {
    let next = steps.next();
    while (!next.done) {
      let value: unknown;
      try {
        value = runSync(next.value);
      } catch (e) {
        next = steps.throw(e);
        continue;
      }
      next = steps.next(value);
    }
    return next.value;
  },
};

export type { KernelCapabilities };
