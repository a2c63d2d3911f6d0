/**
 * ZkpClient: the typed client SDK of the zkp-cluster service, over the
 * LeaderRouter (which follows the leader; see its header for the retry
 * rules). Every write is made safe to retry:
 *
 * - submitJob carries an idempotency key (a random UUID when the caller gives
 *   none), so a retry after an unknown outcome returns the same job; a full
 *   queue (RESOURCE_EXHAUSTED with a retry hint) is waited out and retried,
 *   bounded by `fullWait_ms_max`, unless `retryWhenFull: false`.
 * - registerCircuit is content-addressed (the circuit id is the zkey's
 *   sha256), so re-sending it registers nothing twice.
 * - cancelJob, transferLeadership, addCoordinator and removeCoordinator are
 *   retried only where the server surely did not act (a redirect, no
 *   connection).
 *
 * watchJob follows a job to its terminal state across leader changes: when
 * the stream breaks (the leader died or stepped down) it re-opens it on the
 * new leader and goes on; the first event of every stream is the job as it
 * is now, so nothing is missed (a repeat of the last event seen is skipped).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type {
  ArtifactKindName,
  CircuitHeaderMessage,
  CircuitMessage,
  ClusterStatusMessage,
  JobMessage,
  JobStateName,
  ListJobsResponseMessage,
  RegisterCircuitRequestMessage,
  RegisterCircuitResponseMessage,
  SubmitJobRequestMessage,
  SubmitJobResponseMessage,
  SubmitJobsRequestMessage,
  SubmitJobsResponseMessage,
} from '../api/types.ts';
import { SUBMIT_BATCH_MAX, TERMINAL_JOB_STATES } from '../api/types.ts';
import {
  CancelledError,
  type ErrorCode,
  InvalidArgumentError,
  NotFoundError,
  NotLeaderError,
  ResourceExhaustedError,
  UnavailableError,
  ZkpError,
} from '../errors/index.ts';
import { type CallOptions, LeaderRouter, type LeaderRouterOptions, type StreamSink } from './leader-router.ts';

/** Bytes in memory, or a file path (read in chunks, never whole). */
export type ArtifactSource = Uint8Array | string;

export interface RegisterCircuitOptions {
  readonly name: string;
  readonly wasm: ArtifactSource;
  readonly zkey: ArtifactSource;
  /** verification_key.json; when absent the coordinator derives it from the zkey. */
  readonly vkey?: ArtifactSource;
  /** Bytes per chunk message (default 1 MiB; the server's message limit is larger). */
  readonly chunk_bytes?: number;
  /** Bound on the whole upload, retries included (default 10 minutes). */
  readonly timeout_ms?: number;
}

/** What one job of submitJobs got. */
export type SubmitJobsOutcome = { readonly ok: true; readonly job: JobMessage; readonly existing: boolean } | { readonly ok: false; readonly error: ZkpError };

export interface SubmitJobOptions {
  /** Circuit id or name. */
  readonly circuit: string;
  /** circom input signals: a JSON text or a value to serialise. Exactly one of inputJson and witness. */
  readonly inputJson?: string | Record<string, unknown>;
  /** A computed witness (.wtns bytes). */
  readonly witness?: Uint8Array;
  /** Same key, same job. Default: a random UUID, fixed for this call's retries. */
  readonly idempotencyKey?: string;
  /** Higher first (int32; default 0). */
  readonly priority?: number;
  /** Deadline = submit time + timeout_ms; 0 or absent = none. */
  readonly timeout_ms?: number;
  /** 0 or absent = the cluster's default. */
  readonly maxAttempts?: number;
  /** On RESOURCE_EXHAUSTED (full queue), wait the hint and retry (default true). */
  readonly retryWhenFull?: boolean;
  /** Longest total wait for a full queue (default 30,000). */
  readonly fullWait_ms_max?: number;
  readonly signal?: AbortSignal;
}

export interface ListJobsOptions {
  /** Circuit id or name. */
  readonly circuit?: string;
  readonly states?: readonly JobStateName[];
  /** Default 50, at most 1000. */
  readonly pageSize?: number;
  readonly pageToken?: string;
  readonly stale?: boolean;
  /** Also read finished jobs from the PostgreSQL archive. */
  readonly includeArchived?: boolean;
}

