/** Fr NTT, coset shift, computeH and batch inverse parity with ffjavascript. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { loadNativeAddon } from '../../src/prover/backends/native/addon.ts';
import { SeededRandom, randomFrVector, referenceCurve, testSeed, type FfCurve } from './fixtures.ts';

let curve: FfCurve;
let backend: ProverBackend;
const rng = new SeededRandom(testSeed('native ntt'));
const SIZES_LOG2 = [1, 2, 3, 5, 8, 10, 12, 13];

beforeAll(async () => {
  curve = await referenceCurve();
  backend = await createNativeBackend();
});
afterAll(async () => {
  await backend.close();
  await curve.terminate();
});

/** snarkjs's coset generator for a domain of 2^log2n. */
function cosetGenerator(log2n: number): Uint8Array {
  const g = log2n === 28 ? curve.Fr.shift : curve.Fr.w[log2n + 1];
  if (!g) throw new Error(`no root for log2n ${log2n}`);
  return g;
}

describe('native Fr NTT matches ffjavascript', () => {
  for (const log2n of SIZES_LOG2) {
    it(`forward and inverse, n = 2^${log2n}`, async () => {
      const values = randomFrVector(rng, 2 ** log2n);
      const forward = await backend.ntt(values, log2n, 'forward');
      expect(forward).toEqual(new Uint8Array(await curve.Fr.fft(values)));
      const inverse = await backend.ntt(values, log2n, 'inverse');
      expect(inverse).toEqual(new Uint8Array(await curve.Fr.ifft(values)));
      expect(await backend.ntt(forward, log2n, 'inverse')).toEqual(values);
    });
  }

  it('n = 1 is the identity both ways', async () => {
    const values = randomFrVector(rng, 1);
    expect(await backend.ntt(values, 0, 'forward')).toEqual(values);
    expect(await backend.ntt(values, 0, 'inverse')).toEqual(values);
  });
});

describe('native coset shift matches Fr.batchApplyKey', () => {
  for (const log2n of [0, 1, 4, 11, 12]) {
    it(`n = 2^${log2n}`, async () => {
      const values = randomFrVector(rng, 2 ** log2n);
      const expected = await curve.Fr.batchApplyKey(values, curve.Fr.e(1), cosetGenerator(log2n));
      expect(await backend.cosetShift(values, log2n)).toEqual(new Uint8Array(expected));
    });
  }
});

describe('native computeH matches the snarkjs pipeline', () => {
  for (const log2n of [2, 7, 12]) {
    it(`n = 2^${log2n}`, async () => {
      const n = 2 ** log2n;
      const inputs = [randomFrVector(rng, n), randomFrVector(rng, n), randomFrVector(rng, n)];
      const onCoset: Uint8Array[] = [];
      for (const v of inputs) {
        const coefficients = await curve.Fr.ifft(v);
        const shifted = await curve.Fr.batchApplyKey(coefficients, curve.Fr.e(1), cosetGenerator(log2n));
        onCoset.push(new Uint8Array(await curve.Fr.fft(shifted)));
      }
      const [a, b, c] = onCoset as [Uint8Array, Uint8Array, Uint8Array];
      const expected = new Uint8Array(n * 32);
      const Fr = curve.Fr;
      for (let i = 0; i < n; i++) {
        const at = (v: Uint8Array): Uint8Array => v.slice(i * 32, i * 32 + 32);
        const ab = Fr.mul(at(a), at(b));
        const minusC = Fr.mul(at(c), Fr.e(-1));
        expected.set(Fr.fromMontgomery(Fr.add(ab, minusC)), i * 32);
      }
      const [ia, ib, ic] = inputs as [Uint8Array, Uint8Array, Uint8Array];
      expect(await backend.computeH(ia, ib, ic, log2n)).toEqual(expected);
    });
  }
});

describe('native Fr batch inverse', () => {
  it('matches Fr.inv elementwise and keeps zero at zero', async () => {
    const n = 37;
    const values = randomFrVector(rng, n);
    values.fill(0, 5 * 32, 6 * 32);
    const got = await loadNativeAddon().frBatchInverse(values);
    for (let i = 0; i < n; i++) {
      const v = values.slice(i * 32, i * 32 + 32);
      const expected = i === 5 ? new Uint8Array(32) : curve.Fr.inv(v);
      expect(got.slice(i * 32, i * 32 + 32)).toEqual(new Uint8Array(expected));
    }
  });
});
