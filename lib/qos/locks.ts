// Serialization of the QoS calls that change the kernel (applyQos, clearQos and their Sync twins).
//
// - In this process, per network namespace + interface: a FIFO per interface, a call waits until
//   it is first in the queue of every interface it changes, so two calls on one interface run one
//   after the other, in call order (the later call wins), and calls on different interfaces run
//   side by side. A blocking (Sync) call cannot wait for a Promise call (that one needs this very
//   thread to finish): it throws QosBusyError when any of its interfaces is taken or awaited.
// - Between processes, per network namespace: an flock(2) on /run/netqos/locks/netns-DEV-INO.lock
//   (the namespace file's device and inode), held from the read to the end of the batch, so
//   whichever process changes an interface last does so from a fresh read and its change is the
//   one that stays. The kernel drops the lock with its holder. Calls of this process share the
//   namespace lock they hold. Between calls the file stays open, unlocked, for the next call to
//   lock again (LOCK_KEEP_MS, or until the process exits; then this process unlinks it, under
//   the lock, unless another process has it locked). Whoever unlinks a file does so holding its
//   lock, so a process that got the lock on a file no longer at the path opens the current one
//   and tries again. Where the directory cannot be made (not root, a read-only /run), calls are
//   serialized within this process only.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../netlink/binding';
import { BoundedCache } from './bounded-cache';
import { QosBusyError } from './errors';

export type Release = () => void;

/** Where the namespace lock files live (NETQOS_LOCK_DIR overrides it). */
export const LOCK_DIR = process.env.NETQOS_LOCK_DIR || '/run/netqos/locks';
/** How long a call waits for another process's lock before giving up with QosBusyError. */
export const LOCK_WAIT_MS = 30_000;

interface Waiter {
  keys: readonly string[];
  grant: () => void;
  granted: boolean;
}

/** FIFO queues per key; a waiter runs once it heads the queue of each of its keys. */
class KeyedQueues {
  private readonly queues = new Map<string, Waiter[]>();

  /** Waits for every key; the release hands them on. Keys must be distinct. */
  acquire(keys: readonly string[]): Promise<Release> {
    return new Promise((resolve) => {
      const waiter: Waiter = { keys, granted: false, grant: () => resolve(() => this.release(waiter)) };
      for (const k of keys) {
        const q = this.queues.get(k);
        if (q) q.push(waiter);
        else this.queues.set(k, [waiter]);
      }
      this.grantIfFirst(waiter);
    });
  }

  /** Takes every key now, or returns the first key someone holds or waits for. */
  tryAcquire(keys: readonly string[]): Release | string {
    const busy = keys.find((k) => this.queues.has(k));
    if (busy !== undefined) return busy;
    const waiter: Waiter = { keys, granted: true, grant: () => {} };
    for (const k of keys) this.queues.set(k, [waiter]);
    return () => this.release(waiter);
  }

  private grantIfFirst(w: Waiter): void {
    if (w.granted || !w.keys.every((k) => this.queues.get(k)![0] === w)) return;
    w.granted = true;
    w.grant();
  }

  private release(w: Waiter): void {
    const next: Waiter[] = [];
    for (const k of w.keys) {
      const q = this.queues.get(k)!;
      q.shift();
      const [head] = q;
      if (head) next.push(head);
      else this.queues.delete(k);
    }
    for (const n of next) this.grantIfFirst(n);
  }
}

const interfaces = new KeyedQueues();

/**
 * Namespace lock files this process has open: the descriptor, the file it is (a holder may
 * unlink it meanwhile), how many calls hold the lock now (0: open but unlocked), and when the
 * last one gave it up.
 */
interface LockFile {
  fd: number;
  /** "DEV:INO" (see fileId). */
  id: string;
  users: number;
  lastUsed: number;
}
const held = new Map<string, LockFile>();
/** How long a lock file stays open after the last call that held it (then it is unlinked). */
export const LOCK_KEEP_MS = 2000;
let sweepTimer: NodeJS.Timeout | undefined;
let lockDirUsable: boolean | undefined;

function lockDir(): boolean {
  if (lockDirUsable === undefined) {
    try {
      fs.mkdirSync(path.dirname(LOCK_DIR), { recursive: true, mode: 0o755 });
      fs.mkdirSync(LOCK_DIR, { recursive: true, mode: 0o700 });
      fs.accessSync(LOCK_DIR, fs.constants.W_OK);
      lockDirUsable = true;
    } catch {
      lockDirUsable = false;
    }
  }
  return lockDirUsable;
}

const lockFiles = new BoundedCache<string, string>(1024);
function lockFile(nsKey: string): string {
  let file = lockFiles.get(nsKey);
  if (file === undefined)
    lockFiles.set(nsKey, (file = path.join(LOCK_DIR, `netns-${nsKey.replace(/[^0-9A-Za-z]/g, '-')}.lock`)));
  return file;
}

/** Whether the file at the path is still the one this descriptor has open. */
function stillThere(file: string, f: LockFile): boolean {
  return native().fileId(file) === f.id;
}

let exitHook = false;

