// `netqos top`: a live table of every pod interface in a namespace — configured limits and what
// flows through them each way, per second, from the shapers' and policers' counters; and where
// nftables enforces packet rate, DSCP or connection limits, a second table of its rules'
// counters (packets dropped over the rate, packets re-marked, connections reset). One watching
// handle: the configuration comes from its mirror, the counters from one qdisc dump per refresh
// (plus the hooks of pods with packet-rate policers) and one read of netqos's nftables table;
// nothing it reads makes the kernel notify anyone else.
import { openNetlink, type NetlinkHandle } from '../handle';
import type { Stats } from '../netlink';
import { dscpText } from '../netlink/dsfield';
import {
  hasControl,
  hasQos,
  isNetqosIfbName,
  readQos,
  type DirectionStatus,
  type Enforcement,
  type QosStatus,
} from '../qos';

export type TopSort = 'rate' | 'drops' | 'name';

/** One direction of one interface, with its counters turned into rates. */
export interface TopRow {
  ifname: string;
  /** 'to' the pod (its ingress limit) or 'from' it (egress). */
  direction: 'to' | 'from';
  /** Configured bandwidth, bit/s. */
  limit?: number;
  /** Configured packet rate, packets/s. */
  packetLimit?: number;
  dscp?: number;
  /** Measured over the last interval (undefined on the first sample). */
  bitsPerSecond?: number;
  packetsPerSecond?: number;
  /** Drops of the shaper and the policer together, per second. */
  dropsPerSecond?: number;
  overlimitsPerSecond?: number;
  /** Of which dropped over the packet rate. */
  policerDropsPerSecond?: number;
  /** Open TCP connections allowed (nftables' ct count). */
  maxConnections?: number;
  /** What enforces each control of this direction (tc or nftables). */
  enforcedBy?: Enforcement;
  /** nftables' counters so far: packets dropped over the rate, re-marked, connections reset. */
  packetRateDrops?: number;
  remarkedPackets?: number;
  rejectedConnections?: number;
  /** The same per second. */
  remarkedPerSecond?: number;
  rejectedPerSecond?: number;
}

/** What one refresh knows: the status read and when. */
export interface TopSample {
  at: number;
  statuses: QosStatus[];
}

const key = (ifname: string, direction: string) => `${ifname}/${direction}`;

/**
 * Counters of one direction: what the shaper passed (else the policer), drops of the shaper and
 * of the packet-rate limit (tc's policer or nftables' limit).
 */
function counters(d: DirectionStatus & { remarkedPackets?: number }): {
  bytes?: number;
  packets?: number;
  drops: number;
  over: number;
  policed: number;
  remarked: number;
  rejected: number;
} {
  const passed: Stats | undefined = d.shaper ?? d.policer;
  return {
    bytes: passed?.bytes,
    packets: passed?.packets,
    drops: (d.shaper?.drops ?? 0) + (d.packetRateDrops ?? 0),
    over: (d.shaper?.overlimits ?? 0) + (d.policer?.overlimits ?? 0),
    policed: d.packetRateDrops ?? 0,
    remarked: d.remarkedPackets ?? 0,
    rejected: d.rejectedConnections ?? 0,
  };
}

/** Whether nftables enforces any control of a row's direction (it then has nftables counters). */
export const usesNftables = (r: Pick<TopRow, 'enforcedBy'>) =>
  Object.values(r.enforcedBy ?? {}).includes('nftables');

/**
 * Rows of `now`, with rates against `previous` (the same interface and direction, counters not
 * gone backwards: a counter that shrank means the object was recreated, so no rate this time).
 */
export function topRows(now: TopSample, previous?: TopSample): TopRow[] {
  const before = new Map<string, ReturnType<typeof counters>>();
  if (previous) {
    for (const s of previous.statuses) {
      before.set(key(s.ifname, 'to'), counters(s.ingress));
      before.set(key(s.ifname, 'from'), counters(s.egress));
    }
  }
  const seconds = previous ? (now.at - previous.at) / 1000 : 0;
  const rate = (a: number | undefined, b: number | undefined) =>
    seconds > 0 && a !== undefined && b !== undefined && a >= b ? (a - b) / seconds : undefined;
  const rows: TopRow[] = [];
  for (const s of now.statuses) {
    for (const [direction, d] of [
      ['to', s.ingress],
      ['from', s.egress],
    ] as const) {
      if (!hasControl(d)) continue;
      const dscp = direction === 'from' ? s.egress.dscp : undefined;
      const c = counters(d);
      const b = before.get(key(s.ifname, direction));
      const bytesPerSecond = rate(c.bytes, b?.bytes);
      const row: TopRow = {
        ifname: s.ifname,
        direction,
        limit: d.bandwidth,
        packetLimit: d.packetRate,
        dscp,
        bitsPerSecond: bytesPerSecond === undefined ? undefined : bytesPerSecond * 8,
        packetsPerSecond: rate(c.packets, b?.packets),
        dropsPerSecond: rate(c.drops, b?.drops),
        overlimitsPerSecond: rate(c.over, b?.over),
        policerDropsPerSecond: rate(c.policed, b?.policed),
        maxConnections: d.maxConnections,
        enforcedBy: d.enforcedBy,
      };
      if (usesNftables(row)) {
        const e = d.enforcedBy!;
        if (e.packetRate === 'nftables') row.packetRateDrops = c.policed;
        if (direction === 'from' && e.dscp === 'nftables') {
          row.remarkedPackets = c.remarked;
          row.remarkedPerSecond = rate(c.remarked, b?.remarked);
        }
        if (e.maxConnections === 'nftables') {
          row.rejectedConnections = c.rejected;
          row.rejectedPerSecond = rate(c.rejected, b?.rejected);
        }
      }
      rows.push(row);
    }
  }
  return rows;
}

