// How the lab talks: numbers as iperf3 prints them, iperf3-style interval tables, plain text
// tables, section headings on stdout, and progress on stderr while iperf3 runs.
import type { Writable } from 'stream';
import type { Interval, IperfRun } from './iperf';

const RATE_UNITS = [
  ['G', 1e9],
  ['M', 1e6],
  ['k', 1e3],
] as const;

/** Three significant digits in the largest unit below the value: [text, unit prefix]. */
function scaled(value: number, units: readonly (readonly [string, number])[]): [string, string] {
  for (const [prefix, f] of units) {
    if (value >= f * 0.9995) return [(value / f).toPrecision(3), prefix];
  }
  return [value >= 100 ? value.toFixed(0) : value.toPrecision(3), ''];
}

/** 9567000 -> "9.57 Mbit/s"; with `trim`, 1e7 -> "10 Mbit/s". */
export function formatBps(bps: number, trim = false): string {
  const [v, p] = scaled(bps, RATE_UNITS);
  return `${trim ? String(Number(v)) : v} ${p}bit/s`;
}

/** As iperf3: "9.57 Mbits/sec". */
export function iperfBitrate(bps: number): string {
  const [v, p] = scaled(bps, RATE_UNITS);
  return `${v} ${p}bits/sec`;
}

/** As iperf3 (binary units): "1.25 MBytes". */
export function iperfBytes(bytes: number): string {
  const [v, p] = scaled(bytes, [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ]);
  return `${v} ${p}Bytes`;
}

/** 0.0123 -> "+1.2 %" (rounded before the sign is chosen: never "-0.0 %"). */
export function signedPercent(fraction: number): string {
  const v = Math.round(fraction * 1000) / 10;
  return `${v > 0 ? '+' : v < 0 ? '-' : '±'}${Math.abs(v).toFixed(1)} %`;
}

/** Columns two spaces apart; `right` marks right-aligned columns. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number> = new Set(),
): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const span = (i: { start: number; end: number }) => `${i.start.toFixed(2)}-${i.end.toFixed(2)} sec`;

/** The per-second table as iperf3 prints it, with the receiver's bitrate of each second added. */
export function intervalTable(run: IperfRun): string {
  const rows: string[][] = run.intervals.map((i: Interval) => [
    '[  5]',
    span(i),
    iperfBytes(i.bytes),
    iperfBitrate(i.bps),
    i.retransmits !== undefined ? String(i.retransmits) : '',
    i.receivedBps !== undefined ? iperfBitrate(i.receivedBps) : '',
  ]);
  const total = { start: 0, end: run.intervals.at(-1)?.end ?? run.seconds };
  const right = new Set([2, 3, 4, 5]);
  const table = textTable(
    ['[ ID]', 'Interval', 'Transfer', 'Bitrate', 'Retr', 'Received'],
    rows,
    right,
  ).split('\n');
  const summary = textTable(
    ['', '', '', '', '', ''],
    [
      [
        '[  5]',
        span(total),
        iperfBytes(run.sentBytes),
        iperfBitrate(run.sentBps),
        run.retransmits !== undefined ? String(run.retransmits) : '',
        'sender',
      ],
      ['[  5]', span(total), iperfBytes(run.receivedBytes), iperfBitrate(run.receivedBps), '', 'receiver'],
    ],
    new Set([2, 3, 4]),
  )
    .split('\n')
    .slice(2);
  return [
    ...table.filter((_, n) => n !== 1),
    '- - - - - - - - - - - - - - - - - - - - - - - - -',
    ...summary,
  ].join('\n');
}

/** The narrative on stdout; silent in --json mode. */
export class Narrative {
  constructor(
    private readonly out: Writable,
    readonly quiet: boolean,
  ) {}

  line(text = ''): void {
    if (!this.quiet) this.out.write(`${text}\n`);
  }

  /** Every line indented by two spaces. */
  block(text: string): void {
    for (const l of text.split('\n')) this.line(l ? `  ${l}` : '');
  }

  heading(text: string): void {
    this.line();
    this.line(text);
    this.line('-'.repeat(text.length));
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress while iperf3 runs, on stderr: a spinner with elapsed seconds and the live rate on a
 * terminal (one line, rewritten), one plain line per second otherwise, nothing in --json mode.
 */
export class Progress {
  private label = '';
  private total = 0;
  private frame = 0;
  private lastSecond = -1;
  private active = false;

  constructor(
    private readonly err: Writable & { isTTY?: boolean },
    private readonly enabled: boolean,
  ) {}

  start(label: string, totalSeconds: number): void {
    Object.assign(this, { label, total: totalSeconds, frame: 0, lastSecond: -1, active: true });
  }

  update(elapsed: number, liveBps?: number, extra = ''): void {
    if (!this.enabled || !this.active) return;
    const rate = liveBps !== undefined ? `  ${formatBps(liveBps).padStart(12)}` : '';
    const shown = Math.min(elapsed, this.total);
    if (this.err.isTTY) {
      const spin = SPINNER[this.frame++ % SPINNER.length];
      this.err.write(
        `\r\x1b[2K  ${spin} ${this.label}  ${shown.toFixed(1)} s / ${this.total} s${rate}${extra ? `  ${extra}` : ''}`,
      );
    } else if (Math.floor(shown) > this.lastSecond) {
      this.lastSecond = Math.floor(shown);
      this.err.write(
        `  ... ${this.label} ${this.lastSecond} s / ${this.total} s${rate}${extra ? `  ${extra}` : ''}\n`,
      );
    }
  }

  done(): void {
    if (this.enabled && this.active && this.err.isTTY) this.err.write('\r\x1b[2K');
    this.active = false;
  }
}
