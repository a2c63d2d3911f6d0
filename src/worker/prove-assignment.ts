/**
 * One assignment, start to finish: the circuit resident, the witness (from the
 * input JSON, a given .wtns, or an input artifact fetched by hash), the proof
 * on the worker's backend, the proof verified locally with the circuit's
 * verification key. Failures come out as JobFailure, which says whether the
 * job may be retried elsewhere:
 *
 * - permanent (never retried): the input is bad: malformed JSON, missing or
 *   invalid signals, a witness that fails the circuit's constraints, a .wtns
 *   of another circuit or of the wrong size; and a proof that does not verify
 *   even from the reference backend (a .wtns that satisfies nothing).
 * - not permanent: everything about this worker or the network: an artifact
 *   that could not be fetched or arrived corrupt, a lost device, out of
 *   memory, an unexpected error.
 *
 * Cancellation: the signal is checked between steps and at the start and end
 * of every prover stage (buildABC, the NTTs, each of the five MSMs, the
 * assembly), so an abort takes effect when the stage running finishes: at most
 * one MSM, or the witness calculation, or a circuit fetch later. Then the abort
 * reason is thrown as is. An abort during the final local verification
 * returns the verified proof: the caller knows the signal and decides.
 */
import { performance } from 'node:perf_hooks';
import { CancelledError, ZkpError, type ErrorCode } from '../errors/index.ts';
import type { AssignmentMessage } from '../api/types.ts';
import type { ProverBackend } from '../prover/backend.ts';
import { prove, type ProveResult } from '../prover/groth16.ts';
import { checkWitnessFitsZkey, parseWtns, type Witness } from '../prover/io/wtns.ts';
import { verifyProof } from '../prover/prove-files.ts';
import { parseInputJson } from '../prover/witness.ts';
import type { ArtifactCache } from './artifact-cache.ts';
import type { WorkerLogger } from './options.ts';
import { JOB_STAGE_OF, type JobStage } from './progress.ts';
import type { LoadedCircuit, ResidentCircuits } from './resident-circuits.ts';

export interface ProvedJob {
  readonly proof_json: string;
  readonly public_json: string;
  /** Witness + prove + local verification, in ms (fetching artifacts excluded). */
  readonly prove_ms: number;
  /** The backend whose proof is reported. */
  readonly backend: string;
}

/** A job that cannot finish here; `permanent` says whether another attempt could succeed. */
export class JobFailure extends ZkpError {
  readonly permanent: boolean;
  constructor(code: ErrorCode, message: string, permanent: boolean, options?: { cause?: unknown }) {
    super(code, message, options);
    this.permanent = permanent;
  }
}

export interface ProveAssignmentContext {
  readonly circuits: ResidentCircuits;
  readonly cache: ArtifactCache;
  readonly backend: ProverBackend;
  /** The reference backend (snarkjs), asked for a second proof when the first does not verify; null: none. */
  readonly reference: (() => Promise<ProverBackend>) | null;
  readonly signal: AbortSignal;
  readonly onStage: (stage: JobStage) => void;
  readonly logger: WorkerLogger;
}

/** Codes that mean "this input is wrong" when they come from decoding the input or from the prover. */
const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['INVALID_ARGUMENT', 'MISMATCH', 'CORRUPT_FILE']);

export async function proveAssignment(assignment: AssignmentMessage, context: ProveAssignmentContext): Promise<ProvedJob> {
  const { signal } = context;
  const job = `job ${assignment.job_id}`;
  checkAborted(signal);
  context.onStage('fetch');
  const lease = await step('fetch', () => context.circuits.acquire(assignment.circuit), signal, job);
  try {
    checkAborted(signal);
    const started_ms = performance.now();
    context.onStage('witness');
    const witness = await step('input', () => witnessOf(assignment, lease.circuit, context), signal, job);
    checkAborted(signal);
    await step('input', async () => checkWitnessFitsZkey(witness, lease.circuit.zkey), signal, job);
    let result = await step('prove', () => proveWith(context.backend, lease.circuit, witness, context), signal, job);
    checkAborted(signal);
    context.onStage('verify');
    let backend = context.backend.name;
    if (!(await step('verify', () => verifyProof(lease.circuit.vkey, result.publicSignals, result.proof), signal, job))) {
      result = await secondOpinion(lease.circuit, witness, context, job);
      backend = 'snarkjs';
    }
    const prove_ms = Math.round(performance.now() - started_ms);
    return { proof_json: JSON.stringify(result.proof), public_json: JSON.stringify(result.publicSignals), prove_ms, backend };
  } finally {
    lease.release();
  }
}

