// The CNI verbs that touch the kernel. Every change goes through the QoS library (one read, one
// diff, one atomic batch), on the host-side interface of the pod, in the namespace the plugin was
// run in (runtimes run plugins in the host's): this process's, or, for the resident server
// (server.ts), the one its client runs in (`hostNetns`). Loaded only after the configuration is
// valid.
import { openNetlink, type NetlinkHandle } from '../handle';
import { summarizeOperation } from '../netlink/describe';
import { NetlinkError } from '../netlink/errors';
import type { LinkState } from '../netlink/link/link';
import { applyQosSync, clearQosSync, planQos, readQos, type QosStatus } from '../qos/qos';
import { QosConflictError } from '../qos/reconcile';
import { describeQosNftOperation } from '../qos/describe';
import { collectNftOrphansSync } from '../qos/nft-orphans';
import { AnnotationError } from '../qos/annotations';
import { ifbNameFor, isNetqosIfbName, isValidInterfaceName } from '../qos/naming';
import type { Invocation, PluginConfig, PrevResult, CniInterface } from './config';
import { CNI_CODE, CniError, NETQOS_CODE, internalError } from './errors';
import { listRecords, readRecord, removeRecord, writeRecord, type AttachmentRecord } from './records';

export type Log = (line: string) => void;

/** Where the verbs run. */
export interface Context {
  /** The node-side network namespace (a path); undefined: this process's. */
  hostNetns?: string;
  /** An open handle on that namespace, used and left open (the server's own namespace's). */
  host?: NetlinkHandle;
}

/** The node-side handle and how to let it go (closed when opened here). */
function openHost(ctx: Context): { host: NetlinkHandle; release(): void } {
  if (ctx.host) return { host: ctx.host, release: () => {} };
  const host = openNetlink(ctx.hostNetns ? { netns: ctx.hostNetns } : {});
  return { host, release: () => host.close() };
}

/** Any failure below -> a CNI error with the spec's or netqos's code. */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof QosConflictError)
    return new CniError(NETQOS_CODE.CONFLICT, "conflict with another tool's traffic control", e.message);
  if (e instanceof AnnotationError)
    return new CniError(
      CNI_CODE.INVALID_CONFIG,
      'invalid QoS configuration',
      e.problems.map((p) => p.message).join('\n'),
    );
  if (e instanceof NetlinkError) {
    const transient = e.code === 'EBUSY' || e.code === 'EAGAIN';
    const words =
      e.kernelMessage && !e.message.includes(e.kernelMessage)
        ? `${e.message} (kernel: ${e.kernelMessage})`
        : e.message;
    return new CniError(
      transient ? CNI_CODE.TRY_AGAIN_LATER : NETQOS_CODE.KERNEL,
      'the kernel refused the change',
      words,
    );
  }
  if (isInvalidArgument(e))
    return new CniError(
      CNI_CODE.INVALID_CONFIG,
      'the configuration asks for values the kernel cannot hold',
      e.message,
    );
  return internalError(e);
}

/** The engine's refusal of a value before anything is sent (a TypeError with this code). */
const isInvalidArgument = (e: unknown): e is Error =>
  e instanceof Error && (e as NodeJS.ErrnoException).code === 'ERR_NETQOS_INVALID_ARGUMENT';

function openContainer(netns: string): NetlinkHandle {
  try {
    return openNetlink({ netns });
  } catch (e) {
    if (e instanceof NetlinkError || isInvalidArgument(e)) {
      throw new CniError(
        CNI_CODE.INVALID_ENVIRONMENT,
        `CNI_NETNS ${netns} is not a network namespace`,
        e.message,
      );
    }
    throw e;
  }
}

/**
 * The pod's host-side interface, found as the reference plugin finds it: the container
 * interface's veth peer index, looked up in this namespace, and required to be one of
 * prevResult's host interfaces (those without a sandbox). Also checks that the host link is a
 * veth whose own peer is the container interface, so an index that merely exists here (indexes
 * are per namespace) is never taken for the peer.
 */
