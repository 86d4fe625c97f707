// Loads the native engine. A failure lists every path tried and how to build it.
import * as fs from 'fs';
import * as path from 'path';
import { NativeEngineMissingError } from '../errors';
import { NetlinkError } from './errors';
import type { TcEvent } from './mirror';
import { unpackRecords } from './records';

export interface NativeBatchResult {
  count: number;
  /** message: the kernel's extended-ack text (may be empty); description: strerror(errno). */
  failures: { index: number; errno: number; code: string; message: string; description: string }[];
  warnings: { index: number; message: string }[];
  sendmsgCalls: number;
}

export interface NativeHandle {
  /** known: [name, index, name, index, ...] the caller vouches for (not looked up again). */
  apply(ops: readonly object[], known?: readonly (string | number)[]): Promise<NativeBatchResult>;
  applySync(ops: readonly object[], known?: readonly (string | number)[]): NativeBatchResult;
  dump(requests: readonly object[]): Promise<Record<string, unknown>[][]>;
  dumpSync(requests: readonly object[]): Record<string, unknown>[][];
  close(): void;
  counters(): { messages: number; sendmsgCalls: number };
  /** The namespace the socket is in: "DEV:INO" of its namespace file ("" when unknown). */
  namespaceId(): string;
  /** Subscribes to the namespace's link and tc notifications (buffer in bytes; 0: 64 MiB). */
  watch(receiveBuffer?: number): void;
  /** The notifications received since the last call, decoded; never waits. */
  events(): { events: TcEvent[]; overflow: boolean };
}

export interface NativeAddon {
  Handle: new (netns?: string) => NativeHandle;
  encode(ops: readonly object[]): Buffer[];
  setErrorClass(cls: typeof NetlinkError): void;
  /** How the addon turns decoded objects into JavaScript ones (records.ts). */
  setRecordReader(reader: typeof unpackRecords): void;
  tickInUsec(): number;
  /** The kinds the engine's registry holds, by family. */
  kinds(): { qdisc: string[]; class: string[]; filter: string[]; action: string[] };
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. */
  tryLockFile(fd: number): boolean;
  /** flock(fd, LOCK_UN): the lock given up, the file left open. */
  unlockFile(fd: number): boolean;
  /** "DEV:INO" of the file at the path (links followed), null when it cannot be read. */
  fileId(path: string): string | null;
}

let addon: NativeAddon | undefined;

/** The package root: lib/netlink under ts-jest, dist/lib/netlink once compiled. */
export function packageRoot(): string {
  let dir = path.resolve(__dirname, '..', '..');
  if (path.basename(dir) === 'dist') dir = path.dirname(dir);
  return dir;
}

/**
 * A binary scripts/prebuild.sh made for this platform and C library, named as node-gyp-build
 * (the install script, which compiles only when no prebuild loads) expects:
 * prebuilds/linux-x64/netqos.napi.glibc.node, prebuilds/linux-x64/netqos-cni.glibc.
 */
export function prebuiltFile(base: string, extension = '', root = packageRoot()): string {
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, `${base}.${libc}${extension}`);
}

/** Where the engine may be, in the order tried: a build from source, then the prebuilt one. */
export function addonCandidates(root = packageRoot()): string[] {
  return [
    path.join(root, 'build', 'Release', 'netqos.node'),
    path.join(root, 'build', 'Debug', 'netqos.node'),
    prebuiltFile('netqos.napi', '.node', root),
  ];
}

/** The engine, loaded once. Throws NativeEngineMissingError when no candidate loads. */
export function native(): NativeAddon {
  return (addon ??= loadAddon());
}

/**
 * Loads the first of `candidates` that loads. One require() per candidate: the usual place
 * (build/Release in a checkout, the prebuild in an installed package) costs no directory search.
 */
export function loadAddon(candidates = addonCandidates()): NativeAddon {
  const tried: string[] = [];
  for (const file of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon
      const loaded = require(file) as NativeAddon;
      ready(loaded);
      return loaded;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      tried.push(`${file}: ${e.code === 'MODULE_NOT_FOUND' ? 'not found' : e.message}`);
    }
  }
  throw new NativeEngineMissingError(engineMissing(tried), tried);
}

/** The message when no candidate loads: each path with why, then what to install or build. */
export function engineMissing(tried: readonly string[]): string {
  const lines = [
    'netqos: cannot load the native engine (netqos.node). Tried:',
    ...tried.map((t) => `  ${t}`),
  ];
  const why = tried.join('\n');
  if (/libmnl\.so/.test(why))
    lines.push(
      'It needs the C library libmnl: apt-get install libmnl0 (Debian, Ubuntu), ' +
        'dnf install libmnl (Fedora), apk add libmnl (Alpine).',
    );
  if (/GLIBC_|GLIBCXX_/.test(why))
    lines.push(
      'The prebuilt engine needs glibc 2.34 or later (Debian 12, Ubuntu 22.04, RHEL 9); build it here.',
    );
  lines.push(
    'To build it from source: `npm_config_build_from_source=true npm rebuild netqos`, with a C++ compiler, make, ' +
      "python3, pkg-config and libmnl's headers (Debian/Ubuntu: apt-get install build-essential " +
      'python3 pkg-config libmnl-dev; Fedora: dnf install gcc-c++ make python3 pkgconf-pkg-config ' +
      'libmnl-devel; Alpine: apk add build-base python3 pkgconf libmnl-dev linux-headers).',
  );
  return lines.join('\n');
}

function ready(loaded: NativeAddon): void {
  loaded.setErrorClass(NetlinkError);
  loaded.setRecordReader(unpackRecords);
  addon = loaded;
}
