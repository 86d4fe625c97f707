// iperf3 between the two pods: a one-off server in the server pod, a client in the client pod,
// both started through `ip netns exec` (which execs iperf3 itself, so the pid we hold is
// iperf3's), bounded in time and killed by pid. The client's JSON report carries its own
// per-second intervals (sender side) and, with --get-server-output, the server's (receiver side).
import { readFileSync } from 'fs';
import type { ChildProcess } from 'child_process';
import type { Pod } from './topology';
import { checkAborted, type Resources } from './resources';

export interface Interval {
  /** Seconds since the test started. */
  start: number;
  end: number;
  /** Sender: bytes written in the interval and the bitrate iperf3 prints. */
  bytes: number;
  bps: number;
  /** TCP retransmissions in the interval (sender). */
  retransmits?: number;
  /** UDP datagrams sent in the interval. */
  packets?: number;
  /** Receiver (the server's interval of the same number): what arrived. */
  receivedBytes?: number;
  receivedBps?: number;
}

export interface IperfRun {
  protocol: 'tcp' | 'udp';
  seconds: number;
  intervals: Interval[];
  sentBytes: number;
  sentBps: number;
  receivedBytes: number;
  /** The receiver's average over the whole test (iperf3's "receiver" line). */
  receivedBps: number;
  retransmits?: number;
  /** UDP: datagrams sent and lost (as the receiver counted them). */
  packets?: number;
  lostPackets?: number;
}

export interface IperfOptions {
  server: Pod;
  client: Pod;
  seconds: number;
  port?: number;
  /** UDP at this bitrate (iperf3's -b, e.g. "400k") with datagrams of `length` bytes. */
  udp?: { bitrate: string; length: number };
  signal?: AbortSignal;
  /** Called about every 250 ms while the client runs, with the rate arriving at the server pod. */
  onTick?: (elapsedSeconds: number, liveBps: number | undefined) => void | Promise<void>;
}

const SERVER_READY_MS = 5000;
/** Beyond the test's own length: connection setup, the end-of-test exchange, slow machines. */
const CLIENT_GRACE_MS = 15_000;
const TICK_MS = 250;

