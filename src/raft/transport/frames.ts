/**
 * Frames on a peer stream: each gRPC message is one frame.
 *
 * - A whole message batch: the bytes of codec.encodeMessageBatch. Its first
 *   byte is never 0 (a batch is never empty, and the varint of a count >= 1
 *   starts with a non-zero byte).
 * - A piece of a batch too big for one gRPC message (in practice a snapshot):
 *   0x00 | total length varint | offset varint | bytes. The pieces of one
 *   batch follow each other on the stream, in order, nothing in between.
 *
 * A gRPC message is capped (FRAME_BYTES_MAX), and one too big was dropped by
 * grpc-js; a follower that needed a snapshot above the cap never caught up.
 */
import { CorruptFileError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';

/** Batches above this travel in pieces of this size. */
export const PIECE_BYTES = 8 * 1024 * 1024;
/** The largest batch (snapshot) the transport carries; the receiver holds one at most this big while it arrives. */
export const BATCH_BYTES_MAX = 1024 * 1024 * 1024;

const PIECE_MARK = 0;

/** The frames that carry `batch`: itself, or its pieces. */
export function framesOf(batch: Uint8Array): Buffer[] {
  if (batch.length <= PIECE_BYTES) return [Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength)];
  const frames: Buffer[] = [];
  for (let offset = 0; offset < batch.length; offset += PIECE_BYTES) {
    const piece = batch.subarray(offset, Math.min(batch.length, offset + PIECE_BYTES));
    const header = new Writer(24);
    header.byte(PIECE_MARK);
    header.varuint(batch.length);
    header.varuint(offset);
    frames.push(Buffer.concat([header.finish(), piece]));
  }
  return frames;
}

/** Reassembles pieces; one per incoming stream. */
export class BatchAssembler {
  private buffer: Buffer | null = null;
  private received = 0;

  /**
   * Returns the batch a frame completes (a whole-batch frame at once), or
   * null while pieces are still missing. Throws CorruptFileError for a piece
   * out of order or a batch above BATCH_BYTES_MAX.
   */
  accept(frame: Buffer): Uint8Array | null {
    if (frame.length === 0) throw new CorruptFileError('raft frame: empty');
    if (frame[0] !== PIECE_MARK) {
      if (this.buffer !== null) this.fail(`a whole batch arrived while a batch of ${this.buffer.length} bytes had ${this.received} bytes in`);
      return frame;
    }
    const r = new Reader(frame, 'raft frame piece');
    r.byte();
    const total = r.varuint();
    const offset = r.varuint();
    const bytes = frame.subarray(frame.length - r.remaining);
    if (offset === 0) {
      if (this.buffer !== null) this.fail(`a new batch started while a batch of ${this.buffer.length} bytes had ${this.received} bytes in`);
      if (total > BATCH_BYTES_MAX) this.fail(`a batch of ${total} bytes is above the ${BATCH_BYTES_MAX}-byte limit`);
      this.buffer = Buffer.allocUnsafe(total);
      this.received = 0;
    }
    if (this.buffer === null || total !== this.buffer.length || offset !== this.received || offset + bytes.length > total) {
      this.fail(`piece at ${offset} of a ${total}-byte batch does not follow the ${this.received} bytes received`);
    }
    bytes.copy(this.buffer, offset);
    this.received += bytes.length;
    if (this.received < total) return null;
    const whole = this.buffer;
    this.buffer = null;
    this.received = 0;
    return whole;
  }

  private fail(problem: string): never {
    this.buffer = null;
    this.received = 0;
    throw new CorruptFileError(`raft frame: ${problem}`);
  }
}
