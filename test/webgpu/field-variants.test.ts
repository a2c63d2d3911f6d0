/**
 * The arithmetic options of the curve and MSM kernels (codegen.ts): the
 * field ('16': field.wgsl, '13': field13.wgsl with conversion at the host
 * buffers) and the multiply ('straight', 'compact': outer limb loop rolled).
 * Here, on a real adapter (lavapipe in CI): a small G1 MSM (two chunks, so
 * the running total crosses the result buffer) over the 13-bit field with
 * edge scalars (0, 1, r-1, ...) and seeded random ones equals ffjavascript;
 * bad option values give one clear error each. The 16-bit straight build is
 * the default that gpu.test.ts runs; the compact multiply of both fields is
 * checked at the field level in field-width.test.ts, and as G1 MSMs, with
 * the 13-bit G2 MSM, in test/slow/field-variants.test.ts (each MSM build
 * compiles for about 3 minutes on lavapipe). Fails, never skips, when no
 * adapter is found.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { arithmeticOptions, CPU_DRIVER_CODEGEN, codegenKey, type FieldWidth, type MulCode } from '../../src/prover/backends/webgpu/codegen.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { buildMsmShader } from '../../src/prover/backends/webgpu/shader-builder.ts';
import { expectMsmMatches } from './field-variant-msm.ts';
import { Rng, testSeed } from './helpers.ts';

// Pipeline compiles dominate on lavapipe (minutes for G2 under load).
vi.setConfig({ testTimeout: 1_200_000, hookTimeout: 1_200_000 });

let curve: FfCurve;
const rng = new Rng(testSeed('webgpu-field-variants'));

beforeAll(async () => {
  curve = await buildBn128(true);
});
afterAll(async () => {
  await curve?.terminate();
});

describe('arithmetic options', () => {
  it('environment variables and backend options, backend option first', () => {
    expect(arithmeticOptions({}, {})).toEqual({ field: '16', mul: 'straight' });
    expect(arithmeticOptions({}, { ZKP_WEBGPU_FIELD: '13', ZKP_WEBGPU_MUL: 'compact' })).toEqual({ field: '13', mul: 'compact' });
    expect(arithmeticOptions({ field: '16', mul: 'straight' }, { ZKP_WEBGPU_FIELD: '13', ZKP_WEBGPU_MUL: 'compact' })).toEqual({
      field: '16',
      mul: 'straight',
    });
  });

  it('bad values: one clear error each, naming the variable or option and the allowed values', async () => {
    expect(() => arithmeticOptions({}, { ZKP_WEBGPU_FIELD: '12' })).toThrow(`ZKP_WEBGPU_FIELD must be one of 16, 13, got "12"`);
    expect(() => arithmeticOptions({}, { ZKP_WEBGPU_MUL: 'fast' })).toThrow(`ZKP_WEBGPU_MUL must be one of straight, compact, got "fast"`);
    expect(() => arithmeticOptions({ field: 13 as unknown as FieldWidth })).toThrow(`webgpu backend option 'field' must be one of 16, 13, got 13`);
    expect(() => arithmeticOptions({ mul: 'rolled' as MulCode })).toThrow(`webgpu backend option 'mul' must be one of straight, compact, got "rolled"`);
    // The backend refuses before opening a device.
    await expect(createRawWebgpuBackend({ ...deviceOptionsFromEnv(), field: '14' as FieldWidth })).rejects.toThrow(/'field' must be one of 16, 13/);
  });

  it('each combination builds its own shader text under its own pipeline key', () => {
    const variants = (['16', '13'] as const).flatMap((field) => (['straight', 'compact'] as const).map((mul) => ({ ...CPU_DRIVER_CODEGEN, field, mul })));
    const keys = new Set(variants.map(codegenKey));
    expect(keys.size).toBe(4);
    for (const group of ['g1', 'g2'] as const) {
      const texts = new Set(variants.map((v) => buildMsmShader(group, { workgroupSize: 64, entriesPerThread: 8 }, v)));
      expect(texts.size).toBe(4);
    }
    // The default build is the 16-bit straight one.
    expect(buildMsmShader('g1', { workgroupSize: 64, entriesPerThread: 8 })).toBe(
      buildMsmShader('g1', { workgroupSize: 64, entriesPerThread: 8 }, { ...CPU_DRIVER_CODEGEN, field: '16', mul: 'straight' }),
    );
  });
});

describe('field 13-bit, straight multiply', () => {
  let backend: RawWebgpuBackend;
  beforeAll(async () => {
    // 64 points per chunk: the 100-point MSM runs in two chunks (the total is stored and reloaded).
    backend = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), chunk_points_max: 64, field: '13', mul: 'straight' });
    console.log(backend.describe());
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('G1 MSM of 100 points (edge and random scalars) equals ffjavascript', async () => {
    await expectMsmMatches('G1', backend, curve, rng, 100);
  });
});
