// A handle on one namespace's nf_tables: one NETLINK_NETFILTER socket, atomic batches, reads
// that notify nobody, notifications. Reached from an openNetlink() handle as `handle.nftables`
// (same namespace, closed with it) or on its own through openNftables().
import { NetqosArgumentError } from '../errors';
import { native } from '../netlink/binding';
import { NetlinkError, type NetlinkErrorDetails, type OperationFailure } from '../netlink/errors';
import { checkOpenOptions, checkOperations } from '../netlink/validate';
import type {
  NftElementsState,
  NftEvent,
  NftObjectState,
  NftOperation,
  NftQuery,
  NftChainState,
  NftRuleState,
  NftSetState,
  NftTableState,
} from './types';

type Raw = Record<string, unknown>;

export interface NativeNftResult {
  count: number;
  messages: number;
  failures: OperationFailure[];
  /** The batch refused as a whole (index -1): permission, no nf_tables, a moved generation. */
  batchFailure?: OperationFailure;
  created: { index: number; object: NftObjectState }[];
  generation: number;
  /** Answers were dropped (the receive buffer overflowed): what the kernel did is unknown. */
  lost: boolean;
  sendmsgCalls: number;
}

interface NativeNftHandle {
  apply(ops: readonly object[], options?: object): Promise<NativeNftResult>;
  applySync(ops: readonly object[], options?: object): NativeNftResult;
  dump(requests: readonly object[]): Promise<{ generation: number; replies: Raw[][] }>;
  dumpSync(requests: readonly object[]): { generation: number; replies: Raw[][] };
  generation(): number;
  watch(receiveBuffer?: number): void;
  events(): { events: NftEvent[]; overflow: boolean };
  close(): void;
  counters(): { messages: number; sendmsgCalls: number };
}

export interface NftAddon {
  NftHandle: new (netns?: string) => NativeNftHandle;
  /** The batch operations would send (BATCH_BEGIN ... BATCH_END), message by message. */
  nftEncode(ops: readonly object[], options?: object): Buffer[];
  /** The objects and events of the messages in a buffer. */
  nftDecode(buffer: Buffer): { objects: Raw[]; events: Raw[] };
}

/**
 * A refused nftables batch: a NetlinkError (code, index, kernelMessage, failures) that also
 * carries the failing nftables operation (NetlinkError's `operation` is a tc operation).
 */
export class NftablesError extends NetlinkError {
  readonly nftOperation?: NftOperation;

  constructor(message: string, details: NetlinkErrorDetails & { nftOperation?: NftOperation }) {
    const { nftOperation, ...rest } = details;
    super(message, rest);
    this.name = 'NftablesError';
    this.nftOperation = nftOperation;
  }
}

export function nftNative(): NftAddon {
  return native() as unknown as NftAddon;
}

export interface NftOpenOptions {
  /** A name under /var/run/netns, a path such as /proc/PID/ns/net, or undefined for this process's. */
  netns?: string;
}

export interface NftApplyOptions {
  /**
   * Default true: a refused batch throws a NetlinkError naming the first failing operation. With
   * false, apply resolves and `failures` lists what the kernel refused. Either way the kernel
   * applied nothing of a batch with a failure.
   */
  throwOnFailure?: boolean;
  /** Have the kernel return what it made: `created` lists each new object, with its handle. */
  echo?: boolean;
  /**
   * Apply only if the ruleset is still at this generation (from a read); otherwise nothing is
   * applied and the error's code is ERESTART: read again and retry.
   */
  generation?: number;
}

export interface NftApplyResult {
  /** Operations. */
  count: number;
  /** Messages in the batch (BATCH_BEGIN and BATCH_END included). */
  messages: number;
  failures: OperationFailure[];
  /** With echo: what the kernel made, by operation index (rules with their handles). */
  created: { index: number; object: NftObjectState }[];
  /** The ruleset's generation right after the batch. */
  generation: number;
  sendmsgCalls: number;
}

