/**
 * The MSM check shared by the arithmetic-option tests (field-variants.test.ts
 * here, test/slow/field-variants.test.ts): an MSM of `n` points with edge and
 * seeded random scalars on a backend built with the variant under test,
 * against ffjavascript, with its time (compile included) logged.
 */
import { expect } from 'vitest';
import type { FfCurve } from 'ffjavascript';
import type { RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { type Rng, edgeScalars, frBytes, g1EdgePoints, g2EdgePoints, hex } from './helpers.ts';

export async function expectMsmMatches(group: 'G1' | 'G2', backend: RawWebgpuBackend, curve: FfCurve, rng: Rng, n: number): Promise<void> {
  const bases = group === 'G1' ? g1EdgePoints(curve, rng, n) : g2EdgePoints(curve, rng, n);
  const scalars = frBytes(edgeScalars(rng, n));
  const t0 = performance.now();
  const got = group === 'G1' ? await backend.msmG1(bases, scalars) : await backend.msmG2(bases, scalars);
  console.log(`${backend.describe()}: ${group} MSM of ${n} points (compile included) ${(performance.now() - t0).toFixed(0)} ms`);
  const reference = group === 'G1' ? curve.G1 : curve.G2;
  expect(hex(got)).toBe(hex(reference.toAffine(await reference.multiExpAffine(bases, scalars, false))));
}