export function hostInterface(
  inv: Invocation,
  prev: PrevResult | undefined,
  host: NetlinkHandle,
  hostLinks?: LinkState[],
): LinkState {
  const c = openContainer(inv.netns!);
  let clink: LinkState | undefined;
  try {
    // One link asked for, not every link listed: a node's namespace may hold thousands.
    clink = isValidInterfaceName(inv.ifname!) ? c.dumpSync({ type: 'link', dev: inv.ifname! })[0] : undefined;
  } finally {
    c.close();
  }
  if (!clink)
    throw new CniError(
      NETQOS_CODE.INTERFACE,
      `container interface ${inv.ifname} not found`,
      `in ${inv.netns}`,
    );
  if (clink.kind !== 'veth' || !clink.linkIndex) {
    throw new CniError(
      NETQOS_CODE.INTERFACE,
      `container interface ${inv.ifname} has no veth peer`,
      `it is ${clink.kind ?? 'of no kind'}; netqos shapes veth-based attachments (ptp, bridge, ...)`,
    );
  }
  const peer = hostLinks
    ? hostLinks.find((l) => l.index === clink!.linkIndex)
    : host.dumpSync({ type: 'link', dev: clink.linkIndex })[0];
  if (!peer || peer.kind !== 'veth' || peer.linkIndex !== clink.index) {
    throw new CniError(
      NETQOS_CODE.INTERFACE,
      `veth peer with index ${clink.linkIndex} is not in this network namespace`,
      'runtimes run CNI plugins in the host network namespace, where the veth peer is',
    );
  }
  if (prev) {
    const hostIfs = (prev.interfaces ?? []).filter((i) => !i.sandbox).map((i) => i.name);
    if (!hostIfs.includes(peer.name)) {
      throw new CniError(
        NETQOS_CODE.INTERFACE,
        'no veth peer of container interface found in prevResult',
        `the peer of ${inv.ifname} is ${peer.name}; prevResult's host interfaces: ${hostIfs.join(', ') || 'none'}`,
      );
    }
  }
  return peer;
}

/** "ead4cd3d3daa" (as the engine reads it back) -> "ea:d4:cd:3d:3d:aa" (as CNI results carry it). */
export function macAddress(address: string): string {
  return /^[0-9a-f]+$/i.test(address) && address.length % 2 === 0
    ? address.toLowerCase().match(/../g)!.join(':')
    : address;
}

/**
 * ADD: make the host-side interface match the configuration (idempotent: a repeated ADD sends
 * only the difference, nothing when it matches), record the attachment, and pass prevResult on
 * with the IFB netqos shapes the pod's egress on.
 */
export function add(inv: Invocation, config: PluginConfig, ctx: Context = {}): PrevResult {
  const { host, release } = openHost(ctx);
  try {
    const peer = hostInterface(inv, config.prevResult, host);
    const ifbName = ifbNameFor(peer.name);
    const shapesEgress = !!config.spec.egress.bandwidth;
    // The record first: an attachment netqos could not record would be one DEL (without the
    // pod's namespace) and GC cannot find, so ADD fails before the kernel is touched.
    const record: AttachmentRecord = {
      version: 1,
      network: config.name,
      containerID: inv.containerId!,
      ifname: inv.ifname!,
      netns: inv.netns,
      hostIfname: peer.name,
      hostIfindex: peer.index,
      ...(shapesEgress ? { ifb: ifbName } : {}),
    };
    let created: boolean;
    try {
      created = writeRecord(config.dataDir, record);
    } catch (e) {
      throw new CniError(
        CNI_CODE.IO_FAILURE,
        `cannot record the attachment in ${config.dataDir}`,
        `${(e as Error).message}; nothing was changed`,
      );
    }
    try {
      const handles = new Map([['', host]]);
      applyQosSync([{ ifname: peer.name, annotations: config.annotations }], {
        mode: config.mode,
        profile: config.profile,
        dataplane: config.dataplane,
        handles,
      }); // its warnings were logged when the configuration was read
    } catch (e) {
      // The batch was rolled back: the record goes too, unless an earlier ADD's is still true.
      if (created) removeRecordQuietly(config, inv);
      throw e;
    }
    let ifb: CniInterface | undefined;
    if (shapesEgress) {
      const [link] = host.dumpSync({ type: 'link', dev: ifbName });
      ifb = { name: ifbName, ...(link?.address ? { mac: macAddress(link.address) } : {}) };
    }
    const prev = config.prevResult!;
    const out: PrevResult = { ...prev, cniVersion: config.cniVersion };
    if (prev.interfaces || ifb) {
      out.interfaces = (prev.interfaces ?? []).filter((i) => i.sandbox || i.name !== ifbName);
      if (ifb) out.interfaces.push(ifb);
    }
    return out;
  } finally {
    release();
  }
}

