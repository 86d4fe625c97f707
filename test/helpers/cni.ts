// What the CNI kernel suites share: the configuration netqos gets after ptp, reads of the node's
// tc state, the bad configurations with their expected codes, and iperf3 between two pods.
import type { CniTestbed, Invocation, Pod } from '../../bench/lib/cni-testbed';
import { runClient, startServer, stop, type IperfResult } from './iperf';

export const RATE = 10_000_000;
/** TCP goodput through a TBF of RATE: payload over wire bytes of a full frame. */
export const GOODPUT_CEILING = RATE * (1448 / 1514);

export interface Tbf {
  kind: string;
  handle: string;
  dev: string;
  options: { rate: number; burst: number; lat: number };
}
export type Prev = { interfaces: { name: string; sandbox?: string }[]; ips: { address: string }[] };

export const hostVeth = (prev: Prev) => prev.interfaces.find((i) => !i.sandbox)!.name;
export const podAddress = (prev: Prev) => prev.ips[0].address.split('/')[0];

/** Exit 0 with nothing on stdout or stderr (the output is shown when it is not). */
export const expectOk = (r: Invocation) =>
  expect({ code: r.code, stdout: r.code ? r.stdout : '', stderr: r.code ? r.stderr : '' }).toEqual({
    code: 0,
    stdout: '',
    stderr: '',
  });

/** Reads of the test bed's node namespace. */
export function nodeState(bed: CniTestbed) {
  const qdiscs = (dev?: string): Tbf[] =>
    JSON.parse(bed.exec(['tc', '-j', 'qdisc', 'show', ...(dev ? ['dev', dev] : [])]) || '[]').map(
      (q: Tbf) => ({ ...q, dev: q.dev ?? dev }),
    );
  const rootOf = (dev: string) => qdiscs(dev).find((q) => (q as unknown as { root?: boolean }).root);
  const links = (): { ifname: string; link_type: string; address: string }[] =>
    JSON.parse(bed.exec(['ip', '-j', 'link', 'show']));
  const ifbs = (prefix: string) =>
    links()
      .map((l) => l.ifname)
      .filter((n) => n.startsWith(prefix));
  /** The actions of every filter on a hook. */
  const actions = (
    dev: string,
    hook: string,
  ): { kind: string; to_dev?: string; control_action?: { type: string } }[] => {
    let out: string;
    try {
      out = bed.exec(['tc', '-j', 'filter', 'show', 'dev', dev, hook]);
    } catch {
      return [];
    }
    return (JSON.parse(out || '[]') as { options?: { actions?: [] } }[]).flatMap(
      (f) => f.options?.actions ?? [],
    );
  };
  return { qdiscs, rootOf, links, ifbs, actions };
}

/**
 * Invalid invocations of ADD on a pod whose QoS is `limits` (each would change the rates if it
 * were accepted): [name, [stdin, env overrides], CNI code, msg].
 */
