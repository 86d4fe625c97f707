// The native CNI plugin (the shim cni-install writes) with the resident server, on this
// machine's kernel, chained after the real `ptp` plugin (host-local IPAM) exactly as
// cni.test.ts runs the Node plugin, and compared with it: every verb gives the same output, exit
// code and kernel state through either. The server runs as `netqos cni-server` in the root
// namespace while the plugin runs under `ip netns exec <node>` (so the server opens the node's
// namespace through /proc/<pid>/ns/net), and also inside the node namespace, and in the agent.
// Then the ways it falls back to the Node plugin: no server, a killed one, one that cannot see the
// plugin's pid, one whose records directory is another; and several ADDs at once, and iperf3
// through limits applied this way. Addresses from 198.18.0.0/15 only; every namespace and
// process this suite starts is removed, also on failure.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { installPlugin } from '../../lib/cni/install';
import { CniServerProcess, CniTestbed, type Invocation, type Pod } from '../../bench/lib/cni-testbed';
import { RATE, badConfigurations, expectOk, expectShapedPair, hostVeth, nodeState } from '../helpers/cni';

const NETWORK = 'nqshim';
const SUBNET = '198.18.41.0/24';
const LIMITS = { ingressRate: RATE, ingressBurst: 1_000_000, egressRate: 2 * RATE, egressBurst: 2_000_000 };

let bed: CniTestbed;
let direct: string;
let shim: string;
let dataDir: string;
let state: ReturnType<typeof nodeState>;
let server: CniServerProcess;
const servers = new Set<CniServerProcess>();

const startServer = (socket: string, launcher: string[] = []) =>
  CniServerProcess.start(socket, launcher, true, (s) => servers.add(s));

beforeAll(async () => {
  bed = new CniTestbed('nqn');
  direct = installPlugin({ dir: path.join(bed.dir, 'direct'), shim: false, bundle: false }).executable;
  const socket = path.join(bed.dir, 'run', 'cni.sock');
  shim = installPlugin({ dir: path.join(bed.dir, 'bin'), socket, bundle: false }).executable;
  dataDir = path.join(bed.dir, 'netqos');
  state = nodeState(bed);
  server = await startServer(socket);
});
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  bed?.destroy();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const s of servers) if (s.child.exitCode === null) process.kill(s.pid, 'SIGKILL');
    bed?.destroy();
    process.exit(130);
  });
}

const conf = (prevResult: unknown, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: NETWORK,
  type: 'netqos',
  dataDir,
  ...extra,
  ...(prevResult ? { prevResult } : {}),
});
const same = (a: Invocation, b: Invocation) =>
  expect({ code: a.code, stdout: a.stdout, stderr: a.stderr }).toEqual({
    code: b.code,
    stdout: b.stdout,
    stderr: b.stderr,
  });

