// netqos top's arithmetic: counters of two samples -> rates, order, and a table that fits 80
// columns whatever the values.
import { formatTopTable, shortCount, shortRate, sortRows, topRows, type TopSample } from '../../lib/cli/top';
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

test('the table fits 80 columns with the longest names and values, every cell whole', () => {
  const huge = status('cali0123456789a', 1e14, 1e14, 1e11);
  huge.egress.dscp = 34;
  huge.egress.packetRate = 10_000;
  const lines = formatTopTable(
    topRows({ at: 1000, statuses: [huge] }, { at: 0, statuses: [status('cali0123456789a', 0, 0)] }),
  );
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  expect(lines[0]!.split(/\s+/)).toEqual([
    'INTERFACE',
    'DIR',
    'LIMIT',
    'RATE',
    'PKT/s',
    'DROP/s',
    'OVER/s',
    'PKTLIM',
    'DSCP',
  ]);
  // 1e14 bytes in a second: 800 Tbit/s and 1e11 packets; the limits as the annotations say them.
  expect(lines[1]!.split(/\s+/)).toEqual([
    'cali0123456789a',
    'to',
    '10M',
    '800T',
    '100G',
    '100G',
    '0',
    '-',
    '-',
  ]);
  expect(lines[2]!.split(/\s+/)).toEqual([
    'cali0123456789a',
    'from',
    '20M',
    '800T',
    '100G',
    '0',
    '0',
    '10000',
    '34/AF41',
  ]);
});

test("rates in the annotations' notation, counts exact to 99,999; cut (not rounded) to one decimal", () => {
  const values = [undefined, 999, 1000, 99_999, 123_456, 9_999_999, 10_000_000, 1_250_000_000];
  expect(values.map(shortRate)).toEqual(['-', '999', '1K', '99.9K', '123.4K', '9.9M', '10M', '1.2G']);
  expect(values.map(shortCount)).toEqual(['-', '999', '1000', '99999', '123.4K', '9.9M', '10M', '1.2G']);
});

/** A pod whose packet rate, DSCP and connection limit nftables enforces (no shaper). */
function nftStatus(ifname: string, dropped: number, remarked: number, rejected: number): QosStatus {
  return {
    ifname,
    exists: true,
    ingress: {
      maxConnections: 3,
      rejectedConnections: rejected,
      enforcedBy: { maxConnections: 'nftables' },
    },
    egress: {
      packetRate: 100,
      packetBurst: 5,
      packetRateDrops: dropped,
      dscp: 46,
      remarkedPackets: remarked,
      enforcedBy: { packetRate: 'nftables', dscp: 'nftables' },
    },
    foreign: { filters: 0 },
  };
}

test("nftables' counters: drops over the rate, packets re-marked, connections reset, per second and in all", () => {
  const a: TopSample = { at: 0, statuses: [nftStatus('cali1', 100, 50, 0)] };
  const b: TopSample = { at: 2000, statuses: [nftStatus('cali1', 700, 250, 4)] };
  const [to, from] = topRows(b, a);
  expect(to).toMatchObject({
    direction: 'to',
    maxConnections: 3,
    rejectedConnections: 4,
    rejectedPerSecond: 2,
    enforcedBy: { maxConnections: 'nftables' },
  });
  expect(to!.remarkedPackets).toBeUndefined();
  expect(from).toMatchObject({
    direction: 'from',
    packetLimit: 100,
    dscp: 46,
    packetRateDrops: 700,
    policerDropsPerSecond: 300,
    dropsPerSecond: 300,
    remarkedPackets: 250,
    remarkedPerSecond: 100,
  });
  expect(from!.rejectedConnections).toBeUndefined();

  // The tc table has the "from" direction (a packet rate, a DSCP); the nftables table both, with
  // only what nftables enforces.
  const lines = formatTopTable(topRows(b, a));
  const nft = lines.findIndex((l) => l.startsWith('NFTABLES'));
  expect(lines.slice(1, nft).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['cali1 from']);
  expect(lines[nft]).toMatch(/^NFTABLES\s+DIR\s+PKTLIM\s+LIMDROP\/s\s+DSCP\s+MARK\/s\s+MAXCONN\s+RESET\/s$/);
  expect(lines.slice(nft + 1).map((l) => l.split(/\s+/))).toEqual([
    ['cali1', 'to', '-', '-', '-', '-', '3', '2'],
    ['cali1', 'from', '100', '300', '46/EF', '100', '-', '-'],
  ]);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
});

test('no nftables table when tc enforces everything; a control tc enforces shows "-" there', () => {
  const tcOnly = formatTopTable(topRows({ at: 0, statuses: [status('cali0', 0, 0)] }));
  expect(tcOnly.filter((l) => l.startsWith('NFTABLES'))).toEqual([]);
  const mixed = nftStatus('cali2', 0, 0, 0);
  mixed.egress.enforcedBy = { packetRate: 'tc', dscp: 'nftables' };
  const lines = formatTopTable(topRows({ at: 0, statuses: [mixed] }));
  expect(lines).not.toContain('');
  const from = lines
    .slice(lines.findIndex((l) => l.startsWith('NFTABLES')))
    .find((l) => /^cali2\s+from/.test(l))!;
  expect(from.split(/\s+/)).toEqual(['cali2', 'from', '-', '-', '46/EF', '-', '-', '-']);
});