/** Busiest first (or most drops first), an interface's two directions kept together. */
export function sortRows(rows: readonly TopRow[], by: TopSort): TopRow[] {
  const score = new Map<string, number>();
  for (const r of rows) {
    const v = by === 'drops' ? (r.dropsPerSecond ?? 0) : by === 'rate' ? (r.bitsPerSecond ?? 0) : 0;
    score.set(r.ifname, Math.max(score.get(r.ifname) ?? 0, v));
  }
  return [...rows].sort(
    (a, b) =>
      (score.get(b.ifname) ?? 0) - (score.get(a.ifname) ?? 0) ||
      a.ifname.localeCompare(b.ifname) ||
      (a.direction === 'to' ? -1 : 1),
  );
}

export const TOP_COLUMNS = [
  'INTERFACE',
  'DIR',
  'LIMIT',
  'RATE',
  'PKT/s',
  'DROP/s',
  'OVER/s',
  'PKTLIM',
  'DSCP',
];
// Widths that fit 80 columns with two spaces between (the interface name is at most 15 bytes):
// rates in the annotations' own notation ("10M", "9.9M"), packet limits as plain numbers.
const WIDTHS = [15, 4, 7, 7, 6, 6, 6, 6, 7];
const NUMERIC = new Set([2, 3, 4, 5, 6, 7]);

const whole = (v: number | undefined) => (v === undefined ? '-' : String(Math.round(v)));

const SI = [
  ['T', 1e12],
  ['G', 1e9],
  ['M', 1e6],
  ['K', 1e3],
] as const;

/** `n` with an SI suffix from `from` up, cut (not rounded) to one decimal: 9_950_000 -> "9.9M". */
function si(n: number, from: number): string {
  for (const [unit, f] of SI) {
    if (n >= f && n >= from) return `${Math.floor((n / f) * 10) / 10}${unit}`;
  }
  return String(n);
}

/** Bits per second as Calico's annotations write them ("10M", "9.9M"). */
export const shortRate = (v: number | undefined) => (v === undefined ? '-' : si(Math.round(v), 1e3));

/** A count per second: exact up to 99,999, then "123.4K" style, so it keeps its column. */
export const shortCount = (v: number | undefined) => (v === undefined ? '-' : si(Math.round(v), 1e5));

/** "46 (EF)" -> "46/EF". */
const dscpCell = (v: number | undefined) =>
  v === undefined ? '-' : dscpText(v).replace(/ \((\w+)\)/, '/$1');

function cells(r: TopRow): string[] {
  return [
    r.ifname,
    r.direction,
    r.limit === undefined ? '-' : shortRate(r.limit),
    shortRate(r.bitsPerSecond),
    shortCount(r.packetsPerSecond),
    shortCount(r.dropsPerSecond),
    shortCount(r.overlimitsPerSecond),
    whole(r.packetLimit),
    dscpCell(r.dscp),
  ];
}

/** Cells padded to their widths (numbers to the right), at most `width` columns. */
function tableLine(values: string[], widths: readonly number[], numeric: ReadonlySet<number>, width: number) {
  return values
    .map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd()
    .slice(0, width);
}

/**
 * The table, at most `width` columns wide (longer cells are cut): the directions with a
 * bandwidth, packet rate or DSCP; then, when nftables enforces controls of any, its table.
 */
export function formatTopTable(rows: readonly TopRow[], width = 80): string[] {
  const line = (values: string[]) => tableLine(values, WIDTHS, NUMERIC, width);
  const shaped = rows.filter(
    (r) => r.limit !== undefined || r.packetLimit !== undefined || r.dscp !== undefined,
  );
  return [line(TOP_COLUMNS), ...shaped.map((r) => line(cells(r))), ...formatNftTable(rows, width)];
}

export const NFT_COLUMNS = ['NFTABLES', 'DIR', 'PKTLIM', 'LIMDROP/s', 'DSCP', 'MARK/s', 'MAXCONN', 'RESET/s'];
const NFT_WIDTHS = [15, 4, 8, 9, 7, 7, 7, 7];
const NFT_NUMERIC = new Set([2, 3, 5, 6, 7]);

