/**
 * WebGPU backend benchmark, webgpu against the CPU baseline (native, else
 * snarkjs) in the same process, every result checked equal / verified:
 *   msm:   MSM G1, MSM G2 and NTT at 2^min..2^max;
 *   prove: a full Groth16 proof of the bench circuit (circuits/, built and
 *          cached by scripts/build-circuits.ts) on webgpu and on the
 *          baseline, both verified with snarkjs;
 *   field: the limb-width micro-benchmark: chains of dependent Montgomery
 *          multiplications per thread, 16 x 16-bit vs 20 x 13-bit limbs,
 *          straight and compact multiply (each row names its variant,
 *          the ZKP_WEBGPU_FIELD / ZKP_WEBGPU_MUL settings).
 * Writes bench/results/webgpu-<adapter>-<host>.{json,md} (latest at the top,
 * every run also under bench/results/<date>/).
 *
 *   npm run bench:webgpu -- [flags]   (--help lists them; defaults suit lavapipe)
 *
 * Columns: e2e = the plain API call (uploads bases and scalars, reads back);
 * resident = MSM over bases already resident (loadCircuit), i.e. without
 * the bases upload; kernel = device time of the compute passes of one
 * extra resident run (timestamp-query; '-' where the adapter lacks it).
 */
import { readFile, rm } from 'node:fs/promises';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { benchCircuitSpec, buildCircuit } from '../scripts/build-circuits.ts';
import type { ProverBackend } from '../src/prover/backend.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../src/prover/backends/webgpu/backend.ts';
import { type CodegenOptions, isCpuDriver, type MulCode } from '../src/prover/backends/webgpu/codegen.ts';
import { deviceOptionsFromEnv, type CompileRecord, type DeviceCounters } from '../src/prover/backends/webgpu/device.ts';
import { loadCpuBackend, loadNativeBackend } from '../src/prover/backends/index.ts';
import { runMulChain } from './experiments/field-width/field-kernels.ts';
import { montMul13 } from '../src/prover/backends/webgpu/twins/field13.ts';
import type { LimbWidth } from './experiments/field-width/shader.ts';
import { BN254_P, BN254_R, Fq } from '../src/prover/backends/webgpu/twins/field.ts';
import { snarkjs } from '../src/prover/ffjs.ts';
import { prove, type ProgressEvent } from '../src/prover/groth16.ts';
import { readWtns } from '../src/prover/io/wtns.ts';
import { readZkey } from '../src/prover/io/zkey.ts';
import { verifyProof } from '../src/prover/prove-files.ts';
import { testRandom } from '../src/random/seed.ts';
import { BenchCli } from './lib/cli.ts';
import { PROBE_FLAGS, probeOptions, runProbe } from './lib/webgpu-probe.ts';
import { counterDelta, fieldVariantName, setPassTimingMethod, topEntries, withPassTiming } from './lib/webgpu-timing.ts';
import type { TimingMethod } from '../src/prover/backends/webgpu/pass-timing.ts';
import { webgpuReportName, writeResults } from './lib/results.ts';

async function time<T>(fn: () => Promise<T>, repeat: number): Promise<{ ms: number; value: T }> {
  let best = Infinity;
  let value: T | undefined;
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    value = await fn();
    best = Math.min(best, performance.now() - t);
  }
  return { ms: best, value: value as T };
}

interface Row {
  op: string;
  log2n: number;
  webgpu_e2e_ms: number;
  webgpu_resident_ms: number | null;
  /** Sum of the compute passes of one extra run (timing_method); null where not recorded. */
  webgpu_kernel_ms: number | null;
  /** 'timestamp' (device time) or 'submission' (each pass submitted alone and waited for: includes per-pass latency). */
  timing_method: string;
  /** That run's milliseconds per kernel entry. */
  passes_ms: Record<string, number | null>;
  /** That run's host-side work: buffers created, bytes uploaded and read back. */
  per_call: DeviceCounters;
  baseline_ms: number;
  speedup_e2e: number;
  equal: boolean;
}

