// containerd + runc as a real CRI runtime for the end-to-end tests and the RunPodSandbox benchmark:
// a private containerd (Debian's) with its own root, state, socket and CNI directories in a
// temporary directory, run inside a throwaway node network namespace (its CNI plugins run there,
// so the pods' host-side veths never touch the root namespace; the pods' own namespaces are files
// below its state directory), a pause image built locally from busybox-static and imported with
// ctr (no registry), and a CRI client on its socket. stop() removes every sandbox, ends
// containerd by its pid, then anything it left (its shims, runc containers, mounts, namespaces)
// by pid or by its own directory, and the directory.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CriClient } from './cri';

export const SANDBOX_IMAGE = 'netqos.test/pause:1';
/** What the machine needs (scripts/setup.sh installs them). */
export const RUNTIME_BINARIES = [
  'containerd',
  'containerd-shim-runc-v2',
  'runc',
  'ctr',
  'busybox',
  'nsenter',
];

function run(cmd: string, args: string[], options: { input?: string; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return r.stdout;
}

/** The binaries of RUNTIME_BINARIES not on PATH (empty when the machine is ready). */
export function missingBinaries(): string[] {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin')
    .split(':')
    .concat(['/usr/sbin', '/sbin']);
  return RUNTIME_BINARIES.filter((b) => !dirs.some((d) => fs.existsSync(path.join(d, b))));
}

/**
 * An OCI image archive whose root file system is busybox-static and whose entrypoint sleeps: the
 * sandbox ("pause") image, built without a registry. Written to `dir`/pause.tar.
 */
export function buildPauseImage(dir: string): string {
  const work = fs.mkdtempSync(path.join(dir, 'pause-'));
  const rootfs = path.join(work, 'rootfs', 'bin');
  fs.mkdirSync(rootfs, { recursive: true });
  fs.copyFileSync(fs.realpathSync('/bin/busybox'), path.join(rootfs, 'busybox'));
  fs.chmodSync(path.join(rootfs, 'busybox'), 0o755);
  const layer = path.join(work, 'layer.tar');
  run('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '-C',
    path.dirname(rootfs),
    '-cf',
    layer,
    'bin',
  ]);
  const layout = path.join(work, 'oci');
  const blobs = path.join(layout, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer): { digest: string; size: number } => {
    const hex = crypto.createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const layerBlob = put(fs.readFileSync(layer));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/bin/busybox', 'sleep', '2147483647'], Env: ['PATH=/bin'] },
        rootfs: { type: 'layers', diff_ids: [layerBlob.digest] },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerBlob }],
      }),
    ),
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': SANDBOX_IMAGE,
            'org.opencontainers.image.ref.name': '1',
          },
        },
      ],
    }),
  );
  const archive = path.join(dir, 'pause.tar');
  run('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  fs.rmSync(work, { recursive: true, force: true });
  return archive;
}

export interface ContainerdOptions {
  /** The network namespace containerd (and so its CNI plugins) runs in: the node's. */
  netns: string;
  /** The network configuration list it loads (the only one in its conf dir). */
  conflist: object;
  /** CNI plugins by type: the executable each name stands for in its bin dir. */
  plugins: Record<string, string>;
  /** The pause image archive (buildPauseImage). */
  pauseImage: string;
  /** Extra environment (containerd passes its environment on to the plugins). */
  env?: Record<string, string>;
  /** Where its temporary directory goes (default os.tmpdir()). */
  parent?: string;
}

