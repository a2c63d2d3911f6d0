/**
 * Writes a Groth16 `.zkey` in snarkjs's layout (see src/prover/io/zkey.ts for
 * the sections), in the order snarkjs's zkey_new.js writes them: 1, 2, 4, 3,
 * 9, 8, 5, 6, 7, 10. Points are affine, Montgomery, little-endian, as the
 * native fixed-base multiplication returns them. The file is written under a
 * temporary name and renamed, so a failed setup leaves no partial key.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { NotFoundError } from '../errors/index.ts';
import { BN254_N8, BN254_P, BN254_R } from '../prover/io/bn254.ts';
import { viewOf, writeFr } from './fr.ts';

const GROTH16_PROTOCOL_ID = 1;
/** snarkjs's circuit hash (blake2b-512) slot in section 10. */
const CIRCUIT_HASH_BYTES = 64;
const WRITE_CHUNK_BYTES = 64 << 20;

export interface ZkeyContents {
  readonly nVars: number;
  readonly nPublic: number;
  readonly domainSize: number;
  /** G1 points: 64 bytes each; G2 points: 128 bytes each. */
  readonly alpha1: Uint8Array;
  readonly beta1: Uint8Array;
  readonly beta2: Uint8Array;
  readonly gamma2: Uint8Array;
  readonly delta1: Uint8Array;
  readonly delta2: Uint8Array;
  readonly ic: Uint8Array;
  readonly coeffs: Uint8Array;
  readonly a: Uint8Array;
  readonly b1: Uint8Array;
  readonly b2: Uint8Array;
  readonly c: Uint8Array;
  readonly h: Uint8Array;
}

export async function writeZkey(path: string, key: ZkeyContents): Promise<void> {
  const sections: [number, Uint8Array[]][] = [
    [1, [u32(GROTH16_PROTOCOL_ID)]],
    [2, [groth16Header(key)]],
    [4, [key.coeffs]],
    [3, [key.ic]],
    [9, [key.h]],
    [8, [key.c]],
    [5, [key.a]],
    [6, [key.b1]],
    [7, [key.b2]],
    // No contributions; the circuit hash is left zero (a development key belongs to no ceremony).
    [10, [new Uint8Array(CIRCUIT_HASH_BYTES), u32(0)]],
  ];
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w').catch((error: unknown) => {
    throw writeError(path, error);
  });
  try {
    const fileHeader = new Uint8Array(12);
    fileHeader.set(new TextEncoder().encode('zkey'), 0);
    viewOf(fileHeader).setUint32(4, 1, true);
    viewOf(fileHeader).setUint32(8, sections.length, true);
    await writeAll(file, fileHeader);
    for (const [type, parts] of sections) {
      const sectionHeader = new Uint8Array(12);
      viewOf(sectionHeader).setUint32(0, type, true);
      viewOf(sectionHeader).setBigUint64(4, BigInt(parts.reduce((total, part) => total + part.byteLength, 0)), true);
      await writeAll(file, sectionHeader);
      for (const part of parts) await writeAll(file, part);
    }
    await file.close();
    await rename(temporary, path);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(temporary, { force: true });
    throw writeError(path, error);
  }
}

/** A write may be partial, and one call takes at most 2 GiB: write in chunks until done. */
async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; ) {
    const chunk = bytes.subarray(offset, Math.min(bytes.byteLength, offset + WRITE_CHUNK_BYTES));
    const { bytesWritten } = await file.write(chunk);
    offset += bytesWritten;
  }
}

function groth16Header(key: ZkeyContents): Uint8Array {
  const points = [key.alpha1, key.beta1, key.beta2, key.gamma2, key.delta1, key.delta2];
  const bytes = new Uint8Array(4 + BN254_N8 + 4 + BN254_N8 + 12 + points.reduce((total, point) => total + point.byteLength, 0));
  const view = viewOf(bytes);
  let cursor = 0;
  view.setUint32(cursor, BN254_N8, true);
  writeFr(view, cursor + 4, BN254_P);
  cursor += 4 + BN254_N8;
  view.setUint32(cursor, BN254_N8, true);
  writeFr(view, cursor + 4, BN254_R);
  cursor += 4 + BN254_N8;
  view.setUint32(cursor, key.nVars, true);
  view.setUint32(cursor + 4, key.nPublic, true);
  view.setUint32(cursor + 8, key.domainSize, true);
  cursor += 12;
  for (const point of points) {
    bytes.set(point, cursor);
    cursor += point.byteLength;
  }
  return bytes;
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  viewOf(bytes).setUint32(0, value, true);
  return bytes;
}

function writeError(path: string, error: unknown): Error {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ENOENT') return new NotFoundError(`${path}: cannot write: its directory does not exist`);
  if (code === 'EACCES' || code === 'EPERM') return new NotFoundError(`${path}: cannot write: permission denied`);
  if (code === 'EISDIR') return new NotFoundError(`${path}: cannot write: is a directory`);
  return error instanceof Error ? error : new Error(String(error));
}