type Section = 'msm' | 'prove' | 'field';
const SECTIONS: readonly Section[] = ['msm', 'prove', 'field'];

const USAGE = `usage: npm run bench:webgpu -- [flags]

The WebGPU backend against the CPU baseline (native, else snarkjs) in the same
process; every result is checked equal, every proof verified. Writes
bench/results/webgpu-<adapter>-<host>.json and .md.

  --sections LIST      comma-separated, of msm, prove, field (default all)
  --min-log2n N        smallest MSM/NTT size 2^N (default 12)
  --max-log2n N        largest MSM/NTT size 2^N (default 14)
  --g2-max-log2n N     largest G2 MSM size (default min(max-log2n, 12))
  --repeat N           runs of each; the best counts (default 1)
  --prove-log2n N      the prove section's circuit, 4 to 22 (default 10 on a
                       CPU driver such as lavapipe, else 16)
  --field-threads N    field section: threads (default 4096 on a CPU driver, else 2^20)
  --field-chain N      field section: multiplications per thread (default 256 / 4096)
  --field-bench        the same as --sections field
  --pass-timing M      per-pass timing: auto (timestamp queries where they
                       are recorded, else submission), timestamp, submission
  --help               this text

Probe mode (a first run on a GPU host, under one deadline; see docs/webgpu.md):
  --probe              field multiply rate per arithmetic variant; G1 MSM per
                       size with random, all-ones and 70%-in-{0,1} scalars;
                       NTT and computeH; a small G2 MSM; the smallest G1 MSM
                       with the other curve code. Per-pass times, compile
                       times, every result checked against native; a summary
                       table and decisions. JSON + .md to $OUT when set, else
                       bench/results/webgpu-probe-<adapter>-<host>.{json,md}.
                       Exits 1 on a mismatch or a failed stage.
  --probe-msm-log2n L  G1 MSM sizes, comma-separated log2 (default 16,18,20)
  --probe-ntt-log2n N  NTT and computeH size (default 20)
  --probe-g2-log2n N   G2 MSM size (default 10)
  --probe-deadline-s S stages still to run after S seconds are skipped, with
                       the reason recorded (default 510)
  (--repeat, --field-threads and --field-chain apply too; --repeat default 2 here)

Defaults are sized for lavapipe; on a GPU pass e.g.
--min-log2n 12 --max-log2n 22 --g2-max-log2n 20 --prove-log2n 20.`;

const cli = new BenchCli('bench:webgpu', USAGE, {
  sections: { type: 'string' },
  'min-log2n': { type: 'string' },
  'max-log2n': { type: 'string' },
  'g2-max-log2n': { type: 'string' },
  repeat: { type: 'string' },
  'prove-log2n': { type: 'string' },
  'field-threads': { type: 'string' },
  'field-chain': { type: 'string' },
  'field-bench': { type: 'boolean' },
  probe: { type: 'boolean' },
  'pass-timing': { type: 'string' },
  ...PROBE_FLAGS,
});

async function probeMain(): Promise<void> {
  process.exit(await runProbe(probeOptions(cli, `npm run bench:webgpu -- ${process.argv.slice(2).join(' ')}`.trim())));
}

