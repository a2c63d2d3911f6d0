/**
 * The bytes of a `.wtns` file as `snarkjs wtns calculate` writes them for a
 * circom 2 circuit (version 2, two sections):
 *
 *   "wtns" | u32 2 | u32 2 sections
 *   u32 1 | u64 40 | u32 n8 = 32 | prime (32 bytes LE) | u32 nWitness
 *   u32 2 | u64 32 * nWitness | nWitness values, 32 bytes LE each
 *
 * The header is laid out here; the values are written in place after it by
 * the witness calculator, so the file needs no second copy.
 */
import { BN254_N8, BN254_R } from '../io/bn254.ts';

/** Offset of the first witness value: 12 (file header) + 12 + 40 (section 1) + 12 (section 2 header). */
export const WTNS_VALUES_OFFSET = 76;
const HEADER_SECTION_BYTES = 4 + BN254_N8 + 4;

/** A zeroed `.wtns` file for nWitness BN254 values, its header written. */
export function allocateWtns(nWitness: number): Uint8Array {
  const valuesBytes = nWitness * BN254_N8;
  const bytes = new Uint8Array(WTNS_VALUES_OFFSET + valuesBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.set([0x77, 0x74, 0x6e, 0x73], 0); // "wtns"
  view.setUint32(4, 2, true);
  view.setUint32(8, 2, true);
  view.setUint32(12, 1, true);
  view.setBigUint64(16, BigInt(HEADER_SECTION_BYTES), true);
  view.setUint32(24, BN254_N8, true);
  let prime = BN254_R;
  for (let index = 0; index < BN254_N8; index++) {
    bytes[28 + index] = Number(prime & 0xffn);
    prime >>= 8n;
  }
  view.setUint32(28 + BN254_N8, nWitness, true);
  view.setUint32(64, 2, true);
  view.setBigUint64(68, BigInt(valuesBytes), true);
  return bytes;
}
