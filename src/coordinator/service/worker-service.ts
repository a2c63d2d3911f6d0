/**
 * zkp.v1.WorkerService: the leader's side of the workers. Every call but
 * FetchArtifact needs the leader (a follower answers the redirect). A
 * worker's reports name the job and attempt; one about an attempt the state
 * no longer holds is answered Ack{accepted:false} with the reason, and
 * changes nothing. A result is verified against the circuit's verification
 * key before it is proposed: a proof that does not verify fails the attempt
 * (not the job: another worker tries again, up to max_attempts).
 */
import * as grpc from '@grpc/grpc-js';
import type {
  AckMessage,
  ArtifactChunkMessage,
  CompleteRequestMessage,
  FailRequestMessage,
  HeartbeatRequestMessage,
  HeartbeatResponseMessage,
  ProgressReportMessage,
} from '../../api/types.ts';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../../errors/index.ts';
import type { WorkerSpec } from '../state/commands.ts';
import { toAssignmentMessage } from '../state/messages.ts';
import { isLeasedState, type JobRecord } from '../state/records.ts';
import type { ServiceContext } from './context.ts';
import { failStream, unary } from './grpc-calls.ts';
import type {
  DeregisterRequestMessage,
  FetchArtifactRequestMessage,
  RegisterWorkerRequestMessage,
  RegisterWorkerResponseMessage,
  WorkerInstructionMessage,
} from './messages.ts';
import { artifactKindOf } from './store-port.ts';
import type { InstructionStream } from './worker-streams.ts';

const HEX64 = /^[0-9a-f]{64}$/;
const ERROR_TEXT_CHARS_MAX = 4096;

/** A job a live worker holds but has not listed in its heartbeats for this many leases is taken back (the worker lost it). */
const ORPHAN_LEASES = 3;

export class WorkerService {
  /** `${jobId}/${attempt}` of running proposals in flight, so a burst of first progress reports proposes once. */
  private readonly runningInFlight = new Set<string>();
  /** `${workerId}/${jobId}/${attempt}` -> when a heartbeat of that worker first left out a job the state says it holds. */
  private readonly unlisted = new Map<string, number>();

  constructor(private readonly ctx: ServiceContext) {}

  /**
   * The leader, with its state caught up (leader-start applied): a new leader
   * may not have applied the last entries of the previous term yet, and would
   * otherwise answer a worker's report about a job it does not see yet as
   * stale, and the worker would drop a good result.
   */
  private requireReadyLeader(): void {
    this.ctx.gate.requireLeader();
    if (!this.ctx.leaderReady()) throw new UnavailableError('this coordinator has just become the leader and is catching up; retry shortly');
  }

  implementation(): grpc.UntypedServiceImplementation {
    const logger = this.ctx.logger;
    return {
      Register: unary('Register', logger, (request: RegisterWorkerRequestMessage) => this.register(request)),
      Assignments: (call: InstructionStream) => this.assignments(call),
      Heartbeat: unary('Heartbeat', logger, async (request: HeartbeatRequestMessage) => this.heartbeat(request)),
      ReportProgress: unary('ReportProgress', logger, (request: ProgressReportMessage) => this.reportProgress(request)),
      Complete: unary('Complete', logger, (request: CompleteRequestMessage) => this.complete(request)),
      Fail: unary('Fail', logger, (request: FailRequestMessage) => this.fail(request)),
      FetchArtifact: (call: grpc.ServerWritableStream<FetchArtifactRequestMessage, ArtifactChunkMessage>) => this.fetchArtifact(call),
      Deregister: unary('Deregister', logger, (request: DeregisterRequestMessage) => this.deregister(request)),
    };
  }

  private async register(request: RegisterWorkerRequestMessage): Promise<RegisterWorkerResponseMessage> {
    this.ctx.gate.requireLeader();
    const info = request.worker;
    if (info === null || info === undefined || info.id === '') throw new InvalidArgumentError('Register needs the worker (its id at least)');
    if (info.backends.length === 0) throw new InvalidArgumentError(`worker ${info.id} names no backend it can prove with`);
    const spec: WorkerSpec = {
      id: info.id,
      address: info.address,
      backends: info.backends,
      gpu:
        info.gpu === null || info.gpu === undefined
          ? null
          : { name: info.gpu.name, vendor: info.gpu.vendor, backend: info.gpu.backend, memory_bytes: info.gpu.memory_bytes },
      memory_bytes: info.memory_bytes,
      threads: info.threads,
      slots: info.slots === 0 ? 1 : info.slots,
      resident_circuits: info.resident_circuits,
    };
    const result = await this.ctx.proposer.propose({ type: 'register-worker', worker: spec, lease_ms: this.ctx.options.lease_ms });
    this.ctx.logger.info({ worker: result.workerId, requeued: result.requeuedJobIds, failed: result.failedJobIds }, 'worker registered');
    return { worker_id: result.workerId, lease_ms: result.lease_ms };
  }

