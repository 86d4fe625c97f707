// Throwaway network namespaces for kernel tests: unique names, veth pairs, addresses from the
// benchmarking ranges only, and removal even when a test fails.
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** `ip -n NS ...` */
export function ipIn(ns: string, ...args: string[]): string {
  return sh('ip', ['-n', ns, ...args]);
}

/** `tc -n NS -j ...` parsed. */
export function tcJson<T = any>(ns: string, ...args: string[]): T {
  const out = sh('tc', ['-n', ns, '-j', ...args]);
  return JSON.parse(out || '[]');
}

export class Netns {
  readonly name: string;
  private removed = false;

  constructor(prefix = 'nqt') {
    this.name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
    sh('ip', ['netns', 'add', this.name]);
    ipIn(this.name, 'link', 'set', 'lo', 'up');
  }

  /** A veth pair inside this namespace, both ends up. */
  veth(a: string, b: string): this {
    ipIn(this.name, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ipIn(this.name, 'link', 'set', a, 'up');
    ipIn(this.name, 'link', 'set', b, 'up');
    return this;
  }

  ip(...args: string[]): string {
    return ipIn(this.name, ...args);
  }

  tcJson<T = any>(...args: string[]): T {
    return tcJson<T>(this.name, ...args);
  }

  /** `nft ...` run inside this namespace. */
  nft(...args: string[]): string {
    return sh('ip', ['netns', 'exec', this.name, 'nft', ...args]);
  }

  /** The filters of both hooks of `dev` as tc prints them ('none' for a hook that is not there). */
  hookFilters(dev: string): unknown[] {
    return ['ingress', 'egress'].map((hook) => {
      try {
        return JSON.parse(sh('tc', ['-n', this.name, '-j', 'filter', 'show', 'dev', dev, hook]) || '[]');
      } catch {
        return 'none';
      }
    });
  }

  ifindex(dev: string): number {
    return JSON.parse(ipIn(this.name, '-j', 'link', 'show', dev))[0].ifindex;
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    try {
      sh('ip', ['netns', 'del', this.name]);
    } catch {
      /* already gone */
    }
  }
}

const live = new Set<Netns>();

/** A namespace removed after the test file, even on failure or interruption. */
export function tempNetns(prefix?: string): Netns {
  const ns = new Netns(prefix);
  live.add(ns);
  return ns;
}

export function removeAll(): void {
  for (const ns of live) ns.remove();
  live.clear();
}

if (typeof afterAll === 'function') afterAll(removeAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    removeAll();
    process.exit(130);
  });
}

/**
 * Two namespaces joined by a veth pair with /30 addresses from 198.18.0.0/15: `a` (device
 * `names.a`, 198.18.0.1) and `b` (device `names.b`, 198.18.0.2). Named cali0/eth0, it is a
 * node and a pod as Calico wires them.
 */
export function tempPair(
  prefix = 'nqt',
  names = { a: 'a0', b: 'b0' },
): { a: Netns; b: Netns; aAddr: string; bAddr: string } {
  const a = tempNetns(`${prefix}a`);
  const b = tempNetns(`${prefix}b`);
  a.ip('link', 'add', names.a, 'type', 'veth', 'peer', 'name', names.b, 'netns', b.name);
  a.ip('addr', 'add', '198.18.0.1/30', 'dev', names.a);
  b.ip('addr', 'add', '198.18.0.2/30', 'dev', names.b);
  a.ip('link', 'set', names.a, 'up');
  b.ip('link', 'set', names.b, 'up');
  return { a, b, aAddr: '198.18.0.1', bAddr: '198.18.0.2' };
}