async function main(): Promise<void> {
  const passTiming = cli.list('pass-timing', ['auto'], ['auto', 'timestamp', 'submission']);
  if (passTiming.length !== 1) cli.fail('--pass-timing takes one of auto, timestamp, submission');
  if (passTiming[0] !== 'auto') setPassTimingMethod(passTiming[0] as TimingMethod);
  if (cli.boolean('probe')) return probeMain();
  const run = new Set<Section>(cli.boolean('field-bench') ? ['field'] : cli.list('sections', SECTIONS, SECTIONS));
  const minLog = cli.int('min-log2n', 12, 1, 28);
  const maxLog = cli.int('max-log2n', 14, minLog, 28);
  const g2MaxLog = cli.int('g2-max-log2n', Math.min(maxLog, 12), 1, 28);
  const repeat = cli.int('repeat', 1, 1);
  // Their defaults depend on the adapter; validate now, before the device opens.
  for (const name of ['field-threads', 'field-chain']) cli.int(name, 1, 1);
  cli.int('prove-log2n', 10, 4, 22);
  const curve = await buildBn128(true);
  const gpu = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), loadAbcBackend: loadNativeBackend });
  const cpu = await loadCpuBackend();
  const onCpuDriver = isCpuDriver(gpu.gpu.adapterDescription);
  console.log(
    `${gpu.describe()}\nbaseline: ${cpu.describe()}\nsections: ${[...run].join(', ')}; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const rows = run.has('msm') ? await msmSection(gpu, cpu, curve, minLog, maxLog, g2MaxLog, repeat) : [];
  const proveRows = run.has('prove')
    ? await runProveBench(gpu, cpu, cli.int('prove-log2n', onCpuDriver ? 10 : 16, 4, 22), repeat, (line) => console.log(line))
    : [];
  const fieldRows = run.has('field')
    ? await runFieldBench(gpu, cli.int('field-threads', onCpuDriver ? 4096 : 1 << 20, 1), cli.int('field-chain', onCpuDriver ? 256 : 4096, 1), repeat, (line) =>
        console.log(line),
      )
    : [];
  const mdParts: string[] = [];
  if (rows.length > 0) mdParts.push(msmTable(rows));
  if (proveRows.length > 0) mdParts.push(proveTable(proveRows));
  if (fieldRows.length > 0) mdParts.push(fieldTable(fieldRows));
  const compiles = gpu.gpu.compileRecords();
  if (compiles.length > 0) mdParts.push(compileTable(compiles));
  const md = mdParts.join('\n');
  console.log(`\n${md}`);
  const name = webgpuReportName('webgpu', gpu.gpu.adapterDescription, hostname());
  const command = `npm run bench:webgpu -- ${process.argv.slice(2).join(' ')}`.trim();
  const report = {
    webgpu: gpu.describe(),
    baseline: cpu.describe(),
    host: hostname(),
    command,
    load_average_at_end: loadavg(),
    date: new Date().toISOString(),
    repeat,
    rows,
    prove: proveRows,
    field: fieldRows,
    compiles,
  };
  const written = writeResults(name, {
    json: JSON.stringify(report, null, 2),
    md: `# WebGPU benchmark\n\nwebgpu: ${report.webgpu}\nbaseline: ${report.baseline}\ncommand: \`${command}\`; load average at the end ${report.load_average_at_end.map((x) => x.toFixed(2)).join(' ')} (2 shared cores); ${report.date}\n\n${md}`,
  });
  console.log(`wrote ${written.join(', ')}`);
  const allEqual = rows.every((r) => r.equal) && proveRows.every((r) => r.verified) && fieldRows.every((r) => r.equal);
  await gpu.close();
  await cpu.close();
  await curve.terminate();
  if (!allEqual) {
    console.error('MISMATCH between webgpu and the baseline (or a proof that does not verify)');
    process.exit(1);
  }
  process.exit(0);
}

function msmTable(rows: Row[]): string {
  const header =
    '| op | log2n | webgpu e2e ms | webgpu resident ms | passes ms (method) | baseline ms | baseline/webgpu | equal | buffers / uploaded KiB per call | largest passes |\n|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.op} | ${r.log2n} | ${r.webgpu_e2e_ms.toFixed(1)} | ${r.webgpu_resident_ms === null ? '-' : r.webgpu_resident_ms.toFixed(1)} | ${r.webgpu_kernel_ms === null ? '-' : r.webgpu_kernel_ms.toFixed(1)} (${r.timing_method}) | ${r.baseline_ms.toFixed(1)} | ${r.speedup_e2e.toFixed(3)} | ${r.equal} | ${r.per_call.buffers_created} / ${(r.per_call.bytes_uploaded / 1024).toFixed(0)} | ${topEntries(r.passes_ms)} |`,
      )
      .join('\n') +
    '\n'
  );
}

