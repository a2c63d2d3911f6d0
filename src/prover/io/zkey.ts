/**
 * Groth16 `.zkey` reader (snarkjs layout; see snarkjs src/zkey_utils.js):
 *   1: protocol id (u32, 1 = groth16)
 *   2: header: n8q, q, n8r, r, nVars, nPublic, domainSize, alpha1, beta1,
 *      beta2, gamma2, delta1, delta2 (points in Montgomery LE affine form)
 *   3: IC (nPublic + 1 G1 points)      4: coeffs (u32 count, then m, c, s, coef)
 *   5: A (nVars G1)   6: B1 (nVars G1)   7: B2 (nVars G2)
 *   8: C (nVars - nPublic - 1 G1)       9: H (domainSize G1)
 *   10: MPC contributions (not needed to prove)
 * Every size is checked against the header so a corrupt file is rejected
 * before any backend reads out of bounds.
 */
import { createHash } from 'node:crypto';
import { CorruptFileError, MismatchError } from '../../errors/index.ts';
import { FR_BYTES, G1_AFFINE_BYTES, G2_AFFINE_BYTES, type CircuitBases } from '../backend.ts';
import { BN254_N8, BN254_P, BN254_R } from './bn254.ts';
import { expectSectionSize, parseBinFile, readBigUintLE, readBinFile, sectionBytes, uniqueSection, type BinFile } from './binfile.ts';
import { mapFileBytes } from './mapped-file.ts';

const GROTH16_PROTOCOL_ID = 1;
const ZKEY_EXPECTATION = { magic: 'zkey', versions: [1] } as const;
/** One coeffs entry: matrix u32, constraint u32, signal u32, Fr coefficient. */
export const COEFF_ENTRY_BYTES = 12 + FR_BYTES;

export interface Groth16Zkey {
  readonly label: string;
  /** sha256 (hex) of the whole file: the circuit id for resident bases. Computed on first read (hashing a large key takes tens of milliseconds). */
  readonly id: string;
  readonly nVars: number;
  readonly nPublic: number;
  readonly domainSize: number;
  readonly log2DomainSize: number;
  readonly nCoeffs: number;
  /** G1/G2 affine points, Montgomery LE, as stored in the zkey. */
  readonly alpha1: Uint8Array;
  readonly beta1: Uint8Array;
  readonly beta2: Uint8Array;
  readonly gamma2: Uint8Array;
  readonly delta1: Uint8Array;
  readonly delta2: Uint8Array;
  readonly ic: Uint8Array;
  /** Section 4 whole, including its leading u32 count (the buildABC input). */
  readonly coeffs: Uint8Array;
  readonly bases: CircuitBases;
  /**
   * Lets the pages of a section (coeffs, a base set) leave memory once a
   * prove is done with it; they are read again from the file if used again.
   * Does something only for a zkey from mapZkey whose file the addon mapped.
   */
  readonly releasePages?: (section: Uint8Array) => void;
}

/** Reads the whole file into memory: for keys kept and proved with many times. */
export async function readZkey(path: string): Promise<Groth16Zkey> {
  const file = await readBinFile(path, ZKEY_EXPECTATION);
  return decodeZkey(file);
}

/**
 * The key of a one-shot prove: the file mapped by the native addon (read in
 * place, no copy; see mapped-file.ts), each section's pages dropped once the
 * prove is done with it; read into memory when the addon is not built.
 */
export async function mapZkey(path: string): Promise<Groth16Zkey> {
  const { bytes, releasePages, mapped } = await mapFileBytes(path);
  return decodeZkey(parseBinFile(bytes, path, ZKEY_EXPECTATION), mapped ? releasePages : undefined);
}

export function parseZkey(bytes: Uint8Array, label: string): Groth16Zkey {
  return decodeZkey(parseBinFile(bytes, label, ZKEY_EXPECTATION));
}

