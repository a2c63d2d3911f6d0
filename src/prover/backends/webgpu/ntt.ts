/**
 * Host side of the NTT, coset shift and join (shaders/ntt.wgsl). Twiddle
 * and coset-power tables are built on the device (fr_powers) from two
 * sqrt(n)-sized host tables and cached per size, so repeated transforms of
 * one circuit reuse them.
 */
import { InvalidArgumentError, assert } from '../../../errors/index.ts';
import { FR_BYTES } from '../../backend.ts';
import { CommandRecorder } from './command-recorder.ts';
import type { GpuDevice } from './device.ts';
import { CPU_DRIVER_CODEGEN, codegenKey, type CodegenOptions } from './codegen.ts';
import { buildNttShader } from './shader-builder.ts';
import { Fr, bigintToBytes } from './twins/field.ts';
import { rootOfUnity } from './twins/ntt.ts';

const WORKGROUP_SIZE = 256;
const TILE = 2 * WORKGROUP_SIZE; // elements per ntt_tile workgroup
const MAX_LOG2N = 27; // coset shift needs roots[log2n + 1] <= roots[28]

type Entry = 'ntt_bitrev' | 'ntt_tile' | 'ntt_radix4' | 'ntt_stage' | 'fr_scale' | 'fr_coset' | 'fr_powers' | 'fr_join';

/** The group-0 bindings each entry uses (its explicit layout; binding 0 is a params slot, a dynamic offset). */
const ENTRY_BINDINGS: Record<Entry, readonly number[]> = {
  ntt_bitrev: [0, 1, 2],
  ntt_tile: [0, 1, 3],
  ntt_radix4: [0, 1, 3],
  ntt_stage: [0, 1, 3],
  fr_scale: [0, 1, 4],
  fr_coset: [0, 1, 3],
  fr_powers: [0, 5, 6, 7],
  fr_join: [0, 8, 9, 10, 7],
};

const PARAMS_BYTES = 16;

/** One global pass after the tile: ntt_radix4 (the stages of span half and 2*half) or ntt_stage (span half). */
export interface NttGlobalPass {
  readonly entry: 'ntt_radix4' | 'ntt_stage';
  readonly half: number;
}

/**
 * The global passes of a 2^log2n transform after ntt_tile: the stages of
 * span TILE .. n/2 two at a time, the last one alone when their count is odd
 * (2^20: 11 stages -> 5 radix-4 passes and 1 radix-2 pass).
 */
export function nttGlobalPasses(log2n: number): NttGlobalPass[] {
  const n = 2 ** log2n;
  const passes: NttGlobalPass[] = [];
  let half = Math.min(n, TILE);
  for (; 4 * half <= n; half *= 4) passes.push({ entry: 'ntt_radix4', half });
  if (half < n) passes.push({ entry: 'ntt_stage', half });
  return passes;
}

/** The pass labels of one transform, in order (pass timing records these). */
export function nttPassLabels(log2n: number, direction: 'forward' | 'inverse'): string[] {
  if (log2n === 0) return ['ntt_bitrev', ...(direction === 'inverse' ? ['fr_scale'] : [])];
  return ['ntt_bitrev', 'ntt_tile', ...nttGlobalPasses(log2n).map((p) => `${p.entry} h=${p.half}`), ...(direction === 'inverse' ? ['fr_scale'] : [])];
}

/**
 * Everything one transform size needs, allocated once and reused: the
 * params uniform (slot 0: the base parameters, slot 1 + s: global pass s,
 * see nttGlobalPasses), 1/n, and the work vectors of ntt/cosetShift/computeH
 * (inputs a, b, c, a scratch vector, the output) with a staging buffer.
 */
interface SizeArena {
  readonly uniform: GPUBuffer;
  readonly invN: GPUBuffer;
  readonly vectors: GPUBuffer[];
  readonly staging: GPUBuffer;
  readonly bindGroups: Map<string, GPUBindGroup>;
}

export class NttEngine {
  private readonly gpu: GpuDevice;
  private readonly tables = new Map<string, GPUBuffer>();
  private readonly arenas = new Map<number, SizeArena>();

  private readonly codegen: CodegenOptions;

  constructor(gpu: GpuDevice, codegen: CodegenOptions = CPU_DRIVER_CODEGEN) {
    this.gpu = gpu;
    this.codegen = codegen;
  }

  private pipeline(entry: Entry): Promise<GPUComputePipeline> {
    return this.gpu.pipeline(
      `ntt-wg${WORKGROUP_SIZE}-${codegenKey(this.codegen)}`,
      () => buildNttShader({ workgroupSize: WORKGROUP_SIZE }, this.codegen),
      entry,
      ENTRY_BINDINGS[entry],
    );
  }

