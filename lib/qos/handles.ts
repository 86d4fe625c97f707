// The handles the QoS calls open for themselves (for a namespace no handle is given for), kept
// per namespace between calls: opening a route and an nftables socket, and reading netqos's
// table again where one generation request says nothing changed, cost more than a single pod's
// whole read. A kept handle is reused only while the namespace its socket is in is the one the
// call's netns names now (its device and inode: a namespace deleted and made again under the
// same name gets a new handle), and it is closed after HANDLE_KEEP_MS unused (a socket keeps
// its namespace alive, a deleted one included), or at once after a call through it failed.
// Nothing else carries over: every call still resolves its interface names afresh.
import { openNetlink, type NetlinkHandle } from '../handle';

/** How long a handle stays open after the last call that used it. */
export const HANDLE_KEEP_MS = 2000;
/** Namespaces whose handles are kept at most (beyond: opened and closed per call, as before). */
const MAX_KEPT = 16;

interface Kept {
  handle: NetlinkHandle;
  /** The namespace its socket is in ("DEV:INO"). */
  nsKey: string;
  /** Calls using it now. */
  users: number;
  lastUsed: number;
  /** A call through it failed: closed once no call uses it, handed to none. */
  spoilt: boolean;
}

/** By the netns argument ('' for this process's namespace). */
const kept = new Map<string, Kept>();
let sweepTimer: NodeJS.Timeout | undefined;

export interface Borrowed {
  handle: NetlinkHandle;
  /** Gives the handle back; `failed`: the call through it threw, so it is not reused. */
  giveBack(failed: boolean): void;
}

/**
 * A handle on the namespace `netns` names ('' this process's), whose key (namespaceKey) the
 * caller has just found to be `nsKey`.
 */
export function borrowHandle(netns: string, nsKey: string): Borrowed {
  let k = kept.get(netns);
  if (k && (k.spoilt || k.nsKey !== nsKey)) {
    // Another namespace under that name now (or a failed handle): not reused, closed when idle.
    kept.delete(netns);
    k.spoilt = true;
    if (k.users === 0) k.handle.close();
    k = undefined;
  }
  if (!k) {
    const handle = openNetlink({ netns: netns || undefined });
    // Kept only when its socket is in the namespace the key names (not when the name was
    // pointed elsewhere between the caller's look and the opening) and there is room.
    if (nsKey.startsWith('path:') || handle.namespaceId() !== nsKey || kept.size >= MAX_KEPT)
      return { handle, giveBack: () => handle.close() };
    kept.set(netns, (k = { handle, nsKey, users: 0, lastUsed: 0, spoilt: false }));
  }
  const entry = k;
  entry.users++;
  let given = false;
  return {
    handle: entry.handle,
    giveBack(failed: boolean) {
      if (given) return;
      given = true;
      entry.users--;
      entry.lastUsed = Date.now();
      if (failed && !entry.spoilt) {
        entry.spoilt = true;
        if (kept.get(netns) === entry) kept.delete(netns);
      }
      if (entry.spoilt) {
        if (entry.users === 0) entry.handle.close();
        return;
      }
      sweepTimer ??= setTimeout(sweep, HANDLE_KEEP_MS).unref();
    },
  };
}

function sweep(): void {
  sweepTimer = undefined;
  const now = Date.now();
  for (const [netns, k] of kept) {
    if (k.users > 0 || now - k.lastUsed < HANDLE_KEEP_MS) continue;
    kept.delete(netns);
    k.handle.close();
  }
  if (kept.size) sweepTimer = setTimeout(sweep, HANDLE_KEEP_MS).unref();
}

/** Closes every kept handle no call uses now, as HANDLE_KEEP_MS would later. */
export function closeIdleHandles(): void {
  for (const [netns, k] of kept) {
    if (k.users > 0) continue;
    kept.delete(netns);
    k.handle.close();
  }
}
