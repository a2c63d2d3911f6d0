/**
 * The radix-4 NTT layout on a real adapter (lavapipe in CI): after the
 * 512-element workgroup tile, the global stages run two per pass
 * (ntt_radix4) and an odd one last as a radix-2 pass (ntt_stage). Forward,
 * inverse and computeH against the host twins at sizes covering the tile
 * alone, one odd and even counts of global stages; the pass labels recorded
 * by pass timing must follow the radix-4 plan, so a return to one pass per
 * stage fails here.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { nttGlobalPasses, nttPassLabels } from '../../src/prover/backends/webgpu/ntt.ts';
import { BN254_R, Fr } from '../../src/prover/backends/webgpu/twins/field.ts';
import { bitReverseTwin, cosetShiftTwin, joinTwin, nttRadix4Twin, nttStageTwin, nttTwin, rootOfUnity } from '../../src/prover/backends/webgpu/twins/ntt.ts';
import { Rng, edgeScalars, frBytes, hex, testSeed } from './helpers.ts';

// First use of the NTT pipelines compiles them; lavapipe on a loaded 2-core machine can take minutes.
vi.setConfig({ testTimeout: 600_000 });

const rng = new Rng(testSeed('webgpu-ntt-radix'));
const mont = (values: readonly bigint[]): Uint8Array => frBytes(values.map((v) => Fr.toMont(v)));

describe('radix-4 pass plan (host)', () => {
  it('halves the global passes: ceil((log2n - 9) / 2) after the tile, an odd stage last as radix-2', () => {
    expect(nttGlobalPasses(9)).toEqual([]);
    expect(nttGlobalPasses(10)).toEqual([{ entry: 'ntt_stage', half: 512 }]);
    expect(nttGlobalPasses(11)).toEqual([{ entry: 'ntt_radix4', half: 512 }]);
    expect(nttGlobalPasses(12)).toEqual([
      { entry: 'ntt_radix4', half: 512 },
      { entry: 'ntt_stage', half: 2048 },
    ]);
    expect(nttGlobalPasses(16).length).toBe(4); // radix-2: 7
    expect(nttGlobalPasses(20).length).toBe(6); // radix-2: 11
    for (let log2n = 0; log2n <= 27; log2n++) {
      const stages = Math.max(0, log2n - 9);
      const passes = nttGlobalPasses(log2n);
      expect(passes.length).toBe(Math.ceil(stages / 2));
      expect(passes.filter((p) => p.entry === 'ntt_stage').length).toBe(stages % 2);
      // Spans covered, in order: every stage from 512 to n/2 exactly once.
      const spans = passes.flatMap((p) => (p.entry === 'ntt_radix4' ? [p.half, 2 * p.half] : [p.half]));
      expect(spans).toEqual(Array.from({ length: stages }, (_, i) => 512 * 2 ** i));
    }
  });

  it('the radix-4 twin equals two radix-2 stages', () => {
    for (const log2n of [2, 5, 8]) {
      const n = 1 << log2n;
      const w = rootOfUnity(log2n);
      const values = bitReverseTwin(edgeScalars(rng, n));
      for (let half = 1; 4 * half <= n; half *= 2) {
        const two = [...values];
        nttStageTwin(two, half, w);
        nttStageTwin(two, 2 * half, w);
        const four = [...values];
        nttRadix4Twin(four, half, w);
        expect(four).toEqual(two);
      }
    }
  });
});

let backend: RawWebgpuBackend;

beforeAll(async () => {
  backend = await createRawWebgpuBackend(deviceOptionsFromEnv());
  console.log(backend.describe());
});
afterAll(async () => {
  await backend?.close();
});

describe('radix-4 NTT on the device', () => {
  // 2^9: the tile alone; 2^10: one radix-2 pass; 2^11: one radix-4; 2^12: radix-4 + radix-2 (odd); 2^13: two radix-4 (even).
  it.each([9, 10, 11, 12, 13])('log2n=%i: forward and inverse equal the twin, with the planned passes', async (log2n) => {
    const n = 1 << log2n;
    const values = edgeScalars(rng, n); // 0, 1, r-1, ... then random and repeated edges
    for (const direction of ['forward', 'inverse'] as const) {
      await backend.gpu.startPassTiming();
      const got = await backend.ntt(mont(values), log2n, direction);
      const timing = await backend.gpu.stopPassTiming();
      expect(hex(got)).toBe(hex(mont(nttTwin(values, direction))));
      // fr_powers builds the twiddle table on a size's first use; the transform's own passes follow.
      const labels = timing!.passes.map((p) => p.label).filter((l) => l !== 'fr_powers');
      expect(labels).toEqual(nttPassLabels(log2n, direction));
      expect(labels.filter((l) => l.startsWith('ntt_radix4 ') || l.startsWith('ntt_stage ')).length).toBe(Math.ceil((log2n - 9) / 2));
    }
  });

  it('edge vectors at log2n=12: all r-1, all 1, a single 1 at the last index', async () => {
    const log2n = 12;
    const n = 1 << log2n;
    const vectors = [new Array<bigint>(n).fill(BN254_R - 1n), new Array<bigint>(n).fill(1n), Array.from({ length: n }, (_, i) => (i === n - 1 ? 1n : 0n))];
    for (const values of vectors)
      for (const direction of ['forward', 'inverse'] as const)
        expect(hex(await backend.ntt(mont(values), log2n, direction))).toBe(hex(mont(nttTwin(values, direction))));
  });

  it('computeH at log2n=11 (radix-4 passes in iNTT and NTT) equals the twins', async () => {
    const log2n = 11;
    const n = 1 << log2n;
    const [a, b, c] = [edgeScalars(rng, n), edgeScalars(rng, n), edgeScalars(rng, n)];
    const step = (x: bigint[]): bigint[] => nttTwin(cosetShiftTwin(nttTwin(x, 'inverse')), 'forward');
    const want = joinTwin(step(a), step(b), step(c));
    expect(hex(await backend.computeH(mont(a), mont(b), mont(c), log2n))).toBe(hex(frBytes(want)));
  });
});