function compileTable(records: readonly CompileRecord[]): string {
  const rows = records.map((c) => `| ${c.module} | ${c.entry} | ${c.module_ms.toFixed(0)} | ${c.pipeline_ms.toFixed(0)} |`);
  return `| shader module | pipeline | module ms | pipeline ms |\n|---|---|---|---|\n${rows.join('\n')}\n`;
}

function proveTable(rows: ProveBenchRow[]): string {
  const header =
    '| Groth16 prove | log2n | constraints | best ms | runs ms | baseline/this | verified | stages ms (best run) |\n|---|---|---|---|---|---|---|---|\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.backend} | ${r.log2n} | ${r.constraints} | ${r.best_ms.toFixed(0)} | ${r.runs_ms.map((x) => x.toFixed(0)).join(', ')} | ${r.speedup_vs_baseline.toFixed(3)} | ${r.verified} | ${JSON.stringify(r.stages_ms)} |`,
      )
      .join('\n') +
    '\n'
  );
}

function fieldTable(rows: FieldBenchRow[]): string {
  const header =
    '| field mul | limbs | mul | variant | threads | chain | ms | Mmul/s | equal (sampled threads vs twin) |\n|---|---|---|---|---|---|---|---|---|\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.field} | ${r.limbs} | ${r.mul} | ${r.variant} | ${r.threads} | ${r.chain} | ${r.ms.toFixed(1)} | ${(r.mul_per_s / 1e6).toFixed(2)} | ${r.equal} |`,
      )
      .join('\n') +
    '\n'
  );
}

async function msmSection(
  gpu: RawWebgpuBackend,
  cpu: ProverBackend,
  curve: FfCurve,
  minLog: number,
  maxLog: number,
  g2MaxLog: number,
  repeat: number,
): Promise<Row[]> {
  console.log('compiling pipelines (cached by the driver after the first run)...');
  await gpu.warm('G1');
  if (g2MaxLog >= minLog) await gpu.warm('G2');
  const rows: Row[] = [];
  const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
  for (let log2n = minLog; log2n <= maxLog; log2n++) {
    const n = 1 << log2n;
    // Bases: multiples of the generator (cheap to make, fine for timing).
    const g1 = new Uint8Array(n * 64);
    let p = curve.G1.g;
    for (let i = 0; i < n; i++) {
      g1.set(curve.G1.toAffine(p), i * 64);
      p = curve.G1.add(p, curve.G1.g);
    }
    const scalars = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) scalars.set(curve.Fr.fromMontgomery(curve.Fr.random()), i * 32);
    const id = `bench-${log2n}`;
    const circuit = await gpu.loadCircuit({ id, A: g1, B1: g1, B2: new Uint8Array(0), C: g1, H: g1 });
    const e2e = await time(() => gpu.msmG1(g1, scalars), repeat);
    const resident = await time(() => circuit.msmG1('A', scalars), repeat);
    const timedMsm = await withPassTiming(gpu.gpu, () => circuit.msmG1('A', scalars));
    const base = await time(() => cpu.msmG1(g1, scalars), repeat);
    rows.push({
      op: 'msm-g1',
      log2n,
      webgpu_e2e_ms: e2e.ms,
      webgpu_resident_ms: resident.ms,
      webgpu_kernel_ms: timedMsm.timing.total_ms,
      timing_method: timedMsm.timing.method,
      passes_ms: timedMsm.per_entry,
      per_call: timedMsm.work,
      baseline_ms: base.ms,
      speedup_e2e: base.ms / e2e.ms,
      equal: eq(e2e.value, base.value) && eq(resident.value, base.value) && eq(timedMsm.value, base.value),
    });
    await circuit.release();

    if (log2n <= g2MaxLog) {
      const g2 = new Uint8Array(n * 128);
      let q = curve.G2.g;
      for (let i = 0; i < n; i++) {
        g2.set(curve.G2.toAffine(q), i * 128);
        q = curve.G2.add(q, curve.G2.g);
      }
      const e = await time(() => gpu.msmG2(g2, scalars), repeat);
      const timedG2 = await withPassTiming(gpu.gpu, () => gpu.msmG2(g2, scalars));
      const b = await time(() => cpu.msmG2(g2, scalars), repeat);
      rows.push({
        op: 'msm-g2',
        log2n,
        webgpu_e2e_ms: e.ms,
        webgpu_resident_ms: null,
        webgpu_kernel_ms: timedG2.timing.total_ms,
        timing_method: timedG2.timing.method,
        passes_ms: timedG2.per_entry,
        per_call: timedG2.work,
        baseline_ms: b.ms,
        speedup_e2e: b.ms / e.ms,
        equal: eq(e.value, b.value) && eq(timedG2.value, b.value),
      });
    }

    const values = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) values.set(curve.Fr.random(), i * 32);
    const e = await time(() => gpu.ntt(values, log2n, 'forward'), repeat);
    const timedNtt = await withPassTiming(gpu.gpu, () => gpu.ntt(values, log2n, 'forward'));
    const b = await time(() => cpu.ntt(values, log2n, 'forward'), repeat);
    rows.push({
      op: 'ntt',
      log2n,
      webgpu_e2e_ms: e.ms,
      webgpu_resident_ms: null,
      webgpu_kernel_ms: timedNtt.timing.total_ms,
      timing_method: timedNtt.timing.method,
      passes_ms: timedNtt.per_entry,
      per_call: timedNtt.work,
      baseline_ms: b.ms,
      speedup_e2e: b.ms / e.ms,
      equal: eq(e.value, b.value) && eq(timedNtt.value, b.value),
    });
    for (const r of rows.filter((x) => x.log2n === log2n)) console.log(JSON.stringify(r));
  }
  return rows;
}

