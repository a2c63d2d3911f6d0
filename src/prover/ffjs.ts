/**
 * Access to ffjavascript and snarkjs, which ship no TypeScript types.
 * ffjavascript's types are declared once, in ffjavascript.d.ts; snarkjs is
 * imported through a string-typed specifier so the compiler does not look for
 * declarations, and SnarkjsModule is the slice of its API this project uses
 * (checked by the parity tests, not by the compiler).
 */
import type { FfCurve } from 'ffjavascript';

export type { FfCurve, FfField, FfGroup, FfTask } from 'ffjavascript';

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

const SNARKJS: string = 'snarkjs';

let curvePromise: Promise<FfCurve> | null = null;

/**
 * ffjavascript's BN254 curve. buildBn128() itself caches one instance per
 * process (snarkjs uses the same one), so this must never be terminated while
 * the process still proves; see releaseCurve().
 */
export function bn128(): Promise<FfCurve> {
  curvePromise ??= import('ffjavascript').then((module) => module.buildBn128());
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
  const module = await import('ffjavascript');
  return module.utils.stringifyBigInts(value);
}
