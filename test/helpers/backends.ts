/**
 * The backends a parity test must cover: every registered backend that opens
 * here. snarkjs and native are required everywhere (native is the CPU
 * fallback the project ships), so failing to open them fails the test;
 * webgpu is covered whenever it opens (a GPU or lavapipe is present).
 */
import type { ProverBackend } from '../../src/prover/backend.ts';
import { backendNames } from '../../src/prover/backends/index.ts';
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
