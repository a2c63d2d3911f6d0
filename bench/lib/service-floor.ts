/**
 * The floor of the service bench: one process serving the same zkp.v1 gRPC
 * API as a coordinator (the parts the bench and the worker use: SubmitJob,
 * GetJob, WatchJob; Register, Assignments, Heartbeat, ReportProgress,
 * Complete, Fail, FetchArtifact, Deregister) over an in-memory FIFO queue:
 * no Raft, no store, no scheduler policy, no leases. What it keeps is the
 * work every service must do per job: decode and check the request, hand
 * the job to a free worker's stream, take its progress and result, verify
 * the proof against the circuit's key (snarkjs groth16.verify in a child
 * process, through the coordinator's own CryptoPool, exactly as the leader
 * does) and tell the watchers. The bench's figures over this floor show
 * what Raft, the store and the scheduler cost.
 *
 * Each verification is logged on stderr as {"msg":"verified","job",
 * "verify_ms"}, so the bench can say how much of the overhead is the
 * verifier.
 */
import { createReadStream } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { jobServiceClient, workerServiceClient } from '../../src/api/load.ts';
import { toServiceError } from '../../src/api/status.ts';
import type {
  AckMessage,
  ArtifactChunkMessage,
  ArtifactKindName,
  CircuitMessage,
  CompleteRequestMessage,
  FailRequestMessage,
  HeartbeatRequestMessage,
  HeartbeatResponseMessage,
  JobMessage,
  JobStateName,
  ProgressMessage,
  ProgressReportMessage,
  SubmitJobRequestMessage,
  SubmitJobResponseMessage,
  WorkerInfoMessage,
  WorkerInstructionMessage,
} from '../../src/api/types.ts';
import { TERMINAL_JOB_STATES } from '../../src/api/types.ts';
import { CryptoPool } from '../../src/coordinator/service/crypto-pool.ts';
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError, ZkpError } from '../../src/errors/index.ts';

/** A circuit the floor serves: its message, the vkey it verifies with, and its artifacts' files by sha256. */
export interface FloorCircuit {
  readonly message: CircuitMessage;
  readonly vkey: unknown;
  readonly artifacts: readonly { readonly sha256: string; readonly kind: ArtifactKindName; readonly path: string }[];
}

export interface FloorOptions {
  readonly circuits: readonly FloorCircuit[];
  /** Queued jobs at most (SubmitJob answers RESOURCE_EXHAUSTED beyond). */
  readonly queueMax: number;
  readonly maxAttempts: number;
  readonly lease_ms: number;
  /** One JSON line per event on stderr. */
  readonly log: (fields: Record<string, unknown>) => void;
}

interface FloorJob {
  readonly id: string;
  readonly circuit: FloorCircuit;
  readonly input_json: string;
  readonly idempotency_key: string;
  readonly priority: number;
  readonly submitted_ms: number;
  state: JobStateName;
  attempts: number;
  worker_id: string;
  progress: ProgressMessage | null;
  proof_json: string;
  public_json: string;
  prove_ms: number;
  started_ms: number;
  finished_ms: number;
  error_code: string;
  error_message: string;
}

interface FloorWorker {
  readonly id: string;
  readonly slots: number;
  readonly held: Set<string>;
  stream: grpc.ServerWritableStream<{ worker_id: string }, WorkerInstructionMessage> | null;
}

type JobWatch = grpc.ServerWritableStream<{ job_id: string }, { job: JobMessage }>;

const CHUNK_BYTES = 1024 * 1024;
const JSON_INPUT_BYTES_MAX = 1024 * 1024;

function isTerminal(state: JobStateName): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

export class FloorService {
  readonly #options: FloorOptions;
  readonly #crypto = new CryptoPool();
  readonly #circuits = new Map<string, FloorCircuit>();
  readonly #artifacts = new Map<string, { kind: ArtifactKindName; path: string }>();
  readonly #jobs = new Map<string, FloorJob>();
  readonly #byKey = new Map<string, FloorJob>();
  /** FIFO of queued job ids; `#head` is the next to assign (the array is compacted as it is consumed). */
  #queue: string[] = [];
  #head = 0;
  readonly #workers = new Map<string, FloorWorker>();
  readonly #watches = new Map<string, Set<JobWatch>>();
  #sequence = 0;

  constructor(options: FloorOptions) {
    this.#options = options;
    for (const circuit of options.circuits) {
      this.#circuits.set(circuit.message.id, circuit);
      this.#circuits.set(circuit.message.name, circuit);
      for (const artifact of circuit.artifacts) this.#artifacts.set(artifact.sha256, { kind: artifact.kind, path: artifact.path });
    }
  }

