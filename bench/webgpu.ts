/**
 * WebGPU backend benchmark: MSM G1, MSM G2 and NTT at 2^min..2^max against
 * the CPU baseline (native, else snarkjs) in the same process; results are
 * checked equal. Writes bench/results/webgpu-<adapter>-<host>.{json,md}.
 *
 *   npm run bench:webgpu -- [--min-log2n 12] [--max-log2n 14] [--g2-max-log2n 12] [--repeat 1]
 *
 * Columns: e2e = the plain API call (uploads bases and scalars, reads back);
 * resident = MSM over bases already resident (loadCircuit), i.e. without
 * the bases upload; kernel = device time of the compute passes of one
 * extra resident run (timestamp-query; '-' where the adapter lacks it).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { buildBn128 } from 'ffjavascript';
import { InvalidArgumentError } from '../src/errors/index.ts';
import { createRawWebgpuBackend } from '../src/prover/backends/webgpu/backend.ts';
import { loadCpuBackend } from '../src/prover/backends/webgpu/fallback.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`--${name} needs a non-negative integer`);
  return v;
}

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
  /** Device time of the compute passes (timestamp-query) in the resident run; null where unsupported. */
  webgpu_kernel_ms: number | null;
  baseline_ms: number;
  speedup_e2e: number;
  equal: boolean;
}

async function main(): Promise<void> {
  const minLog = flag('min-log2n', 12);
  const maxLog = flag('max-log2n', 14);
  const g2MaxLog = flag('g2-max-log2n', Math.min(maxLog, 12));
  const repeat = flag('repeat', 1);
  const curve = await buildBn128(true);
  const gpu = await createRawWebgpuBackend();
  const cpu = await loadCpuBackend();
  console.log(`${gpu.describe()}\nbaseline: ${cpu.describe()}`);
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
    gpu.gpu.startKernelTiming();
    await circuit.msmG1('A', scalars);
    const kernelMs = await gpu.gpu.stopKernelTiming();
    const base = await time(() => cpu.msmG1(g1, scalars), repeat);
    rows.push({ op: 'msm-g1', log2n, webgpu_e2e_ms: e2e.ms, webgpu_resident_ms: resident.ms, webgpu_kernel_ms: kernelMs, baseline_ms: base.ms, speedup_e2e: base.ms / e2e.ms, equal: eq(e2e.value, base.value) && eq(resident.value, base.value) });
    await circuit.release();

    if (log2n <= g2MaxLog) {
      const g2 = new Uint8Array(n * 128);
      let q = curve.G2.g;
      for (let i = 0; i < n; i++) {
        g2.set(curve.G2.toAffine(q), i * 128);
        q = curve.G2.add(q, curve.G2.g);
      }
      const e = await time(() => gpu.msmG2(g2, scalars), repeat);
      const b = await time(() => cpu.msmG2(g2, scalars), repeat);
      rows.push({ op: 'msm-g2', log2n, webgpu_e2e_ms: e.ms, webgpu_resident_ms: null, webgpu_kernel_ms: null, baseline_ms: b.ms, speedup_e2e: b.ms / e.ms, equal: eq(e.value, b.value) });
    }

    const values = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) values.set(curve.Fr.random(), i * 32);
    const e = await time(() => gpu.ntt(values, log2n, 'forward'), repeat);
    gpu.gpu.startKernelTiming();
    await gpu.ntt(values, log2n, 'forward');
    const nttKernelMs = await gpu.gpu.stopKernelTiming();
    const b = await time(() => cpu.ntt(values, log2n, 'forward'), repeat);
    rows.push({ op: 'ntt', log2n, webgpu_e2e_ms: e.ms, webgpu_resident_ms: null, webgpu_kernel_ms: nttKernelMs, baseline_ms: b.ms, speedup_e2e: b.ms / e.ms, equal: eq(e.value, b.value) });
    for (const r of rows.filter((x) => x.log2n === log2n)) console.log(JSON.stringify(r));
  }
  const header = '| op | log2n | webgpu e2e ms | webgpu resident ms | webgpu kernel ms | baseline ms | baseline/webgpu | equal |\n|---|---|---|---|---|---|---|---|\n';
  const md = header + rows.map((r) => `| ${r.op} | ${r.log2n} | ${r.webgpu_e2e_ms.toFixed(1)} | ${r.webgpu_resident_ms === null ? '-' : r.webgpu_resident_ms.toFixed(1)} | ${r.webgpu_kernel_ms === null ? '-' : r.webgpu_kernel_ms.toFixed(1)} | ${r.baseline_ms.toFixed(1)} | ${r.speedup_e2e.toFixed(3)} | ${r.equal} |`).join('\n') + '\n';
  console.log(`\n${md}`);
  const adapter = gpu.gpu.adapterDescription.split(/[:\s]/)[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '') || 'adapter';
  const base = `bench/results/webgpu-${adapter}-${hostname().replace(/[^a-zA-Z0-9-]/g, '')}`;
  mkdirSync('bench/results', { recursive: true });
  const report = { webgpu: gpu.describe(), baseline: cpu.describe(), host: hostname(), repeat, rows };
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2));
  writeFileSync(`${base}.md`, `# WebGPU benchmark\n\nwebgpu: ${report.webgpu}\nbaseline: ${report.baseline}\n\n${md}`);
  console.log(`wrote ${base}.json and .md`);
  const allEqual = rows.every((r) => r.equal);
  await gpu.close();
  await cpu.close();
  await curve.terminate();
  if (!allEqual) {
    console.error('MISMATCH between webgpu and the baseline');
    process.exit(1);
  }
  process.exit(0);
}

await main();
