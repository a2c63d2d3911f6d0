/**
 * The verification key of a parsed zkey, in snarkjs's verification_key.json
 * form, read straight from the zkey's header and IC sections: what
 * `snarkjs zkey export verificationkey` writes, less `vk_alphabeta_12` (a
 * pairing that only Solidity verifiers use; our verifier and snarkjs's
 * groth16.verify do not read it). It needs no snarkjs, so `zkp prove` can
 * verify every proof without loading it.
 *
 * The zkey stores affine points in the backends' layout, so proof-points.ts
 * writes them as it writes a proof's.
 */
import { G1_AFFINE_BYTES } from '../backend.ts';
import type { Groth16Zkey } from '../io/zkey.ts';
import { type G1Json, type G2Json, g1ToJson, g2ToJson } from '../proof-points.ts';

export interface VerificationKeyJson {
  readonly protocol: 'groth16';
  readonly curve: 'bn128';
  readonly nPublic: number;
  readonly vk_alpha_1: G1Json;
  readonly vk_beta_2: G2Json;
  readonly vk_gamma_2: G2Json;
  readonly vk_delta_2: G2Json;
  readonly IC: G1Json[];
}

export function verificationKeyOfZkey(zkey: Groth16Zkey): VerificationKeyJson {
  const ic: G1Json[] = [];
  for (let i = 0; i <= zkey.nPublic; i++) ic.push(g1ToJson(zkey.ic.subarray(i * G1_AFFINE_BYTES, (i + 1) * G1_AFFINE_BYTES)));
  return {
    protocol: 'groth16',
    curve: 'bn128',
    nPublic: zkey.nPublic,
    vk_alpha_1: g1ToJson(zkey.alpha1),
    vk_beta_2: g2ToJson(zkey.beta2),
    vk_gamma_2: g2ToJson(zkey.gamma2),
    vk_delta_2: g2ToJson(zkey.delta2),
    IC: ic,
  };
}
