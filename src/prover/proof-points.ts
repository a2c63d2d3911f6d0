/**
 * Affine points in the backends' byte layout (backend.ts: Fq coordinates
 * Montgomery, little-endian; all zero bytes for the point at infinity) written
 * as snarkjs writes them in proof.json: decimal coordinates in standard form,
 * projective with z = 1, and the point at infinity as (0, 1, 0), exactly as
 * ffjavascript's toObject(toAffine(p)) gives them.
 */
import { FR_BYTES, G1_AFFINE_BYTES, G2_AFFINE_BYTES } from './backend.ts';
import { BN254_P } from './io/bn254.ts';
import { readBigUintLE } from './io/binfile.ts';
import { powMod } from './io/pow-mod.ts';

/** R^-1 mod p with R = 2^256: a Montgomery value times this is the standard value. */
const MONTGOMERY_R_INVERSE = powMod((1n << 256n) % BN254_P, BN254_P - 2n, BN254_P);

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

function coordinate(point: Uint8Array, index: number): string {
  return ((readBigUintLE(point, index * FR_BYTES, FR_BYTES) * MONTGOMERY_R_INVERSE) % BN254_P).toString();
}

export type G1Json = [string, string, string];
export type G2Json = [[string, string], [string, string], [string, string]];

export function g1ToJson(point: Uint8Array): G1Json {
  if (point.byteLength !== G1_AFFINE_BYTES) throw new RangeError(`a G1 affine point is ${G1_AFFINE_BYTES} bytes, not ${point.byteLength}`);
  if (isZero(point)) return ['0', '1', '0'];
  return [coordinate(point, 0), coordinate(point, 1), '1'];
}

export function g2ToJson(point: Uint8Array): G2Json {
  if (point.byteLength !== G2_AFFINE_BYTES) throw new RangeError(`a G2 affine point is ${G2_AFFINE_BYTES} bytes, not ${point.byteLength}`);
  if (isZero(point)) {
    return [
      ['0', '0'],
      ['1', '0'],
      ['0', '0'],
    ];
  }
  return [
    [coordinate(point, 0), coordinate(point, 1)],
    [coordinate(point, 2), coordinate(point, 3)],
    ['1', '0'],
  ];
}
