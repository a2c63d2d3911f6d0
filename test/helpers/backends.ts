/**
 * The backends a parity test must cover: every registered backend that opens
 * here. snarkjs and native are required everywhere (native is the CPU
 * fallback the project ships), so failing to open them fails the test;
 * webgpu is covered whenever it opens (a GPU or lavapipe is present).
 */
import { expect } from 'vitest';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { backendNames } from '../../src/prover/backends/index.ts';
import { isFallbackBackend, type OperationCounts } from '../../src/prover/backends/webgpu/fallback.ts';
import { openBackend } from '../../src/prover/select-backend.ts';

export const REQUIRED_BACKENDS = ['snarkjs', 'native'] as const;

export async function openBackendsUnderTest(): Promise<ProverBackend[]> {
  const opened: ProverBackend[] = [];
  for (const name of backendNames()) {
    try {
      opened.push(await openBackend(name));
    } catch (error) {
      if ((REQUIRED_BACKENDS as readonly string[]).includes(name)) throw error;
      console.log(`[backends] ${name} not covered here: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`[backends] covering ${opened.map((backend) => backend.describe()).join(' | ')}`);
  return opened;
}

/**
 * WebGPU on a CPU rasteriser (Mesa lavapipe/llvmpipe, SwiftShader) is correct
 * but minutes slow on a small shared machine; parity tests give it the
 * smallest circuit only (snarkjs and native still cover every circuit).
 */
export function isSoftwareGpu(backend: ProverBackend): boolean {
  return backend.name === 'webgpu' && /llvmpipe|lavapipe|swiftshader|software/i.test(backend.describe());
}

/** Per-test timeout for tests that run every backend (a software GPU needs minutes). */
export const ALL_BACKENDS_TEST_TIMEOUT_MS = 600_000;

/** Where a backend's operations ran so far: the WebGPU wrapper counts device and fallback work; any other backend is itself. */
export function workCounts(backend: ProverBackend): OperationCounts | null {
  return isFallbackBackend(backend) ? backend.operationCounts() : null;
}

/**
 * Asserts that `backend` itself did the work since `before` (from workCounts):
 * a WebGPU backend must have run on the device and never on its CPU fallback,
 * so a device lost mid-test cannot pass as WebGPU parity.
 */
export function expectWorkOnDevice(backend: ProverBackend, before: OperationCounts | null, what: string): void {
  const after = workCounts(backend);
  if (backend.name !== 'webgpu') {
    expect(after, `${what}: ${backend.name} is not wrapped`).toBeNull();
    return;
  }
  expect(after, `${what}: webgpu is the fallback wrapper`).not.toBeNull();
  expect(after!.fallback - (before?.fallback ?? 0), `${what}: operations on the CPU fallback`).toBe(0);
  expect(after!.primary - (before?.primary ?? 0), `${what}: operations on the device`).toBeGreaterThan(0);
}
