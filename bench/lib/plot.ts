// The results plot: cost per item (µs) against N, log-log, one panel per workload, one line per
// contender (dashed where the point is extrapolated). Plain SVG, written by hand.

export interface Series {
  label: string;
  color: string;
  points: { n: number; us: number; extrapolated?: boolean }[];
}

export interface Panel {
  title: string;
  series: Series[];
}

const W = 420;
const H = 300;
const M = { left: 62, right: 26, top: 30, bottom: 40 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmtUs = (v: number) => (v >= 1e6 ? `${v / 1e6} s` : v >= 1e3 ? `${v / 1e3} ms` : `${v} µs`);

function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

function panel(p: Panel, x0: number, y0: number): string {
  const pts = p.series.flatMap((s) => s.points).filter((q) => q.us > 0);
  if (!pts.length) return '';
  const nx = decades(Math.min(...pts.map((q) => q.n)), Math.max(...pts.map((q) => q.n)));
  const ny = decades(Math.min(...pts.map((q) => q.us)), Math.max(...pts.map((q) => q.us)));
  // (Each list holds at least the decade of the smallest value.)
  const [xl, xh] = [Math.log10(nx[0] ?? 1), Math.log10(nx.at(-1) ?? 1)];
  const [yl, yh] = [Math.log10(ny[0] ?? 1), Math.log10(ny.at(-1) ?? 1)];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const X = (n: number) => x0 + M.left + ((Math.log10(n) - xl) / Math.max(xh - xl, 1e-9)) * pw;
  const Y = (us: number) => y0 + M.top + ph - ((Math.log10(us) - yl) / Math.max(yh - yl, 1e-9)) * ph;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + W / 2}" y="${y0 + 18}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
  );
  out.push(
    `<rect x="${x0 + M.left}" y="${y0 + M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  );
  for (const n of nx) {
    out.push(`<line x1="${X(n)}" x2="${X(n)}" y1="${y0 + M.top}" y2="${y0 + M.top + ph}" stroke="#eee"/>`);
    out.push(
      `<text x="${X(n)}" y="${y0 + M.top + ph + 14}" text-anchor="middle">${n.toLocaleString('en-US')}</text>`,
    );
  }
  for (const v of ny) {
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 + M.left - 4}" y="${Y(v) + 4}" text-anchor="end">${fmtUs(v)}</text>`);
  }
  out.push(
    `<text x="${x0 + M.left + pw / 2}" y="${y0 + H - 6}" text-anchor="middle">N (pods / interfaces)</text>`,
  );
  out.push(
    `<text transform="translate(${x0 + 12},${y0 + M.top + ph / 2}) rotate(-90)" text-anchor="middle">per item</text>`,
  );
  for (const s of p.series) {
    const ps = s.points.filter((q) => q.us > 0).sort((a, b) => a.n - b.n);
    ps.slice(1).forEach((b, k) => {
      const a = ps[k]!; // b's predecessor
      const dash = b.extrapolated || a.extrapolated ? ' stroke-dasharray="4 3"' : '';
      out.push(
        `<line x1="${X(a.n).toFixed(1)}" y1="${Y(a.us).toFixed(1)}" x2="${X(b.n).toFixed(1)}" y2="${Y(b.us).toFixed(1)}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      );
    });
    for (const q of ps) {
      out.push(
        q.extrapolated
          ? `<circle cx="${X(q.n).toFixed(1)}" cy="${Y(q.us).toFixed(1)}" r="3" fill="white" stroke="${s.color}"/>`
          : `<circle cx="${X(q.n).toFixed(1)}" cy="${Y(q.us).toFixed(1)}" r="3" fill="${s.color}"/>`,
      );
    }
  }
  return out.join('\n');
}

/** Panels in a grid of `cols`, a shared legend below, a caption on top. */
export function renderSvg(
  caption: string,
  panels: Panel[],
  legend: { label: string; color: string }[],
  cols = 3,
): string {
  const rows = Math.ceil(panels.length / cols);
  const legendRows = Math.ceil(legend.length / 4);
  const width = cols * W;
  const height = 28 + rows * H + 16 + legendRows * 18 + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${esc(caption)}</text>`,
  ];
  panels.forEach((p, i) => out.push(panel(p, (i % cols) * W, 28 + Math.floor(i / cols) * H)));
  const ly = 28 + rows * H + 16;
  legend.forEach((l, i) => {
    const x = 20 + (i % 4) * (width / 4);
    const y = ly + Math.floor(i / 4) * 18;
    out.push(`<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${l.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}">${esc(l.label)}</text>`);
  });
  out.push(
    `<text x="20" y="${height - 6}" fill="#555">dashed line, hollow point: extrapolated (not run at that N)</text>`,
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}