/**
 * The first proof did not verify. Either the witness satisfies nothing (a
 * hand-made .wtns: bad input) or the backend is faulty. The reference backend
 * decides: its proof verifies -> report it (and log the faulty backend);
 * it does not -> the witness is bad.
 */
async function secondOpinion(circuit: LoadedCircuit, witness: Witness, context: ProveAssignmentContext, job: string): Promise<ProveResult> {
  const notSatisfied = () =>
    new JobFailure(
      'VERIFICATION_FAILED',
      `${job}: the proof does not verify against the verification key of circuit ${circuit.name || circuit.id}: the witness does not satisfy the circuit's constraints`,
      true,
    );
  if (context.reference === null || context.backend.name === 'snarkjs') throw notSatisfied();
  context.logger.warn(
    { backend: context.backend.name },
    `${job}: the proof does not verify; proving again with the reference backend to tell a bad witness from a faulty backend`,
  );
  const reference = await step('prove', () => context.reference!(), context.signal, job);
  const result = await step('prove', () => proveWith(reference, circuit, witness, context), context.signal, job);
  if (!(await step('verify', () => verifyProof(circuit.vkey, result.publicSignals, result.proof), context.signal, job))) throw notSatisfied();
  context.logger.error(
    { backend: context.backend.name, circuit: circuit.id },
    `${job}: backend ${context.backend.name} produced a proof that does not verify while snarkjs's does; reporting snarkjs's proof (a backend bug)`,
  );
  return result;
}

async function proveWith(backend: ProverBackend, circuit: LoadedCircuit, witness: Witness, context: ProveAssignmentContext): Promise<ProveResult> {
  return prove(circuit.zkey, witness, {
    backend,
    // Called at each stage's start and end: the place to stop between stages.
    progress: (event) => {
      checkAborted(context.signal);
      if (event.phase === 'start') context.onStage(JOB_STAGE_OF[event.stage]);
    },
  });
}

async function witnessOf(assignment: AssignmentMessage, circuit: LoadedCircuit, context: ProveAssignmentContext): Promise<Witness> {
  const label = `job ${assignment.job_id} input`;
  switch (assignment.input) {
    case 'input_json':
      return witnessFromJson(assignment.input_json ?? '', circuit, label);
    case 'witness_wtns':
      return parseWtns(assignment.witness_wtns ?? Buffer.alloc(0), `job ${assignment.job_id} witness (.wtns)`);
    case 'input_sha256': {
      const sha256 = assignment.input_sha256 ?? '';
      let bytes: Buffer;
      try {
        bytes = await context.cache.fetchUncached(sha256, { what: `${label} (artifact ${sha256})`, signal: context.signal });
      } catch (error) {
        if (context.signal.aborted) throw error;
        throw transient(error, `${label}: fetching the input artifact failed`);
      }
      return assignment.input_is_wtns ? parseWtns(bytes, `job ${assignment.job_id} witness (.wtns)`) : witnessFromJson(bytes.toString('utf8'), circuit, label);
    }
    default:
      throw new JobFailure('INVALID_ARGUMENT', `${label}: the assignment carries no input (neither JSON, a .wtns nor an input hash)`, true);
  }
}

async function witnessFromJson(text: string, circuit: LoadedCircuit, label: string): Promise<Witness> {
  const input = parseInputJson(text, label);
  const calculator = await circuit.witnessCalculator();
  return calculator.calculate(input, { inputLabel: label });
}

type Step = 'fetch' | 'input' | 'prove' | 'verify';

/** Runs one step; its errors become JobFailure by the rules in the header (an abort passes through). */
async function step<T>(name: Step, body: () => Promise<T>, signal: AbortSignal, job: string): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof JobFailure) throw error;
    const code = error instanceof ZkpError ? error.code : null;
    const permanent = code !== null && INPUT_ERROR_CODES.has(code) && (name === 'input' || name === 'prove');
    if (permanent) throw new JobFailure(code, naming(job, (error as Error).message), true, { cause: error });
    throw transient(error, name === 'fetch' ? `${job}: loading the circuit failed` : `${job}: ${name} failed`);
  }
}

/** The message, starting with the job when it does not name it already. */
function naming(job: string, message: string): string {
  return message.includes(job) ? message : `${job}: ${message}`;
}

function transient(error: unknown, context: string): JobFailure {
  if (error instanceof JobFailure) return error;
  if (error instanceof RangeError || (error instanceof Error && /out of memory|allocation failed/i.test(error.message))) {
    return new JobFailure('RESOURCE_EXHAUSTED', `${context}: out of memory (${error.message})`, false, { cause: error });
  }
  const code: ErrorCode = error instanceof ZkpError ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  return new JobFailure(code, `${context}: ${message}`, false, { cause: error });
}

function checkAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw signal.reason instanceof Error ? signal.reason : new CancelledError('job cancelled');
}