function iperf3In(resources: Resources, netns: string, args: string[]): ChildProcess {
  return resources.spawn('ip', ['netns', 'exec', netns, 'iperf3', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function onExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
}

/** "198.18.1.2" and 5201 as /proc/net/tcp writes a local address: "020112C6:1451". */
function procAddress(address: string, port: number): string {
  const hex = address
    .split('.')
    .map((b) => Number(b).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** True when PID's network namespace has a TCP socket listening on address:port. */
function listening(pid: number | undefined, local: string): boolean {
  if (pid === undefined) return false;
  try {
    // Columns: sl local_address rem_address st ...; st 0A is LISTEN.
    return readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
      .split('\n')
      .some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1] === local && f[3] === '0A';
      });
  } catch {
    return false;
  }
}

/**
 * Starts a one-off `iperf3 -s -1 -J` in the server pod and resolves once it listens (seen in the
 * server's own /proc/PID/net/tcp: in JSON mode iperf3 prints nothing until the end).
 */
async function startServer(resources: Resources, o: IperfOptions, port: number): Promise<ChildProcess> {
  const child = iperf3In(resources, o.server.netns, [
    '-s',
    '-1',
    '-J',
    '-B',
    o.server.address,
    '-p',
    String(port),
  ]);
  let err = '';
  child.stdout!.resume();
  child.stderr!.on('data', (d) => (err += d));
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  const local = procAddress(o.server.address, port);
  const deadline = Date.now() + SERVER_READY_MS;
  for (;;) {
    if (listening(child.pid, local)) return child;
    const why = spawnError
      ? (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
        ? '`ip` is not installed'
        : spawnError.message
      : child.exitCode !== null
        ? `exited with ${child.exitCode}${/not found|No such file/.test(err) ? ' (is iperf3 installed? apt install iperf3)' : ''}`
        : Date.now() > deadline
          ? `not listening after ${SERVER_READY_MS} ms`
          : undefined;
    if (why) {
      resources.kill(child);
      throw new Error(`iperf3 server in ${o.server.netns}: ${why}${err.trim() ? `: ${err.trim()}` : ''}`);
    }
    checkAborted(o.signal);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bytes the pod's eth0 has received, from /proc/PID/net/dev (PID's own network namespace). */
function rxBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8')
      .split('\n')
      .find((l) => l.trim().startsWith('eth0:'));
    const [, counters] = line?.split(':') ?? [];
    return counters === undefined ? undefined : Number(counters.trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}

// iperf3's JSON report, read loosely.
/* eslint-disable @typescript-eslint/no-explicit-any -- iperf3's JSON has no types */
function parseReport(raw: any, o: IperfOptions): IperfRun {
  if (raw.error) throw new Error(raw.error);
  const received: any[] = raw.server_output_json?.intervals ?? [];
  const intervals: Interval[] = (raw.intervals ?? []).map((i: any, n: number) => {
    const r = received[n]?.sum;
    return {
      start: i.sum.start,
      end: i.sum.end,
      bytes: i.sum.bytes,
      bps: i.sum.bits_per_second,
      ...(i.sum.retransmits !== undefined ? { retransmits: i.sum.retransmits } : {}),
      ...(i.sum.packets !== undefined ? { packets: i.sum.packets } : {}),
      ...(r ? { receivedBytes: r.bytes, receivedBps: r.bits_per_second } : {}),
    };
  });
  const end = raw.end ?? {};
  const sent = end.sum_sent ?? end.sum;
  const recv = end.sum_received ?? end.sum;
  if (!sent || !recv) throw new Error('iperf3 report without an end summary');
  const run: IperfRun = {
    protocol: o.udp ? 'udp' : 'tcp',
    seconds: o.seconds,
    intervals,
    sentBytes: sent.bytes,
    sentBps: sent.bits_per_second,
    receivedBytes: recv.bytes,
    receivedBps: recv.bits_per_second,
  };
  if (sent.retransmits !== undefined) run.retransmits = sent.retransmits;
  if (o.udp) {
    const udp = end.sum ?? recv;
    run.packets = udp.packets;
    run.lostPackets = udp.lost_packets;
  }
  return run;
}

/** One iperf3 test from the client pod to the server pod. */
export async function runIperf(resources: Resources, o: IperfOptions): Promise<IperfRun> {
  checkAborted(o.signal);
  const port = o.port ?? 5201;
  const server = await startServer(resources, o, port);
  const args = [
    '-c',
    o.server.address,
    '-p',
    String(port),
    '-t',
    String(o.seconds),
    '-i',
    '1',
    '-J',
    '--get-server-output',
    '--connect-timeout',
    '3000',
  ];
  if (o.udp) args.push('-u', '-b', o.udp.bitrate, '-l', String(o.udp.length));
  const client = iperf3In(resources, o.client.netns, args);
  const startedAt = Date.now();
  let out = '';
  let err = '';
  client.stdout!.on('data', (d) => (out += d));
  client.stderr!.on('data', (d) => (err += d));
  const stopAll = () => {
    resources.kill(client);
    resources.kill(server);
  };
  const deadline = setTimeout(stopAll, o.seconds * 1000 + CLIENT_GRACE_MS);
  o.signal?.addEventListener('abort', stopAll, { once: true });

  // Progress: what arrives at the server pod's eth0, read in the server's own namespace.
  let last: { at: number; bytes: number | undefined } | undefined;
  let ticking = false;
  const ticker = setInterval(async () => {
    if (ticking || !o.onTick) return;
    ticking = true;
    try {
      const now = { at: Date.now(), bytes: rxBytes(server.pid) };
      const live =
        now.bytes !== undefined && last?.bytes !== undefined && now.at > last.at
          ? ((now.bytes - last.bytes) * 8 * 1000) / (now.at - last.at)
          : undefined;
      last = now;
      await o.onTick((now.at - startedAt) / 1000, live);
    } catch {
      /* progress is best effort */
    } finally {
      ticking = false;
    }
  }, TICK_MS);

  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      client.once('error', reject);
      client.once('close', resolve);
    });
    checkAborted(o.signal);
    let raw: unknown;
    try {
      raw = JSON.parse(out);
    } catch {
      const timedOut = Date.now() - startedAt >= o.seconds * 1000 + CLIENT_GRACE_MS;
      throw new Error(
        `iperf3 client in ${o.client.netns} ${timedOut ? 'timed out and was killed' : `exited with ${code}`} without a report${err.trim() ? `: ${err.trim()}` : ''}`,
      );
    }
    return parseReport(raw, o);
  } finally {
    clearTimeout(deadline);
    clearInterval(ticker);
    o.signal?.removeEventListener('abort', stopAll);
    // The one-off server ends by itself after the test; give it a moment, then end it by pid.
    const serverDone = onExit(server);
    const timer = setTimeout(() => resources.kill(server), 2000);
    await serverDone;
    clearTimeout(timer);
  }
}
