/**
 * The G2 half of test/webgpu/straight-line.test.ts: straight-line G2 curve
 * code forced on whatever adapter is here. On lavapipe with a cold shader
 * cache its pipelines take ~18 minutes to compile on 2 cores, so it runs with
 * `npm run test:slow`, not in `npm test`. Fails, never skips, when no adapter
 * is found.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { Rng, edgeScalars, frBytes, g2EdgePoints, hex, testSeed } from '../webgpu/helpers.ts';

vi.setConfig({ testTimeout: 3_600_000, hookTimeout: 900_000 });

let curve: FfCurve;
let backend: RawWebgpuBackend;
let native: ProverBackend;
const rng = new Rng(testSeed('webgpu-straight-line-g2'));

beforeAll(async () => {
  curve = await buildBn128(true);
  native = await createNativeBackend();
  backend = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), curveCode: 'straight', chunk_points_max: 64 });
  console.log(backend.describe());
});
afterAll(async () => {
  await backend?.close();
  await native?.close();
  await curve?.terminate();
});

describe('straight-line curve code, G2', () => {
  it('G2 n=9 equals ffjavascript and native', async () => {
    const t = performance.now();
    await backend.warm('G2');
    console.log(`straight-line G2 pipelines compiled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const n = 9;
    const bases = g2EdgePoints(curve, rng, n);
    const scalars = frBytes(edgeScalars(rng, n));
    const expected = hex(curve.G2.toAffine(await curve.G2.multiExpAffine(bases, scalars, false)));
    expect(hex(await backend.msmG2(bases, scalars))).toBe(expected);
    expect(hex(await native.msmG2(bases, scalars))).toBe(expected);
  });
});