  static checkSize(values: Uint8Array, log2n: number): number {
    if (!Number.isInteger(log2n) || log2n < 0 || log2n > MAX_LOG2N) throw new InvalidArgumentError(`log2n must be an integer in 0..${MAX_LOG2N}, got ${log2n}`);
    const n = 2 ** log2n;
    if (values.byteLength !== n * FR_BYTES)
      throw new InvalidArgumentError(`expected ${n} Fr elements (${n * FR_BYTES} bytes) for log2n=${log2n}, got ${values.byteLength} bytes`);
    return n;
  }

  /** The arena of one size, made on first use. */
  async arena(log2n: number): Promise<SizeArena> {
    const cached = this.arenas.get(log2n);
    if (cached) return cached;
    const n = 2 ** log2n;
    const slot = this.gpu.uniformSlotBytes;
    const passes = nttGlobalPasses(log2n);
    const words = new Uint32Array(((1 + passes.length) * slot) / 4);
    words.set([n, log2n, 0, 0], 0);
    for (const [s, { half }] of passes.entries()) words.set([n, log2n, half, 0], ((1 + s) * slot) / 4);
    const made: GPUBuffer[] = [];
    try {
      const uniform = await this.gpu.createBuffer(`ntt-params-${log2n}`, words.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      made.push(uniform);
      this.gpu.write(uniform, 0, new Uint8Array(words.buffer), 'params');
      const factor = new Uint8Array(FR_BYTES);
      bigintToBytes(Fr.toMont(Fr.inv(BigInt(n))), factor, 0);
      const invN = await this.gpu.uploadBuffer('ntt-1/n', factor);
      made.push(invN);
      const vectors: GPUBuffer[] = [];
      for (const name of ['a', 'b', 'c', 'scratch', 'out']) {
        const v = await this.gpu.storageBuffer(`ntt-${name}-${log2n}`, n * FR_BYTES);
        made.push(v);
        vectors.push(v);
      }
      const staging = await this.gpu.createBuffer(`ntt-staging-${log2n}`, n * FR_BYTES, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      made.push(staging);
      const arena: SizeArena = { uniform, invN, vectors, staging, bindGroups: new Map() };
      this.arenas.set(log2n, arena);
      return arena;
    } catch (e) {
      for (const b of made) b.destroy();
      throw e;
    }
  }

  private async dispatch(
    recorder: CommandRecorder,
    arena: SizeArena | null,
    entry: Entry,
    threads: number,
    bindings: ReadonlyArray<readonly [number, GPUBuffer]>,
    options: { grid?: [number, number]; slot?: number; detail?: string; uniform?: GPUBuffer } = {},
  ): Promise<void> {
    const pipeline = await this.pipeline(entry);
    const label = options.detail ? `${entry} ${options.detail}` : entry;
    const uniform = options.uniform ?? arena?.uniform;
    assert(uniform !== undefined, 'an NTT dispatch needs a params buffer');
    const make = (): GPUBindGroup => this.gpu.bindGroup(pipeline, [[0, uniform, 0, PARAMS_BYTES], ...bindings]);
    let group: GPUBindGroup;
    if (arena) {
      // Bind groups of an arena's own buffers (and cached tables) repeat every call: made once.
      const key = `${entry}:${bindings.map(([b, buf]) => `${b}=${buf.label}`).join(',')}`;
      group = arena.bindGroups.get(key) ?? make();
      arena.bindGroups.set(key, group);
    } else {
      group = make();
    }
    const grid = options.grid ?? this.gpu.grid(threads, WORKGROUP_SIZE);
    await recorder.dispatch(label, pipeline, group, grid, [(options.slot ?? 0) * this.gpu.uniformSlotBytes]);
  }

  /** x^i for i < n, Montgomery, resident and cached under `key`. */
  private async powers(key: string, x: bigint, n: number): Promise<GPUBuffer> {
    const cached = this.tables.get(key);
    if (cached) return cached;
    const loBits = Math.ceil(Math.log2(Math.max(n, 2)) / 2);
    const loCount = 1 << loBits;
    const hiCount = Math.max(1, Math.ceil(n / loCount));
    const lo = new Uint8Array(loCount * FR_BYTES);
    const hi = new Uint8Array(hiCount * FR_BYTES);
    let p = 1n;
    for (let i = 0; i < loCount; i++) {
      bigintToBytes(Fr.toMont(p), lo, i * FR_BYTES);
      p = Fr.mul(p, x);
    }
    const step = p; // x^loCount
    let q = 1n;
    for (let i = 0; i < hiCount; i++) {
      bigintToBytes(Fr.toMont(q), hi, i * FR_BYTES);
      q = Fr.mul(q, step);
    }
    const loBuf = await this.gpu.uploadBuffer('powers-lo', lo);
    const hiBuf = await this.gpu.uploadBuffer('powers-hi', hi);
    const out = await this.gpu.storageBuffer(`powers-${key}`, Math.max(n, 1) * FR_BYTES);
    const params = await this.gpu.uniform('powers-params', [n, 0, 0, loBits]);
    const recorder = new CommandRecorder(this.gpu);
    await this.dispatch(
      recorder,
      null,
      'fr_powers',
      n,
      [
        [5, loBuf],
        [6, hiBuf],
        [7, out],
      ],
      { uniform: params },
    );
    recorder.submit();
    await this.gpu.device.queue.onSubmittedWorkDone();
    loBuf.destroy();
    hiBuf.destroy();
    params.destroy();
    this.tables.set(key, out);
    return out;
  }

  private twiddles(log2n: number, direction: 'forward' | 'inverse'): Promise<GPUBuffer> {
    const root = rootOfUnity(log2n);
    const w = direction === 'forward' ? root : Fr.inv(root);
    return this.powers(`tw-${direction}-${log2n}`, w, Math.max(1, 2 ** log2n / 2));
  }

  private cosetPowers(log2n: number): Promise<GPUBuffer> {
    return this.powers(`coset-${log2n}`, rootOfUnity(log2n + 1), 2 ** log2n);
  }

  /** Encodes an in-place transform of `data` (n elements) using `scratch` as the bit-reversal source. */
  async encodeNtt(recorder: CommandRecorder, data: GPUBuffer, scratch: GPUBuffer, log2n: number, direction: 'forward' | 'inverse'): Promise<void> {
    const n = 2 ** log2n;
    const arena = await this.arena(log2n);
    const tw = await this.twiddles(log2n, direction);
    recorder.commands.copyBufferToBuffer(data, 0, scratch, 0, n * FR_BYTES);
    await this.dispatch(recorder, arena, 'ntt_bitrev', n, [
      [1, data],
      [2, scratch],
    ]);
    if (n > 1) {
      const tileSize = Math.min(n, TILE);
      await this.dispatch(
        recorder,
        arena,
        'ntt_tile',
        0,
        [
          [1, data],
          [3, tw],
        ],
        { grid: this.gpu.grid((n / tileSize) * WORKGROUP_SIZE, WORKGROUP_SIZE) },
      );
      for (const [s, pass] of nttGlobalPasses(log2n).entries()) {
        await this.dispatch(
          recorder,
          arena,
          pass.entry,
          pass.entry === 'ntt_radix4' ? n / 4 : n / 2,
          [
            [1, data],
            [3, tw],
          ],
          { slot: 1 + s, detail: `h=${pass.half}` },
        );
      }
    }
    if (direction === 'inverse') {
      await this.dispatch(recorder, arena, 'fr_scale', n, [
        [1, data],
        [4, arena.invN],
      ]);
    }
  }

  async encodeCoset(recorder: CommandRecorder, data: GPUBuffer, log2n: number): Promise<void> {
    const arena = await this.arena(log2n);
    const pw = await this.cosetPowers(log2n);
    await this.dispatch(recorder, arena, 'fr_coset', 2 ** log2n, [
      [1, data],
      [3, pw],
    ]);
  }

  async encodeJoin(recorder: CommandRecorder, log2n: number): Promise<void> {
    const arena = await this.arena(log2n);
    const [a, b, c, , out] = arena.vectors;
    await this.dispatch(recorder, arena, 'fr_join', 2 ** log2n, [
      [8, a!],
      [9, b!],
      [10, c!],
      [7, out!],
    ]);
  }

  /**
   * Writes `inputs` into the size's vectors a, b, c (in order), runs `encode`
   * over the vectors [a, b, c, scratch, out], and reads back vector `resultIndex`.
   */
  async run(
    log2n: number,
    inputs: readonly Uint8Array[],
    encode: (recorder: CommandRecorder, vectors: readonly GPUBuffer[]) => Promise<void>,
    resultIndex: number,
  ): Promise<Uint8Array> {
    const arena = await this.arena(log2n);
    const bytes = 2 ** log2n * FR_BYTES;
    assert(inputs.length <= 3, 'at most three input vectors');
    for (const [i, input] of inputs.entries()) this.gpu.write(arena.vectors[i]!, 0, input);
    const recorder = new CommandRecorder(this.gpu);
    await encode(recorder, arena.vectors);
    recorder.commands.copyBufferToBuffer(arena.vectors[resultIndex]!, 0, arena.staging, 0, bytes);
    recorder.submit();
    return this.gpu.readMapped(arena.staging, bytes);
  }

  /** The device vector holding the latest computeH result of a size (until the next computeH of that size). */
  async outputVector(log2n: number): Promise<GPUBuffer> {
    return (await this.arena(log2n)).vectors[4]!;
  }

  release(): void {
    for (const b of this.tables.values()) b.destroy();
    this.tables.clear();
    for (const a of this.arenas.values()) for (const b of [a.uniform, a.invN, ...a.vectors, a.staging]) b.destroy();
    this.arenas.clear();
  }
}
