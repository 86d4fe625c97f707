// `netqos top` while iperf3 pushes through a 10M limit: as plain lines (a pipe), as JSON, and in a
// real 80x24 terminal (tmux: the table redrawn in place, q quits, the terminal restored). The
// rate it shows is the shaper's wire rate, so it reads ~10 Mbit/s, not iperf3's goodput. And
// nothing it reads shows in `tc monitor` or `ip monitor` in that namespace. With packet rate,
// DSCP and a connection limit on nftables: its counters, measured against the traffic sent.
import { execFile, execFileSync, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { applyQos } from '../../lib';
import type { TopRow } from '../../lib/cli/top';
import { holdConnections } from '../helpers/connections';
import { runClient, startServer, stop, udpFlood } from '../helpers/iperf';
import { tempPair } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');
const RATE = 10_000_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses "9.9M" style rates as top prints them (the annotations' notation). */
function bits(text: string): number {
  const m = /^([\d.]+)(T|G|M|K)?$/.exec(text);
  if (!m) return NaN;
  const scale = { T: 1e12, G: 1e9, M: 1e6, K: 1e3 }[m[2] as 'T' | 'G' | 'M' | 'K'] ?? 1;
  return Number(m[1]) * scale;
}

describe('netqos top', () => {
  const { a: node, b: pod } = tempPair('nqtop', { a: 'cali0', b: 'eth0' });
  let server: ReturnType<typeof startServer> | undefined;
  let client: Promise<unknown> | undefined;

  beforeAll(async () => {
    // Explicit 256 kbit buckets: with Calico's default (4 Gi bits) a one-second sample after any
    // stall of the sender would include a burst well above the rate.
    await applyQos([
      {
        ifname: 'cali0',
        netns: node.name,
        annotations: {
          'qos.projectcalico.org/ingressBandwidth': '10M',
          'qos.projectcalico.org/ingressBurst': '262144',
          'qos.projectcalico.org/egressBandwidth': '20M',
          'qos.projectcalico.org/egressBurst': '262144',
          'qos.projectcalico.org/dscp': 'EF',
        },
      },
    ]);
    server = startServer(node.name);
    await sleep(300);
    // node -> pod (reverse): through the root TBF, the pod's 10M ingress limit.
    client = runClient(pod.name, '198.18.0.1', 40, { reverse: true }).catch(() => undefined);
    await sleep(1500);
  }, 30_000);

  afterAll(async () => {
    if (server) stop(server);
    await client;
  });

  test('plain lines when stdout is not a terminal: the "to" row measures the 10M limit', () => {
    const out = execFileSync('node', [CLI, 'top', '-n', node.name, '--interval', '1s', '--iterations', '3'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    const blocks = out.trim().split(/\n\n/);
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toMatch(/^\d\d:\d\d:\d\d netqos top - netns nqtop/);
    const last = blocks[2]!.split('\n');
    expect(last[1]).toMatch(/^INTERFACE\s+DIR\s+LIMIT\s+RATE/);
    const to = last.find((l) => /^cali0\s+to\s/.test(l));
    const from = last.find((l) => /^cali0\s+from\s/.test(l));
    expect(to).toBeDefined();
    expect(from).toBeDefined();
    const [, , limit, rate] = to!.split(/\s+/);
    expect(limit).toBe('10M');
    expect(Math.abs(bits(rate!) - RATE) / RATE).toBeLessThan(0.1);
    expect(from!.split(/\s+/)[2]).toBe('20M');
    for (const l of out.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  });

  test('--json: one document per refresh, rates in bit/s', () => {
    const out = execFileSync(
      'node',
      [CLI, 'top', '-n', node.name, '--json', '--interval', '500ms', '--iterations', '3'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    const docs = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(docs).toHaveLength(3);
    const to = docs[2].rows.find((r: { direction: string }) => r.direction === 'to');
    expect(to).toMatchObject({ ifname: 'cali0', limit: RATE });
    expect(Math.abs(to.bitsPerSecond - RATE) / RATE).toBeLessThan(0.1);
    expect(docs[0].rows[0].bitsPerSecond).toBeUndefined(); // no rate before a second sample
  });

  test('reads only: tc monitor and ip monitor print nothing while it runs', async () => {
    // `ip monitor link`: the iperf3 traffic changes neighbour entries, which reads cannot cause.
    const monitors = [
      ['tc', 'monitor'],
      ['ip', 'monitor', 'link'],
    ].map((command) => {
      const child = spawn('ip', ['netns', 'exec', node.name, ...command], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      return { child, text: () => text };
    });
    try {
      await sleep(500);
      execFileSync('node', [CLI, 'top', '-n', node.name, '--interval', '300ms', '--iterations', '4'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      await sleep(300);
      for (const m of monitors) expect(m.text()).toBe('');
    } finally {
      for (const m of monitors) m.child.kill('SIGTERM');
    }
  });

  test('in an 80x24 terminal: redrawn in place, q quits and restores the screen', async () => {
    const session = `nqtop-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', 'bash', '--norc', '--noprofile');
    try {
      tmux(
        'send-keys',
        '-t',
        session,
        `node ${CLI} top -n ${node.name} --interval 1s; echo top-exited-$?`,
        'Enter',
      );
      await sleep(3500);
      const screen = tmux('capture-pane', '-p', '-t', session);
      const lines = screen.split('\n');
      expect(lines[0]).toMatch(/^netqos top - netns nqtop/);
      const to = lines.find((l) => /^cali0\s+to\s/.test(l));
      expect(to).toBeDefined();
      expect(Math.abs(bits(to!.split(/\s+/)[3]!) - RATE) / RATE).toBeLessThan(0.1);
      expect(screen).toContain('q or Ctrl-C quits');
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);

      tmux('send-keys', '-t', session, 'q');
      await sleep(1000);
      const after = tmux('capture-pane', '-p', '-t', session);
      expect(after).toContain('top-exited-0');
      expect(after).not.toContain('q or Ctrl-C quits'); // the alternate screen is gone
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 30_000);
});

describe('netqos top with nftables: packet-rate drops, packets re-marked, connections reset', () => {
  const { a: node, b: pod } = tempPair('nqtopn', { a: 'cali1', b: 'eth0' });
  const run = promisify(execFile);
  const top = (...args: string[]) =>
    run('node', [CLI, 'top', '-n', node.name, '--interval', '1s', ...args], { timeout: 20_000 }).then(
      (r) => r.stdout,
    );

  beforeAll(async () => {
    await applyQos(
      [
        {
          ifname: 'cali1',
          netns: node.name,
          annotations: {
            'qos.projectcalico.org/egressPacketRate': '100',
            'qos.projectcalico.org/dscp': 'EF',
            'qos.projectcalico.org/ingressMaxConnections': '3',
          },
        },
      ],
      { dataplane: 'nftables' },
    );
  });

  test('400 packets/s from the pod: ~300/s dropped, ~100/s re-marked EF; then 5 connections to it: 2 reset', async () => {
    // The pod sends 400 UDP packets/s to the node for 6 s, then the node opens 5 connections to a
    // server in the pod (not during the flood: the pod's SYN-ACKs would count against its packet
    // rate too), while top samples every second, as JSON and as plain lines.
    const flood = udpFlood(pod.name, '198.18.0.1', 400, 6);
    await sleep(500);
    const json = top('--json', '--iterations', '10');
    const plain = top('--iterations', '10');
    await flood;
    await sleep(500);
    const connections = await holdConnections(pod.name, node.name, '198.18.0.2', 5);
    const [jsonText, plainText] = await Promise.all([json, plain]);
    expect(connections).toMatchObject({ connected: 3, refused: 2, afterClose: 'connected' });

    const docs = jsonText
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rows: TopRow[] });
    expect(docs).toHaveLength(10);
    const row = (doc: { rows: TopRow[] }, direction: string) =>
      doc.rows.find((r) => r.ifname === 'cali1' && r.direction === direction)!;
    const from = row(docs[9]!, 'from');
    const to = row(docs[9]!, 'to');
    process.stdout.write(
      `top, nftables: per second ${JSON.stringify(docs.map((d) => [row(d, 'from').policerDropsPerSecond, row(d, 'from').remarkedPerSecond, row(d, 'to').rejectedPerSecond]))}\nfrom ${JSON.stringify(from)}\nto ${JSON.stringify(to)}\n`,
    );
    expect(from).toMatchObject({
      packetLimit: 100,
      dscp: 46,
      enforcedBy: { packetRate: 'nftables', dscp: 'nftables' },
    });
    // In all: 2,400 sent, 6 s at 100/s after a burst of 5 passed (and re-marked, with the few
    // TCP packets of the connections), the rest dropped.
    expect(Math.abs(from.packetRateDrops! - 1795) / 1795).toBeLessThan(0.05);
    expect(from.remarkedPackets).toBeGreaterThanOrEqual(595);
    expect(from.remarkedPackets).toBeLessThan(660);
    // Per second, in an interval the flood filled: 400 - 100 dropped, 100 re-marked.
    const near = (v: number | undefined, want: number, within: number) =>
      v !== undefined && Math.abs(v - want) / want < within;
    expect(
      docs.some(
        (d) =>
          near(row(d, 'from').policerDropsPerSecond, 300, 0.1) &&
          near(row(d, 'from').remarkedPerSecond, 100, 0.15),
      ),
    ).toBe(true);
    expect(to).toMatchObject({
      maxConnections: 3,
      rejectedConnections: 2,
      enforcedBy: { maxConnections: 'nftables' },
    });
    expect(docs.some((d) => (row(d, 'to').rejectedPerSecond ?? 0) > 0)).toBe(true);

    // Plain lines: the nftables table under the tc one, with the same counters.
    const blocks = plainText.trim().split(/\n\n/);
    expect(blocks).toHaveLength(10);
    const cells = (block: string, direction: string) => {
      const lines = block.split('\n');
      const header = lines.findIndex((l) => l.startsWith('NFTABLES'));
      expect(lines[header]).toMatch(
        /^NFTABLES\s+DIR\s+PKTLIM\s+LIMDROP\/s\s+DSCP\s+MARK\/s\s+MAXCONN\s+RESET\/s/,
      );
      return lines
        .slice(header + 1)
        .map((l) => l.split(/\s+/))
        .find((c) => c[0] === 'cali1' && c[1] === direction)!;
    };
    const flooded = blocks.map((b) => cells(b, 'from')).filter((c) => near(Number(c[3]), 300, 0.1));
    expect(flooded.length).toBeGreaterThan(0);
    expect(flooded[0]!.slice(0, 3)).toEqual(['cali1', 'from', '100']);
    expect(flooded[0]![4]).toBe('46/EF');
    expect(flooded.some((c) => near(Number(c[5]), 100, 0.15))).toBe(true);
    const lastTo = cells(blocks[9]!, 'to');
    expect(lastTo.slice(0, 3)).toEqual(['cali1', 'to', '-']);
    expect(lastTo[6]).toBe('3');
    for (const l of plainText.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  }, 45_000);
});
