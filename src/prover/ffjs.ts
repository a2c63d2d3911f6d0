/**
 * Typed access to ffjavascript and snarkjs, which ship no TypeScript types.
 * The modules are imported through a string-typed specifier so the compiler
 * does not look for declarations; the interfaces below are the slice of their
 * APIs this project uses (checked by the parity tests, not by the compiler).
 */

export interface FfGroup {
  readonly F: { readonly n8: number };
  readonly zero: Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  timesFr(point: Uint8Array, scalar: Uint8Array): Uint8Array;
  toAffine(point: Uint8Array): Uint8Array;
  toObject(point: Uint8Array): bigint[] | bigint[][];
  fromRprLEM(buffer: Uint8Array, offset: number): Uint8Array;
  multiExpAffine(bases: Uint8Array, scalars: Uint8Array, logger?: unknown, label?: string): Promise<Uint8Array>;
}

export interface FfField {
  readonly n8: number;
  readonly s: number;
  readonly w: Uint8Array[];
  readonly shift: Uint8Array;
  readonly one: Uint8Array;
  e(value: number | bigint | string): Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  mul(a: Uint8Array, b: Uint8Array): Uint8Array;
  neg(a: Uint8Array): Uint8Array;
  random(): Uint8Array;
  fromRprLE(buffer: Uint8Array, offset: number): Uint8Array;
  toRprLE(buffer: Uint8Array, offset: number, value: Uint8Array): void;
  fft(values: Uint8Array): Promise<Uint8Array>;
  ifft(values: Uint8Array): Promise<Uint8Array>;
  batchApplyKey(values: Uint8Array, first: Uint8Array, inc: Uint8Array): Promise<Uint8Array>;
}

export interface FfTask {
  readonly cmd: string;
  readonly [key: string]: unknown;
}

export interface FfCurve {
  readonly name: string;
  readonly G1: FfGroup;
  readonly G2: FfGroup;
  readonly Fr: FfField;
  readonly tm: { readonly concurrency: number; queueAction(task: FfTask[]): Promise<Uint8Array[]> };
  terminate(): Promise<void>;
}

export interface SnarkjsProof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

export interface SnarkjsModule {
  groth16: {
    prove(zkey: string | Uint8Array, witness: string | Uint8Array, logger?: unknown): Promise<{ proof: SnarkjsProof; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: unknown, proof: unknown, logger?: unknown): Promise<boolean>;
  };
  wtns: {
    calculate(input: unknown, wasm: string | Uint8Array, out: string | { type: 'mem'; data?: Uint8Array }): Promise<void>;
  };
  zKey: {
    exportVerificationKey(zkey: string | Uint8Array): Promise<unknown>;
  };
}

const FFJAVASCRIPT: string = 'ffjavascript';
const SNARKJS: string = 'snarkjs';

let curvePromise: Promise<FfCurve> | null = null;

/**
 * ffjavascript's BN254 curve. buildBn128() itself caches one instance per
 * process (snarkjs uses the same one), so this must never be terminated while
 * the process still proves; see releaseCurve().
 */
export function bn128(): Promise<FfCurve> {
  curvePromise ??= import(FFJAVASCRIPT).then((module: { buildBn128(): Promise<FfCurve> }) => module.buildBn128());
  return curvePromise;
}

/** Stops the curve's worker threads so the process can exit (CLI and bench only). */
export async function releaseCurve(): Promise<void> {
  if (curvePromise === null) return;
  const curve = await curvePromise;
  curvePromise = null;
  await curve.terminate();
}

export async function snarkjs(): Promise<SnarkjsModule> {
  return (await import(SNARKJS)) as SnarkjsModule;
}

/** ffjavascript's utils for JSON with bigints. */
export async function stringifyBigInts<T>(value: T): Promise<unknown> {
  const module = (await import(FFJAVASCRIPT)) as { utils: { stringifyBigInts(value: unknown): unknown } };
  return module.utils.stringifyBigInts(value);
}
