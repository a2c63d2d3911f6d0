/**
 * The WebGPU prover backend: WGSL compute shaders (shaders/) through Dawn.
 * createWebgpuBackend() returns it wrapped so that a lost device falls back
 * to the CPU backend (fallback.ts). See docs/webgpu.md.
 */
import type { ProverBackend } from '../../backend.ts';
import { createRawWebgpuBackend, type WebgpuBackendOptions } from './backend.ts';
import { deviceOptionsFromEnv } from './device.ts';
import { consoleLogger, loadCpuBackend, withNativeFallback, type BackendLoader, type WarnLogger } from './fallback.ts';

export { createRawWebgpuBackend, type RawWebgpuBackend, type WebgpuBackendOptions } from './backend.ts';
export { withNativeFallback, loadCpuBackend, type BackendLoader, type WarnLogger } from './fallback.ts';

export interface CreateWebgpuOptions extends WebgpuBackendOptions {
  readonly loadFallback?: BackendLoader;
  readonly logger?: WarnLogger;
}

export async function createWebgpuBackend(options: CreateWebgpuOptions = {}): Promise<ProverBackend> {
  const raw = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), ...options });
  return withNativeFallback(raw, options.loadFallback ?? loadCpuBackend, options.logger ?? consoleLogger);
}
