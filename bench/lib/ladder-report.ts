/**
 * The ladder bench's report from its measured samples: the JSON of
 * src/bench-report/schema.ts (with the speed-ups of each run filled in from
 * the same run's snarkjs and native), a Markdown summary, and two SVG charts
 * (svg-plot.ts): prove time against constraints per backend, and the speed-up
 * of native and webgpu over snarkjs.
 */
import {
  BENCH_REPORT_SCHEMA,
  BENCH_REPORT_VERSION,
  type BackendName,
  type BenchReport,
  type CircuitInfo,
  type MachineInfo,
  type ProveRun,
  summarizeTimings,
  type TimingSummary,
} from '../../src/bench-report/schema.ts';
import { logLogPlot, type PlotSeries } from './svg-plot.ts';

/** What the runner measured for one (circuit, backend) pair, before any summary. */
export interface MeasuredRun {
  readonly circuit: string;
  readonly backend: BackendName;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason: string;
  readonly witness_ms: readonly number[];
  readonly cold_ms: readonly number[];
  readonly warm_ms: readonly number[];
  readonly peak_rss_bytes: number | null;
  readonly verified: boolean;
}

export interface ReportInput {
  readonly started_at: Date;
  readonly duration_ms: number;
  readonly argv: readonly string[];
  readonly machine: MachineInfo;
  readonly circuits: readonly CircuitInfo[];
  readonly measured: readonly MeasuredRun[];
}

function summary(samples_ms: readonly number[]): TimingSummary | null {
  return samples_ms.length === 0 ? null : summarizeTimings(samples_ms.map((ms) => Number(ms.toFixed(2))));
}

function ratio(numerator: TimingSummary | null | undefined, denominator: TimingSummary | null | undefined): number | null {
  if (!numerator || !denominator || denominator.median_ms <= 0) return null;
  return Number((numerator.median_ms / denominator.median_ms).toFixed(3));
}

export function buildReport(input: ReportInput): BenchReport {
  const base = input.measured.map((run) => ({
    circuit: run.circuit,
    backend: run.backend,
    status: run.status,
    reason: run.reason,
    witness: summary(run.witness_ms),
    cold: summary(run.cold_ms),
    warm: summary(run.warm_ms),
    peak_rss_bytes: run.peak_rss_bytes,
    verified: run.status === 'ok' && run.verified,
  }));
  const warmOf = (circuit: string, backend: BackendName) =>
    base.find((run) => run.circuit === circuit && run.backend === backend && run.status === 'ok')?.warm ?? null;
  const runs: ProveRun[] = base.map((run) => ({
    ...run,
    speedup_vs_snarkjs: run.status === 'ok' ? ratio(warmOf(run.circuit, 'snarkjs'), run.warm) : null,
    speedup_vs_native: run.status === 'ok' ? ratio(warmOf(run.circuit, 'native'), run.warm) : null,
  }));
  return {
    schema: BENCH_REPORT_SCHEMA,
    version: BENCH_REPORT_VERSION,
    started_at: input.started_at.toISOString(),
    duration_ms: Math.round(input.duration_ms),
    argv: [...input.argv],
    machine: input.machine,
    circuits: [...input.circuits],
    runs,
  };
}

const MIB = 1024 * 1024;