export interface ListJobsPage {
  readonly jobs: JobMessage[];
  /** Empty when this was the last page. */
  readonly nextPageToken: string;
}

export interface WatchOptions {
  readonly signal?: AbortSignal;
  /** Bound on finding a leader each time the watch is (re)opened (default: the router's deadline). */
  readonly reopenDeadline_ms?: number;
}

export interface AddCoordinatorOptions {
  readonly id: string;
  readonly raftAddress: string;
  readonly clientAddress: string;
  readonly asLearner?: boolean;
}

const CHUNK_BYTES_DEFAULT = 1024 * 1024;
const CHUNK_BYTES_MAX = 4 * 1024 * 1024;
const UPLOAD_TIMEOUT_MS_DEFAULT = 10 * 60_000;
const FULL_WAIT_MS_MAX_DEFAULT = 30_000;
/** Pause before re-opening a watch that ended without a terminal state (a clean close by a stepping-down leader). */
const WATCH_REOPEN_PAUSE_MS = 50;

export function isTerminal(state: JobStateName): boolean {
  return TERMINAL_JOB_STATES.includes(state);
}

export class ZkpClient {
  readonly router: LeaderRouter;
  readonly #ownsRouter: boolean;

  /** Over a new router for these coordinator addresses (host:port), or over a router the caller keeps. */
  constructor(coordinators: readonly string[] | LeaderRouter, options: LeaderRouterOptions = {}) {
    this.#ownsRouter = !(coordinators instanceof LeaderRouter);
    this.router = coordinators instanceof LeaderRouter ? coordinators : new LeaderRouter(coordinators, options);
  }