export function badConfigurations(
  conf: (prev: unknown, extra?: Record<string, unknown>) => Record<string, unknown>,
  prev: () => unknown,
  limits: Record<string, number>,
): [string, () => [unknown, Record<string, string | undefined>], number, string][] {
  const changed = { ...limits, ingressRate: 2 * RATE };
  return [
    [
      'a rate without a burst',
      () => [conf(prev(), { ...changed, ingressBurst: undefined }), {}],
      7,
      'if rate is set, burst must also be set',
    ],
    [
      'a burst over 4 GiB',
      () => [conf(prev(), { ...changed, ingressBurst: 8 * 4294967296 }), {}],
      7,
      'burst cannot be more than 4GB',
    ],
    ['no prevResult', () => [conf(undefined, changed), {}], 7, 'must be called as chained plugin'],
    [
      'a netns path that does not exist',
      () => [conf(prev(), changed), { CNI_NETNS: '/var/run/netns/nqp-does-not-exist' }],
      4,
      'CNI_NETNS /var/run/netns/nqp-does-not-exist is not a network namespace',
    ],
    [
      'a netns path that is not a namespace',
      () => [conf(prev(), changed), { CNI_NETNS: '/etc/hostname' }],
      4,
      'CNI_NETNS /etc/hostname is not a network namespace',
    ],
    [
      'malformed JSON',
      () => [JSON.stringify(conf(prev(), changed)).slice(0, -5), {}],
      6,
      'error decoding the network configuration',
    ],
    [
      'an unsupported version',
      () => [conf(prev(), { ...changed, cniVersion: '0.2.0' }), {}],
      1,
      'incompatible CNI versions',
    ],
    [
      'a bad pod annotation',
      () => [
        conf(prev(), {
          ...changed,
          runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { 'qos.projectcalico.org/dscp': 'FAST' } },
        }),
        {},
      ],
      7,
      'invalid QoS configuration',
    ],
    [
      'a burst no TBF can hold',
      () => [conf(prev(), { ...changed, ingressRate: 1_000_000, ingressBurst: 2_400_000_000 }), {}],
      7,
      'ingress burst too large for the rate',
    ],
    [
      'a container interface that is not there',
      () => [conf(prev(), changed), { CNI_IFNAME: 'eth9' }],
      100,
      'container interface eth9 not found',
    ],
    [
      'a CNI_CONTAINERID no record can hold (10 KB)',
      () => [conf(prev(), changed), { CNI_CONTAINERID: 'c'.repeat(10_000) }],
      4,
      'CNI_CONTAINERID is too long: 10000 bytes; netqos records the attachment as <containerID>@<ifname>.json, a file name of at most 255 bytes, so at most 245 with CNI_IFNAME eth0',
    ],
    [
      'a dataDir no record can be written in',
      () => [conf(prev(), { ...changed, dataDir: '/etc/hostname/netqos' }), {}],
      5,
      'cannot record the attachment in /etc/hostname/netqos',
    ],
  ];
}

/**
 * One bounded iperf3 run from the client pod to the server pod (`reverse`: the other way); a
 * server that was not listening yet (a loaded machine) gets up to two more tries.
 */
export async function iperfBetween(
  serverNs: string,
  clientNs: string,
  address: string,
  reverse: boolean,
): Promise<IperfResult> {
  for (let attempt = 0; ; attempt++) {
    const iperf = startServer(serverNs);
    try {
      await new Promise((r) => setTimeout(r, 500));
      return await runClient(clientNs, address, 4, { omit: 1, reverse });
    } catch (e) {
      if (attempt >= 2 || !/connect|refused/i.test((e as Error).message)) throw e;
    } finally {
      stop(iperf);
    }
  }
}

/**
 * Two fresh pods shaped to RATE each way by `add` (ADD of `limits` for a pod and its ptp result),
 * then iperf3 both ways: goodput within 5 % of the ceiling. `label` prefixes the printed rates.
 */
export async function expectShapedPair(
  bed: CniTestbed,
  network: string,
  subnet: string,
  add: (limits: Record<string, number>, prev: Prev, pod: Pod) => Invocation | Promise<Invocation>,
  label: string,
): Promise<void> {
  const server = bed.pod('srv');
  const client = bed.pod('cli');
  const limits = { ingressRate: RATE, ingressBurst: 262_144, egressRate: RATE, egressBurst: 262_144 };
  const serverPrev = bed.addPtp(server, network, subnet);
  const clientPrev = bed.addPtp(client, network, subnet);
  expect((await add(limits, serverPrev, server)).code).toBe(0);
  expect((await add(limits, clientPrev, client)).code).toBe(0);
  for (const reverse of [false, true]) {
    const result = await iperfBetween(server.netns, client.netns, podAddress(serverPrev), reverse);
    process.stdout.write(
      `${label} ${reverse ? 'server->client' : 'client->server'}: ${(result.receivedBps / 1e6).toFixed(3)} Mbit/s (ceiling ${(GOODPUT_CEILING / 1e6).toFixed(3)})\n`,
    );
    expect(Math.abs(result.receivedBps - GOODPUT_CEILING) / GOODPUT_CEILING).toBeLessThan(0.05);
  }
}
