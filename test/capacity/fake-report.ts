/** Prove-bench reports for the planner's tests, built from the schema's types (no bench run). */
import {
  BENCH_REPORT_SCHEMA,
  BENCH_REPORT_VERSION,
  type BackendName,
  type BenchReport,
  type CircuitInfo,
  type GpuInfo,
  type ProveRun,
  summarizeTimings,
} from '../../src/bench-report/schema.ts';

export function circuit(name: string, log2: number): CircuitInfo {
  return { name, family: 'synthetic', constraints: 2 ** log2 - 11, domain_log2: log2, public_signals: 1, wires: 2 ** log2, zkey_bytes: 1000 };
}

export function run(
  circuitName: string,
  backend: BackendName,
  witness_ms: number[] | null,
  warm_ms: number[] | null,
  status: ProveRun['status'] = 'ok',
  reason = '',
): ProveRun {
  return {
    circuit: circuitName,
    backend,
    status,
    reason,
    witness: witness_ms === null ? null : summarizeTimings(witness_ms),
    cold: null,
    warm: warm_ms === null ? null : summarizeTimings(warm_ms),
    peak_rss_bytes: null,
    verified: status === 'ok',
    speedup_vs_snarkjs: null,
    speedup_vs_native: null,
  };
}

export function gpu(is_software: boolean): GpuInfo {
  return {
    vendor: is_software ? 'mesa' : 'nvidia',
    architecture: '',
    device: is_software ? 'llvmpipe' : 'H100',
    description: is_software ? 'llvmpipe (LLVM 19.1.7, 256 bits)' : 'NVIDIA H100',
    driver: '',
    buffer_bytes_max: 2 ** 31,
    storage_binding_bytes_max: 2 ** 31,
    is_software,
  };
}

export function report(circuits: CircuitInfo[], runs: ProveRun[], gpuInfo: GpuInfo | null = null): BenchReport {
  return {
    schema: BENCH_REPORT_SCHEMA,
    version: BENCH_REPORT_VERSION,
    started_at: '2026-12-03T12:00:00.000Z',
    duration_ms: 60_000,
    argv: [],
    machine: {
      hostname: 'test-host',
      os: 'linux',
      cpu_model: 'Test CPU',
      cores: 2,
      memory_bytes: 8 * 2 ** 30,
      load_average: [0.5, 0.5, 0.5],
      node_version: process.version,
      packages: {},
      gpu: gpuInfo,
    },
    circuits,
    runs,
  };
}
