/**
 * Circuit artifacts (wasm, zkey, vkey, large job inputs) as content-addressed
 * chunks. An upload writes its chunks under a temporary key, one short
 * statement each (no transaction spans the upload, so in embedded mode other
 * connections are not held up by a large one), and a final transaction
 * either gives them the content's sha256 and writes the artifacts row, or,
 * when that content is already stored, deletes them: the same content twice
 * is one copy. A row in `artifacts` therefore means every chunk is present.
 */
import { createHash, randomUUID } from 'node:crypto';
import { assert, CorruptFileError, InvalidArgumentError, MismatchError, NotFoundError } from '../errors/index.ts';
import { type ByteSource, fixedChunks } from './chunker.ts';
import type { Database } from './database.ts';

export interface PutArtifactOptions {
  /** What the bytes are, e.g. "wasm", "zkey", "vkey", "input", "wtns". Recorded by the first put of the content. */
  readonly kind: string;
  /** When given, content with another hash is refused with MismatchError and nothing is stored. */
  readonly expectSha256?: string;
  /** When given, content of another length is refused with MismatchError and nothing is stored (the upload stops as soon as it is longer). */
  readonly expectBytes?: number;
}

export interface PutArtifactResult {
  readonly sha256: string;
  readonly bytes: number;
  /** true when this content was already stored (nothing new was written). */
  readonly alreadyStored: boolean;
}

export interface ArtifactInfo {
  readonly sha256: string;
  readonly kind: string;
  readonly bytes: number;
  readonly chunk_count: number;
  readonly chunk_bytes: number;
  readonly created_ms: number;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;
const KIND_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const UPLOAD_KEY_PREFIX = 'upload:';

/** Lower-cases and checks a sha256 given by a caller; throws InvalidArgumentError naming `what`. */
export function normalizeSha256(sha256: unknown, what = 'sha256'): string {
  const normalized = typeof sha256 === 'string' ? sha256.toLowerCase() : '';
  if (!SHA256_PATTERN.test(normalized)) throw new InvalidArgumentError(`${what} must be 64 hex digits, got ${JSON.stringify(sha256)}`);
  return normalized;
}

interface ArtifactRow {
  sha256: string;
  kind: string;
  bytes: string;
  chunk_count: number;
  chunk_bytes: number;
  created_ms: string;
}

export class ArtifactStore {
  constructor(
    private readonly database: Database,
    private readonly chunk_bytes: number,
  ) {
    assert(Number.isSafeInteger(chunk_bytes) && chunk_bytes > 0, `chunk_bytes must be a positive integer, got ${chunk_bytes}`);
  }

  async put(source: ByteSource, options: PutArtifactOptions): Promise<PutArtifactResult> {
    const kind = checkKind(options?.kind);
    const expectSha256 = options.expectSha256 === undefined ? undefined : normalizeSha256(options.expectSha256, 'expectSha256');
    const expectBytes = options.expectBytes;
    if (expectBytes !== undefined && !(Number.isSafeInteger(expectBytes) && expectBytes >= 0)) {
      throw new InvalidArgumentError(`expectBytes must be a non-negative integer, got ${expectBytes}`);
    }
    if (expectSha256 !== undefined && (await this.info(expectSha256)) !== null) {
      // Stored already: read the content only to check the caller's claim about it.
      const { sha256, bytes } = await digestOnly(source, expectBytes);
      checkExpectations(sha256, bytes, expectSha256, expectBytes);
      return { sha256, bytes, alreadyStored: true };
    }
    return this.upload(source, kind, expectSha256, expectBytes);
  }

