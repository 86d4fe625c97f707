// `netqos cni-install --dir /opt/cni/bin`: puts an executable named `netqos` (the configuration's
// "type") into the runtime's CNI bin directory. It is a two-line shell script that runs this
// installation's dist/lib/cni/main.js with this Node, without NODE_OPTIONS and
// NODE_EXTRA_CA_CERTS (a CA bundle alone costs Node ~40 ms of startup, on every pod). Also
// writes the plugin's one-file bundle and V8 code cache next to main.js (bundle.ts), and prints
// the conflist snippet to use.
import * as fs from 'fs';
import * as path from 'path';
import { BUNDLE_FILE, CACHE_FILE, writeBundle } from './bundle';

export interface InstallOptions {
  /** The CNI bin directory (default /opt/cni/bin). */
  dir: string;
  /** The executable's name, the "type" in the configuration (default netqos). */
  name?: string;
  /** Write the bundle and code cache (default true). */
  bundle?: boolean;
  /** The Node binary the plugin runs with (default: the one running this). */
  node?: string;
}

export interface InstallResult {
  executable: string;
  main: string;
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
      { type: 'ptp', ipMasq: true, ipam: { type: 'host-local', subnet: '198.18.0.0/16', routes: [{ dst: '0.0.0.0/0' }] } },
      { type, capabilities: { bandwidth: true, 'io.kubernetes.cri.pod-annotations': true } },
    ],
  };
}

export function installPlugin(options: InstallOptions): InstallResult {
  const name = options.name ?? 'netqos';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`${JSON.stringify(name)} is not a plugin name (letters, digits, "_", ".", "-")`);
  const main = pluginMain();
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: build netqos first (npm run build:ts)`);
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const executable = path.join(dir, name);
  const tmp = `${executable}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, wrapperScript(options.node ?? process.execPath, main), { mode: 0o755 });
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, executable);
  const result: InstallResult = { executable, main, conflist: sampleConflist(name) };
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
export function runCniInstall(options: InstallOptions, out: (s: string) => void, err: (s: string) => void): number {
  let r: InstallResult;
  try {
    r = installPlugin(options);
  } catch (e) {
    err(`error: ${(e as Error).message}\n`);
    return 1;
  }
  out(`installed ${r.executable} -> ${r.main}\n`);
  if (r.bundle) out(`bundle ${r.bundle.path} (${r.bundle.files} modules, code cache ${r.bundle.cacheBytes} bytes)\n`);
  if (r.bundleError) err(`warning: no bundle (the plugin works, starts slower): ${r.bundleError}\n`);
  out(`\nAdd netqos after the plugin that makes the pod's veth, e.g. in /etc/cni/net.d/10-pods.conflist:\n`);
  out(`${JSON.stringify(r.conflist, null, 2)}\n`);
  return 0;
}
