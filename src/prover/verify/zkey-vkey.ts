/**
 * The verification key of a parsed zkey, in snarkjs's verification_key.json
 * form, read straight from the zkey's header and IC sections: what
 * `snarkjs zkey export verificationkey` writes, less `vk_alphabeta_12` (a
 * pairing that only Solidity verifiers use; our verifier and snarkjs's
 * groth16.verify do not read it). It needs no snarkjs, so `zkp prove` can
 * verify every proof without loading it.
 *
 * The zkey stores affine points as Montgomery-form little-endian
 * coordinates (x then y; a G2 coordinate as c0 then c1); all-zero bytes are
 * the point at infinity, written [0, 1, 0] in the JSON as snarkjs does.
 */
import { G1_AFFINE_BYTES, G2_AFFINE_BYTES } from '../backend.ts';
import { BN254_N8, BN254_P } from '../io/bn254.ts';
import type { Groth16Zkey } from '../io/zkey.ts';

/** R^-1 mod p, R = 2^256: a Montgomery-form value times it is the value. */
const R_INVERSE = modPow(2n ** 256n % BN254_P, BN254_P - 2n, BN254_P);

export interface VerificationKeyJson {
  readonly protocol: 'groth16';
  readonly curve: 'bn128';
  readonly nPublic: number;
  readonly vk_alpha_1: string[];
  readonly vk_beta_2: string[][];
  readonly vk_gamma_2: string[][];
  readonly vk_delta_2: string[][];
  readonly IC: string[][];
}

export function verificationKeyOfZkey(zkey: Groth16Zkey): VerificationKeyJson {
  const ic: string[][] = [];
  for (let i = 0; i <= zkey.nPublic; i++) ic.push(g1Json(zkey.ic.subarray(i * G1_AFFINE_BYTES, (i + 1) * G1_AFFINE_BYTES)));
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic: zkey.nPublic,
    vk_alpha_1: g1Json(zkey.alpha1),
    vk_beta_2: g2Json(zkey.beta2),
    vk_gamma_2: g2Json(zkey.gamma2),
    vk_delta_2: g2Json(zkey.delta2),
    IC: ic,
  };
}

function g1Json(point: Uint8Array): string[] {
  if (point.length !== G1_AFFINE_BYTES) throw new RangeError(`a G1 affine point is ${G1_AFFINE_BYTES} bytes, not ${point.length}`);
  if (point.every((byte) => byte === 0)) return ['0', '1', '0'];
  return [coordinate(point, 0), coordinate(point, 1), '1'];
}

function g2Json(point: Uint8Array): string[][] {
  if (point.length !== G2_AFFINE_BYTES) throw new RangeError(`a G2 affine point is ${G2_AFFINE_BYTES} bytes, not ${point.length}`);
  if (point.every((byte) => byte === 0)) {
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

/** The `index`-th 32-byte Montgomery coordinate of `bytes`, as a decimal string. */
function coordinate(bytes: Uint8Array, index: number): string {
  let montgomery = 0n;
  for (let i = BN254_N8 - 1; i >= 0; i--) montgomery = (montgomery << 8n) | BigInt(bytes[index * BN254_N8 + i]!);
  return ((montgomery * R_INVERSE) % BN254_P).toString();
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
