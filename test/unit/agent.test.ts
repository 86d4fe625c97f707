// The agent's pure parts: pod -> interface, Kubernetes pods, manifest names, --listen, and the
// metrics' conversion of the kernel's absolute counters into Prometheus counters.
import {
  AgentMetrics,
  fingerprint,
  isManifestName,
  makePod,
  parseListen,
  podFromKubernetes,
  podInterface,
  relevantAnnotations,
  type PodStats,
} from '../../lib/agent';
import { buildAgentCommand } from '../../lib/agent/cli';
import { lostReason, namespaceId, namespacePath, type Connection } from '../../lib/agent/namespace';
import { orphanDeletion, orphanIfbs } from '../../lib/agent/orphans';
import { isOwnIfb } from '../../lib/qos';
import type { LinkState } from '../../lib/netlink';
import { NETQOS_DOOMED_GROUP, NETQOS_IFB_GROUP, calicoInterfaceName, ifbNameFor } from '../../lib/qos';

const IN = 'qos.projectcalico.org/ingressBandwidth';

describe('pod -> interface', () => {
  test("Calico's naming: cali + 11 hex digits of sha1(namespace.name)", () => {
    const { createHash } = require('crypto') as typeof import('crypto');
    const want = `cali${createHash('sha1').update('default.iperf-server').digest('hex').slice(0, 11)}`;
    expect(podInterface('default', 'iperf-server', {})).toEqual({ ifname: want });
    expect(makePod({ name: 'iperf-server', source: 'f' }, {}).ifname).toBe(want);
    expect(makePod({ name: 'iperf-server', namespace: '', source: 'f' }, {}).key).toBe(
      'default/iperf-server',
    );
    expect(podInterface('kube-system', 'x', {}, { prefix: 'tap' }).ifname).toBe(
      calicoInterfaceName('kube-system', 'x', 'tap'),
    );
  });

  test('netqos.io/interface in manifest mode only, and checked', () => {
    const a = { 'netqos.io/interface': 'veth-a' };
    expect(podInterface('default', 'p', a, { explicit: true })).toEqual({ ifname: 'veth-a' });
    expect(podInterface('default', 'p', a, { explicit: false }).ifname).toBe(
      calicoInterfaceName('default', 'p'),
    );
    expect(podInterface('default', 'p', { 'netqos.io/interface': 'a/b' }, { explicit: true }).error).toMatch(
      /not a valid interface name/,
    );
    expect(
      podInterface('default', 'p', { 'netqos.io/interface': 'x'.repeat(16) }, { explicit: true }).error,
    ).toMatch(/not a valid interface name/);
    expect(podInterface('default', '', {}, {}).error).toMatch(/no metadata.name/);
    expect(podInterface('default', 'p', {}, { prefix: 'toolong' }).error).toMatch(
      /not a valid interface name/,
    );
  });

  test('only the annotations netqos reads count', () => {
    const all = {
      [IN]: '10M',
      'kubernetes.io/egress-bandwidth': '5M',
      'netqos.io/interface': 'x',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      other: 'y',
    };
    expect(relevantAnnotations(all)).toEqual({
      [IN]: '10M',
      'kubernetes.io/egress-bandwidth': '5M',
      'netqos.io/interface': 'x',
    });
    const a = makePod({ name: 'p', annotations: { [IN]: '10M', other: '1' }, source: 'f' }, {});
    const b = makePod({ name: 'p', annotations: { other: '2', [IN]: '10M' }, source: 'g' }, {});
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(
      fingerprint(makePod({ name: 'p', annotations: { [IN]: '20M' }, source: 'f' }, {})),
    );
  });
});

describe('Kubernetes pods', () => {
  const pod = (extra: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: '7',
      annotations: { [IN]: '10M', 'netqos.io/interface': 'eth0' },
    },
    spec: { nodeName: 'n1' },
    status: { phase: 'Running' },
    ...extra,
  });

  test('a running pod: its Calico interface (the interface annotation is ignored), a reference for Events', () => {
    const p = podFromKubernetes(pod(), { prefix: 'cali', explicit: true })!;
    expect(p.key).toBe('shop/web');
    expect(p.ifname).toBe(calicoInterfaceName('shop', 'web'));
    expect(p.annotations).toEqual({ [IN]: '10M', 'netqos.io/interface': 'eth0' });
    expect(p.ref).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: '7',
    });
  });

  test('host-network and finished pods have no interface of their own', () => {
    expect(podFromKubernetes(pod({ spec: { hostNetwork: true } }), {})).toBeUndefined();
    expect(podFromKubernetes(pod({ status: { phase: 'Succeeded' } }), {})).toBeUndefined();
    expect(podFromKubernetes(pod({ status: { phase: 'Failed' } }), {})).toBeUndefined();
    expect(podFromKubernetes(pod({ status: { phase: 'Pending' } }), {})).toBeDefined();
    expect(podFromKubernetes({ metadata: {} }, {})).toBeUndefined();
  });
});

