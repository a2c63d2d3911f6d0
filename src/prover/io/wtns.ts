/**
 * `.wtns` reader (snarkjs/circom layout): section 1 = n8 u32, field modulus
 * (n8 bytes), nWitness u32; section 2 = nWitness values, n8 bytes each,
 * standard form little-endian.
 */
import { CorruptFileError, MismatchError } from '../../errors/index.ts';
import { BN254_N8, BN254_R } from './bn254.ts';
import { expectSectionSize, parseBinFile, readBigUintLE, readBinFile, sectionBytes, uniqueSection, type BinFile } from './binfile.ts';
import type { Groth16Zkey } from './zkey.ts';

const R_TOP_BYTE = Number(BN254_R >> 248n);
const WTNS_EXPECTATION = { magic: 'wtns', versions: [1, 2] } as const;

export interface Witness {
  readonly label: string;
  readonly nWitness: number;
  /** nWitness Fr values, 32 bytes LE each, standard form. */
  readonly values: Uint8Array;
}

export async function readWtns(path: string): Promise<Witness> {
  return decodeWtns(await readBinFile(path, WTNS_EXPECTATION));
}

export function parseWtns(bytes: Uint8Array, label: string): Witness {
  return decodeWtns(parseBinFile(bytes, label, WTNS_EXPECTATION));
}

function decodeWtns(file: BinFile): Witness {
  const label = file.label;
  const header = sectionBytes(file, uniqueSection(file, 1, 'witness header'));
  if (header.byteLength < 4) throw new CorruptFileError(`${label}: section 1 (witness header) is too short`);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const n8 = view.getUint32(0, true);
  if (n8 !== BN254_N8) throw new CorruptFileError(`${label}: witness element size is ${n8} bytes; only BN254 (32) is supported`);
  if (header.byteLength !== 4 + n8 + 4)
    throw new CorruptFileError(`${label}: section 1 (witness header) is ${header.byteLength} bytes, expected ${4 + n8 + 4}`);
  const prime = readBigUintLE(header, 4, n8);
  if (prime !== BN254_R) throw new MismatchError(`${label}: witness is over a field other than BN254's scalar field (modulus ${prime})`);
  const nWitness = view.getUint32(4 + n8, true);
  const valuesSection = uniqueSection(file, 2, 'witness values');
  expectSectionSize(file, valuesSection, 'witness values', nWitness * n8, `nWitness = ${nWitness}`);
  const values = sectionBytes(file, valuesSection);
  for (let index = 0; index < nWitness; index++) {
    // Fast path: r's top byte is 0x30, so any value whose top byte is lower is reduced.
    if (values[index * n8 + n8 - 1]! < R_TOP_BYTE) continue;
    if (readBigUintLE(values, index * n8, n8) >= BN254_R) {
      throw new CorruptFileError(`${label}: witness value ${index} is not reduced modulo the scalar field`);
    }
  }
  return { label, nWitness, values };
}

/** The checks that tie a witness to a proving key; the message says what to look at. */
export function checkWitnessFitsZkey(witness: Witness, zkey: Groth16Zkey): void {
  if (witness.nWitness !== zkey.nVars) {
    throw new MismatchError(`witness has ${witness.nWitness} values but ${zkey.label} expects ${zkey.nVars} (is this the witness of another circuit?)`);
  }
  const first = readBigUintLE(witness.values, 0, BN254_N8);
  if (first !== 1n) {
    throw new MismatchError(`${witness.label}: witness[0] is ${first} but must be 1 (not a circom witness, or corrupt)`);
  }
}
