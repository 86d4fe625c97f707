// The agent with controls on the nftables dataplane (this kernel lacks act_police and act_pedit,
// so --dataplane auto puts packet rate and DSCP there; connection limits always are): applied
// from the manifests, a chain deleted by hand back at the next resync, the counters on /metrics,
// and a deleted pod's chains collected with it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { calicoInterfaceName } from '../../lib/qos';
import { AgentProcess, get, podYaml, sample, waitFor, waitForAddon } from '../helpers/agent';
import { sh, tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(120_000);

const Q = 'qos.projectcalico.org/';
const A = calicoInterfaceName('nft', 'pod-a');
const B = calicoInterfaceName('nft', 'pod-b');

let node: Netns;
let pod: Netns;
let dir: string;
let agent: AgentProcess | undefined;

const nft = (...args: string[]) => sh('ip', ['netns', 'exec', node.name, 'nft', ...args]);
const chains = (): string[] => nft('list', 'chains', 'inet').match(/chain \S+/g) ?? [];
const metrics = async () => (await get(agent!.port, '/metrics')).body;

beforeAll(async () => {
  await waitForAddon();
  node = tempNetns('nqan');
  pod = tempNetns('nqap');
  // Pod a: routed through the node (198.18.0.2 <-> 198.18.0.1); pod b: a veth in the node.
  node.ip('link', 'add', A, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name);
  node.ip('addr', 'add', '198.18.0.1/30', 'dev', A);
  node.ip('link', 'set', A, 'up');
  pod.ip('addr', 'add', '198.18.0.2/30', 'dev', 'eth0');
  pod.ip('link', 'set', 'eth0', 'up');
  node.veth(B, 'b0');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqan-'));
  fs.writeFileSync(
    path.join(dir, 'a.yaml'),
    podYaml(
      'pod-a',
      { [`${Q}egressPacketRate`]: '1000', [`${Q}dscp`]: 'EF', [`${Q}ingressMaxConnections`]: '3' },
      'nft',
    ),
  );
  fs.writeFileSync(path.join(dir, 'b.yaml'), podYaml('pod-b', { [`${Q}ingressBandwidth`]: '10M' }, 'nft'));
  agent = await new AgentProcess(['--manifests', dir, '--netns', node.name, '--resync', '2']).started();
  await waitFor(
    'both pods applied',
    async () => sample(await metrics(), 'netqos_agent_pods', { state: 'applied' }) === 2,
    30_000,
  );
});

afterAll(async () => {
  await agent?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("pod a's controls are nftables rules; a chain deleted by hand is back at the next resync", async () => {
  const index = node.ifindex(A);
  expect(chains()).toEqual(
    expect.arrayContaining([`chain from-${A}-${index}`, `chain to-${A}-${index}`, 'chain prerouting']),
  );
  nft('delete', 'element', 'inet', 'netqos', 'from-pod', `{ ${index} }`);
  nft('delete', 'chain', 'inet', 'netqos', `from-${A}-${index}`);
  await waitFor('the chain back', () => chains().includes(`chain from-${A}-${index}`), 15_000);
  expect(nft('list', 'map', 'inet', 'netqos', 'from-pod')).toContain(`jump from-${A}-${index}`);
  expect(agent!.problems()).toEqual([]);
});

test('/metrics: packets re-marked, dropped over the packet rate, connections reset, per pod and direction', async () => {
  const labels = { namespace: 'nft', pod: 'pod-a', interface: A };
  // 20 pings from the pod with ECT(0): each one re-marked EF on its way out of the pod.
  sh('ip', ['netns', 'exec', pod.name, 'ping', '-q', '-c', '20', '-i', '0.02', '-Q', '2', '198.18.0.1']);
  const body = await waitFor(
    'the re-marked packets counted',
    async () => {
      const m = await metrics();
      const remarked = sample(m, 'netqos_pod_remarked_packets_total', { ...labels, direction: 'egress' });
      return (remarked ?? 0) >= 20 ? m : undefined;
    },
    10_000,
  );
  expect(sample(body, 'netqos_pod_packet_rate_drops_total', { ...labels, direction: 'egress' })).toBe(0);
  expect(sample(body, 'netqos_pod_rejected_connections_total', { ...labels, direction: 'ingress' })).toBe(0);
  // Pod b has a shaper only: no nftables series.
  expect(
    sample(body, 'netqos_pod_remarked_packets_total', { pod: 'pod-b', direction: 'egress' }),
  ).toBeUndefined();
  expect(sample(body, 'netqos_pod_bytes_total', { pod: 'pod-b', direction: 'ingress' })).toBeDefined();
});

test("a deleted pod's chains go with it; the table goes when nothing of netqos's is left in it", async () => {
  fs.rmSync(path.join(dir, 'a.yaml'));
  node.ip('link', 'del', A);
  await waitFor(
    'the table gone',
    () => !nft('list', 'tables').includes('netqos'),
    15_000,
    () => chains().join(' '),
  );
  expect(sample(await metrics(), 'netqos_agent_orphans_collected_total', { kind: 'nftables' })).toBe(2);
  expect(agent!.problems()).toEqual([]);
});
