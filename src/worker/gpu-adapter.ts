/**
 * What WebGPU adapter this host has, asked of Dawn (npm `webgpu`) without
 * opening a device: name, vendor, Dawn backend, the largest buffer it allows
 * (reported as its memory; WebGPU exposes no total), and whether it is a CPU
 * implementation (Mesa lavapipe/llvmpipe, SwiftShader), which proves more
 * slowly than the native backend on the same CPU.
 */
import { BackendUnavailableError } from '../errors/index.ts';

export interface GpuAdapterInfo {
  readonly name: string;
  readonly vendor: string;
  /** Dawn backend: vulkan, metal, d3d12. */
  readonly backend: string;
  /** maxBufferSize of the adapter. */
  readonly memory_bytes: number;
  /** A CPU implementation of the API rather than a GPU. */
  readonly software: boolean;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

/** True for an adapter that is a CPU rasteriser, judged from its names (and Dawn's fallback flag). */
export function isSoftwareAdapter(info: { name: string; vendor: string; architecture?: string; isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter === true) return true;
  return SOFTWARE_ADAPTER.test(`${info.name} ${info.vendor} ${info.architecture ?? ''}`);
}

// Dawn's instance must outlive every adapter taken from it (a collected GPU
// object crashes the process), so the one made here is kept for the process.
let instance: GPU | null = null;

/** The first adapter Dawn offers for `backend` (high-performance preferred), or null when there is none. */
export async function probeGpuAdapter(backend = process.env.ZKP_WEBGPU_BACKEND || 'vulkan'): Promise<GpuAdapterInfo | null> {
  let create: (options: string[]) => GPU;
  try {
    ({ create } = (await import('webgpu')) as { create: (options: string[]) => GPU });
  } catch (cause) {
    throw new BackendUnavailableError(`webgpu: the Dawn binding (npm webgpu) does not load here: ${firstLine(cause)}`, { cause });
  }
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp'; // quiets Vulkan loader warnings
  instance ??= create([`backend=${backend}`]);
  const adapter = (await instance.requestAdapter({ powerPreference: 'high-performance' })) ?? (await instance.requestAdapter({ powerPreference: 'low-power' }));
  if (adapter === null) return null;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const name = info.description || info.device || 'unknown adapter';
  const vendor = info.vendor || 'unknown';
  return {
    name,
    vendor,
    backend,
    memory_bytes: adapter.limits.maxBufferSize,
    software: isSoftwareAdapter({
      name: `${name} ${info.device}`,
      vendor,
      architecture: info.architecture,
      isFallbackAdapter: info.isFallbackAdapter === true,
    }),
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
