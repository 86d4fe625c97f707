// netqos top's arithmetic: counters of two samples -> rates, order, and a table that fits 80
// columns whatever the values.
import { formatTopTable, sortRows, topRows, type TopSample } from '../../lib/cli/top';
import type { QosStatus } from '../../lib/qos';

const stats = (bytes: number, packets: number, drops = 0, overlimits = 0) => ({
  bytes,
  packets,
  drops,
  overlimits,
  requeues: 0,
  backlog: 0,
  qlen: 0,
});

function status(ifname: string, toBytes: number, fromBytes: number, drops = 0): QosStatus {
  return {
    ifname,
    exists: true,
    ingress: { bandwidth: 10_000_000, shaper: stats(toBytes, toBytes / 1000, drops) },
    egress: {
      bandwidth: 20_000_000,
      packetRate: 100,
      shaper: stats(fromBytes, fromBytes / 1000),
      policer: stats(0, 0, 7),
    },
    foreign: { filters: 0 },
  };
}

test('rates are counter differences over the time between the samples', () => {
  const a: TopSample = { at: 1000, statuses: [status('cali0', 1_000_000, 0)] };
  const b: TopSample = { at: 3000, statuses: [status('cali0', 3_500_000, 10_000, 40)] };
  const [to, from] = topRows(b, a);
  expect(to).toMatchObject({
    direction: 'to',
    limit: 10_000_000,
    bitsPerSecond: 10_000_000,
    packetsPerSecond: 1250,
    dropsPerSecond: 20,
  });
  expect(from).toMatchObject({
    direction: 'from',
    bitsPerSecond: 40_000,
    packetLimit: 100,
    policerDropsPerSecond: 0,
  });
});

test('no rates on the first sample, nor when a counter went backwards (object recreated)', () => {
  const a: TopSample = { at: 0, statuses: [status('cali0', 5_000_000, 0)] };
  const b: TopSample = { at: 1000, statuses: [status('cali0', 100, 0)] };
  expect(topRows(a)[0]!.bitsPerSecond).toBeUndefined();
  expect(topRows(b, a)[0]!.bitsPerSecond).toBeUndefined();
});

test('sorted busiest first, an interface keeps its two rows together', () => {
  const a: TopSample = { at: 0, statuses: [status('cali-a', 0, 0), status('cali-b', 0, 0)] };
  const b: TopSample = { at: 1000, statuses: [status('cali-a', 1000, 0), status('cali-b', 0, 900_000, 5)] };
  const rows = sortRows(topRows(b, a), 'rate').map((r) => `${r.ifname}/${r.direction}`);
  expect(rows).toEqual(['cali-b/to', 'cali-b/from', 'cali-a/to', 'cali-a/from']);
  const byDrops = sortRows(topRows(b, a), 'drops').map((r) => r.ifname);
  expect(byDrops[0]).toBe('cali-b');
});

test('the table fits 80 columns with the longest names and values', () => {
  const huge = status('cali0123456789a', 1e15, 1e15, 1e12);
  const lines = formatTopTable(
    topRows({ at: 1000, statuses: [huge] }, { at: 0, statuses: [status('cali0123456789a', 0, 0)] }),
  );
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  expect(lines[0]).toMatch(/^INTERFACE/);
});
