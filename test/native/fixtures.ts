/**
 * Shared test inputs for the native backend: the project's seeded PRNG (seed
 * printed; override with ZKP_TEST_SEED) and generators of random Fr elements and curve
 * points built with ffjavascript, the reference the tests compare against.
 */

import { buildBn128, type FfCurve, type FfGroup } from 'ffjavascript';
import { BN254_R as FR_ORDER } from '../../src/prover/io/bn254.ts';
import type { Prng as SeededRandom } from '../../src/random/prng.ts';

/** r, the BN254 scalar field order. */
export { BN254_R as FR_ORDER } from '../../src/prover/io/bn254.ts';

/** The project's seeded PRNG; testSeed reads ZKP_TEST_SEED (or draws a seed) and logs it. */
export { Prng as SeededRandom } from '../../src/random/prng.ts';
export { testSeed } from '../../src/random/seed.ts';

export function bigintToLe32(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function le32ToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A uniformly random canonical Fr element (as 32 LE bytes; valid both as standard and as Montgomery form). */
export function randomFr(rng: SeededRandom): Uint8Array {
  for (;;) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) {
      const w = rng.nextUint32();
      out[i] = w & 0xff;
      out[i + 1] = (w >>> 8) & 0xff;
      out[i + 2] = (w >>> 16) & 0xff;
      out[i + 3] = w >>> 24;
    }
    out[31] = out[31]! & 0x3f;
    if (le32ToBigint(out) < FR_ORDER) return out;
  }
}

export function randomFrVector(rng: SeededRandom, n: number): Uint8Array {
  const out = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) out.set(randomFr(rng), i * 32);
  return out;
}

export type { FfCurve, FfField, FfGroup } from 'ffjavascript';

/** ffjavascript's bn128 (cached by ffjavascript; call terminate() when done). */
export function referenceCurve(): Promise<FfCurve> {
  return buildBn128();
}

/**
 * n affine points: a few random multiples of the generator, then a chain of
 * additions (cheap), so points are distinct but not structured.
 */
export function randomPoints(group: FfGroup, rng: SeededRandom, n: number, pointBytes: number): Uint8Array {
  const out = new Uint8Array(n * pointBytes);
  if (n === 0) return out;
  const step = group.timesFr(group.g, randomFr(rng));
  let p = group.timesFr(group.g, randomFr(rng));
  for (let i = 0; i < n; i++) {
    if (i % 64 === 63) p = group.timesFr(group.g, randomFr(rng));
    out.set(group.toAffine(p), i * pointBytes);
    p = group.add(p, step);
  }
  return out;
}