export class Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly cri: CriClient;
  readonly logFile: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private stopped = false;

  private constructor(readonly options: ContainerdOptions) {
    this.dir = fs.mkdtempSync(path.join(options.parent ?? os.tmpdir(), 'nq-ctrd-'));
    this.socket = path.join(this.dir, 'containerd.sock');
    this.logFile = path.join(this.dir, 'containerd.log');
    this.cri = new CriClient(this.socket);
  }

  /**
   * Starts one, waits until the CRI answers, imports the pause image and waits until its network
   * is ready. `started` learns of it at once, so a caller interrupted meanwhile can still stop it.
   */
  static async start(options: ContainerdOptions, started?: (c: Containerd) => void): Promise<Containerd> {
    const c = new Containerd(options);
    started?.(c);
    try {
      await c.launch();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private async launch(): Promise<void> {
    const d = (name: string) => path.join(this.dir, name);
    for (const sub of ['root', 'state', 'bin', 'net.d', 'ipam', 'runc', 'opt', 'logs']) fs.mkdirSync(d(sub));
    for (const [type, exe] of Object.entries(this.options.plugins))
      fs.symlinkSync(exe, path.join(d('bin'), type));
    fs.writeFileSync(
      path.join(d('net.d'), '10-netqos-e2e.conflist'),
      JSON.stringify(this.options.conflist, null, 2),
    );
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    fs.writeFileSync(
      d('config.toml'),
      `version = 2
root = "${d('root')}"
state = "${d('state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${this.socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "${d('opt')}"
[${cri}]
  sandbox_image = "${SANDBOX_IMAGE}"
  # These machines lack CAP_SYS_RESOURCE: runc cannot raise the sandbox's OOM score otherwise.
  restrict_oom_score_adj = true
  disable_apparmor = true
  # Pod network namespaces below this instance's state, not in /var/run/netns: whatever it
  # leaves is found (and unmounted) with the rest of its directory.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[${cri}.containerd.runtimes.runc.options]
  Root = "${d('runc')}"
[${cri}.cni]
  bin_dir = "${d('bin')}"
  conf_dir = "${d('net.d')}"
  max_conf_num = 1
`,
    );
    const log = fs.openSync(this.logFile, 'a');
    // nsenter execs containerd itself (the child's pid is containerd's) and enters only the
    // network namespace: `ip netns exec` would also give it a mount namespace with a fresh /sys,
    // where runc finds no cgroup mounts.
    const netns = this.options.netns.includes('/')
      ? this.options.netns
      : `/var/run/netns/${this.options.netns}`;
    this.child = spawn('nsenter', [`--net=${netns}`, 'containerd', '--config', d('config.toml')], {
      stdio: ['ignore', log, log],
      env: { ...process.env, ...this.options.env },
    });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.child!.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => (gone = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (gone) throw new Error(`containerd exited at start: ${this.log().slice(-2000)}`);
      try {
        await this.cri.version();
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`containerd did not answer in 60 s: ${this.log().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    run('ctr', [
      '--address',
      this.socket,
      '--namespace',
      'k8s.io',
      'images',
      'import',
      this.options.pauseImage,
    ]);
    if (!(await this.cri.hasImage(SANDBOX_IMAGE)))
      throw new Error(`the pause image ${SANDBOX_IMAGE} is not there after import`);
    for (;;) {
      const network = (await this.cri.status()).find((c) => c.type === 'NetworkReady');
      if (network?.status) break;
      if (Date.now() > deadline)
        throw new Error(`containerd's network is not ready: ${network?.reason}: ${network?.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Where its pods' network namespaces are (netns_mounts_under_state_dir). */
  get netnsDir(): string {
    return path.join(this.dir, 'state', 'io.containerd.grpc.v1.cri', 'netns');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What containerd logged so far (its CNI plugins' standard error among it). */
  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** A unique pod configuration with `annotations`, its logs under this runtime's directory. */
  podConfig(name: string, annotations: Record<string, string> = {}) {
    const uid = crypto.randomUUID();
    return {
      metadata: { name, uid, namespace: 'netqos-e2e', attempt: 0 },
      hostname: name,
      log_directory: path.join(this.dir, 'logs', uid),
      annotations,
      labels: { 'netqos.test/e2e': 'true' },
      linux: {},
    };
  }

  /** The network namespace of a running sandbox (a cni-... file in netnsDir). */
  async netnsOf(id: string): Promise<string> {
    const { info } = await this.cri.podSandboxStatus(id);
    if (info.info === undefined) throw new Error(`sandbox ${id}: the runtime gave no verbose info`);
    const spec = JSON.parse(info.info) as {
      runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } };
    };
    const ns = spec.runtimeSpec.linux.namespaces.find((n) => n.type === 'network');
    if (!ns?.path) throw new Error(`sandbox ${id} has no network namespace path`);
    return ns.path;
  }

  /** Stops and removes every sandbox it knows. */
  async removeAllSandboxes(): Promise<void> {
    for (const s of await this.cri.listPodSandbox()) {
      await this.cri.stopPodSandbox(s.id).catch(() => {});
      await this.cri.removePodSandbox(s.id).catch(() => {});
    }
  }

  /** Everything gone: sandboxes, containerd (by pid), its shims and containers, mounts, the directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const alive = () => this.child && this.child.exitCode === null && this.child.signalCode === null;
    if (alive()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.removeAllSandboxes(), new Promise((r) => (timer = setTimeout(r, 60_000)))]);
      } catch {
        /* containerd is going anyway */
      } finally {
        clearTimeout(timer);
      }
    }
    this.cri.close();
    if (alive()) {
      process.kill(this.child!.pid!, 'SIGTERM');
      const timer = setTimeout(() => alive() && process.kill(this.child!.pid!, 'SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    // Its shims outlive it (they are reparented): each names this containerd's socket.
    for (const pid of processesNaming(this.socket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // Containers runc still knows under this containerd's runc root, then what is mounted below it.
    const runcRoot = path.join(this.dir, 'runc');
    for (const dir of fs.existsSync(runcRoot) ? fs.readdirSync(runcRoot) : []) {
      for (const id of fs.readdirSync(path.join(runcRoot, dir))) {
        spawnSync('runc', ['--root', path.join(runcRoot, dir), 'delete', '--force', id], { stdio: 'ignore' });
      }
    }
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && (m === this.dir || m.startsWith(`${this.dir}/`)))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Processes whose command line holds `word` as one argument. */
function processesNaming(word: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(word))
        out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}
