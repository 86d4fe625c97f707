// Reads are invisible: with `tc monitor` and `ip monitor` listening in the namespace, every read
// netqos makes (the CLI's show and plan, readQos, planQos, the public dumps, an apply with
// nothing to change, the CNI plugin's CHECK, the agent's resync and its /metrics) makes the
// kernel notify nobody. A marker change (a TBF replaced and an MTU changed on a spare veth)
// before and after each read brackets what the monitors printed meanwhile: only the markers.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { makeLogger, startAgent } from '../../lib/agent';
import { installPlugin } from '../../lib/cni/install';
import { openNetlink } from '../../lib/handle';
import {
  applyQos,
  applyQosSync,
  calicoInterfaceName,
  planQos,
  planQosSync,
  readQos,
  readQosSync,
  type QosTarget,
} from '../../lib/qos';
import { CniTestbed, type Pod } from '../../bench/lib/cni-testbed';
import { sh, tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const LIMITS = { [IN]: '10M', [OUT]: '20M' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `ip monitor` and `tc monitor` in one namespace, and the marker changes that bracket a read. */
class Listeners {
  private readonly ip: ChildProcess;
  private readonly tc: ChildProcess;
  private ipOut = '';
  private tcOut = '';
  private marks = 0;

  constructor(
    private readonly netns: string,
    private readonly marker: string,
  ) {
    this.ip = spawn('ip', ['-n', netns, '-o', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.tc = spawn('tc', ['-n', netns, 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.ip.stdout!.setEncoding('utf8').on('data', (d: string) => (this.ipOut += d));
    this.tc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.tcOut += d));
  }

  /** One marker change, returned once both monitors have printed it. */
  async mark(): Promise<void> {
    const k = ++this.marks;
    const mtu = 1300 + (k % 100);
    const rate = `${k}Mbit`;
    const tbf = ['qdisc', 'replace', 'dev', this.marker, 'root', 'tbf', 'rate', rate, 'burst', '32k'];
    sh('tc', ['-n', this.netns, ...tbf, 'latency', '10ms']);
    sh('ip', ['-n', this.netns, 'link', 'set', this.marker, 'mtu', String(mtu)]);
    const deadline = Date.now() + 10_000;
    while (!this.tcOut.includes(`rate ${rate} `) || !this.ipOut.includes(`mtu ${mtu} `)) {
      if (Date.now() > deadline) throw new Error(`the monitors did not print marker ${k}`);
      await sleep(10);
    }
  }

  /** What the monitors printed while `read` ran, markers left out: nothing, for a silent read. */
  async during(read: () => unknown): Promise<string[]> {
    await this.mark();
    const from = { ip: this.ipOut.length, tc: this.tcOut.length };
    await read();
    await this.mark();
    return [...this.ipOut.slice(from.ip).split('\n'), ...this.tcOut.slice(from.tc).split('\n')].filter(
      (line) => line.trim() && !line.includes(this.marker),
    );
  }

  stop(): void {
    this.ip.kill();
    this.tc.kill();
  }
}

/** A namespace without IPv6 (address configuration would print in `ip monitor`). */
function quietNetns(prefix: string): Netns {
  const ns = tempNetns(prefix);
  sh('ip', ['netns', 'exec', ns.name, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
  sh('ip', ['netns', 'exec', ns.name, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
  return ns;
}

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('in a namespace with pods configured by netqos and other tools', () => {
  let ns: Netns;
  let listeners: Listeners;
  // Five pod interfaces: reads of up to four interfaces ask for each object, more list them.
  const pods = [0, 1, 2, 3, 4].map((i) => calicoInterfaceName('silent', `pod-${i}`));
  const targets = (): QosTarget[] => pods.map((ifname) => ({ ifname, netns: ns.name, annotations: LIMITS }));
  const one = (): QosTarget[] => targets().slice(0, 1);

  beforeAll(async () => {
    ns = quietNetns('nqs');
    ns.veth('mark0', 'mark1');
    for (const [i, p] of pods.entries()) ns.veth(p, `peer${i}`);
    await applyQos(targets());
    // Another tool's objects: a filter on a pod's hook redirecting elsewhere, a TBF elsewhere.
    sh('tc', [
      ...['-n', ns.name, 'filter', 'add', 'dev', pods[1], 'egress', 'prio', '7', 'protocol', 'all'],
      ...['u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', 'peer1'],
    ]);
    sh('tc', [
      ...['-n', ns.name, 'qdisc', 'replace', 'dev', 'peer4', 'root'],
      ...['tbf', 'rate', '5mbit', 'burst', '32k', 'latency', '10ms'],
    ]);
    // An HTB tree and a chain on a hook, for the reads of classes and chains.
    ns.veth('tree0', 'tree1');
    const tc = (...args: string[]) => sh('tc', ['-n', ns.name, ...args]);
    tc('qdisc', 'add', 'dev', 'tree0', 'root', 'handle', '1:', 'htb', 'default', '10');
    tc('class', 'add', 'dev', 'tree0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '20mbit');
    tc('class', 'add', 'dev', 'tree0', 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '5mbit');
    tc('qdisc', 'add', 'dev', 'tree0', 'clsact');
    tc('chain', 'add', 'dev', 'tree0', 'egress', 'chain', '5');
    listeners = new Listeners(ns.name, 'mark0');
  });
  afterAll(() => listeners?.stop());

  test.each([
    ['readQos, one interface', () => readQos(one())],
    ['readQos, five interfaces', () => readQos(targets())],
    ['readQosSync, one interface', () => readQosSync(one())],
    ['planQos, one interface', () => planQos(one())],
    ['planQos, five interfaces', () => planQos(targets())],
    ['planQosSync, one interface', () => planQosSync(one())],
    [
      'applyQos with nothing to change (async, sync, one and five interfaces)',
      async () => {
        expect((await applyQos(one())).sent).toBe(0);
        expect((await applyQos(targets())).sent).toBe(0);
        expect(applyQosSync(one()).sent).toBe(0);
      },
    ],
    [
      'the public dumps, and a watching handle reading its mirror',
      async () => {
        const nl = openNetlink({ netns: ns.name });
        try {
          nl.dumpSync({ type: 'link' });
          await nl.dump({ type: 'link', dev: pods[0] });
          await nl.dump({ type: 'qdisc' });
          nl.dumpSync({ type: 'qdisc', dev: pods[0] });
          await nl.dump({ type: 'filter', dev: pods[0] });
          nl.dumpSync({ type: 'filter', dev: pods[1], parent: 'egress' });
          const handles = new Map([[ns.name, nl]]);
          await nl.watch();
          await readQos(targets(), { handles });
          expect((await applyQos(targets(), { handles })).sent).toBe(0);
        } finally {
          nl.close();
        }
      },
    ],
    [
      'classes and chains, by name and by index',
      async () => {
        const nl = openNetlink({ netns: ns.name });
        try {
          const [tree] = nl.dumpSync({ type: 'link', dev: 'tree0' });
          const classes = await nl.dump({ type: 'class', dev: 'tree0' });
          expect(classes.map((c) => `${c.dev} ${c.classid} ${c.parent}`).sort()).toEqual([
            'tree0 1:1 root',
            'tree0 1:10 1:1',
          ]);
          expect(nl.dumpSync({ type: 'class', dev: tree!.index }).map((c) => c.dev)).toEqual([
            'tree0',
            'tree0',
          ]);
          const chain5 = { type: 'chain', dev: 'tree0', parent: 'egress', chain: 5 };
          expect(await nl.dump({ type: 'chain', dev: 'tree0', parent: 'egress' })).toContainEqual(
            expect.objectContaining(chain5),
          );
          expect(nl.dumpSync({ type: 'chain', dev: tree!.index, parent: 'egress' })).toContainEqual(
            expect.objectContaining(chain5),
          );
          expect(await nl.dump({ type: 'chain', dev: 'tree0', parent: 'ingress' })).toEqual([]);
        } finally {
          nl.close();
        }
      },
    ],
    ['netqos show IFNAME', () => expect(cli('show', pods[0], '--netns', ns.name).code).toBe(0)],
    ['netqos show (every interface)', () => expect(cli('show', '--netns', ns.name).code).toBe(0)],
    [
      'netqos plan IFNAME',
      () => expect(cli('plan', pods[0], '--netns', ns.name, '-a', `${IN}=10M`).code).toBe(0),
    ],
    [
      'netqos apply IFNAME with what it has',
      () =>
        expect(cli('apply', pods[0], '--netns', ns.name, '-a', `${IN}=10M`, '-a', `${OUT}=20M`).code).toBe(0),
    ],
  ])('%s: the monitors print nothing', async (_name, read) => {
    expect(await listeners.during(read)).toEqual([]);
  });

  test('the agent: its start, its resyncs and a /metrics scrape', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqs-manifests-'));
    try {
      for (const [i] of pods.entries()) {
        fs.writeFileSync(
          path.join(dir, `pod-${i}.yaml`),
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-${i}\n  namespace: silent\n  annotations:\n` +
            `    ${IN}: "10M"\n    ${OUT}: "20M"\nspec:\n  containers:\n  - name: c\n    image: busybox\n`,
        );
      }
      const quiet = new Writable({ write: (_c, _e, done) => done() });
      let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
      const printed = await listeners.during(async () => {
        agent = await startAgent({
          manifests: dir,
          netns: ns.name,
          listen: '127.0.0.1:0',
          resyncSeconds: 0.2,
          debounceMs: 20,
          logger: makeLogger('info', quiet),
        });
        await agent.whenReady();
        await sleep(700); // a few resyncs
        const port = agent.address!.port;
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
              let text = '';
              res.setEncoding('utf8').on('data', (d: string) => (text += d));
              res.on('end', () => resolve(text));
            })
            .on('error', reject);
        });
        expect(body).toMatch(/netqos_agent_reconciles_total\{trigger="resync",result="ok"\} [1-9]/);
        expect(agent.reconciler.messages()).toBe(0);
        await agent.stop();
      });
      expect(printed).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the CNI plugin's CHECK", () => {
  let bed: CniTestbed;
  let pod: Pod;
  let prev: unknown;
  let plugin: string;
  let listeners: Listeners;
  const conf = (prevResult: unknown) => ({
    cniVersion: '1.0.0',
    name: 'nqsnet',
    type: 'netqos',
    dataDir: path.join(bed.dir, 'netqos'),
    ingressRate: 10_000_000,
    ingressBurst: 1_000_000,
    egressRate: 20_000_000,
    egressBurst: 2_000_000,
    prevResult,
  });

  beforeAll(() => {
    bed = new CniTestbed('nqs');
    sh('ip', ['netns', 'exec', bed.node, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
    sh('ip', ['netns', 'exec', bed.node, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    sh('ip', ['-n', bed.node, 'link', 'add', 'mark0', 'type', 'veth', 'peer', 'name', 'mark1']);
    plugin = installPlugin({ dir: path.join(bed.dir, 'bin'), shim: false }).executable;
    pod = bed.pod('check');
    prev = bed.addPtp(pod, 'nqsnet', '198.18.41.0/24');
    const add = bed.invoke(plugin, 'ADD', conf(prev), pod);
    expect(add.code).toBe(0);
    listeners = new Listeners(bed.node, 'mark0');
  });
  afterAll(() => {
    listeners?.stop();
    bed?.destroy();
  });

  test('CHECK passes and the monitors print nothing', async () => {
    const printed = await listeners.during(() => {
      const r = bed.invoke(plugin, 'CHECK', conf(prev), pod);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 0,
        stdout: '',
        stderr: '',
      });
    });
    expect(printed).toEqual([]);
  });
});
