// One Kubernetes node with two pods, wired as Calico wires them, in fresh network namespaces:
//
//   pod "iperf-server" (netns)            node (netns, ip_forward=1)            pod "iperf-client" (netns)
//   eth0 198.18.1.2/32  <--veth-->  cali<sha1>  |  cali<sha1>  <--veth-->  eth0 198.18.2.2/32
//   default via 198.18.1.1              198.18.1.1/32, 198.18.2.1/32,           default via 198.18.2.1
//                                       routes to each pod's /32
//
// As in Calico, each pod has a /32 and a default route through a gateway on the host side of its
// veth, and the node routes each pod's /32 to that pod's cali interface. Calico's gateway is
// 169.254.1.1 answered by proxy ARP; the lab gives the host side a /32 from 198.18.0.0/15
// instead, so every address it uses stays in the benchmarking range and nothing depends on
// proxy ARP. Setting the topology up uses `ip` (namespaces and veths are outside netqos's job);
// every traffic-control change goes through netqos.
import { randomBytes } from 'crypto';
import { calicoInterfaceName } from '../qos';
import { ip, type Resources } from './resources';

export interface Pod {
  /** Kubernetes-style pod name; the host-side interface name derives from it. */
  name: string;
  namespace: string;
  /** The pod's network namespace. */
  netns: string;
  /** eth0's address (a /32). */
  address: string;
  /** The host-side address the pod routes through. */
  gateway: string;
  /** The host-side veth in the node namespace: cali + 11 hex of sha1("<namespace>.<pod>"). */
  hostInterface: string;
}

export interface Topology {
  /** The node's network namespace: where the cali interfaces, and so all QoS, live. */
  node: string;
  server: Pod;
  client: Pod;
  namespaces: string[];
}

/** Every lab namespace name starts with this (then the pid and a random tag). */
export const NAMESPACE_PREFIX = 'nql-';

const POD_NAMESPACE = 'default';

function pod(name: string, netns: string, subnet: number): Pod {
  return {
    name,
    namespace: POD_NAMESPACE,
    netns,
    address: `198.18.${subnet}.2`,
    gateway: `198.18.${subnet}.1`,
    hostInterface: calicoInterfaceName(POD_NAMESPACE, name),
  };
}

function wirePod(node: string, p: Pod): void {
  // The veth is made in the node namespace with its peer moved straight into the pod as eth0.
  ip(['-n', node, 'link', 'add', p.hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
  ip(['-n', node, 'addr', 'add', `${p.gateway}/32`, 'dev', p.hostInterface]);
  ip(['-n', node, 'link', 'set', p.hostInterface, 'up']);
  ip(['-n', node, 'route', 'add', `${p.address}/32`, 'dev', p.hostInterface, 'scope', 'link']);
  ip(['-n', p.netns, 'addr', 'add', `${p.address}/32`, 'dev', 'eth0']);
  ip(['-n', p.netns, 'link', 'set', 'eth0', 'up']);
  ip(['-n', p.netns, 'route', 'add', `${p.gateway}/32`, 'dev', 'eth0', 'scope', 'link']);
  ip(['-n', p.netns, 'route', 'add', 'default', 'via', p.gateway, 'dev', 'eth0']);
}

/** Builds the node and both pods; every namespace is tracked by `resources` before it exists. */
export function createTopology(resources: Resources, pods: { server: string; client: string }): Topology {
  const base = `${NAMESPACE_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const node = `${base}-node`;
  const server = pod(pods.server, `${base}-server`, 1);
  const client = pod(pods.client, `${base}-client`, 2);
  for (const ns of [node, server.netns, client.netns]) {
    resources.addNamespace(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  // Routing between the pods happens in the node namespace only; the host's stays untouched.
  ip(['netns', 'exec', node, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  wirePod(node, server);
  wirePod(node, client);
  return { node, server, client, namespaces: [node, server.netns, client.netns] };
}
