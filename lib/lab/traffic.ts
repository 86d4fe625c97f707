// Traffic for the lab's additional controls, where iperf3 does not fit: a UDP stream at a packet
// rate with no control connection beside it (so a packet-rate limit sees only the stream), pings
// sent with a TOS byte, a counter of what arrives at a pod (an nftables table of the lab's own in
// the pod's namespace, made and read through netqos's engine), and TCP connections held open at
// once. The senders (short Node scripts, ping) run through `ip netns exec` in the pod's
// namespace, bounded in time, killed by pid.
import type { ChildProcess } from 'child_process';
import { openNftables, type NftExpr, type NftRuleState } from '../nftables';
import { checkAborted, type Resources } from './resources';

/** The discard port the UDP streams go to. */
export const UDP_PORT = 9;
const TCP_PORT = 8080;

function nodeIn(resources: Resources, netns: string, script: string): ChildProcess {
  return resources.spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finished(child: ChildProcess, resources: Resources, limitMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => resources.kill(child), limitMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** `pps` UDP datagrams of 100 bytes a second for `seconds` from `netns` to address:9; resolves with the number sent. */
export async function udpStream(
  resources: Resources,
  o: { netns: string; to: string; pps: number; seconds: number; signal?: AbortSignal },
): Promise<number> {
  checkAborted(o.signal);
  const total = Math.round(o.pps * o.seconds);
  const script = `
    const s = require('dgram').createSocket('udp4');
    const buf = Buffer.alloc(100);
    s.bind(() => {
      const start = Date.now();
      let sent = 0;
      const t = setInterval(() => {
        const due = Math.min(${total}, Math.floor(((Date.now() - start) / 1000) * ${o.pps}));
        for (; sent < due; sent++) s.send(buf, ${UDP_PORT}, ${JSON.stringify(o.to)});
        if (sent >= ${total}) { clearInterval(t); setTimeout(() => s.close(), 200); }
      }, 5);
    });`;
  const child = nodeIn(resources, o.netns, script);
  child.stdout!.resume();
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await finished(child, resources, (o.seconds + 20) * 1000);
  if (code !== 0) throw new Error(`the UDP sender in ${o.netns} exited with ${code}: ${err.trim()}`);
  return total;
}

/**
 * `count` echo requests from `netns` to `to`, 20 ms apart, with the TOS byte `tos` (ping -Q);
 * resolves with the replies received (a reply means the request's IPv4 checksum was valid).
 */
export async function pings(
  resources: Resources,
  o: { netns: string; to: string; count: number; tos: number; signal?: AbortSignal },
): Promise<number> {
  checkAborted(o.signal);
  const child = resources.spawn(
    'ip',
    [
      'netns',
      'exec',
      o.netns,
      'ping',
      '-q',
      '-n',
      '-c',
      String(o.count),
      '-i',
      '0.02',
      '-W',
      '1',
      '-Q',
      String(o.tos),
      o.to,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.resume();
  await finished(child, resources, o.count * 20 + 10_000);
  return Number(/(\d+) (packets )?received/.exec(out)?.[1] ?? 0);
}

const ipv4Protocol = (protocol: number): NftExpr[] => [
  { kind: 'meta', key: 'protocol', dreg: 1 },
  { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: 0x0800 } },
  { kind: 'payload', base: 'network', offset: 9, len: 1, dreg: 1 },
  { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: protocol } },
];

/** What a counter counts: UDP to port 9 (udpStream), or ICMP echo requests (pings). */
const MATCH: Record<'udp' | 'echo', NftExpr[]> = {
  udp: [
    ...ipv4Protocol(17),
    { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data: { be16: UDP_PORT } },
  ],
  echo: [
    ...ipv4Protocol(1),
    { kind: 'payload', base: 'transport', offset: 0, len: 1, dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: 8 } },
  ],
};

const COUNT_TABLE = 'netqos-lab';

/**
 * Counts what arrives on `dev` in `netns`: every packet of the kind, and those whose TOS byte is
 * `tos` (when given). `read()` returns the counts; `close()` removes the table.
 */
export async function arrivals(
  netns: string,
  dev: string,
  what: 'udp' | 'echo',
  tos?: number,
): Promise<{ read(): Promise<{ all: number; tos?: number }>; close(): Promise<void> }> {
  const nft = openNftables({ netns });
  const at = { family: 'netdev', table: COUNT_TABLE, chain: 'arrivals' } as const;
  await nft.apply([
    { op: 'add', table: { family: 'netdev', name: COUNT_TABLE } },
    {
      op: 'add',
      chain: { ...at, name: 'arrivals', hook: 'ingress', device: dev, priority: 0, policy: 'accept' },
    },
    { op: 'add', rule: { ...at, expressions: [...MATCH[what], { kind: 'counter' }], comment: 'all' } },
    ...(tos === undefined
      ? []
      : [
          {
            op: 'add' as const,
            rule: {
              ...at,
              expressions: [
                ...MATCH[what],
                { kind: 'payload', base: 'network', offset: 1, len: 1, dreg: 1 } as NftExpr,
                { kind: 'cmp', op: 'eq', sreg: 1, data: { u8: tos } } as NftExpr,
                { kind: 'counter' } as NftExpr,
              ],
              comment: 'tos',
            },
          },
        ]),
  ]);
  const packets = (rules: NftRuleState[], comment: string) =>
    (
      rules.find((r) => r.comment === comment)?.expressions.find((e) => e.kind === 'counter') as
        { packets?: number } | undefined
    )?.packets ?? 0;
  return {
    async read() {
      const rules = await nft.dump({ type: 'rule', ...at });
      return { all: packets(rules, 'all'), ...(tos === undefined ? {} : { tos: packets(rules, 'tos') }) };
    },
    async close() {
      try {
        await nft.apply([{ op: 'delete', table: { family: 'netdev', name: COUNT_TABLE } }]);
      } finally {
        nft.close();
      }
    },
  };
}

export interface ConnectionsResult {
  attempted: number;
  /** Established and held open at once. */
  established: number;
  /** Answered with a reset (ECONNREFUSED at the client). */
  reset: number;
  /** After one held connection was closed, whether a new one got through. */
  admittedAfterClose: boolean;
}

/**
 * A TCP server in `server.netns` holding every connection, and a client in `client.netns` opening
 * `count` connections at once, then closing one and trying one more.
 */
export async function tcpConnections(
  resources: Resources,
  o: {
    server: { netns: string; address: string };
    client: { netns: string };
    count: number;
    signal?: AbortSignal;
  },
): Promise<ConnectionsResult> {
  checkAborted(o.signal);
  const addr = JSON.stringify(o.server.address);
  const server = nodeIn(
    resources,
    o.server.netns,
    `const held = [];
     require('net').createServer((s) => { held.push(s); s.on('error', () => {}); })
       .listen(${TCP_PORT}, ${addr}, () => console.log('listening'));
     setTimeout(() => process.exit(0), 30000);`,
  );
  try {
    await lineStartingWith(server, 'listening', 10_000);
    const client = nodeIn(
      resources,
      o.client.netns,
      `const net = require('net');
       const open = () => new Promise((resolve) => {
         const s = net.connect({ host: ${addr}, port: ${TCP_PORT} });
         s.on('connect', () => resolve({ s, ok: true }));
         s.on('error', (e) => resolve({ ok: false, code: e.code }));
         setTimeout(() => resolve({ ok: false, code: 'TIMEOUT' }), 5000);
       });
       (async () => {
         const all = await Promise.all(Array.from({ length: ${o.count} }, open));
         const held = all.filter((r) => r.ok);
         const reset = all.filter((r) => r.code === 'ECONNREFUSED').length;
         await new Promise((r) => setTimeout(r, 300));
         if (held.length) held[0].s.end();
         await new Promise((r) => setTimeout(r, 500));
         const next = await open();
         console.log(JSON.stringify({ established: held.length, reset, admittedAfterClose: next.ok }));
         setTimeout(() => process.exit(0), 100);
       })();`,
    );
    try {
      const line = await lineStartingWith(client, '{', 20_000);
      return { attempted: o.count, ...(JSON.parse(line) as Omit<ConnectionsResult, 'attempted'>) };
    } finally {
      resources.kill(client);
    }
  } finally {
    resources.kill(server);
  }
}

/** The child's first stdout line starting with `prefix`, within `ms`. */
function lineStartingWith(child: ChildProcess, prefix: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let partial = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`no "${prefix}" line within ${ms} ms: ${err.trim()}`)), ms);
    const onData = (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      const hit = lines.find((l) => l.startsWith(prefix));
      if (hit !== undefined) done(undefined, hit);
    };
    const onErr = (d: Buffer) => (err += d.toString());
    const onClose = () => done(new Error(`exited before a "${prefix}" line: ${err.trim()}`));
    const done = (e?: Error, line?: string) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onErr);
      child.off('close', onClose);
      if (e) reject(e);
      else resolve(line!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onErr);
    child.once('close', onClose);
  });
}
