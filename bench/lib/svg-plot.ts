/**
 * A small SVG line chart on log-log axes, for the bench reports (no plotting
 * dependency): one polyline with markers per series, tick marks and grid lines
 * at powers of 2 or of 10, a legend on the right, and an optional horizontal
 * reference line (e.g. "1x" on a speed-up chart). The output is plain SVG 1.1
 * text with no script or external reference, so any browser or viewer shows it.
 */

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
}

export interface PlotSeries {
  readonly name: string;
  readonly points: readonly PlotPoint[];
  /** Index into the palette and into the marker shapes; default: the series' own index for both. */
  readonly color?: number;
  readonly marker?: number;
}

export type TickBase = 2 | 10;

export interface LogLogPlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  /** Ticks at every power of 2 (labelled 2^k) or of 10 on the x axis. */
  readonly xBase: TickBase;
  /** The y axis's ticks are at powers of 10, with 2x and 5x between when the ticks span two decades or less. */
  readonly yTickLabel?: (value: number) => string;
  readonly reference?: { readonly y: number; readonly label: string };
  /** A line under the title (machine, date). */
  readonly subtitle?: string;
  /** Of the plot area; the legend's width is added to the right of it. */
  readonly plotWidth?: number;
  readonly height?: number;
}

const MARGIN = { left: 78, top: 58, bottom: 58 };
/** Room for a legend entry's line and marker, and a generous average width of a 12 px character. */
const LEGEND_SWATCH = 52;
const LEGEND_CHAR_WIDTH = 7.2;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Tick values from the largest tick at or below `min` to the smallest at or above `max`. */
export function logTicks(min: number, max: number, base: TickBase): number[] {
  if (!(min > 0 && max >= min && Number.isFinite(max))) throw new RangeError(`logTicks: need 0 < min <= max, got ${min}, ${max}`);
  const log = (value: number): number => Math.log(value) / Math.log(base);
  // Rounding guards against log(1000)/log(10) = 2.9999999999999996.
  let low = Math.floor(Number(log(min).toFixed(9)));
  let high = Math.ceil(Number(log(max).toFixed(9)));
  // A point on a tick would sit on the frame: widen a narrow power-of-2 axis by a step each side, an empty decade axis by one.
  if (base === 2 && high - low < 2) {
    low -= 1;
    high += 1;
  } else if (low === high) high += 1;
  const ticks: number[] = [];
  const sparse = base === 10 && high - low <= 2;
  for (let exponent = low; exponent <= high; exponent++) {
    const power = base ** exponent;
    ticks.push(power);
    if (sparse && exponent < high) ticks.push(2 * power, 5 * power);
  }
  return ticks;
}

/** Maps [min, max] on a log scale onto [from, to] pixels. */
export function logScale(min: number, max: number, from: number, to: number): (value: number) => number {
  const low = Math.log(min);
  const span = Math.log(max) - low || 1;
  return (value) => from + ((Math.log(value) - low) / span) * (to - from);
}

function formatNumber(value: number): string {
  if (value >= 1 && value < 1e6) return String(Number(value.toPrecision(3)));
  return value.toPrecision(2).replace(/\.?0+e/, 'e');
}

function xTickLabel(value: number, base: TickBase): string {
  if (base === 2) {
    const exponent = Math.round(Math.log2(value));
    return `2<tspan dy="-7" font-size="10">${exponent}</tspan>`;
  }
  return escapeXml(formatNumber(value));
}

function marker(shape: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const at = (value: number) => value.toFixed(1);
  switch (shape) {
    case 'circle':
      return `<circle cx="${at(x)}" cy="${at(y)}" r="4" fill="${color}"/>`;
    case 'square':
      return `<rect x="${at(x - 3.5)}" y="${at(y - 3.5)}" width="7" height="7" fill="${color}"/>`;
    case 'triangle':
      return `<polygon points="${at(x)},${at(y - 4.5)} ${at(x + 4.5)},${at(y + 3.5)} ${at(x - 4.5)},${at(y + 3.5)}" fill="${color}"/>`;
    case 'diamond':
      return `<polygon points="${at(x)},${at(y - 5)} ${at(x + 5)},${at(y)} ${at(x)},${at(y + 5)} ${at(x - 5)},${at(y)}" fill="${color}"/>`;
  }
}

