// Fidelity: a netqos-built 10 Mbit/s TBF shapes real TCP to 10 Mbit/s on the wire while iperf3
// runs through it. The shaper counts Ethernet frames (the qdisc's byte counters), iperf3 counts
// TCP goodput: at MTU 1500 that tops out at 1448/1514 = 95.6 % of the configured rate.
import { openNetlink } from '../../lib';
import { runClient, startServer, stop } from '../helpers/iperf';
import { tempPair } from '../helpers/netns';

const RATE = 10_000_000;
const GOODPUT_CEILING = RATE * (1448 / 1514);

test('10 Mbit/s TBF: wire rate within 3 %, iperf3 goodput within 5 % of the ceiling', async () => {
  const { a: server, b: client } = tempPair('nqt', { a: 's0', b: 'c0' });

  const nl = openNetlink({ netns: client.name });
  await nl.apply([
    {
      op: 'replace',
      qdisc: {
        dev: 'c0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: RATE,
        burst: 32768,
        latencyUs: 25_000,
      },
    },
  ]);
  // The counter's time is taken as the middle of the read, which a loaded machine may stretch.
  const bytesNow = async () => {
    const start = process.hrtime.bigint();
    const [q] = (await nl.dump({ type: 'qdisc', dev: 'c0' })).filter((x) => x.parent === 'root');
    return { bytes: q.stats.bytes, at: (start + process.hrtime.bigint()) / 2n };
  };

  const iperf = startServer(server.name);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const run = runClient(client.name, '198.18.0.1', 8, { omit: 2 });
    // Sample the shaper's own counter over the steady part of the run.
    await new Promise((r) => setTimeout(r, 3000));
    const a = await bytesNow();
    await new Promise((r) => setTimeout(r, 5000));
    const b = await bytesNow();
    const result = await run;

    const wireBps = (Number(b.bytes - a.bytes) * 8) / (Number(b.at - a.at) / 1e9);
    process.stdout.write(
      `traffic: wire ${(wireBps / 1e6).toFixed(3)} Mbit/s, goodput ${(result.receivedBps / 1e6).toFixed(3)} Mbit/s (ceiling ${(GOODPUT_CEILING / 1e6).toFixed(3)})\n`,
    );
    expect(Math.abs(wireBps - RATE) / RATE).toBeLessThan(0.03);
    expect(Math.abs(result.receivedBps - GOODPUT_CEILING) / GOODPUT_CEILING).toBeLessThan(0.05);
  } finally {
    stop(iperf);
    nl.close();
  }
}, 40_000);
