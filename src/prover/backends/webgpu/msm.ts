/**
 * Host side of the MSM (shaders/msm.wgsl): bases resident in device
 * buffers (one per chunk), per chunk one command buffer with every stage,
 * one read-back of nw*segs partial sums, and the small final window sum on
 * the host (twins/msm.ts combineWindows).
 */
import { InvalidArgumentError, assert } from '../../../errors/index.ts';
import { FR_BYTES } from '../../backend.ts';
import { CommandRecorder } from './command-recorder.ts';
import type { GpuDevice } from './device.ts';
import type { GroupSpec } from './groups.ts';
import { CPU_DRIVER_CODEGEN, codegenKey, type CodegenOptions } from './codegen.ts';
import { buildMsmShader } from './shader-builder.ts';
import type { Jac } from './twins/curve.ts';
import { combineWindows, planWindows, type WindowPlan } from './twins/msm.ts';

export const MSM_WORKGROUP_SIZE = 64;
/** Entries per accumulation thread: bounds each thread's work (watchdog) and sets the level shrink factor K/2. */
export const ENTRIES_PER_THREAD = 32;

type Entry =
  | 'msm_decompose'
  | 'scan_local'
  | 'scan_blocks'
  | 'scan_finish'
  | 'msm_scatter'
  | 'msm_accumulate_affine'
  | 'msm_accumulate_jac'
  | 'msm_bucket_reduce';

export interface MsmOptions {
  /** Upper bound on points per chunk (tests use it to exercise chunking); the device limits may lower it. */
  readonly chunk_points_max?: number;
  /** Shader code generation (codegen.ts); the backend picks it from the adapter. */
  readonly codegen?: CodegenOptions;
}

/** Intermediate device buffers of one chunk, read back for stage-by-stage tests against the twins. */
export interface MsmStageDump {
  readonly plan: WindowPlan;
  readonly segs: number;
  readonly digits: Uint32Array;
  readonly offsets: Uint32Array;
  readonly keys: Uint32Array;
  readonly vals: Uint32Array;
  readonly buckets: Uint8Array; // Jacobian, Montgomery
  readonly reduced: Uint8Array; // Jacobian, Montgomery
}

export interface ResidentBases {
  readonly points: number;
  readonly chunks: ReadonlyArray<{ readonly buffer: GPUBuffer; readonly first: number; readonly points: number }>;
}

/** Window width for a chunk of n points: wider windows for more points, capped by the 16-bit digit codes. */
export function windowBits(n: number): number {
  return Math.max(4, Math.min(16, Math.ceil(Math.log2(Math.max(n, 2))) - 3));
}

export function reductionSegments(plan: WindowPlan): number {
  return Math.max(1, Math.min(64, plan.nb / 32));
}

export class MsmEngine<T> {
  private readonly gpu: GpuDevice;
  private readonly spec: GroupSpec<T>;
  readonly chunkPoints: number;
  readonly codegen: CodegenOptions;
  /** Test hook: when set, every chunk's intermediate buffers are read back and passed here. */
  inspect: ((dump: MsmStageDump) => void) | null = null;

  constructor(gpu: GpuDevice, spec: GroupSpec<T>, options: MsmOptions = {}) {
    this.gpu = gpu;
    this.spec = spec;
    this.chunkPoints = this.largestChunk(options.chunk_points_max ?? 1 << 22);
    this.codegen = options.codegen ?? CPU_DRIVER_CODEGEN;
  }

  /** Largest chunk whose every buffer fits one storage binding. */
  private largestChunk(requested: number): number {
    const limit = Math.min(this.gpu.limits.maxStorageBufferBindingSize, this.gpu.limits.maxBufferSize);
    let n = Math.max(1, Math.floor(requested));
    while (n > 1 && this.largestBuffer(n) > limit) n = Math.floor(n / 2);
    assert(this.largestBuffer(n) <= limit, 'no chunk size fits the device limits');
    return n;
  }

  private largestBuffer(n: number): number {
    const plan = planWindows(windowBits(n));
    const entries = plan.nw * n;
    const level1 = 2 * Math.ceil(entries / ENTRIES_PER_THREAD);
    return Math.max(n * this.spec.affineBytes, entries * 4, level1 * this.spec.jacobianBytes, plan.nw * plan.nb * this.spec.jacobianBytes);
  }