/** Waits (at most 30 s: a loaded machine) until the server has reported `n` requests; returns them. */
async function eventsOf(s: CniServerProcess, n: number) {
  for (let i = 0; i < 3000 && s.events().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return s.events();
}

/**
 * Runs the shim for `pod`, and checks that `s` (default: the root-namespace server) served the
 * call itself (`expect` 'served') or told the shim to fall back ('fallback').
 */
async function viaShim(
  command: string,
  input: unknown,
  pod?: Pod,
  env: Record<string, string | undefined> = {},
  s = server,
  expectKind: 'served' | 'fallback' = 'served',
): Promise<Invocation> {
  const before = s.events().length;
  const r = await bed.invokeAsync(shim, command, input, pod, env);
  const events = await eventsOf(s, before + 1);
  expect(events.slice(before).map((e) => e.kind)).toEqual([expectKind]);
  return r;
}
const viaNode = (command: string, input: unknown, pod?: Pod, env: Record<string, string | undefined> = {}) =>
  bed.invoke(direct, command, input, pod, env);

describe('the server in the root namespace, the plugin in the node namespace (/proc/<pid>/ns/net)', () => {
  let pod: Pod;
  let prev: any;
  let veth: string;

  beforeAll(() => {
    pod = bed.pod('life');
    prev = bed.addPtp(pod, NETWORK, SUBNET);
    veth = hostVeth(prev);
  });

  test('ADD: the TBFs, the IFB and one redirect on the node; the Node plugin then gives the same result and changes nothing', async () => {
    const s = await viaShim('ADD', conf(prev, LIMITS), pod);
    expect(s.code).toBe(0);
    const ifb = s.json.interfaces[2].name;
    expect(s.json).toEqual({
      ...prev,
      interfaces: [
        ...prev.interfaces,
        { name: expect.stringMatching(/^nqifb[0-9a-f]{10}$/), mac: expect.any(String) },
      ],
    });
    expect(state.rootOf(veth)).toMatchObject({
      kind: 'tbf',
      handle: '4e51:',
      options: { rate: RATE / 8, burst: 125_000 },
    });
    expect(state.rootOf(ifb)).toMatchObject({
      kind: 'tbf',
      handle: '4e51:',
      options: { rate: (2 * RATE) / 8, burst: 250_000 },
    });
    expect(state.actions(veth, 'ingress').map((a) => [a.kind, a.to_dev])).toEqual([['mirred', ifb]]);
    expect(
      JSON.parse(fs.readFileSync(path.join(dataDir, NETWORK, `${pod.containerId}@eth0.json`), 'utf8')),
    ).toMatchObject({ hostIfname: veth, ifb });
    const before = bed.snapshot();
    same(viaNode('ADD', conf(prev, LIMITS), pod), s);
    expect(bed.snapshot()).toEqual(before);
  });

  test('ADD again converges (same result, kernel untouched); CHECK passes; a changed TBF fails CHECK with the same words as the Node plugin', async () => {
    const before = bed.snapshot();
    const again = await viaShim('ADD', conf(prev, LIMITS), pod);
    same(again, viaNode('ADD', conf(prev, LIMITS), pod));
    expect(bed.snapshot()).toEqual(before);
    expectOk(await viaShim('CHECK', conf(again.json, LIMITS), pod));
    bed.exec([
      'tc',
      'qdisc',
      'change',
      'dev',
      veth,
      'root',
      'handle',
      '4e51:',
      'tbf',
      'rate',
      '5mbit',
      'burst',
      '10kb',
      'latency',
      '25ms',
    ]);
    const bad = await viaShim('CHECK', conf(again.json, LIMITS), pod);
    expect(bad.json).toMatchObject({
      code: 103,
      msg: `traffic control on ${veth} differs from the configuration`,
    });
    same(bad, viaNode('CHECK', conf(again.json, LIMITS), pod));
    expect((await viaShim('ADD', conf(prev, LIMITS), pod)).code).toBe(0);
    expectOk(await viaShim('CHECK', conf(again.json, LIMITS), pod));
  });

  test("DEL removes everything, leaving the state the Node plugin's DEL leaves; DEL again and without netns succeed", async () => {
    expectOk(await viaShim('DEL', conf(prev, LIMITS), pod));
    const afterShim = bed.snapshot();
    expect(state.qdiscs(veth).map((q) => q.kind)).toEqual(['noqueue']);
    expect(state.ifbs('nqifb')).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, NETWORK, `${pod.containerId}@eth0.json`))).toBe(false);
    expect(viaNode('ADD', conf(prev, LIMITS), pod).code).toBe(0);
    expectOk(viaNode('DEL', conf(prev, LIMITS), pod));
    expect(bed.snapshot()).toEqual(afterShim);
    expectOk(await viaShim('DEL', conf(prev, LIMITS), pod));
    expectOk(await viaShim('DEL', conf(undefined), pod, { CNI_NETNS: undefined }));
  });

  test('DEL after the pod namespace is gone: its IFB is found from the record and deleted', async () => {
    const gone = bed.pod('gone');
    const gonePrev = bed.addPtp(gone, NETWORK, SUBNET);
    const ifb = (await viaShim('ADD', conf(gonePrev, LIMITS), gone)).json.interfaces[2].name;
    bed.removePod(gone);
    for (let i = 0; i < 100 && state.links().some((l) => l.ifname === hostVeth(gonePrev)); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(state.ifbs(ifb)).toEqual([ifb]);
    expectOk(await viaShim('DEL', conf(gonePrev, LIMITS), gone));
    expect(state.ifbs(ifb)).toEqual([]);
  });

  test('GC removes the stale attachment and keeps the valid one', async () => {
    const keep = bed.pod('gck');
    const stale = bed.pod('gcs');
    const keepPrev = bed.addPtp(keep, NETWORK, SUBNET);
    const stalePrev = bed.addPtp(stale, NETWORK, SUBNET);
    const keepIfb = (await viaShim('ADD', conf(keepPrev, LIMITS), keep)).json.interfaces[2].name;
    expect((await viaShim('ADD', conf(stalePrev, LIMITS), stale)).code).toBe(0);
    const gc = {
      cniVersion: '1.1.0',
      name: NETWORK,
      type: 'netqos',
      dataDir,
      'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }],
    };
    expectOk(await viaShim('GC', gc));
    expect(state.ifbs('nqifb')).toEqual([keepIfb]);
    expect(state.qdiscs(hostVeth(stalePrev)).map((q) => q.kind)).toEqual(['noqueue']);
    expect(state.rootOf(hostVeth(keepPrev))!.handle).toBe('4e51:');
    // The Node plugin's GC with the same list finds nothing left to do.
    const before = bed.snapshot();
    expectOk(viaNode('GC', gc));
    expect(bed.snapshot()).toEqual(before);
    expectOk(await viaShim('DEL', conf(keepPrev, LIMITS), keep));
  });

  test("STATUS, VERSION, and no CNI_COMMAND at all: the Node plugin's output exactly", async () => {
    const status = { cniVersion: '1.1.0', name: NETWORK, type: 'netqos' };
    same(await viaShim('STATUS', status), viaNode('STATUS', status));
    same(await viaShim('VERSION', status), viaNode('VERSION', status));
    const none = await viaShim('', status, undefined, { CNI_COMMAND: undefined });
    same(none, viaNode('', status, undefined, { CNI_COMMAND: undefined }));
    expect(none.stderr).toContain('CNI plugin netqos');
  });

  describe("bad configurations: the Node plugin's code, words and exit code, and nothing changes", () => {
    let bad: Pod;
    let badPrev: any;
    const limits = { ingressRate: RATE, ingressBurst: 100_000, egressRate: RATE, egressBurst: 100_000 };
    beforeAll(async () => {
      bad = bed.pod('bad');
      badPrev = bed.addPtp(bad, NETWORK, SUBNET);
      expect((await viaShim('ADD', conf(badPrev, limits), bad)).code).toBe(0);
    });
    afterAll(() => viaNode('DEL', conf(badPrev, limits), bad));

    test.each(badConfigurations(conf, () => badPrev, limits))('%s', async (_name, make, code, msg) => {
      const before = bed.snapshot();
      const [input, env] = make();
      const r = await viaShim('ADD', input, bad, env);
      expect(r.code).toBe(1);
      expect(r.json).toMatchObject({ code, msg });
      same(r, viaNode('ADD', input, bad, env));
      expect(bed.snapshot()).toEqual(before);
    });
  });

  test('six ADDs at once on six pods all succeed (served one at a time), then six DELs at once', async () => {
    const pods = Array.from({ length: 6 }, (_, i) => bed.pod(`con${i}`));
    const prevs = pods.map((p) => bed.addPtp(p, NETWORK, SUBNET));
    const before = server.events().length;
    const adds = await Promise.all(
      pods.map((p, i) => bed.invokeAsync(shim, 'ADD', conf(prevs[i], LIMITS), p)),
    );
    expect(adds.map((r) => r.code)).toEqual(pods.map(() => 0));
    const events = (await eventsOf(server, before + 6)).slice(before);
    expect(events.map((e) => [e.kind, e.command, e.code])).toEqual(pods.map(() => ['served', 'ADD', 0]));
    expect(events.map((e) => e.containerID).sort()).toEqual(pods.map((p) => p.containerId).sort());
    for (let i = 0; i < pods.length; i++) {
      expect(state.rootOf(hostVeth(prevs[i]))!.options).toMatchObject({ rate: RATE / 8 });
      expect(state.rootOf(adds[i].json.interfaces[2].name)!.options).toMatchObject({ rate: (2 * RATE) / 8 });
    }
    const dels = await Promise.all(
      pods.map((p, i) => bed.invokeAsync(shim, 'DEL', conf(prevs[i], LIMITS), p)),
    );
    expect(dels.map((r) => r.code)).toEqual(pods.map(() => 0));
    expect(state.ifbs('nqifb')).toEqual([]);
  });

  test('iperf3 between two pods shaped through the shim: 10 Mbit/s each way within 5 % of the ceiling', async () => {
    await expectShapedPair(
      bed,
      NETWORK,
      SUBNET,
      (limits, prev, p) => viaShim('ADD', conf(prev, limits), p),
      'cni shim iperf3',
    );
  }, 90_000);
});

