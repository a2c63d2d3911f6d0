/**
 * The two limb widths on the device: 16 x 16-bit (field.wgsl, what the MSM
 * and NTT use) and 20 x 13-bit with lazy carries (field13.wgsl), through the
 * same kernels (field_kernels.wgsl), against their BigInt twins on edge and
 * random values, with each multiply shape (mul option 'straight' and
 * 'compact', codegen.ts); the multiplication chain the width bench times, too.
 * The 13-bit field (shaders/field13.wgsl) is also the curve and MSM code's
 * field under ZKP_WEBGPU_FIELD=13 (field-variants.test.ts runs MSMs on it).
 * Fails, never skips, when no adapter is found.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chooseCodegen, type CodegenOptions } from '../../src/prover/backends/webgpu/codegen.ts';
import { GpuDevice, deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { runFieldOps, runMulChain } from '../../bench/experiments/field-width/field-kernels.ts';
import { montMul13 } from '../../src/prover/backends/webgpu/twins/field13.ts';
import type { LimbWidth } from '../../bench/experiments/field-width/shader.ts';
import { BN254_P, BN254_R, Fq, Fr, type PrimeField } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, testSeed } from './helpers.ts';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

let gpu: GpuDevice;
let codegen: CodegenOptions;
const rng = new Rng(testSeed('webgpu-field-width'));

beforeAll(async () => {
  gpu = await GpuDevice.open(deviceOptionsFromEnv());
  codegen = chooseCodegen(gpu.adapterDescription);
});
afterAll(() => {
  gpu?.destroy();
});

const montMul =
  (F: PrimeField, width: LimbWidth) =>
  (a: bigint, b: bigint): bigint =>
    width === 16 ? F.montMul(a, b) : montMul13(F, a, b);

describe.each([
  ['fq', Fq, BN254_P],
  ['fr', Fr, BN254_R],
] as const)('field %s', (name, F, p) => {
  it.each([
    [13, 'straight'],
    [13, 'compact'],
    [16, 'straight'],
    [16, 'compact'],
  ] as const)('%i-bit limbs, %s multiply: add, sub, mul equal the twin on edge and random values', async (width, mul) => {
    // Edge values hit the limb boundaries of both widths (2^13k - 1, 2^16k - 1) and the top of the field.
    const edges = [0n, 1n, 2n, p - 1n, p - 2n, (p - 1n) / 2n, (1n << 13n) - 1n, (1n << 130n) - 1n, (1n << 253n) - 1n, (1n << 208n) - 1n];
    const pairs: Array<[bigint, bigint]> = [];
    for (const a of edges) for (const b of edges) pairs.push([a, b]);
    for (let i = 0; i < 60; i++) pairs.push([rng.below(p), rng.below(p)]);
    const got = await runFieldOps(gpu, name, width, { ...codegen, mul }, pairs);
    const product = montMul(F, width);
    pairs.forEach(([a, b], i) => {
      expect(got[i], `pair ${i}: ${a}, ${b}`).toEqual([F.add(a, b), F.sub(a, b), product(a, b)]);
    });
  });

  it.each([13, 16] as const)('%i-bit limbs: the bench chain (x <- x*y, 50 times) equals the twin', async (width) => {
    const pairs: Array<[bigint, bigint]> = [[p - 1n, p - 1n], [1n, 0n], ...Array.from({ length: 70 }, (): [bigint, bigint] => [rng.below(p), rng.below(p)])];
    const { results } = await runMulChain(gpu, name, width, codegen, pairs, 50);
    const mul = montMul(F, width);
    pairs.forEach(([x0, y], i) => {
      let x = x0;
      for (let k = 0; k < 50; k++) x = mul(x, y);
      expect(results[i], `thread ${i}`).toBe(x);
    });
  });
});
