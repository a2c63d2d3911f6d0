/**
 * Records as zkp.v1 messages (src/api/types.ts), so the service maps them in
 * one place. Progress is not replicated (the leader keeps it in memory) and
 * is passed in when known.
 */
import type { AssignmentMessage, CircuitMessage, JobMessage, ProgressMessage, WorkerInfoMessage, WorkerStatusMessage } from '../../api/types.ts';
import type { CircuitRecord, JobRecord, WorkerRecord } from './records.ts';

export function toCircuitMessage(circuit: CircuitRecord): CircuitMessage {
  return {
    id: circuit.id,
    name: circuit.name,
    wasm_sha256: circuit.wasm_sha256,
    zkey_sha256: circuit.zkey_sha256,
    vkey_sha256: circuit.vkey_sha256,
    wasm_bytes: circuit.wasm_bytes,
    zkey_bytes: circuit.zkey_bytes,
    vkey_bytes: circuit.vkey_bytes,
    n_constraints: circuit.n_constraints,
    n_vars: circuit.n_vars,
    n_public: circuit.n_public,
    domain_size: circuit.domain_size,
    registered_ms: circuit.registered_ms,
  };
}

export function toJobMessage(job: JobRecord, progress: ProgressMessage | null = null): JobMessage {
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
    progress,
    error_code: job.error_code,
    error_message: job.error_message,
    proof_json: job.proof_json,
    public_json: job.public_json,
    submitted_ms: job.submitted_ms,
    started_ms: job.started_ms,
    finished_ms: job.finished_ms,
    prove_ms: job.prove_ms,
    archived: false,
  };
}

/** The assignment a worker receives for the job's current attempt (job ASSIGNED or RUNNING). */
export function toAssignmentMessage(job: JobRecord, circuit: CircuitRecord, lease_ms: number): AssignmentMessage {
  const common = { job_id: job.id, attempt: job.attempts, circuit: toCircuitMessage(circuit), deadline_ms: job.deadline_ms, lease_ms };
  const input = job.input;
  if (input.kind === 'json') return { ...common, input_json: input.json, input: 'input_json', input_is_wtns: false };
  if (input.kind === 'wtns') return { ...common, witness_wtns: Buffer.from(input.wtns), input: 'witness_wtns', input_is_wtns: true };
  return { ...common, input_sha256: input.sha256, input: 'input_sha256', input_is_wtns: input.is_wtns };
}

export function toWorkerInfoMessage(worker: WorkerRecord): WorkerInfoMessage {
  return {
    id: worker.id,
    address: worker.address,
    backends: [...worker.backends],
    gpu: worker.gpu === null ? null : { ...worker.gpu },
    memory_bytes: worker.memory_bytes,
    threads: worker.threads,
    slots: worker.slots,
    resident_circuits: [...worker.resident_circuits],
  };
}

export function toWorkerStatusMessage(worker: WorkerRecord): WorkerStatusMessage {
  return {
    id: worker.id,
    backends: [...worker.backends],
    gpu: worker.gpu === null ? '' : worker.gpu.name,
    alive: worker.alive,
    current_jobs: [...worker.current_jobs],
    lease_expires_ms: worker.lease_expires_ms,
    resident_circuits: [...worker.resident_circuits],
  };
}