/** Only what nftables enforces: a control tc enforces shows as "-" here (its counters are above). */
function nftCells(r: TopRow): string[] {
  const e = r.enforcedBy ?? {};
  const nft = (control: keyof Enforcement, text: string) => (e[control] === 'nftables' ? text : '-');
  return [
    r.ifname,
    r.direction,
    nft('packetRate', whole(r.packetLimit)),
    nft('packetRate', shortCount(r.policerDropsPerSecond)),
    nft('dscp', dscpCell(r.dscp)),
    nft('dscp', shortCount(r.remarkedPerSecond)),
    nft('maxConnections', r.maxConnections === undefined ? '-' : String(r.maxConnections)),
    nft('maxConnections', shortCount(r.rejectedPerSecond)),
  ];
}

/**
 * The nftables table, its header row right under the tc table (no blank line: in a pipe a blank
 * line ends a refresh); nothing when nftables enforces nothing here.
 */
export function formatNftTable(rows: readonly TopRow[], width = 80): string[] {
  const nft = rows.filter(usesNftables);
  if (!nft.length) return [];
  const line = (values: string[]) => tableLine(values, NFT_WIDTHS, NFT_NUMERIC, width);
  return [line(NFT_COLUMNS), ...nft.map((r) => line(nftCells(r)))];
}

export interface TopOptions {
  netns?: string;
  /** Milliseconds between refreshes. */
  intervalMs: number;
  sort: TopSort;
  json?: boolean;
  /** Stop after this many refreshes (default: until q, Ctrl-C or a signal). */
  iterations?: number;
}

export interface TopTerminal {
  /** A TTY: redraw in place and read keys; otherwise plain lines, one block per refresh. */
  isTTY: boolean;
  columns?: number;
  rows?: number;
  write(text: string): void;
  /** Calls `onKey` with each key pressed; returns a function that stops listening. */
  keys?(onKey: (key: string) => void): () => void;
}

/** The interfaces of the namespace that carry netqos controls, read through the watching handle. */
async function sample(nl: NetlinkHandle, netns: string | undefined): Promise<TopSample> {
  const start = Date.now();
  const mirror = await nl.watch();
  const targets = [...mirror.allLinks()]
    .map((l) => l.name)
    .filter((name) => !isNetqosIfbName(name))
    .map((ifname) => ({ ifname, netns }));
  const statuses = (await readQos(targets, { handles: new Map([[netns ?? '', nl]]) })).filter(hasQos);
  // The counters were read somewhere within the read: its middle is the best guess of when.
  return { at: (start + Date.now()) / 2, statuses };
}

/** Runs until q / Ctrl-C, a signal, or `iterations` refreshes. Returns an exit code. */
export async function runTop(options: TopOptions, term: TopTerminal): Promise<number> {
  const nl = openNetlink({ netns: options.netns });
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const unlisten =
    term.isTTY && term.keys
      ? term.keys((k) => (k === 'q' || k === '\u0003' ? stop() : undefined))
      : undefined;
  if (term.isTTY) term.write('\x1b[?1049h\x1b[?25l'); // alternate screen, cursor hidden
  try {
    let previous: TopSample | undefined;
    for (let n = 0; options.iterations === undefined || n < options.iterations; n++) {
      const now = await sample(nl, options.netns);
      const rows = sortRows(topRows(now, previous), options.sort);
      previous = now;
      term.write(render(rows, now, options, term));
      const last = options.iterations !== undefined && n + 1 >= options.iterations;
      if (last) break;
      const timer = new Promise<'tick'>((resolve) => setTimeout(() => resolve('tick'), options.intervalMs));
      if ((await Promise.race([timer, stopped.then(() => 'stop' as const)])) === 'stop') break;
    }
    return 0;
  } finally {
    if (term.isTTY) term.write('\x1b[?25h\x1b[?1049l');
    unlisten?.();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    nl.close();
  }
}

function render(rows: TopRow[], now: TopSample, options: TopOptions, term: TopTerminal): string {
  const time = new Date(now.at).toISOString().slice(11, 19);
  if (options.json) return `${JSON.stringify({ version: 1, time: new Date(now.at).toISOString(), rows })}\n`;
  const where = options.netns ? `netns ${options.netns}` : 'this netns';
  const head = `netqos top - ${where} - ${now.statuses.length} interfaces - every ${options.intervalMs / 1000}s - by ${options.sort}`;
  const width = term.columns ?? 80;
  const table = formatTopTable(rows, width);
  if (!term.isTTY) return `${`${time} ${head}`.slice(0, width)}\n${table.join('\n')}\n\n`;
  // Redraw in place: home, each line cleared to its end, then the rest of the screen cleared.
  const room = Math.max(3, (term.rows ?? 24) - 3);
  const shown = table.slice(0, room);
  const more =
    table.length > room ? [`... ${table.length - room} more rows (a larger terminal shows them)`] : [];
  const lines = [
    `${head.slice(0, width - 10).padEnd(width - 10)}${time.padStart(10)}`,
    '',
    ...shown,
    ...more,
  ];
  const quit = 'q or Ctrl-C quits';
  return `\x1b[H${lines.map((l) => `${l.slice(0, width)}\x1b[K`).join('\n')}\n${quit}\x1b[K\x1b[J`;
}
