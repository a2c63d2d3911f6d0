/**
 * The slice of the store (src/store) the coordinator's service uses, and the
 * mapping between the job state machine's records and the archive's rows.
 * Every store call may fail with UnavailableError while PostgreSQL is down:
 * callers retry later and lose nothing.
 */
import type { ArtifactKindName, JobMessage } from '../../api/types.ts';
import { assert } from '../../errors/index.ts';
import type { ArchivedJob, JobArchiveRecord, JobEventRecord, Store } from '../../store/index.ts';
import { isTerminalState, type JobRecord } from '../state/records.ts';

export type CoordinatorStore = Pick<
  Store,
  | 'putArtifact'
  | 'getArtifact'
  | 'streamArtifact'
  | 'hasArtifact'
  | 'artifactInfo'
  | 'archiveJobs'
  | 'getArchivedJob'
  | 'listArchivedJobs'
  | 'appendJobEvents'
  | 'close'
>;

/** The store's kind names (lowercase) for the API's artifact kinds. */
export const STORE_KIND: Readonly<Record<ArtifactKindName, string>> = { WASM: 'wasm', ZKEY: 'zkey', VKEY: 'vkey', INPUT: 'input' };

export function artifactKindOf(storeKind: string | undefined): ArtifactKindName | 'ARTIFACT_KIND_UNSPECIFIED' {
  for (const [api, store] of Object.entries(STORE_KIND)) if (store === storeKind) return api as ArtifactKindName;
  return 'ARTIFACT_KIND_UNSPECIFIED';
}

/** A finished job as the archive keeps it. */
export function archiveRecordOf(job: JobRecord): JobArchiveRecord {
  assert(isTerminalState(job.state), () => `job ${job.id} is ${job.state}; only finished jobs are archived`);
  return {
    id: job.id,
    circuit_id: job.circuit_id,
    state: job.state,
    attempts: job.attempts,
    submitted_ms: job.submitted_ms,
    finished_ms: job.finished_ms,
    priority: job.priority,
    deadline_ms: job.deadline_ms,
    idempotency_key: job.idempotency_key,
    max_attempts: job.max_attempts,
    worker_id: job.worker_id,
    error_code: job.error_code,
    error_message: job.error_message,
    proof_json: job.proof_json,
    public_json: job.public_json,
    started_ms: job.started_ms,
    prove_ms: job.prove_ms,
    backend: job.backend,
    input_sha256: job.input.kind === 'stored' ? job.input.sha256 : '',
    input_bytes: job.input.kind === 'json' ? Buffer.byteLength(job.input.json) : job.input.kind === 'wtns' ? job.input.wtns.length : 0,
  };
}

/**
 * The job's events as its final record tells them (submitted, the last
 * attempt's assignment and start, the end). Written with the archive row, so
 * a leader change loses none; (job, attempt, state) keys them, so a replay
 * doubles none.
 */
export function jobEventsOf(job: JobRecord): JobEventRecord[] {
  const events: JobEventRecord[] = [{ job_id: job.id, attempt: 0, state: 'QUEUED', at_ms: job.submitted_ms }];
  if (job.attempts > 0 && job.assigned_ms > 0)
    events.push({ job_id: job.id, attempt: job.attempts, state: 'ASSIGNED', at_ms: job.assigned_ms, worker_id: job.worker_id });
  if (job.attempts > 0 && job.started_ms > 0)
    events.push({ job_id: job.id, attempt: job.attempts, state: 'RUNNING', at_ms: job.started_ms, worker_id: job.worker_id });
  if (isTerminalState(job.state)) {
    const detail =
      job.error_code === ''
        ? job.backend === ''
          ? null
          : { backend: job.backend, prove_ms: job.prove_ms }
        : { code: job.error_code, message: job.error_message };
    events.push({ job_id: job.id, attempt: job.attempts, state: job.state, at_ms: job.finished_ms, worker_id: job.worker_id, detail });
  }
  return events;
}

export function jobMessageOfArchived(job: ArchivedJob): JobMessage {
  return {
    id: job.id,
    circuit_id: job.circuit_id,
    state: job.state,
    priority: job.priority,
    deadline_ms: job.deadline_ms,
    idempotency_key: job.idempotency_key,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    worker_id: job.worker_id,
    progress: null,
    error_code: job.error_code,
    error_message: job.error_message,
    proof_json: job.proof_json,
    public_json: job.public_json,
    submitted_ms: job.submitted_ms,
    started_ms: job.started_ms,
    finished_ms: job.finished_ms,
    prove_ms: job.prove_ms,
    archived: true,
  };
}
