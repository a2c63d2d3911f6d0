/**
 * Backend detection: which prover backends open on this host
 * (src/prover/select-backend.ts probeBackends), the WebGPU adapter when there
 * is one, host memory and threads; and the order the worker offers them in.
 *
 * Default order, best first: webgpu on a real GPU; native; webgpu on a CPU
 * adapter (lavapipe, llvmpipe, SwiftShader: reported, but native proves faster
 * on the same CPU); snarkjs (the reference, always last). An explicit list
 * (--backends) is taken as given, but each named backend must open here.
 */
import { availableParallelism, totalmem } from 'node:os';
import '../prover/backends/index.ts';
import { BackendUnavailableError } from '../errors/index.ts';
import { type BackendProbe, openBackend, probeBackends } from '../prover/select-backend.ts';
import { type GpuAdapterInfo, probeGpuAdapter } from './gpu-adapter.ts';
import type { BackendName, WorkerLogger } from './options.ts';

export interface HostCapabilities {
  /** The backends this worker offers, best first; the first one proves. */
  readonly backends: readonly BackendName[];
  /** Every registered backend, whether it opened, and its description or why not. */
  readonly probes: readonly BackendProbe[];
  readonly gpu: GpuAdapterInfo | null;
  readonly memory_bytes: number;
  readonly threads: number;
}

/** The default order of the available backends (see the header). */
export function orderBackends(available: ReadonlySet<string>, gpu: GpuAdapterInfo | null): BackendName[] {
  const order: BackendName[] = [];
  const gpuIsReal = gpu !== null && !gpu.software;
  if (available.has('webgpu') && gpuIsReal) order.push('webgpu');
  if (available.has('native')) order.push('native');
  if (available.has('webgpu') && !gpuIsReal) order.push('webgpu');
  if (available.has('snarkjs')) order.push('snarkjs');
  return order;
}

export interface DetectOptions {
  /** An explicit backend list, best first (checked against what opens here). */
  readonly backends?: readonly BackendName[] | null;
  readonly logger?: WorkerLogger;
}

export async function detectHost(options: DetectOptions = {}): Promise<HostCapabilities> {
  // An explicit list probes only its own backends (opening webgpu costs seconds on a CPU adapter).
  const probes = options.backends === undefined || options.backends === null ? await probeBackends() : await probeNamed(options.backends);
  const available = new Set(probes.filter((probe) => probe.available).map((probe) => probe.name));
  let gpu: GpuAdapterInfo | null = null;
  if (available.has('webgpu')) {
    try {
      gpu = await probeGpuAdapter();
    } catch (error) {
      options.logger?.warn({ error: error instanceof Error ? error.message : String(error) }, 'webgpu opened but its adapter could not be described');
    }
  }
  let backends: BackendName[];
  if (options.backends === undefined || options.backends === null) {
    backends = orderBackends(available, gpu);
  } else {
    for (const name of options.backends) {
      if (!available.has(name)) {
        const probe = probes.find((candidate) => candidate.name === name);
        throw new BackendUnavailableError(`worker backends: ${name} was asked for but does not open on this host (${probe?.detail ?? 'not registered'})`);
      }
    }
    backends = [...options.backends];
  }
  if (backends.length === 0) {
    throw new BackendUnavailableError(`no prover backend opens on this host (${probes.map((probe) => `${probe.name}: ${probe.detail}`).join('; ')})`);
  }
  return { backends, probes, gpu, memory_bytes: totalmem(), threads: availableParallelism() };
}

/** probeBackends for the named backends only: open, describe, close. */
async function probeNamed(names: readonly BackendName[]): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of names) {
    try {
      const backend = await openBackend(name);
      probes.push({ name, available: true, detail: backend.describe() });
      await backend.close();
    } catch (error) {
      probes.push({ name, available: false, detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return probes;
}
