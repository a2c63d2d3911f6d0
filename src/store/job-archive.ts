/**
 * The job archive and job events: finished jobs leave the replicated state
 * once they are here. The leader writes them from its outbox, and a new
 * leader replays whatever the old one may or may not have written, so every
 * write is idempotent: INSERT ... ON CONFLICT DO NOTHING on a key that names
 * the row (job id and attempt count; for events job id, attempt and state).
 * A replay neither loses nor doubles a row, and the first write of a key wins.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import type { Database } from './database.ts';

export type TerminalJobState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
export type JobState = 'QUEUED' | 'ASSIGNED' | 'RUNNING' | TerminalJobState;

const TERMINAL_STATES: readonly TerminalJobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'];
const JOB_STATES: readonly JobState[] = ['QUEUED', 'ASSIGNED', 'RUNNING', ...TERMINAL_STATES];

/** A finished job as the leader archives it. Field names follow zkp.v1.Job (src/api/types.ts JobMessage). */
export interface JobArchiveRecord {
  readonly id: string;
  readonly circuit_id: string;
  readonly state: TerminalJobState;
  /** Attempts made (0 when the job never reached a worker). With `id`, the idempotency key of the row. */
  readonly attempts: number;
  readonly submitted_ms: number;
  readonly finished_ms: number;
  readonly priority?: number;
  readonly deadline_ms?: number;
  readonly idempotency_key?: string;
  readonly max_attempts?: number;
  readonly worker_id?: string;
  readonly error_code?: string;
  readonly error_message?: string;
  readonly proof_json?: string;
  readonly public_json?: string;
  readonly started_ms?: number;
  readonly prove_ms?: number;
  readonly backend?: string;
  /** The input's sha256 when it went through the artifact store; '' when it travelled inline. */
  readonly input_sha256?: string;
  readonly input_bytes?: number;
}

/** An archived job as read back: every field present ('' or 0 where the record left it out), plus when it was archived. */
export type ArchivedJob = Required<JobArchiveRecord> & { readonly archived_ms: number };

/** A job entering `state` during `attempt`. The state machine enters a state at most once per attempt, so (job_id, attempt, state) names the event. */
export interface JobEventRecord {
  readonly job_id: string;
  readonly attempt: number;
  readonly state: JobState;
  readonly at_ms: number;
  readonly worker_id?: string;
  /** Free-form JSON (an error code and message, the backend, ...); null when there is nothing to add. */
  readonly detail?: Readonly<Record<string, unknown>> | null;
}

export type JobEvent = Required<JobEventRecord>;

export interface ListArchivedJobsFilter {
  readonly circuitId?: string;
  readonly states?: readonly TerminalJobState[];
  /** Page size, 1-1000. Default 100. */
  readonly limit?: number;
  /** The `nextAfter` of the previous page. */
  readonly after?: string;
}

