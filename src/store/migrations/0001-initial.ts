import type { Migration } from '../migration.ts';

/**
 * The first schema: artifacts as content-addressed chunks, the job archive,
 * job events and bench reports. Job ids use the "C" collation so that their
 * order (a paging tiebreaker) is the same on every server, whatever its locale.
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  statements: [
    // One row per stored artifact, written in the same transaction that gives its chunks their final key, so a row here means every chunk is present.
    `CREATE TABLE artifacts (
      sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      kind text NOT NULL,
      bytes bigint NOT NULL CHECK (bytes >= 0),
      chunk_count integer NOT NULL CHECK (chunk_count >= 0),
      chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),
      created timestamptz NOT NULL DEFAULT now()
    )`,
    // Keyed by the artifact's sha256, or by 'upload:<id>' while an upload is in progress (see artifact_uploads).
    `CREATE TABLE artifact_chunks (
      sha256 text NOT NULL,
      seq integer NOT NULL CHECK (seq >= 0),
      data bytea NOT NULL,
      PRIMARY KEY (sha256, seq)
    )`,
    // Uploads in progress; an upload abandoned by a crash is found here by age and removed.
    `CREATE TABLE artifact_uploads (
      upload_key text PRIMARY KEY,
      kind text NOT NULL,
      started timestamptz NOT NULL DEFAULT now()
    )`,
    `CREATE TABLE job_archive (
      job_id text COLLATE "C" NOT NULL,
      attempts integer NOT NULL CHECK (attempts >= 0),
      circuit_id text NOT NULL,
      state text NOT NULL,
      priority integer NOT NULL,
      deadline_ms bigint NOT NULL,
      idempotency_key text NOT NULL,
      max_attempts integer NOT NULL,
      worker_id text NOT NULL,
      error_code text NOT NULL,
      error_message text NOT NULL,
      proof_json text NOT NULL,
      public_json text NOT NULL,
      submitted_ms bigint NOT NULL,
      started_ms bigint NOT NULL,
      finished_ms bigint NOT NULL,
      prove_ms bigint NOT NULL,
      backend text NOT NULL,
      input_sha256 text NOT NULL,
      input_bytes bigint NOT NULL,
      archived timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, attempts)
    )`,
    'CREATE INDEX job_archive_by_finish ON job_archive (finished_ms, job_id, attempts)',
    'CREATE INDEX job_archive_by_circuit_finish ON job_archive (circuit_id, finished_ms, job_id, attempts)',
    `CREATE TABLE job_events (
      job_id text COLLATE "C" NOT NULL,
      attempt integer NOT NULL CHECK (attempt >= 0),
      state text NOT NULL,
      at_ms bigint NOT NULL,
      worker_id text NOT NULL,
      detail jsonb,
      recorded timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, attempt, state)
    )`,
    `CREATE TABLE bench_reports (
      id bigserial PRIMARY KEY,
      kind text NOT NULL,
      report jsonb NOT NULL,
      created timestamptz NOT NULL DEFAULT now()
    )`,
    'CREATE INDEX bench_reports_by_kind ON bench_reports (kind, id)',
  ],
};