type QueryResult<Q extends NftQuery> = Q extends { type: 'table' }
  ? NftTableState[]
  : Q extends { type: 'chain' }
    ? NftChainState[]
    : Q extends { type: 'rule' }
      ? NftRuleState[]
      : Q extends { type: 'set' }
        ? NftSetState[]
        : NftElementsState[];

/** Yields batches of native read requests, receives their decoded replies, returns the result. */
type ReadPlan<T> = Generator<Raw[], T, Raw[][]>;

function* planQuery(query: NftQuery): ReadPlan<Raw[]> {
  if (query.type !== 'elements') {
    const { type, ...rest } = query as Raw;
    const [objects = []] = yield [{ type, ...rest }];
    return objects;
  }
  let { keyType, dataType } = query as { keyType?: string; dataType?: string };
  const where = { family: query.family, table: query.table };
  if (keyType === undefined) {
    const [sets = []] = yield [{ type: 'set', ...where, name: query.set }];
    const [set] = sets;
    if (!set) return [];
    ({ keyType, dataType } = set as { keyType: string; dataType?: string });
  }
  const [messages = []] = yield [{ type: 'elements', ...where, name: query.set, keyType, dataType }];
  const items = messages.flatMap((m) => m.items as Raw[]);
  return [{ type: 'elements', ...where, set: query.set, items }];
}

/**
 * A read of several queries at a time: yields arrays of queries (elements queries with their
 * set's types), receives each query's objects, returns what it makes of them. Each array is one
 * trip to the kernel, all of one ruleset generation.
 */
export type NftReadPlan<T> = Generator<NftQuery[], T, NftObjectState[][]>;

/** Runs a read plan over a native dump function (one call per yielded array). */
function* nativeSteps<T>(plan: NftReadPlan<T>): Generator<Raw[], T, Raw[][]> {
  let step = plan.next(undefined as unknown as NftObjectState[][]);
  while (!step.done) {
    const queries = step.value;
    const requests = queries.map((q): Raw => {
      if (q.type !== 'elements') return { ...q };
      if (q.keyType === undefined)
        throw Object.assign(new TypeError(`read: elements of ${q.set}: keyType is required in a read plan`), {
          code: 'ERR_NETQOS_INVALID_ARGUMENT',
        });
      const { set, ...rest } = q;
      return { ...rest, name: set };
    });
    const replies = requests.length ? yield requests : [];
    const objects = queries.map((q, i): NftObjectState[] => {
      const objects = replies[i] ?? []; // one reply list per query
      if (q.type !== 'elements') return objects as unknown as NftObjectState[];
      const items = objects.flatMap((m) => m.items as Raw[]);
      return [{ type: 'elements', family: q.family, table: q.table, set: q.set, items } as NftElementsState];
    });
    step = plan.next(objects);
  }
  return step.value;
}

/** Reruns of a read plan whose trips saw different generations, before giving up. */
const READ_ATTEMPTS = 8;

function settled<T>(value: T, moved: boolean): T {
  if (moved)
    throw new NetlinkError('the ruleset kept changing while it was read', { errno: 4, code: 'EINTR' });
  return value;
}

export class NftablesHandle {
  readonly netns: string | undefined;
  private native: NativeNftHandle | undefined;
  private lastGeneration = 0;

  constructor(options: NftOpenOptions = {}) {
    this.netns = checkOpenOptions(options);
    this.native = rethrown(() => new (nftNative().NftHandle)(this.netns));
  }

  /** Sends the operations as one batch: the kernel applies all of them or none. */
  async apply(ops: readonly NftOperation[], options: NftApplyOptions = {}): Promise<NftApplyResult> {
    const h = this.open();
    checkOperations(ops);
    const result = await h.apply(ops, nativeOptions(options)).catch((e) => Promise.reject(asNetlinkError(e)));
    return this.check(ops, options, result);
  }

  /** The same, blocking. */
  applySync(ops: readonly NftOperation[], options: NftApplyOptions = {}): NftApplyResult {
    const h = this.open();
    checkOperations(ops);
    return this.check(
      ops,
      options,
      rethrown(() => h.applySync(ops, nativeOptions(options))),
    );
  }