  private pipeline(entry: Entry): Promise<GPUComputePipeline> {
    const key = `msm-${this.spec.name}-wg${MSM_WORKGROUP_SIZE}-k${ENTRIES_PER_THREAD}-${codegenKey(this.codegen)}`;
    return this.gpu.pipeline(
      key,
      () => buildMsmShader(this.spec.name, { workgroupSize: MSM_WORKGROUP_SIZE, entriesPerThread: ENTRIES_PER_THREAD }, this.codegen),
      entry,
    );
  }

  /** Compiles every stage now (the first MSM would otherwise pay for it). */
  async warm(): Promise<void> {
    for (const e of [
      'msm_decompose',
      'scan_local',
      'scan_blocks',
      'scan_finish',
      'msm_scatter',
      'msm_accumulate_affine',
      'msm_accumulate_jac',
      'msm_bucket_reduce',
    ] as const)
      await this.pipeline(e);
  }

  async upload(bases: Uint8Array, label: string): Promise<ResidentBases> {
    if (bases.byteLength % this.spec.affineBytes !== 0) {
      throw new InvalidArgumentError(
        `${label}: ${bases.byteLength} bytes is not a whole number of ${this.spec.name.toUpperCase()} affine points (${this.spec.affineBytes} bytes each)`,
      );
    }
    const points = bases.byteLength / this.spec.affineBytes;
    const chunks: { buffer: GPUBuffer; first: number; points: number }[] = [];
    try {
      for (let first = 0; first < points; first += this.chunkPoints) {
        const count = Math.min(this.chunkPoints, points - first);
        const buffer = await this.gpu.uploadBuffer(
          `${label}[${first}]`,
          bases.subarray(first * this.spec.affineBytes, (first + count) * this.spec.affineBytes),
        );
        chunks.push({ buffer, first, points: count });
      }
    } catch (e) {
      for (const c of chunks) c.buffer.destroy();
      throw e;
    }
    return { points, chunks };
  }

  static release(resident: ResidentBases): void {
    for (const c of resident.chunks) c.buffer.destroy();
  }

  async msm(resident: ResidentBases, scalars: Uint8Array): Promise<Uint8Array> {
    if (scalars.byteLength % FR_BYTES !== 0)
      throw new InvalidArgumentError(`scalars: ${scalars.byteLength} bytes is not a whole number of 32-byte Fr elements`);
    const n = scalars.byteLength / FR_BYTES;
    if (n > resident.points) throw new InvalidArgumentError(`${n} scalars for only ${resident.points} bases`);
    for (let i = 0; i < n; i++) {
      if ((scalars[i * FR_BYTES + 31]! & 0x80) !== 0) throw new InvalidArgumentError(`scalar ${i} is not a reduced Fr element (>= 2^255)`);
    }
    const curve = this.spec.curve;
    let total: Jac<T> = curve.identity();
    for (const chunk of resident.chunks) {
      if (chunk.first >= n) break;
      const count = Math.min(chunk.points, n - chunk.first);
      const part = await this.msmChunk(chunk.buffer, scalars.subarray(chunk.first * FR_BYTES, (chunk.first + count) * FR_BYTES), count);
      total = curve.add(total, part);
    }
    return this.spec.writeAffine(curve.toAffine(total));
  }