describe('orphan IFBs', () => {
  let index = 1;
  const link = (name: string, kind?: string, group = 0): LinkState => ({
    type: 'link',
    index: index++,
    name,
    up: true,
    flags: 0,
    ...(kind ? { kind } : {}),
    group,
  });
  const own = (name: string) => link(name, 'ifb', NETQOS_IFB_GROUP);

  test("netqos's IFB is kind ifb, netqos's name and group, all three", () => {
    const name = ifbNameFor('cali0');
    expect(isOwnIfb(own(name))).toBe(true);
    expect(isOwnIfb(link(name, 'ifb', NETQOS_DOOMED_GROUP))).toBe(true);
    expect(isOwnIfb(link(name, 'veth', NETQOS_IFB_GROUP))).toBe(false);
    expect(isOwnIfb(link(name, undefined, NETQOS_IFB_GROUP))).toBe(false);
    expect(isOwnIfb(link(name, 'ifb', 0))).toBe(false);
    expect(isOwnIfb(link('ifb0', 'ifb', NETQOS_IFB_GROUP))).toBe(false);
    expect(isOwnIfb(link('nqifbXYZ', 'ifb', NETQOS_IFB_GROUP))).toBe(false);
  });

  test('orphans: own IFBs whose interface is gone; deleted by index through the doomed group', () => {
    const kept = own(ifbNameFor('cali1'));
    const orphan = own(ifbNameFor('gone0'));
    const veth = link(ifbNameFor('gone1'), 'veth', NETQOS_IFB_GROUP);
    const foreign = link(ifbNameFor('gone2'), 'ifb');
    const found = orphanIfbs([link('cali1', 'veth'), kept, orphan, veth, foreign, link('lo')]);
    expect(found).toEqual([orphan]);
    expect(orphanDeletion(found)).toEqual([
      { op: 'change', link: { index: orphan.index, group: NETQOS_DOOMED_GROUP } },
      { op: 'delete', link: { group: NETQOS_DOOMED_GROUP } },
    ]);
    expect(orphanDeletion([])).toEqual([]);
  });
});

test('manifest file names', () => {
  for (const ok of ['pod.yaml', 'a.yml', 'b.JSON', 'x.y.yaml']) expect(isManifestName(ok)).toBe(true);
  for (const no of ['.pod.yaml', '..data', 'pod.yaml~', 'pod.yaml.swp', 'README.md', 'pod'])
    expect(isManifestName(no)).toBe(false);
});

test('--listen', () => {
  expect(parseListen('127.0.0.1:9465')).toEqual({ host: '127.0.0.1', port: 9465 });
  expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
  expect(parseListen(':9465')).toEqual({ host: undefined, port: 9465 });
  expect(() => parseListen('9465')).toThrow(/HOST:PORT/);
  expect(() => parseListen('a:99999')).toThrow(/HOST:PORT/);
});

describe('the agent command line', () => {
  const parse = async (args: string[]) => {
    let got: Record<string, unknown> | undefined;
    const err: string[] = [];
    const cmd = buildAgentCommand({ stdout: () => undefined, stderr: (s) => void err.push(s) }, async (o) => {
      got = o as unknown as Record<string, unknown>;
    });
    try {
      await cmd.parseAsync(args, { from: 'user' });
    } catch {
      /* exitOverride */
    }
    return { got, err: err.join('') };
  };

  test('defaults', async () => {
    const { got } = await parse(['--manifests', '/tmp/x']);
    expect(got).toMatchObject({
      manifests: '/tmp/x',
      interfacePrefix: 'cali',
      resync: 30,
      listen: '127.0.0.1:9465',
      metrics: true,
      logLevel: 'info',
      mode: 'strict',
      profile: 'netqos',
      gcScope: 'prefix',
    });
  });

  test('bad values are usage errors', async () => {
    expect((await parse(['--resync', '0'])).err).toMatch(/seconds above 0/);
    expect((await parse(['--listen', 'nope'])).err).toMatch(/HOST:PORT/);
    expect((await parse(['--interface-prefix', 'toolong'])).err).toMatch(/valid interface name/);
    expect((await parse(['--log-level', 'loud'])).err).toMatch(/Allowed choices/);
  });
});

