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

type Entry = 'ntt_bitrev' | 'ntt_tile' | 'ntt_stage' | 'fr_scale' | 'fr_coset' | 'fr_powers' | 'fr_join';

export class NttEngine {
  private readonly gpu: GpuDevice;
  private readonly tables = new Map<string, GPUBuffer>();

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
    );
  }

  static checkSize(values: Uint8Array, log2n: number): number {
    if (!Number.isInteger(log2n) || log2n < 0 || log2n > MAX_LOG2N) throw new InvalidArgumentError(`log2n must be an integer in 0..${MAX_LOG2N}, got ${log2n}`);
    const n = 2 ** log2n;
    if (values.byteLength !== n * FR_BYTES)
      throw new InvalidArgumentError(`expected ${n} Fr elements (${n * FR_BYTES} bytes) for log2n=${log2n}, got ${values.byteLength} bytes`);
    return n;
  }

  private params(n: number, log2n: number, half: number, loBits: number): Promise<GPUBuffer> {
    return this.gpu.uniform('ntt-params', [n, log2n, half, loBits]);
  }

  private async dispatch(
    recorder: CommandRecorder,
    entry: Entry,
    threads: number,
    bindings: ReadonlyArray<readonly [number, GPUBuffer]>,
    grid?: [number, number],
    detail = '',
  ): Promise<void> {
    const pipeline = await this.pipeline(entry);
    const label = detail === '' ? entry : `${entry} ${detail}`;
    await recorder.dispatch(label, pipeline, this.gpu.bindGroup(pipeline, bindings), grid ?? this.gpu.grid(threads, WORKGROUP_SIZE));
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
    const params = await this.params(n, 0, 0, loBits);
    const recorder = new CommandRecorder(this.gpu);
    await this.dispatch(recorder, 'fr_powers', n, [
      [0, params],
      [5, loBuf],
      [6, hiBuf],
      [7, out],
    ]);
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
  async encodeNtt(
    recorder: CommandRecorder,
    data: GPUBuffer,
    scratch: GPUBuffer,
    log2n: number,
    direction: 'forward' | 'inverse',
    owned: GPUBuffer[],
  ): Promise<void> {
    const n = 2 ** log2n;
    const tw = await this.twiddles(log2n, direction);
    recorder.commands.copyBufferToBuffer(data, 0, scratch, 0, n * FR_BYTES);
    const base = await this.params(n, log2n, 0, 0);
    owned.push(base);
    await this.dispatch(recorder, 'ntt_bitrev', n, [
      [0, base],
      [1, data],
      [2, scratch],
    ]);
    if (n > 1) {
      const tileSize = Math.min(n, TILE);
      await this.dispatch(
        recorder,
        'ntt_tile',
        0,
        [
          [0, base],
          [1, data],
          [3, tw],
        ],
        this.gpu.grid((n / tileSize) * WORKGROUP_SIZE, WORKGROUP_SIZE),
      );
      for (let half = tileSize; half < n; half *= 2) {
        const p = await this.params(n, log2n, half, 0);
        owned.push(p);
        await this.dispatch(
          recorder,
          'ntt_stage',
          n / 2,
          [
            [0, p],
            [1, data],
            [3, tw],
          ],
          undefined,
          `h=${half}`,
        );
      }
    }
    if (direction === 'inverse') {
      const factor = new Uint8Array(FR_BYTES);
      bigintToBytes(Fr.toMont(Fr.inv(BigInt(n))), factor, 0);
      const f = await this.gpu.uploadBuffer('ntt-1/n', factor);
      owned.push(f);
      await this.dispatch(recorder, 'fr_scale', n, [
        [0, base],
        [1, data],
        [4, f],
      ]);
    }
  }

  async encodeCoset(recorder: CommandRecorder, data: GPUBuffer, log2n: number, owned: GPUBuffer[]): Promise<void> {
    const n = 2 ** log2n;
    const pw = await this.cosetPowers(log2n);
    const base = await this.params(n, log2n, 0, 0);
    owned.push(base);
    await this.dispatch(recorder, 'fr_coset', n, [
      [0, base],
      [1, data],
      [3, pw],
    ]);
  }

  async encodeJoin(recorder: CommandRecorder, a: GPUBuffer, b: GPUBuffer, c: GPUBuffer, out: GPUBuffer, n: number, owned: GPUBuffer[]): Promise<void> {
    const base = await this.params(n, 0, 0, 0);
    owned.push(base);
    await this.dispatch(recorder, 'fr_join', n, [
      [0, base],
      [8, a],
      [9, b],
      [10, c],
      [7, out],
    ]);
  }

  /** Runs `encode` on freshly uploaded copies of `inputs` and reads back `resultIndex`. */
  async run(
    inputs: readonly Uint8Array[],
    extraBuffers: number,
    encode: (recorder: CommandRecorder, buffers: GPUBuffer[], owned: GPUBuffer[]) => Promise<void>,
    resultIndex: number,
    resultBytes: number,
  ): Promise<Uint8Array> {
    const owned: GPUBuffer[] = [];
    try {
      const buffers: GPUBuffer[] = [];
      for (const input of inputs) {
        const b = await this.gpu.uploadBuffer('ntt-input', input);
        owned.push(b);
        buffers.push(b);
      }
      for (let i = 0; i < extraBuffers; i++) {
        const b = await this.gpu.storageBuffer('ntt-work', resultBytes);
        owned.push(b);
        buffers.push(b);
      }
      const recorder = new CommandRecorder(this.gpu);
      await encode(recorder, buffers, owned);
      recorder.submit();
      const result = buffers[resultIndex];
      assert(result !== undefined, 'result buffer index');
      return await this.gpu.read(result, resultBytes);
    } finally {
      for (const b of owned) b.destroy();
    }
  }

  release(): void {
    for (const b of this.tables.values()) b.destroy();
    this.tables.clear();
  }
}
