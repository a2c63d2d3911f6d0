/**
 * What the job state machine tells its listener after each command, so the
 * service knows exactly what to push, without diffing the state:
 *
 * - job-assigned: send the Assignment (job, attempt) to `workerId`'s stream.
 * - job-requeued / job-finished with `revokedFrom`: that worker held the job
 *   and no longer does (lease expired, deregistered, cancelled, expired,
 *   failed for good): tell it to stop `revokedFrom.attempt` (cancel_job_id).
 * - job-*: push the new record to the job's watchers; job-finished is the
 *   last event of a job (job-archived only says it left the state).
 * - any job-* or worker-* change may open or close a slot: run the scheduler.
 *
 * Records in changes are the machine's own immutable records: keep them as
 * long as needed.
 */
import type { CircuitRecord, JobRecord, WorkerRecord } from './records.ts';

export interface RevokedLease {
  readonly workerId: string;
  readonly attempt: number;
}

export type JobChange =
  | { readonly kind: 'circuit-registered'; readonly index: number; readonly circuit: CircuitRecord }
  | { readonly kind: 'worker-registered'; readonly index: number; readonly worker: WorkerRecord }
  /** The lease ran out (tick): its jobs were requeued or failed (their own changes follow). */
  | { readonly kind: 'worker-dead'; readonly index: number; readonly worker: WorkerRecord }
  /** A dead worker renewed its lease: alive again, with no jobs. */
  | { readonly kind: 'worker-revived'; readonly index: number; readonly worker: WorkerRecord }
  | { readonly kind: 'worker-deregistered'; readonly index: number; readonly workerId: string }
  | { readonly kind: 'job-submitted'; readonly index: number; readonly job: JobRecord }
  | { readonly kind: 'job-assigned'; readonly index: number; readonly job: JobRecord; readonly workerId: string; readonly attempt: number }
  | { readonly kind: 'job-running'; readonly index: number; readonly job: JobRecord }
  /** Back in the queue, attempt counted; `reason` says why (for logs and events). */
  | { readonly kind: 'job-requeued'; readonly index: number; readonly job: JobRecord; readonly revokedFrom: RevokedLease; readonly reason: string }
  /** Terminal (job.state): SUCCEEDED, FAILED, CANCELLED or EXPIRED. revokedFrom: the worker held it and must stop (null when the worker itself finished it or it was queued). */
  | { readonly kind: 'job-finished'; readonly index: number; readonly job: JobRecord; readonly revokedFrom: RevokedLease | null }
  /** The archive has it; it left the state. */
  | { readonly kind: 'job-archived'; readonly index: number; readonly jobId: string };

export type JobChangeKind = JobChange['kind'];

/** Called synchronously inside apply(), after the command's state change is complete; must not throw. */
export type JobChangeListener = (change: JobChange) => void;
