// The agent's namespace (--netns NAME) deleted and created again under it while it runs: the
// kernel tells the agent's sockets nothing (they keep the old namespace alive), so the agent
// checks the name's identity. Deleted: an error line, /readyz 503 with the reason,
// netqos_agent_namespace_up 0, no pod counted as applied; created again (or replaced at once):
// QoS in the new namespace within one resync, with the manifest edits made meanwhile.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeLogger, startAgent, type Agent } from '../../lib/agent';
import { calicoInterfaceName } from '../../lib/qos';
import {
  IN,
  OUT,
  captureLogs,
  get,
  podYaml,
  sample,
  sleep,
  tcRates as rates,
  waitFor,
  waitForAddon,
} from '../helpers/agent';
import { sh, tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(60_000);

const a = calicoInterfaceName('default', 'ns-a');
const b = calicoInterfaceName('default', 'ns-b');
let ns: Netns;
let dir: string;
let agent: Agent | undefined;
const { lines, stream } = captureLogs();

/** The namespace under the same name, new, with the pods' interfaces. */
function recreate(): void {
  sh('ip', ['netns', 'add', ns.name]);
  ns.ip('link', 'set', 'lo', 'up');
  ns.veth(a, 'pa0').veth(b, 'pb0');
}

beforeAll(async () => {
  await waitForAddon();
  ns = tempNetns('nqg');
  ns.veth(a, 'pa0').veth(b, 'pb0');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqg-netns-'));
  fs.writeFileSync(path.join(dir, 'a.yaml'), podYaml('ns-a', { [IN]: '10M', [OUT]: '10M' }));
  fs.writeFileSync(path.join(dir, 'b.yaml'), podYaml('ns-b', { [IN]: '5M' }));
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  ns?.remove();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const RESYNC_MS = 1500;

test('deleted: said (log, /readyz 503, namespace_up 0, nothing applied); created again: QoS back within one resync', async () => {
  agent = await startAgent({
    manifests: dir,
    netns: ns.name,
    listen: '127.0.0.1:0',
    resyncSeconds: RESYNC_MS / 1000,
    debounceMs: 20,
    rescanMs: 300,
    linkCheckMs: 0, // the resync alone must notice
    logger: makeLogger('debug', stream),
  });
  await agent.whenReady();
  const port = agent.address!.port;
  expect(rates(ns.name, a)).toEqual({ in: 10e6, out: 10e6 });
  expect(rates(ns.name, b)).toEqual({ in: 5e6, out: undefined });
  let m = (await get(port, '/metrics')).body;
  expect(sample(m, 'netqos_agent_namespace_up')).toBe(1);
  expect(sample(m, 'netqos_agent_pods', { state: 'applied' })).toBe(2);
  expect((await get(port, '/readyz')).status).toBe(200);

  sh('ip', ['netns', 'del', ns.name]);
  const t0 = Date.now();
  const readyz = await waitFor('/readyz 503', async () => {
    const r = await get(port, '/readyz');
    return r.status === 503 ? r : undefined;
  });
  const noticed = Date.now() - t0;
  expect(noticed).toBeLessThan(RESYNC_MS + 1000);
  expect(readyz.body).toBe(
    `not ready: network namespace "${ns.name}" was deleted (/var/run/netns/${ns.name} no longer exists)\n`,
  );
  expect(lines.find((l) => l.level === 'error')).toMatchObject({
    netns: ns.name,
    reason: expect.stringContaining('was deleted'),
  });
  expect((await get(port, '/healthz')).status).toBe(200); // alive: a restart would not help
  await waitFor('metrics say so', async () => {
    m = (await get(port, '/metrics')).body;
    return sample(m, 'netqos_agent_namespace_up') === 0;
  });
  expect(sample(m, 'netqos_agent_pods', { state: 'applied' })).toBe(0);
  expect(sample(m, 'netqos_agent_pods', { state: 'waiting' })).toBe(2);
  expect(sample(m, 'netqos_pod_bytes_total')).toBeUndefined();
  expect(sample(m, 'netqos_agent_reconcile_errors_total', { reason: 'namespace' })).toBe(1);

  // An edit while it is gone, then a few resyncs: nothing else is logged as an error.
  fs.writeFileSync(path.join(dir, 'b.yaml'), podYaml('ns-b', { [IN]: '7M', [OUT]: '3M' }));
  await sleep(2 * RESYNC_MS);
  expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
  expect(agent.reconciler.stateOf('default/ns-b')).toBe('waiting');

  recreate();
  const t1 = Date.now();
  await waitFor(
    'QoS in the new namespace',
    () => rates(ns.name, a).in === 10e6 && rates(ns.name, a).out === 10e6 && rates(ns.name, b).in === 7e6,
  );
  const back = Date.now() - t1;
  console.log(
    `namespace deleted: noticed in ${noticed} ms; created again: QoS back in ${back} ms (resync ${RESYNC_MS} ms)`,
  );
  expect(back).toBeLessThan(RESYNC_MS + 1000);
  expect(rates(ns.name, b)).toEqual({ in: 7e6, out: 3e6 });
  expect((await get(port, '/readyz')).status).toBe(200);
  m = (await get(port, '/metrics')).body;
  expect(sample(m, 'netqos_agent_namespace_up')).toBe(1);
  expect(sample(m, 'netqos_agent_pods', { state: 'applied' })).toBe(2);
  expect(lines.some((l) => l.msg === 'the network namespace is back; reconciling every pod')).toBe(true);
});

test('replaced at once (deleted and created again between two checks): QoS in the new one within one resync', async () => {
  const errorsBefore = lines.filter((l) => l.level === 'error').length;
  sh('ip', ['netns', 'del', ns.name]);
  recreate();
  const t0 = Date.now();
  await waitFor(
    'QoS in the replacement',
    () => rates(ns.name, a).in === 10e6 && rates(ns.name, b).in === 7e6 && rates(ns.name, b).out === 3e6,
  );
  const back = Date.now() - t0;
  console.log(`namespace replaced: QoS back in ${back} ms (resync ${RESYNC_MS} ms)`);
  expect(back).toBeLessThan(RESYNC_MS + 1000);
  const said = lines.filter((l) => l.level === 'error').slice(errorsBefore);
  expect(said).toEqual([
    expect.objectContaining({
      reason: `network namespace "${ns.name}" was replaced: /var/run/netns/${ns.name} now names another namespace`,
    }),
  ]);
  expect((await get(agent!.address!.port, '/readyz')).status).toBe(200);
  await agent!.stop();
  agent = undefined;
});
