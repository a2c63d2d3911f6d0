/**
 * bench/lib/svg-plot.ts: log-scale ticks (powers of 2 or 10 spanning the
 * data, evenly spaced in pixels), one legend entry and one series group per
 * series, escaped text, and the reference line.
 */
import { describe, expect, it } from 'vitest';
import { escapeXml, logLogPlot, logScale, logTicks } from '../../bench/lib/svg-plot.ts';

function tickPositions(svg: string, axis: 'x' | 'y'): { value: number; at: number }[] {
  const pattern =
    axis === 'x' ? /<g class="x-tick" data-value="([^"]+)"><line x1="([\d.]+)"/g : /<g class="y-tick" data-value="([^"]+)"><line x1="[\d.]+" y1="([\d.]+)"/g;
  return [...svg.matchAll(pattern)].map((match) => ({ value: Number(match[1]), at: Number(match[2]) }));
}

describe('logTicks', () => {
  it('spans the data with powers of the base', () => {
    expect(logTicks(1021, 65533, 2)).toEqual([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
    expect(logTicks(3.2, 4100, 10)).toEqual([1, 10, 100, 1000, 10000]);
    expect(logTicks(1000, 1000, 10)).toEqual([1000, 2000, 5000, 10000]);
    expect(logTicks(1021, 1021, 2)).toEqual([256, 512, 1024, 2048]);
  });

  it('adds 2x and 5x ticks when the ticks span two decades or less', () => {
    expect(logTicks(1.5, 40, 10)).toEqual([1, 2, 5, 10, 20, 50, 100]);
  });

  it('refuses a range a log axis cannot show', () => {
    expect(() => logTicks(0, 10, 10)).toThrow(RangeError);
    expect(() => logTicks(10, 1, 2)).toThrow(RangeError);
  });

  it('maps values on a log scale', () => {
    const at = logScale(1, 1000, 0, 300);
    expect(at(1)).toBeCloseTo(0);
    expect(at(10)).toBeCloseTo(100);
    expect(at(1000)).toBeCloseTo(300);
  });
});

describe('logLogPlot', () => {
  const svg = logLogPlot({
    title: 'Prove time <&> size',
    xLabel: 'constraints',
    yLabel: 'prove time',
    xBase: 2,
    yTickLabel: (value) => `${value} ms`,
    reference: { y: 100, label: '1x' },
    series: [
      {
        name: 'native (warm)',
        points: [
          { x: 1021, y: 30 },
          { x: 16381, y: 250 },
          { x: 4093, y: 80 },
        ],
      },
      {
        name: 'snarkjs (warm)',
        points: [
          { x: 1021, y: 400 },
          { x: 4093, y: 1500 },
        ],
      },
      { name: 'peer:fake (cold)', points: [{ x: 1021, y: 0 }] },
    ],
  });

  it('draws x ticks at powers of 2, evenly spaced, labelled 2^k', () => {
    const ticks = tickPositions(svg, 'x');
    expect(ticks.map((tick) => tick.value)).toEqual([512, 1024, 2048, 4096, 8192, 16384]);
    const gaps = ticks.slice(1).map((tick, index) => tick.at - (ticks[index]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeCloseTo(gaps[0] ?? 0, 0);
    expect(gaps[0]).toBeGreaterThan(0);
    expect(svg).toContain('2<tspan dy="-7" font-size="10">14</tspan>');
  });

  it('draws y ticks at decades, upwards, with the given labels', () => {
    const ticks = tickPositions(svg, 'y');
    expect(ticks.map((tick) => tick.value)).toEqual([10, 100, 1000, 10000]);
    const gaps = ticks.slice(1).map((tick, index) => (ticks[index]?.at ?? 0) - tick.at);
    for (const gap of gaps) expect(gap).toBeCloseTo(gaps[0] ?? 0, 0);
    expect(gaps[0]).toBeGreaterThan(0);
    expect(svg).toContain('>1000 ms</text>');
  });

  it('has one legend entry and one series group per series, points sorted by x', () => {
    const legend = [...svg.matchAll(/<g class="legend-entry" data-name="([^"]+)"/g)].map((match) => match[1]);
    expect(legend).toEqual(['native (warm)', 'snarkjs (warm)', 'peer:fake (cold)']);
    const native = /<g class="series" data-name="native \(warm\)">\n<polyline [^>]*points="([^"]+)"/.exec(svg);
    const xs = (native?.[1] ?? '').split(' ').map((pair) => Number(pair.split(',')[0]));
    expect(xs).toHaveLength(3);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });

  it('leaves out points a log axis cannot hold, escapes text, draws the reference', () => {
    expect(svg).toMatch(/<g class="series" data-name="peer:fake \(cold\)">\n<\/g>/);
    expect(svg).toContain('Prove time &lt;&amp;&gt; size');
    expect(svg).toContain('<g class="reference">');
    expect(escapeXml('"a"')).toBe('&quot;a&quot;');
  });

  it('says "no data" rather than failing on an empty chart', () => {
    expect(logLogPlot({ title: 't', xLabel: 'x', yLabel: 'y', xBase: 10, series: [] })).toContain('no data');
  });
});
