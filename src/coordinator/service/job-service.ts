/**
 * zkp.v1.JobService: circuits and jobs for clients. Writes need the leader
 * (a follower answers the redirect); reads wait for a ReadIndex barrier
 * unless stale_ok; WatchJob is served by any node from its applied state.
 */
import { createReadStream } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type {
  CircuitMessage,
  JobMessage,
  ListJobsRequestMessage,
  ListJobsResponseMessage,
  RegisterCircuitRequestMessage,
  RegisterCircuitResponseMessage,
  SubmitJobRequestMessage,
  SubmitJobResponseMessage,
  SubmitJobsRequestMessage,
  SubmitJobsResponseMessage,
} from '../../api/types.ts';
import { SUBMIT_BATCH_MAX } from '../../api/types.ts';
import { InvalidArgumentError, NotFoundError, NotLeaderError, ResourceExhaustedError, UnavailableError, ZkpError } from '../../errors/index.ts';
import { toCircuitMessage, toJobMessage } from '../state/messages.ts';
import { isTerminalState, JOB_STATES, type CircuitRecord, type JobInput, type JobRecord, type JobStateName } from '../state/records.ts';
import { spoolUpload } from './circuit-upload.ts';
import type { ServiceContext } from './context.ts';
import { jobMessageOfArchived, STORE_KIND } from './store-port.ts';
import { failStream, messagesOf, statusOf, unary } from './grpc-calls.ts';
import { checkJobInput } from './job-input.ts';
import type {
  CancelJobRequestMessage,
  GetCircuitRequestMessage,
  GetJobRequestMessage,
  JobEventMessage,
  ListCircuitsRequestMessage,
  ListCircuitsResponseMessage,
  WatchJobRequestMessage,
} from './messages.ts';

const PAGE_SIZE_DEFAULT = 50;
const PAGE_SIZE_MAX = 1000;
/** Page tokens: live jobs first ("L<seq>"), then the archive ("A<store token>"). */
const LIVE_TOKEN = 'L';
const ARCHIVE_TOKEN = 'A';

export class JobService {
  constructor(private readonly ctx: ServiceContext) {}

  implementation(): grpc.UntypedServiceImplementation {
    const logger = this.ctx.logger;
    return {
      RegisterCircuit: (
        call: grpc.ServerReadableStream<RegisterCircuitRequestMessage, RegisterCircuitResponseMessage>,
        callback: grpc.sendUnaryData<RegisterCircuitResponseMessage>,
      ) => {
        this.registerCircuit(call).then(
          (response) => callback(null, response),
          (error: unknown) => {
            callback(statusOf(error, 'RegisterCircuit', logger));
            // Stop reading the rest of a refused upload.
            call.destroy();
          },
        );
      },
      GetCircuit: unary('GetCircuit', logger, (request: GetCircuitRequestMessage) => this.getCircuit(request)),
      ListCircuits: unary('ListCircuits', logger, (request: ListCircuitsRequestMessage) => this.listCircuits(request)),
      SubmitJob: unary('SubmitJob', logger, (request: SubmitJobRequestMessage) => this.submitJob(request)),
      SubmitJobs: unary('SubmitJobs', logger, (request: SubmitJobsRequestMessage) => this.submitJobs(request)),
      GetJob: unary('GetJob', logger, (request: GetJobRequestMessage) => this.getJob(request)),
      WatchJob: (call: grpc.ServerWritableStream<WatchJobRequestMessage, JobEventMessage>) => this.watchJob(call),
      CancelJob: unary('CancelJob', logger, (request: CancelJobRequestMessage) => this.cancelJob(request)),
      ListJobs: unary('ListJobs', logger, (request: ListJobsRequestMessage) => this.listJobs(request)),
    };
  }

  // ---------------------------------------------------------------- circuits

