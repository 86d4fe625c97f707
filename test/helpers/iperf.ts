// iperf3 between two test namespaces, bounded in time; processes ended by pid.
import { spawn, type ChildProcess } from 'child_process';

export interface IperfResult {
  /** Receiver goodput over the measured (non-omitted) interval, bit/s. */
  receivedBps: number;
  sentBps: number;
  intervals: { start: number; end: number; bps: number; retransmits?: number }[];
  raw: any;
}

export function startServer(ns: string, port = 5201): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' });
}

/** Runs a client for `seconds` (+ `omit`), resolving with its JSON report. */
export function runClient(ns: string, server: string, seconds: number, opts: { omit?: number; port?: number; reverse?: boolean; udp?: string; length?: number; tos?: number } = {}): Promise<IperfResult> {
  const args = ['netns', 'exec', ns, 'iperf3', '-c', server, '-p', String(opts.port ?? 5201), '-t', String(seconds), '-J', '--connect-timeout', '3000'];
  if (opts.omit) args.push('-O', String(opts.omit));
  if (opts.reverse) args.push('-R');
  if (opts.udp) args.push('-u', '-b', opts.udp);
  if (opts.length) args.push('-l', String(opts.length));
  if (opts.tos !== undefined) args.push('-S', String(opts.tos));
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    // Bounded: the run, its omitted seconds, and a generous margin for slow guests (UML).
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + (opts.omit ?? 0) + 40) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        const raw = JSON.parse(out);
        if (raw.error) throw new Error(raw.error);
        const end = raw.end;
        const received = end.sum_received ?? end.sum;
        const sent = end.sum_sent ?? end.sum;
        resolve({
          receivedBps: received.bits_per_second,
          sentBps: sent.bits_per_second,
          intervals: raw.intervals.map((i: any) => ({ start: i.sum.start, end: i.sum.end, bps: i.sum.bits_per_second, retransmits: i.sum.retransmits })),
          raw,
        });
      } catch (e) {
        reject(new Error(`iperf3 client failed (exit ${code}): ${(e as Error).message} ${err}`));
      }
    });
  });
}

export function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
