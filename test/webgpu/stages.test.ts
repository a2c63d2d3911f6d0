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
import { readG1Affine, readG1Jacobian } from '../../src/prover/backends/webgpu/twins/codec.ts';
import { BN254_R } from '../../src/prover/backends/webgpu/twins/field.ts';
import { accumulateTwin, bucketOffsetsTwin, bucketReduceTwin, decomposeTwin, scatterTwin } from '../../src/prover/backends/webgpu/twins/msm.ts';
import { Rng, edgeScalars, frBytes, testSeed } from './helpers.ts';

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
    const reduced = bucketReduceTwin(G1, buckets, d.plan, d.segs);
    for (const [k, r] of reduced.entries()) expect(G1.eq(readG1Jacobian(d.reduced, k), r), `segment ${k}`).toBe(true);
  });
});
