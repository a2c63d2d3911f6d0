/**
 * What the scheduler reads: the queued jobs, the workers and the circuits,
 * as the job state machine holds them (JobStateMachine.schedulerView()), or
 * built by hand in tests.
 */
import type { CircuitRecord, JobRecord, WorkerRecord } from '../state/records.ts';

export interface SchedulerView {
  /** The replicated clock when the view was taken. */
  readonly clock_ms: number;
  /** QUEUED jobs, any order. */
  readonly queued: Iterable<JobRecord>;
  /** Every registered worker, alive or not, any order. */
  readonly workers: Iterable<WorkerRecord>;
  circuit(id: string): CircuitRecord | undefined;
}

/** One assignment to propose (the `assign` command's item). */
export interface PlannedAssignment {
  readonly jobId: string;
  readonly workerId: string;
  /** The job's attempts + 1. */
  readonly attempt: number;
}
