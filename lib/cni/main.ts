#!/usr/bin/env node
// netqos as a CNI plugin: the executable a runtime runs (one process per pod and verb), with the
// CNI_* variables in its environment and the network configuration on standard input. Writes
// the result (ADD, VERSION) or a CNI error object to standard output, logs to standard error,
// exits 0 or 1. Install it into the runtime's CNI bin directory with `netqos cni-install`.
//
// Startup is most of a plugin's run time, so this file loads nothing but the plugin: the
// one-file bundle with its V8 code cache that cni-install made (bundle.ts), else ./plugin by
// require(); ./plugin loads the native engine and the QoS library only once the input is
// valid. No CLI, no commander, no YAML, no lab.
import * as fs from 'fs';
import type * as PluginModule from './plugin';
import { loadBundle } from './bundle';

function finish(out: { code: number; stdout: string; stderr: string }): never {
  if (out.stderr) fs.writeSync(2, out.stderr);
  if (out.stdout) fs.writeSync(1, out.stdout);
  process.exit(out.code);
}

const plugin: typeof PluginModule =
  (process.env.NETQOS_CNI_NO_BUNDLE ? undefined : loadBundle<typeof PluginModule>(__dirname)) ??
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is preferred
  (require('./plugin') as typeof PluginModule);
plugin
  .runPlugin(process.env, () => plugin.readStdin(0))
  .then(finish, (e: unknown) => {
    // runPlugin turns every failure into a CNI error; this is a last resort.
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    finish({
      code: 1,
      stdout: `${JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: 'internal error', details: msg })}\n`,
      stderr: '',
    });
  });
