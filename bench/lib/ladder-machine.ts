/**
 * The machine a ladder run measured (src/bench-report/schema.ts MachineInfo):
 * CPU, memory, Node and the proving packages' versions, and the WebGPU
 * adapter Dawn offers (the same choice as src/prover/backends/webgpu/device.ts:
 * ZKP_WEBGPU_BACKEND, default vulkan; the first adapter, high-performance
 * first). WebGPU has no query for the device's memory, so the adapter's
 * buffer limits stand in for it.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { GpuInfo, MachineInfo } from '../../src/bench-report/schema.ts';
import { PACKAGE_ROOT } from '../../src/runtime/package-root.ts';

const PACKAGES = ['snarkjs', 'ffjavascript', 'webgpu', 'circom2', 'circomlib'] as const;

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

/** Dawn's instances must outlive what was made from them (device.ts says why): kept for the process's life. */
const keptAlive: unknown[] = [];

/** The adapter, or null with the reason when there is none (no Dawn binary, no Vulkan driver). */
export async function probeGpu(): Promise<{ gpu: GpuInfo | null; reason: string }> {
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
    const backend = process.env.ZKP_WEBGPU_BACKEND || 'vulkan';
    const gpu = create([`backend=${backend}`]);
    keptAlive.push(gpu);
    const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter({ powerPreference: 'low-power' }));
    if (!adapter) return { gpu: null, reason: `no WebGPU adapter for Dawn backend '${backend}'` };
    keptAlive.push(adapter);
    const info = adapter.info;
    const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
    return {
      gpu: {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
        // Dawn reports the driver (e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)", or NVIDIA's version) in the description.
        driver: info.description,
        buffer_bytes_max: adapter.limits.maxBufferSize,
        storage_binding_bytes_max: adapter.limits.maxStorageBufferBindingSize,
        is_software: info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(text),
      },
      reason: '',
    };
  } catch (error) {
    return { gpu: null, reason: `WebGPU did not start: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}` };
  }
}

export async function machineInfo(gpu: GpuInfo | null): Promise<MachineInfo> {
  const load = loadavg();
  const packages: Record<string, string> = { 'zkp-cluster': packageVersion(PACKAGE_ROOT) };
  for (const name of PACKAGES) packages[name] = packageVersion(join(PACKAGE_ROOT, 'node_modules', name));
  return {
    hostname: hostname(),
    os: `${type()} ${release()}`,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_bytes: totalmem(),
    load_average: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0].map((value) => Number(value.toFixed(2))) as [number, number, number],
    node_version: process.version,
    packages,
    gpu,
  };
}
