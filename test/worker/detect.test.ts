/** Backend detection on this host, the default order, and the checks on an explicit --backends list. */
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, InvalidArgumentError } from '../../src/errors/index.ts';
import { detectHost, orderBackends } from '../../src/worker/detect.ts';
import { type GpuAdapterInfo, isSoftwareAdapter } from '../../src/worker/gpu-adapter.ts';
import { compileWorkerOptions, parseBackendList } from '../../src/worker/options.ts';

const realGpu: GpuAdapterInfo = { name: 'NVIDIA H100', vendor: 'nvidia', backend: 'vulkan', memory_bytes: 2 ** 34, software: false };
const lavapipe: GpuAdapterInfo = { name: 'llvmpipe (LLVM 15)', vendor: 'mesa', backend: 'vulkan', memory_bytes: 2 ** 32, software: true };

describe('backend order', () => {
  it('puts webgpu first on a real GPU, after native on a CPU adapter, and snarkjs last', () => {
    const all = new Set(['webgpu', 'native', 'snarkjs']);
    expect(orderBackends(all, realGpu)).toEqual(['webgpu', 'native', 'snarkjs']);
    expect(orderBackends(all, lavapipe)).toEqual(['native', 'webgpu', 'snarkjs']);
    // webgpu opened but the adapter could not be described: treated as not a real GPU.
    expect(orderBackends(all, null)).toEqual(['native', 'webgpu', 'snarkjs']);
    expect(orderBackends(new Set(['snarkjs']), null)).toEqual(['snarkjs']);
    expect(orderBackends(new Set(['webgpu', 'snarkjs']), realGpu)).toEqual(['webgpu', 'snarkjs']);
  });

  it('recognises CPU adapters by name or by Dawn fallback flag', () => {
    expect(isSoftwareAdapter({ name: 'llvmpipe: Mesa 25.0.7', vendor: 'mesa' })).toBe(true);
    expect(isSoftwareAdapter({ name: 'Lavapipe', vendor: 'mesa' })).toBe(true);
    expect(isSoftwareAdapter({ name: 'SwiftShader Device (Subzero)', vendor: 'google' })).toBe(true);
    expect(isSoftwareAdapter({ name: 'Some GPU', vendor: 'x', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ name: 'NVIDIA GeForce RTX 4090', vendor: 'nvidia', architecture: 'ada' })).toBe(false);
  });

  it('checks an explicit list: known names, no repeats, not empty', () => {
    expect(parseBackendList(['native', ' snarkjs '])).toEqual(['native', 'snarkjs']);
    expect(() => parseBackendList(['cuda'])).toThrow(/unknown backend "cuda" \(known: webgpu, native, snarkjs\)/);
    expect(() => parseBackendList(['native', 'native'])).toThrow(/"native" is listed twice/);
    expect(() => parseBackendList(['', ' '])).toThrow(InvalidArgumentError);
  });

  it('validates the other worker options with messages naming them', () => {
    expect(() => compileWorkerOptions({ coordinators: [] })).toThrow(/no address given/);
    expect(() => compileWorkerOptions({ coordinators: ['localhost'] })).toThrow(/"localhost" is not host:port/);
    expect(() => compileWorkerOptions({ coordinators: ['127.0.0.1:1'], slots: 0 })).toThrow(/slots must be an integer in 1\.\.64, got 0/);
    expect(() => compileWorkerOptions({ coordinators: ['127.0.0.1:1'], id: 'has space' })).toThrow(/worker id "has space"/);
    expect(() => compileWorkerOptions({ coordinators: ['127.0.0.1:1'], drainGrace_ms: -1 })).toThrow(/drainGrace_ms/);
    const compiled = compileWorkerOptions({ coordinators: ['127.0.0.1:1'] });
    expect(compiled).toMatchObject({ slots: 1, drainGrace_ms: 30_000, progressInterval_ms: 200, backends: null });
    expect(compiled.id).toMatch(new RegExp(`-${process.pid}$`));
  });
});

describe('detectHost on this machine', () => {
  it('finds native and snarkjs, reports host memory and threads, and orders a CPU-only webgpu adapter after native', async () => {
    const host = await detectHost();
    console.log(`[detect] backends ${host.backends.join(', ')}; gpu ${JSON.stringify(host.gpu)}; ${host.threads} threads`);
    expect(host.backends).toContain('native');
    expect(host.backends.at(-1)).toBe('snarkjs');
    expect(host.memory_bytes).toBeGreaterThan(2 ** 28);
    expect(host.threads).toBeGreaterThanOrEqual(1);
    const webgpu = host.probes.find((probe) => probe.name === 'webgpu');
    expect(webgpu).toBeDefined();
    if (webgpu?.available) {
      expect(host.gpu).not.toBeNull();
      expect(host.gpu!.memory_bytes).toBeGreaterThan(0);
      expect(host.gpu!.backend).toBe(process.env.ZKP_WEBGPU_BACKEND || 'vulkan');
      if (host.gpu!.software) expect(host.backends.indexOf('native')).toBeLessThan(host.backends.indexOf('webgpu'));
      else expect(host.backends[0]).toBe('webgpu');
    } else {
      expect(host.backends).not.toContain('webgpu');
    }
  });

  it('takes an explicit list as given, probing only those backends', async () => {
    const host = await detectHost({ backends: ['snarkjs', 'native'] });
    expect(host.backends).toEqual(['snarkjs', 'native']);
    expect(host.probes.map((probe) => probe.name)).toEqual(['snarkjs', 'native']);
    expect(host.gpu).toBeNull();
  });

  it('refuses an explicit backend that does not open here, saying why', async () => {
    const saved = process.env.ZKP_WEBGPU_BACKEND;
    // No Dawn backend of this name exists, so webgpu cannot open.
    process.env.ZKP_WEBGPU_BACKEND = 'no-such-backend';
    try {
      const error = await detectHost({ backends: ['webgpu', 'native'] }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).message).toMatch(/webgpu was asked for but does not open on this host/);
    } finally {
      if (saved === undefined) delete process.env.ZKP_WEBGPU_BACKEND;
      else process.env.ZKP_WEBGPU_BACKEND = saved;
    }
  });
});