describe('the server inside the node namespace (the same namespace as the plugin)', () => {
  test("ADD, CHECK, DEL served, with the Node plugin's results", async () => {
    const socket = path.join(bed.dir, 'run', 'in-node.sock');
    const inNode = await startServer(socket, ['ip', 'netns', 'exec', bed.node]);
    const env = { NETQOS_CNI_SOCKET: socket };
    const pod = bed.pod('innode');
    const prev = bed.addPtp(pod, NETWORK, SUBNET);
    const add = await viaShim('ADD', conf(prev, LIMITS), pod, env, inNode);
    expect(add.code).toBe(0);
    expect(state.rootOf(hostVeth(prev))!.options).toMatchObject({ rate: RATE / 8 });
    same(viaNode('ADD', conf(prev, LIMITS), pod), add);
    expectOk(await viaShim('CHECK', conf(add.json, LIMITS), pod, env, inNode));
    expectOk(await viaShim('DEL', conf(prev, LIMITS), pod, env, inNode));
    expect(state.qdiscs(hostVeth(prev)).map((q) => q.kind)).toEqual(['noqueue']);
    expect(await inNode.stop()).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
  });
});

describe('falling back to the Node plugin', () => {
  let pod: Pod;
  let prev: any;
  beforeAll(() => {
    pod = bed.pod('fb');
    prev = bed.addPtp(pod, NETWORK, SUBNET);
  });
  afterEach(() => viaNode('DEL', conf(prev, LIMITS), pod));

  /** ADD through the shim as `env` directs it, then the Node plugin: the same output, nothing more to change. */
  async function addLikeNode(
    env: Record<string, string>,
    s?: CniServerProcess,
    kind?: 'served' | 'fallback',
  ) {
    const r = s
      ? await viaShim('ADD', conf(prev, LIMITS), pod, env, s, kind)
      : await bed.invokeAsync(shim, 'ADD', conf(prev, LIMITS), pod, env);
    expect(r.code).toBe(0);
    const before = bed.snapshot();
    same(viaNode('ADD', conf(prev, LIMITS), pod), r);
    expect(bed.snapshot()).toEqual(before);
    return r;
  }

  test('no server: the same output as the Node plugin; bad input too', async () => {
    const env = { NETQOS_CNI_SOCKET: path.join(bed.dir, 'run', 'nobody.sock') };
    await addLikeNode(env);
    const bad = await bed.invokeAsync(shim, 'ADD', '{"cniVersion": "1.0.0", "name"', pod, env);
    same(bad, viaNode('ADD', '{"cniVersion": "1.0.0", "name"', pod));
    expect(bad.json).toMatchObject({ code: 6 });
  });

  test('a killed server leaves its socket behind: connection refused, the fallback; a new server replaces the stale socket and serves', async () => {
    const socket = path.join(bed.dir, 'run', 'killed.sock');
    const killed = await startServer(socket);
    await killed.stop('SIGKILL');
    expect(fs.statSync(socket).isSocket()).toBe(true);
    await addLikeNode({ NETQOS_CNI_SOCKET: socket });
    const again = await startServer(socket);
    await addLikeNode({ NETQOS_CNI_SOCKET: socket }, again, 'served');
    expect(await again.stop()).toBe(0);
  });

  test('a server in another PID namespace cannot see the plugin\'s pid: it answers "fallback", and the Node plugin does the work', async () => {
    const socket = path.join(bed.dir, 'run', 'pidns.sock');
    const blind = await startServer(socket, [
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child=SIGTERM',
    ]);
    await addLikeNode({ NETQOS_CNI_SOCKET: socket }, blind, 'fallback');
    expect(blind.events().at(-1)!.reason).toMatch(/network namespace/);
    await blind.stop('SIGKILL'); // unshare ignores SIGTERM; --kill-child passes it on to the server
  });

  test('a server whose records directory is another one (its own mount namespace): "fallback" for that dataDir only', async () => {
    const privateDir = fs.mkdtempSync(path.join(bed.dir, 'private-'));
    const socket = path.join(bed.dir, 'run', 'mnt.sock');
    // The server sees an empty tmpfs where the plugin sees privateDir.
    const other = await startServer(socket, [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs nqtest "$0" && exec "$@"',
      privateDir,
    ]);
    const env = { NETQOS_CNI_SOCKET: socket };
    const privateConf = conf(prev, { ...LIMITS, dataDir: path.join(privateDir, 'netqos') });
    const r = await viaShim('ADD', privateConf, pod, env, other, 'fallback');
    expect(r.code).toBe(0);
    expect(other.events().at(-1)!.reason).toContain(
      `dataDir ${path.join(privateDir, 'netqos')} is not the same directory there`,
    );
    // The record is where the runtime's side looks for it.
    expect(fs.existsSync(path.join(privateDir, 'netqos', NETWORK, `${pod.containerId}@eth0.json`))).toBe(
      true,
    );
    expectOk(await viaShim('DEL', privateConf, pod, env, other, 'fallback'));
    // The shared directory is the same on both sides: served.
    await addLikeNode(env, other, 'served');
    expect(await other.stop()).toBe(0);
  });
});

