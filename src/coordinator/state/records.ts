/**
 * The records the job state machine keeps: circuits, workers and jobs. Field
 * names follow the zkp.v1 messages (src/api/proto/zkp/v1/*.proto), so
 * messages.ts maps them one to one.
 *
 * Records are immutable: a change replaces the record in its table, never
 * edits it in place. A record handed to a listener or a reader therefore
 * stays as it was when handed out, and a snapshot can capture the tables'
 * references in one turn.
 */
import type { JobStateName } from '../../api/types.ts';

export type { JobStateName } from '../../api/types.ts';

export const JOB_STATES: readonly JobStateName[] = ['QUEUED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'];

/** QUEUED, ASSIGNED or RUNNING: the job still waits for a result. */
export type ActiveJobStateName = 'QUEUED' | 'ASSIGNED' | 'RUNNING';
export type TerminalJobStateName = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

export function isTerminalState(state: JobStateName): state is TerminalJobStateName {
  return state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED' || state === 'EXPIRED';
}

/** ASSIGNED or RUNNING: a worker holds the job's lease. */
export function isLeasedState(state: JobStateName): boolean {
  return state === 'ASSIGNED' || state === 'RUNNING';
}

export interface CircuitRecord {
  /** sha256 (lowercase hex) of the zkey. */
  readonly id: string;
  /** Unique among circuits. */
  readonly name: string;
  readonly wasm_sha256: string;
  readonly zkey_sha256: string;
  /** Empty when no vkey was uploaded (the service derives it from the zkey). */
  readonly vkey_sha256: string;
  readonly wasm_bytes: number;
  readonly zkey_bytes: number;
  readonly vkey_bytes: number;
  readonly n_constraints: number;
  readonly n_vars: number;
  readonly n_public: number;
  readonly domain_size: number;
  readonly registered_ms: number;
}

export interface GpuRecord {
  readonly name: string;
  readonly vendor: string;
  /** vulkan, metal, ... */
  readonly backend: string;
  /** The largest buffer the adapter allows. */
  readonly memory_bytes: number;
}

export interface WorkerRecord {
  readonly id: string;
  /** For humans: the host the worker runs on. */
  readonly address: string;
  /** webgpu, native, snarkjs (best first). */
  readonly backends: readonly string[];
  readonly gpu: GpuRecord | null;
  /** Host memory; 0 = not reported. */
  readonly memory_bytes: number;
  readonly threads: number;
  /** Jobs at once, at least 1. */
  readonly slots: number;
  /** Circuit ids whose proving key the worker keeps loaded, as it last reported them (sorted). */
  readonly resident_circuits: readonly string[];
  /** How long a renewal keeps the lease. */
  readonly lease_ms: number;
  /** The lease runs out at this clock_ms unless renewed (meaningful while alive). */
  readonly lease_expires_ms: number;
  /** False once the lease ran out (tick); a renewal brings it back, with no jobs. */
  readonly alive: boolean;
  /** Ids of the jobs it holds (ASSIGNED or RUNNING), in assignment order. */
  readonly current_jobs: readonly string[];
  readonly registered_ms: number;
}

/** A job's input: inline in the log when small, else an artifact in the store. */
export type JobInput =
  | { readonly kind: 'json'; readonly json: string }
  | { readonly kind: 'wtns'; readonly wtns: Uint8Array }
  | { readonly kind: 'stored'; readonly sha256: string; readonly is_wtns: boolean };

export interface JobRecord {
  /** `job-<index of the submit entry>`, `job-<index>.<position>` for a submit at position >= 1 of a batch entry. */
  readonly id: string;
  /** The submit entry's index x SEQS_PER_ENTRY + its position in the entry: the job's FIFO position and page order. */
  readonly seq: number;
  readonly circuit_id: string;
  readonly state: JobStateName;
  /** Higher first. */
  readonly priority: number;
  /** Absolute clock_ms; 0 = none. */
  readonly deadline_ms: number;
  /** Empty when the submit carried none. */
  readonly idempotency_key: string;
  /** Assignments so far; the current attempt's number while ASSIGNED or RUNNING. Never decreases. */
  readonly attempts: number;
  readonly max_attempts: number;
  /** The worker holding the lease while ASSIGNED or RUNNING; afterwards the last one that held it ('' if none). */
  readonly worker_id: string;
  /** A ZkpError code when FAILED, CANCELLED or EXPIRED; '' otherwise. */
  readonly error_code: string;
  readonly error_message: string;
  /** snarkjs proof.json and public.json when SUCCEEDED. */
  readonly proof_json: string;
  readonly public_json: string;
  /** The backend that proved it (SUCCEEDED). */
  readonly backend: string;
  readonly input: JobInput;
  readonly submitted_ms: number;
  /** When the current (or last) attempt was assigned; 0 before the first. */
  readonly assigned_ms: number;
  /** When the current (or last) attempt reported running; 0 if it never did. */
  readonly started_ms: number;
  /** When it reached a terminal state; 0 before. */
  readonly finished_ms: number;
  /** The worker's own prove time (SUCCEEDED). */
  readonly prove_ms: number;
}

/** Size of a job's inline input in bytes (what it costs the log and the state). */
export function inlineInputBytes(input: JobInput): number {
  if (input.kind === 'json') return input.json.length;
  if (input.kind === 'wtns') return input.wtns.length;
  return 0;
}
