// The agent's Kubernetes source against a local API server written here (node:http on
// 127.0.0.1, a random port) that serves what @kubernetes/client-node's ListWatch uses: the pod
// list (/api/v1/pods?fieldSelector=spec.nodeName=...) with a resourceVersion, the watch
// (?watch=true, JSON lines), 410 Gone for expired resource versions, and Event creation. The
// agent runs as users run it (the compiled CLI, `netqos agent --kubeconfig ...`: the client is an
// ES module that jest cannot load), against pod interfaces in a throwaway namespace (nqg-...).
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { NativeEngineMissingError } from '../../lib/errors';
import { openNetlink } from '../../lib/handle';
import { calicoInterfaceName } from '../../lib/qos';
import { get, sample, tcRates } from '../helpers/agent';
import { tempNetns, type Netns } from '../helpers/netns';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');
const NODE = 'node-a';
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      const recent = logs
        .slice(-15)
        .map((l) => JSON.stringify(l))
        .join('\n');
      throw new Error(`timed out waiting for ${what}; the agent's last log lines:\n${recent}\n${stderr}`);
    }
    await sleep(50);
  }
}

interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: { nodeName: string; hostNetwork?: boolean; containers: { name: string; image: string }[] };
  status: { phase: string; podIP?: string };
}

function pod(
  name: string,
  annotations: Record<string, string>,
  extra: { namespace?: string; node?: string; hostNetwork?: boolean } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      uid: `uid-${name}-${Math.random().toString(16).slice(2, 10)}`,
      annotations,
    },
    spec: {
      nodeName: extra.node ?? NODE,
      ...(extra.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }],
    },
    status: { phase: 'Running', podIP: '198.18.0.10' },
  };
}

type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Pod; rv: number };

/** Just enough of the Kubernetes API for a pod ListWatch and Events. */
class FakeApiServer {
  readonly server: http.Server;
  private readonly pods = new Map<string, Pod>();
  private rv = 1000;
  private history: WatchEvent[] = [];
  /** Watches from a resourceVersion below this get 410 Gone (the history is compacted). */
  private oldest = 0;
  private readonly watchers = new Set<{ res: http.ServerResponse; selector: string | null }>();
  /** Answer the next watch with an HTTP 410 status instead of an ERROR event. */
  goneAsStatus = false;
  lists: URL[] = [];
  watches: URL[] = [];
  events: { namespace: string; body: Record<string, any> }[] = [];

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  get watching(): number {
    return this.watchers.size;
  }

