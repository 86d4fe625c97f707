// The kernel calls the QoS pipelines (qos.ts) ask for, one step at a time: a generator yields a
// step, a driver runs it (off the JavaScript thread, or blocking) and hands back its result, or
// throws its error into the generator, which may then ask for more (the undo of a tc batch when
// the nftables one failed). So the Promise and the Sync entry points share every other line.
import type { ApplyResult, DumpPlan, NetlinkHandle, Operation, Snapshot } from '../netlink';
import { planSnapshot, restoreOperations, touchedDevices } from '../netlink/atomic';
import type { NftApplyResult, NftOperation } from '../nftables';
import { isNoNftables, probeKernel, probeKernelSync, type KernelCapabilities } from './dataplane';
import { noNftables, planReadNft, type NftState } from './nft-state';

export type ReadStep = { kind: 'read'; nl: NetlinkHandle; plan: DumpPlan<unknown> };
export type Step =
  | ReadStep
  /** What the namespace's kernel offers (see dataplane.ts). */
  | { kind: 'probe'; nl: NetlinkHandle; key: string }
  /** netqos's nftables tables (empty when the kernel has no nf_tables). */
  | { kind: 'nftRead'; nl: NetlinkHandle }
  | {
      kind: 'apply';
      nl: NetlinkHandle;
      operations: Operation[];
      snapshot: Snapshot;
      interfaces: Map<string, number>;
    }
  /** One nftables batch, refused whole when the ruleset moved from `generation` (ERESTART). */
  | { kind: 'nftApply'; nl: NetlinkHandle; operations: NftOperation[]; generation: number }
  /** Puts the interfaces a successful tc batch touched back as `snapshot` has them. */
  | { kind: 'undo'; nl: NetlinkHandle; operations: Operation[]; snapshot: Snapshot; cause: unknown };

/** The undo failed too: the error says so, with what the kernel answered. */
function undoFailed(cause: unknown, e: unknown): unknown {
  if (cause instanceof Error)
    cause.message += `; undoing the tc part failed too: ${e instanceof Error ? e.message : String(e)}`;
  return cause;
}

function withGeneration(nl: NetlinkHandle, state: Omit<NftState, 'generation'>): NftState {
  return { ...state, generation: nl.nftables.readGeneration };
}

async function runAsync(step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'read':
      return step.nl.read(step.plan);
    case 'probe':
      return probeKernel(step.nl, step.key);
    case 'nftRead':
      try {
        return withGeneration(step.nl, await step.nl.nftables.read(planReadNft));
      } catch (e) {
        if (isNoNftables(e)) return noNftables();
        throw e;
      }
    case 'apply':
      return step.nl.apply(step.operations, {
        atomic: true,
        snapshot: step.snapshot,
        interfaces: step.interfaces,
      }) as Promise<ApplyResult>;
    case 'nftApply':
      return step.nl.nftables.apply(step.operations, {
        generation: step.generation,
      }) as Promise<NftApplyResult>;
    case 'undo':
      try {
        const after = await step.nl.read(planSnapshot(touchedDevices(step.operations)));
        await step.nl.apply(restoreOperations(step.snapshot, after));
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
        return withGeneration(step.nl, step.nl.nftables.readSync(planReadNft));
      } catch (e) {
        if (isNoNftables(e)) return noNftables();
        throw e;
      }
    case 'apply':
      return step.nl.applySync(step.operations, {
        atomic: true,
        snapshot: step.snapshot,
        interfaces: step.interfaces,
      });
    case 'nftApply':
      return step.nl.nftables.applySync(step.operations, { generation: step.generation });
    case 'undo':
      try {
        const after = step.nl.readSync(planSnapshot(touchedDevices(step.operations)));
        step.nl.applySync(restoreOperations(step.snapshot, after));
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