  private assignments(call: InstructionStream): void {
    const { machine, streams, logger } = this.ctx;
    const workerId = call.request.worker_id;
    try {
      this.requireReadyLeader();
      if (workerId === '') throw new InvalidArgumentError('Assignments needs the worker_id that Register returned');
      const worker = machine.worker(workerId);
      if (worker === undefined) throw new NotFoundError(`worker ${workerId} is not registered (or was forgotten): call Register first`);
      // Headers at once, so the client counts the stream as open while it waits for work.
      call.sendMetadata(new grpc.Metadata());
      streams.open(workerId, call)?.end();
      // Jobs assigned while it had no stream here (a leader change, a reconnect): again; it ignores ones it holds.
      for (const jobId of worker.current_jobs) {
        const job = machine.job(jobId);
        if (job?.state === 'ASSIGNED') this.pushAssignment(job);
      }
    } catch (error) {
      failStream(call, error, 'Assignments', logger);
    }
  }

  /** Sends the job's current attempt to its worker, if that worker has a stream open here. */
  pushAssignment(job: JobRecord): boolean {
    const circuit = this.ctx.machine.circuit(job.circuit_id);
    const worker = this.ctx.machine.worker(job.worker_id);
    if (circuit === undefined || worker === undefined) return false;
    const instruction: WorkerInstructionMessage = { assign: toAssignmentMessage(job, circuit, worker.lease_ms), instruction: 'assign' };
    return this.ctx.streams.send(job.worker_id, instruction);
  }

  pushCancel(workerId: string, jobId: string): boolean {
    return this.ctx.streams.send(workerId, { cancel_job_id: jobId, instruction: 'cancel_job_id' });
  }

  private heartbeat(request: HeartbeatRequestMessage): HeartbeatResponseMessage {
    const { gate, machine, heartbeats, options } = this.ctx;
    gate.requireLeader();
    const worker = machine.worker(request.worker_id);
    if (worker === undefined) throw new NotFoundError(`worker ${JSON.stringify(request.worker_id)} is not registered (or was forgotten): register again`);
    heartbeats.note(worker.id, request.resident_circuits, worker.resident_circuits);
    // Until the state has caught up, judge nothing (a job assigned in the last entries of the previous term is not seen yet).
    if (!this.ctx.leaderReady()) return { lease_ms: options.lease_ms, cancel_job_ids: [] };
    // Jobs it works on that are no longer its own (cancelled, expired, given to another): stop them.
    const cancel = request.running_jobs.filter((jobId) => {
      const job = machine.job(jobId);
      return job === undefined || job.worker_id !== worker.id || !isLeasedState(job.state);
    });
    this.takeBackUnlisted(worker.id, worker.current_jobs, new Set(request.running_jobs));
    return { lease_ms: options.lease_ms, cancel_job_ids: cancel };
  }

  /**
   * Jobs the state says the worker holds but its heartbeats have not listed
   * for ORPHAN_LEASES leases (the worker restarted without registering, or
   * dropped the job): their attempt is failed (not permanently), so the job
   * goes back to the queue instead of waiting forever on a live worker.
   */
  private takeBackUnlisted(workerId: string, held: readonly string[], listed: ReadonlySet<string>): void {
    const now_ms = Date.now();
    const grace_ms = ORPHAN_LEASES * this.ctx.options.lease_ms;
    const current = new Set<string>();
    for (const jobId of held) {
      const job = this.ctx.machine.job(jobId);
      if (job === undefined) continue;
      const key = `${workerId}/${jobId}/${job.attempts}`;
      if (listed.has(jobId)) continue;
      current.add(key);
      const since = this.unlisted.get(key);
      if (since === undefined) {
        this.unlisted.set(key, now_ms);
        continue;
      }
      if (now_ms - since < grace_ms) continue;
      this.unlisted.delete(key);
      this.ctx.logger.warn({ job: jobId, attempt: job.attempts, worker: workerId }, 'a live worker no longer lists a job it holds; taking it back');
      void this.ctx.proposer
        .propose({
          type: 'fail',
          jobId,
          attempt: job.attempts,
          workerId,
          permanent: false,
          code: 'UNAVAILABLE',
          message: `worker ${workerId} stopped listing the job in its heartbeats for ${grace_ms} ms (restarted or lost it)`,
        })
        .catch((error: unknown) =>
          this.ctx.logger.debug({ job: jobId, error: (error as Error).message }, 'taking back an unlisted job failed; retried on a later heartbeat'),
        );
    }
    for (const key of this.unlisted.keys()) if (key.startsWith(`${workerId}/`) && !current.has(key)) this.unlisted.delete(key);
  }

  /** The job a report is about, or why the report is ignored. */
  private reported(workerId: string, jobId: string, attempt: number): JobRecord | string {
    const job = this.ctx.machine.job(jobId);
    if (job === undefined) return `job ${jobId} is not in the state (unknown, or finished and archived)`;
    if (!isLeasedState(job.state)) return `job ${jobId} is ${job.state}`;
    if (job.attempts !== attempt) return `attempt ${attempt} of job ${jobId} is not its current attempt ${job.attempts}`;
    if (job.worker_id !== workerId) return `job ${jobId} is held by worker ${job.worker_id}, not ${workerId}`;
    return job;
  }