describe('metrics', () => {
  const stat = (over: Partial<PodStats> = {}): PodStats => ({
    namespace: 'default',
    pod: 'a',
    interface: 'cali0',
    direction: 'ingress',
    bytes: 100,
    packets: 2,
    drops: 0,
    overlimits: 1,
    backlog: 0,
    rate: 10_000_000,
    ...over,
  });

  function value(text: string, name: string, match = ''): number | undefined {
    const line = text
      .split('\n')
      .find(
        (l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && l.includes(match),
      );
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  test("kernel counters become Prometheus counters; replaced objects reset; gone pods' series go", async () => {
    let stats: PodStats[] = [stat()];
    let messages = 0;
    const m = new AgentMetrics({
      podStats: async () => stats,
      messages: () => messages,
      podStates: () => ({ applied: 1, waiting: 2 }),
    });
    const scrape = async () => {
      const text = await m.metrics();
      (m as unknown as { refreshedAt: number }).refreshedAt = 0; // no 1 s cache in the test
      return text;
    };
    let text = await scrape();
    expect(value(text, 'netqos_pod_bytes_total', 'direction="ingress"')).toBe(100);
    expect(value(text, 'netqos_pod_rate_bits_per_second')).toBe(10_000_000);
    expect(value(text, 'netqos_agent_pods', 'state="waiting"')).toBe(2);
    expect(value(text, 'netqos_agent_netlink_messages_total')).toBe(0);
    stats = [stat({ bytes: 250, overlimits: 5 })];
    messages = 7;
    text = await scrape();
    expect(value(text, 'netqos_pod_bytes_total')).toBe(250);
    expect(value(text, 'netqos_pod_overlimits_total')).toBe(5);
    expect(value(text, 'netqos_agent_netlink_messages_total')).toBe(7);
    stats = [stat({ bytes: 40 })]; // the TBF was replaced: the kernel counts from 0 again
    text = await scrape();
    expect(value(text, 'netqos_pod_bytes_total')).toBe(40);
    stats = [];
    text = await scrape();
    expect(value(text, 'netqos_pod_bytes_total')).toBeUndefined();
    expect(text).toContain('# TYPE netqos_agent_reconcile_duration_seconds histogram');
  });
});

describe('the /metrics exposition', () => {
  test('scrapes at once share one rendering and one kernel read; a state change or its age renders afresh', async () => {
    let reads = 0;
    let applied = 1;
    const m = new AgentMetrics(
      {
        podStats: async () => {
          reads++;
          await new Promise((r) => setTimeout(r, 20));
          return [];
        },
        messages: () => 0,
        podStates: () => ({ applied }),
      },
      { maxAgeMs: 300 },
    );
    const first = await Promise.all(Array.from({ length: 50 }, () => m.exposition()));
    expect(reads).toBe(1);
    expect(new Set(first).size).toBe(1); // the same Buffer for all
    expect(first[0].toString()).toContain('netqos_agent_pods{state="applied"} 1\n');
    expect(await m.exposition()).toBe(first[0]); // still current
    applied = 2;
    m.invalidate();
    const second = await m.exposition();
    expect(second.toString()).toContain('netqos_agent_pods{state="applied"} 2\n');
    // A change while a rendering runs: a scrape that came before it takes that rendering, one
    // that came after gets a newer one; neither waits for more than that, however many changes.
    applied = 3;
    m.invalidate();
    const during = m.exposition();
    m.invalidate();
    applied = 4;
    const after = m.exposition();
    const storm = setInterval(() => m.invalidate(), 1); // passes ending all the time
    try {
      expect((await during).toString()).toContain('state="applied"} 3\n');
      expect((await after).toString()).toContain('state="applied"} 4\n');
    } finally {
      clearInterval(storm);
    }
    await new Promise((r) => setTimeout(r, 350));
    expect(await m.exposition()).not.toBe(await after); // older than maxAgeMs
  });
});

describe("the agent's namespace identity", () => {
  test('a name under /var/run/netns or a path, as the engine reads it', () => {
    expect(namespacePath('node')).toBe('/var/run/netns/node');
    expect(namespacePath('/proc/1/ns/net')).toBe('/proc/1/ns/net');
  });

  test('deleted and replaced are told apart from the same', () => {
    const fs = require('fs') as typeof import('fs');
    const os = require('os') as typeof import('os');
    const path = require('path') as typeof import('path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-nsid-'));
    try {
      const file = path.join(dir, 'ns');
      fs.writeFileSync(file, '');
      const conn = { id: namespaceId(file) } as Connection;
      expect(lostReason(file, conn)).toBeUndefined();
      expect(lostReason(undefined, conn)).toBeUndefined(); // this process's own: never lost
      fs.renameSync(file, path.join(dir, 'old')); // kept: its inode cannot be reused meanwhile
      expect(lostReason(file, conn)).toBe(
        `network namespace "${file}" was deleted (${file} no longer exists)`,
      );
      fs.writeFileSync(file, '');
      expect(lostReason(file, conn)).toBe(
        `network namespace "${file}" was replaced: ${file} now names another namespace`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