/** The chart as SVG text. Points with x or y not above 0 cannot sit on a log axis and are left out. */
export function logLogPlot(options: LogLogPlotOptions): string {
  const longestName = Math.max(0, ...options.series.map((one) => one.name.length));
  const legendWidth = Math.max(120, LEGEND_SWATCH + Math.ceil(longestName * LEGEND_CHAR_WIDTH) + 12);
  const width = MARGIN.left + (options.plotWidth ?? 520) + legendWidth;
  const height = options.height ?? 480;
  const plot = { left: MARGIN.left, right: width - legendWidth, top: MARGIN.top, bottom: height - MARGIN.bottom };
  const series = options.series.map((one, index) => ({
    name: one.name,
    color: COLORS[(one.color ?? index) % COLORS.length] ?? '#000000',
    shape: MARKERS[(one.marker ?? index) % MARKERS.length] ?? 'circle',
    points: one.points.filter((point) => point.x > 0 && point.y > 0),
  }));
  const points = series.flatMap((one) => one.points);
  const ys = [...points.map((point) => point.y), ...(options.reference ? [options.reference.y] : [])];
  const xs = points.map((point) => point.x);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle) parts.push(`<text x="${width / 2}" y="40" text-anchor="middle" font-size="11" fill="#555555">${escapeXml(options.subtitle)}</text>`);
  if (points.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return `${parts.join('\n')}\n`;
  }
  const xTicks = logTicks(Math.min(...xs), Math.max(...xs), options.xBase);
  const yTicks = logTicks(Math.min(...ys), Math.max(...ys), 10);
  const xOf = logScale(xTicks[0] ?? 1, xTicks.at(-1) ?? 2, plot.left, plot.right);
  const yOf = logScale(yTicks[0] ?? 1, yTicks.at(-1) ?? 10, plot.bottom, plot.top);
  const yLabel = options.yTickLabel ?? ((value: number) => formatNumber(value));

  parts.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const tick of xTicks) parts.push(`<line x1="${xOf(tick).toFixed(1)}" y1="${plot.top}" x2="${xOf(tick).toFixed(1)}" y2="${plot.bottom}"/>`);
  for (const tick of yTicks) parts.push(`<line x1="${plot.left}" y1="${yOf(tick).toFixed(1)}" x2="${plot.right}" y2="${yOf(tick).toFixed(1)}"/>`);
  parts.push('</g>');
  parts.push(`<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#333333"/>`);
  for (const tick of xTicks) {
    const x = xOf(tick).toFixed(1);
    parts.push(
      `<g class="x-tick" data-value="${tick}"><line x1="${x}" y1="${plot.bottom}" x2="${x}" y2="${plot.bottom + 5}" stroke="#333333"/><text x="${x}" y="${plot.bottom + 20}" text-anchor="middle">${xTickLabel(tick, options.xBase)}</text></g>`,
    );
  }
  for (const tick of yTicks) {
    const y = yOf(tick).toFixed(1);
    parts.push(
      `<g class="y-tick" data-value="${tick}"><line x1="${plot.left - 5}" y1="${y}" x2="${plot.left}" y2="${y}" stroke="#333333"/><text x="${plot.left - 8}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end">${escapeXml(yLabel(tick))}</text></g>`,
    );
  }
  parts.push(
    `<text class="x-label" x="${(plot.left + plot.right) / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text class="y-label" transform="translate(18 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.reference) {
    const y = yOf(options.reference.y).toFixed(1);
    parts.push(
      `<g class="reference"><line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#555555" stroke-dasharray="6 4"/><text x="${plot.right - 4}" y="${(Number(y) - 5).toFixed(1)}" text-anchor="end" fill="#555555">${escapeXml(options.reference.label)}</text></g>`,
    );
  }
  series.forEach((one, index) => {
    const { color, shape } = one;
    const sorted = [...one.points].sort((a, b) => a.x - b.x);
    parts.push(`<g class="series" data-name="${escapeXml(one.name)}">`);
    if (sorted.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${sorted.map((point) => `${xOf(point.x).toFixed(1)},${yOf(point.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const point of sorted) parts.push(marker(shape, xOf(point.x), yOf(point.y), color));
    parts.push('</g>');
    const legendY = plot.top + 10 + index * 22;
    const legendX = plot.right + 18;
    parts.push(
      `<g class="legend-entry" data-name="${escapeXml(one.name)}"><line x1="${legendX}" y1="${legendY}" x2="${legendX + 26}" y2="${legendY}" stroke="${color}" stroke-width="2"/>${marker(shape, legendX + 13, legendY, color)}<text x="${legendX + 34}" y="${legendY + 4}">${escapeXml(one.name)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
