/**
 * Small durable-file helpers: checksums, the checksummed envelope used by every
 * file the log storage writes, atomic replace, and directory fsync.
 *
 * Envelope: magic (8 ASCII bytes) | version u16 LE | body length u32 LE | body |
 * crc32 u32 LE over everything before it. The body always starts with the
 * cluster id and node id (codec strings), so a file copied from another node
 * or cluster is refused by name rather than silently used.
 */
import path from 'node:path';
import zlib from 'node:zlib';
import { assert, CorruptFileError, MismatchError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';
import type { LogFileSystem } from './file-system.ts';

export const FORMAT_VERSION = 1;
const MAGIC_BYTES = 8;
export const ENVELOPE_OVERHEAD_BYTES = MAGIC_BYTES + 2 + 4 + 4;

/** CRC-32 (IEEE) from zlib: native, and plenty to detect torn or flipped bytes. */
export function crc32(data: Uint8Array, initial = 0): number {
  return zlib.crc32(data, initial);
}

export interface Identity {
  readonly clusterId: string;
  readonly nodeId: string;
}

/** `bodyCapacity_bytes`: a size hint, so a large body (a snapshot) is not copied at every doubling of the buffer. */
export function encodeEnvelope(magic: string, identity: Identity, writeBody: (w: Writer) => void, bodyCapacity_bytes = 128): Uint8Array {
  assert(magic.length === MAGIC_BYTES, () => `magic must be ${MAGIC_BYTES} characters: ${magic}`);
  const body = new Writer(bodyCapacity_bytes);
  body.string(identity.clusterId);
  body.string(identity.nodeId);
  writeBody(body);
  const bodyBytes = body.finish();
  const out = Buffer.alloc(ENVELOPE_OVERHEAD_BYTES + bodyBytes.length);
  out.write(magic, 0, 'latin1');
  out.writeUInt16LE(FORMAT_VERSION, MAGIC_BYTES);
  out.writeUInt32LE(bodyBytes.length, MAGIC_BYTES + 2);
  out.set(bodyBytes, MAGIC_BYTES + 6);
  const crcOffset = MAGIC_BYTES + 6 + bodyBytes.length;
  out.writeUInt32LE(crc32(out.subarray(0, crcOffset)), crcOffset);
  return out;
}

/**
 * Parses an envelope at the start of `bytes`; checks magic, version, checksum
 * and identity. Returns the body reader (positioned after the ids) and the
 * envelope's total length.
 */
export function decodeEnvelope(bytes: Buffer, magic: string, expected: Identity, file: string): { body: Reader; length_bytes: number } {
  if (bytes.length < ENVELOPE_OVERHEAD_BYTES) {
    throw new CorruptFileError(`${file}: header is truncated (${bytes.length} bytes)`);
  }
  const foundMagic = bytes.toString('latin1', 0, MAGIC_BYTES);
  if (foundMagic !== magic) throw new CorruptFileError(`${file}: bad magic ${JSON.stringify(foundMagic)}, expected ${magic}`);
  const version = bytes.readUInt16LE(MAGIC_BYTES);
  if (version !== FORMAT_VERSION) {
    throw new CorruptFileError(`${file}: format version ${version} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const bodyLength = bytes.readUInt32LE(MAGIC_BYTES + 2);
  const crcOffset = MAGIC_BYTES + 6 + bodyLength;
  if (crcOffset + 4 > bytes.length) throw new CorruptFileError(`${file}: header body of ${bodyLength} bytes is truncated`);
  const stored = bytes.readUInt32LE(crcOffset);
  const computed = crc32(bytes.subarray(0, crcOffset));
  if (stored !== computed) throw new CorruptFileError(`${file}: header checksum mismatch at offset 0`);
  const body = new Reader(bytes.subarray(MAGIC_BYTES + 6, crcOffset), file);
  const clusterId = body.string();
  const nodeId = body.string();
  if (clusterId !== expected.clusterId || nodeId !== expected.nodeId) {
    throw new MismatchError(
      `${file} belongs to cluster ${JSON.stringify(clusterId)} node ${JSON.stringify(nodeId)}, ` +
        `but this is cluster ${JSON.stringify(expected.clusterId)} node ${JSON.stringify(expected.nodeId)}`,
    );
  }
  return { body, length_bytes: crcOffset + 4 };
}

/**
 * Replaces `dir/name` atomically: after a crash the file holds either the old
 * or the new bytes, never a mix. Write a temp file, fdatasync it, rename over
 * the target, fsync the directory (which makes the rename durable).
 */
export function writeFileAtomic(fs: LogFileSystem, dir: string, name: string, bytes: Uint8Array): void {
  const target = path.join(dir, name);
  const temp = path.join(dir, `${name}.tmp`);
  const fd = fs.openSync(temp, 'create');
  try {
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, null);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.rename(temp, target);
  fs.fsyncDir(dir);
}
