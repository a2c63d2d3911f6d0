/** G1 and G2 MSM parity with ffjavascript's multiExpAffine, including edge scalars and bases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G1_AFFINE_BYTES, G2_AFFINE_BYTES, type ProverBackend } from '../../src/prover/backend.ts';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { createNativeBackend } from '../../src/prover/backends/native/index.ts';
import { FR_ORDER, SeededRandom, bigintToLe32, randomFrVector, randomPoints, referenceCurve, testSeed, type FfCurve, type FfGroup } from './fixtures.ts';

let curve: FfCurve;
let backend: ProverBackend;
const rng = new SeededRandom(testSeed('native msm'));

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

/** Random inputs with the edge cases folded in where n allows: scalars 0, 1, r-1, a repeated point, an infinity base. */
function edgyInputs(group: FfGroup, n: number, pointBytes: number): { bases: Uint8Array; scalars: Uint8Array } {
  const bases = randomPoints(group, rng, n, pointBytes);
  const scalars = randomFrVector(rng, n);
  const setScalar = (i: number, v: bigint): void => {
    if (i < n) scalars.set(bigintToLe32(v), i * 32);
  };
  setScalar(0, 0n);
  setScalar(1, 1n);
  setScalar(2, FR_ORDER - 1n);
  if (n > 4) bases.copyWithin(4 * pointBytes, 3 * pointBytes, 4 * pointBytes); // point 4 repeats point 3
  if (n > 5) bases.fill(0, 5 * pointBytes, 6 * pointBytes); // point 5 is infinity
  if (n > 7) bases.copyWithin(7 * pointBytes, 6 * pointBytes, 7 * pointBytes); // repeated point with scalar 1 twice
  setScalar(6, 1n);
  setScalar(7, 1n);
  return { bases, scalars };
}

