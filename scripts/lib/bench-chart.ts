// The benchmark's chart, written as SVG by hand (no charting package): added latency per cell,
// one panel per job length, bars per way at each concurrency, p50 as the bar and p99 as a
// whisker, on a logarithmic axis (the floor adds milliseconds, the original's settings seconds).

const COLORS = { kit: '#1f77b4', orig: '#d62728', direct: '#7f7f7f' };
const LABELS = { kit: 'kit (defaults)', orig: 'original settings (2 s polls, 22 s window)', direct: 'direct route (floor)' };

function esc(text: string) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The bench's chart: added latency (p50 and p99) per way, job length and concurrency.
 *
 * @returns an SVG document
 */
export function chartSvg(cells: Array<{ way: string; jobSeconds: number; concurrency: number; summary: { addedMs: { p50: number | null; p99: number | null }; failures: number } }>, labels: { title: string; subtitle?: string }): string {
  const jobs = [...new Set(cells.map((c) => c.jobSeconds))].sort((a, b) => a - b);
  const concs = [...new Set(cells.map((c) => c.concurrency))].sort((a, b) => a - b);
  const ways = ['kit', 'orig', 'direct'].filter((w) => cells.some((c) => c.way === w));
  const panelW = 300;
  const panelH = 260;
  const left = 70;
  const top = 70;
  const gap = 30;
  const width = left + jobs.length * (panelW + gap) + 10;
  const height = top + panelH + 90;
  const minMs = 1;
  const maxMs = 20_000;
  const y = (ms: number) => {
    const v = Math.min(maxMs, Math.max(minMs, ms));
    return top + panelH - ((Math.log10(v) - Math.log10(minMs)) / (Math.log10(maxMs) - Math.log10(minMs))) * panelH;
  };
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="16" font-weight="bold">${esc(labels.title)}</text>`);
  if (labels.subtitle) out.push(`<text x="${left}" y="42" fill="#555">${esc(labels.subtitle)}</text>`);
  jobs.forEach((job, j) => {
    const x0 = left + j * (panelW + gap);
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${job} s job</text>`);
    out.push(`<rect x="${x0}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#ccc"/>`);
    for (let decade = minMs; decade <= maxMs; decade *= 10) {
      const yy = y(decade);
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
      if (j === 0) out.push(`<text x="${x0 - 6}" y="${yy + 4}" text-anchor="end" fill="#555">${decade >= 1000 ? `${decade / 1000} s` : `${decade} ms`}</text>`);
    }
    const groupW = panelW / Math.max(1, concs.length);
    concs.forEach((conc, k) => {
      const gx = x0 + k * groupW;
      out.push(`<text x="${gx + groupW / 2}" y="${top + panelH + 16}" text-anchor="middle" fill="#333">×${conc}</text>`);
      const barW = Math.min(22, (groupW - 16) / Math.max(1, ways.length));
      ways.forEach((way, w) => {
        const cell = cells.find((c) => c.way === way && c.jobSeconds === job && c.concurrency === conc);
        const bx = gx + groupW / 2 - (ways.length * barW) / 2 + w * barW;
        if (!cell || cell.summary.addedMs.p50 === null) return;
        const p50 = Math.max(minMs, cell.summary.addedMs.p50);
        const p99 = Math.max(minMs, cell.summary.addedMs.p99 ?? p50);
        const color = COLORS[(way as 'kit')] ?? '#000';
        out.push(`<rect x="${bx + 1}" y="${y(p50)}" width="${barW - 2}" height="${top + panelH - y(p50)}" fill="${color}"><title>${esc(`${way} ${job} s × ${conc}: added p50 ${Math.round(cell.summary.addedMs.p50)} ms, p99 ${Math.round(cell.summary.addedMs.p99 ?? 0)} ms`)}</title></rect>`);
        out.push(`<line x1="${bx + barW / 2}" x2="${bx + barW / 2}" y1="${y(p50)}" y2="${y(p99)}" stroke="black"/>`);
        out.push(`<line x1="${bx + barW / 2 - 3}" x2="${bx + barW / 2 + 3}" y1="${y(p99)}" y2="${y(p99)}" stroke="black"/>`);
        if (cell.summary.failures > 0) out.push(`<text x="${bx + barW / 2}" y="${y(p99) - 4}" text-anchor="middle" fill="#d62728" font-size="10">${cell.summary.failures}✗</text>`);
      });
    });
  });
  out.push(`<text transform="translate(16 ${top + panelH / 2}) rotate(-90)" text-anchor="middle" fill="#333">added latency (total − Main's run time), log scale</text>`);
  let lx = left;
  const ly = top + panelH + 44;
  for (const way of ways) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[(way as 'kit')]}"/>`);
    const label = LABELS[(way as 'kit')] ?? way;
    out.push(`<text x="${lx + 18}" y="${ly}">${esc(label)}</text>`);
    lx += 40 + label.length * 6.5;
  }
  out.push(`<text x="${left}" y="${ly + 22}" fill="#555">bar: p50; whisker: p99; ×N: concurrent clients; ✗: failed requests</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