/** Opens the namespace's lock file (made if need be), unlocked. */
function openLockFile(file: string): LockFile {
  // A process that ends within LOCK_KEEP_MS (a CLI, a CNI plugin) leaves no file behind.
  if (!exitHook) {
    exitHook = true;
    process.once('exit', closeIdleLockFiles);
  }
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    return { fd, id: `${st.dev}:${st.ino}`, users: 0, lastUsed: 0 };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** One attempt at the namespace's file lock: false when another process has it. */
function tryFileLock(nsKey: string): boolean {
  const file = lockFile(nsKey);
  for (;;) {
    let f = held.get(nsKey);
    if (f && f.users > 0) {
      f.users++;
      return true;
    }
    if (!f) held.set(nsKey, (f = openLockFile(file)));
    if (!native().tryLockFile(f.fd)) return false;
    // The previous holder may have unlinked the file since it was opened: lock the current one.
    let current = false;
    try {
      current = stillThere(file, f);
    } finally {
      if (!current) {
        held.delete(nsKey);
        fs.closeSync(f.fd);
      }
    }
    if (current) {
      f.users = 1;
      return true;
    }
  }
}

function unlockFile(nsKey: string): void {
  const f = held.get(nsKey)!;
  if (--f.users > 0) return;
  f.lastUsed = Date.now();
  try {
    native().unlockFile(f.fd);
  } catch (e) {
    closeLockFile(nsKey, f);
    throw e;
  }
  sweepTimer ??= setTimeout(sweepLockFiles, LOCK_KEEP_MS).unref();
}

/** Closes a lock file no call holds; unlinks it when no other process has it locked either. */
function closeLockFile(nsKey: string, f: LockFile): void {
  held.delete(nsKey);
  try {
    const file = lockFile(nsKey);
    if (native().tryLockFile(f.fd) && stillThere(file, f)) fs.unlinkSync(file);
  } catch {
    // Left in place: the next call locks it as it is.
  } finally {
    fs.closeSync(f.fd);
  }
}

/** Closes the lock files no call has held for LOCK_KEEP_MS. */
function sweepLockFiles(): void {
  sweepTimer = undefined;
  const now = Date.now();
  for (const [key, f] of held) if (f.users === 0 && now - f.lastUsed >= LOCK_KEEP_MS) closeLockFile(key, f);
  if ([...held.values()].some((f) => f.users === 0))
    sweepTimer = setTimeout(sweepLockFiles, LOCK_KEEP_MS).unref();
}

/** Closes (and unlinks) every lock file no call holds now, as LOCK_KEEP_MS would later. */
export function closeIdleLockFiles(): void {
  for (const [key, f] of held) if (f.users === 0) closeLockFile(key, f);
}

const busyElsewhere = (what: string) =>
  new QosBusyError(
    what,
    `another process has been changing this network namespace for over ${LOCK_WAIT_MS / 1000} s (lock files in ${LOCK_DIR}); nothing was sent`,
  );

/**
 * Takes the namespaces' locks in key order (the same order in every process: no deadlock),
 * sharing those this process holds. Yields how long to pause before trying again; returns the
 * release. On a throw (or a wait past LOCK_WAIT_MS) it gives back what it took.
 */
function* lockNamespaces(nsKeys: readonly string[], what: string): Generator<number, Release, void> {
  const namespaces = lockDir() ? [...new Set(nsKeys)].sort() : [];
  const taken: string[] = [];
  const release = () => {
    for (const k of taken.splice(0)) unlockFile(k);
  };
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    let pause = 1;
    for (const key of namespaces) {
      for (;;) {
        if (!tryFileLock(key)) {
          if (Date.now() > deadline) throw busyElsewhere(what);
          yield pause;
          pause = Math.min(pause * 2, 20);
          continue;
        }
        taken.push(key);
        break;
      }
    }
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

/** In-process keys: namespace + interface. */
const interfaceKeys = (nsKeys: readonly string[], ifnames: readonly string[]) => [
  ...new Set(ifnames.map((ifname, i) => `${nsKeys[i]}\0${ifname}`)),
];

const both =
  (first: Release, second: Release): Release =>
  () => {
    try {
      first();
    } finally {
      second();
    }
  };

/**
 * Serializes a Promise call on these interfaces (target i: ifnames[i] in namespace nsKeys[i]):
 * resolves with the release once this call may change them.
 */
export async function lockInterfaces(
  nsKeys: readonly string[],
  ifnames: readonly string[],
): Promise<Release> {
  const releaseInterfaces = await interfaces.acquire(interfaceKeys(nsKeys, ifnames));
  try {
    const steps = lockNamespaces(nsKeys, ifnames[0] ?? '');
    let step = steps.next();
    while (!step.done) {
      await new Promise((r) => setTimeout(r, step.value as number));
      step = steps.next();
    }
    return both(step.value, releaseInterfaces);
  } catch (e) {
    releaseInterfaces();
    throw e;
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The same for a blocking call: QosBusyError when a Promise call of this process has an interface. */
export function lockInterfacesSync(nsKeys: readonly string[], ifnames: readonly string[]): Release {
  const got = interfaces.tryAcquire(interfaceKeys(nsKeys, ifnames));
  if (typeof got === 'string') {
    throw new QosBusyError(
      got.slice(got.indexOf('\0') + 1),
      'an unfinished applyQos or clearQos (Promise) of this process is changing this interface, and a blocking call cannot wait for it: nothing was sent, try again',
    );
  }
  try {
    const steps = lockNamespaces(nsKeys, ifnames[0] ?? '');
    let step = steps.next();
    while (!step.done) {
      sleepSync(step.value as number);
      step = steps.next();
    }
    return both(step.value, got);
  } catch (e) {
    got();
    throw e;
  }
}
