/**
 * The prove-benchmark report that `npm run bench` writes (bench/results/bench-<host>.json)
 * and `zkp capacity` reads. Documented for users in docs/bench.md.
 *
 * The version is bumped on any change a reader must know about (a field renamed,
 * removed or given another meaning); readers refuse a version they do not know.
 * All durations are milliseconds, all sizes bytes.
 */

export const BENCH_REPORT_SCHEMA = 'zkp-cluster/prove-bench';
export const BENCH_REPORT_VERSION = 1;

export interface BenchReport {
  readonly schema: typeof BENCH_REPORT_SCHEMA;
  readonly version: typeof BENCH_REPORT_VERSION;
  /** ISO 8601, UTC, when the run started. */
  readonly started_at: string;
  /** Wall time of the whole run. */
  readonly duration_ms: number;
  /** The arguments the bench was given (after `npm run bench --`). */
  readonly argv: readonly string[];
  readonly machine: MachineInfo;
  readonly circuits: readonly CircuitInfo[];
  /** One entry per (circuit, backend) pair tried, including the ones skipped or failed. */
  readonly runs: readonly ProveRun[];
}

export interface MachineInfo {
  readonly hostname: string;
  readonly os: string;
  readonly cpu_model: string;
  /** Logical CPUs the process may use. */
  readonly cores: number;
  readonly memory_bytes: number;
  /** 1, 5 and 15-minute load averages at the start of the run. */
  readonly load_average: readonly [number, number, number];
  readonly node_version: string;
  /** zkp-cluster's own version and the versions of the packages that prove: snarkjs, ffjavascript, webgpu, circom2. */
  readonly packages: Readonly<Record<string, string>>;
  /** The WebGPU adapter used, or null when none was found. */
  readonly gpu: GpuInfo | null;
}

export interface GpuInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** Driver name and version where the adapter reports them (e.g. "llvmpipe (LLVM 19.1.7, 256 bits)"), else "". */
  readonly driver: string;
  /** The adapter's maxBufferSize and maxStorageBufferBindingSize limits. */
  readonly buffer_bytes_max: number;
  readonly storage_binding_bytes_max: number;
  /** True for a software adapter such as lavapipe/llvmpipe or SwiftShader. */
  readonly is_software: boolean;
}

export interface CircuitInfo {
  /** Unique within the report, e.g. "synthetic-16", "poseidon-merkle-20", "sha256-64B". */
  readonly name: string;
  /** What it is built from: "synthetic", "poseidon-merkle", "sha256", "eddsa", ... */
  readonly family: string;
  readonly constraints: number;
  /** log2 of the evaluation domain (the smallest power of two above constraints + public inputs). */
  readonly domain_log2: number;
  readonly public_signals: number;
  readonly wires: number;
  readonly zkey_bytes: number;
}

export type BackendName = 'snarkjs' | 'native' | 'webgpu' | `peer:${string}`;

/** Min, median and p95 of `samples_ms`, kept beside the samples so a reader need not recompute them. */
export interface TimingSummary {
  readonly samples_ms: readonly number[];
  readonly min_ms: number;
  readonly median_ms: number;
  readonly p95_ms: number;
}

export interface ProveRun {
  readonly circuit: string;
  readonly backend: BackendName;
  readonly status: 'ok' | 'skipped' | 'failed';
  /** Why a run was skipped or failed (one line); "" when ok. */
  readonly reason: string;
  /** Witness computation from the input, separate from proving (same for every backend of a circuit, measured once per run). */
  readonly witness: TimingSummary | null;
  /** Whole process: start, read the zkey and the witness, prove, write the proof, exit. */
  readonly cold: TimingSummary | null;
  /** Key already resident in a running prover (what a worker does per job): the prove alone. */
  readonly warm: TimingSummary | null;
  /** Peak resident set size of the cold (whole-process) prove. */
  readonly peak_rss_bytes: number | null;
  /** Every proof of this run verified (snarkjs or the native verifier). */
  readonly verified: boolean;
  /** Speed-ups of this backend's warm median: snarkjs's median over this one, native's over this one; null where either is missing. */
  readonly speedup_vs_snarkjs: number | null;
  readonly speedup_vs_native: number | null;
}

/** Interpolated percentile (p in [0, 100]) of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = sorted[Math.floor(rank)] as number;
  const high = sorted[Math.ceil(rank)] as number;
  return low + (high - low) * (rank - Math.floor(rank));
}

export function summarizeTimings(samples_ms: readonly number[]): TimingSummary {
  if (samples_ms.length === 0) throw new RangeError('summarizeTimings: no samples');
  return {
    samples_ms: [...samples_ms],
    min_ms: Math.min(...samples_ms),
    median_ms: percentile(samples_ms, 50),
    p95_ms: percentile(samples_ms, 95),
  };
}
