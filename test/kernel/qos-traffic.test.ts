// The default burst policy on real TCP, both directions of a pod limited to 10M by annotations:
// the first second stays under 1.5x the limit, the shaper's own byte counters show the limit
// within 3 %, and iperf3 goodput is within 5 % of the 95.6 % ceiling (1448/1514 at MTU 1500).
import { applyQos, readQos, type QosStatus } from '../../lib';
import { runClient, startServer, stop } from '../helpers/iperf';
import { tempPair } from '../helpers/netns';

const RATE = 10_000_000;
const CEILING = RATE * (1448 / 1514);

test('10M each way: first second, wire rate and goodput', async () => {
  const { a: node, b: pod } = tempPair('nqt', { a: 'cali0', b: 'eth0' });
  const target = {
    ifname: 'cali0',
    netns: node.name,
    annotations: {
      'qos.projectcalico.org/ingressBandwidth': '10M',
      'qos.projectcalico.org/egressBandwidth': '10M',
    },
  };
  await applyQos([target]);

  // The counter's time is taken as the middle of the read, which a loaded machine may stretch.
  const shaped = async (direction: 'ingress' | 'egress') => {
    const start = process.hrtime.bigint();
    const [s]: QosStatus[] = await readQos([target]);
    return { bytes: s[direction].shaper!.bytes, at: (start + process.hrtime.bigint()) / 2n };
  };
  const report: string[] = [];
  // Pod -> node crosses the IFB (egress limit); node -> pod (-R) the root TBF (ingress limit).
  for (const [direction, reverse] of [
    ['egress', false],
    ['ingress', true],
  ] as const) {
    const server = startServer(node.name);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const run = runClient(pod.name, '198.18.0.1', 6, { reverse });
      await new Promise((r) => setTimeout(r, 2000));
      const a = await shaped(direction);
      await new Promise((r) => setTimeout(r, 3000));
      const b = await shaped(direction);
      const result = await run;

      const wire = (Number(b.bytes - a.bytes) * 8) / (Number(b.at - a.at) / 1e9);
      const first = result.intervals[0].bps;
      const sustained =
        result.intervals.slice(1).reduce((sum, i) => sum + i.bps, 0) / (result.intervals.length - 1);
      report.push(
        `${direction}: first second ${(first / 1e6).toFixed(2)}, sustained ${(sustained / 1e6).toFixed(3)}, wire ${(wire / 1e6).toFixed(3)} Mbit/s`,
      );
      expect(first).toBeLessThan(1.5 * RATE);
      expect(Math.abs(wire - RATE) / RATE).toBeLessThan(0.03);
      expect(Math.abs(sustained - CEILING) / CEILING).toBeLessThan(0.05);
    } finally {
      stop(server);
    }
  }
  process.stdout.write(`qos traffic: ${report.join('; ')}\n`);
}, 60_000);
