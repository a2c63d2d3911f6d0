/**
 * Host side of the MSM (shaders/msm.wgsl): bases resident in device
 * buffers (one per chunk), per chunk one command buffer with every stage
 * down to the window combine (each chunk adds into the engine's total on
 * the device), and one read-back per MSM: the range-check status word and
 * the affine result.
 */
import { InvalidArgumentError, assert } from '../../../errors/index.ts';
import { FR_BYTES } from '../../backend.ts';
import { CommandRecorder } from './command-recorder.ts';
import { MsmArena, MsmResult, PARAMS_BYTES, STATUS_BYTES } from './msm-arena.ts';
import { ENTRIES_PER_THREAD, MSM_WORKGROUP_SIZE, windowBits } from './msm-plan.ts';
import type { DeviceScalars } from './scalars-device.ts';
import type { GpuDevice } from './device.ts';
import type { GroupSpec } from './groups.ts';
import { CPU_DRIVER_CODEGEN, codegenKey, type CodegenOptions } from './codegen.ts';
import { buildMsmShader } from './shader-builder.ts';
import { planWindows, type ReduceLevel, type WindowPlan } from './twins/msm.ts';

export { ENTRIES_PER_THREAD, MSM_WORKGROUP_SIZE, REDUCE_SEGMENT, windowBits } from './msm-plan.ts';

/** MsmParams.flags (msm.wgsl). */
const FLAG_REDUCE_FIRST = 1;
const FLAG_ACCUMULATE = 2;

type Entry =
  | 'msm_decompose'
  | 'scan_local'
  | 'scan_blocks'
  | 'scan_finish'
  | 'msm_scatter'
  | 'msm_accumulate_affine'
  | 'msm_accumulate_jac'
  | 'msm_reduce_level'
  | 'msm_combine';

/** The group-0 bindings each entry uses (its explicit layout; binding 0 is the params slot, a dynamic offset). */
const ENTRY_BINDINGS: Record<Entry, readonly number[]> = {
  msm_decompose: [0, 1, 2, 3, 17],
  scan_local: [0, 16, 4, 5],
  scan_blocks: [0, 4, 5],
  scan_finish: [0, 4, 5, 6],
  msm_scatter: [0, 2, 6, 7, 8],
  msm_accumulate_affine: [0, 4, 7, 8, 9, 12, 13, 14],
  msm_accumulate_jac: [0, 10, 11, 12, 13, 14],
  msm_reduce_level: [0, 18, 19],
  msm_combine: [0, 18, 20],
};

const ENTRIES: readonly Entry[] = [
  'msm_decompose',
  'scan_local',
  'scan_blocks',
  'scan_finish',
  'msm_scatter',
  'msm_accumulate_affine',
  'msm_accumulate_jac',
  'msm_reduce_level',
  'msm_combine',
];

export interface MsmOptions {
  /** Upper bound on points per chunk (tests use it to exercise chunking); the device limits may lower it. */
  readonly chunk_points_max?: number;
  /** Shader code generation (codegen.ts); the backend picks it from the adapter. */
  readonly codegen?: CodegenOptions;
}

/** Intermediate device buffers of one chunk, read back for stage-by-stage tests against the twins. */
export interface MsmStageDump {
  readonly plan: WindowPlan;
  readonly reduce: readonly ReduceLevel[];
  readonly digits: Uint32Array;
  readonly offsets: Uint32Array;
  readonly keys: Uint32Array;
  readonly vals: Uint32Array;
  readonly buckets: Uint8Array; // Jacobian, Montgomery
  /** The last reduction level's output: t of every window, then a (Jacobian, Montgomery). */
  readonly final: Uint8Array;
  /** The total after this chunk (Jacobian, Montgomery) and its affine form (the output layout). */
  readonly total: Uint8Array;
  readonly affine: Uint8Array;
}

export interface ResidentBases {
  readonly points: number;
  readonly chunks: ReadonlyArray<{ readonly buffer: GPUBuffer; readonly first: number; readonly points: number }>;
}

