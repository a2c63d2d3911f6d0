/**
 * Fr (BN254's scalar field) with bigints, for the development setup's
 * per-wire arithmetic, and its 32-byte little-endian encodings. Vectors
 * handed to the native addon are standard form unless a name says Montgomery.
 */
import { BN254_R } from '../prover/io/bn254.ts';
import { powMod } from '../prover/io/pow-mod.ts';

export const FR_BYTES = 32;
/** Fr's two-adicity: r - 1 = 2^28 * t with t odd. */
export const FR_TWO_ADICITY = 28;
/** R = 2^256 mod r, the Montgomery factor of the zkey's Fr encodings. */
const MONTGOMERY_R = (1n << 256n) % BN254_R;
const MASK_64 = (1n << 64n) - 1n;

export function frMul(a: bigint, b: bigint): bigint {
  return (a * b) % BN254_R;
}

export function frPow(base: bigint, exponent: bigint): bigint {
  return powMod(base, exponent, BN254_R);
}

/** a^-1 by Fermat; a must not be 0. */
export function frInverse(a: bigint): bigint {
  if (a % BN254_R === 0n) throw new RangeError('0 has no inverse in Fr');
  return frPow(a, BN254_R - 2n);
}

/**
 * The primitive 2^log2n-th root of unity ffjavascript (and so snarkjs and the
 * native NTT) uses: w28 = 5^t (5 is the smallest non-residue), w[k] = w28^(2^(28-k)).
 */
export function frRootOfUnity(log2n: number): bigint {
  if (!Number.isInteger(log2n) || log2n < 0 || log2n > FR_TWO_ADICITY) throw new RangeError(`no 2^${log2n}-th root of unity in Fr`);
  const t = (BN254_R - 1n) >> BigInt(FR_TWO_ADICITY);
  return frPow(frPow(5n, t), 1n << BigInt(FR_TWO_ADICITY - log2n));
}

/** a * R mod r: the bytes ffjavascript stores for the Montgomery form of a. */
export function frToMontgomery(a: bigint): bigint {
  return (a * MONTGOMERY_R) % BN254_R;
}

export function writeFr(view: DataView, offset: number, value: bigint): void {
  let v = value;
  view.setBigUint64(offset, v & MASK_64, true);
  v >>= 64n;
  view.setBigUint64(offset + 8, v & MASK_64, true);
  v >>= 64n;
  view.setBigUint64(offset + 16, v & MASK_64, true);
  view.setBigUint64(offset + 24, v >> 64n, true);
}

export function readFr(view: DataView, offset: number): bigint {
  return (
    view.getBigUint64(offset, true) |
    (view.getBigUint64(offset + 8, true) << 64n) |
    (view.getBigUint64(offset + 16, true) << 128n) |
    (view.getBigUint64(offset + 24, true) << 192n)
  );
}

/** count elements scale * x^j (j = 0..count-1), standard form. */
export function frPowers(x: bigint, count: number, scale: bigint): Uint8Array {
  const bytes = new Uint8Array(count * FR_BYTES);
  const view = viewOf(bytes);
  let value = scale % BN254_R;
  for (let j = 0; j < count; j++) {
    writeFr(view, j * FR_BYTES, value);
    value = (value * x) % BN254_R;
  }
  return bytes;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
