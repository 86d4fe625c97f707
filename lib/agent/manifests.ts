// Pod source: a directory of Pod manifests (YAML or JSON, any number of documents or a List per
// file), followed with fs.watch and a periodic rescan as a safety net (fs.watch misses events on
// some filesystems, and a directory that is replaced stops being watched).
//
// A file that cannot be read or parsed keeps the pods it had (an editor may be half-way through
// writing it), and marks the source incomplete so the agent clears nothing it cannot account for.
import * as fs from 'fs';
import * as path from 'path';
import type { Logger } from 'pino';
import { ManifestError, podsFromManifest } from '../manifest';
import {
  fingerprint,
  makePod,
  type AgentPod,
  type InterfaceRule,
  type PodSource,
  type SourceListener,
} from './pods';

const MANIFEST = /\.(ya?ml|json)$/i;

interface FileEntry {
  signature: string;
  pods: AgentPod[];
  error?: string;
}

export interface ManifestSourceOptions {
  dir: string;
  rule: InterfaceRule;
  logger: Logger;
  /** Collects fs.watch bursts (ms, default 50). */
  debounceMs?: number;
  /** The safety-net rescan (ms, default 5000). */
  rescanMs?: number;
}

/** Skips hidden files (Kubernetes' ..data links, editors' .swp) and backups. */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('~') && MANIFEST.test(name);
}

export class ManifestSource implements PodSource {
  readonly kind = 'manifests' as const;
  private readonly files = new Map<string, FileEntry>();
  private current: Map<string, AgentPod> | undefined;
  private listener: SourceListener | undefined;
  private watcher: fs.FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private stopped = false;
  private dirError: string | undefined;

  constructor(private readonly options: ManifestSourceOptions) {}

  async start(listener: SourceListener): Promise<void> {
    this.listener = listener;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.options.dir);
    } catch (e) {
      throw new Error(
        `the manifest directory ${this.options.dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`,
      );
    }
    if (!st.isDirectory()) throw new Error(`the manifest directory ${this.options.dir} is not a directory`);
    this.watch();
    this.scan();
    this.interval = setInterval(() => this.rescan(), this.options.rescanMs ?? 5000);
    this.interval.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.interval) clearInterval(this.interval);
  }

  pods(): ReadonlyMap<string, AgentPod> | undefined {
    return this.current;
  }

  complete(): boolean {
    return !this.dirError && [...this.files.values()].every((f) => !f.error);
  }

  rescan(): void {
    if (this.stopped) return;
    if (!this.watcher) this.watch();
    this.scan();
  }

  private watch(): void {
    try {
      this.watcher = fs.watch(this.options.dir, { persistent: false }, () => this.soon());
      this.watcher.on('error', (e) => {
        this.options.logger.warn(
          { dir: this.options.dir, err: e.message },
          'watching the manifest directory failed; rescanning periodically until it can be watched again',
        );
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.watcher = undefined;
      this.options.logger.warn(
        { dir: this.options.dir, err: (e as Error).message },
        'cannot watch the manifest directory; rescanning periodically',
      );
    }
  }

  private soon(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (!this.stopped) this.scan();
    }, this.options.debounceMs ?? 50);
  }

  /** Reads what changed since the last scan and tells the listener which pods changed. */
  private scan(): void {
    const { dir, logger } = this.options;
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter(isManifestName).sort();
      if (this.dirError) logger.info({ dir }, 'the manifest directory is readable again');
      this.dirError = undefined;
    } catch (e) {
      const message = (e as Error).message;
      if (this.dirError !== message)
        logger.error({ dir, err: message }, 'cannot read the manifest directory; keeping the pods it had');
      this.dirError = message;
      return;
    }
    let touched = this.current === undefined;
    const seen = new Set<string>();
    for (const name of names) {
      const file = path.join(dir, name);
      seen.add(file);
      let signature: string;
      try {
        const st = fs.statSync(file, { bigint: true });
        if (!st.isFile()) continue;
        signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      } catch {
        continue; // vanished between readdir and stat: the next scan sees it gone
      }
      const before = this.files.get(file);
      if (before?.signature === signature) continue;
      touched = true;
      this.files.set(file, this.load(file, signature, before));
    }
    for (const file of [...this.files.keys()]) {
      if (!seen.has(file)) {
        this.files.delete(file);
        touched = true;
      }
    }
    if (!touched) return;
    const next = new Map<string, AgentPod>();
    for (const [file, entry] of [...this.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const pod of entry.pods) {
        const other = next.get(pod.key);
        if (other) {
          logger.warn(
            { pod: pod.key, file, kept: other.source },
            'the same pod is in two manifests; the first file (by name) wins',
          );
          continue;
        }
        next.set(pod.key, pod);
      }
    }
    const previous = this.current;
    this.current = next;
    const changed: string[] = [];
    for (const [key, pod] of next) {
      const old = previous?.get(key);
      if (!old || fingerprint(old) !== fingerprint(pod)) changed.push(key);
    }
    for (const key of previous?.keys() ?? []) if (!next.has(key)) changed.push(key);
    if (previous === undefined) this.listener?.synced();
    else if (changed.length) this.listener?.changed(changed);
  }

  private load(file: string, signature: string, before: FileEntry | undefined): FileEntry {
    const { logger, rule } = this.options;
    try {
      const text = fs.readFileSync(file, 'utf8');
      const { pods } = podsFromManifest(file, text);
      const out: AgentPod[] = [];
      for (const p of pods) {
        if (!p.name) {
          logger.warn({ file }, 'a Pod without metadata.name is skipped');
          continue;
        }
        out.push(
          makePod({ namespace: p.namespace, name: p.name, annotations: p.annotations, source: file }, rule),
        );
      }
      if (before?.error) logger.info({ file }, 'the manifest is readable again');
      return { signature, pods: out };
    } catch (e) {
      const error = e instanceof ManifestError ? e.problems.join('; ') : (e as Error).message;
      logger.warn(
        { file, err: error, keeping: before?.pods.length ?? 0 },
        'cannot read the manifest; its pods stay as they were',
      );
      return { signature, pods: before?.pods ?? [], error };
    }
  }
}
