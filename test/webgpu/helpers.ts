/** Shared test helpers: seeded randomness (ZKP_TEST_SEED overrides; the seed is logged) and byte builders. */
import type { FfCurve } from 'ffjavascript';
import type { Prng as Rng } from '../../src/random/prng.ts';
import { BN254_R, Fq, bigintToBytes } from '../../src/prover/backends/webgpu/twins/field.ts';

/** The project's seeded PRNG; testSeed reads ZKP_TEST_SEED (or draws a seed) and logs it. */
export { Prng as Rng } from '../../src/random/prng.ts';
export { testSeed } from '../../src/random/seed.ts';

/** Scalars mixing edge values (0, 1, r-1, small, repeated) with uniform ones. */
export function edgeScalars(rng: Rng, n: number): bigint[] {
  const edges = [0n, 1n, BN254_R - 1n, 2n, 1n, 0n, BN254_R - 2n, 3n];
  return Array.from({ length: n }, (_, i) => (i < edges.length ? edges[i]! : rng.int(4) === 0 ? edges[rng.int(edges.length)]! : rng.below(BN254_R)));
}

export function frBytes(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 32);
  for (const [i, v] of values.entries()) bigintToBytes(v, out, i * 32);
  return out;
}

export function fqMontBytes(values: readonly bigint[]): Uint8Array {
  return frBytes(values.map((v) => Fq.toMont(v)));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * n affine G1 points (ffjavascript layout) with edge cases: every 17th is
 * infinity (index 5 mod 17) and every 7th repeats one point (3 mod 7).
 */
export function g1EdgePoints(curve: FfCurve, rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) {
    if (i % 17 === 5) continue; // infinity
    const k = i % 7 === 3 ? 11 : 1 + rng.int(1 << 20); // repeated points
    out.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, k)), i * 64);
  }
  return out;
}

/** n affine G2 points with edge cases: index 4 is infinity, every 6th (1 mod 6) repeats one point. */
export function g2EdgePoints(curve: FfCurve, rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n * 128);
  for (let i = 0; i < n; i++) if (i !== 4) out.set(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, i % 6 === 1 ? 9 : 1 + rng.int(1 << 16))), i * 128);
  return out;
}
