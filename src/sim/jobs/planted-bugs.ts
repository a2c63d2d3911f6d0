/**
 * Bugs the job simulation can plant in the state machine, to show that its
 * checkers catch them (docs/service-sim.md lists a seed for each):
 * - accept-stale-attempt: a completion of an older attempt is taken while a
 *   newer one runs (the late report of a worker that lost its lease);
 * - retry-forever: a requeue does not count the lost attempt against
 *   max_attempts (the job is never FAILED; it waits in the queue forever,
 *   as no attempt beyond the maximum may be assigned).
 */
import { JobStateMachine, type JobStateMachineOptions } from '../../coordinator/state/job-state-machine.ts';
import type { JobRecord } from '../../coordinator/state/records.ts';

export const PLANTED_BUGS = ['accept-stale-attempt', 'retry-forever'] as const;
export type PlantedBug = (typeof PLANTED_BUGS)[number];

class AcceptStaleAttempt extends JobStateMachine {
  protected override staleReportReason(job: JobRecord, attempt: number, workerId: string): string | null {
    const reason = super.staleReportReason(job, attempt, workerId);
    // The bug: only the job's state is checked, not whose attempt the report is.
    if (reason !== null && (job.state === 'ASSIGNED' || job.state === 'RUNNING')) return null;
    return reason;
  }
}

class RetryForever extends JobStateMachine {
  protected override hasAttemptsLeft(_job: JobRecord): boolean {
    return true;
  }
}

export function makeJobStateMachine(options: JobStateMachineOptions, bug: PlantedBug | null): JobStateMachine {
  if (bug === 'accept-stale-attempt') return new AcceptStaleAttempt(options);
  if (bug === 'retry-forever') return new RetryForever(options);
  return new JobStateMachine(options);
}
