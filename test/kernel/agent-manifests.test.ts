// The agent in manifest-directory mode, with real files on disk, against pod interfaces in a
// throwaway namespace (nqg-...): add / modify / delete, invalid annotations, interfaces that come
// late, a restart that sends nothing, drift repaired within one resync, orphans collected at
// start, a kill in the middle of a reconcile, and /metrics moving while iperf3 runs through a pod.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeLogger, startAgent, type Agent, type AgentOptions } from '../../lib/agent';
import { openNetlink } from '../../lib/handle';
import { applyQos, calicoInterfaceName, ifbNameFor, readQos } from '../../lib/qos';
import {
  IN,
  OUT,
  captureLogs,
  get,
  podYaml,
  sample,
  sleep,
  tcQdiscs,
  tcRates,
  waitFor,
  waitForAddon,
  type Captured,
} from '../helpers/agent';
import { runClient, startServer, stop as stopProcess } from '../helpers/iperf';
import { sh, tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');

/** Writes a manifest atomically (as tools do: a temporary file renamed into place). */
function writePod(dir: string, file: string, text: string): void {
  const tmp = path.join(dir, `.${file}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(dir, file));
}

/** The QoS on an interface as tc sees it: root TBF and IFB TBF rates, bit/s, and whether its IFB exists. */
function rates(ns: Netns, ifname: string): { in?: number; out?: number; ifb: boolean } {
  const links = JSON.parse(sh('ip', ['-n', ns.name, '-j', 'link', 'show']) || '[]') as { ifname: string }[];
  return {
    ...tcRates(ns.name, ifname, tcQdiscs(ns.name)),
    ifb: links.some((l) => l.ifname === ifbNameFor(ifname)),
  };
}

function ifbCount(ns: Netns): number {
  return (JSON.parse(sh('ip', ['-n', ns.name, '-j', 'link', 'show', 'type', 'ifb']) || '[]') as unknown[])
    .length;
}

const running = new Set<Agent>();
const children = new Set<ChildProcess>();
const dirs: string[] = [];

async function agentFor(
  ns: Netns,
  dir: string,
  extra: Partial<AgentOptions> = {},
): Promise<{ agent: Agent; logs: Captured }> {
  const logs = captureLogs();
  const agent = await startAgent({
    manifests: dir,
    netns: ns.name,
    listen: '127.0.0.1:0',
    resyncSeconds: 1,
    debounceMs: 20,
    retryMinMs: 100,
    retryMaxMs: 800,
    rescanMs: 500,
    logger: makeLogger('debug', logs.stream),
    ...extra,
  });
  running.add(agent);
  return { agent, logs };
}

async function stopAgent(agent: Agent): Promise<void> {
  running.delete(agent);
  await agent.stop();
}

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nqg-manifests-'));
  dirs.push(d);
  return d;
}

beforeAll(waitForAddon);

afterAll(async () => {
  for (const a of running) await a.stop().catch(() => undefined);
  for (const c of children) stopProcess(c);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('manifest directory', () => {
  let ns: Netns;
  let dir: string;
  const a = calicoInterfaceName('default', 'web-a');
  const c = calicoInterfaceName('shop', 'web-c');
  const d = calicoInterfaceName('default', 'late-d');

  beforeAll(() => {
    ns = tempNetns('nqg');
    dir = tempDir();
    ns.veth(a, 'pa0');
    ns.veth('podb0', 'pb0');
    ns.veth(c, 'pc0');
  });

  afterAll(() => ns.remove());

  test('add, modify and delete files; invalid annotations reported; a late interface is retried', async () => {
    writePod(dir, 'a.yaml', podYaml('web-a', { [IN]: '10M', [OUT]: '10M' }));
    // b names its interface explicitly; c's annotations are invalid; d's interface comes later.
    writePod(
      dir,
      'b.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-b', annotations: { 'netqos.io/interface': 'podb0', [IN]: '5M' } },
      }),
    );
    writePod(dir, 'c.yaml', podYaml('web-c', { [IN]: '10 megabits' }, 'shop'));
    writePod(dir, 'd.yaml', podYaml('late-d', { [OUT]: '3M' }));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a manifest');

    const { agent, logs } = await agentFor(ns, dir);
    await agent.whenReady();
    expect(rates(ns, a)).toEqual({ in: 10e6, out: 10e6, ifb: true });
    expect(rates(ns, 'podb0')).toEqual({ in: 5e6, out: undefined, ifb: false });
    expect(rates(ns, c)).toEqual({ in: undefined, out: undefined, ifb: false });
    expect(agent.reconciler.stateOf('shop/web-c')).toBe('invalid');
    expect(agent.reconciler.stateOf('default/late-d')).toBe('waiting');
    const complaint = logs.lines.find((l) => l.pod === 'shop/web-c' && l.reason === 'InvalidQoSAnnotations');
    expect(complaint).toMatchObject({ level: 'warn', source: path.join(dir, 'c.yaml') });
    expect(String(complaint!.problem)).toMatch(/ingressBandwidth.*10 megabits/);

    // The interface appears: picked up by the retry backoff.
    ns.veth(d, 'pd0');
    await waitFor('late-d shaped', () => rates(ns, d).out === 3e6);

    // Modify: new rates in place; c fixed.
    writePod(dir, 'a.yaml', podYaml('web-a', { [IN]: '20M', [OUT]: '10M' }));
    writePod(dir, 'c.yaml', podYaml('web-c', { [IN]: '7M' }, 'shop'));
    await waitFor('web-a at 20M', () => rates(ns, a).in === 20e6);
    await waitFor('web-c at 7M', () => rates(ns, c).in === 7e6);
    expect(rates(ns, a).out).toBe(10e6);

    // Delete: everything netqos put there goes, the IFB too.
    fs.unlinkSync(path.join(dir, 'a.yaml'));
    fs.unlinkSync(path.join(dir, 'b.json'));
    await waitFor('web-a cleared', () => {
      const r = rates(ns, a);
      return r.in === undefined && r.out === undefined && !r.ifb;
    });
    await waitFor('podb0 cleared', () => rates(ns, 'podb0').in === undefined);
    expect(agent.reconciler.stateOf('default/web-a')).toBeUndefined();

    // Put a back for the next tests.
    writePod(dir, 'a.yaml', podYaml('web-a', { [IN]: '10M', [OUT]: '10M' }));
    await waitFor('web-a back', () => rates(ns, a).in === 10e6 && rates(ns, a).out === 10e6);
    const metrics = (await get(agent.address!.port, '/metrics')).body;
    expect(sample(metrics, 'netqos_agent_pods', { state: 'applied' })).toBe(3);
    expect(
      sample(metrics, 'netqos_agent_reconcile_errors_total', { reason: 'annotations' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(metrics, 'netqos_agent_reconciles_total', { trigger: 'event', result: 'ok' }),
    ).toBeGreaterThan(0);
    expect(
      sample(metrics, 'netqos_agent_orphans_collected_total', { kind: 'interface' }),
    ).toBeGreaterThanOrEqual(2);
    expect((await get(agent.address!.port, '/healthz')).status).toBe(200);
    expect((await get(agent.address!.port, '/readyz')).status).toBe(200);
    await stopAgent(agent);
  });

  test('a restart with nothing changed sends zero modifying messages', async () => {
    const { agent } = await agentFor(ns, dir);
    await agent.whenReady();
    // Two more full passes (resync every second) for good measure.
    const until = Date.now() + 2300;
    while (Date.now() < until) await sleep(100);
    expect(agent.reconciler.messages()).toBe(0);
    const metrics = (await get(agent.address!.port, '/metrics')).body;
    expect(sample(metrics, 'netqos_agent_netlink_messages_total')).toBe(0);
    expect(
      sample(metrics, 'netqos_agent_reconciles_total', { trigger: 'resync', result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'netqos_agent_pods', { state: 'applied' })).toBe(3);
    await stopAgent(agent);
  });

  test('drift (a qdisc or an IFB deleted by hand) is repaired within one resync', async () => {
    const { agent, logs } = await agentFor(ns, dir, { resyncSeconds: 1 });
    await agent.whenReady();
    sh('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', a, 'root']);
    sh('ip', ['-n', ns.name, 'link', 'del', ifbNameFor(d)]);
    sh('tc', [
      '-n',
      ns.name,
      'qdisc',
      'change',
      'dev',
      c,
      'root',
      'handle',
      '4e51:',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '10000',
      'latency',
      '25ms',
    ]);
    expect(rates(ns, a).in).toBeUndefined();
    const t0 = Date.now();
    await waitFor(
      'drift repaired',
      () => rates(ns, a).in === 10e6 && rates(ns, d).out === 3e6 && rates(ns, c).in === 7e6,
      3000,
    );
    expect(Date.now() - t0).toBeLessThan(2500); // one resync (1 s) and the pass
    expect(
      logs.lines.some((l) => l.msg === 'QoS applied' && l.pod === 'default/web-a' && l.repaired === true),
    ).toBe(true);
    expect(agent.reconciler.messages()).toBeGreaterThan(0);
    await stopAgent(agent);
  });

  test('an interface replaced under the same name (a recreated sandbox) is shaped again within the link check, not the resync', async () => {
    const { agent } = await agentFor(ns, dir, {
      resyncSeconds: 30,
      retryMinMs: 10_000,
      retryMaxMs: 10_000,
      linkCheckMs: 300,
    });
    await agent.whenReady();
    ns.ip('link', 'del', a);
    await sleep(500); // the agent sees it gone: the pod waits (retry in 10 s)
    ns.veth(a, 'pa0');
    const t0 = Date.now();
    await waitFor(
      'web-a shaped on its new interface',
      () => rates(ns, a).in === 10e6 && rates(ns, a).out === 10e6,
      5000,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    // And replaced without a gap the agent could see: the index changes.
    sh('ip', ['-n', ns.name, '-batch', '-'], `link del ${a}\nlink add ${a} type veth peer name pa0\n`);
    await waitFor('web-a shaped again', () => rates(ns, a).in === 10e6 && rates(ns, a).out === 10e6, 5000);
    expect(agent.reconciler.stateOf('default/web-a')).toBe('applied');
    await stopAgent(agent);
  });

  test('orphans are collected at start: an IFB whose interface is gone, QoS of a pod deleted while the agent was down', async () => {
    const gone = calicoInterfaceName('default', 'gone-e');
    ns.veth(gone, 'pe0');
    await applyQos([{ ifname: gone, netns: ns.name, annotations: { [IN]: '4M', [OUT]: '4M' } }]);
    // An IFB netqos made for an interface that no longer exists.
    ns.veth('vanished0', 'pv0');
    await applyQos([{ ifname: 'vanished0', netns: ns.name, annotations: { [OUT]: '4M' } }]);
    ns.ip('link', 'del', 'vanished0');
    expect(ns.ip('-j', 'link', 'show').includes(ifbNameFor('vanished0'))).toBe(true);
    // Not netqos's: left alone.
    ns.veth('other0', 'other1');
    sh('tc', [
      '-n',
      ns.name,
      'qdisc',
      'add',
      'dev',
      'other0',
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '10000',
      'latency',
      '25ms',
    ]);
    expect(rates(ns, gone)).toEqual({ in: 4e6, out: 4e6, ifb: true });

    const { agent } = await agentFor(ns, dir);
    await agent.whenReady();
    expect(rates(ns, gone)).toEqual({ in: undefined, out: undefined, ifb: false });
    expect(ns.ip('-j', 'link', 'show').includes(ifbNameFor('vanished0'))).toBe(false);
    expect(ns.tcJson('qdisc', 'show', 'dev', 'other0')[0]).toMatchObject({ kind: 'tbf', handle: '1:' });
    expect(rates(ns, a)).toEqual({ in: 10e6, out: 10e6, ifb: true });
    const metrics = (await get(agent.address!.port, '/metrics')).body;
    expect(sample(metrics, 'netqos_agent_orphans_collected_total', { kind: 'ifb' })).toBe(1);
    expect(sample(metrics, 'netqos_agent_orphans_collected_total', { kind: 'interface' })).toBe(1);
    await stopAgent(agent);
  });

  test("orphan collection deletes netqos's IFBs only: a veth or an IFB of another group named like one stays", async () => {
    // A real orphan: netqos's IFB (kind ifb, group 0x4e51) whose interface was deleted.
    ns.veth('gone1', 'pg1');
    await applyQos([{ ifname: 'gone1', netns: ns.name, annotations: { [OUT]: '4M' } }]);
    ns.ip('link', 'del', 'gone1');
    // Squatters named as netqos names an orphan IFB: a veth pair (deleting one end destroys
    // the other) and an IFB someone else made (group 0).
    const veth = ifbNameFor('nothere1');
    const foreignIfb = ifbNameFor('nothere2');
    ns.ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'squat-peer');
    ns.ip('link', 'add', foreignIfb, 'type', 'ifb');
    const names = () =>
      (JSON.parse(ns.ip('-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname);
    expect(names()).toEqual(expect.arrayContaining([ifbNameFor('gone1'), veth, 'squat-peer', foreignIfb]));

    const { agent } = await agentFor(ns, dir);
    await agent.whenReady();
    await sleep(1300); // and a resync
    const after = names();
    expect(after).not.toContain(ifbNameFor('gone1'));
    expect(after).toEqual(expect.arrayContaining([veth, 'squat-peer', foreignIfb]));
    const metrics = (await get(agent.address!.port, '/metrics')).body;
    expect(sample(metrics, 'netqos_agent_orphans_collected_total', { kind: 'ifb' })).toBe(1);
    await stopAgent(agent);
    ns.ip('link', 'del', veth);
    ns.ip('link', 'del', foreignIfb);
  });

  test("a conflict with another tool's qdisc sets that pod aside, the rest of the batch is applied; retried until it clears", async () => {
    // other0 carries another tool's root TBF (handle 1:) since the previous test.
    const g = calicoInterfaceName('default', 'web-g');
    ns.veth(g, 'pg0');
    writePod(dir, 'f.yaml', podYaml('foreign', { 'netqos.io/interface': 'other0', [IN]: '1M' }));
    writePod(dir, 'g.yaml', podYaml('web-g', { [IN]: '2M' }));
    const { agent, logs } = await agentFor(ns, dir);
    await agent.whenReady(); // one pass, one applyQos call for both pods
    expect(agent.reconciler.stateOf('default/foreign')).toBe('conflict');
    expect(rates(ns, g).in).toBe(2e6);
    expect(ns.tcJson('qdisc', 'show', 'dev', 'other0')[0]).toMatchObject({ kind: 'tbf', handle: '1:' });
    expect(
      logs.lines.find((l) => l.pod === 'default/foreign' && l.reason === 'QoSConflict')?.problem,
    ).toMatch(/belongs to another tool/);
    const metrics = (await get(agent.address!.port, '/metrics')).body;
    expect(sample(metrics, 'netqos_agent_pods', { state: 'conflict' })).toBe(1);
    expect(
      sample(metrics, 'netqos_agent_reconcile_errors_total', { reason: 'conflict' }),
    ).toBeGreaterThanOrEqual(1);
    // The other tool's qdisc goes: the retry puts the pod's QoS in place.
    sh('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', 'other0', 'root']);
    await waitFor('other0 shaped', () => rates(ns, 'other0').in === 1e6);
    fs.unlinkSync(path.join(dir, 'f.yaml'));
    fs.unlinkSync(path.join(dir, 'g.yaml'));
    await waitFor(
      'both cleared',
      () => rates(ns, 'other0').in === undefined && rates(ns, g).in === undefined,
    );
    await stopAgent(agent);
  });
});

describe('killed in the middle of a reconcile, then restarted', () => {
  const N = 400;
  let ns: Netns;
  let dir: string;
  const ifnames = Array.from({ length: N }, (_, i) => calicoInterfaceName('kill', `pod-${i}`));

  beforeAll(() => {
    ns = tempNetns('nqg');
    dir = tempDir();
    const batch = ifnames.map((ifn, i) => `link add ${ifn} type veth peer name k${i}\n`).join('');
    sh('ip', ['-n', ns.name, '-batch', '-'], batch);
    for (let i = 0; i < N; i++)
      writePod(dir, `pod-${i}.yaml`, podYaml(`pod-${i}`, { [IN]: '10M', [OUT]: '10M' }, 'kill'));
  });

  afterAll(() => ns.remove());

  test('converges', async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json`);
    const log = path.join(dir, '.agent.log');
    const out = fs.openSync(log, 'w');
    const nl = openNetlink({ netns: ns.name });
    let partial = false;
    try {
      const child = spawn(
        process.execPath,
        [
          CLI,
          'agent',
          '--manifests',
          dir,
          '--netns',
          ns.name,
          '--listen',
          '127.0.0.1:0',
          '--log-level',
          'debug',
        ],
        { stdio: ['ignore', out, out] },
      );
      children.add(child);
      // Kill it as soon as the first IFBs appear, or a dump is interrupted by the changes it
      // makes (nobody else changes this namespace): the batch is half-way.
      const deadline = Date.now() + 30_000;
      for (;;) {
        let n: number;
        try {
          n = (await nl.dump({ type: 'link' })).filter((l) => l.name.startsWith('nqifb')).length;
        } catch (e) {
          if (!/interrupted/.test((e as Error).message)) throw e;
          n = -1;
        }
        if (n !== 0) {
          child.kill('SIGKILL');
          break;
        }
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`the agent never started shaping: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
        await sleep(1);
      }
      await new Promise((r) => child.once('exit', r));
      children.delete(child);
      const statuses = await readQos(
        ifnames.map((ifname) => ({ ifname, netns: ns.name })),
        { handles: new Map([[ns.name, nl]]) },
      );
      const complete = statuses.filter(
        (s) => s.ingress.bandwidth === 10e6 && s.egress.bandwidth === 10e6,
      ).length;
      partial = complete < N;

      console.log(`killed mid-reconcile: ${complete}/${N} pods complete, ${ifbCount(ns)} IFBs`);
    } finally {
      nl.close();
      fs.closeSync(out);
    }

    const { agent } = await agentFor(ns, dir, { resyncSeconds: 30 });
    await agent.whenReady();
    const statuses = await readQos(ifnames.map((ifname) => ({ ifname, netns: ns.name })));
    expect(
      statuses.filter((s) => s.ingress.bandwidth === 10e6 && s.egress.bandwidth === 10e6 && s.egress.ifb)
        .length,
    ).toBe(N);
    expect(ifbCount(ns)).toBe(N);
    if (partial) expect(agent.reconciler.messages()).toBeGreaterThan(0);
    await stopAgent(agent);
    // And once converged, another restart sends nothing.
    const again = await agentFor(ns, dir, { resyncSeconds: 30 });
    await again.agent.whenReady();
    expect(again.agent.reconciler.messages()).toBe(0);
    await stopAgent(again.agent);
  });
});

describe('/metrics while iperf3 runs through a pod', () => {
  let node: Netns;
  let pod: Netns;
  let dir: string;
  const cali = calicoInterfaceName('default', 'iperf');

  beforeAll(() => {
    node = tempNetns('nqg');
    pod = tempNetns('nqg');
    dir = tempDir();
    node.ip('link', 'add', cali, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name);
    node.ip('addr', 'add', '198.18.0.1/30', 'dev', cali);
    pod.ip('addr', 'add', '198.18.0.2/30', 'dev', 'eth0');
    node.ip('link', 'set', cali, 'up');
    pod.ip('link', 'set', 'eth0', 'up');
  });

  afterAll(() => {
    node.remove();
    pod.remove();
  });

  test('per-pod bytes and overlimits move', async () => {
    writePod(dir, 'iperf.yaml', podYaml('iperf', { [IN]: '10M', [OUT]: '10M' }));
    const { agent } = await agentFor(node, dir, { resyncSeconds: 30 });
    await agent.whenReady();
    const port = agent.address!.port;
    const labels = { pod: 'iperf', namespace: 'default', interface: cali, direction: 'ingress' };
    const before = (await get(port, '/metrics')).body;
    const bytes0 = sample(before, 'netqos_pod_bytes_total', labels)!;
    expect(bytes0).toBeGreaterThanOrEqual(0);
    expect(sample(before, 'netqos_pod_rate_bits_per_second', labels)).toBe(10e6);
    expect(
      sample(before, 'netqos_pod_bytes_total', { ...labels, direction: 'egress' }),
    ).toBeGreaterThanOrEqual(0);

    const server = startServer(pod.name, 5231);
    try {
      await sleep(300);
      const client = runClient(node.name, '198.18.0.2', 3, { port: 5231 });
      await sleep(2000);
      const mid = (await get(port, '/metrics')).body;
      const result = await client;
      await sleep(300);
      const after = (await get(port, '/metrics')).body;
      const bytes1 = sample(mid, 'netqos_pod_bytes_total', labels)!;
      const bytes2 = sample(after, 'netqos_pod_bytes_total', labels)!;
      expect(bytes1).toBeGreaterThan(bytes0 + 500_000);
      expect(bytes2).toBeGreaterThan(bytes1 + 500_000);
      expect(sample(after, 'netqos_pod_packets_total', labels)).toBeGreaterThan(500);
      expect(sample(after, 'netqos_pod_overlimits_total', labels)).toBeGreaterThan(0);
      // Shaped to 10 Mbit/s (to the pod): the bytes counted match what iperf3 received.
      expect(result.receivedBps).toBeLessThan(12e6);
      expect(result.receivedBps).toBeGreaterThan(5e6);
      expect(bytes2 - bytes0).toBeGreaterThan((result.receivedBps / 8) * 2);
    } finally {
      stopProcess(server);
    }
    await stopAgent(agent);
  });
});