  /** Closes the router if this client made it. */
  close(): void {
    if (this.#ownsRouter) this.router.close();
  }

  // ---- circuits ----

  /** Uploads wasm, zkey and optional vkey (hashed here, checked by the server); answers the circuit and whether it existed. */
  async registerCircuit(options: RegisterCircuitOptions): Promise<RegisterCircuitResponseMessage> {
    if (options.name.trim() === '') throw new InvalidArgumentError('a circuit needs a name');
    const chunk_bytes = options.chunk_bytes ?? CHUNK_BYTES_DEFAULT;
    if (!Number.isInteger(chunk_bytes) || chunk_bytes < 1 || chunk_bytes > CHUNK_BYTES_MAX)
      throw new InvalidArgumentError(`chunk_bytes must be an integer in 1..${CHUNK_BYTES_MAX}, got ${chunk_bytes}`);
    const wasm = await describeArtifact(options.wasm, 'wasm');
    const zkey = await describeArtifact(options.zkey, 'zkey');
    const vkey = options.vkey === undefined ? null : await describeArtifact(options.vkey, 'vkey');
    const header: CircuitHeaderMessage = {
      name: options.name,
      wasm_sha256: wasm.sha256,
      zkey_sha256: zkey.sha256,
      vkey_sha256: vkey?.sha256 ?? '',
      wasm_bytes: wasm.bytes,
      zkey_bytes: zkey.bytes,
      vkey_bytes: vkey?.bytes ?? 0,
    };
    const timeout_ms = options.timeout_ms ?? UPLOAD_TIMEOUT_MS_DEFAULT;
    return this.router.clientStream<RegisterCircuitRequestMessage, RegisterCircuitResponseMessage>(
      'job',
      'RegisterCircuit',
      async (sink: StreamSink<RegisterCircuitRequestMessage>) => {
        await sink.write({ header });
        const parts: [ArtifactKindName, ArtifactSource][] = [
          ['WASM', options.wasm],
          ['ZKEY', options.zkey],
        ];
        if (options.vkey !== undefined) parts.push(['VKEY', options.vkey]);
        for (const [kind, source] of parts) {
          for await (const data of chunks(source, chunk_bytes)) await sink.write({ chunk: { kind, data } });
        }
      },
      { idempotent: true, deadline_ms: timeout_ms, attempt_timeout_ms: timeout_ms },
    );
  }

  async getCircuit(circuit: string, options: { stale?: boolean } = {}): Promise<CircuitMessage> {
    return this.router.unary('job', 'GetCircuit', { circuit, stale_ok: options.stale ?? false }, readOptions(options.stale));
  }

  async listCircuits(options: { stale?: boolean } = {}): Promise<CircuitMessage[]> {
    const response = await this.router.unary<object, { circuits: CircuitMessage[] }>(
      'job',
      'ListCircuits',
      { stale_ok: options.stale ?? false },
      readOptions(options.stale),
    );
    return response.circuits;
  }

  // ---- jobs ----

  /** Submits a proving job; a retry (by this SDK or by the caller with the same key) returns the same job. */
  async submitJob(options: SubmitJobOptions): Promise<SubmitJobResponseMessage> {
    const request = submitRequest(options);
    const retryWhenFull = options.retryWhenFull ?? true;
    const fullWait_ms_max = options.fullWait_ms_max ?? FULL_WAIT_MS_MAX_DEFAULT;
    let waited_ms = 0;
    for (;;) {
      try {
        return await this.router.unary<SubmitJobRequestMessage, SubmitJobResponseMessage>('job', 'SubmitJob', request, {
          idempotent: true,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
      } catch (error) {
        // Without a hint it is not a full queue (an oversize message): sending it again cannot help.
        if (!(error instanceof ResourceExhaustedError) || !retryWhenFull || error.retryAfter_ms === null) throw error;
        const wait_ms = Math.max(1, error.retryAfter_ms);
        if (waited_ms + wait_ms > fullWait_ms_max) throw error;
        waited_ms += wait_ms;
        await abortableSleep(wait_ms, options.signal);
      }
    }
  }

  /**
   * Submits many jobs in as few calls as possible (SUBMIT_BATCH_MAX per
   * call); each job is accepted or refused on its own (by this SDK's checks
   * or by the cluster), answered in the order given. Jobs refused because the leader changed midway are sent again
   * (same idempotency keys: never twice) up to 3 times; a full queue's
   * refusal is returned to the caller with its retry hint.
   */
  async submitJobs(jobs: readonly SubmitJobOptions[], options: { signal?: AbortSignal } = {}): Promise<SubmitJobsOutcome[]> {
    const outcomes: SubmitJobsOutcome[] = new Array(jobs.length);
    const requests: SubmitJobRequestMessage[] = new Array(jobs.length);
    let pending: number[] = [];
    for (const [i, job] of jobs.entries()) {
      // A job this SDK refuses (malformed JSON, no circuit) is answered on its own, like one the cluster refuses.
      try {
        requests[i] = submitRequest(job);
        pending.push(i);
      } catch (error) {
        outcomes[i] = { ok: false, error: error instanceof ZkpError ? error : new InvalidArgumentError(String(error)) };
      }
    }
    for (let round = 0; round < 4 && pending.length > 0; round++) {
      const retry: number[] = [];
      for (let start = 0; start < pending.length; start += SUBMIT_BATCH_MAX) {
        const slice = pending.slice(start, start + SUBMIT_BATCH_MAX);
        const response = await this.router.unary<SubmitJobsRequestMessage, SubmitJobsResponseMessage>(
          'job',
          'SubmitJobs',
          { jobs: slice.map((i) => requests[i]!) },
          { idempotent: true, ...(options.signal === undefined ? {} : { signal: options.signal }) },
        );
        if (response.results.length !== slice.length)
          throw new UnavailableError(`SubmitJobs answered ${response.results.length} results for ${slice.length} jobs`);
        for (const [k, result] of response.results.entries()) {
          const i = slice[k]!;
          if (result.accepted !== null && result.accepted !== undefined && result.error_code === '') {
            outcomes[i] = { ok: true, job: result.accepted.job, existing: result.accepted.existing };
            continue;
          }
          const code = result.error_code === '' ? 'INTERNAL' : (result.error_code as ErrorCode);
          if ((code === 'NOT_LEADER' || code === 'UNAVAILABLE') && round < 3) retry.push(i);
          const error =
            code === 'RESOURCE_EXHAUSTED'
              ? new ResourceExhaustedError(result.error_message, result.retry_after_ms > 0 ? { retryAfter_ms: result.retry_after_ms } : {})
              : new ZkpError(code, result.error_message);
          outcomes[i] = { ok: false, error };
        }
      }
      pending = retry;
    }
    return outcomes;
  }

  async getJob(jobId: string, options: { stale?: boolean } = {}): Promise<JobMessage> {
    return this.router.unary('job', 'GetJob', { job_id: jobId, stale_ok: options.stale ?? false }, readOptions(options.stale));
  }

  /** Asks the cluster to cancel the job (a running prove is aborted on its worker); answers the job after. */
  async cancelJob(jobId: string): Promise<JobMessage> {
    return this.router.unary('job', 'CancelJob', { job_id: jobId });
  }

  /** One page of jobs. */
  async listJobs(options: ListJobsOptions = {}): Promise<ListJobsPage> {
    const response = await this.router.unary<object, ListJobsResponseMessage>(
      'job',
      'ListJobs',
      {
        circuit: options.circuit ?? '',
        states: [...(options.states ?? [])],
        page_size: options.pageSize ?? 0,
        page_token: options.pageToken ?? '',
        stale_ok: options.stale ?? false,
        include_archived: options.includeArchived ?? false,
      },
      readOptions(options.stale),
    );
    return { jobs: response.jobs, nextPageToken: response.next_page_token };
  }

  /** Every job matching, page after page. */
  async *allJobs(options: Omit<ListJobsOptions, 'pageToken'> = {}): AsyncGenerator<JobMessage> {
    let pageToken = '';
    for (;;) {
      const page = await this.listJobs({ ...options, pageToken });
      yield* page.jobs;
      if (page.nextPageToken === '' || page.nextPageToken === pageToken) return;
      pageToken = page.nextPageToken;
    }
  }

  /**
   * Calls onEvent with the job now and after every change, across leader
   * changes, until the job is terminal; resolves with the terminal job.
   */
  async watchJob(jobId: string, onEvent: (job: JobMessage) => void, options: WatchOptions = {}): Promise<JobMessage> {
    let last: string | null = null;
    let lastJob: JobMessage | null = null;
    const callOptions: CallOptions = {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.reopenDeadline_ms === undefined ? {} : { deadline_ms: options.reopenDeadline_ms }),
    };
    for (;;) {
      if (options.signal?.aborted) throw new CancelledError(`watching ${jobId} cancelled`);
      const stream = await this.router.serverStream<object, { job: JobMessage }>('job', 'WatchJob', { job_id: jobId }, callOptions);
      const onAbort = () => stream.cancel();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const event of stream) {
          const job = event.job;
          const seen = eventKey(job);
          if (seen !== last) {
            last = seen;
            lastJob = job;
            onEvent(job);
          }
          if (isTerminal(job.state)) {
            stream.cancel();
            return job;
          }
        }
      } catch (error) {
        if (!isWatchBreak(error)) throw error;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      if (options.signal?.aborted) throw new CancelledError(`watching ${jobId} cancelled`);
      // The stream ended or broke before a terminal state: the leader changed. Re-open.
      if (lastJob !== null && isTerminal(lastJob.state)) return lastJob;
      await abortableSleep(WATCH_REOPEN_PAUSE_MS, options.signal);
    }
  }

  /** The job once it is terminal (whatever the outcome: check job.state). */
  async waitForJob(jobId: string, options: WatchOptions = {}): Promise<JobMessage> {
    return this.watchJob(jobId, () => {}, options);
  }

  // ---- admin ----

  async status(): Promise<ClusterStatusMessage> {
    return this.router.unary('admin', 'Status', {}, { idempotent: true, stale: true });
  }

  async transferLeadership(to: string): Promise<ClusterStatusMessage> {
    return this.router.unary('admin', 'TransferLeadership', { to });
  }

  async addCoordinator(options: AddCoordinatorOptions): Promise<ClusterStatusMessage> {
    return this.router.unary('admin', 'AddCoordinator', {
      id: options.id,
      raft_address: options.raftAddress,
      client_address: options.clientAddress,
      as_learner: options.asLearner ?? false,
    });
  }

  async removeCoordinator(id: string): Promise<ClusterStatusMessage> {
    return this.router.unary('admin', 'RemoveCoordinator', { id });
  }
}

function readOptions(stale: boolean | undefined): CallOptions {
  return { idempotent: true, stale: stale ?? false };
}

/** What makes a watch event new: a repeat of the same state and progress after a re-open is skipped. */
function eventKey(job: JobMessage): string {
  const progress = job.progress;
  return `${job.state}|${job.attempts}|${job.worker_id}|${progress?.stage ?? ''}|${progress?.done ?? 0}|${progress?.fraction ?? 0}`;
}

/** A watch stream failure that a re-open on the (new) leader cures. */
function isWatchBreak(error: unknown): boolean {
  return error instanceof UnavailableError || error instanceof NotLeaderError || (error instanceof ZkpError && error.code === 'CANCELLED');
}

export function submitRequest(options: SubmitJobOptions): SubmitJobRequestMessage {
  if (options.circuit.trim() === '') throw new InvalidArgumentError('submitJob needs a circuit (id or name)');
  const hasJson = options.inputJson !== undefined;
  const hasWitness = options.witness !== undefined;
  if (hasJson === hasWitness) throw new InvalidArgumentError('submitJob needs exactly one of inputJson and witness');
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < -(2 ** 31) || priority >= 2 ** 31) throw new InvalidArgumentError(`priority must be an int32, got ${priority}`);
  const timeout_ms = options.timeout_ms ?? 0;
  if (!Number.isSafeInteger(timeout_ms) || timeout_ms < 0) throw new InvalidArgumentError(`timeout_ms must be an integer >= 0, got ${timeout_ms}`);
  const maxAttempts = options.maxAttempts ?? 0;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0 || maxAttempts >= 2 ** 32)
    throw new InvalidArgumentError(`maxAttempts must be an integer >= 0, got ${maxAttempts}`);
  const idempotency_key = options.idempotencyKey ?? randomUUID();
  if (idempotency_key === '') throw new InvalidArgumentError('an idempotency key must not be empty');
  const base = { circuit: options.circuit, idempotency_key, priority, timeout_ms, max_attempts: maxAttempts };
  if (hasWitness) return { ...base, witness_wtns: Buffer.from(options.witness!), input: 'witness_wtns' };
  return { ...base, input_json: inputJsonText(options.inputJson!), input: 'input_json' };
}

