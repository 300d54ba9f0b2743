/**
 * Line charts as one standalone SVG file, written as plain strings: a few axes, lines and a legend
 * do not call for a plotting library.
 */
export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const WIDTH = 720;
const HEIGHT = 320;
const MARGIN = { left: 70, right: 170, top: 36, bottom: 48 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const TICKS = 5;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round numbers for ticks: 1, 2 or 5 times a power of ten. */
function niceStep(span: number): number {
  if (!(span > 0)) return 1;
  const raw = span / TICKS;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3).replace(/\.?0+$/, ''));

function chart(c: Chart, top: number): string {
  const all = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMin = Math.min(0, ...all.map(([x]) => x));
  const xMax = Math.max(xMin + 1, ...all.map(([x]) => x));
  const yStep = niceStep(Math.max(...all.map(([, y]) => y), 0));
  const yMax = Math.max(yStep, Math.ceil(Math.max(...all.map(([, y]) => y), 0) / yStep) * yStep);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => top + MARGIN.top + plotH - (y / yMax) * plotH;
  const out: string[] = [];
  out.push(`<text x="${WIDTH / 2}" y="${top + 22}" text-anchor="middle" font-weight="bold">${escapeXml(c.title)}</text>`);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${fmt(y)}</text>`);
  }
  const xStep = niceStep(xMax - xMin);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax + 1e-9; x += xStep) {
    out.push(`<text x="${px(x).toFixed(1)}" y="${top + MARGIN.top + plotH + 16}" text-anchor="middle">${fmt(x)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${top + MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${top + HEIGHT - 10}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${top + MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(c.yLabel)}</text>`);
  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const path = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    out.push(`<polyline class="series" data-name="${escapeXml(s.name)}" fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/>`);
    const ly = top + MARGIN.top + 8 + i * 18;
    out.push(`<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${WIDTH - MARGIN.right + 38}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  return out.join('\n');
}

/** The charts one under the other in one SVG document. */
export function svgCharts(charts: readonly Chart[]): string {
  const height = HEIGHT * charts.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...charts.map((c, i) => chart(c, i * HEIGHT)),
    '</svg>',
    '',
  ].join('\n');
}
