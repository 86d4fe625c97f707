// The agent's hold on the pods' network namespace: its handles, and which namespace they are in.
//
// A netlink socket keeps its namespace alive: when `ip netns del` removes the name, the kernel
// tells the socket nothing, and the agent would go on reading and shaping a namespace nobody else
// can reach any more (its interfaces live on while the agent holds it), and never see the one
// created under the same name afterwards. So the namespace's identity (the nsfs file's device and
// inode, which is the namespace's own) is taken when the handles are opened and compared with
// what the name points at now.
import * as fs from 'fs';
import { openNetlink, type NetlinkHandle } from '../handle';

export interface NamespaceId {
  dev: bigint;
  ino: bigint;
}

/** The file a --netns value names: a name under /var/run/netns, or a path (as the engine reads it). */
export function namespacePath(netns: string): string {
  return netns.includes('/') ? netns : `/var/run/netns/${netns}`;
}

/** What `netns` points at now; throws (with the errno's code) when it cannot be reached. */
export function namespaceId(netns: string): NamespaceId {
  const st = fs.statSync(namespacePath(netns), { bigint: true });
  return { dev: st.dev, ino: st.ino };
}

export const sameNamespace = (a: NamespaceId, b: NamespaceId) => a.dev === b.dev && a.ino === b.ino;

/** The handles the reconciler works through, on one namespace. */
export interface Connection {
  /** Reads and changes (a watching handle). */
  handle: NetlinkHandle;
  /** Statistics for /metrics and the link check, on a socket of its own. */
  stats: NetlinkHandle;
  /** The namespace they are in (undefined: this process's own, which cannot go away). */
  id?: NamespaceId;
}

/**
 * Opens the handles in `netns` (undefined: this process's namespace) and records which namespace
 * they are in: the name is looked up before and after opening, and must name the same namespace
 * both times (else it changed meanwhile, and the handles are opened again).
 */
export function connect(netns: string | undefined, open = openNetlink): Connection {
  if (netns === undefined) {
    const handle = open();
    try {
      return { handle, stats: open() };
    } catch (e) {
      handle.close();
      throw e;
    }
  }
  for (let attempt = 0; ; attempt++) {
    const before = namespaceId(netns);
    const handle = open({ netns });
    let stats: NetlinkHandle;
    try {
      stats = open({ netns });
    } catch (e) {
      handle.close();
      throw e;
    }
    let after: NamespaceId | undefined;
    try {
      after = namespaceId(netns);
    } catch {
      after = undefined;
    }
    if (after && sameNamespace(before, after)) return { handle, stats, id: after };
    handle.close();
    stats.close();
    if (attempt >= 2)
      throw new Error(
        `network namespace "${netns}" (${namespacePath(netns)}) kept changing while it was opened`,
      );
  }
}

/**
 * Why `conn` no longer reaches the namespace `netns` names (deleted, or replaced by another under
 * the same name), or undefined while it does.
 */
export function lostReason(netns: string | undefined, conn: Connection): string | undefined {
  if (netns === undefined || !conn.id) return undefined;
  const file = namespacePath(netns);
  let now: NamespaceId;
  try {
    now = namespaceId(netns);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `network namespace "${netns}" was deleted (${file} no longer exists)`
      : `network namespace "${netns}" cannot be checked (${file}): ${(e as Error).message}`;
  }
  return sameNamespace(now, conn.id)
    ? undefined
    : `network namespace "${netns}" was replaced: ${file} now names another namespace`;
}

/** Whether `netns` names something now (a namespace to try to open again). */
export function namespaceExists(netns: string): boolean {
  try {
    namespaceId(netns);
    return true;
  } catch {
    return false;
  }
}
