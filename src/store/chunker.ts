/**
 * Re-cuts a byte stream of any piece sizes into chunks of exactly
 * `chunk_bytes` (the last one shorter), copying each byte once.
 */
import { assert, InvalidArgumentError } from '../errors/index.ts';

export type ByteSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export async function* fixedChunks(source: ByteSource, chunk_bytes: number): AsyncGenerator<Buffer> {
  assert(Number.isSafeInteger(chunk_bytes) && chunk_bytes > 0, `chunk_bytes must be a positive integer, got ${chunk_bytes}`);
  let chunk = Buffer.allocUnsafe(chunk_bytes);
  let filled = 0;
  for await (const piece of pieces(source)) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(chunk_bytes - filled, piece.length - offset);
      chunk.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === chunk_bytes) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunk_bytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk.subarray(0, filled);
}

async function* pieces(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw new InvalidArgumentError(`an artifact stream must yield Uint8Array pieces, got ${typeof piece}`);
    yield piece;
  }
}
