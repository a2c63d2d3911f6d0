/**
 * fixedBaseG1 / fixedBaseG2 (native/fixed_base.cc) against ffjavascript's
 * G.timesScalar(G.g, s): random scalars (seed logged) in batches whose sizes
 * select different window widths, plus the edge scalars 0, 1, 2, r - 1 and
 * values whose signed digits carry through every window; bad input refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNativeAddon, type NativeAddon } from '../../src/prover/backends/native/addon.ts';
import { bigintToLe32, FR_ORDER, le32ToBigint, randomFr, referenceCurve, SeededRandom, testSeed, type FfCurve } from './fixtures.ts';

let curve: FfCurve;
let addon: NativeAddon;
const rng = new SeededRandom(testSeed('native fixed base'));

beforeAll(async () => {
  curve = await referenceCurve();
  addon = loadNativeAddon();
});
afterAll(async () => {
  await curve.terminate();
});

const EDGE_SCALARS = [0n, 1n, 2n, FR_ORDER - 1n, FR_ORDER - 2n, (1n << 253n) - 1n, (1n << 128n) - 1n, 0x8000800080008000n, (FR_ORDER - 1n) / 2n];

function scalarBytes(values: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 32);
  values.forEach((value, index) => {
    bytes.set(value, index * 32);
  });
  return bytes;
}

for (const group of ['G1', 'G2'] as const) {
  const pointBytes = group === 'G1' ? 64 : 128;
  const multiply = (scalars: Uint8Array) => (group === 'G1' ? addon.fixedBaseG1(scalars) : addon.fixedBaseG2(scalars));

  describe(`native fixedBase${group} matches ffjavascript`, () => {
    // Batch sizes that pick different window widths (see choose_window_bits).
    for (const count of [1, 9, 100, 3000]) {
      it(`${count} scalars (the edge scalars first)`, async () => {
        const values = [...EDGE_SCALARS.map(bigintToLe32), ...Array.from({ length: count }, () => randomFr(rng))].slice(0, Math.max(count, 1));
        const points = await multiply(scalarBytes(values));
        expect(points.byteLength).toBe(values.length * pointBytes);
        const reference = curve[group];
        // Every edge scalar and a sample of the rest: ffjavascript's scalar multiplication is slow.
        const checked = values.map((_, index) => index).filter((index) => index < EDGE_SCALARS.length || index % Math.ceil(count / 40) === 0);
        for (const index of checked) {
          const scalar = le32ToBigint(values[index]!);
          const got = points.subarray(index * pointBytes, (index + 1) * pointBytes);
          // Infinity is all zero bytes, as in a zkey.
          if (scalar === 0n)
            expect(
              got.every((byte) => byte === 0),
              'zero times G',
            ).toBe(true);
          else expect(reference.eq(reference.fromRprLEM(got, 0), reference.timesScalar(reference.g, scalar)), `scalar ${index}`).toBe(true);
        }
      });
    }

    it('no scalars: no points', async () => {
      expect((await multiply(new Uint8Array(0))).byteLength).toBe(0);
    });

    it('refuses a scalar >= r and a length that is not a multiple of 32', async () => {
      await expect(multiply(scalarBytes([bigintToLe32(1n), bigintToLe32(FR_ORDER)]))).rejects.toThrow(/scalar 1 is not a canonical Fr element/);
      expect(() => multiply(new Uint8Array(33))).toThrow(/scalars length 33 is not a multiple of 32/);
    });
  });
}