  async info(sha256: string): Promise<ArtifactInfo | null> {
    const key = normalizeSha256(sha256);
    const result = await this.database.query<ArtifactRow>(
      {
        text: `SELECT sha256, kind, bytes, chunk_count, chunk_bytes, (extract(epoch FROM created) * 1000)::bigint AS created_ms
               FROM artifacts WHERE sha256 = $1`,
        values: [key],
      },
      `reading artifact ${key}`,
    );
    const row = result.rows[0];
    if (row === undefined) return null;
    return {
      sha256: row.sha256,
      kind: row.kind,
      bytes: Number(row.bytes),
      chunk_count: row.chunk_count,
      chunk_bytes: row.chunk_bytes,
      created_ms: Number(row.created_ms),
    };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.info(sha256)) !== null;
  }

  async get(sha256: string): Promise<Buffer> {
    const info = await this.requireInfo(sha256);
    const content = Buffer.allocUnsafe(info.bytes);
    let offset = 0;
    for await (const chunk of this.chunksOf(info)) {
      chunk.copy(content, offset);
      offset += chunk.length;
    }
    return content;
  }

  /**
   * The content chunk by chunk, one query per chunk. The hash is checked as
   * the chunks go by; a mismatch (or a missing chunk) throws CorruptFileError
   * at the point it is found, so a consumer writing a file must discard it
   * when the iteration throws.
   */
  async *stream(sha256: string): AsyncGenerator<Buffer> {
    const info = await this.requireInfo(sha256);
    yield* this.chunksOf(info);
  }

  /** Deletes uploads started more than `olderThan_ms` ago and still unfinished (their process died). Returns how many. */
  async removeAbandonedUploads(olderThan_ms: number): Promise<number> {
    return this.database.transaction('removing abandoned artifact uploads', async (tx) => {
      const stale = await tx.query<{ upload_key: string }>({
        text: `DELETE FROM artifact_uploads WHERE started < now() - make_interval(secs => $1::double precision / 1000) RETURNING upload_key`,
        values: [olderThan_ms],
      });
      const keys = stale.rows.map((row) => row.upload_key);
      if (keys.length > 0) await tx.query({ text: 'DELETE FROM artifact_chunks WHERE sha256 = ANY($1::text[])', values: [keys] });
      return keys.length;
    });
  }

  private async requireInfo(sha256: string): Promise<ArtifactInfo> {
    const info = await this.info(sha256);
    if (info === null) throw new NotFoundError(`artifact ${normalizeSha256(sha256)} is not stored`);
    return info;
  }

