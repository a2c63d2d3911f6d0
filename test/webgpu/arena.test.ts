/**
 * No per-call host work on the device path: MSMs reuse their scratch arena
 * (no buffer created after the first call of a size), upload only their
 * scalars (or nothing when the vector is shared), range-check scalars in
 * the decompose kernel, take h straight from computeH's output vector, and
 * reuse the scalar sort of the MSM before over the same shared scalars (A
 * then B1), never across shares or after a failed MSM.
 * Sizes that are not powers of two and chunks of 64 (77 = 64 + 13 points).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import type { ResidentCircuit } from '../../src/prover/backend.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { BN254_R, Fr } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, edgeScalars, frBytes, g1EdgePoints, hex, testSeed } from './helpers.ts';

// The first use of each pipeline compiles it; on a cold lavapipe shader cache that can take minutes.
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

let curve: FfCurve;
let backend: RawWebgpuBackend;
let circuit: ResidentCircuit;
let bases: Uint8Array;
const rng = new Rng(testSeed('webgpu-arena'));
const n = 77;

beforeAll(async () => {
  curve = await buildBn128(true);
  backend = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), chunk_points_max: 64 });
  await backend.warm('G1');
  bases = g1EdgePoints(curve, rng, 64);
  bases = new Uint8Array([...bases, ...g1EdgePoints(curve, rng, n - 64)]);
  circuit = await backend.loadCircuit({ id: `arena-${rng.nextUint32()}`, A: bases, B1: bases, B2: new Uint8Array(0), C: bases, H: bases });
});
afterAll(async () => {
  await backend?.close();
  await curve?.terminate();
});

const expected = async (scalars: Uint8Array): Promise<string> =>
  hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases.subarray(0, (scalars.byteLength / 32) * 64), scalars, false)));

describe('MSM scratch arenas and shared scalars', () => {
  it('repeated MSMs of one size create no buffers and upload only their scalars', async () => {
    const scalars = frBytes(edgeScalars(rng, n));
    const want = await expected(scalars);
    expect(hex(await circuit.msmG1('A', scalars))).toBe(want); // creates the arenas (64 and 16 points)
    const before = backend.gpu.counters();
    expect(hex(await circuit.msmG1('B1', scalars))).toBe(want);
    const other = frBytes(edgeScalars(rng, n));
    expect(hex(await circuit.msmG1('A', other))).toBe(await expected(other));
    const after = backend.gpu.counters();
    expect(after.buffers_created - before.buffers_created).toBe(0);
    expect(after.bytes_uploaded - before.bytes_uploaded).toBe(2 * n * 32);
    expect(backend.g1Engine.scratchBuffers()).toBeGreaterThan(0);
  });

  it('a shared witness is uploaded once: MSMs over it and over a part of it upload nothing', async () => {
    const witness = frBytes(edgeScalars(rng, n));
    const tail = witness.subarray(5 * 32); // like the C MSM: the witness after its public part
    const [wantAll, wantTail] = [await expected(witness), await expected(tail)];
    expect(hex(await circuit.msmG1('C', tail))).toBe(wantTail); // the 8-point arena of the tail's last chunk
    const release = await circuit.shareScalars!([witness]);
    const before = backend.gpu.counters();
    const reused = (): number => backend.g1Engine.sortsReused;
    const reused0 = reused();
    expect(hex(await circuit.msmG1('A', witness))).toBe(wantAll);
    expect(reused()).toBe(reused0); // a new share: sorted afresh
    expect(hex(await circuit.msmG1('B1', witness))).toBe(wantAll);
    expect(reused()).toBe(reused0 + 2); // the same scalars: both chunks (64 + 13 points) reuse A's sort
    expect(hex(await circuit.msmG1('C', tail))).toBe(wantTail);
    expect(reused()).toBe(reused0 + 2); // other scalars (the tail): sorted
    expect(hex(await circuit.msmG1('A', witness))).toBe(wantAll);
    // C's 64-point chunk replaced A's sort in that arena; the 13-point chunk's arena still holds A's.
    expect(reused()).toBe(reused0 + 3);
    const after = backend.gpu.counters();
    expect(after.bytes_uploaded - before.bytes_uploaded).toBe(0);
    expect(after.buffers_created - before.buffers_created).toBe(0);
    // Only dispatch parameters (the scalar offsets differ from the unshared calls): a few 256-byte slots per chunk.
    expect(after.param_bytes_uploaded - before.param_bytes_uploaded).toBeLessThanOrEqual(4 * 2 * 24 * 256);
    await release();
    // Released: the same vector is uploaded again (and still right).
    const again = backend.gpu.counters();
    expect(hex(await circuit.msmG1('A', witness))).toBe(wantAll);
    expect(backend.gpu.counters().bytes_uploaded - again.bytes_uploaded).toBe(n * 32);
  });

  it('an out-of-range scalar (>= 2^255) fails in the decompose kernel, naming its index; the next MSM is right', async () => {
    const scalars = frBytes(edgeScalars(rng, n));
    const bad = scalars.slice();
    bad[70 * 32 + 31] = 0x80; // in the second chunk
    await expect(circuit.msmG1('A', bad)).rejects.toThrow(/scalar 70 is not a reduced Fr element/);
    bad[3 * 32 + 31] = 0xff;
    await expect(circuit.msmG1('A', bad)).rejects.toThrow(/scalar 3 is not a reduced Fr element/);
    // Shared: the failed MSM's sort is not reused, so the range check runs (and fails) again.
    const release = await circuit.shareScalars!([bad]);
    await expect(circuit.msmG1('A', bad)).rejects.toThrow(/scalar 3 is not a reduced Fr element/);
    await expect(circuit.msmG1('B1', bad)).rejects.toThrow(/scalar 3 is not a reduced Fr element/);
    await release();
    expect(hex(await circuit.msmG1('A', scalars))).toBe(await expected(scalars));
  });

  it('h stays on the device from computeH to the H MSM when shared', async () => {
    const log2n = 6;
    const size = 1 << log2n;
    const mont = (): Uint8Array => frBytes(Array.from({ length: size }, () => Fr.toMont(rng.below(BN254_R))));
    const h = await backend.computeH(mont(), mont(), mont(), log2n);
    const want = await expected(h);
    const release = await circuit.shareScalars!([h]);
    const before = backend.gpu.counters();
    expect(hex(await circuit.msmG1('H', h))).toBe(want);
    expect(backend.gpu.counters().bytes_uploaded - before.bytes_uploaded).toBe(0);
    await release();
    // A later computeH overwrites that vector: an h shared after it is uploaded, not taken from the device.
    const h2 = await backend.computeH(mont(), mont(), mont(), log2n);
    const release2 = await circuit.shareScalars!([h]);
    expect(hex(await circuit.msmG1('H', h))).toBe(want);
    await release2();
    expect(hex(await circuit.msmG1('H', h2))).toBe(await expected(h2));
    // computeH's buffer shared in two proves in a row: new contents, so no sort is reused across them.
    const release3 = await circuit.shareScalars!([h2]);
    expect(hex(await circuit.msmG1('H', h2))).toBe(await expected(h2));
    await release3();
    const h3 = await backend.computeH(mont(), mont(), mont(), log2n);
    const reused0 = backend.g1Engine.sortsReused;
    const release4 = await circuit.shareScalars!([h3]);
    expect(hex(await circuit.msmG1('H', h3))).toBe(await expected(h3));
    expect(backend.g1Engine.sortsReused).toBe(reused0);
    await release4();
  });
});