export interface ArchivedJobPage {
  /** Most recently finished first (finished_ms, then job id, then attempts, all descending). */
  readonly jobs: ArchivedJob[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly nextAfter: string | null;
}

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;
const ID_LENGTH_MAX = 256;

const ARCHIVE_COLUMNS = [
  ['job_id', 'text'],
  ['attempts', 'integer'],
  ['circuit_id', 'text'],
  ['state', 'text'],
  ['priority', 'integer'],
  ['deadline_ms', 'bigint'],
  ['idempotency_key', 'text'],
  ['max_attempts', 'integer'],
  ['worker_id', 'text'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['proof_json', 'text'],
  ['public_json', 'text'],
  ['submitted_ms', 'bigint'],
  ['started_ms', 'bigint'],
  ['finished_ms', 'bigint'],
  ['prove_ms', 'bigint'],
  ['backend', 'text'],
  ['input_sha256', 'text'],
  ['input_bytes', 'bigint'],
] as const;

type ArchiveColumn = (typeof ARCHIVE_COLUMNS)[number][0];

const SELECT_ARCHIVED = `SELECT ${ARCHIVE_COLUMNS.map(([name]) => name).join(', ')}, (extract(epoch FROM archived) * 1000)::bigint AS archived_ms FROM job_archive`;

/** One INSERT for a whole batch: each column travels as one array parameter. */
const INSERT_ARCHIVED = `INSERT INTO job_archive (${ARCHIVE_COLUMNS.map(([name]) => name).join(', ')})
  SELECT * FROM unnest(${ARCHIVE_COLUMNS.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')})
  ON CONFLICT (job_id, attempts) DO NOTHING`;

export class JobArchive {
  constructor(private readonly database: Database) {}

  /** Writes finished jobs; a row whose (id, attempts) is already archived is skipped. Returns how many rows were new. */
  async archiveJobs(records: readonly JobArchiveRecord[]): Promise<{ inserted: number }> {
    if (!Array.isArray(records)) throw new InvalidArgumentError('archiveJobs takes an array of job records');
    if (records.length === 0) return { inserted: 0 };
    const rows = records.map((record, index) => toArchiveRow(record, index));
    const columns = ARCHIVE_COLUMNS.map(([name]) => rows.map((row) => row[name]));
    const result = await this.database.query({ text: INSERT_ARCHIVED, values: columns }, `archiving ${records.length} jobs`);
    return { inserted: result.rowCount ?? 0 };
  }

  /** The archived job with this id (its last attempt when, unexpectedly, several are archived), or null. */
  async getArchivedJob(id: string): Promise<ArchivedJob | null> {
    checkId(id, 'job id');
    const result = await this.database.query(
      { text: `${SELECT_ARCHIVED} WHERE job_id = $1 ORDER BY attempts DESC LIMIT 1`, values: [id] },
      `reading archived job ${id}`,
    );
    const row = result.rows[0];
    return row === undefined ? null : fromArchiveRow(row);
  }

  /** Keyset paging, newest first: each page is one indexed range scan, however deep. */
  async listArchivedJobs(filter: ListArchivedJobsFilter = {}): Promise<ArchivedJobPage> {
    const limit = filter.limit ?? LIST_LIMIT_DEFAULT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${LIST_LIMIT_MAX}, got ${limit}`);
    }
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.circuitId !== undefined) {
      checkId(filter.circuitId, 'circuitId');
      values.push(filter.circuitId);
      conditions.push(`circuit_id = $${values.length}`);
    }
    if (filter.states !== undefined) {
      if (!Array.isArray(filter.states)) throw new InvalidArgumentError('states must be an array of job states');
      for (const state of filter.states) checkState(state, TERMINAL_STATES, 'states');
      values.push(filter.states);
      conditions.push(`state = ANY($${values.length}::text[])`);
    }
    if (filter.after !== undefined) {
      const cursor = decodeCursor(filter.after);
      values.push(cursor.finished_ms, cursor.id, cursor.attempts);
      conditions.push(`(finished_ms, job_id, attempts) < ($${values.length - 2}::bigint, $${values.length - 1}::text, $${values.length}::integer)`);
    }
    values.push(limit + 1);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const result = await this.database.query(
      { text: `${SELECT_ARCHIVED} ${where} ORDER BY finished_ms DESC, job_id DESC, attempts DESC LIMIT $${values.length}`, values },
      'listing archived jobs',
    );
    const jobs = result.rows.slice(0, limit).map(fromArchiveRow);
    const last = jobs[jobs.length - 1];
    const nextAfter = result.rows.length > limit && last !== undefined ? encodeCursor(last) : null;
    return { jobs, nextAfter };
  }

  /** Writes job events; an event whose (job_id, attempt, state) is already stored is skipped. Returns how many were new. */
  async appendJobEvents(events: readonly JobEventRecord[]): Promise<{ inserted: number }> {
    if (!Array.isArray(events)) throw new InvalidArgumentError('appendJobEvents takes an array of events');
    if (events.length === 0) return { inserted: 0 };
    const rows = events.map((event, index) => toEventRow(event, index));
    const result = await this.database.query(
      {
        text: `INSERT INTO job_events (job_id, attempt, state, at_ms, worker_id, detail)
               SELECT job_id, attempt, state, at_ms, worker_id, detail::jsonb
               FROM unnest($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::text[], $6::text[])
                 AS e(job_id, attempt, state, at_ms, worker_id, detail)
               ON CONFLICT (job_id, attempt, state) DO NOTHING`,
        values: [
          rows.map((r) => r.job_id),
          rows.map((r) => r.attempt),
          rows.map((r) => r.state),
          rows.map((r) => r.at_ms),
          rows.map((r) => r.worker_id),
          rows.map((r) => r.detail),
        ],
      },
      `appending ${events.length} job events`,
    );
    return { inserted: result.rowCount ?? 0 };
  }

  /** A job's events in the order they happened. */
  async listJobEvents(jobId: string): Promise<JobEvent[]> {
    checkId(jobId, 'job id');
    const result = await this.database.query<{
      job_id: string;
      attempt: number;
      state: JobState;
      at_ms: string;
      worker_id: string;
      detail: Record<string, unknown> | null;
    }>(
      {
        text: `SELECT job_id, attempt, state, at_ms, worker_id, detail FROM job_events WHERE job_id = $1
               ORDER BY at_ms, attempt, array_position($2::text[], state)`,
        values: [jobId, JOB_STATES],
      },
      `reading the events of job ${jobId}`,
    );
    return result.rows.map((row) => ({ ...row, at_ms: Number(row.at_ms) }));
  }
}

type ArchiveRow = Record<ArchiveColumn, string | number>;

function toArchiveRow(record: JobArchiveRecord, index: number): ArchiveRow {
  if (typeof record !== 'object' || record === null) throw new InvalidArgumentError(`job record ${index} is not an object`);
  const where = `job record ${index}${typeof record.id === 'string' ? ` (${record.id})` : ''}`;
  const text = (field: keyof JobArchiveRecord, required = false): string => {
    const value = record[field];
    if (value === undefined && !required) return '';
    if (typeof value !== 'string') throw new InvalidArgumentError(`${where}: ${field} must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const integer = (field: keyof JobArchiveRecord, required = false, allowNegative = false): number => {
    const value = record[field];
    if (value === undefined && !required) return 0;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || (!allowNegative && value < 0)) {
      throw new InvalidArgumentError(`${where}: ${field} must be a${allowNegative ? 'n' : ' non-negative'} integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  checkId(text('id', true), `${where}: id`);
  checkId(text('circuit_id', true), `${where}: circuit_id`);
  checkState(record.state, TERMINAL_STATES, `${where}: state`);
  return {
    job_id: record.id,
    attempts: integer('attempts', true),
    circuit_id: record.circuit_id,
    state: record.state,
    priority: integer('priority', false, true),
    deadline_ms: integer('deadline_ms'),
    idempotency_key: text('idempotency_key'),
    max_attempts: integer('max_attempts'),
    worker_id: text('worker_id'),
    error_code: text('error_code'),
    error_message: text('error_message'),
    proof_json: text('proof_json'),
    public_json: text('public_json'),
    submitted_ms: integer('submitted_ms', true),
    started_ms: integer('started_ms'),
    finished_ms: integer('finished_ms', true),
    prove_ms: integer('prove_ms'),
    backend: text('backend'),
    input_sha256: text('input_sha256'),
    input_bytes: integer('input_bytes'),
  };
}

function fromArchiveRow(row: Record<string, unknown>): ArchivedJob {
  const number = (name: string): number => Number(row[name]);
  const string = (name: string): string => String(row[name]);
  return {
    id: string('job_id'),
    circuit_id: string('circuit_id'),
    state: string('state') as TerminalJobState,
    attempts: number('attempts'),
    submitted_ms: number('submitted_ms'),
    finished_ms: number('finished_ms'),
    priority: number('priority'),
    deadline_ms: number('deadline_ms'),
    idempotency_key: string('idempotency_key'),
    max_attempts: number('max_attempts'),
    worker_id: string('worker_id'),
    error_code: string('error_code'),
    error_message: string('error_message'),
    proof_json: string('proof_json'),
    public_json: string('public_json'),
    started_ms: number('started_ms'),
    prove_ms: number('prove_ms'),
    backend: string('backend'),
    input_sha256: string('input_sha256'),
    input_bytes: number('input_bytes'),
    archived_ms: number('archived_ms'),
  };
}

interface EventRow {
  job_id: string;
  attempt: number;
  state: JobState;
  at_ms: number;
  worker_id: string;
  detail: string | null;
}

function toEventRow(event: JobEventRecord, index: number): EventRow {
  if (typeof event !== 'object' || event === null) throw new InvalidArgumentError(`job event ${index} is not an object`);
  const where = `job event ${index}`;
  checkId(event.job_id, `${where}: job_id`);
  checkState(event.state, JOB_STATES, `${where}: state`);
  for (const field of ['attempt', 'at_ms'] as const) {
    const value = event[field];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`${where}: ${field} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
  const worker_id = event.worker_id ?? '';
  if (typeof worker_id !== 'string') throw new InvalidArgumentError(`${where}: worker_id must be a string`);
  const detail = event.detail ?? null;
  if (detail !== null && (typeof detail !== 'object' || Array.isArray(detail))) throw new InvalidArgumentError(`${where}: detail must be an object or null`);
  return {
    job_id: event.job_id,
    attempt: event.attempt,
    state: event.state,
    at_ms: event.at_ms,
    worker_id,
    detail: detail === null ? null : JSON.stringify(detail),
  };
}

function checkId(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > ID_LENGTH_MAX) {
    throw new InvalidArgumentError(`${what} must be a non-empty string of at most ${ID_LENGTH_MAX} characters, got ${JSON.stringify(value)}`);
  }
}

function checkState<S extends string>(value: unknown, allowed: readonly S[], what: string): asserts value is S {
  if (!allowed.includes(value as S)) throw new InvalidArgumentError(`${what} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

interface Cursor {
  readonly finished_ms: number;
  readonly id: string;
  readonly attempts: number;
}

function encodeCursor(job: ArchivedJob): string {
  return Buffer.from(JSON.stringify([job.finished_ms, job.id, job.attempts])).toString('base64url');
}

function decodeCursor(token: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !Number.isSafeInteger(parsed[0]) || typeof parsed[1] !== 'string' || !Number.isSafeInteger(parsed[2])) {
    throw new InvalidArgumentError(`page token ${JSON.stringify(token)} is not one this store issued`);
  }
  return { finished_ms: parsed[0] as number, id: parsed[1], attempts: parsed[2] as number };
}
