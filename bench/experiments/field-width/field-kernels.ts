/**
 * Host side of field_kernels.wgsl (this folder): field add/sub/mul over a chosen
 * limb width (tests against the twins) and the dependent-multiplication
 * chain that measures one width's multiplication throughput (bench).
 * Values cross as plain 256-bit integers, 8 little-endian u32 words each.
 */
import { InvalidArgumentError } from '../../../src/errors/index.ts';
import { type CodegenOptions, codegenKey } from '../../../src/prover/backends/webgpu/codegen.ts';
import type { GpuDevice } from '../../../src/prover/backends/webgpu/device.ts';
import type { FieldName } from '../../../src/prover/backends/webgpu/shader-builder.ts';
import { bigintToBytes, bytesToBigint } from '../../../src/prover/backends/webgpu/twins/field.ts';
import { buildFieldKernelShader, type LimbWidth } from './shader.ts';

const WORKGROUP_SIZE = 64; // as field_kernels.wgsl declares

function pipeline(gpu: GpuDevice, field: FieldName, width: LimbWidth, codegen: CodegenOptions, entry: 'field_ops' | 'mul_chain'): Promise<GPUComputePipeline> {
  return gpu.pipeline(`field-kernels-${field}-${width}-${codegenKey(codegen)}`, () => buildFieldKernelShader(field, width, codegen), entry);
}

function pairBytes(pairs: ReadonlyArray<readonly [bigint, bigint]>): Uint8Array {
  const out = new Uint8Array(pairs.length * 64);
  for (const [i, [a, b]] of pairs.entries()) {
    bigintToBytes(a, out, i * 64);
    bigintToBytes(b, out, i * 64 + 32);
  }
  return out;
}

async function dispatch(
  gpu: GpuDevice,
  pipe: GPUComputePipeline,
  entry: 'field_ops' | 'mul_chain',
  input: Uint8Array,
  threads: number,
  resultBytes: number,
  chainLength: number,
): Promise<{ out: Uint8Array; ms: number }> {
  const inBuf = await gpu.uploadBuffer('field-kernels-in', input);
  const outBuf = await gpu.storageBuffer('field-kernels-out', resultBytes);
  const params = await gpu.uniform('field-kernels-chain', [chainLength, 0, 0, 0]);
  try {
    const enc = gpu.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    const bindings: Array<readonly [number, GPUBuffer]> = [
      [0, inBuf],
      [1, outBuf],
    ];
    if (entry === 'mul_chain') bindings.push([2, params]); // field_ops does not use the uniform
    pass.setBindGroup(0, gpu.bindGroup(pipe, bindings));
    const [x, y] = gpu.grid(threads, WORKGROUP_SIZE);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    const started = performance.now();
    gpu.device.queue.submit([enc.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - started;
    return { out: await gpu.read(outBuf, resultBytes), ms };
  } finally {
    inBuf.destroy();
    outBuf.destroy();
    params.destroy();
  }
}

/** [a + b, a - b, mul(a, b)] per pair, where mul is the width's Montgomery product (a*b/2^256 or a*b/2^260). */
export async function runFieldOps(
  gpu: GpuDevice,
  field: FieldName,
  width: LimbWidth,
  codegen: CodegenOptions,
  pairs: ReadonlyArray<readonly [bigint, bigint]>,
): Promise<bigint[][]> {
  if (pairs.length === 0) throw new InvalidArgumentError('runFieldOps: no input pairs');
  const pipe = await pipeline(gpu, field, width, codegen, 'field_ops');
  const { out } = await dispatch(gpu, pipe, 'field_ops', pairBytes(pairs), pairs.length, pairs.length * 3 * 32, 0);
  return pairs.map((_, i) => [0, 1, 2].map((k) => bytesToBigint(out, (i * 3 + k) * 32)));
}

/** Per thread x <- mul(x, y), chainLength times; returns every thread's x and the wall time of the dispatch. */
export async function runMulChain(
  gpu: GpuDevice,
  field: FieldName,
  width: LimbWidth,
  codegen: CodegenOptions,
  pairs: ReadonlyArray<readonly [bigint, bigint]>,
  chainLength: number,
): Promise<{ results: bigint[]; ms: number }> {
  if (!Number.isInteger(chainLength) || chainLength < 1)
    throw new InvalidArgumentError(`runMulChain: chain length must be a positive integer, got ${chainLength}`);
  if (pairs.length === 0) throw new InvalidArgumentError('runMulChain: no input pairs');
  const pipe = await pipeline(gpu, field, width, codegen, 'mul_chain');
  const { out, ms } = await dispatch(gpu, pipe, 'mul_chain', pairBytes(pairs), pairs.length, pairs.length * 32, chainLength);
  return { results: pairs.map((_, i) => bytesToBigint(out, i * 32)), ms };
}