function decodeZkey(file: BinFile, releasePages?: (section: Uint8Array) => void): Groth16Zkey {
  const label = file.label;
  const protocolSection = uniqueSection(file, 1, 'protocol');
  expectSectionSize(file, protocolSection, 'protocol', 4, 'a u32 protocol id');
  const protocolId = new DataView(file.bytes.buffer, file.bytes.byteOffset + protocolSection.offset, 4).getUint32(0, true);
  if (protocolId !== GROTH16_PROTOCOL_ID) {
    const name = protocolId === 2 ? 'plonk' : protocolId === 10 ? 'fflonk' : `unknown protocol ${protocolId}`;
    throw new CorruptFileError(`${label}: not a Groth16 proving key (protocol is ${name})`);
  }

  const header = decodeHeader(file);
  const { nVars, nPublic, domainSize } = header;

  const icSection = uniqueSection(file, 3, 'IC');
  expectSectionSize(file, icSection, 'IC', (nPublic + 1) * G1_AFFINE_BYTES, `nPublic = ${nPublic}`);

  const coeffsSection = uniqueSection(file, 4, 'coeffs');
  const coeffs = sectionBytes(file, coeffsSection);
  if (coeffs.byteLength < 4) throw new CorruptFileError(`${label}: section 4 (coeffs) is ${coeffs.byteLength} bytes, too short for its count`);
  const coeffView = new DataView(coeffs.buffer, coeffs.byteOffset, coeffs.byteLength);
  const nCoeffs = coeffView.getUint32(0, true);
  expectSectionSize(file, coeffsSection, 'coeffs', 4 + nCoeffs * COEFF_ENTRY_BYTES, `its count of ${nCoeffs} entries`);

  const baseSection = (type: number, what: string, count: number, pointBytes: number, why: string): Uint8Array => {
    const section = uniqueSection(file, type, what);
    expectSectionSize(file, section, what, count * pointBytes, why);
    return sectionBytes(file, section);
  };
  let fileHash: string | undefined;
  const id = () => {
    fileHash ??= createHash('sha256').update(file.bytes).digest('hex');
    return fileHash;
  };
  const bases: CircuitBases = {
    get id() {
      return id();
    },
    A: baseSection(5, 'A points', nVars, G1_AFFINE_BYTES, `nVars = ${nVars}`),
    B1: baseSection(6, 'B1 points', nVars, G1_AFFINE_BYTES, `nVars = ${nVars}`),
    B2: baseSection(7, 'B2 points', nVars, G2_AFFINE_BYTES, `nVars = ${nVars}`),
    C: baseSection(8, 'C points', nVars - nPublic - 1, G1_AFFINE_BYTES, `nVars - nPublic - 1 = ${nVars - nPublic - 1}`),
    H: baseSection(9, 'H points', domainSize, G1_AFFINE_BYTES, `domainSize = ${domainSize}`),
  };
  // After the size checks, so a wrong count in the header is reported as such.
  for (let index = 0; index < nCoeffs; index++) {
    const at = 4 + index * COEFF_ENTRY_BYTES;
    const matrix = coeffView.getUint32(at, true);
    const constraint = coeffView.getUint32(at + 4, true);
    const signal = coeffView.getUint32(at + 8, true);
    if (matrix > 1 || constraint >= domainSize || signal >= nVars) {
      throw new CorruptFileError(
        `${label}: coeffs entry ${index} is out of range (matrix ${matrix}, constraint ${constraint} of ${domainSize}, signal ${signal} of ${nVars})`,
      );
    }
  }

  return {
    label,
    get id() {
      return id();
    },
    ...header,
    nCoeffs,
    ic: sectionBytes(file, icSection),
    coeffs,
    bases,
    ...(releasePages === undefined ? {} : { releasePages }),
  };
}

function decodeHeader(file: BinFile) {
  const label = file.label;
  const section = uniqueSection(file, 2, 'groth16 header');
  const bytes = sectionBytes(file, section);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number) => {
    if (end > bytes.byteLength)
      throw new CorruptFileError(`${label}: section 2 (groth16 header) is ${bytes.byteLength} bytes, too short (needs at least ${end})`);
  };
  need(4);
  const n8q = view.getUint32(0, true);
  if (n8q !== BN254_N8) throw new CorruptFileError(`${label}: base field element size is ${n8q} bytes; only BN254 (32) is supported`);
  need(4 + n8q + 4);
  const q = readBigUintLE(bytes, 4, n8q);
  if (q !== BN254_P) throw new MismatchError(`${label}: proving key is for a curve other than BN254 (base field modulus ${q})`);
  const n8r = view.getUint32(4 + n8q, true);
  if (n8r !== BN254_N8) throw new CorruptFileError(`${label}: scalar field element size is ${n8r} bytes; only BN254 (32) is supported`);
  const afterR = 4 + n8q + 4 + n8r;
  need(afterR);
  const r = readBigUintLE(bytes, 4 + n8q + 4, n8r);
  if (r !== BN254_R) throw new MismatchError(`${label}: proving key is for a curve other than BN254 (scalar field modulus ${r})`);
  const pointsAt = afterR + 12;
  const expected_bytes = pointsAt + 3 * G1_AFFINE_BYTES + 3 * G2_AFFINE_BYTES;
  expectSectionSize(file, section, 'groth16 header', expected_bytes, 'BN254');
  const nVars = view.getUint32(afterR, true);
  const nPublic = view.getUint32(afterR + 4, true);
  const domainSize = view.getUint32(afterR + 8, true);
  if (nVars < 1) throw new CorruptFileError(`${label}: header says nVars = ${nVars}`);
  if (nPublic + 1 > nVars) throw new CorruptFileError(`${label}: header says nPublic = ${nPublic} but nVars = ${nVars}`);
  if (domainSize < 1 || (domainSize & (domainSize - 1)) !== 0 || domainSize > 2 ** 28) {
    throw new CorruptFileError(`${label}: header says domainSize = ${domainSize}, not a power of two up to 2^28`);
  }
  let cursor = pointsAt;
  const take = (size: number) => {
    const point = bytes.slice(cursor, cursor + size);
    cursor += size;
    return point;
  };
  const alpha1 = take(G1_AFFINE_BYTES);
  const beta1 = take(G1_AFFINE_BYTES);
  const beta2 = take(G2_AFFINE_BYTES);
  const gamma2 = take(G2_AFFINE_BYTES);
  const delta1 = take(G1_AFFINE_BYTES);
  const delta2 = take(G2_AFFINE_BYTES);
  return { nVars, nPublic, domainSize, log2DomainSize: Math.log2(domainSize), alpha1, beta1, beta2, gamma2, delta1, delta2 };
}