interface ProveBenchRow {
  backend: string;
  log2n: number;
  constraints: number;
  runs_ms: number[];
  best_ms: number;
  /** baseline best / this best. */
  speedup_vs_baseline: number;
  verified: boolean;
  stages_ms: Record<string, number>;
  /** webgpu: buffers created, bytes allocated, uploaded and read back by each prove (the first one also loads the circuit). */
  device_work_per_prove?: DeviceCounters[];
}

/** Full Groth16 proofs of the bench circuit (a multiplication chain filling 2^log2n) on the baseline and on webgpu; both verified. */
async function runProveBench(gpu: RawWebgpuBackend, cpu: ProverBackend, log2n: number, repeat: number, say: (line: string) => void): Promise<ProveBenchRow[]> {
  const gpuDevice = gpu.gpu;
  const circuit = await buildCircuit(benchCircuitSpec(log2n), say);
  say(`prove: circuit ${circuit.name}, ${circuit.nConstraints} constraints, domain 2^${circuit.power}`);
  const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
  const wtnsPath = join(tmpdir(), `zkp-bench-webgpu-${process.pid}.wtns`);
  const rng = testRandom('bench:webgpu prove');
  const field = (): bigint => rng.below(BN254_R);
  await (await snarkjs()).wtns.calculate({ a: field().toString(), b: field().toString() }, circuit.wasm, wtnsPath);
  const rows: ProveBenchRow[] = [];
  try {
    // The first run of each backend loads the circuit (webgpu: uploads the bases); it is timed and reported like the rest.
    for (const [name, backend] of [
      [`baseline ${cpu.name}`, cpu],
      ['webgpu', gpu],
    ] as const) {
      const runs: number[] = [];
      const work: DeviceCounters[] = [];
      let verified = true;
      let bestStages: Record<string, number> = {};
      for (let r = 0; r < Math.max(2, repeat); r++) {
        const stages: Record<string, number> = {};
        const countersBefore = gpuDevice?.counters();
        const started = performance.now();
        const result = await prove(await readZkey(circuit.zkey), await readWtns(wtnsPath), {
          backend,
          progress: (e: ProgressEvent) => {
            if (e.phase === 'end') stages[e.stage] = Math.round(e.duration_ms ?? 0);
          },
        });
        const ms = performance.now() - started;
        if (countersBefore && backend === gpu && gpuDevice) work.push(counterDelta(countersBefore, gpuDevice.counters()));
        if (runs.length === 0 || ms < Math.min(...runs)) bestStages = stages;
        runs.push(ms);
        verified &&= await verifyProof(vkey, result.publicSignals, result.proof);
        const w = backend === gpu ? work.at(-1) : undefined;
        say(`  prove ${name} run ${r + 1}: ${ms.toFixed(0)} ms ${JSON.stringify(stages)}${w ? ` device work ${JSON.stringify(w)}` : ''}`);
      }
      rows.push({
        backend: name,
        log2n: circuit.power,
        constraints: circuit.nConstraints,
        runs_ms: runs,
        best_ms: Math.min(...runs),
        speedup_vs_baseline: 1,
        verified,
        stages_ms: bestStages,
        ...(work.length > 0 ? { device_work_per_prove: work } : {}),
      });
    }
  } finally {
    await rm(wtnsPath, { force: true });
  }
  for (const r of rows) r.speedup_vs_baseline = rows[0]!.best_ms / r.best_ms;
  return rows;
}

