/** What simulated clients, workers and coordinators say to each other (a model of the gRPC API). */

export interface JobRef {
  readonly jobId: string;
  readonly attempt: number;
}

export type ServiceMessage =
  // client -> coordinator
  | { readonly type: 'register-circuit'; readonly reqId: string; readonly name: string; readonly zkey_bytes: number }
  | {
      readonly type: 'submit';
      readonly reqId: string;
      readonly circuitId: string;
      readonly idempotencyKey: string;
      readonly priority: number;
      readonly timeout_ms: number;
      readonly maxAttempts: number;
    }
  | { readonly type: 'cancel'; readonly reqId: string; readonly jobId: string }
  // worker -> coordinator
  | { readonly type: 'register-worker'; readonly reqId: string; readonly workerId: string; readonly slots: number; readonly keepJobIds: readonly string[] }
  | { readonly type: 'heartbeat'; readonly workerId: string; readonly running: readonly JobRef[]; readonly resident: readonly string[] }
  | { readonly type: 'report-running'; readonly reqId: string; readonly workerId: string; readonly job: JobRef }
  | {
      readonly type: 'report-complete';
      readonly reqId: string;
      readonly workerId: string;
      readonly job: JobRef;
      readonly proofJson: string;
      readonly prove_ms: number;
    }
  | { readonly type: 'report-fail'; readonly reqId: string; readonly workerId: string; readonly job: JobRef; readonly permanent: boolean }
  // coordinator -> client or worker
  | { readonly type: 'not-leader'; readonly reqId: string; readonly leaderHint: string | null }
  /** The state machine's result of the proposed command (ok, refusal, accepted...). */
  | { readonly type: 'reply'; readonly reqId: string; readonly result: Record<string, unknown> }
  | { readonly type: 'assign'; readonly job: JobRef; readonly circuitId: string }
  | { readonly type: 'revoke'; readonly job: JobRef }
  | {
      readonly type: 'heartbeat-reply';
      readonly unknownWorker: boolean;
      /** Jobs the state says this worker holds (re-sent in case an assign was lost). */
      readonly assignments: readonly (JobRef & { readonly circuitId: string })[];
      /** Jobs the worker reported running that it no longer holds. */
      readonly revoke: readonly JobRef[];
    };

/** A simulated proof names the attempt and worker that made it, so a checker can tell whose result was recorded. */
export function simProof(job: JobRef, workerId: string): string {
  return JSON.stringify({ job: job.jobId, attempt: job.attempt, worker: workerId });
}

export function parseSimProof(proofJson: string): { job: string; attempt: number; worker: string } {
  return JSON.parse(proofJson) as { job: string; attempt: number; worker: string };
}
