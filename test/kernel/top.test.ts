// `netqos top` while iperf3 pushes through a 10M limit: as plain lines (a pipe), as JSON, and in a
// real 80x24 terminal (tmux: the table redrawn in place, q quits, the terminal restored). The
// rate it shows is the shaper's wire rate, so it reads ~10 Mbit/s, not iperf3's goodput. And
// nothing it reads shows in `tc monitor` or `ip monitor` in that namespace.
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { applyQos } from '../../lib';
import { runClient, startServer, stop } from '../helpers/iperf';
import { tempPair } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');
const RATE = 10_000_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses "9.98Mbit" style rates as top prints them. */
function bits(text: string): number {
  const m = /^([\d.]+)(T|G|M|K)?bit$/.exec(text);
  if (!m) return NaN;
  const scale = { T: 1e12, G: 1e9, M: 1e6, K: 1e3 }[m[2] as 'T' | 'G' | 'M' | 'K'] ?? 1;
  return Number(m[1]) * scale;
}

describe('netqos top', () => {
  const { a: node, b: pod } = tempPair('nqtop', { a: 'cali0', b: 'eth0' });
  let server: ReturnType<typeof startServer> | undefined;
  let client: Promise<unknown> | undefined;

  beforeAll(async () => {
    await applyQos([
      {
        ifname: 'cali0',
        netns: node.name,
        annotations: {
          'qos.projectcalico.org/ingressBandwidth': '10M',
          'qos.projectcalico.org/egressBandwidth': '20M',
          'qos.projectcalico.org/dscp': 'EF',
        },
      },
    ]).catch((e: Error) => {
      // DSCP needs act_pedit, which this kernel lacks: the bandwidth alone then.
      if (!/pedit|action module/i.test(e.message)) throw e;
      return applyQos([
        {
          ifname: 'cali0',
          netns: node.name,
          annotations: {
            'qos.projectcalico.org/ingressBandwidth': '10M',
            'qos.projectcalico.org/egressBandwidth': '20M',
          },
        },
      ]);
    });
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
    expect(limit).toBe('10Mbit');
    expect(Math.abs(bits(rate!) - RATE) / RATE).toBeLessThan(0.1);
    expect(from!.split(/\s+/)[2]).toBe('20Mbit');
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
    const monitors = ['tc', 'ip'].map((tool) => {
      const child = spawn('ip', ['netns', 'exec', node.name, tool, 'monitor'], {
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
