// The tc side of the engine: a route-netlink handle on one network namespace (tc objects and
// links). lib/handle.ts adds the nf_tables socket beside it for the public NetlinkHandle.
import { native, type NativeBatchResult, type NativeHandle } from './binding';
import { planSnapshot, refuseUnrestorable, restoreOperations, touchedDevices, type Snapshot } from './atomic';
import { planDump, runDump, runDumpSync, type DumpPlan, type DumpRequest } from './dump';
import { summarizeOperation } from './describe';
import { NetlinkError, type OperationFailure } from './errors';
import { TcMirror } from './mirror';
import { checkKnownFields } from './known-fields';
import type {
  ChainState,
  ClassState,
  DumpQuery,
  FilterState,
  LinkState,
  Operation,
  QdiscState,
} from './types';
import {
  checkApplyOptions,
  checkDumpQuery,
  checkOpenOptions,
  checkOperations,
  checkPlan,
  checkWatchOptions,
} from './validate';

export interface OpenOptions {
  /**
   * The network namespace: a name under /var/run/netns (as `ip netns` makes), a path such as
   * /proc/PID/ns/net, or undefined for the namespace this process is in.
   */
  netns?: string;
}

export interface WatchOptions {
  /**
   * The notification socket's receive buffer, bytes (default 64 MiB). A batch drains it between
   * chunks; other processes' changes fill it until the next read of the mirror, and when it
   * overflows the mirror reads everything again.
   */
  receiveBuffer?: number;
}

export interface ApplyOptions {
  /** On any failure, put every touched interface back as it was before the batch. */
  atomic?: boolean;
  /**
   * With atomic: the touched interfaces' state just read by the caller (see atomic.ts), which
   * saves reading it again; it must cover every interface the operations touch.
   */
  snapshot?: Snapshot;
  /**
   * Default true: a failed operation makes apply throw a NetlinkError. With false, apply
   * resolves and `failures` lists what failed (every other operation succeeded).
   */
  throwOnFailure?: boolean;
  /**
   * Interface indexes by name that the caller has just read (with a read or a mirror) and
   * vouches for: the batch uses them instead of looking the names up again (a round trip of a
   * full link message per name). Names the batch itself creates or deletes are looked up anyway.
   */
  interfaces?: ReadonlyMap<string, number>;
}

export interface ApplyResult {
  /** Operations sent. */
  count: number;
  /** The failed operations (empty unless throwOnFailure is false); all others succeeded. */
  failures: OperationFailure[];
  /** With atomic and failures: whether the batch was rolled back. */
  rolledBack?: boolean;
  /** Kernel warnings (extended-ack text on success), by operation index. */
  warnings: { index: number; message: string }[];
  /** sendmsg calls the batch took. */
  sendmsgCalls: number;
}

type DumpResult<Q extends DumpQuery> = Q extends { type: 'qdisc' }
  ? QdiscState[]
  : Q extends { type: 'class' }
    ? ClassState[]
    : Q extends { type: 'filter' }
      ? FilterState[]
      : Q extends { type: 'chain' }
        ? ChainState[]
        : LinkState[];

export class RtnetlinkHandle {
  readonly netns: string | undefined;
  private native: NativeHandle | undefined;
  private watched: TcMirror | undefined;

  constructor(options: OpenOptions = {}) {
    this.netns = checkOpenOptions(options);
    this.native = new (native().Handle)(this.netns);
  }

  /** Sends the operations as one batch, off the JavaScript thread. Throws NetlinkError on failure. */
  async apply(ops: readonly Operation[], options: ApplyOptions = {}): Promise<ApplyResult> {
    const h = this.open();
    checkOperations(ops);
    checkKnownFields(ops);
    checkApplyOptions(options);
    const known = knownPairs(options.interfaces);
    if (!options.atomic) return this.check(ops, options, await h.apply(ops, known));
    const before = options.snapshot ?? (await runDump(planSnapshot(touchedDevices(ops)), (r) => h.dump(r)));
    refuseUnrestorable(ops, before);
    const result = await h.apply(ops, known);
    if (result.failures.length === 0) return this.check(ops, options, result);
    const after = await runDump(planSnapshot(touchedDevices(ops)), (r) => h.dump(r));
    const undo = await h.apply(restoreOperations(before, after));
    return this.check(ops, options, result, undo);
  }

  /** The same, blocking: for short-lived processes such as a CNI plugin. */
  applySync(ops: readonly Operation[], options: ApplyOptions = {}): ApplyResult {
    const h = this.open();
    checkOperations(ops);
    checkKnownFields(ops);
    checkApplyOptions(options);
    const known = knownPairs(options.interfaces);
    if (!options.atomic) return this.check(ops, options, h.applySync(ops, known));
    const before: Snapshot =
      options.snapshot ?? runDumpSync(planSnapshot(touchedDevices(ops)), (r) => h.dumpSync(r));
    refuseUnrestorable(ops, before);
    const result = h.applySync(ops, known);
    if (result.failures.length === 0) return this.check(ops, options, result);
    const after = runDumpSync(planSnapshot(touchedDevices(ops)), (r) => h.dumpSync(r));
    const undo = h.applySync(restoreOperations(before, after));
    return this.check(ops, options, result, undo);
  }

