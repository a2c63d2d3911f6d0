/**
 * The WebGPU prover backend: WGSL compute shaders (shaders/) through Dawn.
 * createWebgpuBackend() returns it wrapped so that a lost device falls back
 * to a CPU backend (fallback.ts). The CPU backends it needs (the fallback and
 * the one that runs buildABC) are given by the caller: backends/index.ts
 * assembles them, so this folder imports no other backend. See docs/webgpu.md.
 */
import { createRawWebgpuBackend, type WebgpuBackendOptions } from './backend.ts';
import { deviceOptionsFromEnv } from './device.ts';
import { consoleLogger, withNativeFallback, type BackendLoader, type FallbackBackend, type WarnLogger } from './fallback.ts';

export { createRawWebgpuBackend, type RawWebgpuBackend, type WebgpuBackendOptions } from './backend.ts';
export { isFallbackBackend, withNativeFallback, type BackendLoader, type FallbackBackend, type OperationCounts, type WarnLogger } from './fallback.ts';

export interface CreateWebgpuOptions extends WebgpuBackendOptions {
  /** Opens the CPU backend that takes over after a device loss. */
  readonly loadFallback: BackendLoader;
  readonly logger?: WarnLogger;
}

export async function createWebgpuBackend(options: CreateWebgpuOptions): Promise<FallbackBackend> {
  const raw = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), ...options });
  return withNativeFallback(raw, options.loadFallback, options.logger ?? consoleLogger);
}
