// `netqos cni-install --dir /opt/cni/bin`: puts an executable named `netqos` (the configuration's
// "type") into the runtime's CNI bin directory: a copy of the native shim (build/Release/netqos-cni
// or the package's prebuilt one; lib/cni/shim/netqos-cni.c) with a trailer that names the socket of
// the resident server and the fallback, this installation's dist/lib/cni/main.js run with this
// Node. One file, no configuration beside it. Without a shim (none prebuilt for this platform, no
// compiler when netqos was installed) it writes the two-line shell script that runs main.js
// directly instead. Either way NODE_OPTIONS and NODE_EXTRA_CA_CERTS are dropped for Node (a CA
// bundle alone costs Node ~40 ms of startup, on every pod). Also writes the Node plugin's one-file
// bundle and V8 code cache next to main.js (bundle.ts), and prints the conflist snippet to use.
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot, prebuiltFile } from '../netlink/binding';
import { BUNDLE_FILE, CACHE_FILE, writeBundle } from './bundle';
import { DEFAULT_SOCKET } from './protocol';

export interface InstallOptions {
  /** The CNI bin directory (default /opt/cni/bin). */
  dir: string;
  /** The executable's name, the "type" in the configuration (default netqos). */
  name?: string;
  /** Write the bundle and code cache (default true). */
  bundle?: boolean;
  /** The Node binary the plugin runs with (default: the one running this). */
  node?: string;
  /** The resident server's socket the shim connects to (default /run/netqos/cni.sock). */
  socket?: string;
  /** false: the shim has no Node fallback (it answers "try again later" without a server). */
  fallback?: boolean;
  /** false: install the shell script that always starts Node, even when the shim is built. */
  shim?: boolean;
}

export interface InstallResult {
  executable: string;
  main: string;
  /** shim: the native shim (socket, fallback); script: the shell wrapper around main.js. */
  kind: 'shim' | 'script';
  socket?: string;
  fallback: boolean;
  /** Why the shell wrapper was written although the shim was wanted. */
  shimMissing?: string;
  bundle?: { path: string; files: number; cacheBytes: number };
  bundleError?: string;
  conflist: object;
}

/** The compiled plugin entry of this installation (dist/lib/cni/main.js), also from ts-jest. */
export function pluginMain(): string {
  let dir = __dirname;
  if (!dir.split(path.sep).includes('dist')) dir = path.join(dir, '..', '..', 'dist', 'lib', 'cni');
  return path.join(dir, 'main.js');
}

/**
 * The shim: as node-gyp builds it (binding.gyp's netqos-cni target) when built here, else the
 * prebuilt one the package ships for this platform (scripts/prebuild.sh).
 */
export function shimBinary(): string {
  const built = path.join(packageRoot(), 'build', 'Release', 'netqos-cni');
  const prebuilt = prebuiltFile('netqos-cni');
  return !fs.existsSync(built) && fs.existsSync(prebuilt) ? prebuilt : built;
}

// What the shim reads from the end of its own file (read_trailer in netqos-cni.c): three
// NUL-terminated strings, their length as a little-endian u32, the magic.
const TRAILER_MAGIC = 'NQCNITR1';

export interface Trailer {
  /** The fallback: Node and main.js (both empty: no fallback). */
  node: string;
  main: string;
  socket: string;
}

export function encodeTrailer(t: Trailer): Buffer {
  const data = Buffer.from(`${t.node}\0${t.main}\0${t.socket}\0`, 'utf8');
  const tail = Buffer.alloc(12);
  tail.writeUInt32LE(data.length, 0);
  tail.write(TRAILER_MAGIC, 4, 'latin1');
  return Buffer.concat([data, tail]);
}