function inputJsonText(input: string | Record<string, unknown>): string {
  if (typeof input !== 'string') return JSON.stringify(input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch (error) {
    throw new InvalidArgumentError(`the job input is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError('the job input must be a JSON object of input signals');
  return input;
}

interface ArtifactDescription {
  readonly sha256: string;
  readonly bytes: number;
}

async function describeArtifact(source: ArtifactSource, what: string): Promise<ArtifactDescription> {
  if (typeof source !== 'string') return { sha256: createHash('sha256').update(source).digest('hex'), bytes: source.length };
  let size: number;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new InvalidArgumentError(`${source} (${what}) is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ZkpError) throw error;
    throw new NotFoundError(`cannot read ${what} file ${source}: ${(error as Error).message}`);
  }
  const hash = createHash('sha256');
  for await (const data of chunks(source, CHUNK_BYTES_DEFAULT)) hash.update(data);
  return { sha256: hash.digest('hex'), bytes: size };
}

async function* chunks(source: ArtifactSource, chunk_bytes: number): AsyncGenerator<Buffer> {
  if (typeof source !== 'string') {
    for (let offset = 0; offset < source.length; offset += chunk_bytes) {
      yield Buffer.from(source.buffer, source.byteOffset + offset, Math.min(chunk_bytes, source.length - offset));
    }
    return;
  }
  for await (const data of createReadStream(source, { highWaterMark: chunk_bytes })) yield data as Buffer;
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError('cancelled'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