export class MsmEngine<T> {
  private readonly gpu: GpuDevice;
  private readonly arenas = new Map<number, MsmArena>();
  private result: MsmResult | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly spec: GroupSpec<T>;
  readonly chunkPoints: number;
  readonly codegen: CodegenOptions;
  /** Chunks whose scalar sort (decompose, scan, scatter) was reused from the MSM before over the same shared scalars (tests, bench). */
  sortsReused = 0;
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
      ENTRY_BINDINGS[entry],
    );
  }

  /** Compiles every stage now (the first MSM would otherwise pay for it). */
  async warm(): Promise<void> {
    for (const e of ENTRIES) await this.pipeline(e);
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

  /**
   * The MSM of `scalars` over the first scalars.length/32 resident bases.
   * `device`, when given, holds the same scalars already on the device (a
   * vector shared by several MSMs, scalars-device.ts): no upload then.
   */
  async msm(resident: ResidentBases, scalars: Uint8Array, device?: DeviceScalars): Promise<Uint8Array> {
    if (scalars.byteLength % FR_BYTES !== 0)
      throw new InvalidArgumentError(`scalars: ${scalars.byteLength} bytes is not a whole number of 32-byte Fr elements`);
    const n = scalars.byteLength / FR_BYTES;
    if (n > resident.points) throw new InvalidArgumentError(`${n} scalars for only ${resident.points} bases`);
    return this.exclusive(async () => {
      const chunks = resident.chunks.filter((c) => c.first < n);
      if (chunks.length === 0) return new Uint8Array(this.spec.affineBytes); // no points: infinity
      this.result ??= await MsmResult.create(this.gpu, this.spec.affineBytes, this.spec.jacobianBytes);
      const result = this.result;
      try {
        for (const [i, chunk] of chunks.entries()) {
          const count = Math.min(chunk.points, n - chunk.first);
          await this.msmChunk(chunk.buffer, scalars, chunk.first, count, device, result, i);
        }
        // One read-back per MSM: the status word and the affine total of every chunk.
        const recorder = new CommandRecorder(this.gpu);
        recorder.commands.copyBufferToBuffer(result.buffer, 0, result.staging, 0, result.readBytes);
        recorder.submit();
        const out = await this.gpu.readMapped(result.staging, result.readBytes);
        const status = new DataView(out.buffer, out.byteOffset, 4).getUint32(0, true);
        if (status !== 0) throw new InvalidArgumentError(`scalar ${0xffffffff - status} is not a reduced Fr element (>= 2^255)`);
        return out.slice(STATUS_BYTES, STATUS_BYTES + this.spec.affineBytes);
      } catch (error) {
        // A reused sort skips the decompose kernel and its range check: sorts of a failed MSM are never reused.
        for (const arena of this.arenas.values()) arena.sortedFor = null;
        throw error;
      }
    });
  }

  /** MSMs on one engine run one at a time: they share the scratch arenas. */
  private async exclusive<R>(body: () => Promise<R>): Promise<R> {
    const previous = this.queue;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      return await body();
    } finally {
      done();
    }
  }

  /** The arena for chunks of n points: one per power-of-two capacity (the window plan depends only on it), kept until releaseScratch. */
  private async arenaFor(n: number): Promise<MsmArena> {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(n, 1)));
    const cached = this.arenas.get(capacity);
    if (cached) return cached;
    const arena = await MsmArena.create(this.gpu, this.spec.jacobianBytes, Math.min(capacity, Math.max(this.chunkPoints, n)));
    this.arenas.set(capacity, arena);
    return arena;
  }

  /** Frees every scratch arena (the backend's close; the next MSM allocates again). */
  releaseScratch(): void {
    for (const a of this.arenas.values()) a.destroy();
    this.arenas.clear();
    this.result?.destroy();
    this.result = null;
  }

  /** Buffers held by the scratch arenas and the result (bench and tests). */
  scratchBuffers(): number {
    let count = this.result?.bufferCount ?? 0;
    for (const a of this.arenas.values()) count += a.bufferCount;
    return count;
  }

  private async bindFor(
    arena: MsmArena,
    entry: Entry,
    key: GPUBuffer | null,
    bindings: () => ReadonlyArray<readonly [number, GPUBuffer]>,
  ): Promise<[GPUComputePipeline, GPUBindGroup]> {
    const pipeline = await this.pipeline(entry);
    return [pipeline, arena.bindGroup(entry, key, () => this.gpu.bindGroup(pipeline, [[0, arena.uniform, 0, PARAMS_BYTES], ...bindings()]))];
  }

  /**
   * Records and submits one chunk: every stage down to msm_combine, which adds
   * the chunk's sum into the result's total (chunk 0 starts it and clears
   * the status word). Nothing is read back here (except for `inspect`).
   */
  private async msmChunk(
    bases: GPUBuffer,
    allScalars: Uint8Array,
    first: number,
    n: number,
    device: DeviceScalars | undefined,
    result: MsmResult,
    chunkIndex: number,
  ): Promise<void> {
    const gpu = this.gpu;
    const arena = await this.arenaFor(n);
    const { plan, reduce } = arena;
    const totalBuckets = plan.nw * plan.nb;
    const entries = plan.nw * n;
    const K = ENTRIES_PER_THREAD;
    const jac = this.spec.jacobianBytes;
    // Scalars: the shared device vector at its offset, else this chunk's uploaded into the arena.
    let scalarBuf = arena.scalars;
    let scalarOffset = 0;
    if (device) {
      scalarBuf = device.buffer;
      scalarOffset = device.offset + first;
    } else {
      gpu.write(arena.scalars, 0, allScalars.subarray(first * FR_BYTES, (first + n) * FR_BYTES));
    }
    // Shared device scalars already sorted in this arena (A then B1 over one witness): skip the sort.
    const sortKey = device ? `${device.generation}:${scalarOffset}:${n}` : null;
    const reuseSort = sortKey !== null && arena.sortedFor === sortKey;
    arena.sortedFor = null; // until this chunk's commands are submitted
    const levels = accumulationLevels(entries, K);
    assert(windowBits(n) === plan.c, 'scratch arena window plan does not match the chunk');
    const params = (count: number, last: boolean, flags: number, level: ReduceLevel | null): number[] => [
      n,
      plan.c,
      plan.nw,
      plan.nb,
      totalBuckets,
      count,
      last ? 1 : 0,
      level?.inLen ?? 0,
      level?.seg ?? 0,
      scalarOffset,
      first,
      flags,
      level?.outLen ?? 0,
      level?.shift ?? 0,
      0,
      0,
    ];
    // Slot 0: the base parameters (and the combine's flag); then one per accumulation level, then one per reduction level.
    const slots = [
      params(entries, entries <= K, chunkIndex > 0 ? FLAG_ACCUMULATE : 0, null),
      ...levels.map((l) => params(l.count, l.last, 0, null)),
      ...reduce.map((r, i) => params(0, false, i === 0 ? FLAG_REDUCE_FIRST : 0, r)),
    ];
    arena.writeParams(gpu, slots);

    const recorder = new CommandRecorder(gpu);
    recorder.commands.clearBuffer(arena.buckets); // all-zero words = Jacobian identity (Z = 0)
    if (chunkIndex === 0) recorder.commands.clearBuffer(result.buffer, 0, STATUS_BYTES);
    const slot = (i: number): number[] => [i * gpu.uniformSlotBytes];
    const run = async (entry: Entry, grid: [number, number], bound: [GPUComputePipeline, GPUBindGroup], slotIndex = 0, detail = ''): Promise<void> => {
      await recorder.dispatch(detail === '' ? entry : `${entry} ${detail}`, bound[0], bound[1], grid, slot(slotIndex));
    };
    const g = (threads: number): [number, number] => gpu.grid(threads, MSM_WORKGROUP_SIZE);
    const scanTiles = arena.scanTiles;
    if (reuseSort) {
      this.sortsReused++;
    } else {
      recorder.commands.clearBuffer(arena.counts);
      await run(
        'msm_decompose',
        g(n),
        await this.bindFor(arena, 'msm_decompose', scalarBuf, () => [
          [1, scalarBuf],
          [2, arena.digits],
          [3, arena.counts],
          [17, result.buffer],
        ]),
      );
      await run(
        'scan_local',
        [scanTiles, 1],
        await this.bindFor(arena, 'scan_local', null, () => [
          [16, arena.counts],
          [4, arena.offsets],
          [5, arena.blockSums],
        ]),
      );
      await run(
        'scan_blocks',
        [1, 1],
        await this.bindFor(arena, 'scan_blocks', null, () => [
          [4, arena.offsets],
          [5, arena.blockSums],
        ]),
      );
      await run(
        'scan_finish',
        [scanTiles, 1],
        await this.bindFor(arena, 'scan_finish', null, () => [
          [4, arena.offsets],
          [5, arena.blockSums],
          [6, arena.cursor],
        ]),
      );
      await run(
        'msm_scatter',
        g(n),
        await this.bindFor(arena, 'msm_scatter', null, () => [
          [2, arena.digits],
          [6, arena.cursor],
          [7, arena.keys],
          [8, arena.vals],
        ]),
      );
    }
    await run(
      'msm_accumulate_affine',
      g(Math.ceil(entries / K)),
      await this.bindFor(arena, 'msm_accumulate_affine', bases, () => [
        [4, arena.offsets],
        [7, arena.keys],
        [8, arena.vals],
        [9, bases],
        [12, arena.levelKeys[0]!],
        [13, arena.levelPts[0]!],
        [14, arena.buckets],
      ]),
    );
    for (const [i, level] of levels.entries()) {
      const side = i % 2;
      const bound = await this.bindFor(arena, 'msm_accumulate_jac', arena.levelKeys[side]!, () => [
        [10, arena.levelKeys[side]!],
        [11, arena.levelPts[side]!],
        [12, arena.levelKeys[1 - side]!],
        [13, arena.levelPts[1 - side]!],
        [14, arena.buckets],
      ]);
      await run('msm_accumulate_jac', g(Math.ceil(level.count / K)), bound, i + 1, `L${i + 1}`);
    }
    // The bucket reduction: level 0 reads the buckets, level i writes red[i % 2].
    for (const [i, level] of reduce.entries()) {
      const input = i === 0 ? arena.buckets : arena.red[(i - 1) % 2]!;
      const output = arena.red[i % 2]!;
      const bound = await this.bindFor(arena, 'msm_reduce_level', input, () => [
        [18, input],
        [19, output],
      ]);
      await run('msm_reduce_level', g(plan.nw * level.outLen), bound, 1 + levels.length + i, `R${i}`);
    }
    const final = arena.red[(reduce.length - 1) % 2]!;
    await run(
      'msm_combine',
      [1, 1],
      await this.bindFor(arena, 'msm_combine', final, () => [
        [18, final],
        [20, result.buffer],
      ]),
    );
    recorder.submit();
    arena.sortedFor = sortKey;
    if (this.inspect) {
      const words = async (b: GPUBuffer, count: number): Promise<Uint32Array> => {
        const raw = await gpu.read(b, count * 4);
        return new Uint32Array(raw.buffer, raw.byteOffset, count);
      };
      const offs = await words(arena.offsets, totalBuckets + 1);
      const used = offs[totalBuckets]!;
      const aff = this.spec.affineBytes;
      const res = await gpu.read(result.buffer, STATUS_BYTES + aff + jac);
      this.inspect({
        plan,
        reduce,
        digits: await words(arena.digits, entries),
        offsets: offs,
        keys: await words(arena.keys, used),
        vals: await words(arena.vals, used),
        buckets: await gpu.read(arena.buckets, totalBuckets * jac),
        final: await gpu.read(final, 2 * plan.nw * jac),
        total: res.slice(STATUS_BYTES + aff),
        affine: res.slice(STATUS_BYTES, STATUS_BYTES + aff),
      });
    }
  }
}

/** Entries per accumulation level after the affine one: each level's input count and whether it is the last (one slice). */
export function accumulationLevels(entries: number, K: number): Array<{ count: number; last: boolean }> {
  const levels: Array<{ count: number; last: boolean }> = [];
  if (entries <= K) return levels;
  let count = 2 * Math.ceil(entries / K);
  for (;;) {
    assert(levels.length < 64, 'accumulation levels do not converge');
    const last = count <= K;
    levels.push({ count, last });
    if (last) return levels;
    count = 2 * Math.ceil(count / K);
  }
}