  /** Reads objects back (rules with their counters), all of one ruleset generation. */
  async dump<Q extends NftQuery>(query: Q): Promise<QueryResult<Q>> {
    const h = this.open();
    const plan = planQuery(query);
    let step = plan.next();
    while (!step.done) {
      const reply = await h.dump(step.value).catch((e) => Promise.reject(asNetlinkError(e)));
      this.lastGeneration = reply.generation;
      step = plan.next(reply.replies);
    }
    return step.value as unknown as QueryResult<Q>;
  }

  dumpSync<Q extends NftQuery>(query: Q): QueryResult<Q> {
    const h = this.open();
    const plan = planQuery(query);
    let step = plan.next();
    while (!step.done) {
      const reply = rethrown(() => h.dumpSync(step.value as Raw[]));
      this.lastGeneration = reply.generation;
      step = plan.next(reply.replies);
    }
    return step.value as unknown as QueryResult<Q>;
  }

  /**
   * Runs a read plan (see NftReadPlan): several queries per trip to the kernel. The plan is made
   * again and rerun when the ruleset moved between its trips, so what it returns describes one
   * generation (readGeneration).
   */
  async read<T>(makePlan: () => NftReadPlan<T>): Promise<T> {
    const h = this.open();
    for (let attempt = 0; ; attempt++) {
      const steps = nativeSteps(makePlan());
      let first: number | undefined;
      let moved = false;
      let step = steps.next(undefined as unknown as Raw[][]);
      while (!step.done) {
        const reply = await h.dump(step.value).catch((e) => Promise.reject(asNetlinkError(e)));
        this.lastGeneration = reply.generation;
        first ??= reply.generation;
        moved ||= reply.generation !== first;
        step = steps.next(reply.replies);
      }
      if (!moved || attempt >= READ_ATTEMPTS) return settled(step.value, moved);
    }
  }

  readSync<T>(makePlan: () => NftReadPlan<T>): T {
    const h = this.open();
    for (let attempt = 0; ; attempt++) {
      const steps = nativeSteps(makePlan());
      let first: number | undefined;
      let moved = false;
      let step = steps.next(undefined as unknown as Raw[][]);
      while (!step.done) {
        const reply = rethrown(() => h.dumpSync(step.value as Raw[]));
        this.lastGeneration = reply.generation;
        first ??= reply.generation;
        moved ||= reply.generation !== first;
        step = steps.next(reply.replies);
      }
      if (!moved || attempt >= READ_ATTEMPTS) return settled(step.value, moved);
    }
  }

  /** The generation the last read described (pass it to apply to apply only if nothing moved). */
  get readGeneration(): number {
    return this.lastGeneration;
  }

  /** The ruleset's generation now: it changes with every committed batch, anyone's. */
  generation(): number {
    const h = this.open();
    return rethrown(() => h.generation());
  }

  /** Subscribes to the namespace's nf_tables notifications (buffer in bytes; default 64 MiB). */
  watch(options: { receiveBuffer?: number } = {}): void {
    const size = options.receiveBuffer;
    if (size !== undefined && (!Number.isInteger(size) || size < 4096 || size > 2 ** 30)) {
      throw new NetqosArgumentError(
        `watch: receiveBuffer: ${size} is not a whole number of bytes from 4096 to 1073741824`,
      );
    }
    const h = this.open();
    rethrown(() => h.watch(size ?? 0));
  }

  /** The notifications received since the last call (watch() first); never waits. */
  events(): { events: NftEvent[]; overflow: boolean } {
    const h = this.open();
    return rethrown(() => h.events());
  }

  counters(): { messages: number; sendmsgCalls: number } {
    return this.open().counters();
  }

  close(): void {
    this.native?.close();
    this.native = undefined;
  }

  private open(): NativeNftHandle {
    if (!this.native) throw new NetlinkError('the nftables handle is closed', { errno: 9, code: 'EBADF' });
    return this.native;
  }

