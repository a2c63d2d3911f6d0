/**
 * Typed boundary of the C++ addon (native/addon.cc, built to
 * build/Release/zkp_native.node by `npm install` / `npx node-gyp rebuild`).
 * Byte layouts are those of src/prover/backend.ts. Every function validates
 * lengths synchronously (throwing a TypeError prefixed "zkp_native:") and does
 * its work off the JS thread.
 */
import { findAddonFile, loadAddon } from '../../../addons/find.ts';

/** A checked verifying key held by the addon (from groth16PrepareKey). */
export type NativePreparedKey = { readonly __nativePreparedKey: unique symbol };

export interface NativeAddon {
  /** Affine G1 result; scalars may cover a prefix of the bases. */
  msmG1(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
  /** Affine G2 result; scalars may cover a prefix of the bases. */
  msmG2(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
  ntt(values: Uint8Array, log2n: number, inverse: boolean): Promise<Uint8Array>;
  cosetShift(values: Uint8Array, log2n: number): Promise<Uint8Array>;
  computeH(a: Uint8Array, b: Uint8Array, c: Uint8Array, log2n: number): Promise<Uint8Array>;
  buildABC(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): Promise<{ a: Uint8Array; b: Uint8Array; c: Uint8Array }>;
  /** buildABC then computeH in one job (A, B, C stay native and are freed at once); timings: [buildABC ms, computeH ms]. domainSize: a power of two. */
  buildH(coeffs: Uint8Array, witness: Uint8Array, domainSize: number): Promise<{ h: Uint8Array; timings: Float64Array }>;
  /** Elementwise Fr inverses by Montgomery's trick (Montgomery form; 0 maps to 0). */
  frBatchInverse(values: Uint8Array): Promise<Uint8Array>;
  /** Checks and prepares a Groth16 key (layout: native/verify.h); throws naming a bad point. Synchronous. */
  groth16PrepareKey(key: Uint8Array): NativePreparedKey;
  /** '' when the proof verifies, else why not; throws on wrong lengths (publicSignals: exactly nPublic Fr elements). Synchronous. */
  groth16Verify(key: NativePreparedKey, proof: Uint8Array, publicSignals: Uint8Array): string;
  /** Threads the heavy calls use: hardware concurrency or ZKP_NATIVE_THREADS. */
  threadCount(): number;
  /** Arithmetic paths chosen at load: ADX scalar products, AVX-512 IFMA batch additions (ZKP_NATIVE_NO_ADX / ZKP_NATIVE_NO_IFMA turn them off). */
  cpuFeatures(): { adx: boolean; ifma: boolean };
  /** scalars[i] (standard-form Fr) times the G1 generator: one affine point each (the development setup). */
  fixedBaseG1(scalars: Uint8Array): Promise<Uint8Array>;
  /** scalars[i] (standard-form Fr) times the G2 generator: one affine point each. */
  fixedBaseG2(scalars: Uint8Array): Promise<Uint8Array>;
  /** The whole file mapped copy-on-write (read in place, no copy); unmapped when collected. Throws an Error with code ENOENT, EISDIR, EACCES or EIO. Synchronous. */
  mapFile(path: string): ArrayBuffer;
  /** Drops the whole pages inside `view` from the resident set when it lies in a mapFile map (a later read maps them again); returns the bytes dropped, 0 for any other view. */
  releasePages(view: Uint8Array): number;
}

export const ADDON_PATH = findAddonFile('zkp_native.node', import.meta.url);

let cached: NativeAddon | undefined;

/** Loads the addon once; throws BackendUnavailableError naming the fix when it is not built. */
export function loadNativeAddon(): NativeAddon {
  cached ??= loadAddon<NativeAddon>(ADDON_PATH, 'native addon');
  return cached;
}
