// iperf3 between two test namespaces, bounded in time; processes ended by pid.
import { spawn, type ChildProcess } from 'child_process';

export interface IperfResult {
  /** Receiver goodput over the measured (non-omitted) interval, bit/s. */
  receivedBps: number;
  sentBps: number;
  intervals: { start: number; end: number; bps: number; retransmits?: number }[];
  raw: any;
}

/** The command that runs a program in `ns`: a name under /var/run/netns, or a path (nsenter). */
function inNetns(ns: string): [string, ...string[]] {
  return ns.startsWith('/') ? ['nsenter', `--net=${ns}`] : ['ip', 'netns', 'exec', ns];
}

export function startServer(ns: string, port = 5201): ChildProcess {
  const [cmd, ...prefix] = inNetns(ns);
  return spawn(cmd, [...prefix, 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' });
}

/** Runs a client for `seconds` (+ `omit`), resolving with its JSON report. */
export function runClient(
  ns: string,
  server: string,
  seconds: number,
  opts: { omit?: number; port?: number; reverse?: boolean; udp?: string; length?: number; tos?: number } = {},
): Promise<IperfResult> {
  const [cmd, ...prefix] = inNetns(ns);
  const args = [
    ...prefix,
    'iperf3',
    '-c',
    server,
    '-p',
    String(opts.port ?? 5201),
    '-t',
    String(seconds),
    '-J',
    '--connect-timeout',
    '3000',
  ];
  if (opts.omit) args.push('-O', String(opts.omit));
  if (opts.reverse) args.push('-R');
  if (opts.udp) args.push('-u', '-b', opts.udp);
  if (opts.length) args.push('-l', String(opts.length));
  if (opts.tos !== undefined) args.push('-S', String(opts.tos));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
          intervals: raw.intervals.map((i: any) => ({
            start: i.sum.start,
            end: i.sum.end,
            bps: i.sum.bits_per_second,
            retransmits: i.sum.retransmits,
          })),
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

/**
 * Sends `pps` UDP datagrams of 100 bytes a second for `seconds` from namespace `ns` to
 * `addr`:9 (discard), with no control connection: a policer in the path sees only this flow.
 * Bounded in time; resolves when the sender exits.
 */
export function udpFlood(ns: string, addr: string, pps: number, seconds: number): Promise<void> {
  const script = `
    const s = require('dgram').createSocket('udp4');
    const buf = Buffer.alloc(100);
    const start = Date.now();
    let sent = 0;
    const t = setInterval(() => {
      const due = Math.min(${pps} * ${seconds}, Math.floor(((Date.now() - start) / 1000) * ${pps}));
      for (; sent < due; sent++) s.send(buf, 9, ${JSON.stringify(addr)});
      if (Date.now() - start >= ${seconds * 1000}) { clearInterval(t); setTimeout(() => s.close(), 200); }
    }, 5);`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`UDP sender in ${ns} exited with ${code}`));
    });
  });
}
