// Everything the lab creates outside itself, so it can all be undone: network namespaces (by
// name) and child processes (by pid). Undone in a finally block, on SIGINT/SIGTERM and, as a last
// resort, on process exit; each step is idempotent.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'child_process';
import { existsSync } from 'fs';

/** Runs `ip ARGS...`, bounded in time; throws with ip's own message on failure. */
export function ip(args: readonly string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr || err.message).trim()}`);
  }
}

export class Resources {
  /** Namespaces created (or being created), in creation order. */
  readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  /** Processes started so far. */
  started = 0;

  /** Starts a process and tracks it until it exits. */
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
    const child = spawn(command, args, options);
    this.started++;
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** `ip netns add NAME`, tracked before it exists so a half-made namespace is removed too. */
  addNamespace(name: string): void {
    this.namespaces.push(name);
    ip(['netns', 'add', name]);
  }

  /** SIGKILL to one process by its pid, unless it has already exited. */
  kill(child: ChildProcess): void {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** SIGKILL to every process still running. */
  killAll(): void {
    for (const child of this.children) this.kill(child);
  }

  /** Started processes not reaped yet. */
  get running(): number {
    return this.children.size;
  }

  /**
   * Removes the namespaces (newest first); returns those that could not be removed. A namespace
   * whose last `ip netns exec` child is still exiting is busy for a moment (its mount is held in
   * that child's mount namespace), so removal is retried for up to 5 s.
   */
  removeNamespacesSync(): string[] {
    const failed: string[] = [];
    while (this.namespaces.length) {
      const name = this.namespaces.pop()!;
      const file = `/run/netns/${name}`;
      for (let attempt = 0; existsSync(file) && attempt < 20; attempt++) {
        if (attempt) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
        try {
          execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
        } catch {
          /* busy or already gone: the file says which */
        }
      }
      if (existsSync(file)) failed.push(name);
    }
    return failed;
  }

  /** Kills every process, waits (briefly) until they are reaped, then removes the namespaces. */
  async release(
    options: { keepNamespaces?: boolean } = {},
  ): Promise<{ removed: string[]; failed: string[] }> {
    this.killAll();
    const deadline = Date.now() + 3000;
    while (this.children.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (options.keepNamespaces) return { removed: [], failed: [] };
    const names = [...this.namespaces];
    const failed = this.removeNamespacesSync();
    return { removed: names.filter((n) => !failed.includes(n)), failed };
  }

  /** For signal and exit handlers: no waiting, no promises. */
  releaseSync(options: { keepNamespaces?: boolean } = {}): void {
    this.killAll();
    if (!options.keepNamespaces) this.removeNamespacesSync();
  }
}

/** The lab was stopped by a signal (Ctrl-C or SIGTERM). */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** Throws the abort reason when the signal has fired. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
}

/** setTimeout as a promise that rejects early when `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
