/**
 * Shared by bench/webgpu.ts and its probe (webgpu-probe.ts): one call timed
 * pass by pass (GpuDevice pass timing), with the host-side work it caused
 * (buffers created, bytes uploaded and read back), and the field
 * multiplication rate of one arithmetic variant.
 */
import type { CodegenOptions, MulCode } from '../../src/prover/backends/webgpu/codegen.ts';
import type { DeviceCounters, GpuDevice } from '../../src/prover/backends/webgpu/device.ts';
import { type PassTiming, passTotals, type TimingMethod } from '../../src/prover/backends/webgpu/pass-timing.ts';
import { Fq } from '../../src/prover/backends/webgpu/twins/field.ts';
import { runMulChain } from '../experiments/field-width/field-kernels.ts';
import { montMul13 } from '../../src/prover/backends/webgpu/twins/field13.ts';
import type { LimbWidth } from '../experiments/field-width/shader.ts';

export interface TimedPasses<T> {
  readonly value: T;
  /** Wall time of the whole call with pass timing on (submission timing slows it). */
  readonly wall_ms: number;
  readonly timing: PassTiming;
  /** Milliseconds per kernel entry (null where the timestamps were not recorded). */
  readonly per_entry: Record<string, number | null>;
  readonly work: DeviceCounters;
}

export function counterDelta(before: DeviceCounters, after: DeviceCounters): DeviceCounters {
  return {
    buffers_created: after.buffers_created - before.buffers_created,
    bytes_allocated: after.bytes_allocated - before.bytes_allocated,
    bytes_uploaded: after.bytes_uploaded - before.bytes_uploaded,
    param_bytes_uploaded: after.param_bytes_uploaded - before.param_bytes_uploaded,
    bytes_read: after.bytes_read - before.bytes_read,
  };
}

let forcedMethod: TimingMethod | undefined;

/** Forces the timing method of every later withPassTiming (bench --pass-timing); default: the device's choice. */
export function setPassTimingMethod(method: TimingMethod | undefined): void {
  forcedMethod = method;
}

/** Runs `fn` once with every compute pass timed. */
export async function withPassTiming<T>(gpu: GpuDevice, fn: () => Promise<T>): Promise<TimedPasses<T>> {
  await gpu.startPassTiming(forcedMethod);
  const before = gpu.counters();
  const started = performance.now();
  let value: T;
  try {
    value = await fn();
  } catch (e) {
    await gpu.stopPassTiming();
    throw e;
  }
  const wall_ms = performance.now() - started;
  const work = counterDelta(before, gpu.counters());
  const timing = await gpu.stopPassTiming();
  if (timing === null) throw new Error('pass timing was turned off during the call');
  const per_entry: Record<string, number | null> = {};
  for (const t of passTotals(timing)) per_entry[t.entry] = t.ms === null ? null : round(t.ms);
  return { value, wall_ms, timing, per_entry, work };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** 'entry 12.3 (45%)' for the largest entries. */
export function topEntries(per_entry: Record<string, number | null>, count = 3): string {
  const rows = Object.entries(per_entry).filter((e): e is [string, number] => e[1] !== null);
  const total = rows.reduce((s, [, ms]) => s + ms, 0);
  if (total <= 0) return '-';
  return rows
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([entry, ms]) => `${entry} ${ms.toFixed(2)} (${((100 * ms) / total).toFixed(0)}%)`)
    .join(', ');
}

export interface FieldRate {
  readonly limbs: '16 x 16-bit' | '20 x 13-bit';
  readonly limb_loops: 'unrolled' | 'rolled';
  /** The multiply shape (codegen.ts MulCode): straight, or compact (outer limb loop rolled). */
  readonly mul: MulCode;
  /** The settings that select this arithmetic in the curve and MSM kernels (docs/webgpu.md). */
  readonly variant: string;
  readonly threads: number;
  readonly chain: number;
  /** First call: shader compile, pipeline creation and a one-step dispatch. */
  readonly compile_ms: number;
  readonly ms: number;
  readonly mul_per_s: number;
  /** Three threads' chains equal the CPU twin. */
  readonly equal: boolean;
}

/** The environment settings that select a limb width and multiply shape for the curve and MSM kernels. */
export function fieldVariantName(width: LimbWidth, mul: MulCode): string {
  return `ZKP_WEBGPU_FIELD=${width} ZKP_WEBGPU_MUL=${mul}`;
}

/** Dependent Fq multiplications x <- x*y, `chain` per thread, over one variant; best of `repeat`. */
export async function fieldRate(
  gpu: GpuDevice,
  width: LimbWidth,
  codegen: CodegenOptions,
  pairs: ReadonlyArray<readonly [bigint, bigint]>,
  chain: number,
  repeat: number,
): Promise<FieldRate> {
  const compileStarted = performance.now();
  await runMulChain(gpu, 'fq', width, codegen, pairs.slice(0, 64), 1);
  const compile_ms = performance.now() - compileStarted;
  let best = Infinity;
  let results: bigint[] = [];
  for (let r = 0; r < Math.max(1, repeat); r++) {
    const run = await runMulChain(gpu, 'fq', width, codegen, pairs, chain);
    if (run.ms < best) best = run.ms;
    results = run.results;
  }
  const mulCode = codegen.mul ?? 'straight';
  const mul = (a: bigint, b: bigint): bigint => (width === 16 ? Fq.montMul(a, b) : montMul13(Fq, a, b));
  let equal = true;
  for (const i of [0, pairs.length >> 1, pairs.length - 1]) {
    let x = pairs[i]![0];
    for (let k = 0; k < chain; k++) x = mul(x, pairs[i]![1]);
    equal &&= x === results[i];
  }
  return {
    limbs: width === 16 ? '16 x 16-bit' : '20 x 13-bit',
    limb_loops: codegen.unrollLimbs ? 'unrolled' : 'rolled',
    mul: mulCode,
    variant: fieldVariantName(width, mulCode),
    threads: pairs.length,
    chain,
    compile_ms: round(compile_ms, 1),
    ms: round(best),
    mul_per_s: Math.round((pairs.length * chain) / (best / 1000)),
    equal,
  };
}