function ms(value: number | undefined | null): string {
  if (value === undefined || value === null) return '—';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function times(summary: TimingSummary | null): string {
  return summary === null ? '—' : `${ms(summary.min_ms)} / ${ms(summary.median_ms)} / ${ms(summary.p95_ms)}`;
}

function speedup(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(2)}x`;
}

/** Cold (whole-process) median of `backend` over this run's: for peers, which have no warm figure. */
function coldRatio(report: BenchReport, run: ProveRun, backend: BackendName): number | null {
  const other = report.runs.find((candidate) => candidate.circuit === run.circuit && candidate.backend === backend && candidate.status === 'ok');
  return ratio(other?.cold, run.cold);
}

export function renderMarkdown(report: BenchReport, command: string): string {
  const machine = report.machine;
  const gpu =
    machine.gpu === null
      ? 'none found'
      : `${machine.gpu.description} (${machine.gpu.vendor}, ${machine.gpu.architecture}${machine.gpu.is_software ? ', software: runs on the CPU' : ''}); max buffer ${(machine.gpu.buffer_bytes_max / MIB).toFixed(0)} MiB`;
  const circuitRows = report.circuits.map(
    (circuit) =>
      `| ${circuit.name} | ${circuit.family} | ${circuit.constraints} | 2^${circuit.domain_log2} | ${circuit.public_signals} | ${circuit.wires} | ${(circuit.zkey_bytes / MIB).toFixed(1)} |`,
  );
  const runRows = report.runs
    .filter((run) => run.status === 'ok')
    .map((run) => {
      const coldVsSnarkjs = run.backend.startsWith('peer:') ? ` (cold ${speedup(coldRatio(report, run, 'snarkjs'))})` : '';
      const coldVsNative = run.backend.startsWith('peer:') ? ` (cold ${speedup(coldRatio(report, run, 'native'))})` : '';
      return `| ${run.circuit} | ${run.backend} | ${times(run.warm)} | ${times(run.cold)} | ${run.peak_rss_bytes === null ? '—' : (run.peak_rss_bytes / MIB).toFixed(0)} | ${speedup(run.speedup_vs_snarkjs)}${coldVsSnarkjs} | ${speedup(run.speedup_vs_native)}${coldVsNative} | ${run.verified ? 'yes' : 'NO'} |`;
    });
  const witnessRows = report.circuits.map((circuit) => {
    const run = report.runs.find((candidate) => candidate.circuit === circuit.name && candidate.witness !== null);
    return `| ${circuit.name} | ${times(run?.witness ?? null)} |`;
  });
  // Runs not made, one line per backend, status and reason (the same reason is usually given for many circuits).
  const notRunGroups = new Map<string, string[]>();
  for (const run of report.runs.filter((candidate) => candidate.status !== 'ok')) {
    const key = `${run.backend}: ${run.status}: ${run.reason}`;
    notRunGroups.set(key, [...(notRunGroups.get(key) ?? []), run.circuit]);
  }
  const notRun = [...notRunGroups].map(([key, circuits]) => `- ${key} (${circuits.join(', ')})`);
  const failed = report.runs.filter((run) => run.status === 'failed' || (run.status === 'ok' && !run.verified));
  const contended =
    machine.load_average[0] > machine.cores
      ? `\n**Contended run**: the 1-minute load average was ${machine.load_average[0]} on ${machine.cores} CPUs at the start, so other work shared the CPUs with every prover; absolute times are inflated and noisy, compare ratios within this run only.\n`
      : '';
  return `# Prove benchmark ladder on ${machine.hostname}

${report.started_at}, ${(report.duration_ms / 1000).toFixed(0)} s. Command: \`${command}\`

Machine: ${machine.cores} CPUs (${machine.cpu_model}), ${(machine.memory_bytes / 1024 ** 3).toFixed(1)} GiB, ${machine.os}, Node ${machine.node_version}, load average ${machine.load_average.join(' / ')} at the start. GPU: ${gpu}.
Packages: ${Object.entries(machine.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')}.

Every key is an INSECURE development key (\`zkp setup --dev\`): proving time does not depend on how the key was made.
Warm: the key resident in the bench process, witness in, proof out (what a worker does). Cold: a whole process
(\`zkp prove --no-verify\`, \`snarkjs groth16 prove\`, or the peer binary) reading the key and witness and writing the proof; peak RSS is of the cold runs.
Times are min / median / p95 in ms. Speed-ups divide the other backend's warm median by this one's, in this run
(peers have no warm figure: their cold ratio is in brackets). Every proof was verified.${failed.length > 0 ? ` **${failed.length} run(s) failed or did not verify.**` : ''}
${contended}
## Circuits

| circuit | family | constraints | domain | public | wires | zkey MiB |
|---|---|---:|---:|---:|---:|---:|
${circuitRows.join('\n')}

## Prove times

| circuit | backend | warm ms (min / median / p95) | cold ms (min / median / p95) | peak RSS MiB | vs snarkjs | vs native | verified |
|---|---|---|---|---:|---:|---:|---|
${runRows.join('\n')}

## Witness times (computed once per circuit, in this process)

| circuit | ms (min / median / p95) |
|---|---|
${witnessRows.join('\n')}
${notRun.length > 0 ? `\n## Not run\n\n${notRun.join('\n')}\n` : ''}`;
}

const BACKEND_ORDER = ['snarkjs', 'native', 'webgpu'];

