// The benchmark's namespaces: unique names (nqb-<pid>-<seq>-<tag>...), a node namespace holding
// the host-side veth ends, their peers in one "pods" namespace or (for the CNI plugin) one
// namespace per pod with the peer named eth0. Every namespace is registered before it exists and
// removed afterwards, also on failure, Ctrl-C or SIGTERM. Only namespaces this process made are
// touched, plus leftovers of earlier runs whose process is gone.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { batchForce, deleteIfbs, hostNames, VETH_GROUP, type Naming } from './common';

export const PREFIX = 'nqb-';

export interface Topology {
  node: string;
  hosts: string[];
  naming: Naming;
  /** Pod i's namespace is podPrefix + i (only with podNamespaces). */
  podPrefix?: string;
  namespaces: string[];
}

const live = new Set<string>();
let seq = 0;

function ipBatch(lines: string[], args: string[] = []): void {
  if (!lines.length) return;
  execFileSync('ip', [...args, '-batch', '-'], {
    input: lines.join('\n') + '\n',
    stdio: ['pipe', 'ignore', 'pipe'],
    maxBuffer: 1 << 30,
  });
}

function disableIpv6(ns: string): void {
  execFileSync(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ],
    { stdio: 'ignore' },
  );
}

/**
 * N veth pairs: host ends (up) in a fresh node namespace, peers in a fresh pods namespace, or
 * with `podNamespaces`, each peer as eth0 in its own fresh namespace (what the CNI plugin needs).
 * IPv6 is disabled in the node and pods namespaces before any interface exists (addrconf on
 * thousands of new veths otherwise runs during the measurements); per-pod namespaces keep it,
 * but their eth0 stays down, so no address is ever configured there.
 */
export function createTopology(tag: string, n: number, naming: Naming, podNamespaces = false): Topology {
  const base = `${PREFIX}${process.pid}-${++seq}-${tag}`;
  const node = `${base}-n`;
  const hosts = hostNames(n, naming);
  const pods = podNamespaces ? hosts.map((_, i) => `${base}-p${i}`) : [`${base}-p`];
  const namespaces = [node, ...pods];
  for (const ns of namespaces) live.add(ns);
  ipBatch(namespaces.map((ns) => `netns add ${ns}`));
  disableIpv6(node);
  if (!podNamespaces) pods.forEach(disableIpv6); // the one shared pod namespace
  ipBatch(
    hosts.map(
      (h, i) =>
        `link add ${h} group ${VETH_GROUP} up type veth peer name ${podNamespaces ? 'eth0' : `p${i}`} netns ${podNamespaces ? pods[i] : pods[0]}`,
    ),
    ['-n', node],
  );
  return { node, hosts, naming, podPrefix: podNamespaces ? `${base}-p` : undefined, namespaces };
}

/**
 * Removes a topology synchronously: veths by interface group and IFBs the same way (one batched
 * unregister each, so no kernel cleanup is left running into the next measurement), then the
 * namespaces.
 */
export function destroyTopology(t: Topology): void {
  try {
    batchForce('ip', [`link del group ${VETH_GROUP}`], t.node);
    deleteIfbs(t.node);
  } catch {
    /* the namespace may be half-made */
  }
  removeNamespaces(t.namespaces);
}

function removeNamespaces(names: string[]): void {
  batchForce(
    'ip',
    names.map((ns) => `netns del ${ns}`),
  );
  for (const ns of names) live.delete(ns);
}

/** Every namespace still registered (on exit or a signal). */
export function removeAll(): void {
  if (live.size) removeNamespaces([...live]);
}

/** Leftovers of earlier runs whose process no longer exists. */
export function removeStale(): string[] {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync('/var/run/netns');
  } catch {
    return [];
  }
  const stale = entries.filter((name) => {
    const m = /^nqb-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid) return false;
    try {
      process.kill(Number(m[1]), 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
  if (stale.length)
    batchForce(
      'ip',
      stale.map((ns) => `netns del ${ns}`),
    );
  return stale;
}
