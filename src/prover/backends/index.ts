/**
 * Where the built-in backends are assembled: each is registered by name and
 * loads lazily on first use. The WebGPU backend gets its CPU backends
 * injected here (the fallback after a device loss, and the native backend
 * that runs buildABC), so no backend imports another.
 */
import { BackendUnavailableError } from '../../errors/index.ts';
import { type BackendFactory, getBackendFactory, type ProverBackend, registerBackend } from '../backend.ts';

const loadNative: BackendFactory = async () => (await import('./native/index.ts')).createNativeBackend();

/** The CPU order for the WebGPU fallback: native, else snarkjs (always available). */
export const CPU_FALLBACK_ORDER = ['native', 'snarkjs'] as const;

/** The first registered CPU backend that opens, in CPU_FALLBACK_ORDER. */
export async function loadCpuBackend(): Promise<ProverBackend> {
  const failures: string[] = [];
  for (const name of CPU_FALLBACK_ORDER) {
    const factory = getBackendFactory(name);
    if (!factory) {
      failures.push(`${name}: not registered`);
      continue;
    }
    try {
      return await factory();
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new BackendUnavailableError(`webgpu fallback: no CPU backend available (${failures.join('; ')})`);
}

registerBackend('snarkjs', async () => (await import('./snarkjs/index.ts')).createSnarkjsBackend());
registerBackend('native', loadNative);
registerBackend('webgpu', async () => (await import('./webgpu/index.ts')).createWebgpuBackend({ loadFallback: loadCpuBackend, loadAbcBackend: loadNative }));

/** The native backend's loader, for callers that assemble a raw WebGPU backend themselves (tests, bench). */
export { loadNative as loadNativeBackend };
export { backendNames, getBackendFactory } from '../backend.ts';