  private async registerCircuit(
    call: grpc.ServerReadableStream<RegisterCircuitRequestMessage, RegisterCircuitResponseMessage>,
  ): Promise<RegisterCircuitResponseMessage> {
    const { gate, store, options, proposer, machine, verifier } = this.ctx;
    gate.requireLeader();
    const artifacts = store.require('registering a circuit (its wasm and zkey are kept in the store)');
    const upload = await spoolUpload(messagesOf(call), options.spoolDir, options.upload);
    try {
      const name = upload.name !== '' ? upload.name : `circuit-${upload.zkey.sha256.slice(0, 12)}`;
      const inspected = await this.ctx.crypto.inspect({ wasm: upload.wasm, zkey: upload.zkey, vkey: upload.vkey }, name);
      gate.requireLeader();
      // Content-addressed: storing again after a retry is a no-op.
      for (const artifact of [upload.wasm, upload.zkey]) {
        await artifacts.putArtifact(createReadStream(artifact.path, { highWaterMark: 1024 * 1024 }), {
          kind: STORE_KIND[artifact.kind],
          expectSha256: artifact.sha256,
          expectBytes: artifact.bytes,
        });
      }
      await artifacts.putArtifact(inspected.vkeyBytes, { kind: STORE_KIND.VKEY, expectSha256: inspected.spec.vkey_sha256 });
      const result = await proposer.propose({ type: 'register-circuit', circuit: inspected.spec });
      const circuit = machine.circuit(result.circuitId);
      if (circuit === undefined) throw new UnavailableError(`circuit ${result.circuitId} was registered but is not in this node's state`);
      if (!result.existing) verifier.remember(circuit.id, inspected.vkey);
      this.ctx.logger.info({ circuit: circuit.id, name: circuit.name, existing: result.existing }, 'circuit registered');
      return { circuit: toCircuitMessage(circuit), existing: result.existing };
    } finally {
      await upload.dispose();
    }
  }

  /** A circuit by id or name, from this node's state (after the caller's barrier); NotFound names what was asked. */
  private circuitOf(idOrName: string): CircuitRecord {
    if (idOrName === '') throw new InvalidArgumentError('name the circuit (its id or its name)');
    const circuit = this.ctx.machine.circuit(idOrName);
    if (circuit === undefined)
      throw new NotFoundError(`circuit ${JSON.stringify(idOrName)} is not registered (neither an id nor a name of a registered circuit)`);
    return circuit;
  }

  private async getCircuit(request: GetCircuitRequestMessage): Promise<CircuitMessage> {
    await this.ctx.gate.readBarrier(request.stale_ok);
    return toCircuitMessage(this.circuitOf(request.circuit));
  }

  private async listCircuits(request: ListCircuitsRequestMessage): Promise<ListCircuitsResponseMessage> {
    await this.ctx.gate.readBarrier(request.stale_ok);
    return { circuits: this.ctx.machine.circuits().map(toCircuitMessage) };
  }

  // ---------------------------------------------------------------- jobs

  async submitJob(request: SubmitJobRequestMessage): Promise<SubmitJobResponseMessage> {
    const { gate, machine, options, proposer } = this.ctx;
    gate.requireLeader();
    let circuit = machine.circuit(request.circuit);
    if (circuit === undefined) {
      // A new leader may not have applied everything committed yet.
      await gate.readBarrier(false);
      circuit = this.circuitOf(request.circuit);
    }
    const checked = checkJobInput(request, circuit, options.inputMaxBytes);
    let input: JobInput;
    if (checked.bytes.length <= options.inlineInputMaxBytes) {
      input = checked.kind === 'json' ? { kind: 'json', json: checked.json } : { kind: 'wtns', wtns: checked.bytes };
    } else {
      const store = this.ctx.store.get();
      if (store === null) {
        throw new ResourceExhaustedError(
          `the input is ${checked.bytes.length} bytes; inputs above ${options.inlineInputMaxBytes} bytes go through the store, and this cluster has none (store.databaseUrl is empty)`,
        );
      }
      const stored = await store.putArtifact(checked.bytes, { kind: STORE_KIND.INPUT });
      input = { kind: 'stored', sha256: stored.sha256, is_wtns: checked.kind === 'wtns' };
    }
    const timeout_ms = request.timeout_ms ?? 0;
    if (!Number.isSafeInteger(timeout_ms) || timeout_ms < 0) throw new InvalidArgumentError(`timeout_ms must be a non-negative integer, got ${timeout_ms}`);
    const result = await proposer.propose({
      type: 'submit',
      circuitId: circuit.id,
      input,
      idempotencyKey: request.idempotency_key ?? '',
      priority: request.priority ?? 0,
      deadline_ms: timeout_ms === 0 ? 0 : Date.now() + timeout_ms,
      maxAttempts: request.max_attempts ?? 0,
    });
    return { job: await this.jobMessage(result.jobId), existing: result.existing };
  }

