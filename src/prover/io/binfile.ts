/**
 * The iden3 binary container used by `.zkey`, `.wtns` and `.r1cs` files:
 *
 *   magic (4 ASCII bytes) | version u32 | nSections u32 |
 *   nSections x ( type u32 | size u64 | size bytes of data )
 *
 * All integers are little-endian. Sections follow each other with no gaps, so
 * a corrupt size shows up either as a section running past the end of the file
 * (truncated) or as a table that does not end exactly at the end of the file.
 */
import { readFile } from 'node:fs/promises';
import { CorruptFileError, NotFoundError, assert } from '../../errors/index.ts';

export interface Section {
  readonly type: number;
  /** Byte offset of the section's data (after its 12-byte header). */
  readonly offset: number;
  readonly size: number;
}

export interface BinFile {
  /** What the file is called in error messages (usually its path). */
  readonly label: string;
  readonly magic: string;
  readonly version: number;
  readonly bytes: Uint8Array;
  readonly sections: readonly Section[];
}

const FILE_HEADER_BYTES = 12;
const SECTION_HEADER_BYTES = 12;
/** No known format has more; a larger count means a corrupt header. */
const SECTIONS_MAX = 1024;

export interface BinFileExpectation {
  readonly magic: string;
  readonly versions: readonly number[];
}

export function parseBinFile(bytes: Uint8Array, label: string, expected: BinFileExpectation): BinFile {
  assert(expected.magic.length === 4, 'magic is 4 characters');
  if (bytes.byteLength < FILE_HEADER_BYTES) {
    throw new CorruptFileError(`${label}: file is ${bytes.byteLength} bytes, too short to be a .${expected.magic} file (truncated or empty?)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== expected.magic) {
    throw new CorruptFileError(`${label}: not a .${expected.magic} file (starts with ${JSON.stringify(magic)}, expected ${JSON.stringify(expected.magic)})`);
  }
  const version = view.getUint32(4, true);
  if (!expected.versions.includes(version)) {
    throw new CorruptFileError(`${label}: unsupported .${expected.magic} version ${version} (supported: ${expected.versions.join(', ')})`);
  }
  const sectionCount = view.getUint32(8, true);
  if (sectionCount > SECTIONS_MAX) {
    throw new CorruptFileError(`${label}: header claims ${sectionCount} sections (at most ${SECTIONS_MAX} expected); the header is corrupt`);
  }

  const sections: Section[] = [];
  let cursor = FILE_HEADER_BYTES;
  for (let index = 0; index < sectionCount; index++) {
    if (cursor + SECTION_HEADER_BYTES > bytes.byteLength) {
      throw new CorruptFileError(
        `${label}: truncated: section ${index + 1} of ${sectionCount} starts at byte ${cursor} but the file has ${bytes.byteLength} bytes`,
      );
    }
    const type = view.getUint32(cursor, true);
    const sizeLow = view.getUint32(cursor + 4, true);
    const sizeHigh = view.getUint32(cursor + 8, true);
    const size = sizeHigh * 2 ** 32 + sizeLow;
    const offset = cursor + SECTION_HEADER_BYTES;
    if (sizeHigh >= 2 ** 21 || offset + size > bytes.byteLength) {
      throw new CorruptFileError(
        `${label}: truncated or corrupt: section type ${type} claims ${size} bytes at byte ${offset} but the file ends at byte ${bytes.byteLength}`,
      );
    }
    sections.push({ type, offset, size });
    cursor = offset + size;
  }
  if (cursor !== bytes.byteLength) {
    throw new CorruptFileError(`${label}: corrupt section table: sections end at byte ${cursor} but the file has ${bytes.byteLength} bytes`);
  }
  // Sequential parsing cannot produce overlap; this checks the invariant the readers rely on.
  for (let index = 1; index < sections.length; index++) {
    const before = sections[index - 1]!;
    assert(before.offset + before.size <= sections[index]!.offset, 'sections do not overlap');
  }
  return { label, magic, version, bytes, sections };
}

/** Reads a whole container file; a missing file is a NotFoundError naming it. */
export async function readBinFile(path: string, expected: BinFileExpectation): Promise<BinFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileReadError(path, error);
  }
  return parseBinFile(bytes, path, expected);
}

export function fileReadError(path: string, error: unknown): Error {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ENOENT') return new NotFoundError(`${path}: no such file`);
  if (code === 'EISDIR') return new NotFoundError(`${path}: is a directory, expected a file`);
  if (code === 'EACCES') return new NotFoundError(`${path}: permission denied`);
  return error instanceof Error ? error : new Error(String(error));
}

/** The one section of a type; missing or repeated is corrupt. */
export function uniqueSection(file: BinFile, type: number, what: string): Section {
  const found = file.sections.filter((section) => section.type === type);
  if (found.length === 0) throw new CorruptFileError(`${file.label}: missing section ${type} (${what})`);
  if (found.length > 1) throw new CorruptFileError(`${file.label}: section ${type} (${what}) appears ${found.length} times`);
  return found[0]!;
}

export function sectionBytes(file: BinFile, section: Section): Uint8Array {
  return file.bytes.subarray(section.offset, section.offset + section.size);
}

export function expectSectionSize(file: BinFile, section: Section, what: string, expected_bytes: number, why: string): void {
  if (section.size !== expected_bytes) {
    throw new CorruptFileError(`${file.label}: section ${section.type} (${what}) is ${section.size} bytes but ${why} requires ${expected_bytes}`);
  }
}

/** Little-endian unsigned integer of any byte length. */
export function readBigUintLE(bytes: Uint8Array, offset: number, length: number): bigint {
  let value = 0n;
  for (let index = length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[offset + index]!);
  return value;
}