function backendsOf(report: BenchReport): BackendName[] {
  const names = [...new Set(report.runs.filter((run) => run.status === 'ok').map((run) => run.backend))];
  const rank = (name: string) => (BACKEND_ORDER.includes(name) ? BACKEND_ORDER.indexOf(name) : BACKEND_ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function constraintsOf(report: BenchReport, circuit: string): number {
  return report.circuits.find((candidate) => candidate.name === circuit)?.constraints ?? 0;
}

function timeLabel(value_ms: number): string {
  if (value_ms >= 1000) return `${Number((value_ms / 1000).toPrecision(3))} s`;
  if (value_ms >= 1) return `${Number(value_ms.toPrecision(3))} ms`;
  return `${Number((value_ms * 1000).toPrecision(3))} µs`;
}

function subtitle(report: BenchReport): string {
  const gpu = report.machine.gpu === null ? 'no GPU' : `${report.machine.gpu.description}${report.machine.gpu.is_software ? ' (software)' : ''}`;
  return `${report.machine.hostname}: ${report.machine.cores} CPUs, ${report.machine.cpu_model}; ${gpu}; ${report.started_at.slice(0, 10)}`;
}

function familyOf(report: BenchReport, circuit: string): string {
  return report.circuits.find((candidate) => candidate.name === circuit)?.family ?? '?';
}

/** The circuit families of the report, in the order of its circuits. */
function familiesOf(report: BenchReport): string[] {
  return [...new Set(report.circuits.map((circuit) => circuit.family))];
}

/**
 * Prove time (median) against constraints: one colour per backend (warm; cold
 * for peers, which have no warm figure), one marker and line per circuit family.
 */
export function timePlot(report: BenchReport): string {
  const series: PlotSeries[] = [];
  const families = familiesOf(report);
  backendsOf(report).forEach((backend, color) => {
    const kind = backend.startsWith('peer:') ? 'cold' : 'warm';
    families.forEach((family, marker) => {
      const runs = report.runs.filter((run) => run.backend === backend && run.status === 'ok' && familyOf(report, run.circuit) === family);
      if (runs.length === 0) return;
      series.push({
        name: `${backend} ${kind}, ${family}`,
        color,
        marker,
        points: runs.map((run) => ({ x: constraintsOf(report, run.circuit), y: (kind === 'warm' ? run.warm : run.cold)?.median_ms ?? 0 })),
      });
    });
  });
  return logLogPlot({
    title: 'Groth16 prove time against circuit size (median)',
    subtitle: subtitle(report),
    xLabel: 'constraints',
    yLabel: 'prove time',
    xBase: 2,
    yTickLabel: timeLabel,
    series,
  });
}

/**
 * Speed-up of native and webgpu (warm medians) over snarkjs, and of webgpu
 * over native, per circuit size: one colour per ratio, one marker per family.
 */
export function speedupPlot(report: BenchReport): string {
  const ok = report.runs.filter((run) => run.status === 'ok');
  const ratios = [
    { name: 'native over snarkjs', backend: 'native', value: (run: ProveRun) => run.speedup_vs_snarkjs },
    { name: 'webgpu over snarkjs', backend: 'webgpu', value: (run: ProveRun) => run.speedup_vs_snarkjs },
    { name: 'webgpu over native', backend: 'webgpu', value: (run: ProveRun) => run.speedup_vs_native },
  ];
  const series: PlotSeries[] = [];
  const families = familiesOf(report);
  ratios.forEach((ratio, color) => {
    families.forEach((family, marker) => {
      const points = ok
        .filter((run) => run.backend === ratio.backend && ratio.value(run) !== null && familyOf(report, run.circuit) === family)
        .map((run) => ({ x: constraintsOf(report, run.circuit), y: ratio.value(run) ?? 0 }));
      if (points.length > 0) series.push({ name: `${ratio.name}, ${family}`, color, marker, points });
    });
  });
  return logLogPlot({
    title: 'Speed-up over snarkjs (warm medians, same run)',
    subtitle: subtitle(report),
    xLabel: 'constraints',
    yLabel: 'speed-up (x)',
    xBase: 2,
    yTickLabel: (value) => `${Number(value.toPrecision(3))}x`,
    reference: { y: 1, label: '1x: as fast' },
    series,
  });
}