  private async msmChunk(bases: GPUBuffer, scalars: Uint8Array, n: number): Promise<Jac<T>> {
    const gpu = this.gpu;
    const plan = planWindows(windowBits(n));
    const totalBuckets = plan.nw * plan.nb;
    const segs = reductionSegments(plan);
    const segLen = Math.ceil(plan.nb / segs);
    const entries = plan.nw * n;
    const K = ENTRIES_PER_THREAD;
    const jac = this.spec.jacobianBytes;
    const owned: GPUBuffer[] = [];
    const buf = async (label: string, bytes: number): Promise<GPUBuffer> => {
      const b = await gpu.storageBuffer(label, bytes);
      owned.push(b);
      return b;
    };
    const params = async (count: number, last: boolean): Promise<GPUBuffer> => {
      const b = await gpu.uniform('msm-params', [n, plan.c, plan.nw, plan.nb, totalBuckets, count, last ? 1 : 0, segs, segLen, 0, 0, 0]);
      owned.push(b);
      return b;
    };
    try {
      const scalarBuf = await gpu.uploadBuffer('msm-scalars', scalars);
      owned.push(scalarBuf);
      const digits = await buf('msm-digits', entries * 4);
      const counts = await buf('msm-counts', totalBuckets * 4);
      const offsets = await buf('msm-offsets', (totalBuckets + 1) * 4);
      const scanTiles = Math.ceil(totalBuckets / MSM_WORKGROUP_SIZE);
      assert(scanTiles <= gpu.limits.maxComputeWorkgroupsPerDimension, 'bucket histogram too large for one scan pass');
      const blockSums = await buf('msm-block-sums', scanTiles * 4);
      const cursor = await buf('msm-cursor', totalBuckets * 4);
      const keys = await buf('msm-keys', entries * 4);
      const vals = await buf('msm-vals', entries * 4);
      const threads0 = Math.ceil(entries / K);
      const levelKeys = [await buf('msm-level-keys-a', 2 * threads0 * 4), await buf('msm-level-keys-b', 2 * threads0 * 4)];
      const levelPts = [await buf('msm-level-pts-a', 2 * threads0 * jac), await buf('msm-level-pts-b', 2 * threads0 * jac)];
      const buckets = await buf('msm-buckets', totalBuckets * jac);
      const reduced = await buf('msm-reduced', plan.nw * segs * jac);

      const recorder = new CommandRecorder(gpu);
      recorder.commands.clearBuffer(counts);
      recorder.commands.clearBuffer(buckets); // all-zero words = Jacobian identity (Z = 0)
      const run = async (entry: Entry, grid: [number, number], bindings: ReadonlyArray<readonly [number, GPUBuffer]>, detail = ''): Promise<void> => {
        const pipeline = await this.pipeline(entry);
        await recorder.dispatch(detail === '' ? entry : `${entry} ${detail}`, pipeline, gpu.bindGroup(pipeline, bindings), grid);
      };
      const g = (threads: number): [number, number] => gpu.grid(threads, MSM_WORKGROUP_SIZE);
      const p0 = await params(entries, entries <= K);
      await run('msm_decompose', g(n), [
        [0, p0],
        [1, scalarBuf],
        [2, digits],
        [3, counts],
      ]);
      await run(
        'scan_local',
        [scanTiles, 1],
        [
          [0, p0],
          [16, counts],
          [4, offsets],
          [5, blockSums],
        ],
      );
      await run(
        'scan_blocks',
        [1, 1],
        [
          [0, p0],
          [4, offsets],
          [5, blockSums],
        ],
      );
      await run(
        'scan_finish',
        [scanTiles, 1],
        [
          [0, p0],
          [4, offsets],
          [5, blockSums],
          [6, cursor],
        ],
      );
      await run('msm_scatter', g(n), [
        [0, p0],
        [2, digits],
        [6, cursor],
        [7, keys],
        [8, vals],
      ]);
      await run('msm_accumulate_affine', g(threads0), [
        [0, p0],
        [4, offsets],
        [7, keys],
        [8, vals],
        [9, bases],
        [12, levelKeys[0]!],
        [13, levelPts[0]!],
        [14, buckets],
      ]);
      let count = 2 * threads0;
      let side = 0;
      if (entries > K) {
        for (let level = 1; ; level++) {
          assert(level < 64, 'accumulation levels do not converge');
          const last = count <= K;
          const p = await params(count, last);
          await run(
            'msm_accumulate_jac',
            g(Math.ceil(count / K)),
            [
              [0, p],
              [10, levelKeys[side]!],
              [11, levelPts[side]!],
              [12, levelKeys[1 - side]!],
              [13, levelPts[1 - side]!],
              [14, buckets],
            ],
            `L${level}`,
          );
          if (last) break;
          count = 2 * Math.ceil(count / K);
          side = 1 - side;
        }
      }
      await run('msm_bucket_reduce', g(plan.nw * segs), [
        [0, p0],
        [14, buckets],
        [15, reduced],
      ]);
      recorder.submit();
      const bytes = await gpu.read(reduced, plan.nw * segs * jac);
      if (this.inspect) {
        const words = async (b: GPUBuffer, count: number): Promise<Uint32Array> => {
          const raw = await gpu.read(b, count * 4);
          return new Uint32Array(raw.buffer, raw.byteOffset, count);
        };
        const offs = await words(offsets, totalBuckets + 1);
        const used = offs[totalBuckets]!;
        this.inspect({
          plan,
          segs,
          digits: await words(digits, entries),
          offsets: offs,
          keys: await words(keys, used),
          vals: await words(vals, used),
          buckets: await gpu.read(buckets, totalBuckets * jac),
          reduced: bytes,
        });
      }
      const sums: Jac<T>[] = [];
      for (let i = 0; i < plan.nw * segs; i++) sums.push(this.spec.readJacobian(bytes, i));
      return combineWindows(this.spec.curve, sums, plan, segs);
    } finally {
      for (const b of owned) b.destroy();
    }
  }
}