interface FieldBenchRow {
  field: 'fq';
  limbs: string;
  /** straight, or compact (outer limb loop rolled) */
  mul: MulCode;
  /** The settings that select this arithmetic for the curve and MSM kernels (docs/webgpu.md). */
  variant: string;
  threads: number;
  chain: number;
  ms: number;
  mul_per_s: number;
  equal: boolean;
}

/** Dependent Fq multiplications (x <- x*y, `chain` times per thread) for each limb width; a few threads checked against the twin. */
async function runFieldBench(gpu: RawWebgpuBackend, threads: number, chain: number, repeat: number, say: (line: string) => void): Promise<FieldBenchRow[]> {
  const rows: FieldBenchRow[] = [];
  const rng = testRandom('bench:webgpu field');
  const pairs = Array.from({ length: threads }, (): [bigint, bigint] => [rng.below(BN254_P), rng.below(BN254_P)]);
  for (const [width, mulCode] of [
    [16, 'straight'],
    [13, 'straight'],
    [16, 'compact'],
    [13, 'compact'],
  ] as const satisfies ReadonlyArray<readonly [LimbWidth, MulCode]>) {
    const codegen: CodegenOptions = { ...gpu.codegen, mul: mulCode };
    await runMulChain(gpu.gpu, 'fq', width, codegen, pairs.slice(0, 64), 1); // compile outside the timing
    let best = Infinity;
    let results: bigint[] = [];
    for (let r = 0; r < Math.max(1, repeat); r++) {
      const run = await runMulChain(gpu.gpu, 'fq', width, codegen, pairs, chain);
      if (run.ms < best) best = run.ms;
      results = run.results;
    }
    const mul = (a: bigint, b: bigint): bigint => (width === 16 ? Fq.montMul(a, b) : montMul13(Fq, a, b));
    let equal = true;
    for (const i of [0, threads >> 1, threads - 1]) {
      let x = pairs[i]![0];
      for (let k = 0; k < chain; k++) x = mul(x, pairs[i]![1]);
      equal &&= x === results[i];
    }
    const row: FieldBenchRow = {
      field: 'fq',
      limbs: width === 16 ? '16 x 16-bit' : '20 x 13-bit',
      mul: mulCode,
      variant: fieldVariantName(width, mulCode),
      threads,
      chain,
      ms: best,
      mul_per_s: (threads * chain) / (best / 1000),
      equal,
    };
    say(`field: ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

await main();
