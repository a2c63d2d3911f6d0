/**
 * Forced device loss / out-of-memory: the wrapped backend logs a warning,
 * retries the operation on the CPU backend (native, else snarkjs) and still
 * returns the right answer.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBn128, type FfCurve } from 'ffjavascript';
import { BackendUnavailableError, InvalidArgumentError } from '../../src/errors/index.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { loadCpuBackend } from '../../src/prover/backends/index.ts';
import { createRawWebgpuBackend, createWebgpuBackend } from '../../src/prover/backends/webgpu/index.ts';
import { Rng, edgeScalars, frBytes, hex, testSeed } from './helpers.ts';

// The first use of each pipeline compiles it; on a cold lavapipe shader cache,
// with other test files compiling at the same time, one compile can take minutes.
vi.setConfig({ testTimeout: 600_000 });

let curve: FfCurve;
const rng = new Rng(testSeed('webgpu-fallback'));
beforeAll(async () => {
  curve = await buildBn128(true);
});
afterAll(async () => {
  await curve?.terminate();
});

function recorder(): { warnings: string[]; logger: { warn(d: Record<string, unknown>, m: string): void } } {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (d, m) => warnings.push(`${m} ${JSON.stringify(d)}`) } };
}

describe('webgpu fallback', () => {
  it('a lost device during an MSM falls back and returns the correct point', async () => {
    const { warnings, logger } = recorder();
    const backend = await createWebgpuBackend({ fault: 'lose-device', logger, loadFallback: loadCpuBackend });
    try {
      const n = 20;
      const bases = new Uint8Array(n * 64);
      for (let i = 0; i < n; i++) bases.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, 1 + rng.int(1000))), i * 64);
      const scalars = frBytes(edgeScalars(rng, n));
      const exp = curve.G1.toAffine(await curve.G1.multiExpAffine(bases, scalars, false));
      expect(hex(await backend.msmG1(bases, scalars))).toBe(hex(exp));
      expect(warnings.length).toBe(1);
      expect(warnings[0]).toMatch(/device lost/);
      expect(backend.describe()).toMatch(/CPU fallback/);
      expect(backend.operationCounts()).toEqual({ primary: 0, fallback: 1 });
    } finally {
      await backend.close();
    }
  });

  it('an allocation failure (OOM) during an NTT falls back and returns the correct vector', async () => {
    const { warnings, logger } = recorder();
    const backend = await createWebgpuBackend({ fault: 'oom', logger, loadFallback: loadCpuBackend });
    try {
      const v = frBytes(Array.from({ length: 16 }, () => rng.bigint(250)));
      expect(hex(await backend.ntt(v, 4, 'forward'))).toBe(hex(await curve.Fr.fft(v)));
      expect(warnings.join('\n')).toMatch(/out of memory/);
      expect(backend.operationCounts().fallback).toBe(1);
    } finally {
      await backend.close();
    }
  });
});

describe('adapter selection', () => {
  it('an adapter filter that matches nothing is BackendUnavailableError naming what was found', async () => {
    const err = await createRawWebgpuBackend({ backend: 'vulkan', adapterMatch: 'no-such-gpu-xyz' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String((err as Error).message)).toMatch(/no adapter matches ZKP_WEBGPU_ADAPTER='no-such-gpu-xyz'; found: /);
  });
  it('a bad ZKP_WEBGPU_FAULT value is rejected by name', () => {
    expect(() => deviceOptionsFromEnv({ ZKP_WEBGPU_FAULT: 'explode' })).toThrow(InvalidArgumentError);
  });
});