describe('the agent serves the plugin too (--cni-socket)', () => {
  test('ADD and DEL through `netqos agent --manifests DIR --cni-socket PATH`; SIGTERM removes the socket', async () => {
    const socket = path.join(bed.dir, 'run', 'agent.sock');
    const manifests = fs.mkdtempSync(path.join(bed.dir, 'manifests-'));
    const cli = path.join(__dirname, '../../dist/lib/cli/main.js');
    // In the node namespace: the agent's own reconcile works there, never in the root namespace.
    const agent = spawn(
      'ip',
      [
        'netns',
        'exec',
        bed.node,
        process.execPath,
        cli,
        'agent',
        '--manifests',
        manifests,
        '--no-metrics',
        '--log-level',
        'debug',
        '--cni-socket',
        socket,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    agent.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => agent.on('close', r));
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 1500 && !what() && agent.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(what()).toBe(true);
    };
    const lines = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { component?: string; msg: string; command?: string; code?: number });
    try {
      await until(() => lines().some((l) => l.msg === 'agent started'));
      const pod = bed.pod('agent');
      const prev = bed.addPtp(pod, NETWORK, SUBNET);
      const env = { NETQOS_CNI_SOCKET: socket };
      const add = await bed.invokeAsync(shim, 'ADD', conf(prev, LIMITS), pod, env);
      expect(add.code).toBe(0);
      await until(() =>
        lines().some(
          (l) => l.component === 'cni' && l.msg === 'served' && l.command === 'ADD' && l.code === 0,
        ),
      );
      expect(state.rootOf(hostVeth(prev))!.options).toMatchObject({ rate: RATE / 8 });
      same(viaNode('ADD', conf(prev, LIMITS), pod), add);
      expectOk(await bed.invokeAsync(shim, 'DEL', conf(prev, LIMITS), pod, env));
      expect(state.qdiscs(hostVeth(prev)).map((q) => q.kind)).toEqual(['noqueue']);
    } finally {
      if (agent.exitCode === null) process.kill(agent.pid!, 'SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.existsSync(socket)).toBe(false);
  });
});
