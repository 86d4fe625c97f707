// Loads the native engine. A failure lists every path tried and how to build it.
import * as path from 'path';
import { NetlinkError } from './errors';
import type { TcEvent } from './mirror';

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
  /** Subscribes to the namespace's link and tc notifications (buffer in bytes; 0: 64 MiB). */
  watch(receiveBuffer?: number): void;
  /** The notifications received since the last call, decoded; never waits. */
  events(): { events: TcEvent[]; overflow: boolean };
}

export interface NativeAddon {
  Handle: new (netns?: string) => NativeHandle;
  encode(ops: readonly object[]): Buffer[];
  setErrorClass(cls: typeof NetlinkError): void;
  tickInUsec(): number;
  /** The kinds the engine's registry holds, by family. */
  kinds(): { qdisc: string[]; class: string[]; filter: string[]; action: string[] };
}

let addon: NativeAddon | undefined;

/** The package root: lib/netlink under ts-jest, dist/lib/netlink once compiled. */
function packageRoot(): string {
  let dir = path.resolve(__dirname, '..', '..');
  if (path.basename(dir) === 'dist') dir = path.dirname(dir);
  return dir;
}

export function native(): NativeAddon {
  if (addon) return addon;
  let loaded: NativeAddon;
  try {
    // The usual place first: the 'bindings' search below costs a few milliseconds per start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon
    loaded = require(path.join(packageRoot(), 'build', 'Release', 'netqos.node')) as NativeAddon;
    loaded.setErrorClass(NetlinkError);
    addon = loaded;
    return loaded;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped package
    const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => NativeAddon;
    loaded = bindings({ bindings: 'netqos.node', module_root: packageRoot() });
  } catch (err) {
    // bindings' message lists every path it tried.
    throw new Error(
      `netqos: cannot load the native engine (netqos.node): ${(err as Error).message}\n` +
        'Build it with `npm rebuild netqos` (needs g++, make, python3, pkg-config and libmnl-dev: ' +
        '`apt-get install build-essential pkg-config libmnl-dev`).',
    );
  }
  loaded.setErrorClass(NetlinkError);
  addon = loaded;
  return loaded;
}
