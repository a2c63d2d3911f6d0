/**
 * MSM stages on the device against their CPU twins, on one chunk's
 * intermediate buffers: decomposition digits, counting-sort offsets, the
 * sorted entries (as a multiset per bucket: the device's order inside a
 * bucket is not fixed), the accumulated buckets and the reduced segments.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { ENTRIES_PER_THREAD, type MsmStageDump } from '../../src/prover/backends/webgpu/msm.ts';
import { G1 } from '../../src/prover/backends/webgpu/twins/curve.ts';
import { readG1Affine, readG1Jacobian, writeG1Affine } from '../../src/prover/backends/webgpu/twins/codec.ts';
import { BN254_R } from '../../src/prover/backends/webgpu/twins/field.ts';
import {
  accumulateTwin,
  bucketOffsetsTwin,
  combineTwin,
  decomposeTwin,
  naiveMsm,
  reduceTwin,
  scatterTwin,
  windowSumsDirect,
} from '../../src/prover/backends/webgpu/twins/msm.ts';
import { Rng, edgeScalars, frBytes, hex, testSeed } from './helpers.ts';

// The first use of each pipeline compiles it; on a cold lavapipe shader cache,
// with other test files compiling at the same time, one compile can take minutes.
vi.setConfig({ testTimeout: 600_000 });

let curve: FfCurve;
let backend: RawWebgpuBackend;
const rng = new Rng(testSeed('webgpu-stages'));

beforeAll(async () => {
  curve = await buildBn128(true);
  backend = await createRawWebgpuBackend(deviceOptionsFromEnv());
  await backend.warm('G1'); // compile in the hook (cold lavapipe caches are slow)
});
afterAll(async () => {
  await backend?.close();
  await curve?.terminate();
});

describe('MSM stages, device vs twin', () => {
  it('decompose, sort, accumulate, reduce (n=150, heavy buckets)', async () => {
    const n = 150;
    const bases = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++) if (i !== 9) bases.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, i % 4 === 0 ? 5 : 1 + rng.int(1 << 20))), i * 64);
    const values = edgeScalars(rng, n).map((s, i) => (i % 5 === 0 ? 1n : i % 7 === 0 ? BN254_R - 1n : s));
    const dumps: MsmStageDump[] = [];
    backend.g1Engine.inspect = (d) => dumps.push(d);
    try {
      await backend.msmG1(bases, frBytes(values));
    } finally {
      backend.g1Engine.inspect = null;
    }
    expect(dumps.length).toBe(1);
    const d = dumps[0]!;
    const digits = decomposeTwin(values, d.plan);
    expect([...d.digits]).toEqual([...digits]);
    const offsets = bucketOffsetsTwin(digits, n, d.plan);
    expect([...d.offsets]).toEqual([...offsets]);
    const sorted = scatterTwin(digits, n, d.plan, offsets);
    expect([...d.keys]).toEqual([...sorted.keys]);
    const bucketSets = (keys: Uint32Array, vals: Uint32Array): string[] => [...vals].map((v, i) => `${keys[i]}:${v}`).sort();
    expect(bucketSets(d.keys, d.vals)).toEqual(bucketSets(sorted.keys, sorted.vals));
    const aff = Array.from({ length: n }, (_, i) => readG1Affine(bases, i));
    const total = d.plan.nw * d.plan.nb;
    const buckets = accumulateTwin(G1, sorted.keys, sorted.vals, aff, total, ENTRIES_PER_THREAD);
    for (let k = 0; k < total; k++) expect(G1.eq(readG1Jacobian(d.buckets, k), buckets[k]!), `bucket ${k}`).toBe(true);
    // The device's reduction levels from its own buckets, against the twin levels and the direct window sums.
    const devBuckets = Array.from({ length: total }, (_, k) => readG1Jacobian(d.buckets, k));
    const final = reduceTwin(G1, devBuckets, d.plan, d.reduce);
    const direct = windowSumsDirect(G1, devBuckets, d.plan);
    for (let w = 0; w < d.plan.nw; w++) {
      expect(G1.eq(readG1Jacobian(d.final, w), final.t[w]!), `window ${w} t`).toBe(true);
      expect(G1.eq(readG1Jacobian(d.final, d.plan.nw + w), final.a![w]!), `window ${w} a`).toBe(true);
      expect(G1.eq(G1.add(final.t[w]!, final.a![w]!), direct[w]!), `window ${w} sum`).toBe(true);
    }
    // The combine and the conversion to affine on the device.
    const total1 = combineTwin(G1, final, d.plan);
    expect(G1.eq(readG1Jacobian(d.total, 0), total1)).toBe(true);
    expect(hex(d.affine)).toBe(hex(writeG1Affine(G1.toAffine(total1))));
    expect(G1.eq(total1, naiveMsm(G1, aff, values))).toBe(true);
  });

  it('chunks add on the device (n=77, chunks of 32: three levels of totals; all-equal and r-1 scalars)', async () => {
    const n = 77;
    const bases = new Uint8Array(n * 64);
    for (let i = 0; i < n; i++) if (i % 19 !== 4) bases.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, 1 + rng.int(1 << 20))), i * 64);
    const aff = Array.from({ length: n }, (_, i) => readG1Affine(bases, i));
    const chunked = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), chunk_points_max: 32 });
    try {
      for (const values of [Array.from({ length: n }, () => BN254_R - 1n), Array.from({ length: n }, () => 7n), edgeScalars(rng, n)]) {
        const dumps: MsmStageDump[] = [];
        chunked.g1Engine.inspect = (dump) => dumps.push(dump);
        const out = await chunked.msmG1(bases, frBytes(values));
        expect(dumps.length).toBe(3);
        let running = null as ReturnType<typeof G1.identity> | null;
        for (const [i, dump] of dumps.entries()) {
          const first = i * 32;
          const part = values.slice(first, first + 32);
          const partSum = naiveMsm(G1, aff.slice(first, first + 32), part);
          running = running === null ? partSum : G1.add(running, partSum);
          expect(G1.eq(readG1Jacobian(dump.total, 0), running), `total after chunk ${i}`).toBe(true);
          expect(hex(dump.affine)).toBe(hex(writeG1Affine(G1.toAffine(running))));
        }
        expect(hex(out)).toBe(hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases, frBytes(values), false))));
      }
    } finally {
      await chunked.close();
    }
  });
});