  private async reportProgress(request: ProgressReportMessage): Promise<AckMessage> {
    this.requireReadyLeader();
    let job = this.reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    if (job.state === 'ASSIGNED') {
      const key = `${job.id}/${job.attempts}`;
      if (!this.runningInFlight.has(key)) {
        this.runningInFlight.add(key);
        try {
          const result = await this.ctx.proposer.propose({ type: 'running', jobId: job.id, attempt: job.attempts, workerId: request.worker_id });
          if (!result.accepted) return { accepted: false, reason: result.reason };
        } finally {
          this.runningInFlight.delete(key);
        }
      }
      job = this.ctx.machine.job(job.id) ?? job;
    }
    if (request.progress !== null && request.progress !== undefined && job.state === 'RUNNING') this.ctx.watches.reportProgress(job, request.progress);
    return { accepted: true, reason: '' };
  }

  private async complete(request: CompleteRequestMessage): Promise<AckMessage> {
    const { machine, verifier, proposer, logger } = this.ctx;
    this.requireReadyLeader();
    const job = this.reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    const circuit = machine.circuit(job.circuit_id);
    if (circuit === undefined) return { accepted: false, reason: `circuit ${job.circuit_id} of job ${job.id} is not registered` };
    const check = await verifier.check(circuit, request.proof_json, request.public_json);
    if (!check.valid) {
      logger.warn({ job: job.id, attempt: request.attempt, worker: request.worker_id, reason: check.reason }, 'a worker reported a proof that does not verify');
      const failed = await proposer.propose({
        type: 'fail',
        jobId: job.id,
        attempt: request.attempt,
        workerId: request.worker_id,
        permanent: false,
        code: 'VERIFICATION_FAILED',
        message: clip(`worker ${request.worker_id} reported a proof that does not verify: ${check.reason}`),
      });
      const outcome = failed.accepted ? 'this attempt counts as failed; the job is retried while attempts remain' : failed.reason;
      return { accepted: false, reason: `proof rejected: ${check.reason}; ${outcome}` };
    }
    const result = await proposer.propose({
      type: 'complete',
      jobId: job.id,
      attempt: request.attempt,
      workerId: request.worker_id,
      proofJson: request.proof_json,
      publicJson: request.public_json,
      prove_ms: request.prove_ms,
      backend: request.backend,
    });
    return { accepted: result.accepted, reason: result.reason };
  }

  private async fail(request: FailRequestMessage): Promise<AckMessage> {
    this.requireReadyLeader();
    const job = this.reported(request.worker_id, request.job_id, request.attempt);
    if (typeof job === 'string') return { accepted: false, reason: job };
    const result = await this.ctx.proposer.propose({
      type: 'fail',
      jobId: request.job_id,
      attempt: request.attempt,
      workerId: request.worker_id,
      permanent: request.permanent,
      code: request.error_code === '' ? 'INTERNAL' : clip(request.error_code, 64),
      message: clip(request.error_message),
    });
    return { accepted: result.accepted, reason: result.reason };
  }

  private fetchArtifact(call: grpc.ServerWritableStream<FetchArtifactRequestMessage, ArtifactChunkMessage>): void {
    const sha256 = call.request.sha256;
    const send = async (): Promise<void> => {
      if (!HEX64.test(sha256)) throw new InvalidArgumentError(`artifact sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256)}`);
      // Any node serves artifacts: they come from the store, not the Raft state.
      const store = this.ctx.store.require('fetching an artifact');
      const info = await store.artifactInfo(sha256);
      if (info === null) throw new NotFoundError(`no artifact with sha256 ${sha256} is stored`);
      const kind = artifactKindOf(info.kind) as ArtifactChunkMessage['kind'];
      for await (const data of store.streamArtifact(sha256)) {
        if (call.cancelled) return;
        if (!call.write({ kind, data })) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              call.off('drain', done);
              call.off('cancelled', done);
              resolve();
            };
            call.on('drain', done);
            call.on('cancelled', done);
          });
        }
      }
      call.end();
    };
    send().catch((error: unknown) => failStream(call, error, 'FetchArtifact', this.ctx.logger));
  }

  private async deregister(request: DeregisterRequestMessage): Promise<AckMessage> {
    this.ctx.gate.requireLeader();
    if (request.worker_id === '') throw new InvalidArgumentError('Deregister needs the worker_id');
    if (this.ctx.machine.worker(request.worker_id) === undefined) return { accepted: false, reason: `worker ${request.worker_id} is not registered` };
    const result = await this.ctx.proposer.propose({ type: 'deregister-worker', workerId: request.worker_id });
    this.ctx.logger.info({ worker: request.worker_id, requeued: result.requeuedJobIds, failed: result.failedJobIds }, 'worker deregistered');
    this.ctx.streams.close(request.worker_id, (stream) => stream.end());
    return { accepted: true, reason: '' };
  }
}

function clip(text: string, chars_max = ERROR_TEXT_CHARS_MAX): string {
  return text.length <= chars_max ? text : `${text.slice(0, chars_max - 1)}…`;
}