function removeRecordQuietly(
  config: Pick<PluginConfig, 'name' | 'dataDir'>,
  inv: Invocation,
): string | undefined {
  try {
    removeRecord(config.dataDir, config.name, inv.containerId!, inv.ifname!);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Removes netqos's objects from one host interface, or its IFB when the interface is gone. */
function clearInterface(host: NetlinkHandle, links: LinkState[], ifname: string, log: Log): void {
  const handles = new Map([['', host]]);
  if (links.some((l) => l.name === ifname)) {
    try {
      const r = clearQosSync([{ ifname }], { handles });
      if (r.sent) log(`netqos: removed ${r.sent} object(s) from ${ifname}`);
      return;
    } catch (e) {
      // The interface went away meanwhile (a namespace being torn down takes its veth pair with
      // it a moment later): only its IFB can be left.
      const vanished =
        e instanceof QosConflictError ||
        (e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT'));
      if (!vanished) throw e;
      links = host.dumpSync({ type: 'link' });
      if (links.some((l) => l.name === ifname)) throw e;
    }
  }
  // Its nftables chains (any other interface's that is gone too) go by their interface index.
  const orphans = collectNftOrphansSync(host);
  if (orphans.chains.length)
    log(`netqos: ${ifname} is gone; deleted nftables chains ${orphans.chains.join(', ')}`);
  const ifb = ifbNameFor(ifname);
  if (!links.some((l) => l.name === ifb)) return;
  try {
    host.applySync([{ op: 'delete', link: { name: ifb } }]);
    log(`netqos: ${ifname} is gone; deleted its IFB ${ifb}`);
  } catch (e) {
    if (!(e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT'))) throw e;
  }
}

/**
 * DEL: remove everything netqos made for the attachment; success when it is already gone. The
 * host interface comes from the pod's namespace when it still exists (prevResult not needed),
 * else from ADD's record, else from prevResult's host veths. A host interface that is gone
 * (the namespace was deleted first, taking the veth pair with it) leaves only its IFB, deleted by
 * its derived name.
 */
export function del(
  inv: Invocation,
  config: Pick<PluginConfig, 'name' | 'dataDir' | 'prevResult'>,
  log: Log,
  ctx: Context = {},
): void {
  const { host, release } = openHost(ctx);
  try {
    const links = host.dumpSync({ type: 'link' });
    let discovered: string | undefined;
    if (inv.netns) {
      try {
        discovered = hostInterface(inv, undefined, host, links).name;
      } catch (e) {
        if (!(e instanceof CniError)) throw e;
        log(`netqos: DEL: ${e.message} (falling back to the record and prevResult)`);
      }
    }
    const record = readRecord(config.dataDir, config.name, inv.containerId!, inv.ifname!);
    const names = new Set<string>();
    if (discovered) names.add(discovered);
    if (record) {
      const live = links.find((l) => l.name === record.hostIfname);
      // Gone: its IFB may be left. Alive with another index, or not the discovered peer: someone
      // else's now.
      if (!live || (!discovered && live.index === record.hostIfindex)) names.add(record.hostIfname);
    }
    if (!discovered && !record) {
      const listed = Array.isArray(config.prevResult?.interfaces) ? config.prevResult!.interfaces : [];
      for (const i of listed) {
        if (!i || typeof i.name !== 'string' || i.sandbox) continue;
        const live = links.find((l) => l.name === i.name);
        if (!live || live.kind === 'veth') names.add(i.name);
      }
    }
    for (const name of names) clearInterface(host, links, name, log);
    // What netqos made is gone: a record that cannot be removed is no reason to fail DEL (the
    // runtime would retry it forever). It names an interface that is gone or someone else's
    // now, which GC and a later ADD check before acting on it.
    const left = removeRecordQuietly(config, inv);
    if (left) log(`netqos: warning: cannot remove the attachment's record: ${left}`);
  } finally {
    release();
  }
}

function summary(s: QosStatus | undefined): string {
  if (!s) return 'nothing';
  const dir = (name: string, d: QosStatus['ingress']) =>
    d.bandwidth || d.packetRate
      ? `${name} ${d.bandwidth ? `${d.bandwidth} bit/s burst ${d.burst} B limit ${d.limit} B` : ''}${d.packetRate ? ` ${d.packetRate} pkt/s` : ''}`
      : `${name} none`;
  return `${dir('ingress', s.ingress)}; ${dir('egress', s.egress)}${s.egress.ifb ? ` (IFB ${s.egress.ifb})` : ''}${s.egress.dscp !== undefined ? ` dscp ${s.egress.dscp}` : ''}`;
}

/** CHECK: the kernel matches the configuration when ADD would send nothing. */
export async function check(inv: Invocation, config: PluginConfig, ctx: Context = {}): Promise<void> {
  const { host, release } = openHost(ctx);
  try {
    const peer = hostInterface(inv, config.prevResult, host);
    const handles = new Map([['', host]]);
    const target = { ifname: peer.name, annotations: config.annotations };
    const plan = await planQos([target], {
      mode: config.mode,
      profile: config.profile,
      dataplane: config.dataplane,
      handles,
    });
    const [planned] = plan.targets; // one target, one plan
    if (!planned) throw internalError(new Error(`planQos returned no plan for ${peer.name}`));
    const { operations: ops, nftables: nft } = planned;
    if (ops.length + nft.length === 0) return;
    const [status] = await readQos([{ ifname: peer.name }], { handles });
    throw new CniError(
      NETQOS_CODE.CHECK_MISMATCH,
      `traffic control on ${peer.name} differs from the configuration`,
      `ADD would: ${[...ops.map(summarizeOperation), ...nft.map(describeQosNftOperation)].join('; ')}. In force: ${summary(status)}`,
    );
  } finally {
    release();
  }
}

/**
 * GC: (1) every attachment ADD recorded for this network that is not in the runtime's valid
 * list: its netqos objects are removed (or its IFB, when the interface is gone) and the record;
 * (2) every netqos IFB ("nqifb" + 10 hex digits) in this namespace whose host interface no longer
 * exists: an IFB's name derives from its interface's, and nothing can redirect to an IFB whose
 * interface is gone; (3) netqos's nftables chains of interfaces that are gone (by index). Objects
 * on a live interface without a record are left alone: nothing says whose they are. Does as much
 * as it can, then reports the first failure.
 */
export function gc(
  config: Pick<PluginConfig, 'name' | 'dataDir'>,
  valid: { containerID: string; ifname: string }[] | undefined,
  log: Log,
  ctx: Context = {},
): void {
  const { host, release } = openHost(ctx);
  const failures: string[] = [];
  try {
    let links = host.dumpSync({ type: 'link' });
    if (valid) {
      const key = (containerID: string, ifname: string) => `${containerID}\0${ifname}`;
      const validKeys = new Set(valid.map((a) => key(a.containerID, a.ifname)));
      const records = listRecords(config.dataDir, config.name);
      const claimed = new Set(
        records.filter((r) => validKeys.has(key(r.containerID, r.ifname))).map((r) => r.hostIfname),
      );
      for (const r of records) {
        if (validKeys.has(key(r.containerID, r.ifname))) continue;
        try {
          const live = links.find((l) => l.name === r.hostIfname);
          if (!live || (live.index === r.hostIfindex && !claimed.has(r.hostIfname)))
            clearInterface(host, links, r.hostIfname, log);
          removeRecord(config.dataDir, config.name, r.containerID, r.ifname);
          log(`netqos: GC: removed stale attachment ${r.containerID}/${r.ifname} (${r.hostIfname})`);
        } catch (e) {
          failures.push(`${r.containerID}/${r.ifname}: ${(e as Error).message}`);
        }
      }
      links = host.dumpSync({ type: 'link' });
    }
    const derived = new Set(links.filter((l) => !isNetqosIfbName(l.name)).map((l) => ifbNameFor(l.name)));
    for (const l of links) {
      if (!isNetqosIfbName(l.name) || derived.has(l.name)) continue;
      try {
        host.applySync([{ op: 'delete', link: { name: l.name } }]);
        log(`netqos: GC: deleted orphan IFB ${l.name}`);
      } catch (e) {
        if (!(e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT')))
          failures.push(`${l.name}: ${(e as Error).message}`);
      }
    }
    try {
      const orphans = collectNftOrphansSync(host);
      if (orphans.chains.length)
        log(`netqos: GC: deleted orphan nftables chains ${orphans.chains.join(', ')}`);
    } catch (e) {
      failures.push(`nftables: ${(e as Error).message}`);
    }
  } finally {
    release();
  }
  if (failures.length)
    throw new CniError(
      NETQOS_CODE.KERNEL,
      `GC could not remove ${failures.length} item(s)`,
      failures.join('; '),
    );
}

/** STATUS: the engine loads and the kernel answers a link dump in this namespace. */
export function status(ctx: Context = {}): void {
  try {
    const { host, release } = openHost(ctx);
    try {
      host.dumpSync({ type: 'link' });
    } finally {
      release();
    }
  } catch (e) {
    throw new CniError(
      CNI_CODE.NOT_AVAILABLE,
      'netqos cannot program traffic control here',
      (e as Error).message,
    );
  }
}