  private async *chunksOf(info: ArtifactInfo): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    for (let seq = 0; seq < info.chunk_count; seq++) {
      const result = await this.database.query<{ data: Buffer }>(
        { text: 'SELECT data FROM artifact_chunks WHERE sha256 = $1 AND seq = $2', values: [info.sha256, seq] },
        `reading artifact ${info.sha256} chunk ${seq}`,
      );
      const data = result.rows[0]?.data;
      if (data === undefined) throw new CorruptFileError(`artifact ${info.sha256}: chunk ${seq} of ${info.chunk_count} is missing from the store`);
      const expected_bytes = seq < info.chunk_count - 1 ? info.chunk_bytes : info.bytes - info.chunk_bytes * (info.chunk_count - 1);
      if (data.length !== expected_bytes) {
        throw new CorruptFileError(`artifact ${info.sha256}: chunk ${seq} holds ${data.length} bytes; expected ${expected_bytes}`);
      }
      hash.update(data);
      if (seq === info.chunk_count - 1) checkStoredDigest(info.sha256, hash.digest('hex'));
      yield data;
    }
    if (info.chunk_count === 0) checkStoredDigest(info.sha256, hash.digest('hex'));
  }

  private async upload(source: ByteSource, kind: string, expectSha256: string | undefined, expectBytes: number | undefined): Promise<PutArtifactResult> {
    const uploadKey = `${UPLOAD_KEY_PREFIX}${randomUUID()}`;
    await this.database.query(
      { text: 'INSERT INTO artifact_uploads (upload_key, kind) VALUES ($1, $2)', values: [uploadKey, kind] },
      'starting an artifact upload',
    );
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      let seq = 0;
      for await (const chunk of fixedChunks(source, this.chunk_bytes)) {
        bytes += chunk.length;
        if (expectBytes !== undefined && bytes > expectBytes) {
          throw new MismatchError(`artifact content is longer than the ${expectBytes} bytes expected; nothing was stored`);
        }
        hash.update(chunk);
        await this.database.query(
          { text: 'INSERT INTO artifact_chunks (sha256, seq, data) VALUES ($1, $2, $3)', values: [uploadKey, seq, chunk] },
          `writing artifact chunk ${seq}`,
        );
        seq++;
      }
      const sha256 = hash.digest('hex');
      checkExpectations(sha256, bytes, expectSha256, expectBytes);
      const chunk_count = seq;
      const stored = await this.database.transaction(`storing artifact ${sha256}`, async (tx) => {
        const inserted = await tx.query({
          text: `INSERT INTO artifacts (sha256, kind, bytes, chunk_count, chunk_bytes) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (sha256) DO NOTHING RETURNING sha256`,
          values: [sha256, kind, bytes, chunk_count, this.chunk_bytes],
        });
        const isNew = inserted.rowCount === 1;
        if (isNew) {
          const moved = await tx.query({ text: 'UPDATE artifact_chunks SET sha256 = $1 WHERE sha256 = $2', values: [sha256, uploadKey] });
          assert(moved.rowCount === chunk_count, `artifact ${sha256}: ${moved.rowCount} chunks moved, ${chunk_count} written`);
        } else {
          await tx.query({ text: 'DELETE FROM artifact_chunks WHERE sha256 = $1', values: [uploadKey] });
        }
        await tx.query({ text: 'DELETE FROM artifact_uploads WHERE upload_key = $1', values: [uploadKey] });
        return isNew;
      });
      return { sha256, bytes, alreadyStored: !stored };
    } catch (error) {
      await this.discardUpload(uploadKey);
      throw error;
    }
  }

  /** Best effort: when the database is down this fails too, and removeAbandonedUploads collects the chunks later. */
  private async discardUpload(uploadKey: string): Promise<void> {
    try {
      await this.database.transaction('discarding an artifact upload', async (tx) => {
        await tx.query({ text: 'DELETE FROM artifact_chunks WHERE sha256 = $1', values: [uploadKey] });
        await tx.query({ text: 'DELETE FROM artifact_uploads WHERE upload_key = $1', values: [uploadKey] });
      });
    } catch {
      // Left for removeAbandonedUploads.
    }
  }
}

function checkKind(kind: unknown): string {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    throw new InvalidArgumentError(`artifact kind must be 1-64 characters of a-z, 0-9, ".", "_", "-" (e.g. "zkey"), got ${JSON.stringify(kind)}`);
  }
  return kind;
}

function checkExpectations(sha256: string, bytes: number, expectSha256: string | undefined, expectBytes: number | undefined): void {
  if (expectSha256 !== undefined && sha256 !== expectSha256) {
    throw new MismatchError(`artifact content has sha256 ${sha256} but ${expectSha256} was expected; nothing was stored`);
  }
  if (expectBytes !== undefined && bytes !== expectBytes) {
    throw new MismatchError(`artifact content is ${bytes} bytes but ${expectBytes} were expected; nothing was stored`);
  }
}

function checkStoredDigest(sha256: string, actual: string): void {
  if (actual !== sha256) throw new CorruptFileError(`artifact ${sha256}: the stored chunks hash to ${actual}`);
}

async function digestOnly(source: ByteSource, expectBytes: number | undefined): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fixedChunks(source, 1 << 20)) {
    bytes += chunk.length;
    if (expectBytes !== undefined && bytes > expectBytes) {
      throw new MismatchError(`artifact content is longer than the ${expectBytes} bytes expected; nothing was stored`);
    }
    hash.update(chunk);
  }
  return { sha256: hash.digest('hex'), bytes };
}
