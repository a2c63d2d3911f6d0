/**
 * The scratch buffers of the MSM for one chunk capacity (a power of two, or
 * the engine's chunk size when smaller), allocated once and reused by every
 * MSM of chunks in (capacity/2, capacity]: they share one window plan. Also
 * holds the one uniform buffer (a 256-byte slot per dispatch kind: the base
 * parameters, then one per accumulation level, read through dynamic
 * offsets) and the bind groups, cached per bound buffer set. The status
 * word, the result and its staging buffer belong to the engine (MsmResult):
 * chunks of different capacities add into one total.
 */
import { assert } from '../../../errors/index.ts';
import type { GpuDevice } from './device.ts';
import { ENTRIES_PER_THREAD, MSM_WORKGROUP_SIZE, REDUCE_SEGMENT, windowBits } from './msm-plan.ts';
import { type ReduceLevel, type WindowPlan, planWindows, reducePlan } from './twins/msm.ts';

/** Words of MsmParams (msm.wgsl) and their bytes. */
export const PARAMS_WORDS = 16;
export const PARAMS_BYTES = PARAMS_WORDS * 4;
/** The status word (scalar range check) and padding before the affine result in the result buffer. */
export const STATUS_BYTES = 16;
/** Uniform slots: the base parameters, the accumulation levels and the reduction levels (at most this many in all). */
const PARAM_SLOTS = 24;

export class MsmArena {
  readonly plan: WindowPlan;
  /** The bucket reduction's levels (msm_reduce_level dispatches). */
  readonly reduce: readonly ReduceLevel[];
  readonly scanTiles: number;
  private readonly all: GPUBuffer[];
  private readonly unkeyed = new Map<string, GPUBindGroup>();
  private readonly keyed = new WeakMap<GPUBuffer, Map<string, GPUBindGroup>>();
  private written = '';
  /**
   * What the sort buffers (digits, counts, offsets, keys, vals) hold: the
   * key `generation:offset:n` of the shared device scalars last sorted here
   * (scalars-device.ts), or null (uploaded scalars, or a chunk not yet
   * submitted or whose MSM failed). The accumulation and reduction passes
   * only read those buffers, so a later chunk over the same key skips the
   * sort (msm.ts).
   */
  sortedFor: string | null = null;

  private constructor(
    plan: WindowPlan,
    reduce: readonly ReduceLevel[],
    scanTiles: number,
    readonly scalars: GPUBuffer,
    readonly digits: GPUBuffer,
    readonly counts: GPUBuffer,
    readonly offsets: GPUBuffer,
    readonly blockSums: GPUBuffer,
    readonly cursor: GPUBuffer,
    readonly keys: GPUBuffer,
    readonly vals: GPUBuffer,
    readonly levelKeys: readonly [GPUBuffer, GPUBuffer],
    readonly levelPts: readonly [GPUBuffer, GPUBuffer],
    readonly buckets: GPUBuffer,
    /** Ping-pong buffers of the reduction levels: (t, a) per element, the first level's output being the largest. */
    readonly red: readonly [GPUBuffer, GPUBuffer],
    readonly uniform: GPUBuffer,
  ) {
    this.plan = plan;
    this.reduce = reduce;
    this.scanTiles = scanTiles;
    this.all = [scalars, digits, counts, offsets, blockSums, cursor, keys, vals, ...levelKeys, ...levelPts, buckets, ...red, uniform];
  }