  /**
   * Many submits in one call: each job is accepted or refused on its own, as
   * SubmitJob would answer it; their proposals land in shared batch entries
   * (proposer.ts). Losing the leadership midway refuses the whole call with
   * the redirect, as SubmitJob does, when no job was accepted; otherwise the
   * jobs not accepted carry the redirect's error and the caller retries them
   * (their idempotency keys make that safe).
   */
  async submitJobs(request: SubmitJobsRequestMessage): Promise<SubmitJobsResponseMessage> {
    const jobs = request.jobs ?? [];
    if (jobs.length === 0) throw new InvalidArgumentError('SubmitJobs carries no jobs');
    if (jobs.length > SUBMIT_BATCH_MAX) throw new InvalidArgumentError(`SubmitJobs carries ${jobs.length} jobs; at most ${SUBMIT_BATCH_MAX} per call`);
    this.ctx.gate.requireLeader();
    const settled = await Promise.allSettled(jobs.map((job) => this.submitJob(job)));
    const accepted = settled.filter((outcome) => outcome.status === 'fulfilled').length;
    if (accepted === 0) {
      const notLeader = settled.find((outcome) => outcome.status === 'rejected' && outcome.reason instanceof NotLeaderError);
      if (notLeader !== undefined) throw (notLeader as PromiseRejectedResult).reason;
    }
    return {
      results: settled.map((outcome) => {
        if (outcome.status === 'fulfilled') return { accepted: outcome.value, error_code: '', error_message: '', retry_after_ms: 0 };
        const error = outcome.reason instanceof ZkpError ? outcome.reason : new ZkpError('INTERNAL', String(outcome.reason));
        if (error.code === 'INTERNAL') this.ctx.logger.error({ error: error.message }, 'SubmitJobs: a job failed with an internal error');
        return {
          accepted: null,
          error_code: error.code,
          error_message: error.message,
          retry_after_ms: error instanceof ResourceExhaustedError && error.retryAfter_ms !== null ? error.retryAfter_ms : 0,
        };
      }),
    };
  }

  /** The job as the API shows it: from the state, else from the archive; NotFound otherwise. */
  private async jobMessage(jobId: string): Promise<JobMessage> {
    const job = this.ctx.machine.job(jobId);
    if (job !== undefined) return toJobMessage(job, this.ctx.watches.progressOf(job));
    const store = this.ctx.store.get();
    const archived = store === null ? null : await store.getArchivedJob(jobId);
    if (archived !== null) return jobMessageOfArchived(archived);
    throw new NotFoundError(
      `job ${JSON.stringify(jobId)} is not known (never submitted${this.ctx.store.configured ? '' : ', or finished and forgotten: this cluster keeps no archive'})`,
    );
  }

  async getJob(request: GetJobRequestMessage): Promise<JobMessage> {
    if (request.job_id === '') throw new InvalidArgumentError('job_id is empty');
    await this.ctx.gate.readBarrier(request.stale_ok);
    return this.jobMessage(request.job_id);
  }

  private async cancelJob(request: CancelJobRequestMessage): Promise<JobMessage> {
    if (request.job_id === '') throw new InvalidArgumentError('job_id is empty');
    this.ctx.gate.requireLeader();
    await this.ctx.proposer.propose({ type: 'cancel', jobId: request.job_id });
    return this.jobMessage(request.job_id);
  }