  /** Reads qdiscs, classes, filters (with their actions), chains or links back, with statistics. */
  async dump<Q extends DumpQuery>(query: Q): Promise<DumpResult<Q>> {
    const h = this.open();
    checkDumpQuery(query);
    return runDump(planDump(query) as DumpPlan<DumpResult<Q>>, (r: DumpRequest[]) => h.dump(r));
  }

  dumpSync<Q extends DumpQuery>(query: Q): DumpResult<Q> {
    const h = this.open();
    checkDumpQuery(query);
    return runDumpSync(planDump(query) as DumpPlan<DumpResult<Q>>, (r: DumpRequest[]) => h.dumpSync(r));
  }

  /**
   * Runs a read plan: a generator that yields batches of raw dump requests and receives their
   * decoded replies (see dump.ts). Each batch is one trip to the worker thread.
   */
  async read<T>(plan: DumpPlan<T>): Promise<T> {
    const h = this.open();
    checkPlan(plan);
    return runDump(plan, (r) => h.dump(r));
  }

  readSync<T>(plan: DumpPlan<T>): T {
    const h = this.open();
    checkPlan(plan);
    return runDumpSync(plan, (r) => h.dumpSync(r));
  }

  /**
   * Starts mirroring the namespace's links, root and hook qdiscs and hook filters (see
   * mirror.ts): one full read now, then the kernel's notifications keep it current. The QoS
   * calls given this handle then read the mirror instead of the kernel. Calling it again returns
   * the same mirror.
   */
  async watch(options: WatchOptions = {}): Promise<TcMirror> {
    const mirror = this.startWatching(options);
    if (!mirror.busy) await this.read(mirror.plan());
    return mirror;
  }

  watchSync(options: WatchOptions = {}): TcMirror {
    const mirror = this.startWatching(options);
    if (!mirror.busy) this.readSync(mirror.plan());
    return mirror;
  }

  /** The mirror watch() started, if any. */
  get mirror(): TcMirror | undefined {
    return this.watched;
  }

  private startWatching(options: WatchOptions): TcMirror {
    const h = this.open();
    if (!this.watched) {
      const size = checkWatchOptions(options);
      h.watch(size ?? 0);
      this.watched = new TcMirror({ events: () => h.events() });
    }
    return this.watched;
  }

  /**
   * The network namespace the handle's socket is in, as "DEV:INO" of its namespace file (what
   * stat of /var/run/netns/NAME or /proc/PID/ns/net gives); "" when the kernel cannot tell.
   */
  namespaceId(): string {
    return this.open().namespaceId();
  }

  /** Messages and sendmsg calls this handle has sent so far. */
  counters(): { messages: number; sendmsgCalls: number } {
    return this.open().counters();
  }

  /** Closes the socket. Work already queued finishes first. */
  close(): void {
    this.native?.close();
    this.native = undefined;
    this.watched = undefined;
  }

  /** The native handle; throws EBADF once closed. */
  protected open(): NativeHandle {
    if (!this.native) throw new NetlinkError('the netlink handle is closed', { errno: 9, code: 'EBADF' });
    return this.native;
  }

  private check(
    ops: readonly Operation[],
    options: ApplyOptions,
    result: NativeBatchResult,
    undo?: NativeBatchResult,
  ): ApplyResult {
    const [first] = result.failures;
    if (!first || options.throwOnFailure === false) {
      const rolledBack = undo ? undo.failures.length === 0 : undefined;
      return {
        count: result.count,
        failures: result.failures,
        warnings: result.warnings,
        sendmsgCalls: result.sendmsgCalls,
        ...(undo ? { rolledBack } : {}),
      };
    }
    const op = ops[first.index];
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more failed)` : '';
    let rollback = '';
    if (undo) {
      rollback =
        undo.failures.length === 0
          ? '; the batch was rolled back'
          : `; rolling back failed too: ${undo.failures.map((f) => `${f.code} ${f.message || f.description}`).join('; ')}`;
    }
    throw new NetlinkError(
      `${op ? summarizeOperation(op) : 'the batch'} (operation ${first.index}) failed: ${first.code} (${first.description})` +
        `${first.message ? `: ${first.message}` : ''}${more}${rollback}`,
      {
        errno: first.errno,
        code: first.code,
        kernelMessage: first.message,
        index: first.index,
        operation: op,
        failures: result.failures,
        rolledBack: undo ? undo.failures.length === 0 : undefined,
      },
    );
  }
}

/** The engine's form of ApplyOptions.interfaces: [name, index, name, index, ...]. */
function knownPairs(interfaces: ReadonlyMap<string, number> | undefined): (string | number)[] | undefined {
  if (!interfaces || interfaces.size === 0) return undefined;
  const pairs: (string | number)[] = [];
  for (const [name, index] of interfaces) pairs.push(name, index);
  return pairs;
}