describe('native msmG1 matches ffjavascript', () => {
  // 4100 points use the batch-affine bucket path (>= 256 buckets); smaller ones the XYZZ path.
  for (const n of [0, 1, 2, 3, 7, 100, 1000, 1025, 4100]) {
    it(`n = ${n}`, async () => {
      const { bases, scalars } = edgyInputs(curve.G1, n, G1_AFFINE_BYTES);
      expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
    });
  }

  for (const n of [300, 4100]) {
    it(`one point repeated ${n} times with random scalars (bucket collisions, doublings)`, async () => {
      const one = randomPoints(curve.G1, rng, 1, G1_AFFINE_BYTES);
      const bases = new Uint8Array(n * G1_AFFINE_BYTES);
      for (let i = 0; i < n; i++) bases.set(one, i * G1_AFFINE_BYTES);
      const scalars = randomFrVector(rng, n);
      expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
    });
  }

  it('4100 points where P and -P meet in the same buckets (cancellation), plus one stray', async () => {
    const n = 4100;
    const half = randomPoints(curve.G1, rng, n / 2, G1_AFFINE_BYTES);
    const bases = new Uint8Array(n * G1_AFFINE_BYTES);
    const scalars = new Uint8Array(n * 32);
    const shared = randomFrVector(rng, n / 2);
    for (let i = 0; i < n / 2; i++) {
      const p = half.subarray(i * G1_AFFINE_BYTES, (i + 1) * G1_AFFINE_BYTES);
      bases.set(p, 2 * i * G1_AFFINE_BYTES);
      bases.set(curve.G1.toAffine(curve.G1.neg(p)), (2 * i + 1) * G1_AFFINE_BYTES);
      scalars.set(shared.subarray(i * 32, i * 32 + 32), 2 * i * 32);
      scalars.set(shared.subarray(i * 32, i * 32 + 32), (2 * i + 1) * 32);
    }
    scalars.set(bigintToLe32(12345n), (n - 1) * 32); // breaks the last pair
    expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
  });

  it('scalars at the edges of the GLV split (lambda, r - lambda, powers of two)', async () => {
    const lambda = 0xb3c4d79d41a917585bfc41088d8daaa78b17ea66b99c90ddn;
    const special = [
      lambda,
      lambda + 1n,
      lambda - 1n,
      FR_ORDER - lambda,
      (lambda * lambda) % FR_ORDER,
      2n ** 126n,
      2n ** 127n,
      2n ** 128n,
      2n ** 253n,
      (FR_ORDER - 1n) / 2n,
      2n,
      3n,
    ];
    const n = special.length;
    const bases = randomPoints(curve.G1, rng, n, G1_AFFINE_BYTES);
    const scalars = new Uint8Array(n * 32);
    for (const [i, k] of special.entries()) scalars.set(bigintToLe32(k), i * 32);
    expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
    for (let i = 0; i < n; i++) {
      const one = bases.subarray(i * G1_AFFINE_BYTES, (i + 1) * G1_AFFINE_BYTES);
      const s = scalars.subarray(i * 32, (i + 1) * 32);
      expect(await backend.msmG1(one, s)).toEqual(await reference(curve.G1, one, s));
    }
  });

  it('P and -P cancel to infinity (all-zero bytes)', async () => {
    const p = randomPoints(curve.G1, rng, 1, G1_AFFINE_BYTES);
    const bases = new Uint8Array(2 * G1_AFFINE_BYTES);
    bases.set(p, 0);
    bases.set(p, G1_AFFINE_BYTES);
    const scalars = new Uint8Array(64);
    scalars.set(bigintToLe32(5n), 0);
    scalars.set(bigintToLe32(FR_ORDER - 5n), 32);
    expect(await backend.msmG1(bases, scalars)).toEqual(new Uint8Array(G1_AFFINE_BYTES));
  });

  it('Groth16-like witness: mostly 0 and 1', async () => {
    const n = 2000;
    const bases = randomPoints(curve.G1, rng, n, G1_AFFINE_BYTES);
    const scalars = randomFrVector(rng, n);
    for (let i = 0; i < n; i++) {
      const kind = rng.int(10);
      if (kind < 4) scalars.fill(0, i * 32, i * 32 + 32);
      else if (kind < 8) scalars.set(bigintToLe32(1n), i * 32);
    }
    expect(await backend.msmG1(bases, scalars)).toEqual(await reference(curve.G1, bases, scalars));
  });

  it('rejects a scalar >= r, naming its index', async () => {
    const bases = randomPoints(curve.G1, rng, 3, G1_AFFINE_BYTES);
    const scalars = randomFrVector(rng, 3);
    scalars.set(bigintToLe32(FR_ORDER), 64);
    await expect(backend.msmG1(bases, scalars)).rejects.toThrow(/scalar 2 .*< r/);
    await expect(backend.msmG1(bases, scalars)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('native msmG2 matches ffjavascript', () => {
  for (const n of [0, 1, 2, 3, 7, 100, 1025, 4100]) {
    it(`n = ${n}`, async () => {
      const { bases, scalars } = edgyInputs(curve.G2, n, G2_AFFINE_BYTES);
      expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
    });
  }

  // G2's batch-affine path runs from 64 buckets (the top window of c = 13 has 128), in batches of at most 1024,
  // and keeps deferred points as (index, sign): collisions, deferrals and the overflow bucket all on G2.
  for (const n of [300, 4100]) {
    it(`one point repeated ${n} times with random scalars (bucket collisions, doublings)`, async () => {
      const one = randomPoints(curve.G2, rng, 1, G2_AFFINE_BYTES);
      const bases = new Uint8Array(n * G2_AFFINE_BYTES);
      for (let i = 0; i < n; i++) bases.set(one, i * G2_AFFINE_BYTES);
      const scalars = randomFrVector(rng, n);
      expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
    });
  }

  it('4100 points where P and -P meet in the same buckets (cancellation), plus one stray', async () => {
    const n = 4100;
    const half = randomPoints(curve.G2, rng, n / 2, G2_AFFINE_BYTES);
    const bases = new Uint8Array(n * G2_AFFINE_BYTES);
    const scalars = new Uint8Array(n * 32);
    const shared = randomFrVector(rng, n / 2);
    for (let i = 0; i < n / 2; i++) {
      const p = half.subarray(i * G2_AFFINE_BYTES, (i + 1) * G2_AFFINE_BYTES);
      bases.set(p, 2 * i * G2_AFFINE_BYTES);
      bases.set(curve.G2.toAffine(curve.G2.neg(p)), (2 * i + 1) * G2_AFFINE_BYTES);
      scalars.set(shared.subarray(i * 32, i * 32 + 32), 2 * i * 32);
      scalars.set(shared.subarray(i * 32, i * 32 + 32), (2 * i + 1) * 32);
    }
    scalars.set(bigintToLe32(12345n), (n - 1) * 32); // breaks the last pair
    expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
  });

  it('5003 points: scalars 0, 1, r - 1, r - 2, 2^253, repeated values and repeated points (not a power of two)', async () => {
    const n = 5003;
    const distinct = randomPoints(curve.G2, rng, 1000, G2_AFFINE_BYTES);
    const bases = new Uint8Array(n * G2_AFFINE_BYTES);
    for (let i = 0; i < n; i++) bases.set(distinct.subarray((i % 1000) * G2_AFFINE_BYTES, ((i % 1000) + 1) * G2_AFFINE_BYTES), i * G2_AFFINE_BYTES);
    const scalars = randomFrVector(rng, n);
    const repeated = randomFrVector(rng, 1);
    const edges = [0n, 1n, FR_ORDER - 1n, FR_ORDER - 2n, 2n ** 253n];
    for (let i = 0; i < n; i++) {
      const kind = rng.int(10);
      if (kind < 3) scalars.set(bigintToLe32(edges[rng.int(edges.length)]!), i * 32);
      else if (kind < 5) scalars.set(repeated, i * 32);
    }
    expect(await backend.msmG2(bases, scalars)).toEqual(await reference(curve.G2, bases, scalars));
  });
});

describe('resident circuits', () => {
  it('keeps bases, caches by id, and runs prefix MSMs', async () => {
    const nVars = 50;
    const A = randomPoints(curve.G1, rng, nVars, G1_AFFINE_BYTES);
    const B2 = randomPoints(curve.G2, rng, nVars, G2_AFFINE_BYTES);
    const H = randomPoints(curve.G1, rng, 64, G1_AFFINE_BYTES);
    const bases = { id: 'test-circuit', A, B1: A, B2, C: A.subarray(0, 40 * G1_AFFINE_BYTES), H };
    const circuit = await backend.loadCircuit(bases);
    expect(await backend.loadCircuit(bases)).toBe(circuit);
    const scalars = randomFrVector(rng, nVars);
    expect(await circuit.msmG1('A', scalars)).toEqual(await reference(curve.G1, A, scalars));
    expect(await circuit.msmG2('B2', scalars)).toEqual(await reference(curve.G2, B2, scalars));
    const prefix = scalars.subarray(0, 30 * 32);
    expect(await circuit.msmG1('C', prefix)).toEqual(await reference(curve.G1, A.subarray(0, 30 * G1_AFFINE_BYTES), prefix));
    await expect(circuit.msmG1('H', randomFrVector(rng, 65))).rejects.toBeInstanceOf(InvalidArgumentError);
    await circuit.release();
    await expect(circuit.msmG1('A', scalars)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await backend.loadCircuit(bases)).not.toBe(circuit);
  });
});
