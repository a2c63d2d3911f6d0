/** The store's public surface (see docs/store.md). */
import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from './embedded/embedded-database.ts';

export type { ArtifactInfo, PutArtifactOptions, PutArtifactResult } from './artifacts.ts';
export { normalizeSha256 } from './artifacts.ts';
export type { BenchReport } from './bench-reports.ts';
export type { ByteSource } from './chunker.ts';
export type { DatabaseOptions, StoreLogger } from './database.ts';
export { DATABASE_DEFAULTS } from './database.ts';
export { redactDatabaseUrl } from './database-url.ts';
export { EMBEDDED_DEFAULTS } from './embedded/defaults.ts';
export type { EmbeddedDatabase, EmbeddedDatabaseOptions } from './embedded/embedded-database.ts';
export type {
  ArchivedJob,
  ArchivedJobPage,
  JobArchiveRecord,
  JobEvent,
  JobEventRecord,
  JobState,
  ListArchivedJobsFilter,
  TerminalJobState,
} from './job-archive.ts';
export { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from './job-archive.ts';
export type { MigrationReport } from './migration.ts';
export { CHUNK_BYTES_DEFAULT, createStore, openStore, Store, type StoreOptions } from './store.ts';

/** See embedded/embedded-database.ts. PGlite is loaded on the first call, not on import: importing it costs a second or more, which processes that use PostgreSQL should not pay. */
export async function startEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const embedded = await import('./embedded/embedded-database.ts');
  return embedded.startEmbeddedDatabase(options);
}
