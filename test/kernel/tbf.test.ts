// TBF on this machine's kernel: what netqos writes reads back the same, through netqos and tc.
import { openNetlink, type NetlinkHandle, type QdiscState } from '../../lib';
import { tempNetns, type Netns } from '../helpers/netns';

let ns: Netns;
let nl: NetlinkHandle;

beforeAll(() => {
  ns = tempNetns().veth('v0', 'v1');
  nl = openNetlink({ netns: ns.name });
});
afterAll(() => nl.close());

async function rootQdisc(dev: string): Promise<QdiscState | undefined> {
  return (await nl.dump({ type: 'qdisc', dev })).find((q) => q.parent === 'root');
}

test('add a 10 Mbit/s TBF, read it back, and tc agrees', async () => {
  await nl.apply([
    {
      op: 'add',
      qdisc: {
        dev: 'v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 10_000_000,
        burst: 32768,
        latencyUs: 25_000,
      },
    },
  ]);
  const q = await rootQdisc('v0');
  expect(q).toMatchObject({
    kind: 'tbf',
    dev: 'v0',
    parent: 'root',
    handle: '1:',
    rate: 10_000_000,
    burst: 32768,
  });
  // limit = rate * latency + burst, as tc computes it: 1,250,000 B/s * 25 ms + 32768.
  expect(q).toMatchObject({ limit: 31250 + 32768 });
  expect(q!.stats).toEqual(
    expect.objectContaining({ bytes: expect.any(Number), packets: expect.any(Number), drops: 0 }),
  );

  const [tc] = ns.tcJson('qdisc', 'show', 'dev', 'v0', 'root');
  expect(tc).toMatchObject({ kind: 'tbf', handle: '1:', root: true });
  expect(tc.options).toMatchObject({ rate: 1_250_000, lat: 25_000 });
  expect(Math.abs(tc.options.burst - 32768)).toBeLessThanOrEqual(1); // tc's own tick rounding
});

test('replace changes the rate in place and change keeps the handle', async () => {
  await nl.apply([
    {
      op: 'replace',
      qdisc: {
        dev: 'v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 20_000_000,
        burst: 65536,
        limit: 200_000,
      },
    },
  ]);
  expect(await rootQdisc('v0')).toMatchObject({
    rate: 20_000_000,
    burst: 65536,
    limit: 200_000,
    handle: '1:',
  });
  await nl.apply([
    {
      op: 'change',
      qdisc: {
        dev: 'v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 5_000_000,
        burst: 16384,
        limit: 100_000,
      },
    },
  ]);
  expect(await rootQdisc('v0')).toMatchObject({ rate: 5_000_000, burst: 16384, limit: 100_000 });
  // tc prints the bucket through its own tick rounding: within a byte of ours.
  const [tc] = ns.tcJson('qdisc', 'show', 'dev', 'v0', 'root');
  expect(tc.options.rate).toBe(625_000);
  expect(Math.abs(tc.options.burst - 16384)).toBeLessThanOrEqual(1);
});

test('peakrate and minburst round-trip', async () => {
  await nl.apply([
    {
      op: 'replace',
      qdisc: {
        dev: 'v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 10_000_000,
        burst: 32768,
        latencyUs: 25_000,
        peakrate: 20_000_000,
        minburst: 1514,
      },
    },
  ]);
  const q = await rootQdisc('v0');
  expect(q).toMatchObject({ rate: 10_000_000, burst: 32768, peakrate: 20_000_000, minburst: 1514 });
  // With a peak rate tc takes the smaller limit: peak * latency + minburst = 62500 + 1514.
  expect(q).toMatchObject({ limit: 62500 + 1514 });
  const [tc] = ns.tcJson('qdisc', 'show', 'dev', 'v0', 'root');
  // tc's JSON shows the peak bucket (through its rounding) but not the peak rate itself.
  expect(tc.options.rate).toBe(1_250_000);
  expect(Math.abs(tc.options.minburst - 1514)).toBeLessThanOrEqual(2);
});

test('rates above 34.4 Gbit/s use the 64-bit attributes and read back', async () => {
  await nl.apply([
    {
      op: 'replace',
      qdisc: {
        dev: 'v0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 40_000_000_000,
        burst: 4 << 20,
        latencyUs: 10_000,
        peakrate: 50_000_000_000,
        minburst: 1 << 20,
      },
    },
  ]);
  const q = await rootQdisc('v0');
  expect(q).toMatchObject({ rate: 40_000_000_000, peakrate: 50_000_000_000 });
  // The kernel keeps the bucket in 64 ns ticks: at 5 GB/s one tick is 320 bytes.
  expect(Math.abs((q as { burst: number }).burst - (4 << 20))).toBeLessThanOrEqual(320);
  const [tc] = ns.tcJson('qdisc', 'show', 'dev', 'v0', 'root');
  expect(tc.options.rate).toBe(5_000_000_000);
});

test('synchronous apply and dump see the same kernel', () => {
  nl.applySync([
    {
      op: 'replace',
      qdisc: {
        dev: 'v1',
        parent: 'root',
        handle: '2:',
        kind: 'tbf',
        rate: 1_000_000,
        burst: 10_000,
        latencyUs: 50_000,
      },
    },
  ]);
  const q = nl.dumpSync({ type: 'qdisc', dev: 'v1' }).find((x) => x.parent === 'root');
  expect(q).toMatchObject({ kind: 'tbf', handle: '2:', rate: 1_000_000, burst: 10_000 });
});

test('delete removes the TBF and the default qdisc returns', async () => {
  await nl.apply([
    { op: 'delete', qdisc: { dev: 'v0', parent: 'root' } },
    { op: 'delete', qdisc: { dev: 'v1', parent: 'root', kind: 'tbf' } },
  ]);
  expect((await rootQdisc('v0'))?.kind).not.toBe('tbf');
  expect(ns.tcJson('qdisc', 'show', 'dev', 'v1').map((q: { kind: string }) => q.kind)).not.toContain('tbf');
});