  private async listJobs(request: ListJobsRequestMessage): Promise<ListJobsResponseMessage> {
    const { machine, gate } = this.ctx;
    const pageSize = request.page_size === undefined || request.page_size === 0 ? PAGE_SIZE_DEFAULT : request.page_size;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > PAGE_SIZE_MAX)
      throw new InvalidArgumentError(`page_size must be 1 to ${PAGE_SIZE_MAX}, got ${pageSize}`);
    const states = (request.states ?? []).filter((s) => (s as string) !== 'JOB_STATE_UNSPECIFIED') as JobStateName[];
    for (const state of states) if (!JOB_STATES.includes(state)) throw new InvalidArgumentError(`unknown job state ${JSON.stringify(state)}`);
    await gate.readBarrier(request.stale_ok ?? false);
    const circuitId = request.circuit === undefined || request.circuit === '' ? undefined : this.circuitOf(request.circuit).id;
    const token = request.page_token ?? '';
    const filter = { ...(circuitId === undefined ? {} : { circuitId }), states };
    if (token === '' || token.startsWith(LIVE_TOKEN)) {
      const listing = machine.listJobs(filter, { pageSize, pageToken: token.slice(LIVE_TOKEN.length) });
      const jobs = listing.jobs.map((job: JobRecord) => toJobMessage(job, this.ctx.watches.progressOf(job)));
      if (listing.nextPageToken !== '') return { jobs, next_page_token: `${LIVE_TOKEN}${listing.nextPageToken}` };
      // The live jobs are done; the archive follows when asked for (a job archived meanwhile may show twice, never not at all).
      return { jobs, next_page_token: request.include_archived === true ? ARCHIVE_TOKEN : '' };
    }
    if (!token.startsWith(ARCHIVE_TOKEN)) throw new InvalidArgumentError(`page token ${JSON.stringify(token)} is not one this service returned`);
    const store = this.ctx.store.require('listing archived jobs');
    const after = token.slice(ARCHIVE_TOKEN.length);
    const terminal = states.filter(isTerminalState);
    if (states.length > 0 && terminal.length === 0) return { jobs: [], next_page_token: '' };
    const page = await store.listArchivedJobs({
      ...(circuitId === undefined ? {} : { circuitId }),
      ...(terminal.length === 0 ? {} : { states: terminal }),
      limit: pageSize,
      ...(after === '' ? {} : { after }),
    });
    return { jobs: page.jobs.map(jobMessageOfArchived), next_page_token: page.nextAfter === null ? '' : `${ARCHIVE_TOKEN}${page.nextAfter}` };
  }

  // ---------------------------------------------------------------- watch

  private watchJob(call: grpc.ServerWritableStream<WatchJobRequestMessage, JobEventMessage>): void {
    const logger = this.ctx.logger;
    const jobId = call.request.job_id;
    const start = async (): Promise<void> => {
      if (jobId === '') throw new InvalidArgumentError('job_id is empty');
      await this.ctx.gate.readBarrier(false);
      const job = this.ctx.machine.job(jobId);
      if (job === undefined) {
        // Finished and archived: its last state, and the stream ends.
        call.write({ job: await this.jobMessage(jobId) });
        call.end();
        return;
      }
      call.write({ job: toJobMessage(job, this.ctx.watches.progressOf(job)) });
      if (isTerminalState(job.state)) {
        call.end();
        return;
      }
      const remove = this.ctx.watches.add(
        jobId,
        {
          send: (next, progress) => {
            if (call.cancelled || call.writableEnded) return;
            call.write({ job: toJobMessage(next, progress) });
            if (isTerminalState(next.state)) call.end();
          },
          close: (error) => failStream(call, error, 'WatchJob', logger),
          gone: () => {
            void this.jobMessage(jobId).then(
              (message) => {
                if (call.cancelled || call.writableEnded) return;
                call.write({ job: message });
                call.end();
              },
              (error: unknown) => failStream(call, error, 'WatchJob', logger),
            );
          },
        },
        job,
      );
      call.on('cancelled', remove);
      call.on('close', remove);
    };
    start().catch((error: unknown) => failStream(call, error, 'WatchJob', logger));
  }
}
