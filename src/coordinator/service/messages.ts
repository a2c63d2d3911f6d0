/**
 * zkp.v1 request and response shapes that src/api/types.ts does not declare
 * (yet), as load.ts decodes them. Candidates to move there.
 */
import type { AssignmentMessage, CircuitMessage, JobMessage, WorkerInfoMessage } from '../../api/types.ts';

export type { AssignmentMessage };

export interface GetCircuitRequestMessage {
  circuit: string;
  stale_ok: boolean;
}
export interface ListCircuitsRequestMessage {
  stale_ok: boolean;
}
export interface ListCircuitsResponseMessage {
  circuits: CircuitMessage[];
}
export interface GetJobRequestMessage {
  job_id: string;
  stale_ok: boolean;
}
export interface WatchJobRequestMessage {
  job_id: string;
}
export interface JobEventMessage {
  job: JobMessage;
}
export interface CancelJobRequestMessage {
  job_id: string;
}

export interface RegisterWorkerRequestMessage {
  worker: WorkerInfoMessage | null;
}
export interface RegisterWorkerResponseMessage {
  worker_id: string;
  lease_ms: number;
}
export interface AssignmentsRequestMessage {
  worker_id: string;
}
export type WorkerInstructionMessage = { assign: AssignmentMessage; instruction?: 'assign' } | { cancel_job_id: string; instruction?: 'cancel_job_id' };
export interface FetchArtifactRequestMessage {
  sha256: string;
}
export interface DeregisterRequestMessage {
  worker_id: string;
}

export interface StatusRequestMessage {
  /** Answer with this node's own coordinator entry only (what a node asks its peers). */
  local_only?: boolean;
}
export interface TransferLeadershipRequestMessage {
  to: string;
}
export interface AddCoordinatorRequestMessage {
  id: string;
  raft_address: string;
  client_address: string;
  as_learner: boolean;
}
export interface RemoveCoordinatorRequestMessage {
  id: string;
}
