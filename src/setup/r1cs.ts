/**
 * circom's `.r1cs` reader (iden3 container, magic "r1cs", version 1):
 *   1: header: n8 u32, prime (n8 bytes), nWires u32, nPubOut u32, nPubIn u32,
 *      nPrvIn u32, nLabels u64, nConstraints u32
 *   2: constraints: for each, the linear combinations A, B, C, each a u32
 *      term count then terms of (wire u32, coefficient n8 bytes LE, standard form)
 *   3: wire to label map (not needed here); 4 and 5: PLONK custom gates
 * The whole constraint section is walked once up front, so a corrupt file is
 * refused with a message naming the first bad constraint before any work.
 */
import { CorruptFileError, MismatchError } from '../errors/index.ts';
import { BN254_N8, BN254_R } from '../prover/io/bn254.ts';
import { readBigUintLE, readBinFile, sectionBytes, uniqueSection, type BinFile } from '../prover/io/binfile.ts';

const R1CS_EXPECTATION = { magic: 'r1cs', versions: [1] } as const;
const HEADER_BYTES = 4 + BN254_N8 + 4 * 4 + 8 + 4;
const TERM_BYTES = 4 + BN254_N8;
const CUSTOM_GATE_SECTIONS = [4, 5];

export interface R1cs {
  readonly label: string;
  readonly nWires: number;
  /** Public outputs plus public inputs (snarkjs's nPublic; wire 0, the constant 1, not counted). */
  readonly nPublic: number;
  readonly nConstraints: number;
  /** Section 2 as stored (see the layout above). */
  readonly constraints: Uint8Array;
  /** Terms in all A, B and C combinations. */
  readonly termCounts: { readonly a: number; readonly b: number; readonly c: number };
}

export async function readR1cs(path: string): Promise<R1cs> {
  return decodeR1cs(await readBinFile(path, R1CS_EXPECTATION));
}

function decodeR1cs(file: BinFile): R1cs {
  const label = file.label;
  for (const type of CUSTOM_GATE_SECTIONS) {
    if (file.sections.some((section) => section.type === type)) {
      throw new MismatchError(`${label}: the circuit uses custom gates (section ${type}), which only PLONK supports; Groth16 needs plain R1CS`);
    }
  }
  const header = sectionBytes(file, uniqueSection(file, 1, 'header'));
  const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.byteLength < 4) throw new CorruptFileError(`${label}: section 1 (header) is ${header.byteLength} bytes, too short`);
  const n8 = headerView.getUint32(0, true);
  if (n8 !== BN254_N8) throw new MismatchError(`${label}: field elements are ${n8} bytes; only BN254 (32-byte elements) is supported`);
  if (header.byteLength !== HEADER_BYTES) {
    throw new CorruptFileError(`${label}: section 1 (header) is ${header.byteLength} bytes but a BN254 r1cs header is ${HEADER_BYTES}`);
  }
  const prime = readBigUintLE(header, 4, n8);
  if (prime !== BN254_R) throw new MismatchError(`${label}: the circuit is over another field (prime ${prime}), not BN254's scalar field`);
  const at = 4 + n8;
  const nWires = headerView.getUint32(at, true);
  const nPubOut = headerView.getUint32(at + 4, true);
  const nPubIn = headerView.getUint32(at + 8, true);
  const nConstraints = headerView.getUint32(at + 24, true);
  const nPublic = nPubOut + nPubIn;
  if (nWires < 1 || nPublic + 1 > nWires) {
    throw new CorruptFileError(`${label}: header says ${nWires} wires but ${nPublic} public signals (plus the constant wire)`);
  }
  const constraints = sectionBytes(file, uniqueSection(file, 2, 'constraints'));
  const termCounts = checkConstraints(label, constraints, nConstraints, nWires);
  return { label, nWires, nPublic, nConstraints, constraints, termCounts };
}

/** Walks every constraint: sizes, wire indexes and coefficient ranges; returns the term counts. */
function checkConstraints(label: string, bytes: Uint8Array, nConstraints: number, nWires: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = [0, 0, 0];
  const names = ['A', 'B', 'C'];
  let cursor = 0;
  for (let constraint = 0; constraint < nConstraints; constraint++) {
    for (let matrix = 0; matrix < 3; matrix++) {
      if (cursor + 4 > bytes.byteLength) throw truncated(label, constraint, nConstraints);
      const nTerms = view.getUint32(cursor, true);
      cursor += 4;
      if (cursor + nTerms * TERM_BYTES > bytes.byteLength) throw truncated(label, constraint, nConstraints);
      for (let term = 0; term < nTerms; term++) {
        const wire = view.getUint32(cursor, true);
        if (wire >= nWires) {
          throw new CorruptFileError(`${label}: constraint ${constraint} (${names[matrix]}) names wire ${wire} but the circuit has ${nWires} wires`);
        }
        if (!isBelowR(view, cursor + 4)) {
          throw new CorruptFileError(`${label}: constraint ${constraint} (${names[matrix]}) has a coefficient >= r (not a reduced field element)`);
        }
        cursor += TERM_BYTES;
      }
      counts[matrix]! += nTerms;
    }
  }
  if (cursor !== bytes.byteLength) {
    throw new CorruptFileError(`${label}: section 2 (constraints) holds ${bytes.byteLength} bytes but its ${nConstraints} constraints use ${cursor}`);
  }
  return { a: counts[0]!, b: counts[1]!, c: counts[2]! };
}

function truncated(label: string, constraint: number, nConstraints: number): CorruptFileError {
  return new CorruptFileError(`${label}: section 2 (constraints) ends inside constraint ${constraint} of ${nConstraints} (truncated or corrupt)`);
}

/** r as eight u32 words, most significant first. */
const R_WORDS = Array.from({ length: 8 }, (_, index) => Number((BN254_R >> BigInt(32 * (7 - index))) & 0xffffffffn));

/** The 32-byte little-endian integer at offset is below r (compared word by word, no bigint). */
function isBelowR(view: DataView, offset: number): boolean {
  for (let index = 0; index < 8; index++) {
    const word = view.getUint32(offset + 4 * (7 - index), true);
    if (word !== R_WORDS[index]) return word < R_WORDS[index]!;
  }
  return false;
}
