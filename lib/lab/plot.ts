// Throughput over time: an SVG line chart (log-scale bitrate per second, one line per run, the
// limit as a dashed line) and a terminal bar chart in Unicode blocks. No plotting dependency.
import { formatBps } from './report';

export interface Series {
  label: string;
  /** Per-second points: the interval's end time and its bitrate. */
  points: { start: number; end: number; bps: number }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const seriesColor = (i: number): string => COLORS[i % COLORS.length]!; // i % length is in range

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Decades that hold every value and the limit: [10^lo, 10^hi]. */
function decades(values: number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  // Half a decade of room under the lowest value, so a line at the limit is not on the frame.
  const lo = Math.floor(Math.log10(Math.min(...positive) / 3));
  let hi = Math.ceil(Math.log10(Math.max(...positive)));
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

/** "1 Mbit/s", "10 Gbit/s" for a power of ten. */
function decadeLabel(exp: number): string {
  return formatBps(10 ** exp, true);
}

export function svgChart(
  series: readonly Series[],
  limitBps: number,
  title: string,
  subtitle?: string,
): string {
  const W = 900;
  const H = 480;
  const m = { left: 118, right: 190, top: 66, bottom: 58 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.points.map((p) => p.bps));
  const [lo, hi] = decades([...all, limitBps]);
  const tMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.end)));
  const xOf = (t: number) => m.left + (t / tMax) * pw;
  const yOf = (bps: number) => {
    const v = Math.min(Math.max(Math.log10(Math.max(bps, 10 ** lo)), lo), hi);
    return m.top + ph - ((v - lo) / (hi - lo)) * ph;
  };
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${escapeXml(title)}</text>`,
  );
  if (subtitle)
    out.push(`<text x="${W / 2}" y="50" text-anchor="middle" fill="#555555">${escapeXml(subtitle)}</text>`);

  // Grid: decades (labelled) and their 2..9 multiples; one vertical line per second (or step).
  for (let e = lo; e <= hi; e++) {
    const y = yOf(10 ** e);
    out.push(
      `<line x1="${m.left}" y1="${f(y)}" x2="${m.left + pw}" y2="${f(y)}" stroke="#bbbbbb" stroke-width="1"/>`,
    );
    out.push(`<text x="${m.left - 8}" y="${f(y + 4)}" text-anchor="end">${escapeXml(decadeLabel(e))}</text>`);
    if (e < hi) {
      for (let k = 2; k <= 9; k++) {
        const ym = yOf(k * 10 ** e);
        out.push(
          `<line x1="${m.left}" y1="${f(ym)}" x2="${m.left + pw}" y2="${f(ym)}" stroke="#eeeeee" stroke-width="1"/>`,
        );
      }
    }
  }
  const step = Math.max(1, Math.ceil(tMax / 15));
  for (let t = 0; t <= tMax + 1e-9; t += step) {
    const x = xOf(t);
    out.push(
      `<line x1="${f(x)}" y1="${m.top}" x2="${f(x)}" y2="${m.top + ph}" stroke="#eeeeee" stroke-width="1"/>`,
    );
    out.push(`<text x="${f(x)}" y="${m.top + ph + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444444" stroke-width="1"/>`,
  );
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">time (s)</text>`);
  out.push(
    `<text transform="translate(22 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">bitrate per second (log scale)</text>`,
  );

  // The limit.
  const yl = yOf(limitBps);
  out.push(
    `<line x1="${m.left}" y1="${f(yl)}" x2="${m.left + pw}" y2="${f(yl)}" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="8 5"/>`,
  );

  // The runs: a line through each interval's midpoint, a dot per interval.
  series.forEach((s, i) => {
    const color = seriesColor(i);
    const pts = s.points.map((p) => `${f(xOf((p.start + p.end) / 2))},${f(yOf(p.bps))}`);
    if (pts.length)
      out.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"/>`,
      );
    for (const p of s.points)
      out.push(
        `<circle cx="${f(xOf((p.start + p.end) / 2))}" cy="${f(yOf(p.bps))}" r="3.5" fill="${color}"/>`,
      );
  });

  // Legend, right of the plot.
  const lx = m.left + pw + 18;
  const entries: { label: string; color: string; dash?: string }[] = [
    ...series.map((s, i) => ({ label: s.label, color: seriesColor(i) })),
    { label: `limit ${formatBps(limitBps, true)}`, color: '#ff7f0e', dash: '8 5' },
  ];
  entries.forEach((e, i) => {
    const y = m.top + 14 + i * 24;
    out.push(
      `<line x1="${lx}" y1="${y}" x2="${lx + 28}" y2="${y}" stroke="${e.color}" stroke-width="${e.dash ? 2 : 2.5}"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
    );
    out.push(`<text x="${lx + 36}" y="${y + 4}">${escapeXml(e.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
/** Terminal columns per decade of bitrate. */
const COLS_PER_DECADE = 8;

/**
 * Horizontal bars, one per row, on a log scale with a decade axis on top and a marker under the
 * limit. Rows: { label, bps }.
 */
export function terminalChart(
  rows: readonly { label: string; bps: number }[],
  limitBps: number,
  heading: string,
): string {
  const [lo, hi] = decades([...rows.map((r) => r.bps), limitBps]);
  const width = (hi - lo) * COLS_PER_DECADE;
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const pad = ' '.repeat(labelWidth + 2);
  const colOf = (bps: number) =>
    Math.min(Math.max((Math.log10(Math.max(bps, 10 ** lo)) - lo) * COLS_PER_DECADE, 0), width);

  let scale = '';
  let axis = '';
  for (let e = lo; e <= hi; e++) {
    const label = decadeLabel(e).replace(' ', '').replace('bit/s', '');
    const at = (e - lo) * COLS_PER_DECADE;
    scale = scale.padEnd(at) + label;
    axis += e === lo ? '├' : e === hi ? '┤' : '┼';
    if (e < hi) axis += '─'.repeat(COLS_PER_DECADE - 1);
  }
  const lines = [heading, `${pad}${scale}`, `${pad}${axis}`];
  for (const r of rows) {
    const cols = colOf(r.bps);
    const full = Math.floor(cols);
    const bar = '█'.repeat(full) + EIGHTHS[Math.round((cols - full) * 8) % 8];
    lines.push(`${r.label.padEnd(labelWidth)}  ${bar.padEnd(width + 1)} ${formatBps(r.bps)}`);
  }
  const limitCol = Math.round(colOf(limitBps));
  lines.push(`${pad}${' '.repeat(limitCol)}▲ limit ${formatBps(limitBps, true)}`);
  return lines.join('\n');
}
