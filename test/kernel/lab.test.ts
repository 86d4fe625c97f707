// The lab end to end in its short mode: three iperf3 runs of 4 s between lab namespaces, the
// --json document checked, the plot written, and nothing left behind (namespaces, iperf3).
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import { loadLabAnnotations, runLab, type LabDocument } from '../../lib/lab';

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, done) {
      w.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

// Only this process's lab: other test files (the package test, the CLI) may run a lab meanwhile.
const ownLabNamespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((name) => name.startsWith(`nql-${process.pid}-`));
const ownIperf3 = () =>
  execFileSync('ps', ['-eo', 'ppid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([ppid, comm]) => comm === 'iperf3' && Number(ppid) === process.pid);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nqt-lab-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('netqos lab --json: baseline fast, QoS at the ceiling, restored fast, packet rate, DSCP and max connections measured', async () => {
  const plot = path.join(dir, 'lab.svg');
  const stdout = sink();
  const stderr = sink();
  const code = await runLab(['--duration', '4', '--json', '--plot', plot], { stdout, stderr });
  const doc = JSON.parse(stdout.text) as LabDocument;
  process.stdout.write(
    `lab: baseline ${(doc.runs.baseline!.averageBps / 1e9).toFixed(2)} Gbit/s, qos sustained ${(doc.runs.qos!.sustainedBps / 1e6).toFixed(3)} Mbit/s ` +
      `(ceiling ${(doc.runs.qos!.ceilingBps / 1e6).toFixed(3)}, wire ${((doc.runs.qos!.wireBps ?? 0) / 1e6).toFixed(3)}), restored ${(doc.runs.restored!.averageBps / 1e9).toFixed(2)} Gbit/s\n`,
  );

  expect(stderr.text).toBe('');
  expect(code).toBe(0);
  expect(doc).toMatchObject({
    version: 1,
    ok: true,
    problems: [],
    rate: 10_000_000,
    duration: 4,
    plot: plot,
  });
  const { baseline, qos, restored } = doc.runs;
  expect(baseline!.averageBps).toBeGreaterThan(100e6);
  expect(baseline!.intervals).toHaveLength(4);
  expect(qos!.ceilingBps).toBeCloseTo(10e6 * (1448 / 1514), 0);
  expect(Math.abs(qos!.sustainedBps - qos!.ceilingBps) / qos!.ceilingBps).toBeLessThan(0.05);
  expect(Math.abs(qos!.wireBps! - 10e6) / 10e6).toBeLessThan(0.03);
  expect(qos!.intervals.every((i) => i.receivedBps !== undefined)).toBe(true);
  expect(restored!.averageBps).toBeGreaterThan(100e6);

  // What was applied, as readQos saw it: both pods' interfaces limited both ways.
  expect(doc.applied!.status).toHaveLength(2);
  for (const s of doc.applied!.status) {
    expect(s.ifname).toMatch(/^cali[0-9a-f]{11}$/);
    expect(s.ingress.bandwidth).toBe(10_000_000);
    expect(s.egress).toMatchObject({ bandwidth: 10_000_000, ifb: expect.stringMatching(/^nqifb/) });
  }

  // This kernel has no act_police / act_pedit: packet rate and DSCP are enforced by nftables
  // (dataplane auto), connection limits always are; each measured on real traffic.
  process.stdout.write(
    `lab section 7: ${JSON.stringify(doc.packetRate!.measured)} ${JSON.stringify(doc.dscp!.measured)} ${JSON.stringify(doc.maxConnections!.measured)}\n`,
  );
  expect(doc.packetRate).toMatchObject({ supported: true, dataplane: 'nftables' });
  const rate = doc.packetRate!.measured!;
  // 100/s of 400/s offered, after a burst of 5.
  expect(Math.abs((rate.receivedPackets - 5) / rate.seconds - 100)).toBeLessThan(5);
  expect(rate.droppedPackets).toBe(rate.sentPackets - rate.receivedPackets);
  expect(doc.dscp).toMatchObject({ supported: true, dataplane: 'nftables', readBack: { dscp: 46 } });
  expect(doc.dscp!.measured).toEqual({
    sentPackets: 50,
    receivedPackets: 50,
    receivedEfEct0: 50,
    replies: 50,
  });
  expect(doc.maxConnections).toMatchObject({
    supported: true,
    dataplane: 'nftables',
    readBack: { maxConnections: 3, rejectedConnections: 2 },
    measured: { attempted: 5, established: 3, reset: 2, admittedAfterClose: 1 },
  });

  const svg = readFileSync(plot, 'utf8');
  expect(svg).toContain('<svg');
  expect(svg).toContain('limit 10 Mbit/s');
  expect((svg.match(/<polyline/g) ?? []).length).toBe(3);

  expect(doc.cleanup).toMatchObject({ namespacesKept: [], processesLeft: 0 });
  expect(doc.cleanup!.namespacesRemoved).toHaveLength(3);
  expect(ownLabNamespaces()).toEqual([]);
  expect(ownIperf3()).toEqual([]);
}, 90_000);

test('manifests: annotations from Pod YAML, built-in ones for a missing file, --rate over both', () => {
  const pod = (name: string, rate: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  annotations:\n    qos.projectcalico.org/ingressBandwidth: "${rate}"\n    qos.projectcalico.org/egressBandwidth: "${rate}"\nspec:\n  containers: []\n`;
  writeFileSync(path.join(dir, 'iperf-server-qos.yaml'), pod('iperf-server-qos', '20M'));
  const a = loadLabAnnotations(dir);
  expect(a.server).toMatchObject({
    file: path.join(dir, 'iperf-server-qos.yaml'),
    manifestPod: 'iperf-server-qos',
    annotations: { 'qos.projectcalico.org/ingressBandwidth': '20M' },
  });
  expect(a.client.file).toBeUndefined();
  expect(a.client.annotations).toEqual({
    'qos.projectcalico.org/ingressBandwidth': '10M',
    'qos.projectcalico.org/egressBandwidth': '10M',
  });
  expect(a.notes.join('\n')).toContain('iperf-client-qos.yaml not found');
  // The client's egress (10M) and the server's ingress (20M) are in series: the smaller holds.
  expect(a.rate).toBe(10_000_000);
  expect(loadLabAnnotations(dir, '5M').rate).toBe(5_000_000);
  expect(() => loadLabAnnotations(dir, '5Mb')).toThrow(/ingressBandwidth.*5Mb/);
  expect(existsSync(path.join(dir, 'iperf-client-qos.yaml'))).toBe(false);
});

test('bad options: exit code 2 and a message, nothing created', async () => {
  const stdout = sink();
  const stderr = sink();
  expect(await runLab(['--duration', 'x'], { stdout, stderr })).toBe(2);
  expect(stderr.text).toMatch(/--duration/);
  expect(await runLab(['--help'], { stdout: sink(), stderr: sink() })).toBe(0);
  expect(ownLabNamespaces()).toEqual([]);
});
