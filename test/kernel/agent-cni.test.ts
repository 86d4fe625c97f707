// The agent's CNI server (--cni-socket) and its reconciler on one pod: the CNI plugin (the real
// native shim, chained after the real ptp plugin, run in the node namespace as a runtime runs
// it) applies what its configuration says, the agent what the pod's manifest says. The pod
// source wins: after an ADD or DEL through the agent's server, the reconciler looks at the pods
// whose interface changed and puts the manifest's QoS back in its next pass, not at the next
// resync; and however the two interleave, the end state is never a mix of both.
import * as fs from 'fs';
import * as path from 'path';
import { CniTestbed, type Pod } from '../../bench/lib/cni-testbed';
import { makeLogger, startAgent, type Agent } from '../../lib/agent';
import { installPlugin } from '../../lib/cni/install';
import { IN, OUT, captureLogs, podYaml, sleep, tcRates, waitFor, waitForAddon } from '../helpers/agent';
import { hostVeth } from '../helpers/cni';

jest.setTimeout(120_000);

const NETWORK = 'nqagentcni';
const SUBNET = '198.18.43.0/24';

let bed: CniTestbed;
let shim: string;
let socket: string;
let agent: Agent | undefined;
const logs = captureLogs();

beforeAll(async () => {
  await waitForAddon();
  bed = new CniTestbed('nqn');
  socket = path.join(bed.dir, 'run', 'agent.sock');
  shim = installPlugin({ dir: path.join(bed.dir, 'bin'), socket, bundle: false }).executable;
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  bed?.destroy();
});

const conf = (prevResult: unknown, limits: Record<string, number>) => ({
  cniVersion: '1.0.0',
  name: NETWORK,
  type: 'netqos',
  dataDir: path.join(bed.dir, 'netqos'),
  ...limits,
  prevResult,
});
/** The plugin's own limits, unlike the manifest's. */
const cniLimits = (mbit: number) => ({
  ingressRate: mbit * 1e6,
  ingressBurst: 1_000_000,
  egressRate: mbit * 1e6,
  egressBurst: 1_000_000,
});

test("an ADD or DEL through the agent's server on a pod the agent shapes: the manifest's QoS is back in the next pass; never a mix", async () => {
  const manifests = fs.mkdtempSync(path.join(bed.dir, 'manifests-'));
  const pod: Pod = bed.pod('both');
  const prev = bed.addPtp(pod, NETWORK, SUBNET);
  const veth = hostVeth(prev);
  const write = (inRate: string, outRate: string) => {
    fs.writeFileSync(
      path.join(manifests, '.p.tmp'),
      podYaml('both', { 'netqos.io/interface': veth, [IN]: inRate, [OUT]: outRate }),
    );
    fs.renameSync(path.join(manifests, '.p.tmp'), path.join(manifests, 'p.yaml'));
  };
  write('10M', '20M');
  agent = await startAgent({
    manifests,
    netns: bed.node,
    listen: null,
    resyncSeconds: 60, // far: only the recheck after the CNI request can repair in time
    debounceMs: 50,
    rescanMs: 300,
    linkCheckMs: 0,
    cniSocket: socket,
    logger: makeLogger('debug', logs.stream),
  });
  await agent.whenReady();
  const rates = () => tcRates(bed.node, veth);
  expect(rates()).toEqual({ in: 10e6, out: 20e6 });
  const env = { NETQOS_CNI_SOCKET: socket };
  const served = (command: string) =>
    logs.lines.filter((l) => l.component === 'cni' && l.msg === 'served' && l.command === command).length;

  // ADD with the plugin's own limits (3M both ways): applied, then the manifest's put back.
  const adds = served('ADD');
  const add = await bed.invokeAsync(shim, 'ADD', conf(prev, cniLimits(3)), pod, env);
  expect(add.code).toBe(0);
  expect(served('ADD')).toBe(adds + 1); // the agent served it (not the fallback)
  const t0 = Date.now();
  await waitFor('the manifest QoS back after ADD', () => rates().in === 10e6 && rates().out === 20e6, 5000);
  const afterAdd = Date.now() - t0;

  // DEL: cleared by the plugin, put back by the agent (the pod is still in the manifest).
  const del = await bed.invokeAsync(shim, 'DEL', conf(prev, cniLimits(3)), pod, env);
  expect(del.code).toBe(0);
  const t1 = Date.now();
  await waitFor('the manifest QoS back after DEL', () => rates().in === 10e6 && rates().out === 20e6, 5000);
  const afterDel = Date.now() - t1;

  // Interleaved: manifest edits and ADDs with other limits at once, many rounds. Once both
  // settle, the state is the last manifest's in both directions.
  const rounds = 15;
  let last = { in: 0, out: 0 };
  for (let i = 0; i < rounds; i++) {
    const inM = 11 + i;
    const outM = 31 + i;
    write(`${inM}M`, `${outM}M`);
    last = { in: inM * 1e6, out: outM * 1e6 };
    await Promise.all([
      bed.invokeAsync(shim, 'ADD', conf(prev, cniLimits(2 + i)), pod, env),
      sleep(Math.floor(Math.random() * 80)),
    ]);
  }
  await waitFor(
    'the last manifest in force, both ways',
    () => rates().in === last.in && rates().out === last.out,
    5000,
  );
  await sleep(500); // and it stays so
  expect(rates()).toEqual(last);
  console.log(
    `agent vs CNI on one pod: manifest QoS back ${afterAdd} ms after ADD, ${afterDel} ms after DEL (resync 60 s)`,
  );
  expect(agent.reconciler.stateOf('default/both')).toBe('applied');
  expect(logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  await agent.stop();
  agent = undefined;
});
