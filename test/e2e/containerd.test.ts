// netqos under a real runtime: Debian's containerd + runc, driven through the CRI as a kubelet
// drives it (RunPodSandbox / PodSandboxStatus / StopPodSandbox / RemovePodSandbox with pod
// annotations), the conflist chaining the real `ptp` (host-local IPAM) and netqos's native plugin.
// Three containerd instances, each with its own root, state, socket and CNI directories in a
// temporary directory, all inside one throwaway node network namespace (nqe-...): the
// `bandwidth` capability only; `bandwidth` + `io.kubernetes.cri.pod-annotations`; the same in
// calico mode. Every case runs through netqos's resident CNI server, then again through the
// fallback (no server). Addresses from 198.18.0.0/15; everything is removed, also on failure.
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installPlugin } from '../../lib/cni/install';
import { Containerd, buildPauseImage, missingBinaries } from '../../bench/lib/containerd';
import { CniServerProcess, REFERENCE_PLUGINS } from '../../bench/lib/cni-testbed';
import { GOODPUT_CEILING, RATE, iperfBetween } from '../helpers/cni';

const NETWORK = 'nqe2e';
const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
const node = `nqe-${tag}`;
let tmp: string;
let socket: string;
let server: CniServerProcess | undefined;
const runtimes: Record<'bandwidth' | 'both' | 'calico', Containerd | undefined> = {
  bandwidth: undefined,
  both: undefined,
  calico: undefined,
};
const started = new Set<Containerd>();

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe' });
const nodeJson = <T>(cmd: string, ...args: string[]): T =>
  JSON.parse(sh(cmd, '-n', node, '-j', ...args) || '[]');

