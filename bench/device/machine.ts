/**
 * What the report says about the host, the WebGPU adapter and the native
 * baseline. nvidia-smi is asked when it is on the PATH (the offline GPU host
 * has it); any probe that fails is recorded as its error, never fatal.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { ProverBackend } from '../../src/prover/backend.ts';
import type { RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { isCpuDriver } from '../../src/prover/backends/webgpu/codegen.ts';
import type { NativeAddon } from '../../src/prover/backends/native/addon.ts';

const run = promisify(execFile);
const NVIDIA_SMI_TIMEOUT_MS = 15_000;
const NVIDIA_SMI_FIELDS = ['name', 'driver_version', 'memory.total', 'memory.used', 'pcie.link.gen.current', 'clocks.sm', 'clocks.max.sm', 'power.limit'];

export async function machineInfo(): Promise<Record<string, unknown>> {
  const cpuList = cpus();
  return {
    hostname: hostname(),
    cpu_model: cpuList[0]?.model ?? null,
    cpu_threads: cpuList.length,
    memory_bytes: totalmem(),
    kernel: release(),
    os: osRelease(),
    node: process.version,
    nvidia_smi: await nvidiaSmi(),
    // run.sh says where the Vulkan loader and the driver's ICD file came from.
    vulkan: process.env.DEVICE_VULKAN_NOTES ?? null,
  };
}

function osRelease(): string | null {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

async function nvidiaSmi(): Promise<unknown> {
  try {
    const { stdout } = await run('nvidia-smi', [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader'], { timeout: NVIDIA_SMI_TIMEOUT_MS });
    return stdout
      .trim()
      .split('\n')
      .map((line) => Object.fromEntries(line.split(',').map((value, index) => [NVIDIA_SMI_FIELDS[index] ?? `field${index}`, value.trim()])));
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] };
  }
}

/** The adapter as Dawn reports it: info, the device's limits and features, the shader code chosen. */
export function adapterInfo(gpu: RawWebgpuBackend): Record<string, unknown> {
  const device = gpu.gpu.device as GPUDevice & { adapterInfo?: GPUAdapterInfo };
  const info = device.adapterInfo as (GPUAdapterInfo & Record<string, unknown>) | undefined;
  const limits: Record<string, number> = {};
  const source = gpu.gpu.limits as unknown as Record<string, unknown>;
  for (const key in source) {
    const value = source[key];
    if (typeof value === 'number') limits[key] = value;
  }
  return {
    describe: gpu.describe(),
    description: gpu.gpu.adapterDescription,
    vendor: info?.vendor ?? null,
    architecture: info?.architecture ?? null,
    device: info?.device ?? null,
    adapter_description: info?.description ?? null,
    subgroup_min_size: info?.subgroupMinSize ?? null,
    subgroup_max_size: info?.subgroupMaxSize ?? null,
    is_fallback_adapter: info?.isFallbackAdapter ?? null,
    dawn_backend: gpu.gpu.backend,
    cpu_driver: isCpuDriver(gpu.gpu.adapterDescription),
    timestamp_query: gpu.gpu.hasTimestamps,
    codegen: gpu.codegen,
    build_abc: gpu.buildAbcKind,
    features: [...device.features].sort(),
    limits,
  };
}

export function baselineInfo(native: ProverBackend, addon: NativeAddon): Record<string, unknown> {
  return { describe: native.describe(), threads: addon.threadCount(), cpu_features: addon.cpuFeatures() };
}