  static async create(gpu: GpuDevice, jacobianBytes: number, points: number): Promise<MsmArena> {
    const plan = planWindows(windowBits(points));
    const reduce = reducePlan(plan.nb, REDUCE_SEGMENT);
    const total = plan.nw * plan.nb;
    const entries = plan.nw * points;
    const threads0 = Math.ceil(entries / ENTRIES_PER_THREAD);
    const scanTiles = Math.ceil(total / MSM_WORKGROUP_SIZE);
    assert(scanTiles <= gpu.limits.maxComputeWorkgroupsPerDimension, 'bucket histogram too large for one scan pass');
    const made: GPUBuffer[] = [];
    const buf = async (label: string, bytes: number): Promise<GPUBuffer> => {
      const b = await gpu.storageBuffer(`msm-${label}`, bytes);
      made.push(b);
      return b;
    };
    try {
      const redBytes = 2 * plan.nw * reduce[0]!.outLen * jacobianBytes;
      const arena = new MsmArena(
        plan,
        reduce,
        scanTiles,
        await buf('scalars', points * 32),
        await buf('digits', entries * 4),
        await buf('counts', total * 4),
        await buf('offsets', (total + 1) * 4),
        await buf('block-sums', scanTiles * 4),
        await buf('cursor', total * 4),
        await buf('keys', entries * 4),
        await buf('vals', entries * 4),
        [await buf('level-keys-a', 2 * threads0 * 4), await buf('level-keys-b', 2 * threads0 * 4)],
        [await buf('level-pts-a', 2 * threads0 * jacobianBytes), await buf('level-pts-b', 2 * threads0 * jacobianBytes)],
        await buf('buckets', total * jacobianBytes),
        [await buf('reduce-a', redBytes), await buf('reduce-b', redBytes)],
        await gpu.createBuffer('msm-params', PARAM_SLOTS * gpu.uniformSlotBytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      );
      return arena;
    } catch (e) {
      for (const b of made) b.destroy();
      throw e;
    }
  }

  get bufferCount(): number {
    return this.all.length;
  }

  /** Writes the parameter slots (one per dispatch kind) unless they are already there. */
  writeParams(gpu: GpuDevice, slots: readonly (readonly number[])[]): void {
    assert(slots.length <= PARAM_SLOTS, () => `${slots.length} parameter slots, the arena has ${PARAM_SLOTS}`);
    const key = slots.map((s) => s.join(',')).join(';');
    if (key === this.written) return;
    const stride = gpu.uniformSlotBytes / 4;
    const words = new Uint32Array((slots.length - 1) * stride + PARAMS_WORDS);
    for (const [i, slot] of slots.entries()) {
      assert(slot.length === PARAMS_WORDS, 'a parameter slot has the MsmParams words');
      words.set(slot, i * stride);
    }
    gpu.write(this.uniform, 0, new Uint8Array(words.buffer), 'params');
    this.written = key;
  }

  /** The bind group of `entry` for the buffer set identified by `key` (null: the arena's own buffers only), made once. */
  bindGroup(entry: string, key: GPUBuffer | null, make: () => GPUBindGroup): GPUBindGroup {
    let map = this.unkeyed;
    if (key !== null) {
      let m = this.keyed.get(key);
      if (!m) {
        m = new Map();
        this.keyed.set(key, m);
      }
      map = m;
    }
    let group = map.get(entry);
    if (!group) {
      group = make();
      map.set(entry, group);
    }
    return group;
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
  }
}

/**
 * The engine's result buffer (msm.wgsl bindings 17 and 20): the status
 * word, the affine result and the Jacobian total that later chunks add to,
 * and the staging buffer the status and the affine point come back through
 * (STATUS_BYTES + one affine point per MSM). Made once per engine.
 */
export class MsmResult {
  private constructor(
    readonly buffer: GPUBuffer,
    readonly staging: GPUBuffer,
    /** Bytes read back per MSM: the status word, its padding and one affine point. */
    readonly readBytes: number,
  ) {}

  static async create(gpu: GpuDevice, affineBytes: number, jacobianBytes: number): Promise<MsmResult> {
    const buffer = await gpu.storageBuffer('msm-result', STATUS_BYTES + affineBytes + jacobianBytes);
    try {
      const readBytes = STATUS_BYTES + affineBytes;
      const staging = await gpu.createBuffer('msm-staging', readBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      return new MsmResult(buffer, staging, readBytes);
    } catch (e) {
      buffer.destroy();
      throw e;
    }
  }

  readonly bufferCount = 2;

  destroy(): void {
    this.buffer.destroy();
    this.staging.destroy();
  }
}