async function cleanup(): Promise<void> {
  await Promise.all([...started].map((c) => c.stop()));
  started.clear();
  await server?.stop();
  server = undefined;
  try {
    sh('ip', 'netns', 'del', node);
  } catch {
    /* not made */
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

const capabilities = {
  bandwidth: { bandwidth: true },
  both: { bandwidth: true, 'io.kubernetes.cri.pod-annotations': true },
  calico: { bandwidth: true, 'io.kubernetes.cri.pod-annotations': true },
};
const SUBNETS = { bandwidth: '198.18.50.0/24', both: '198.18.51.0/24', calico: '198.18.52.0/24' };

beforeAll(async () => {
  const missing = missingBinaries();
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: run scripts/setup.sh`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-e2e-'));
  sh('ip', 'netns', 'add', node);
  sh('ip', '-n', node, 'link', 'set', 'lo', 'up');
  socket = path.join(tmp, 'run', 'cni.sock');
  const netqos = installPlugin({ dir: path.join(tmp, 'bin'), socket }).executable;
  // The resident server beside the runtime, in the node's namespace (as the DaemonSet runs it).
  server = await CniServerProcess.start(
    socket,
    ['nsenter', `--net=/var/run/netns/${node}`],
    true,
    (s) => (server = s),
  );
  const pauseImage = buildPauseImage(tmp);
  await Promise.all(
    (Object.keys(runtimes) as (keyof typeof runtimes)[]).map(async (kind) => {
      runtimes[kind] = await Containerd.start(
        {
          netns: node,
          pauseImage,
          parent: tmp,
          plugins: {
            ptp: path.join(REFERENCE_PLUGINS, 'ptp'),
            'host-local': path.join(REFERENCE_PLUGINS, 'host-local'),
            loopback: path.join(REFERENCE_PLUGINS, 'loopback'),
            netqos,
          },
          conflist: {
            cniVersion: '1.0.0',
            name: NETWORK,
            plugins: [
              {
                type: 'ptp',
                ipMasq: false,
                ipam: { type: 'host-local', subnet: SUBNETS[kind], dataDir: path.join(tmp, `ipam-${kind}`) },
              },
              {
                type: 'netqos',
                dataDir: path.join(tmp, `netqos-${kind}`),
                ...(kind === 'calico' ? { mode: 'calico' } : {}),
                capabilities: capabilities[kind],
              },
            ],
          },
        },
        (c) => started.add(c),
      );
    }),
  );
}, 240_000);
afterAll(cleanup, 240_000);

interface Pod {
  id: string;
  /** Its network namespace (containerd's cni-... file below its state directory). */
  netns: string;
  /** The pod's host-side veth in the node namespace. */
  veth: string;
  ip: string;
}

async function runPod(rt: Containerd, name: string, annotations: Record<string, string>): Promise<Pod> {
  const id = await rt.cri.runPodSandbox(rt.podConfig(name, annotations));
  const { status } = await rt.cri.podSandboxStatus(id);
  const netns = await rt.netnsOf(id);
  const [eth0] = JSON.parse(sh('nsenter', `--net=${netns}`, 'ip', '-j', 'link', 'show', 'eth0')) as {
    link_index: number;
  }[];
  const peer = nodeJson<{ ifindex: number; ifname: string }[]>('ip', 'link', 'show').find(
    (l) => l.ifindex === eth0.link_index,
  );
  return { id, netns, veth: peer!.ifname, ip: status.network!.ip };
}

async function removePod(rt: Containerd, pod: Pod): Promise<void> {
  await rt.cri.stopPodSandbox(pod.id);
  await rt.cri.removePodSandbox(pod.id);
}

interface Tbf {
  kind: string;
  handle: string;
  dev: string;
  root?: boolean;
  options: { rate: number; burst: number };
}
const rootTbf = (dev: string) =>
  nodeJson<Tbf[]>('tc', 'qdisc', 'show', 'dev', dev).find((q) => q.root && q.kind === 'tbf');
const ifbs = () =>
  nodeJson<{ ifname: string }[]>('ip', 'link', 'show')
    .map((l) => l.ifname)
    .filter((n) => n.startsWith('nqifb'));
/** The IFB netqos shapes a pod's egress on: the one whose redirect its veth carries. */
function ifbOf(veth: string): string | undefined {
  const filters = nodeJson<{ options?: { actions?: { kind: string; to_dev?: string }[] } }[]>(
    'tc',
    'filter',
    'show',
    'dev',
    veth,
    'ingress',
  );
  return filters.flatMap((f) => f.options?.actions ?? []).find((a) => a.kind === 'mirred')?.to_dev;
}

/** What a pod can leave behind: veths and IFBs in the node, CNI netns files, addresses, records. */
function leftovers(kind: keyof typeof runtimes) {
  const files = (dir: string, re: RegExp) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => re.test(f)) : [];
  return {
    veths: nodeJson<{ ifname: string }[]>('ip', 'link', 'show')
      .map((l) => l.ifname)
      .filter((n) => n.startsWith('veth'))
      .sort(),
    ifbs: ifbs().sort(),
    netns: files(runtimes[kind]!.netnsDir, /^cni-/)
      .map((n) => path.join(runtimes[kind]!.netnsDir, n))
      .sort(),
    addresses: files(path.join(tmp, `ipam-${kind}`, NETWORK), /^\d+\.\d+\.\d+\.\d+$/),
    records: files(path.join(tmp, `netqos-${kind}`, NETWORK), /\.json$/),
  };
}

const K8S_IN = 'kubernetes.io/ingress-bandwidth';
const K8S_OUT = 'kubernetes.io/egress-bandwidth';
const CALICO_IN = 'qos.projectcalico.org/ingressBandwidth';
const CALICO_OUT = 'qos.projectcalico.org/egressBandwidth';
const CALICO_IN_BURST = 'qos.projectcalico.org/ingressBurst';

describe.each([['the resident CNI server'], ['the fallback (no server)']])('through %s', (via) => {
  const viaServer = via === 'the resident CNI server';
  const served = () => (server ? server.events().filter((e) => e.kind === 'served') : []);

  beforeAll(async () => {
    if (!viaServer) {
      await server?.stop();
      server = undefined;
      expect(fs.existsSync(socket)).toBe(false);
    }
  });

  /** In server mode: the server answered this sandbox's ADD (the shim did not fall back). */
  const expectVia = (pod: Pod) => {
    if (viaServer)
      expect(served()).toContainEqual(
        expect.objectContaining({ command: 'ADD', containerID: pod.id, code: 0 }),
      );
  };

  test("kubernetes.io keys, the bandwidth capability only: containerd's capitalised runtimeConfig.bandwidth shapes the pod", async () => {
    const rt = runtimes.bandwidth!;
    const pod = await runPod(rt, 'k8s-keys', { [K8S_IN]: '10M', [K8S_OUT]: '20M' });
    expectVia(pod);
    // containerd's placeholder burst (MaxUint32 bits) means netqos's default: 10 ms of the rate.
    expect(rootTbf(pod.veth)).toMatchObject({ handle: '4e51:', options: { rate: RATE / 8, burst: 12_500 } });
    expect(rootTbf(ifbOf(pod.veth)!)).toMatchObject({ options: { rate: (2 * RATE) / 8, burst: 25_000 } });
    await removePod(rt, pod);
    expect(leftovers('bandwidth')).toMatchObject({ ifbs: [], addresses: [], records: [] });
  });

  test('Calico keys with the pod-annotations capability', async () => {
    const rt = runtimes.both!;
    const pod = await runPod(rt, 'calico-keys', {
      [CALICO_IN]: '10M',
      [CALICO_IN_BURST]: '800k',
      [CALICO_OUT]: '5M',
    });
    expectVia(pod);
    expect(rootTbf(pod.veth)).toMatchObject({ options: { rate: RATE / 8, burst: 100_000 } });
    expect(rootTbf(ifbOf(pod.veth)!)).toMatchObject({ options: { rate: RATE / 16 } });
    await removePod(rt, pod);
  });

  test("both keys at once: Calico's key wins for its direction; kubernetes.io's serves the other (README)", async () => {
    const rt = runtimes.both!;
    const pod = await runPod(rt, 'both-keys', { [K8S_IN]: '10M', [CALICO_IN]: '20M', [K8S_OUT]: '5M' });
    expectVia(pod);
    expect(rootTbf(pod.veth)!.options.rate).toBe((2 * RATE) / 8);
    expect(rootTbf(ifbOf(pod.veth)!)!.options.rate).toBe(RATE / 16);
    await removePod(rt, pod);
  });

  test("a bad Calico value, strict mode: RunPodSandbox fails with netqos's message, and nothing is left", async () => {
    const rt = runtimes.both!;
    const before = leftovers('both');
    const sandboxes = (await rt.cri.listPodSandbox()).length;
    await expect(runPod(rt, 'bad-value', { [CALICO_IN]: '10Mb' })).rejects.toThrow(
      /invalid QoS configuration.*qos\.projectcalico\.org\/ingressBandwidth: \\?"10Mb\\?" is not a quantity/s,
    );
    expect(leftovers('both')).toEqual(before);
    expect((await rt.cri.listPodSandbox()).filter((s) => s.state === 'SANDBOX_READY')).toHaveLength(0);
    expect((await rt.cri.listPodSandbox()).length).toBeLessThanOrEqual(sandboxes + 1);
    await rt.removeAllSandboxes();
  });

  test('calico mode: the same bad value runs the pod (that control off) and kubernetes.io alone runs clamped, each with a warning in the log', async () => {
    const rt = runtimes.calico!;
    const bad = await runPod(rt, 'calico-bad', { [CALICO_IN]: '10Mb', [CALICO_OUT]: '5M' });
    expectVia(bad);
    expect(rootTbf(bad.veth)).toBeUndefined();
    expect(rootTbf(ifbOf(bad.veth)!)!.options.rate).toBe(RATE / 16);
    const plain = await runPod(rt, 'calico-k8s', { [K8S_IN]: '10M' });
    expectVia(plain);
    expect(rootTbf(plain.veth)!.options.rate).toBe(RATE / 8);
    const log = rt.log();
    expect(log).toContain(
      'netqos: warning: qos.projectcalico.org/ingressBandwidth: "10Mb": error parsing ingress bandwidth annotation',
    );
    expect(log).toContain(
      'netqos: warning: qos.projectcalico.org/ingressBurst: 4294967296 bits at 10000000 bit/s is a 429.497 s bucket',
    );
    await removePod(rt, bad);
    await removePod(rt, plain);
  });

  test('four RunPodSandbox at once: each pod its own limits', async () => {
    const rt = runtimes.both!;
    const rates = [1, 2, 3, 4].map((n) => n * RATE);
    const pods = await Promise.all(
      rates.map((r, i) => runPod(rt, `four-${i}`, { [CALICO_IN]: String(r), [CALICO_OUT]: String(r) })),
    );
    pods.forEach((pod, i) => {
      expectVia(pod);
      expect(rootTbf(pod.veth)!.options.rate).toBe(rates[i] / 8);
      expect(rootTbf(ifbOf(pod.veth)!)!.options.rate).toBe(rates[i] / 8);
    });
    await Promise.all(pods.map((p) => removePod(rt, p)));
    expect(leftovers('both')).toMatchObject({ ifbs: [], addresses: [], records: [] });
  });

  test('iperf3 between two pods: 10 Mbit/s each way within 5 % of the goodput ceiling, both directions', async () => {
    const rt = runtimes.both!;
    // The kernel tests' limits (test/helpers/cni.ts): 10 Mbit/s, a 256 kbit bucket each way.
    const limits = {
      [CALICO_IN]: String(RATE),
      [CALICO_OUT]: String(RATE),
      [CALICO_IN_BURST]: '262144',
      'qos.projectcalico.org/egressBurst': '262144',
    };
    const a = await runPod(rt, 'iperf-srv', limits);
    const b = await runPod(rt, 'iperf-cli', limits);
    try {
      for (const reverse of [false, true]) {
        const r = await iperfBetween(a.netns, b.netns, a.ip, reverse);
        process.stdout.write(
          `e2e ${viaServer ? 'server' : 'fallback'} iperf3 ${reverse ? 'server->client' : 'client->server'}: ${(r.receivedBps / 1e6).toFixed(3)} Mbit/s (ceiling ${(GOODPUT_CEILING / 1e6).toFixed(3)})\n`,
        );
        expect(Math.abs(r.receivedBps - GOODPUT_CEILING) / GOODPUT_CEILING).toBeLessThan(0.05);
      }
    } finally {
      await removePod(rt, a);
      await removePod(rt, b);
    }
  }, 120_000);

  test('Stop then Remove leave nothing: veth, IFB, netns, address, record, sandbox', async () => {
    const rt = runtimes.both!;
    const before = leftovers('both');
    const pod = await runPod(rt, 'lifecycle', { [CALICO_IN]: '10M', [CALICO_OUT]: '10M' });
    const ifb = ifbOf(pod.veth)!;
    expect(leftovers('both')).toMatchObject({
      veths: [...before.veths, pod.veth].sort(),
      ifbs: [ifb],
      netns: [...before.netns, pod.netns].sort(),
      addresses: [pod.ip],
      records: [`${pod.id}@eth0.json`],
    });
    await rt.cri.stopPodSandbox(pod.id);
    expect(leftovers('both')).toEqual(before);
    await rt.cri.removePodSandbox(pod.id);
    expect((await rt.cri.listPodSandbox()).map((s) => s.id)).not.toContain(pod.id);
    expect(leftovers('both')).toEqual(before);
  });
});
