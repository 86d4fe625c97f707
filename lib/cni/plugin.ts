// One CNI invocation: environment and standard input in, standard output, standard error and
// the exit code out. Checks run in the reference library's order (CNI_* variables, the
// configuration's JSON, network name, cniVersion, the verb's own fields) and all of them before
// the kernel is touched, so a bad invocation changes nothing.
import * as fs from 'fs';
import type * as KernelModule from './kernel';
import {
  MAX_STDIN_BYTES,
  stdinTooLarge,
  checkCommon,
  dataDirOf,
  decodeConfig,
  readEnvironment,
  readPluginConfig,
  validAttachments,
  versionOf,
  type Invocation,
  type PrevResult,
  type RawConfig,
} from './config';
import { CNI_CODE, CniError, internalError } from './errors';
import { ABOUT, LATEST_VERSION, SUPPORTED_VERSIONS } from './version';

export interface PluginOutput {
  /** Process exit code: 0 on success, 1 with a CNI error object on standard output. */
  code: number;
  stdout: string;
  stderr: string;
}

// The kernel half (the native engine, the QoS library) loads only once the input is valid.
let kernelModule: typeof KernelModule | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded once the input is valid
const kernel = (): typeof KernelModule => (kernelModule ??= require('./kernel') as typeof KernelModule);

/**
 * cni-install's warm-up before it takes the code cache: loads the kernel half and runs the
 * configuration checks on a sample, so the code a real ADD compiles is in the cache. No kernel.
 */
export function preload(): void {
  kernel();
  const sample = {
    cniVersion: '1.0.0',
    name: 'warm',
    type: 'netqos',
    ingressRate: 10_000_000,
    ingressBurst: 1_000_000,
    runtimeConfig: {
      bandwidth: { egressRate: 10_000_000, egressBurst: 4294967295 },
      'io.kubernetes.cri.pod-annotations': { 'qos.projectcalico.org/egressPacketRate': '100' },
    },
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'veth0' }, { name: 'eth0', sandbox: '/nonexistent' }],
    },
  };
  readEnvironment({
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'warm',
    CNI_NETNS: '/nonexistent',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/nonexistent',
  });
  readPluginConfig(decodeConfig(JSON.stringify(sample)), 'ADD');
}

/** A descriptor's whole content (standard input), refused beyond MAX_STDIN_BYTES without reading on. */
export function readStdin(fd: number): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.allocUnsafe(65536);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a non-blocking pipe
      continue;
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_STDIN_BYTES) throw stdinTooLarge();
    chunks.push(Buffer.from(chunk.subarray(0, n))); // a copy: a trickle holds only its bytes
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function toError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  try {
    return kernel().toCniError(e);
  } catch {
    return internalError(e); // the kernel half itself did not load
  }
}

/**
 * Runs one invocation. `readStdin` is called at most once, and not at all for VERSION or when
 * CNI_COMMAND is unset (then the plugin only says what it is, on standard error). `ctx` says
 * which namespace is the node's (the resident server runs its clients' invocations).
 */
export async function runPlugin(
  env: NodeJS.ProcessEnv,
  readStdin: () => string,
  ctx: KernelModule.Context = {},
): Promise<PluginOutput> {
  let stderr = '';
  const log = (line: string) => {
    stderr += `${line}\n`;
  };
  let conf: RawConfig | undefined;
  try {
    if (!env.CNI_COMMAND) {
      return {
        code: 0,
        stdout: '',
        stderr: `${ABOUT}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`,
      };
    }
    if (env.CNI_COMMAND === 'VERSION') {
      return {
        code: 0,
        stdout: `${JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`,
        stderr,
      };
    }
    let stdin: string;
    try {
      stdin = readStdin();
    } catch (e) {
      if (e instanceof CniError) throw e;
      throw new CniError(CNI_CODE.IO_FAILURE, 'error reading from stdin', (e as Error).message);
    }
    // Decoded first, so even an environment error carries the configuration's version; but the
    // environment's errors come first, as in the reference library.
    let decodeError: unknown;
    try {
      conf = decodeConfig(stdin);
    } catch (e) {
      decodeError = e;
    }
    const inv = readEnvironment(env) as Invocation;
    if (decodeError) throw decodeError;
    const stdout = await dispatch(inv, conf!, log, ctx);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = toError(e);
    const version = versionOf(conf) ?? LATEST_VERSION;
    return { code: 1, stdout: `${JSON.stringify(err.toJSON(version))}\n`, stderr };
  }
}

async function dispatch(
  inv: Invocation,
  conf: RawConfig,
  log: (line: string) => void,
  ctx: KernelModule.Context,
): Promise<string> {
  switch (inv.command) {
    case 'ADD': {
      const { config, warnings } = readPluginConfig(conf, 'ADD');
      for (const w of warnings) log(`netqos: warning: ${w}`);
      const result: PrevResult = kernel().add(inv, config, ctx);
      return `${JSON.stringify(result)}\n`;
    }
    case 'CHECK': {
      const { config } = readPluginConfig(conf, 'CHECK');
      await kernel().check(inv, config, ctx);
      return '';
    }
    case 'DEL': {
      // DEL cleans up whatever the rest of the configuration says: only the name, the version,
      // dataDir and prevResult matter (a configuration ADD refused still deletes cleanly).
      checkCommon(conf, 'DEL');
      const prev =
        conf.prevResult && typeof conf.prevResult === 'object' && !Array.isArray(conf.prevResult)
          ? (conf.prevResult as PrevResult)
          : undefined;
      kernel().del(inv, { name: conf.name as string, dataDir: dataDirOf(conf), prevResult: prev }, log, ctx);
      return '';
    }
    case 'GC': {
      checkCommon(conf, 'GC');
      kernel().gc({ name: conf.name as string, dataDir: dataDirOf(conf) }, validAttachments(conf), log, ctx);
      return '';
    }
    case 'STATUS': {
      checkCommon(conf, 'STATUS');
      kernel().status(ctx);
      return '';
    }
    default:
      throw new CniError(CNI_CODE.INVALID_ENVIRONMENT, `unknown CNI_COMMAND: ${inv.command}`);
  }
}
