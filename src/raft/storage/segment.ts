/**
 * Segment files of the durable log.
 *
 * A segment is `seg-<generation>-<sequence>.log` (both zero-padded; segments
 * are replayed in sequence order, which is the order they were written — not
 * first-index order, since a batch that replaces a suffix may start a new
 * segment below an older segment's first index): a checksummed header
 * (files.ts envelope, magic "ZKRAFTSG", body: cluster id, node id, generation,
 * sequence, index of its first entry), then records.
 *
 * Record: payload length u32 LE | crc32(length bytes ++ payload) u32 LE | payload.
 * Payload: kind byte (1 = a batch of entries), varint count, the entries (codec).
 *
 * One record holds one whole group-commit batch and is written with one write
 * and one fdatasync. A batch is therefore all-or-nothing: a crash can leave at
 * most the last record torn, and any valid record after a bad one proves the bad
 * one had been synced (the later write only started after its fdatasync), so
 * that is corruption, not a torn tail. A later batch may start at an index at or
 * below the previous last index: it replaces that suffix (a follower overwriting
 * a conflicting tail). Nothing is ever rewritten in place.
 */
import { CorruptFileError } from '../../errors/index.ts';
import { Reader, Writer, readEntry, writeEntry } from '../codec.ts';
import type { Entry } from '../types.ts';
import { crc32, decodeEnvelope, encodeEnvelope, type Identity } from './files.ts';

export const SEGMENT_MAGIC = 'ZKRAFTSG';
export const RECORD_HEADER_BYTES = 8;
/** Upper bound on one record (one batch); bigger batches are split by the caller. */
export const RECORD_PAYLOAD_BYTES_MAX = 64 * 1024 * 1024;
const KIND_ENTRIES = 1;

const SEGMENT_NAME = /^seg-(\d{8})-(\d{12})\.log$/;

export function segmentFileName(generation: number, sequence: number): string {
  return `seg-${String(generation).padStart(8, '0')}-${String(sequence).padStart(12, '0')}.log`;
}

export function parseSegmentFileName(name: string): { generation: number; sequence: number } | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return null;
  return { generation: Number(match[1]), sequence: Number(match[2]) };
}

export interface SegmentHeader {
  readonly generation: number;
  readonly sequence: number;
  /** Index of the first entry written to the segment (informational: batches carry their own indexes). */
  readonly firstIndex: number;
}

export function encodeSegmentHeader(identity: Identity, header: SegmentHeader): Uint8Array {
  return encodeEnvelope(SEGMENT_MAGIC, identity, (w) => {
    w.varuint(header.generation);
    w.varuint(header.sequence);
    w.varuint(header.firstIndex);
  });
}

export function decodeSegmentHeader(bytes: Buffer, identity: Identity, file: string): SegmentHeader & { length_bytes: number } {
  const { body, length_bytes } = decodeEnvelope(bytes, SEGMENT_MAGIC, identity, file);
  const generation = body.varuint();
  const sequence = body.varuint();
  const firstIndex = body.varuint();
  body.expectEnd();
  return { generation, sequence, firstIndex, length_bytes };
}

/** One record holding a batch of consecutive entries. */
export function encodeBatchRecord(entries: readonly Entry[]): Buffer {
  const w = new Writer(64 + entries.reduce((sum, e) => sum + e.data.length + 24, 0));
  w.byte(KIND_ENTRIES);
  w.varuint(entries.length);
  for (const e of entries) writeEntry(w, e);
  const payload = w.finish();
  if (payload.length > RECORD_PAYLOAD_BYTES_MAX) {
    throw new CorruptFileError(`log batch of ${payload.length} bytes exceeds the record limit of ${RECORD_PAYLOAD_BYTES_MAX}`);
  }
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.set(payload, RECORD_HEADER_BYTES);
  record.writeUInt32LE(crc32(payload, crc32(record.subarray(0, 4))), 4);
  return record;
}