  /** Loads snarkjs in the crypto process now, as a coordinator does at start. */
  warm(): Promise<void> {
    return this.#crypto.warm();
  }

  close(): Promise<void> {
    return this.#crypto.close();
  }

  addTo(server: grpc.Server): void {
    server.addService(jobServiceClient().service, {
      SubmitJob: unary((request: SubmitJobRequestMessage) => this.submitJob(request)),
      SubmitJobs: unary((request: { jobs: SubmitJobRequestMessage[] }) => this.submitJobs(request.jobs ?? [])),
      GetJob: unary((request: { job_id: string }) => this.#message(this.#job(request.job_id))),
      WatchJob: (call: JobWatch) => this.#watch(call),
    });
    server.addService(workerServiceClient().service, {
      Register: unary((request: { worker: WorkerInfoMessage | null }) => this.#register(request)),
      Assignments: (call: grpc.ServerWritableStream<{ worker_id: string }, WorkerInstructionMessage>) => this.#assignments(call),
      Heartbeat: unary((request: HeartbeatRequestMessage) => this.#heartbeat(request)),
      ReportProgress: unary((request: ProgressReportMessage) => this.#reportProgress(request)),
      Complete: unary((request: CompleteRequestMessage) => this.#complete(request)),
      Fail: unary((request: FailRequestMessage) => this.#fail(request)),
      FetchArtifact: (call: grpc.ServerWritableStream<{ sha256: string }, ArtifactChunkMessage>) => this.#fetchArtifact(call),
      Deregister: unary((request: { worker_id: string }) => this.#deregister(request)),
    });
  }

  // ---- jobs ----

  submitJob(request: SubmitJobRequestMessage): SubmitJobResponseMessage {
    const circuit = this.#circuits.get(request.circuit);
    if (circuit === undefined) throw new NotFoundError(`circuit ${JSON.stringify(request.circuit)} is not registered`);
    const key = request.idempotency_key ?? '';
    const earlier = key === '' ? undefined : this.#byKey.get(key);
    if (earlier !== undefined) return { job: this.#message(earlier), existing: true };
    if (request.input !== 'input_json' || request.input_json === undefined) throw new InvalidArgumentError('the floor takes input_json only');
    if (request.input_json.length > JSON_INPUT_BYTES_MAX) throw new InvalidArgumentError(`input_json is larger than ${JSON_INPUT_BYTES_MAX} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(request.input_json);
    } catch (error) {
      throw new InvalidArgumentError(`input_json is not JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('input_json must be a JSON object');
    if (this.#queue.length - this.#head >= this.#options.queueMax) {
      throw new ResourceExhaustedError(`the queue is full (${this.#options.queueMax} jobs)`, { retryAfter_ms: 100 });
    }
    const job: FloorJob = {
      id: `job-${++this.#sequence}`,
      circuit,
      input_json: request.input_json,
      idempotency_key: key,
      priority: request.priority ?? 0,
      submitted_ms: Date.now(),
      state: 'QUEUED',
      attempts: 0,
      worker_id: '',
      progress: null,
      proof_json: '',
      public_json: '',
      prove_ms: 0,
      started_ms: 0,
      finished_ms: 0,
      error_code: '',
      error_message: '',
    };
    this.#jobs.set(job.id, job);
    if (key !== '') this.#byKey.set(key, job);
    this.#queue.push(job.id);
    this.#dispatch();
    return { job: this.#message(job), existing: false };
  }

  /** Each job on its own, as the coordinator answers SubmitJobs. */
  submitJobs(jobs: readonly SubmitJobRequestMessage[]): { results: unknown[] } {
    return {
      results: jobs.map((request) => {
        try {
          return { accepted: this.submitJob(request), error_code: '', error_message: '', retry_after_ms: 0 };
        } catch (error) {
          const named = error instanceof ZkpError ? error : new ZkpError('INTERNAL', String(error));
          const retry = named instanceof ResourceExhaustedError ? (named.retryAfter_ms ?? 0) : 0;
          return { accepted: null, error_code: named.code, error_message: named.message, retry_after_ms: retry };
        }
      }),
    };
  }

  #job(jobId: string): FloorJob {
    const job = this.#jobs.get(jobId);
    if (job === undefined) throw new NotFoundError(`job ${JSON.stringify(jobId)} is not known`);
    return job;
  }

  #message(job: FloorJob): JobMessage {
    return {
      id: job.id,
      circuit_id: job.circuit.message.id,
      state: job.state,
      priority: job.priority,
      deadline_ms: 0,
      idempotency_key: job.idempotency_key,
      attempts: job.attempts,
      max_attempts: this.#options.maxAttempts,
      worker_id: job.worker_id,
      progress: job.state === 'RUNNING' ? job.progress : null,
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

  #watch(call: JobWatch): void {
    try {
      const job = this.#job(call.request.job_id);
      call.write({ job: this.#message(job) });
      if (isTerminal(job.state)) {
        call.end();
        return;
      }
      let set = this.#watches.get(job.id);
      if (set === undefined) {
        set = new Set();
        this.#watches.set(job.id, set);
      }
      set.add(call);
      const remove = (): void => {
        set.delete(call);
        if (set.size === 0 && this.#watches.get(job.id) === set) this.#watches.delete(job.id);
      };
      call.on('cancelled', remove);
      call.on('close', remove);
    } catch (error) {
      call.emit('error', toServiceError(error));
    }
  }

  #changed(job: FloorJob): void {
    const set = this.#watches.get(job.id);
    if (set === undefined) return;
    const message = this.#message(job);
    for (const call of [...set]) {
      if (call.cancelled || call.writableEnded) continue;
      call.write({ job: message });
      if (isTerminal(job.state)) call.end();
    }
    if (isTerminal(job.state)) this.#watches.delete(job.id);
  }

  // ---- assignment ----

  /** Hands queued jobs, oldest first, to workers with a stream and a free slot (the least busy first). */
  #dispatch(): void {
    while (this.#head < this.#queue.length) {
      let chosen: FloorWorker | null = null;
      for (const worker of this.#workers.values()) {
        if (worker.stream === null || worker.held.size >= worker.slots) continue;
        if (chosen === null || worker.held.size < chosen.held.size) chosen = worker;
      }
      if (chosen === null) break;
      const job = this.#jobs.get(this.#queue[this.#head]!)!;
      this.#head++;
      if (job.state !== 'QUEUED') continue;
      job.state = 'ASSIGNED';
      job.attempts++;
      job.worker_id = chosen.id;
      chosen.held.add(job.id);
      this.#push(chosen, job);
      this.#changed(job);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #push(worker: FloorWorker, job: FloorJob): void {
    const circuit = job.circuit;
    worker.stream?.write({
      assign: {
        job_id: job.id,
        attempt: job.attempts,
        circuit: circuit.message,
        input_json: job.input_json,
        input: 'input_json',
        input_is_wtns: false,
        deadline_ms: 0,
        lease_ms: this.#options.lease_ms,
      },
      instruction: 'assign',
    });
  }

  #requeue(job: FloorJob): void {
    job.state = 'QUEUED';
    job.progress = null;
    this.#queue.push(job.id);
  }

  // ---- workers ----

  #register(request: { worker: WorkerInfoMessage | null }): { worker_id: string; lease_ms: number } {
    const info = request.worker;
    if (info === null || info.id === '') throw new InvalidArgumentError('Register needs the worker');
    const existing = this.#workers.get(info.id);
    if (existing === undefined) this.#workers.set(info.id, { id: info.id, slots: Math.max(1, info.slots), held: new Set(), stream: null });
    this.#options.log({ msg: 'worker registered', worker: info.id, slots: info.slots });
    return { worker_id: info.id, lease_ms: this.#options.lease_ms };
  }

  #assignments(call: grpc.ServerWritableStream<{ worker_id: string }, WorkerInstructionMessage>): void {
    const worker = this.#workers.get(call.request.worker_id);
    if (worker === undefined) {
      call.emit('error', toServiceError(new NotFoundError(`worker ${call.request.worker_id} is not registered: call Register first`)));
      return;
    }
    call.sendMetadata(new grpc.Metadata());
    worker.stream?.end();
    worker.stream = call;
    const gone = (): void => {
      if (worker.stream === call) worker.stream = null;
    };
    call.on('cancelled', gone);
    call.on('close', gone);
    for (const jobId of worker.held) {
      const job = this.#jobs.get(jobId);
      if (job?.state === 'ASSIGNED') this.#push(worker, job);
    }
    this.#dispatch();
  }

  #heartbeat(request: HeartbeatRequestMessage): HeartbeatResponseMessage {
    const worker = this.#workers.get(request.worker_id);
    if (worker === undefined) throw new NotFoundError(`worker ${request.worker_id} is not registered: register again`);
    const cancel = request.running_jobs.filter((jobId) => !worker.held.has(jobId));
    return { lease_ms: this.#options.lease_ms, cancel_job_ids: cancel };
  }

  #reported(workerId: string, jobId: string, attempt: number): FloorJob | string {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return `job ${jobId} is not known`;
    if (job.state !== 'ASSIGNED' && job.state !== 'RUNNING') return `job ${jobId} is ${job.state}`;
    if (job.attempts !== attempt || job.worker_id !== workerId) return `attempt ${attempt} of job ${jobId} on ${workerId} is not its current one`;
    return job;
  }

  #reportProgress(request: ProgressReportMessage): AckMessage {
    const job = this.#reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    if (job.state === 'ASSIGNED') {
      job.state = 'RUNNING';
      job.started_ms = Date.now();
    }
    job.progress = request.progress;
    this.#changed(job);
    return { accepted: true, reason: '' };
  }

  async #complete(request: CompleteRequestMessage): Promise<AckMessage> {
    const before = this.#reported(request.worker_id, request.job_id, request.attempt);
    if (typeof before === 'string') return { accepted: false, reason: before };
    let valid: boolean;
    const started_ms = performance.now();
    try {
      valid = await this.#crypto.verify(before.circuit.vkey, JSON.parse(request.public_json), JSON.parse(request.proof_json));
    } catch (error) {
      valid = false;
      this.#options.log({ msg: 'verification error', job: before.id, error: (error as Error).message });
    }
    this.#options.log({ msg: 'verified', job: before.id, verify_ms: performance.now() - started_ms, valid });
    const job = this.#reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    this.#workers.get(job.worker_id)?.held.delete(job.id);
    if (!valid) {
      if (job.attempts < this.#options.maxAttempts) this.#requeue(job);
      else this.#finish(job, 'FAILED', 'VERIFICATION_FAILED', 'the proof does not verify');
      this.#changed(job);
      this.#dispatch();
      return { accepted: false, reason: 'proof rejected: it does not verify' };
    }
    job.proof_json = request.proof_json;
    job.public_json = request.public_json;
    job.prove_ms = request.prove_ms;
    if (job.started_ms === 0) job.started_ms = Date.now();
    this.#finish(job, 'SUCCEEDED', '', '');
    this.#changed(job);
    this.#dispatch();
    return { accepted: true, reason: '' };
  }

  #finish(job: FloorJob, state: JobStateName, code: string, message: string): void {
    job.state = state;
    job.progress = null;
    job.finished_ms = Date.now();
    job.error_code = code;
    job.error_message = message;
  }

  #fail(request: FailRequestMessage): AckMessage {
    const job = this.#reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    this.#workers.get(job.worker_id)?.held.delete(job.id);
    if (!request.permanent && job.attempts < this.#options.maxAttempts) this.#requeue(job);
    else this.#finish(job, 'FAILED', request.error_code, request.error_message);
    this.#options.log({ msg: 'job failed', job: job.id, code: request.error_code, error: request.error_message, permanent: request.permanent });
    this.#changed(job);
    this.#dispatch();
    return { accepted: true, reason: '' };
  }

  #fetchArtifact(call: grpc.ServerWritableStream<{ sha256: string }, ArtifactChunkMessage>): void {
    const artifact = this.#artifacts.get(call.request.sha256);
    if (artifact === undefined) {
      call.emit('error', toServiceError(new NotFoundError(`no artifact with sha256 ${call.request.sha256}`)));
      return;
    }
    const send = async (): Promise<void> => {
      for await (const data of createReadStream(artifact.path, { highWaterMark: CHUNK_BYTES })) {
        if (call.cancelled) return;
        if (!call.write({ kind: artifact.kind, data: data as Buffer })) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
      }
      call.end();
    };
    send().catch((error: unknown) => call.emit('error', toServiceError(error)));
  }

  #deregister(request: { worker_id: string }): AckMessage {
    const worker = this.#workers.get(request.worker_id);
    if (worker === undefined) return { accepted: false, reason: `worker ${request.worker_id} is not registered` };
    for (const jobId of worker.held) {
      const job = this.#jobs.get(jobId);
      if (job !== undefined && !isTerminal(job.state)) {
        this.#requeue(job);
        this.#changed(job);
      }
    }
    worker.stream?.end();
    this.#workers.delete(worker.id);
    this.#dispatch();
    return { accepted: true, reason: '' };
  }
}

/** A unary handler whose errors leave through the project's one error <-> status mapping. */
function unary<Req, Res>(handler: (request: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let answer: Promise<Res>;
    try {
      answer = Promise.resolve(handler(call.request));
    } catch (error) {
      callback(toServiceError(error));
      return;
    }
    answer.then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}
