// Churn: 1,000 pods added, changed and removed through the manifest directory, against 1,000
// veth pairs in a throwaway namespace (nqg-...). Afterwards the agent's RSS, open file descriptors
// and the namespace's IFB count are back at their baseline (loose bounds), and the per-pod metric
// series are gone.
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { makeLogger, startAgent, type Agent } from '../../lib/agent';
import { calicoInterfaceName } from '../../lib/qos';
import { waitForAddon } from '../helpers/agent';
import { sh, tempNetns, type Netns } from '../helpers/netns';

// Removing 1,000 pods deletes 1,000 IFBs, each a synchronize_net() in the kernel (~20 ms here, more
// when other tests load the machine): most of this test's time.
jest.setTimeout(180_000);

const N = 1000;
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, fn: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function podYaml(name: string, rate: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: churn\n  annotations:\n    ${IN}: "${rate}"\n    ${OUT}: "${rate}"\n`;
}

/** netqos TBFs (handle 4e51:) by rate, bit/s, and the IFB count. */
function census(ns: Netns): { tbfs: Map<number, number>; ifbs: number } {
  const qdiscs = JSON.parse(sh('tc', ['-n', ns.name, '-j', 'qdisc', 'show'], undefined) || '[]') as {
    kind: string;
    handle: string;
    options?: { rate?: number };
  }[];
  const tbfs = new Map<number, number>();
  for (const q of qdiscs)
    if (q.kind === 'tbf' && q.handle === '4e51:')
      tbfs.set(q.options!.rate! * 8, (tbfs.get(q.options!.rate! * 8) ?? 0) + 1);
  const ifbs = (
    JSON.parse(sh('ip', ['-n', ns.name, '-j', 'link', 'show', 'type', 'ifb']) || '[]') as unknown[]
  ).length;
  return { tbfs, ifbs };
}

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const rss = () => process.memoryUsage().rss;

function get(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

let ns: Netns;
let dir: string;
let agent: Agent | undefined;

beforeAll(async () => {
  await waitForAddon();
  ns = tempNetns('nqg');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqg-churn-'));
  // 1,000 veth pairs in one `ip -batch` (a few seconds).
  const lines: string[] = [];
  for (let i = 0; i < N; i++)
    lines.push(`link add ${calicoInterfaceName('churn', `pod-${i}`)} type veth peer name c${i}`);
  sh('ip', ['-n', ns.name, '-batch', '-'], lines.join('\n') + '\n');
});

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  ns?.remove();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('1,000 pods added, changed and removed; RSS, fds and IFBs back to baseline', async () => {
  const write = (i: number, rate: string) =>
    fs.writeFileSync(path.join(dir, `pod-${i}.yaml`), podYaml(`pod-${i}`, rate));
  agent = await startAgent({
    manifests: dir,
    netns: ns.name,
    listen: '127.0.0.1:0',
    resyncSeconds: 2,
    debounceMs: 50,
    logger: makeLogger('warn'),
  });
  await agent.whenReady();
  const port = agent.address!.port;

  // Warm up (JIT, allocator, the HTTP server) with a small cycle, then take the baseline.
  for (let i = 0; i < 20; i++) write(i, '5M');
  await waitFor('warm-up applied', () => census(ns).ifbs === 20);
  await get(port, '/metrics');
  for (let i = 0; i < 20; i++) fs.unlinkSync(path.join(dir, `pod-${i}.yaml`));
  await waitFor('warm-up removed', () => census(ns).ifbs === 0);
  await get(port, '/metrics');
  await sleep(200);
  const base = { rss: rss(), fds: fdCount(), ifbs: census(ns).ifbs };

  const t0 = Date.now();
  for (let i = 0; i < N; i++) write(i, '10M');
  await waitFor('1,000 pods at 10M', () => {
    const c = census(ns);
    return c.ifbs === N && c.tbfs.get(10e6) === 2 * N;
  });
  const added = Date.now() - t0;
  expect(
    (await get(port, '/metrics')).split('\n').filter((l) => l.startsWith('netqos_pod_bytes_total{')).length,
  ).toBe(2 * N);

  const t1 = Date.now();
  for (let i = 0; i < N; i++) write(i, '20M');
  await waitFor('1,000 pods at 20M', () => census(ns).tbfs.get(20e6) === 2 * N);
  const changed = Date.now() - t1;

  const t2 = Date.now();
  for (let i = 0; i < N; i++) fs.unlinkSync(path.join(dir, `pod-${i}.yaml`));
  await waitFor(
    '1,000 pods removed',
    () => {
      const c = census(ns);
      return c.ifbs === 0 && c.tbfs.size === 0;
    },
    120_000,
  );
  const removed = Date.now() - t2;
  const metrics = await get(port, '/metrics');
  expect(
    metrics
      .split('\n')
      .filter((l) => l.startsWith('netqos_pod_'))
      .filter((l) => !l.startsWith('#')).length,
  ).toBe(0);
  expect(agent.reconciler.counts()).toEqual({
    applied: 0,
    none: 0,
    waiting: 0,
    invalid: 0,
    conflict: 0,
    failed: 0,
  });
  await sleep(2500); // a resync on the empty directory

  const end = { rss: rss(), fds: fdCount(), ifbs: census(ns).ifbs };

  console.log(
    `churn of ${N} pods: added in ${added} ms, changed in ${changed} ms, removed in ${removed} ms; ` +
      `RSS ${(base.rss / 2 ** 20).toFixed(0)} -> ${(end.rss / 2 ** 20).toFixed(0)} MiB, fds ${base.fds} -> ${end.fds}, IFBs ${base.ifbs} -> ${end.ifbs}`,
  );
  expect(end.ifbs).toBe(base.ifbs);
  expect(end.fds).toBeLessThanOrEqual(base.fds + 5);
  expect(end.rss).toBeLessThan(base.rss + 150 * 2 ** 20);
  await agent.stop();
  agent = undefined;
});
