/**
 * TypeScript shapes of the zkp.v1 messages as load.ts decodes them (see its
 * comment). Kept beside the .proto files by hand; test/api checks that every
 * field named here exists in the loaded definitions.
 */

export type JobStateName = 'QUEUED' | 'ASSIGNED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
export const TERMINAL_JOB_STATES: readonly JobStateName[] = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'];
/** Jobs one SubmitJobs call may carry at most (the server refuses more; the SDK splits longer lists). */
export const SUBMIT_BATCH_MAX = 1000;
export type ArtifactKindName = 'WASM' | 'ZKEY' | 'VKEY' | 'INPUT';

export interface CircuitMessage {
  id: string;
  name: string;
  wasm_sha256: string;
  zkey_sha256: string;
  vkey_sha256: string;
  wasm_bytes: number;
  zkey_bytes: number;
  vkey_bytes: number;
  n_constraints: number;
  n_vars: number;
  n_public: number;
  domain_size: number;
  registered_ms: number;
}

export interface ProgressMessage {
  stage: string;
  done: number;
  total: number;
  fraction: number;
}

export interface JobMessage {
  id: string;
  circuit_id: string;
  state: JobStateName;
  priority: number;
  deadline_ms: number;
  idempotency_key: string;
  attempts: number;
  max_attempts: number;
  worker_id: string;
  progress: ProgressMessage | null;
  error_code: string;
  error_message: string;
  proof_json: string;
  public_json: string;
  submitted_ms: number;
  started_ms: number;
  finished_ms: number;
  prove_ms: number;
  archived: boolean;
}

export interface ArtifactChunkMessage {
  kind: ArtifactKindName;
  data: Buffer;
}

export interface CircuitHeaderMessage {
  name: string;
  wasm_sha256: string;
  zkey_sha256: string;
  vkey_sha256: string;
  wasm_bytes: number;
  zkey_bytes: number;
  vkey_bytes: number;
}

export type RegisterCircuitRequestMessage = { header: CircuitHeaderMessage; part?: 'header' } | { chunk: ArtifactChunkMessage; part?: 'chunk' };
export interface RegisterCircuitResponseMessage {
  circuit: CircuitMessage;
  existing: boolean;
}

export interface SubmitJobRequestMessage {
  circuit: string;
  input_json?: string;
  witness_wtns?: Buffer;
  input?: 'input_json' | 'witness_wtns';
  idempotency_key?: string;
  priority?: number;
  timeout_ms?: number;
  max_attempts?: number;
}
export interface SubmitJobResponseMessage {
  job: JobMessage;
  existing: boolean;
}

export interface SubmitJobsRequestMessage {
  jobs: SubmitJobRequestMessage[];
}
export interface SubmitJobsResultMessage {
  /** Absent (null once decoded) when the job was refused. */
  accepted?: SubmitJobResponseMessage | null;
  /** '' when accepted. */
  error_code: string;
  error_message: string;
  retry_after_ms: number;
}
export interface SubmitJobsResponseMessage {
  results: SubmitJobsResultMessage[];
}

export interface ListJobsRequestMessage {
  circuit?: string;
  states?: JobStateName[];
  page_size?: number;
  page_token?: string;
  stale_ok?: boolean;
  include_archived?: boolean;
}
export interface ListJobsResponseMessage {
  jobs: JobMessage[];
  next_page_token: string;
}

export interface GpuAdapterMessage {
  name: string;
  vendor: string;
  backend: string;
  memory_bytes: number;
}

export interface WorkerInfoMessage {
  id: string;
  address: string;
  backends: string[];
  gpu: GpuAdapterMessage | null;
  memory_bytes: number;
  threads: number;
  slots: number;
  resident_circuits: string[];
}

export interface AssignmentMessage {
  job_id: string;
  attempt: number;
  circuit: CircuitMessage;
  input_json?: string;
  witness_wtns?: Buffer;
  input_sha256?: string;
  input?: 'input_json' | 'witness_wtns' | 'input_sha256';
  input_is_wtns: boolean;
  deadline_ms: number;
  lease_ms: number;
}

export type WorkerInstructionMessage = { assign: AssignmentMessage; instruction?: 'assign' } | { cancel_job_id: string; instruction?: 'cancel_job_id' };

export interface HeartbeatRequestMessage {
  worker_id: string;
  running_jobs: string[];
  resident_circuits: string[];
}
export interface HeartbeatResponseMessage {
  lease_ms: number;
  cancel_job_ids: string[];
}

export interface ProgressReportMessage {
  worker_id: string;
  job_id: string;
  attempt: number;
  progress: ProgressMessage;
}

export interface CompleteRequestMessage {
  worker_id: string;
  job_id: string;
  attempt: number;
  proof_json: string;
  public_json: string;
  prove_ms: number;
  backend: string;
}

export interface FailRequestMessage {
  worker_id: string;
  job_id: string;
  attempt: number;
  permanent: boolean;
  error_code: string;
  error_message: string;
}

export interface AckMessage {
  accepted: boolean;
  reason: string;
}

export interface CoordinatorStatusMessage {
  id: string;
  role: string;
  term: number;
  commit_index: number;
  applied_index: number;
  client_address: string;
  raft_address: string;
  health_url: string;
  reachable: boolean;
}

export interface WorkerStatusMessage {
  id: string;
  backends: string[];
  gpu: string;
  alive: boolean;
  current_jobs: string[];
  lease_expires_ms: number;
  resident_circuits: string[];
}

export interface ClusterStatusMessage {
  answered_by: string;
  leader_id: string;
  leader_address: string;
  term: number;
  coordinators: CoordinatorStatusMessage[];
  workers: WorkerStatusMessage[];
  jobs_queued: number;
  jobs_running: number;
  jobs_finished_unarchived: number;
}
