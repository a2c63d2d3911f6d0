/**
 * MSM parity with ffjavascript when the top Pippenger window is at its
 * fullest: scalars just under a power of two fill the last window's few
 * buckets (the native code sizes that window to its digits), and a repeated
 * point with one scalar sends every point to the same bucket of each window.
 * A last case makes the bucket reduction's running sums meet equal points.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G1_AFFINE_BYTES, G2_AFFINE_BYTES, type ProverBackend } from '../../src/prover/backend.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import {
  FR_ORDER,
  SeededRandom,
  bigintToLe32,
  le32ToBigint,
  randomFr,
  randomPoints,
  referenceCurve,
  testSeed,
  type FfCurve,
  type FfGroup,
} from './fixtures.ts';

let curve: FfCurve;
let backend: ProverBackend;
const rng = new SeededRandom(testSeed('native msm windows'));

beforeAll(async () => {
  curve = await referenceCurve();
  backend = await createNativeBackend();
});
afterAll(async () => {
  await backend.close();
  await curve.terminate();
});

async function reference(group: FfGroup, bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array> {
  return group.toAffine(await group.multiExpAffine(bases, scalars));
}

/** Scalars top - i for i < n, each below r. */
function scalarsBelow(top: bigint, n: number): Uint8Array {
  const scalars = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) {
    const v = (top - BigInt(i)) % FR_ORDER;
    scalars.set(bigintToLe32(v), i * 32);
  }
  return scalars;
}

describe('native MSM with full top windows', () => {
  // 2^127 and 2^128 bracket the G1 GLV halves; 2^253 and r the unsplit scalars.
  for (const top of [2n ** 127n - 1n, 2n ** 128n - 1n, 2n ** 253n - 1n, FR_ORDER - 1n]) {
    it(`G1, 4100 points, scalars ${top.toString(16).slice(0, 8)}... - i`, async () => {
      const n = 4100;
      const bases = randomPoints(curve.G1, rng, n, G1_AFFINE_BYTES);
      const scalars = scalarsBelow(top, n);
      expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
    });
  }

  it('G1, one point repeated 4100 times with one large scalar (every point in one bucket per window)', async () => {
    const n = 4100;
    const one = randomPoints(curve.G1, rng, 1, G1_AFFINE_BYTES);
    const bases = new Uint8Array(n * G1_AFFINE_BYTES);
    for (let i = 0; i < n; i++) bases.set(one, i * G1_AFFINE_BYTES);
    const scalar = bigintToLe32(2n ** 127n - 3n);
    const scalars = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) scalars.set(scalar, i * 32);
    expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
  });

  it('G2, 1025 points, scalars r - 1 - i', async () => {
    const n = 1025;
    const bases = randomPoints(curve.G2, rng, n, G2_AFFINE_BYTES);
    const scalars = scalarsBelow(FR_ORDER - 1n, n);
    expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
  });

  it('G2, 4100 points whose bucket running sums meet equal points (the reduction doubles)', async () => {
    // 4100 points give 2^8 buckets per window (c = 9). Window 0 holds only
    // Q, 2Q, 3Q, 4Q in its top buckets (digits 256, 255, 254, 253), so the
    // running sum reaches 3Q and then adds the bucket 3Q, and the weighted
    // sum reaches 10Q and then adds the running sum 10Q. The other points have
    // digit 0 in window 0 and random digits above.
    const n = 4100;
    const q = curve.G2.timesFr(curve.G2.g, randomFr(rng));
    const multiples = [q];
    for (let k = 2; k <= 4; k++) multiples.push(curve.G2.add(multiples[multiples.length - 1]!, q));
    const bases = randomPoints(curve.G2, rng, n, G2_AFFINE_BYTES);
    const scalars = new Uint8Array(n * 32);
    for (let i = 0; i < 4; i++) {
      bases.set(curve.G2.toAffine(multiples[i]!), i * G2_AFFINE_BYTES);
      scalars.set(bigintToLe32(256n - BigInt(i)), i * 32);
    }
    for (let i = 4; i < n; i++) {
      const high = le32ToBigint(randomFr(rng)) % (1n << 200n);
      scalars.set(bigintToLe32((high + 1n) << 9n), i * 32);
    }
    expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
  });
});
