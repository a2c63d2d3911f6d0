/**
 * The scratch buffers of the MSM for one chunk capacity (a power of two, or
 * the engine's chunk size when smaller), allocated once and reused by every
 * MSM of chunks in (capacity/2, capacity]: they share one window plan. Also
 * holds the one uniform buffer (a 256-byte slot per dispatch kind: the base
 * parameters, then one per accumulation level, read through dynamic
 * offsets), the staging buffer the status word and results come back
 * through, and the bind groups, cached per bound buffer set.
 */
import { assert } from '../../../errors/index.ts';
import type { GpuDevice } from './device.ts';
import { ENTRIES_PER_THREAD, MSM_WORKGROUP_SIZE, reductionSegments, windowBits } from './msm-plan.ts';
import { type WindowPlan, planWindows } from './twins/msm.ts';

/** Words of MsmParams (msm.wgsl) and their bytes. */
export const PARAMS_WORDS = 12;
export const PARAMS_BYTES = PARAMS_WORDS * 4;
/** The status word (scalar range check) and padding before the results in the staging buffer. */
export const STATUS_BYTES = 16;
/** Uniform slots: the base parameters and up to this many accumulation levels minus one. */
const PARAM_SLOTS = 24;

export class MsmArena {
  readonly plan: WindowPlan;
  readonly segs: number;
  readonly scanTiles: number;
  private readonly all: GPUBuffer[];
  private readonly unkeyed = new Map<string, GPUBindGroup>();
  private readonly keyed = new WeakMap<GPUBuffer, Map<string, GPUBindGroup>>();
  private written = '';

  private constructor(
    plan: WindowPlan,
    segs: number,
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
    readonly reduced: GPUBuffer,
    readonly status: GPUBuffer,
    readonly staging: GPUBuffer,
    readonly uniform: GPUBuffer,
  ) {
    this.plan = plan;
    this.segs = segs;
    this.scanTiles = scanTiles;
    this.all = [scalars, digits, counts, offsets, blockSums, cursor, keys, vals, ...levelKeys, ...levelPts, buckets, reduced, status, staging, uniform];
  }

  static async create(gpu: GpuDevice, jacobianBytes: number, points: number): Promise<MsmArena> {
    const plan = planWindows(windowBits(points));
    const segs = reductionSegments(plan);
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
      const resultBytes = plan.nw * segs * jacobianBytes;
      const arena = new MsmArena(
        plan,
        segs,
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
        await buf('reduced', resultBytes),
        await buf('status', STATUS_BYTES),
        await gpu.createBuffer('msm-staging', STATUS_BYTES + resultBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
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