  private check(
    ops: readonly NftOperation[],
    options: NftApplyOptions,
    result: NativeNftResult,
  ): NftApplyResult {
    const out: NftApplyResult = {
      count: result.count,
      messages: result.messages,
      failures: result.batchFailure ? [result.batchFailure, ...result.failures] : result.failures,
      created: result.created,
      generation: result.generation,
      sendmsgCalls: result.sendmsgCalls,
    };
    if (result.lost) {
      throw new NetlinkError(
        'the kernel answers to the nftables batch overflowed the receive buffer: whether it was applied is unknown; read the ruleset back',
        { errno: 105, code: 'ENOBUFS' },
      );
    }
    if (result.batchFailure) {
      const f = result.batchFailure;
      throw new NetlinkError(
        `the nftables batch was refused: ${batchReason(f, options)}; nothing was applied`,
        {
          errno: f.errno,
          code: f.code,
          kernelMessage: f.message,
          failures: out.failures,
        },
      );
    }
    const [first] = result.failures;
    if (!first || options.throwOnFailure === false) return out;
    const op = ops[first.index];
    const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more failed)` : '';
    throw new NftablesError(
      `${op ? describeNft(op) : 'the batch'} (operation ${first.index}) failed: ${first.code} (${first.description})` +
        `${first.message ? `: ${first.message}` : ''}${more}; nothing of the batch was applied`,
      {
        errno: first.errno,
        code: first.code,
        kernelMessage: first.message,
        index: first.index,
        nftOperation: op,
        failures: result.failures,
      },
    );
  }
}

function nativeOptions(options: NftApplyOptions): object {
  return {
    echo: options.echo ?? false,
    ...(options.generation !== undefined ? { generation: options.generation } : {}),
  };
}

function batchReason(f: OperationFailure, options: NftApplyOptions): string {
  if (f.code === 'ERESTART')
    return `the ruleset moved on from generation ${options.generation} (read it again)`;
  if (f.code === 'EPERM') return 'no permission (CAP_NET_ADMIN in the namespace is needed)';
  if (f.code === 'ENOTSUP' || f.code === 'EOPNOTSUPP')
    return 'this kernel has no nf_tables (CONFIG_NF_TABLES, module nf_tables)';
  return `${f.code} (${f.description})${f.message ? `: ${f.message}` : ''}`;
}

/** Native errors carry errno and code: made NetlinkErrors (TypeErrors pass through). */
function asNetlinkError(e: unknown): unknown {
  if (e instanceof TypeError || e instanceof NetlinkError || !(e instanceof Error)) return e;
  const { errno, code } = e as Error & { errno?: number; code?: string };
  if (errno === undefined) return e;
  let message = e.message;
  if (code === 'EPROTONOSUPPORT') message += ' (this kernel has no nfnetlink: CONFIG_NETFILTER_NETLINK)';
  return new NetlinkError(message, { errno, code: code ?? '' });
}

function rethrown<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asNetlinkError(e);
  }
}

/** "add rule inet netqos pods", for messages. */
export function describeNft(op: NftOperation): string {
  const named = (o: { name?: string; handle?: number }) => o.name ?? `handle ${o.handle}`;
  if ('table' in op) return `${op.op} table ${op.table.family} ${named(op.table)}`;
  if ('chain' in op) return `${op.op} chain ${op.chain.family} ${op.chain.table} ${named(op.chain)}`;
  if ('rule' in op) {
    const r = op.rule;
    return `${op.op} rule ${r.family} ${r.table} ${r.chain}${r.handle !== undefined ? ` handle ${r.handle}` : ''}`;
  }
  if ('set' in op) return `${op.op} set ${op.set.family} ${op.set.table} ${named(op.set)}`;
  const e = op.elements;
  const n = e.items.length;
  return `${op.op} ${n} element${n === 1 ? '' : 's'} of set ${e.family} ${e.table} ${e.set}`;
}

/** Opens an nf_tables handle in a network namespace (default: this process's). */
export function openNftables(options: NftOpenOptions = {}): NftablesHandle {
  return new NftablesHandle(options);
}
