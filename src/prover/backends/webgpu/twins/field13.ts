/**
 * CPU twin of shaders/field13.wgsl: Montgomery arithmetic with 20 limbs of
 * 13 bits, R = 2^260. Values cross the device boundary as plain 256-bit
 * integers (8 little-endian u32 words); only the limb split differs.
 */
import type { PrimeField } from './field.ts';

export const LIMB13_BITS = 13;
export const LIMB13_COUNT = 20;
export const MONT_R13 = 1n << BigInt(LIMB13_BITS * LIMB13_COUNT);

/** 13-bit limbs, least significant first. */
export function toLimbs13(value: bigint): number[] {
  const limbs: number[] = [];
  let v = value;
  for (let i = 0; i < LIMB13_COUNT; i++) {
    limbs.push(Number(v & 0x1fffn));
    v >>= 13n;
  }
  return limbs;
}

/** -p^-1 mod 2^13, the per-step reduction factor. */
export function negInverse13(p: bigint): bigint {
  const m = 1n << 13n;
  let inv = 1n;
  for (let i = 0; i < 13; i++) inv = (inv * (2n - ((p * inv) % m))) % m; // Newton iteration
  inv = ((inv % m) + m) % m;
  return (m - inv) % m;
}

/** a*b/2^260 mod p: what the 13-bit shader multiplication returns. */
export function montMul13(field: PrimeField, a: bigint, b: bigint): bigint {
  return field.mul(field.mul(a, b), field.inv(MONT_R13 % field.p));
}
