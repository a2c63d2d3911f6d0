/**
 * Straight-line curve code (what GPU adapters get by default) forced on
 * whatever adapter is here (lavapipe in CI, which defaults to the
 * interpreter): whole MSMs equal ffjavascript and the native backend. Fails,
 * never skips, when no adapter is found.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { BN254_R } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, edgeScalars, frBytes, g1EdgePoints, hex, testSeed } from './helpers.ts';

// Straight-line formulas inline every field product: on the 2-core VM with a
// cold cache lavapipe takes 1-5 minutes (load-dependent) to compile and JIT
// the G1 pipelines, and ~18 minutes for G2, which is why the G2 case is in
// test/slow/ (`npm run test:slow`, not part of `npm test`). On a GPU adapter
// straight-line code is the default, so gpu.test.ts covers G2 with it there.
vi.setConfig({ testTimeout: 900_000, hookTimeout: 900_000 });

let curve: FfCurve;
let backend: RawWebgpuBackend;
let native: ProverBackend;
const rng = new Rng(testSeed('webgpu-straight-line'));

beforeAll(async () => {
  curve = await buildBn128(true);
  native = await createNativeBackend();
  backend = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), curveCode: 'straight', chunk_points_max: 64 });
  console.log(backend.describe());
  const t = performance.now();
  await backend.warm('G1');
  console.log(`straight-line G1 pipelines compiled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
});
afterAll(async () => {
  await backend?.close();
  await native?.close();
  await curve?.terminate();
});

describe('straight-line curve code', () => {
  it('is what this backend compiles', () => {
    expect(backend.codegen.curveCode).toBe('straight');
    expect(backend.describe()).toContain('curve code straight');
  });

  it.each([100, 77])('G1 n=%i (edge scalars, infinity, repeated points, chunks of 64) equals ffjavascript and native', async (n) => {
    const bases = g1EdgePoints(curve, rng, n);
    const scalars = frBytes(edgeScalars(rng, n));
    const expected = hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases, scalars, false)));
    expect(hex(await backend.msmG1(bases, scalars))).toBe(expected);
    expect(hex(await native.msmG1(bases, scalars))).toBe(expected);
  });

  it('G1 with one heavy bucket (equal scalars) equals ffjavascript', async () => {
    const n = 90;
    const bases = g1EdgePoints(curve, rng, n);
    const scalars = frBytes(Array.from({ length: n }, (_, i) => (i % 9 === 0 ? rng.below(BN254_R) : BN254_R - 1n)));
    expect(hex(await backend.msmG1(bases, scalars))).toBe(hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases, scalars, false))));
  });
});
