/**
 * Per-pass timing: the label helpers and explicit-layout parsing on the CPU;
 * on the device, one G1 MSM timed both ways (timestamp queries where the
 * adapter records them, and by submitting each pass alone) gives every
 * kernel of the MSM in order, with a time each, and the same point.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv, parseBindingKinds } from '../../src/prover/backends/webgpu/device.ts';
import { ENTRIES_PER_THREAD, REDUCE_SEGMENT, accumulationLevels, windowBits } from '../../src/prover/backends/webgpu/msm.ts';
import { planWindows, reducePlan } from '../../src/prover/backends/webgpu/twins/msm.ts';
import { passEntry, passTotals, type TimingMethod } from '../../src/prover/backends/webgpu/pass-timing.ts';
import { Rng, edgeScalars, frBytes, g1EdgePoints, hex, testSeed } from './helpers.ts';

vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

describe('pass labels and layouts (CPU)', () => {
  it('totals per kernel entry add up the details; an unrecorded pass makes its entry unknown', () => {
    expect(passEntry('msm_accumulate_jac L2')).toBe('msm_accumulate_jac');
    expect(passEntry('ntt_tile')).toBe('ntt_tile');
    const timing = {
      method: 'timestamp' as const,
      passes: [
        { label: 'ntt_stage h=512', ms: 1.5 },
        { label: 'ntt_tile', ms: 2 },
        { label: 'ntt_stage h=1024', ms: 0.25 },
        { label: 'fr_scale', ms: null },
      ],
      total_ms: 3.75,
      untimed_passes: 0,
    };
    expect(passTotals(timing)).toEqual([
      { entry: 'ntt_stage', ms: 1.75, passes: 2 },
      { entry: 'ntt_tile', ms: 2, passes: 1 },
      { entry: 'fr_scale', ms: null, passes: 1 },
    ]);
  });

  it('binding kinds come from the WGSL declarations', () => {
    const kinds = parseBindingKinds(
      '@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(3) var<storage, read> a: array<u32>;\n@group(0)  @binding(12) var<storage, read_write> b: array<atomic<u32>>;',
    );
    expect([...kinds.entries()]).toEqual([
      [0, 'uniform'],
      [3, 'read-only-storage'],
      [12, 'storage'],
    ]);
  });

  it('accumulation levels shrink by K/2 until one slice is left', () => {
    expect(accumulationLevels(32, 32)).toEqual([]);
    expect(accumulationLevels(33, 32)).toEqual([{ count: 4, last: true }]);
    expect(accumulationLevels(5000, 32)).toEqual([
      { count: 314, last: false },
      { count: 20, last: true },
    ]);
  });
});

let curve: FfCurve;
let backend: RawWebgpuBackend;
const rng = new Rng(testSeed('webgpu-pass-timing'));

beforeAll(async () => {
  curve = await buildBn128(true);
  backend = await createRawWebgpuBackend(deviceOptionsFromEnv());
  await backend.warm('G1');
});
afterAll(async () => {
  await backend?.close();
  await curve?.terminate();
});

describe('pass timing on the device', () => {
  const methods: TimingMethod[] = ['submission', 'timestamp'];
  it.each(methods)('a G1 MSM timed by %s lists every pass in order with its time', async (method) => {
    if (method === 'timestamp' && !(await backend.gpu.timestampsWork())) {
      // Not a skip: an adapter without recorded timestamps must choose submission timing.
      expect(await backend.gpu.startPassTiming()).toBe('submission');
      await backend.gpu.stopPassTiming();
      return;
    }
    const n = 300; // 43 windows of 6 bits: 12900 entries, two accumulation levels after the affine one
    const bases = g1EdgePoints(curve, rng, n);
    const scalars = frBytes(edgeScalars(rng, n));
    const want = hex(curve.G1.toAffine(await curve.G1.multiExpAffine(bases, scalars, false)));
    expect(await backend.gpu.startPassTiming(method)).toBe(method);
    const got = await backend.msmG1(bases, scalars);
    const timing = await backend.gpu.stopPassTiming();
    expect(hex(got)).toBe(want);
    expect(timing?.method).toBe(method);
    expect(timing?.passes.map((p) => p.label)).toEqual([
      'msm_decompose',
      'scan_local',
      'scan_blocks',
      'scan_finish',
      'msm_scatter',
      'msm_accumulate_affine',
      ...accumulationLevels(planWindows(windowBits(n)).nw * n, ENTRIES_PER_THREAD).map((_, i) => `msm_accumulate_jac L${i + 1}`),
      ...reducePlan(planWindows(windowBits(n)).nb, REDUCE_SEGMENT).map((_, i) => `msm_reduce_level R${i}`),
      'msm_combine',
    ]);
    for (const p of timing!.passes) expect(p.ms).toBeGreaterThanOrEqual(0);
    expect(timing!.total_ms).toBeGreaterThan(0);
  });
});