/** The trailer of an installed shim, undefined when the file has none. */
export function readTrailer(file: string): Trailer | undefined {
  const b = fs.readFileSync(file);
  if (b.length < 12 || b.toString('latin1', b.length - 8) !== TRAILER_MAGIC) return undefined;
  const n = b.readUInt32LE(b.length - 12);
  if (n + 12 > b.length) return undefined;
  const [node, main, socket] = b.toString('utf8', b.length - 12 - n, b.length - 12).split('\0');
  return node === undefined || main === undefined || socket === undefined
    ? undefined
    : { node, main, socket };
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function wrapperScript(node: string, main: string): string {
  return `#!/bin/sh
# netqos CNI plugin: runs ${main}
# (written by \`netqos cni-install\`; run it again after moving or upgrading netqos)
unset NODE_OPTIONS NODE_EXTRA_CA_CERTS
exec ${shQuote(node)} ${shQuote(main)} "$@"
`;
}

/** The plugin list to put in /etc/cni/net.d/<name>.conflist: ptp (host-local IPAM) then netqos. */
export function sampleConflist(type = 'netqos'): object {
  return {
    cniVersion: '1.0.0',
    name: 'pods',
    plugins: [
      {
        type: 'ptp',
        ipMasq: true,
        ipam: { type: 'host-local', subnet: '198.18.0.0/16', routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type, capabilities: { bandwidth: true, 'io.kubernetes.cri.pod-annotations': true } },
    ],
  };
}

export function installPlugin(options: InstallOptions): InstallResult {
  const name = options.name ?? 'netqos';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw new Error(`${JSON.stringify(name)} is not a plugin name (letters, digits, "_", ".", "-")`);
  const main = pluginMain();
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: build netqos first (npm run build:ts)`);
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const executable = path.join(dir, name);
  const node = options.node ?? process.execPath;
  const fallback = options.fallback !== false;
  const socket = path.resolve(options.socket ?? DEFAULT_SOCKET);
  if (Buffer.byteLength(socket) > 107)
    throw new Error(`--socket ${socket}: a unix socket path is at most 107 bytes`);
  const shim = shimBinary();
  let content: Buffer;
  let result: InstallResult;
  if (options.shim !== false && fs.existsSync(shim)) {
    content = Buffer.concat([
      fs.readFileSync(shim),
      encodeTrailer(fallback ? { node, main, socket } : { node: '', main: '', socket }),
    ]);
    result = { executable, main, kind: 'shim', socket, fallback, conflist: sampleConflist(name) };
  } else {
    if (!fallback)
      throw new Error(
        `${shim} is missing (none prebuilt for this platform, none built here), and without the fallback nothing could run the plugin`,
      );
    content = Buffer.from(wrapperScript(node, main));
    result = { executable, main, kind: 'script', fallback, conflist: sampleConflist(name) };
    if (options.shim !== false)
      result.shimMissing = `${shim} is missing (none prebuilt for this platform, none built here)`;
  }
  // A new file renamed over the old one: a runtime running the old executable keeps it intact.
  const tmp = `${executable}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o755 });
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, executable);
  if (options.bundle !== false) {
    const cniDir = path.dirname(main);
    try {
      const entry = path.join(cniDir, 'plugin.js');
      const b = writeBundle(entry, cniDir, (loaded) => (loaded as typeof import('./plugin')).preload());
      result.bundle = { path: path.join(cniDir, BUNDLE_FILE), files: b.files, cacheBytes: b.cacheBytes };
    } catch (e) {
      for (const f of [BUNDLE_FILE, CACHE_FILE]) fs.rmSync(path.join(cniDir, f), { force: true });
      result.bundleError = (e as Error).message;
    }
  }
  return result;
}

/** `netqos cni-install`: the CLI's side. Returns the exit code. */
export function runCniInstall(
  options: InstallOptions,
  out: (s: string) => void,
  err: (s: string) => void,
): number {
  let r: InstallResult;
  try {
    r = installPlugin(options);
  } catch (e) {
    err(`error: ${(e as Error).message}\n`);
    return 1;
  }
  if (r.kind === 'shim') {
    out(`installed ${r.executable}: the native plugin, forwarding to the netqos CNI server at ${r.socket}\n`);
    out(
      r.fallback
        ? `  without a server it runs ${r.main}\n`
        : '  without a server it answers "try again later" (CNI code 11): no fallback\n',
    );
    out(
      `  start the server with \`netqos cni-server --socket ${r.socket}\` or \`netqos agent ... --cni-socket ${r.socket}\`\n`,
    );
  } else {
    out(`installed ${r.executable} -> ${r.main}\n`);
  }
  if (r.shimMissing)
    err(
      `warning: wrote a shell wrapper that starts Node on every call (tens of milliseconds per pod): ${r.shimMissing}\n`,
    );
  if (r.bundle)
    out(`bundle ${r.bundle.path} (${r.bundle.files} modules, code cache ${r.bundle.cacheBytes} bytes)\n`);
  if (r.bundleError) err(`warning: no bundle (the plugin works, starts slower): ${r.bundleError}\n`);
  out(`\nAdd netqos after the plugin that makes the pod's veth, e.g. in /etc/cni/net.d/10-pods.conflist:\n`);
  out(`${JSON.stringify(r.conflist, null, 2)}\n`);
  return 0;
}
