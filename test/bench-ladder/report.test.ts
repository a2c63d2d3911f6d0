/**
 * bench/lib/ladder-report.ts on made-up samples: the JSON follows
 * src/bench-report/schema.ts (summaries from summarizeTimings, speed-ups from
 * the same run's snarkjs and native warm medians, skipped and failed runs
 * kept with their reasons), the Markdown lists every run, and the charts
 * have one series per backend.
 */
import { describe, expect, it } from 'vitest';
import { type MeasuredRun, buildReport, renderMarkdown, speedupPlot, timePlot } from '../../bench/lib/ladder-report.ts';
import { BENCH_REPORT_SCHEMA, BENCH_REPORT_VERSION, type MachineInfo } from '../../src/bench-report/schema.ts';

const machine: MachineInfo = {
  hostname: 'testhost',
  os: 'Linux 6.1',
  cpu_model: 'Test CPU',
  cores: 2,
  memory_bytes: 8 * 1024 ** 3,
  load_average: [0.5, 0.4, 0.3],
  node_version: 'v20.0.0',
  packages: { snarkjs: '0.7.6' },
  gpu: {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe',
    description: 'llvmpipe: Mesa',
    driver: 'llvmpipe: Mesa',
    buffer_bytes_max: 2 ** 32 - 1,
    storage_binding_bytes_max: 2 ** 27,
    is_software: true,
  },
};

const circuit = (name: string, constraints: number, domain_log2: number) => ({
  name,
  family: 'synthetic',
  constraints,
  domain_log2,
  public_signals: 2,
  wires: constraints + 3,
  zkey_bytes: constraints * 400,
});

function run(circuitName: string, backend: MeasuredRun['backend'], warm_ms: number[], cold_ms: number[], extra: Partial<MeasuredRun> = {}): MeasuredRun {
  return {
    circuit: circuitName,
    backend,
    status: 'ok',
    reason: '',
    witness_ms: [5, 4, 6],
    cold_ms,
    warm_ms,
    peak_rss_bytes: 200 * 1024 * 1024,
    verified: true,
    ...extra,
  };
}

const report = buildReport({
  started_at: new Date('2026-12-03T10:00:00Z'),
  duration_ms: 65_432.1,
  argv: ['--log2', '10,12'],
  machine,
  circuits: [circuit('synthetic-10', 1021, 10), circuit('synthetic-12', 4093, 12)],
  measured: [
    run('synthetic-10', 'snarkjs', [400, 420, 380], [900, 950, 1000]),
    run('synthetic-10', 'native', [40, 50, 45], [300, 310, 320]),
    run('synthetic-10', 'webgpu', [800, 900, 1000], [3000, 3100, 3200]),
    run('synthetic-10', 'peer:fake', [], [150, 160, 170]),
    run('synthetic-12', 'snarkjs', [], [], { status: 'skipped', reason: 'above the cap', witness_ms: [] }),
    run('synthetic-12', 'native', [100, 120, 110], [500, 510, 520]),
    run('synthetic-12', 'webgpu', [], [], { status: 'failed', reason: 'device lost', verified: false }),
  ],
});

describe('buildReport', () => {
  it('is a report of the schema, with the run settings and machine', () => {
    expect(report.schema).toBe(BENCH_REPORT_SCHEMA);
    expect(report.version).toBe(BENCH_REPORT_VERSION);
    expect(report.started_at).toBe('2026-12-03T10:00:00.000Z');
    expect(report.duration_ms).toBe(65_432);
    expect(report.argv).toEqual(['--log2', '10,12']);
    expect(report.circuits.map((one) => one.name)).toEqual(['synthetic-10', 'synthetic-12']);
    expect(report.runs).toHaveLength(7);
  });

  it('summarizes samples: min, median, p95', () => {
    const native = report.runs.find((one) => one.circuit === 'synthetic-10' && one.backend === 'native');
    expect(native?.warm).toEqual({ samples_ms: [40, 50, 45], min_ms: 40, median_ms: 45, p95_ms: 49.5 });
    expect(native?.cold?.median_ms).toBe(310);
    expect(native?.witness?.median_ms).toBe(5);
    expect(native?.peak_rss_bytes).toBe(200 * 1024 * 1024);
  });

  it('divides snarkjs and native warm medians of the same circuit by each backend', () => {
    const speedups = Object.fromEntries(
      report.runs.filter((one) => one.circuit === 'synthetic-10').map((one) => [one.backend, [one.speedup_vs_snarkjs, one.speedup_vs_native]]),
    );
    expect(speedups).toEqual({
      snarkjs: [1, Number((45 / 400).toFixed(3))],
      native: [400 / 45, 1].map((value) => Number(value.toFixed(3))),
      webgpu: [0.444, 0.05],
      'peer:fake': [null, null],
    });
    const big = report.runs.find((one) => one.circuit === 'synthetic-12' && one.backend === 'native');
    expect(big?.speedup_vs_snarkjs).toBeNull();
    expect(big?.speedup_vs_native).toBe(1);
  });

  it('keeps skipped and failed runs with their reasons, unverified and without figures', () => {
    const skipped = report.runs.find((one) => one.circuit === 'synthetic-12' && one.backend === 'snarkjs');
    expect(skipped).toMatchObject({ status: 'skipped', reason: 'above the cap', cold: null, warm: null, witness: null, verified: false });
    const failed = report.runs.find((one) => one.circuit === 'synthetic-12' && one.backend === 'webgpu');
    expect(failed).toMatchObject({ status: 'failed', reason: 'device lost', warm: null, verified: false, speedup_vs_snarkjs: null });
  });
});

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(report, 'npm run bench -- --log2 10,12');
  it('has the machine, every ok run with its figures and every run not made with its reason', () => {
    expect(markdown).toContain('# Prove benchmark ladder on testhost');
    expect(markdown).toContain('2 CPUs (Test CPU)');
    expect(markdown).toContain('llvmpipe: Mesa (mesa, software, software: runs on the CPU)');
    expect(markdown).toContain('| synthetic-10 | native | 40.0 / 45.0 / 49.5 | 300 / 310 / 319 | 200 | 8.89x | 1.00x | yes |');
    expect(markdown).toContain('| synthetic-10 | peer:fake | — | 150 / 160 / 169 | 200 | — (cold 5.94x) | — (cold 1.94x) | yes |');
    expect(markdown).toContain('- snarkjs: skipped: above the cap (synthetic-12)');
    expect(markdown).toContain('- webgpu: failed: device lost (synthetic-12)');
    expect(markdown).toContain('**1 run(s) failed or did not verify.**');
    expect(markdown).not.toContain('Contended run');
  });

  it('says when the machine was busier than its CPUs at the start', () => {
    const busy = { ...report, machine: { ...machine, load_average: [7.5, 6, 5] as [number, number, number] } };
    expect(renderMarkdown(busy, 'npm run bench')).toContain('**Contended run**: the 1-minute load average was 7.5 on 2 CPUs');
  });
});

describe('charts', () => {
  it('plot each backend that ran, per circuit family: warm for ours, cold for peers', () => {
    const legend = (svg: string) => [...svg.matchAll(/<g class="legend-entry" data-name="([^"]+)"/g)].map((match) => match[1]);
    expect(legend(timePlot(report))).toEqual(['snarkjs warm, synthetic', 'native warm, synthetic', 'webgpu warm, synthetic', 'peer:fake cold, synthetic']);
    expect(legend(speedupPlot(report))).toEqual(['native over snarkjs, synthetic', 'webgpu over snarkjs, synthetic', 'webgpu over native, synthetic']);
    expect(speedupPlot(report)).toContain('<g class="reference">');
  });
});