function decodeBatchPayload(payload: Uint8Array, file: string, offset: number): Entry[] {
  const r = new Reader(payload, `${file} record at offset ${offset}`);
  const kind = r.byte();
  if (kind !== KIND_ENTRIES) throw new CorruptFileError(`${file}: unknown record kind ${kind} at offset ${offset}`);
  const count = r.varuint();
  if (count === 0 || count > r.remaining) throw new CorruptFileError(`${file}: bad entry count ${count} at offset ${offset}`);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const e = readEntry(r);
    if (i > 0 && e.index !== entries[i - 1]!.index + 1) {
      throw new CorruptFileError(`${file}: entries in the record at offset ${offset} are not consecutive`);
    }
    entries.push(e);
  }
  r.expectEnd();
  return entries;
}

/** Whether a checksum-valid record starts at `offset` (and, if so, its total length). */
function validRecordAt(bytes: Buffer, offset: number): number | null {
  if (offset + RECORD_HEADER_BYTES > bytes.length) return null;
  const length = bytes.readUInt32LE(offset);
  if (length === 0 || length > RECORD_PAYLOAD_BYTES_MAX) return null;
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) return null;
  const stored = bytes.readUInt32LE(offset + 4);
  const computed = crc32(bytes.subarray(offset + RECORD_HEADER_BYTES, end), crc32(bytes.subarray(offset, offset + 4)));
  return stored === computed ? end - offset : null;
}

export interface ScannedBatch {
  readonly offset: number;
  readonly entries: Entry[];
}

export interface ScannedSegment {
  readonly header: SegmentHeader;
  readonly batches: ScannedBatch[];
  /** Where valid data ends (the file size when nothing was torn). */
  readonly validEnd_bytes: number;
  /** Bytes after validEnd that were an incomplete last record (0 when clean). */
  readonly tornTail_bytes: number;
  /** Zero bytes after validEnd: space preallocated for later records (0 when none). */
  readonly preallocated_bytes: number;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether bytes[from..] are all zero (a preallocated tail; no record has length 0). */
export function isZeroTail(bytes: Buffer, from: number): boolean {
  for (let at = from; at < bytes.length; at += ZEROS.length) {
    const end = Math.min(bytes.length, at + ZEROS.length);
    if (bytes.compare(ZEROS, 0, end - at, at, end) !== 0) return false;
  }
  return true;
}

/**
 * Reads a whole segment. A bad record followed by any valid record is
 * corruption (CorruptFileError naming the file and offset); a bad record with
 * nothing valid after it is a torn tail, reported through tornTail_bytes and
 * left to the caller (which only accepts it in the last segment).
 */
export function scanSegment(bytes: Buffer, identity: Identity, file: string): ScannedSegment {
  const header = decodeSegmentHeader(bytes, identity, file);
  const batches: ScannedBatch[] = [];
  let offset = header.length_bytes;
  while (offset < bytes.length) {
    const length = validRecordAt(bytes, offset);
    if (length === null && isZeroTail(bytes, offset)) {
      // The writer extends a segment with zeros ahead of its records (so that
      // fdatasync need not journal a size change per batch); a torn record
      // leaves non-zero bytes here and is handled below.
      return {
        header: { generation: header.generation, sequence: header.sequence, firstIndex: header.firstIndex },
        batches,
        validEnd_bytes: offset,
        tornTail_bytes: 0,
        preallocated_bytes: bytes.length - offset,
      };
    }
    if (length === null) {
      // Search every later byte offset for a valid record: the bad record's own
      // length field may be the damaged part, so its claimed end proves nothing.
      for (let probe = offset + 1; probe + RECORD_HEADER_BYTES < bytes.length; probe++) {
        if (validRecordAt(bytes, probe) !== null) {
          throw new CorruptFileError(
            `${file}: corrupt record at offset ${offset} is followed by a valid record at offset ${probe}; ` +
              'the log is damaged in the middle (not a torn write) and needs repair from a peer',
          );
        }
      }
      return {
        header: { generation: header.generation, sequence: header.sequence, firstIndex: header.firstIndex },
        batches,
        validEnd_bytes: offset,
        tornTail_bytes: bytes.length - offset,
        preallocated_bytes: 0,
      };
    }
    const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + length);
    batches.push({ offset, entries: decodeBatchPayload(payload, file, offset) });
    offset += length;
  }
  return {
    header: { generation: header.generation, sequence: header.sequence, firstIndex: header.firstIndex },
    batches,
    validEnd_bytes: offset,
    tornTail_bytes: 0,
    preallocated_bytes: 0,
  };
}
