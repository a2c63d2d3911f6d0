/**
 * The backend primitives (plain MSMs, NTTs, coset shift, buildABC, computeH)
 * agree with the snarkjs reference backend on every available backend, at
 * sizes that are not powers of two where the operation allows it. Points come
 * from a real zkey's bases; scalars from a seeded PRNG (seed logged).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FR_BYTES, G1_AFFINE_BYTES, G2_AFFINE_BYTES, type ProverBackend } from '../../src/prover/backend.ts';
import { createSnarkjsBackend } from '../../src/prover/backends/snarkjs/index.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { readZkey, type Groth16Zkey } from '../../src/prover/io/zkey.ts';
import { ALL_BACKENDS_TEST_TIMEOUT_MS, expectWorkOnDevice, openBackendsUnderTest, workCounts } from '../helpers/backends.ts';
import { testCircuit } from '../helpers/circuits.ts';
import { testRandom, type SeededRandom } from '../helpers/random.ts';

let reference: ProverBackend;
let opened: ProverBackend[] = [];
let backends: ProverBackend[] = [];
let zkey: Groth16Zkey;

beforeAll(async () => {
  reference = await createSnarkjsBackend();
  opened = await openBackendsUnderTest();
  backends = opened.filter((backend) => backend.name !== 'snarkjs');
  zkey = await readZkey((await testCircuit('bits')).zkey);
});

afterAll(async () => {
  for (const backend of [reference, ...opened]) await backend.close();
});

function scalars(rng: SeededRandom, count: number, bound = BN254_R): Uint8Array {
  const out = new Uint8Array(count * FR_BYTES);
  for (let index = 0; index < count; index++) {
    let value = rng.below(bound);
    for (let byte = 0; byte < FR_BYTES; byte++, value >>= 8n) out[index * FR_BYTES + byte] = Number(value & 0xffn);
  }
  return out;
}

/** Random Montgomery-form vectors: any reduced value is some element's Montgomery form. */
const montgomeryVector = scalars;

describe('backend primitives equal the snarkjs reference', () => {
  it('backends under test include native', () => {
    expect(backends.map((backend) => backend.name)).toContain('native');
  });

  it(
    'plain MSM G1 and G2 (non-power-of-two sizes, dense and 0/1 scalars)',
    async () => {
      const rng = testRandom('ops msm');
      const count = 500;
      const g2Count = 130;
      const g1 = zkey.bases.B1.subarray(0, count * G1_AFFINE_BYTES);
      const g2 = zkey.bases.B2.subarray(0, g2Count * G2_AFFINE_BYTES);
      const dense = scalars(rng, count);
      const bits = scalars(rng, count, 2n);
      const g2Scalars = scalars(rng, g2Count);
      const expected = [await reference.msmG1(g1, dense), await reference.msmG1(g1, bits), await reference.msmG2(g2, g2Scalars)];
      for (const backend of backends) {
        const before = workCounts(backend);
        expect(await backend.msmG1(g1, dense), `${backend.name} G1 dense`).toEqual(expected[0]);
        expect(await backend.msmG1(g1, bits), `${backend.name} G1 bits`).toEqual(expected[1]);
        expect(await backend.msmG2(g2, g2Scalars), `${backend.name} G2`).toEqual(expected[2]);
        expectWorkOnDevice(backend, before, 'msm');
      }
    },
    ALL_BACKENDS_TEST_TIMEOUT_MS,
  );

  it(
    'NTT forward/inverse, coset shift, computeH',
    async () => {
      const rng = testRandom('ops ntt');
      const log2n = 10;
      const values = montgomeryVector(rng, 1 << log2n);
      const forward = await reference.ntt(values, log2n, 'forward');
      const inverse = await reference.ntt(values, log2n, 'inverse');
      const shifted = await reference.cosetShift(values, log2n);
      expect(await reference.ntt(forward, log2n, 'inverse')).toEqual(values);
      const [a, b, c] = [montgomeryVector(rng, 1 << log2n), montgomeryVector(rng, 1 << log2n), montgomeryVector(rng, 1 << log2n)];
      const h = await reference.computeH(a, b, c, log2n);
      for (const backend of backends) {
        const before = workCounts(backend);
        expect(await backend.ntt(values, log2n, 'forward'), `${backend.name} forward`).toEqual(forward);
        expect(await backend.ntt(values, log2n, 'inverse'), `${backend.name} inverse`).toEqual(inverse);
        expect(await backend.cosetShift(values, log2n), `${backend.name} coset`).toEqual(shifted);
        expect(await backend.computeH(a, b, c, log2n), `${backend.name} computeH`).toEqual(h);
        expectWorkOnDevice(backend, before, 'ntt');
      }
    },
    ALL_BACKENDS_TEST_TIMEOUT_MS,
  );

  it(
    'buildABC from a real zkey and a random witness',
    async () => {
      const rng = testRandom('ops abc');
      const witness = scalars(rng, zkey.nVars);
      const expected = await reference.buildABC(zkey.coeffs, witness, zkey.domainSize);
      for (const backend of backends) {
        const before = workCounts(backend);
        const got = await backend.buildABC(zkey.coeffs, witness, zkey.domainSize);
        expect(got.a, `${backend.name} A`).toEqual(expected.a);
        expect(got.b, `${backend.name} B`).toEqual(expected.b);
        expect(got.c, `${backend.name} C`).toEqual(expected.c);
        expectWorkOnDevice(backend, before, 'buildABC');
      }
    },
    ALL_BACKENDS_TEST_TIMEOUT_MS,
  );
});