  private matches(p: Pod, selector: string | null): boolean {
    if (!selector) return true;
    return selector.split(',').every((term) => {
      const [k, v] = term.split('=');
      return k === 'spec.nodeName' ? p.spec.nodeName === v : true;
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const events = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname);
    if (req.method === 'POST' && events) {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const parsed = JSON.parse(body);
        this.events.push({ namespace: events[1], body: parsed });
        json(201, {
          ...parsed,
          metadata: {
            ...parsed.metadata,
            name: `${parsed.metadata?.generateName ?? 'e.'}${this.events.length}`,
            resourceVersion: String(++this.rv),
          },
        });
      });
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/api/v1/pods')
      return json(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        code: 404,
        reason: 'NotFound',
      });
    const selector = url.searchParams.get('fieldSelector');
    if (url.searchParams.get('watch') !== 'true') {
      this.lists.push(url);
      const items = [...this.pods.values()].filter((p) => this.matches(p, selector));
      return json(200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
    }
    this.watches.push(url);
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from < this.oldest) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.oldest})`,
        reason: 'Expired',
        code: 410,
      };
      if (this.goneAsStatus) {
        this.goneAsStatus = false;
        return json(410, status);
      }
      // What the API server does: 200, one ERROR event, end of stream.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const e of this.history)
      if (e.rv > from && this.matches(e.object, selector))
        res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    const w = { res, selector };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private emit(e: WatchEvent): void {
    this.history.push(e);
    for (const w of this.watchers)
      if (this.matches(e.object, w.selector))
        w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  /** Adds or replaces a pod; `silently`: no watch event (it happened while history was lost). */
  put(p: Pod, silently = false): void {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const type = this.pods.has(key) ? 'MODIFIED' : 'ADDED';
    const obj: Pod = JSON.parse(JSON.stringify(p));
    obj.metadata.resourceVersion = String(++this.rv);
    this.pods.set(key, obj);
    if (!silently) this.emit({ type, object: obj, rv: this.rv });
  }

  annotate(namespace: string, name: string, annotations: Record<string, string>, silently = false): void {
    const p = this.pods.get(`${namespace}/${name}`)!;
    this.put({ ...p, metadata: { ...p.metadata, annotations } }, silently);
  }

  remove(namespace: string, name: string, silently = false): void {
    const key = `${namespace}/${name}`;
    const p = this.pods.get(key)!;
    this.pods.delete(key);
    const obj = { ...p, metadata: { ...p.metadata, resourceVersion: String(++this.rv) } };
    if (!silently) this.emit({ type: 'DELETED', object: obj, rv: this.rv });
  }

  /** Compacts the history: watches from any earlier resourceVersion get 410 Gone; open watches end. */
  expire(): void {
    this.oldest = this.rv + 1;
    this.history = [];
    for (const w of this.watchers) w.res.end();
  }

  /** Cuts every watch connection without a word (a network failure). */
  drop(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
  }
}

const rates = (ns: Netns, ifname: string) => tcRates(ns.name, ifname);

let ns: Netns;
let api: FakeApiServer;
let child: ChildProcess | undefined;
let tmp: string;
const logs: Record<string, any>[] = [];
let stderr = '';

const web = calicoInterfaceName('shop', 'web');
const other = calicoInterfaceName('shop', 'elsewhere');
const bad = calicoInterfaceName('default', 'bad');
const late = calicoInterfaceName('default', 'late');
const relisted = calicoInterfaceName('default', 'relisted');
const reconnected = calicoInterfaceName('default', 'reconnected');

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json`);
  for (const f of ['agent.ts', 'kubernetes.ts', 'reconciler.ts']) {
    const src = fs.statSync(path.join(ROOT, 'lib/agent', f)).mtimeMs;
    const out = fs.statSync(path.join(ROOT, 'dist/lib/agent', f.replace(/\.ts$/, '.js'))).mtimeMs;
    if (out < src)
      throw new Error(
        `dist/lib/agent/${f.replace(/\.ts$/, '.js')} is older than its source: build with npx tsc -p tsconfig.json`,
      );
  }
  for (let i = 0; ; i++) {
    try {
      openNetlink().close();
      break;
    } catch (e) {
      if (!(e instanceof NativeEngineMissingError) || i > 30) throw e;
      await sleep(2000);
    }
  }
  ns = tempNetns('nqg');
  for (const [i, ifname] of [web, other, bad, relisted, reconnected].entries()) ns.veth(ifname, `p${i}`);
  api = new FakeApiServer();
  const port = await api.listen();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nqg-k8s-'));
  const kubeconfig = path.join(tmp, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: local',
      '  cluster:',
      `    server: http://127.0.0.1:${port}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: nobody',
      '  user: {}',
      'contexts:',
      '- name: local',
      '  context: {cluster: local, user: nobody}',
      'current-context: local',
      '',
    ].join('\n'),
  );
  // Before the agent starts: a pod of this node, a pod of another node, a host-network pod.
  api.put(pod('web', { [IN]: '10M', [OUT]: '10M' }, { namespace: 'shop' }));
  api.put(pod('elsewhere', { [IN]: '1M' }, { namespace: 'shop', node: 'node-b' }));
  api.put(pod('hostnet', { [IN]: '1M' }, { hostNetwork: true }));

  const env = { ...process.env };
  delete env.KUBERNETES_SERVICE_HOST;
  child = spawn(
    process.execPath,
    [
      CLI,
      'agent',
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      NODE,
      '--netns',
      ns.name,
      '--listen',
      '127.0.0.1:0',
      '--resync',
      '2',
      '--log-level',
      'debug',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (d) => (stderr += d));
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await api?.close();
  ns?.remove();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let metricsPort = 0;

test("lists this node's pods (field selector) and shapes them; not other nodes' or host-network pods", async () => {
  await waitFor('the HTTP server', () =>
    logs.some((l) => l.msg === 'serving /metrics, /healthz and /readyz'),
  );
  metricsPort = logs.find((l) => l.msg === 'serving /metrics, /healthz and /readyz')!.address.port;
  await waitFor('ready', async () => (await get(metricsPort, '/readyz')).status === 200);
  expect(api.lists[0].searchParams.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);
  await waitFor('a watch', () => api.watching === 1);
  expect(api.watches[0].searchParams.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);
  expect(api.watches[0].searchParams.get('resourceVersion')).toBe('1003'); // the list's (three pods put)
  expect(rates(ns, web)).toEqual({ in: 10e6, out: 10e6 });
  expect(rates(ns, other)).toEqual({ in: undefined, out: undefined });
});

test('add, modify annotations, delete: the kernel follows', async () => {
  api.put(pod('relisted', { [IN]: '3M' }));
  await waitFor('added pod shaped', () => rates(ns, relisted).in === 3e6);
  api.annotate('shop', 'web', { [IN]: '20M', [OUT]: '5M', 'unrelated/annotation': 'x' });
  await waitFor('web changed', () => rates(ns, web).in === 20e6 && rates(ns, web).out === 5e6);
  api.remove('default', 'relisted');
  await waitFor('deleted pod cleared', () => rates(ns, relisted).in === undefined);
});

test('invalid annotations: a log line and a Kubernetes Event, the other pods carry on', async () => {
  api.put(pod('bad', { [IN]: '10Q', [OUT]: '1M' }));
  api.put(pod('late', { [OUT]: '2M' })); // its interface comes later
  api.annotate('shop', 'web', { [IN]: '15M', [OUT]: '5M' });
  await waitFor('web changed despite the bad pod', () => rates(ns, web).in === 15e6);
  await waitFor('an Event', () => api.events.length > 0);
  const e = api.events[0];
  expect(e.namespace).toBe('default');
  expect(e.body).toMatchObject({
    reason: 'InvalidQoSAnnotations',
    type: 'Warning',
    involvedObject: { kind: 'Pod', name: 'bad', namespace: 'default' },
    source: { component: 'netqos-agent', host: NODE },
  });
  expect(e.body.involvedObject.uid).toMatch(/^uid-bad-/);
  expect(e.body.message).toMatch(/ingressBandwidth.*10Q/);
  expect(
    logs.some((l) => l.level === 'warn' && l.pod === 'default/bad' && l.reason === 'InvalidQoSAnnotations'),
  ).toBe(true);
  expect(rates(ns, bad)).toEqual({ in: undefined, out: undefined });
  // The late pod's interface appears: the retry picks it up.
  ns.veth(late, 'plate');
  await waitFor('late pod shaped', () => rates(ns, late).out === 2e6);
  // One Event per distinct problem, not one per resync.
  await sleep(2500);
  expect(api.events.filter((ev) => ev.body.involvedObject.name === 'bad').length).toBe(1);
});

test('410 Gone on the watch (ERROR event, then HTTP 410): relist, and the kernel follows what changed meanwhile', async () => {
  const listsBefore = api.lists.length;
  // While the history is lost: one pod changes, one is deleted, one is added.
  api.expire();
  api.annotate('shop', 'web', { [IN]: '8M' }, true);
  api.remove('default', 'late', true);
  api.put(pod('relisted', { [IN]: '6M', [OUT]: '6M' }), true);
  await waitFor('a relist', () => api.lists.length > listsBefore);
  await waitFor(
    'the kernel follows the relist',
    () =>
      rates(ns, web).in === 8e6 &&
      rates(ns, web).out === undefined &&
      rates(ns, late).out === undefined &&
      rates(ns, relisted).in === 6e6,
  );
  expect(api.lists[api.lists.length - 1].searchParams.get('fieldSelector')).toBe(`spec.nodeName=${NODE}`);

  // The same with a plain HTTP 410 answer to the watch.
  const lists2 = api.lists.length;
  api.goneAsStatus = true;
  api.expire();
  api.annotate('default', 'relisted', { [IN]: '7M' }, true);
  await waitFor('a second relist', () => api.lists.length > lists2);
  await waitFor(
    'the kernel follows',
    () => rates(ns, relisted).in === 7e6 && rates(ns, relisted).out === undefined,
  );
  const metrics = (await get(metricsPort, '/metrics')).body;
  expect(sample(metrics, 'netqos_agent_source_events_total', { event: 'relist' })).toBeGreaterThanOrEqual(2);
});

test('a dropped connection: reconnects with a backoff and watches on from the last resourceVersion', async () => {
  await waitFor('a watch', () => api.watching === 1);
  const lists = api.lists.length;
  const watches = api.watches.length;
  api.drop();
  api.put(pod('reconnected', { [IN]: '4M' })); // sent to nobody: picked up from the history
  await waitFor('a new watch', () => api.watches.length > watches);
  await waitFor('the pod added while disconnected', () => rates(ns, reconnected).in === 4e6);
  expect(api.lists.length).toBe(lists); // no relist needed
  expect(Number(api.watches[api.watches.length - 1].searchParams.get('resourceVersion'))).toBeGreaterThan(
    1003,
  );
  expect(logs.some((l) => l.msg?.startsWith('listing or watching pods failed') && l.retryInMs >= 500)).toBe(
    true,
  );
  const metrics = (await get(metricsPort, '/metrics')).body;
  expect(sample(metrics, 'netqos_agent_source_events_total', { event: 'restart' })).toBeGreaterThanOrEqual(1);
  await waitFor(
    'the pod in /metrics',
    async () =>
      sample((await get(metricsPort, '/metrics')).body, 'netqos_pod_rate_bits_per_second', {
        pod: 'reconnected',
        namespace: 'default',
        direction: 'ingress',
      }) === 4e6,
  );
});

test('SIGTERM: a clean exit that leaves the QoS in force', async () => {
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  child!.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(logs.some((l) => l.msg === 'stopped')).toBe(true);
  expect(api.watching).toBe(0);
  expect(rates(ns, reconnected).in).toBe(4e6);
  expect(stderr).toBe('');
});
