/**
 * The store the coordinator uses: artifacts, the job archive and events, and
 * bench reports, in PostgreSQL (or the embedded PGlite, which speaks the same
 * protocol). `openStore` migrates before it returns, so a bad URL or an
 * unreachable database fails at start; `createStore` does no I/O and
 * migrates on first use, retrying on each later call until it succeeds, so a
 * coordinator can start while the database is down and archive once it is
 * back. Every call fails with UnavailableError while the database is
 * unreachable; nothing is half-written.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { ArtifactStore, type ArtifactInfo, type PutArtifactOptions, type PutArtifactResult } from './artifacts.ts';
import { type BenchReport, BenchReports } from './bench-reports.ts';
import type { ByteSource } from './chunker.ts';
import { Database, type DatabaseOptions } from './database.ts';
import {
  type ArchivedJob,
  type ArchivedJobPage,
  JobArchive,
  type JobArchiveRecord,
  type JobEvent,
  type JobEventRecord,
  type ListArchivedJobsFilter,
} from './job-archive.ts';
import { type MigrationReport, runMigrations } from './migration.ts';
import { MIGRATIONS } from './migrations/index.ts';

export interface StoreOptions extends DatabaseOptions {
  /** Artifact chunk size. Default 1 MiB. Each artifact keeps the size it was written with. */
  readonly chunk_bytes?: number;
  /** Uploads unfinished for this long are removed after migrating (their process died). Default 24 h. */
  readonly abandoned_upload_ms?: number;
}

export const CHUNK_BYTES_DEFAULT = 1 << 20;
const CHUNK_BYTES_MAX = 64 << 20;
const ABANDONED_UPLOAD_MS_DEFAULT = 24 * 60 * 60 * 1000;

/** Connects and migrates now: UnavailableError when the database cannot be reached, FailedPreconditionError when its schema is newer than this build. */
export async function openStore(options: StoreOptions | string): Promise<Store> {
  const store = createStore(options);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** No I/O: the schema is migrated by the first call that needs it. */
export function createStore(options: StoreOptions | string): Store {
  return new Store(typeof options === 'string' ? { databaseUrl: options } : options);
}

export class Store {
  /** The database URL, password hidden. */
  readonly url: string;
  private readonly database: Database;
  private readonly artifacts: ArtifactStore;
  private readonly archive: JobArchive;
  private readonly benchReports: BenchReports;
  private readonly abandoned_upload_ms: number;
  private migrated: Promise<MigrationReport> | null = null;

  /** openStore and createStore are the usual ways in. */
  constructor(options: StoreOptions) {
    const chunk_bytes = options.chunk_bytes ?? CHUNK_BYTES_DEFAULT;
    if (!Number.isSafeInteger(chunk_bytes) || chunk_bytes < 1 || chunk_bytes > CHUNK_BYTES_MAX) {
      throw new InvalidArgumentError(`chunk_bytes must be an integer from 1 to ${CHUNK_BYTES_MAX}, got ${chunk_bytes}`);
    }
    this.database = new Database(options);
    this.url = this.database.url;
    this.artifacts = new ArtifactStore(this.database, chunk_bytes);
    this.archive = new JobArchive(this.database);
    this.benchReports = new BenchReports(this.database);
    this.abandoned_upload_ms = options.abandoned_upload_ms ?? ABANDONED_UPLOAD_MS_DEFAULT;
  }

  /** Applies missing migrations (once per Store; a failed attempt is retried by the next call). */
  migrate(): Promise<MigrationReport> {
    this.migrated ??= this.migrateOnce().catch((error: unknown) => {
      this.migrated = null;
      throw error;
    });
    return this.migrated;
  }

  async putArtifact(content: ByteSource, options: PutArtifactOptions): Promise<PutArtifactResult> {
    await this.migrate();
    return this.artifacts.put(content, options);
  }

  /** The whole content; NotFoundError for an unknown hash, CorruptFileError when the stored chunks do not hash to it. */
  async getArtifact(sha256: string): Promise<Buffer> {
    await this.migrate();
    return this.artifacts.get(sha256);
  }

  /** The content chunk by chunk (NotFoundError on the first step for an unknown hash; see ArtifactStore.stream). */
  async *streamArtifact(sha256: string): AsyncGenerator<Buffer> {
    await this.migrate();
    yield* this.artifacts.stream(sha256);
  }

  async hasArtifact(sha256: string): Promise<boolean> {
    await this.migrate();
    return this.artifacts.has(sha256);
  }

  async artifactInfo(sha256: string): Promise<ArtifactInfo | null> {
    await this.migrate();
    return this.artifacts.info(sha256);
  }

  async archiveJobs(records: readonly JobArchiveRecord[]): Promise<{ inserted: number }> {
    await this.migrate();
    return this.archive.archiveJobs(records);
  }

  async getArchivedJob(id: string): Promise<ArchivedJob | null> {
    await this.migrate();
    return this.archive.getArchivedJob(id);
  }

  async listArchivedJobs(filter: ListArchivedJobsFilter = {}): Promise<ArchivedJobPage> {
    await this.migrate();
    return this.archive.listArchivedJobs(filter);
  }

  async appendJobEvents(events: readonly JobEventRecord[]): Promise<{ inserted: number }> {
    await this.migrate();
    return this.archive.appendJobEvents(events);
  }

  async listJobEvents(jobId: string): Promise<JobEvent[]> {
    await this.migrate();
    return this.archive.listJobEvents(jobId);
  }

  async putBenchReport(kind: string, report: Record<string, unknown>): Promise<{ id: number }> {
    await this.migrate();
    return this.benchReports.put(kind, report);
  }

  async latestBenchReports(kind: string, limit?: number): Promise<BenchReport[]> {
    await this.migrate();
    return this.benchReports.latest(kind, limit);
  }

  /** Removes uploads unfinished for `olderThan_ms`; returns how many. Run after each migration with the configured age. */
  async removeAbandonedUploads(olderThan_ms: number): Promise<number> {
    await this.migrate();
    return this.artifacts.removeAbandonedUploads(olderThan_ms);
  }

  /** Closes the pool. Idempotent; later calls fail with UnavailableError. */
  close(): Promise<void> {
    return this.database.close();
  }

  private async migrateOnce(): Promise<MigrationReport> {
    const report = await runMigrations(this.database, MIGRATIONS);
    await this.artifacts.removeAbandonedUploads(this.abandoned_upload_ms);
    return report;
  }
}
