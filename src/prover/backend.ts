/**
 * The one interface every prover backend implements (snarkjs, native, webgpu).
 *
 * Data layout contract (shared by all backends; byte-compatible with snarkjs
 * and ffjavascript so buffers move between them without conversion):
 *
 * - Fr element: 32 bytes little-endian. "Montgomery" means a*R mod r with
 *   R = 2^256; "standard" means the plain integer. Witness values (`.wtns`) are
 *   standard. The QAP evaluation vectors A, B, C and the NTT inputs/outputs are
 *   Montgomery (as ffjavascript's Fr.fft/ifft). MSM scalars are standard.
 * - Fq element: 32 bytes little-endian, Montgomery form (as in `.zkey`).
 * - G1 affine point: x, y (64 bytes). G2 affine point: x.c0, x.c1, y.c0, y.c1
 *   (128 bytes). The point at infinity is all zero bytes. This is exactly the
 *   layout of zkey sections 5..9 and of ffjavascript's `G1.toAffine` buffers.
 * - MSM results are returned as affine points in the same layout.
 *
 * NTT conventions (exactly ffjavascript's, which snarkjs uses):
 * - forward: out[i] = sum_j in[j] * w^(i*j), w = Fr.w[log2n] (ffjavascript's
 *   root table: w[28] = nqr^t where r-1 = 2^28 * t, w[k-1] = w[k]^2).
 * - inverse: the inverse transform including the 1/n factor.
 * - coset shift: out[i] = in[i] * g^i with g = Fr.w[log2n + 1] (or Fr.shift
 *   when log2n == 28), as snarkjs's `batchApplyKey(buff, 1, inc)`.
 * - join: out[i] = a[i]*b[i] - c[i], converted from Montgomery to standard
 *   form (it becomes the scalar vector of the H MSM).
 */

export type CurveGroup = 'G1' | 'G2';

export const FR_BYTES = 32;
export const G1_AFFINE_BYTES = 64;
export const G2_AFFINE_BYTES = 128;

/** Which zkey base vector an MSM runs over. */
export type BaseSet = 'A' | 'B1' | 'B2' | 'C' | 'H';

/** The proving key's bases, as they come out of zkey sections 5..9. */
export interface CircuitBases {
  /** Content hash of the zkey (sha256 hex); the cache key for resident bases. */
  readonly id: string;
  readonly A: Uint8Array; // G1 affine, nVars points
  readonly B1: Uint8Array; // G1 affine, nVars points
  readonly B2: Uint8Array; // G2 affine, nVars points
  readonly C: Uint8Array; // G1 affine, nVars - nPublic - 1 points
  readonly H: Uint8Array; // G1 affine, domainSize points
}

/** Bases loaded into a backend and kept there (device memory for webgpu). */
export interface ResidentCircuit {
  readonly id: string;
  /** MSM over one resident G1 base set; `scalars` are standard-form Fr, one per point (may be fewer than the set holds: a prefix is used). */
  msmG1(set: Exclude<BaseSet, 'B2'>, scalars: Uint8Array, progress?: ProgressFn): Promise<Uint8Array>;
  msmG2(set: 'B2', scalars: Uint8Array, progress?: ProgressFn): Promise<Uint8Array>;
  /**
   * Optional: the MSMs that follow take `vectors` (or 32-byte-aligned parts
   * of them) as scalars, so a backend may upload each once for all of them
   * (webgpu: the witness for A, B1, B2, C; h stays on the device from
   * computeH). The caller keeps the vectors unchanged until the returned
   * release runs (a later share also ends this one), and passes an h this
   * backend's computeH returned unchanged since. Backends without it upload per MSM.
   */
  shareScalars?(vectors: readonly Uint8Array[]): Promise<() => Promise<void>>;
  release(): Promise<void>;
}

export type ProgressFn = (stage: string, done: number, total: number) => void;

export interface ProverBackend {
  readonly name: string;
  /** One line describing the device, e.g. "native: 16 threads" or "webgpu: llvmpipe (vulkan)". */
  describe(): string;

  /**
   * Upload/keep bases for a circuit. Calling twice with the same bases
   * object returns the cached handle; a backend that uploads (webgpu,
   * snarkjs) also finds it by id. The native backend, which reads the
   * caller's buffers in place, never reads the id here (a zkey's is a hash of
   * the whole file).
   */
  loadCircuit(bases: CircuitBases): Promise<ResidentCircuit>;

  /** Plain MSMs over caller-provided bases (tests and benchmarks). */
  msmG1(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
  msmG2(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;

  /**
   * The QAP evaluations A, B, C (Montgomery, length domainSize each) from zkey
   * section 4 (`coeffs`, the whole section including its leading u32 count)
   * and the standard-form witness, exactly as snarkjs's buildABC1:
   * A[c] += coef (*) w[s] for matrix 0, likewise B for matrix 1, where (*) is
   * the Montgomery product; then C[i] = A[i] (*) B[i].
   */
  buildABC(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): Promise<{ a: Uint8Array; b: Uint8Array; c: Uint8Array }>;

  /** NTT steps on Montgomery-form Fr vectors of length 2^log2n. */
  ntt(values: Uint8Array, log2n: number, direction: 'forward' | 'inverse'): Promise<Uint8Array>;
  cosetShift(values: Uint8Array, log2n: number): Promise<Uint8Array>;
  /**
   * The whole H step of Groth16, as snarkjs does it: for each of A, B, C
   * (Montgomery evaluations on the domain): inverse NTT, coset shift, forward
   * NTT; then a*b - c per element, returned in standard form.
   */
  computeH(a: Uint8Array, b: Uint8Array, c: Uint8Array, log2n: number, progress?: ProgressFn): Promise<Uint8Array>;

  /**
   * Optional: buildABC then computeH in one call, with A, B and C never
   * handed to JS (the native backend frees them as soon as H is done, where
   * three JS buffers would stay until a garbage collection). Same result as
   * computeH(buildABC(...)); durations of the two steps in ms. Backends
   * without it are driven step by step.
   */
  buildH?(coeffs: Uint8Array, witness: Uint8Array, log2n: number): Promise<{ h: Uint8Array; buildABC_ms: number; computeH_ms: number }>;

  close(): Promise<void>;
}

export type BackendFactory = () => Promise<ProverBackend>;

const registry = new Map<string, BackendFactory>();

export function registerBackend(name: string, factory: BackendFactory): void {
  registry.set(name, factory);
}

export function backendNames(): string[] {
  return [...registry.keys()];
}

export function getBackendFactory(name: string): BackendFactory | undefined {
  return registry.get(name);
}
