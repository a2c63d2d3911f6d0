/**
 * The device path on a real adapter (lavapipe in CI). Fails, never skips,
 * when no adapter is found. Field ops through a test kernel against the
 * twin; whole MSMs (G1, G2), NTT, coset, computeH against ffjavascript.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { buildFieldTestShader, type FieldName } from '../../src/prover/backends/webgpu/shader-builder.ts';
import { BN254_P, BN254_R, Fq, Fr, type PrimeField, bytesToBigint } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, edgeScalars, frBytes, g1EdgePoints, g2EdgePoints, hex, testSeed } from './helpers.ts';

// The first use of each pipeline compiles it, and llvmpipe JITs some variants
// only at the first dispatch (after warm()); on a cold cache, with other test
// files compiling at the same time on 2 cores, one first dispatch took
// 7-10 minutes under load (G2 MSM, NTT), hence 20 minutes per test.
vi.setConfig({ testTimeout: 1_200_000 });

let curve: FfCurve;
let backend: RawWebgpuBackend;
const rng = new Rng(testSeed('webgpu-device'));

beforeAll(async () => {
  curve = await buildBn128(true);
  // No adapter → BackendUnavailableError → this suite fails (CI must run shaders).
  backend = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), chunk_points_max: 64 });
  console.log(backend.describe());
  // Compile here (hook timeout 600 s): a cold driver cache takes minutes on lavapipe.
  await backend.warm('G1');
  await backend.warm('G2');
});
afterAll(async () => {
  await backend?.close();
  await curve?.terminate();
});

async function runFieldKernel(field: FieldName, pairs: Array<[bigint, bigint]>): Promise<bigint[][]> {
  const gpu = backend.gpu;
  const pipeline = await gpu.pipeline(`field-test-${field}`, () => buildFieldTestShader(field), 'field_ops');
  const input = frBytes(pairs.flat());
  const inBuf = await gpu.uploadBuffer('field-in', input);
  const outBuf = await gpu.storageBuffer('field-out', pairs.length * 6 * 32);
  const enc = gpu.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    gpu.bindGroup(pipeline, [
      [0, inBuf],
      [1, outBuf],
    ]),
  );
  pass.dispatchWorkgroups(Math.ceil(pairs.length / 64));
  pass.end();
  gpu.device.queue.submit([enc.finish()]);
  const out = await gpu.read(outBuf, pairs.length * 6 * 32);
  inBuf.destroy();
  outBuf.destroy();
  return pairs.map((_, i) => [0, 1, 2, 3, 4, 5].map((k) => bytesToBigint(out, (i * 6 + k) * 32)));
}

describe.each([
  ['fq', Fq, BN254_P],
  ['fr', Fr, BN254_R],
] as const)('field %s on the device', (name, F: PrimeField, p) => {
  it('add, sub, mul, to/from Montgomery, inverse equal the twin on edge and random values', async () => {
    const edges = [0n, 1n, p - 1n, p - 2n, 2n, (p - 1n) / 2n];
    const pairs: Array<[bigint, bigint]> = [];
    for (const a of edges) for (const b of edges) pairs.push([a, b]);
    for (let i = 0; i < 40; i++) pairs.push([rng.below(p), rng.below(p)]);
    const got = await runFieldKernel(name, pairs);
    pairs.forEach(([a, b], i) => {
      // inv works on Montgomery forms: a stands for a/R, so the result is R/(a/R) = R^2/a (0 for 0).
      const inv = a === 0n ? 0n : F.toMont(F.inv(F.fromMont(a)));
      expect(got[i]).toEqual([F.add(a, b), F.sub(a, b), F.montMul(a, b), F.fromMont(a), F.toMont(a), inv]);
    });
  });
});

const g1Points = (n: number): Uint8Array => g1EdgePoints(curve, rng, n);

describe('MSM on the device', () => {
  it.each([1, 7, 100, 300])('G1 n=%i (edge scalars, infinity, repeated points, chunks of 64) equals ffjavascript', async (n) => {
    const bases = g1Points(n);
    const scalars = frBytes(edgeScalars(rng, n));
    const exp = curve.G1.toAffine(await curve.G1.multiExpAffine(bases, scalars, false));
    expect(hex(await backend.msmG1(bases, scalars))).toBe(hex(exp));
  });

  it('G1 with many equal scalars (one heavy bucket) and all zeros', async () => {
    const n = 260;
    const bases = g1Points(n);
    const ones = frBytes(Array.from({ length: n }, (_, i) => (i % 10 === 0 ? rng.below(BN254_R) : 1n)));
    expect(hex(await backend.msmG1(bases, ones))).toBe(hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases, ones, false))));
    const zeros = new Uint8Array(n * 32);
    expect(hex(await backend.msmG1(bases, zeros))).toBe(hex(new Uint8Array(64)));
  });

  it('resident circuit: prefix scalars over uploaded bases', async () => {
    const n = 90;
    const A = g1Points(n);
    const circuit = await backend.loadCircuit({ id: `t-${rng.nextUint32()}`, A, B1: A, B2: new Uint8Array(0), C: A.subarray(0, 64 * 40), H: A });
    const scalars = frBytes(edgeScalars(rng, 70));
    const exp = curve.G1.toAffine(await curve.G1.multiExpAffine(A.subarray(0, 70 * 64), scalars, false));
    expect(hex(await circuit.msmG1('A', scalars))).toBe(hex(exp));
    await circuit.release();
  });

  it('G2 n=37 equals ffjavascript', async () => {
    const n = 37;
    const bases = g2EdgePoints(curve, rng, n);
    const scalars = frBytes(edgeScalars(rng, n));
    const exp = curve.G2.toAffine(await curve.G2.multiExpAffine(bases, scalars, false));
    expect(hex(await backend.msmG2(bases, scalars))).toBe(hex(exp));
  });

  it('G2 n=70 in two chunks (added on the device), all scalars r-1, equals ffjavascript', async () => {
    const n = 70;
    const bases = g2EdgePoints(curve, rng, n);
    const scalars = frBytes(Array.from({ length: n }, () => BN254_R - 1n));
    const exp = curve.G2.toAffine(await curve.G2.multiExpAffine(bases, scalars, false));
    expect(hex(await backend.msmG2(bases, scalars))).toBe(hex(exp));
  });
});

describe('NTT on the device', () => {
  const randomMont = (n: number): Uint8Array =>
    frBytes(Array.from({ length: n }, (_, i) => (i === 0 ? 0n : i === 1 ? Fr.toMont(1n) : i === 2 ? Fr.toMont(BN254_R - 1n) : rng.below(BN254_R))));
  it.each([0, 1, 4, 9, 10, 12])('forward, inverse, coset at log2n=%i equal ffjavascript', async (log2n) => {
    const v = randomMont(1 << log2n);
    expect(hex(await backend.ntt(v, log2n, 'forward'))).toBe(hex(await curve.Fr.fft(v)));
    expect(hex(await backend.ntt(v, log2n, 'inverse'))).toBe(hex(await curve.Fr.ifft(v)));
    expect(hex(await backend.cosetShift(v, log2n))).toBe(hex(await curve.Fr.batchApplyKey(v, curve.Fr.e(1), curve.Fr.w[log2n + 1]!)));
  });

  it('computeH (iNTT, coset, NTT, a*b-c from Montgomery) equals ffjavascript', async () => {
    const log2n = 6;
    const n = 1 << log2n;
    const [a, b, c] = [randomMont(n), randomMont(n), randomMont(n)];
    const step = async (x: Uint8Array): Promise<Uint8Array> =>
      curve.Fr.fft(await curve.Fr.batchApplyKey(await curve.Fr.ifft(x), curve.Fr.e(1), curve.Fr.w[log2n + 1]!));
    const [ea, eb, ec] = [await step(a), await step(b), await step(c)];
    const exp = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) {
      const s = (x: Uint8Array): Uint8Array => x.subarray(i * 32, i * 32 + 32);
      exp.set(curve.Fr.fromMontgomery(curve.Fr.sub(curve.Fr.mul(s(ea), s(eb)), s(ec))), i * 32);
    }
    expect(hex(await backend.computeH(a, b, c, log2n))).toBe(hex(exp));
  });

  it('rejects a vector of the wrong length', async () => {
    await expect(backend.ntt(new Uint8Array(3 * 32), 2, 'forward')).rejects.toThrow(/expected 4 Fr elements/);
  });
});
