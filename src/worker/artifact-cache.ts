/**
 * Circuit artifacts (wasm, zkey, vkey) by content hash, fetched from the
 * coordinators and kept on disk as `<dir>/<sha256>`.
 *
 * - A fetch streams into a temporary file in the same directory, hashing as
 *   it goes; the file is fsynced and renamed into place only when its sha256
 *   is the one asked for, so a reader never sees a partial or wrong file
 *   (several worker processes may share one directory: temporary names carry
 *   the pid and random bytes, and rename is atomic).
 * - Every read of a cached file hashes the bytes read; a file that no longer
 *   matches its name (disk corruption, a stray edit) is deleted and fetched
 *   again.
 * - Concurrent requests for one hash share one fetch.
 * - Job inputs too large for the Raft log are fetched the same way but only
 *   into memory (fetchUncached): they are used once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, InvalidArgumentError, assert } from '../errors/index.ts';
import { silentWorkerLogger, type WorkerLogger } from './options.ts';

/** Streams an artifact's bytes from wherever it lives (the coordinators' FetchArtifact). */
export type ArtifactSource = (sha256: string, signal: AbortSignal | undefined) => AsyncIterable<Uint8Array>;

export interface ArtifactCacheOptions {
  readonly dir: string;
  readonly source: ArtifactSource;
  readonly logger?: WorkerLogger;
}

export interface GetArtifactOptions {
  /** The size the circuit record gives (0 or absent: unknown); a longer stream is cut off as corrupt. */
  readonly expected_bytes?: number;
  /** For messages: "zkey of circuit mulchain". */
  readonly what?: string;
  readonly signal?: AbortSignal;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A hash mismatch may be a transfer fault: fetch once more before reporting it. */
const FETCH_ATTEMPTS = 2;

export function checkSha256(sha256: string, what: string): string {
  if (!SHA256_HEX.test(sha256)) throw new InvalidArgumentError(`${what}: ${JSON.stringify(sha256)} is not a sha256 (64 lowercase hex digits)`);
  return sha256;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ArtifactCache {
  readonly dir: string;
  readonly #source: ArtifactSource;
  readonly #logger: WorkerLogger;
  readonly #inFlight = new Map<string, Promise<Buffer>>();
  /** Counters for tests and logs. */
  readonly stats = { hits: 0, fetches: 0, corruptCached: 0, corruptFetched: 0 };

  constructor(options: ArtifactCacheOptions) {
    this.dir = options.dir;
    this.#source = options.source;
    this.#logger = options.logger ?? silentWorkerLogger;
  }

  /** Where the artifact lives once cached. */
  pathOf(sha256: string): string {
    return join(this.dir, checkSha256(sha256, 'artifact'));
  }

  /** The artifact's bytes: from the cache when its file still matches, else fetched (and cached). */
  get(sha256: string, options: GetArtifactOptions = {}): Promise<Buffer> {
    const what = options.what ?? `artifact ${sha256}`;
    try {
      checkSha256(sha256, what);
    } catch (error) {
      return Promise.reject(error);
    }
    const pending = this.#inFlight.get(sha256);
    if (pending !== undefined) return pending;
    const loading = this.#load(sha256, what, options).finally(() => this.#inFlight.delete(sha256));
    this.#inFlight.set(sha256, loading);
    return loading;
  }

  /** Fetches and checks an artifact without caching it (a job's large input). */
  async fetchUncached(sha256: string, options: GetArtifactOptions = {}): Promise<Buffer> {
    const what = options.what ?? `artifact ${sha256}`;
    checkSha256(sha256, what);
    for (let attempt = 1; ; attempt++) {
      const chunks: Buffer[] = [];
      const hash = createHash('sha256');
      let received_bytes = 0;
      for await (const chunk of this.#source(sha256, options.signal)) {
        received_bytes += chunk.byteLength;
        checkNotTooLong(received_bytes, options.expected_bytes, what);
        hash.update(chunk);
        chunks.push(Buffer.from(chunk));
      }
      const actual = hash.digest('hex');
      if (actual === sha256) return Buffer.concat(chunks);
      this.stats.corruptFetched++;
      if (attempt >= FETCH_ATTEMPTS) throw mismatch(what, sha256, actual, received_bytes);
    }
  }

  async #load(sha256: string, what: string, options: GetArtifactOptions): Promise<Buffer> {
    const path = this.pathOf(sha256);
    const cached = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (cached !== null) {
      if (sha256Hex(cached) === sha256) {
        this.stats.hits++;
        return cached;
      }
      this.stats.corruptCached++;
      this.#logger.warn({ sha256, path, bytes: cached.byteLength }, `cached ${what} does not match its sha256; deleting it and fetching it again`);
      await rm(path, { force: true });
    }
    return this.#fetchToDisk(sha256, what, options);
  }

  async #fetchToDisk(sha256: string, what: string, options: GetArtifactOptions): Promise<Buffer> {
    await mkdir(this.dir, { recursive: true });
    const path = this.pathOf(sha256);
    for (let attempt = 1; ; attempt++) {
      this.stats.fetches++;
      const temp = join(this.dir, `.${sha256}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      const started_ms = performance.now();
      const file = await open(temp, 'wx');
      let renamed = false;
      try {
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let received_bytes = 0;
        for await (const chunk of this.#source(sha256, options.signal)) {
          received_bytes += chunk.byteLength;
          checkNotTooLong(received_bytes, options.expected_bytes, what);
          hash.update(chunk);
          const bytes = Buffer.from(chunk);
          chunks.push(bytes);
          await file.write(bytes);
        }
        const actual = hash.digest('hex');
        if (actual !== sha256) {
          this.stats.corruptFetched++;
          if (attempt >= FETCH_ATTEMPTS) throw mismatch(what, sha256, actual, received_bytes);
          this.#logger.warn({ sha256, actual, bytes: received_bytes }, `fetched ${what} does not match its sha256; fetching it again`);
          continue;
        }
        if (options.expected_bytes !== undefined && options.expected_bytes > 0 && received_bytes !== options.expected_bytes) {
          // Same hash, different size cannot happen; the record is wrong. Keep the verified bytes.
          this.#logger.warn({ sha256, bytes: received_bytes, expected_bytes: options.expected_bytes }, `${what}: size differs from the circuit record`);
        }
        await file.sync();
        await file.close();
        await rename(temp, path);
        renamed = true;
        const bytes = Buffer.concat(chunks);
        assert(bytes.byteLength === received_bytes, 'fetched bytes are all kept');
        this.#logger.info({ sha256, bytes: received_bytes, fetch_ms: Math.round(performance.now() - started_ms) }, `fetched ${what}`);
        return bytes;
      } finally {
        if (!renamed) {
          await file.close().catch(() => undefined);
          await rm(temp, { force: true });
        }
      }
    }
  }
}

function checkNotTooLong(received_bytes: number, expected_bytes: number | undefined, what: string): void {
  if (expected_bytes !== undefined && expected_bytes > 0 && received_bytes > expected_bytes) {
    throw new CorruptFileError(`${what}: the coordinator sent more than the ${expected_bytes} bytes the circuit record gives; transfer abandoned`);
  }
}

function mismatch(what: string, expected: string, actual: string, received_bytes: number): CorruptFileError {
  return new CorruptFileError(`${what}: the coordinator sent ${received_bytes} bytes whose sha256 is ${actual}, not ${expected} (fetched twice)`);
}
