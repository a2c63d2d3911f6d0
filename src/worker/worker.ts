/**
 * The worker's life with the coordinators:
 *
 * - Register (retried with backoff until a leader answers), then two loops:
 * - Assignments: a stream from the leader, re-opened with backoff when it ends
 *   or breaks, on whichever coordinator leads then (the router follows
 *   redirects); also re-opened when heartbeats find the leader moved while
 *   the stream still reads from the old one.
 * - Heartbeat every lease_ms / 3 with the running jobs and resident circuits;
 *   the answer may name jobs to cancel.
 *   A NOT_FOUND from either (the cluster forgot this worker: its lease ran
 *   out) registers again.
 * - Each assignment runs in its own slot (proveAssignment); its result is
 *   reported with Complete or Fail, retried while no leader answers (bounded
 *   by reportRetry_ms). A duplicate delivery of a running attempt is ignored.
 * - Cancel (instruction or heartbeat answer): the job's AbortSignal fires; it
 *   stops at the next stage boundary and reports nothing (the job is already
 *   CANCELLED on the coordinator).
 * - drain(): no new jobs (an assignment that arrives anyway is handed back
 *   with Fail non-permanent "worker draining"); running jobs get drainGrace_ms
 *   to finish and report; the rest are aborted and handed back the same way;
 *   then Deregister and close.
 *
 * Nothing a coordinator sends and no input can crash the worker: every job
 * runs inside a promise that catches everything and reports it.
 */
import { hostname } from 'node:os';
import { CancelledError, NotFoundError, ZkpError, assert } from '../errors/index.ts';
import type { AckMessage, AssignmentMessage, FailRequestMessage, ProgressMessage, WorkerInfoMessage, WorkerInstructionMessage } from '../api/types.ts';
import type { RoutedStream } from '../client/leader-router.ts';
import type { ProverBackend } from '../prover/backend.ts';
import type { ArtifactCache } from './artifact-cache.ts';
import type { WorkerLink } from './coordinator-link.ts';
import type { HostCapabilities } from './detect.ts';
import { childLogger, type CompiledWorkerOptions, type WorkerLogger } from './options.ts';
import { ProgressThrottle, progressAtStart } from './progress.ts';
import { JobFailure, proveAssignment } from './prove-assignment.ts';
import type { ResidentCircuits } from './resident-circuits.ts';

/** Why a job's AbortSignal fired. */
export type AbortKind = 'cancel' | 'drain' | 'close' | 'superseded';

export class JobAborted extends CancelledError {
  readonly kind: AbortKind;
  constructor(kind: AbortKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export const DRAINING_REASON = 'worker draining';
const DEFAULT_LEASE_MS = 5_000;
const HEARTBEAT_DEADLINE_MS_MIN = 500;
/** After the drain grace, how long handing jobs back may take before the worker closes anyway. */
const DRAIN_HANDBACK_MS = 10_000;
/** On close, how long to wait for aborted jobs to reach a stage boundary before closing the backend under them is avoided. */
const CLOSE_WAIT_MS = 10_000;
/** Finished attempts remembered for re-deliveries. */
const FINISHED_REMEMBERED_MAX = 1_024;
const BACKOFF_MS_MIN = 50;
const BACKOFF_MS_MAX = 2_000;

export interface WorkerParts {
  readonly options: CompiledWorkerOptions;
  readonly capabilities: HostCapabilities;
  readonly backend: ProverBackend;
  /** The reference backend (snarkjs) for a second proof when one does not verify; null when it does not open here. */
  readonly reference: (() => Promise<ProverBackend>) | null;
  readonly link: WorkerLink;
  readonly cache: ArtifactCache;
  readonly circuits: ResidentCircuits;
}

interface RunningJob {
  readonly assignment: AssignmentMessage;
  readonly controller: AbortController;
  readonly logger: WorkerLogger;
  done: Promise<void>;
}

interface FinishedAttempt {
  readonly attempt: number;
  /** A report is being sent (or retried) now. */
  reporting: boolean;
  /** Delivered again during that report: send once more. */
  again: boolean;
  resend(): Promise<void>;
}

export type WorkerState = 'starting' | 'running' | 'draining' | 'closed';

/** Counters for tests and logs. */
export interface WorkerStats {
  assignments: number;
  completed: number;
  failed: number;
  cancelled: number;
  handedBack: number;
  registrations: number;
  streamsOpened: number;
  heartbeats: number;
  progressReports: number;
}

export class Worker {
  #id: string;
  readonly #parts: WorkerParts;
  readonly #logger: WorkerLogger;
  readonly #jobs = new Map<string, RunningJob>();
  /** Attempts finished here, by job id, oldest first (bounded). */
  readonly #finished = new Map<string, FinishedAttempt>();
  /** Results being reported (their slots are already free). */
  readonly #reports = new Set<Promise<void>>();
  /** Aborted by close(): ends the loops and every wait. */
  readonly #stopping = new AbortController();
  #state: WorkerState = 'starting';
  #lease_ms = DEFAULT_LEASE_MS;
  #stream: RoutedStream<WorkerInstructionMessage> | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #registering: Promise<void> | null = null;
  #drain: Promise<void> | null = null;
  #close: Promise<void> | null = null;
  #loops: Promise<void>[] = [];
  #resolveClosed!: () => void;
  /** Resolves once the worker has closed (after close() or a finished drain). */
  readonly closed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });
  readonly stats: WorkerStats = {
    assignments: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    handedBack: 0,
    registrations: 0,
    streamsOpened: 0,
    heartbeats: 0,
    progressReports: 0,
  };

  constructor(parts: WorkerParts) {
    this.#parts = parts;
    this.#id = parts.options.id;
    this.#logger = parts.options.logger;
  }

  get id(): string {
    return this.#id;
  }

  get state(): WorkerState {
    return this.#state;
  }

  get lease_ms(): number {
    return this.#lease_ms;
  }

  /** Job ids running now. */
  runningJobs(): string[] {
    return [...this.#jobs.keys()];
  }

  /** What Register sends. */
  info(): WorkerInfoMessage {
    const { capabilities, options } = this.#parts;
    const gpu = capabilities.gpu;
    return {
      id: this.#id,
      address: hostname(),
      backends: [...capabilities.backends],
      gpu: gpu === null ? null : { name: gpu.name, vendor: gpu.vendor, backend: gpu.backend, memory_bytes: gpu.memory_bytes },
      memory_bytes: capabilities.memory_bytes,
      threads: capabilities.threads,
      slots: options.slots,
      resident_circuits: this.#parts.circuits.ids(),
    };
  }

  /** Registers (waiting for a leader as long as it takes, or until closed or the start signal aborts), then starts the loops. */
  async start(): Promise<void> {
    assert(this.#state === 'starting', 'start() once');
    const startSignal = this.#parts.options.signal;
    const onStartAbort = () => void this.close();
    startSignal?.addEventListener('abort', onStartAbort, { once: true });
    try {
      if (startSignal?.aborted) throw new CancelledError('worker start cancelled');
      await this.#register();
    } finally {
      startSignal?.removeEventListener('abort', onStartAbort);
    }
    if (this.#stopping.signal.aborted) throw new CancelledError('worker closed before it registered');
    this.#state = 'running';
    this.#loops.push(this.#assignmentsLoop());
    this.#scheduleHeartbeat();
    this.#logger.info({ worker: this.#id, backends: this.#parts.capabilities.backends, lease_ms: this.#lease_ms }, 'worker running');
  }

  /** Stops taking jobs, lets running ones finish within the grace period (else hands them back), deregisters, closes. Idempotent. */
  drain(): Promise<void> {
    this.#drain ??= this.#drainNow();
    return this.#drain;
  }

  /** Stops at once: running jobs are aborted (nothing reported), loops end, backends close. Idempotent. */
  close(): Promise<void> {
    this.#close ??= this.#closeNow();
    return this.#close;
  }

  // ---- registration ----

  async #register(): Promise<void> {
    this.#registering ??= this.#registerUntilAnswered().finally(() => {
      this.#registering = null;
    });
    return this.#registering;
  }

  async #registerUntilAnswered(): Promise<void> {
    const backoff = new Backoff();
    this.#logger.info({ worker: this.#id, coordinators: this.#parts.options.coordinators }, 'registering');
    for (;;) {
      if (this.#stopping.signal.aborted) throw new CancelledError('worker closed before it registered');
      try {
        const answer = await this.#parts.link.register(this.info(), { signal: this.#stopping.signal });
        if (answer.worker_id !== '' && answer.worker_id !== this.#id) {
          this.#logger.warn({ asked: this.#id, given: answer.worker_id }, 'the coordinator registered this worker under another id');
          this.#id = answer.worker_id;
        }
        this.#lease_ms = answer.lease_ms > 0 ? answer.lease_ms : DEFAULT_LEASE_MS;
        this.stats.registrations++;
        this.#logger.info({ worker: this.#id, lease_ms: this.#lease_ms, leader: this.#parts.link.leaderAddress }, 'registered');
        return;
      } catch (error) {
        if (this.#stopping.signal.aborted) throw new CancelledError('worker closed before it registered', { cause: error });
        if (!isRetryable(error)) throw error;
        this.#logger.warn({ error: messageOf(error) }, 'registration failed; retrying');
        await sleep(backoff.next(), this.#stopping.signal);
      }
    }
  }

  /** The cluster forgot this worker (NOT_FOUND): register again, once at a time. */
  async #reregister(): Promise<void> {
    try {
      await this.#register();
    } catch (error) {
      if (!this.#stopping.signal.aborted) this.#logger.error({ error: messageOf(error) }, 'registering again failed');
    }
  }

  // ---- the assignments stream ----

  async #assignmentsLoop(): Promise<void> {
    const backoff = new Backoff();
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        const stream = await this.#parts.link.assignments(this.#id, { signal });
        if (signal.aborted) {
          stream.cancel();
          break;
        }
        this.#stream = stream;
        this.stats.streamsOpened++;
        this.#logger.info({ coordinator: stream.address }, 'assignments stream open');
        for await (const instruction of stream) {
          backoff.reset();
          this.#onInstruction(instruction);
        }
        this.#logger.info({ coordinator: stream.address }, 'assignments stream ended; re-opening');
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof NotFoundError) await this.#reregister();
        this.#logger.warn({ error: messageOf(error) }, 'assignments stream failed; re-opening');
      } finally {
        this.#stream = null;
      }
      await sleep(backoff.next(), signal);
    }
  }

  #onInstruction(instruction: WorkerInstructionMessage): void {
    const which = instruction.instruction ?? ('assign' in instruction ? 'assign' : 'cancel_job_id' in instruction ? 'cancel_job_id' : undefined);
    if (which === 'assign' && 'assign' in instruction && isAssignment(instruction.assign)) {
      this.#onAssign(instruction.assign);
      return;
    }
    if (which === 'cancel_job_id' && 'cancel_job_id' in instruction && typeof instruction.cancel_job_id === 'string' && instruction.cancel_job_id !== '') {
      this.#cancel(instruction.cancel_job_id, 'cancelled by the coordinator');
      return;
    }
    this.#logger.warn({ instruction: which ?? null }, 'ignoring an empty or malformed instruction');
  }

  #onAssign(assignment: AssignmentMessage): void {
    this.stats.assignments++;
    const finished = this.#finished.get(assignment.job_id);
    if (finished !== undefined && finished.attempt === assignment.attempt) {
      // Delivered again after it finished here (a re-opened stream re-sends ASSIGNED jobs): the coordinator
      // has not taken the result yet. Send the result again rather than proving again.
      this.#logger.info({ job: assignment.job_id, attempt: assignment.attempt }, 'finished attempt delivered again; re-sending its result');
      void finished.resend();
      return;
    }
    const existing = this.#jobs.get(assignment.job_id);
    if (existing !== undefined) {
      if (existing.assignment.attempt === assignment.attempt) {
        this.#logger.debug({ job: assignment.job_id, attempt: assignment.attempt }, 'duplicate assignment ignored');
        return;
      }
      // The coordinator moved on to a newer attempt (it thought the old one lost): only the newest counts.
      existing.controller.abort(new JobAborted('superseded', `attempt ${existing.assignment.attempt} superseded by ${assignment.attempt}`));
      this.#jobs.delete(assignment.job_id);
    }
    if (this.#state === 'closed') return;
    if (this.#state === 'draining') {
      void this.#handBack(assignment, DRAINING_REASON);
      return;
    }
    if (this.#jobs.size >= this.#parts.options.slots) {
      this.#logger.warn({ job: assignment.job_id, slots: this.#parts.options.slots }, 'assignment beyond the free slots; handing it back');
      void this.#finish(assignment, 'Fail', () =>
        this.#parts.link.fail(
          this.#failRequest(assignment, false, 'RESOURCE_EXHAUSTED', `worker ${this.#id} has no free slot (${this.#parts.options.slots} busy)`),
        ),
      );
      return;
    }
    this.#startJob(assignment);
  }

  #startJob(assignment: AssignmentMessage): void {
    const logger = childLogger(this.#logger, { job: assignment.job_id, attempt: assignment.attempt });
    const job: RunningJob = { assignment, controller: new AbortController(), logger, done: Promise.resolve() };
    this.#jobs.set(assignment.job_id, job);
    job.done = this.#runJob(job).finally(() => {
      if (this.#jobs.get(assignment.job_id) === job) this.#jobs.delete(assignment.job_id);
    });
  }

  /** Never rejects. */
  async #runJob(job: RunningJob): Promise<void> {
    const { assignment, controller, logger } = job;
    const parts = this.#parts;
    const throttle = new ProgressThrottle(async (progress: ProgressMessage) => {
      this.stats.progressReports++;
      try {
        await parts.link.reportProgress({ worker_id: this.#id, job_id: assignment.job_id, attempt: assignment.attempt, progress }, { deadline_ms: 2_000 });
      } catch (error) {
        logger.debug({ error: messageOf(error) }, 'progress report failed (advisory; not retried)');
      }
    }, parts.options.progressInterval_ms);
    logger.info({ circuit: assignment.circuit.id, name: assignment.circuit.name, input: assignment.input }, 'job started');
    try {
      const proved = await proveAssignment(assignment, {
        circuits: parts.circuits,
        cache: parts.cache,
        backend: parts.backend,
        reference: parts.reference,
        signal: controller.signal,
        onStage: (stage) => {
          logger.debug({ stage }, 'stage');
          throttle.push(progressAtStart(stage));
        },
        logger,
      });
      throttle.stop();
      const reason = controller.signal.reason as unknown;
      if (controller.signal.aborted && !(reason instanceof JobAborted && reason.kind === 'drain')) {
        // Cancelled as the proof finished: the coordinator no longer wants it. (Drained: it is done, report it.)
        this.#countAbort(reason, logger);
        return;
      }
      logger.info({ prove_ms: proved.prove_ms, backend: proved.backend }, 'job proven and verified');
      this.stats.completed++;
      await this.#finish(assignment, 'Complete', () =>
        parts.link.complete({
          worker_id: this.#id,
          job_id: assignment.job_id,
          attempt: assignment.attempt,
          proof_json: proved.proof_json,
          public_json: proved.public_json,
          prove_ms: proved.prove_ms,
          backend: proved.backend,
        }),
      );
    } catch (error) {
      throttle.stop();
      if (controller.signal.aborted) {
        const reason = controller.signal.reason as unknown;
        if (reason instanceof JobAborted && reason.kind === 'drain') {
          await this.#handBack(assignment, DRAINING_REASON);
          return;
        }
        this.#countAbort(reason, logger);
        return;
      }
      const failure =
        error instanceof JobFailure ? error : new JobFailure('INTERNAL', `job ${assignment.job_id}: ${messageOf(error)}`, false, { cause: error });
      this.stats.failed++;
      logger.warn({ code: failure.code, permanent: failure.permanent, error: failure.message }, 'job failed');
      await this.#finish(assignment, 'Fail', () => parts.link.fail(this.#failRequest(assignment, failure.permanent, failure.code, failure.message)));
    }
  }

  #countAbort(reason: unknown, logger: WorkerLogger): void {
    this.stats.cancelled++;
    logger.info({ reason: messageOf(reason) }, 'job aborted; nothing reported');
  }

  async #handBack(assignment: AssignmentMessage, reason: string): Promise<void> {
    this.stats.handedBack++;
    this.#logger.info({ job: assignment.job_id, attempt: assignment.attempt, reason }, 'handing the job back');
    await this.#finish(assignment, 'Fail', () => this.#parts.link.fail(this.#failRequest(assignment, false, 'UNAVAILABLE', reason)));
  }

  /**
   * The attempt is over here: its slot is free at once (the coordinator may
   * assign the next job as soon as it applies this result, before the answer
   * reaches the worker); the result is remembered (bounded) so that a
   * re-delivery re-sends it; then it is reported.
   */
  async #finish(assignment: AssignmentMessage, kind: 'Complete' | 'Fail', send: () => Promise<AckMessage>): Promise<void> {
    const running = this.#jobs.get(assignment.job_id);
    if (running !== undefined && running.assignment.attempt === assignment.attempt) this.#jobs.delete(assignment.job_id);
    const entry: FinishedAttempt = {
      attempt: assignment.attempt,
      reporting: false,
      again: false,
      resend: async () => {
        if (entry.reporting) {
          // Delivered again while the report is in flight: send once more after it (a duplicate is answered and ignored).
          entry.again = true;
          return;
        }
        entry.reporting = true;
        const sending = (async () => {
          try {
            do {
              entry.again = false;
              await this.#report(assignment, kind, send);
            } while (entry.again && !this.#stopping.signal.aborted);
          } finally {
            entry.reporting = false;
          }
        })();
        this.#reports.add(sending);
        try {
          await sending;
        } finally {
          this.#reports.delete(sending);
        }
      },
    };
    this.#finished.delete(assignment.job_id);
    this.#finished.set(assignment.job_id, entry);
    while (this.#finished.size > FINISHED_REMEMBERED_MAX) this.#finished.delete(this.#finished.keys().next().value!);
    await entry.resend();
  }

  #failRequest(assignment: AssignmentMessage, permanent: boolean, code: string, message: string): FailRequestMessage {
    return { worker_id: this.#id, job_id: assignment.job_id, attempt: assignment.attempt, permanent, error_code: code, error_message: message };
  }

  /** Sends a result, retrying while no leader answers, for at most reportRetry_ms; an answer (accepted or not) ends it. */
  async #report(assignment: AssignmentMessage, kind: 'Complete' | 'Fail', send: () => Promise<AckMessage>): Promise<void> {
    const until_ms = Date.now() + this.#parts.options.reportRetry_ms;
    const backoff = new Backoff();
    for (;;) {
      try {
        const ack = await send();
        const fields = { job: assignment.job_id, attempt: assignment.attempt, report: kind };
        if (ack.accepted) this.#logger.debug(fields, 'report accepted');
        else this.#logger.info({ ...fields, reason: ack.reason }, 'report not accepted by the coordinator (late, duplicate or unknown)');
        return;
      } catch (error) {
        const fields = { job: assignment.job_id, attempt: assignment.attempt, report: kind, error: messageOf(error) };
        if (this.#stopping.signal.aborted) {
          this.#logger.warn(fields, 'report lost: the worker is closing');
          return;
        }
        if (!isRetryable(error)) {
          this.#logger.error(fields, 'report refused by the coordinator');
          return;
        }
        if (Date.now() >= until_ms) {
          this.#logger.error(fields, 'report given up: no coordinator leader answered');
          return;
        }
        this.#logger.warn(fields, 'report failed; retrying');
        await sleep(backoff.next(), this.#stopping.signal);
      }
    }
  }

  #cancel(jobId: string, why: string): void {
    const job = this.#jobs.get(jobId);
    if (job === undefined) {
      this.#logger.debug({ job: jobId }, 'cancel for a job not running here; ignored');
      return;
    }
    job.logger.info({ why }, 'cancelling the job');
    job.controller.abort(new JobAborted('cancel', `job ${jobId} ${why}`));
  }

  // ---- heartbeats ----

  #scheduleHeartbeat(): void {
    if (this.#stopping.signal.aborted) return;
    this.#heartbeatTimer = setTimeout(() => void this.#heartbeat(), Math.max(1, Math.floor(this.#lease_ms / 3)));
  }

  async #heartbeat(): Promise<void> {
    this.#heartbeatTimer = null;
    const interval_ms = Math.floor(this.#lease_ms / 3);
    try {
      const answer = await this.#parts.link.heartbeat(
        { worker_id: this.#id, running_jobs: this.runningJobs(), resident_circuits: this.#parts.circuits.ids() },
        { deadline_ms: Math.max(HEARTBEAT_DEADLINE_MS_MIN, interval_ms), signal: this.#stopping.signal },
      );
      this.stats.heartbeats++;
      if (answer.lease_ms > 0) this.#lease_ms = answer.lease_ms;
      for (const jobId of answer.cancel_job_ids) this.#cancel(jobId, 'cancelled by the coordinator (heartbeat)');
      // The leader moved while the stream still reads from the old one: re-open it on the leader.
      const leader = this.#parts.link.leaderAddress;
      if (this.#stream !== null && leader !== null && this.#stream.address !== leader) {
        this.#logger.info({ stream: this.#stream.address, leader }, 'the leader moved; re-opening the assignments stream');
        this.#stream.cancel();
      }
    } catch (error) {
      if (!this.#stopping.signal.aborted) {
        if (error instanceof NotFoundError) {
          this.#logger.warn({ error: error.message }, 'the cluster does not know this worker; registering again');
          await this.#reregister();
        } else {
          this.#logger.warn({ error: messageOf(error) }, 'heartbeat failed');
        }
      }
    } finally {
      this.#scheduleHeartbeat();
    }
  }

  // ---- drain and close ----

  async #drainNow(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'draining';
    const grace_ms = this.#parts.options.drainGrace_ms;
    this.#logger.info({ running: this.runningJobs(), grace_ms }, 'draining: no new jobs; running ones may finish');
    const finished = await this.#waitForJobs(grace_ms);
    if (!finished) {
      for (const job of this.#jobs.values()) {
        job.controller.abort(new JobAborted('drain', `job ${job.assignment.job_id} handed back: ${DRAINING_REASON}`));
      }
      this.#logger.warn({ handed_back: this.runningJobs() }, 'drain grace over; handing the running jobs back');
      await this.#waitForJobs(DRAIN_HANDBACK_MS);
    }
    try {
      await this.#parts.link.deregister(this.#id, { deadline_ms: 3_000, signal: this.#stopping.signal });
      this.#logger.info({ worker: this.#id }, 'deregistered');
    } catch (error) {
      this.#logger.warn({ error: messageOf(error) }, 'deregister failed (the lease will run out instead)');
    }
    await this.close();
  }

  /** True when every job running now finished within `timeout_ms`. */
  async #waitForJobs(timeout_ms: number): Promise<boolean> {
    return settledWithin([...[...this.#jobs.values()].map((job) => job.done), ...this.#reports], timeout_ms);
  }

  async #closeNow(): Promise<void> {
    const wasRunning = this.#state !== 'starting';
    this.#state = 'closed';
    for (const job of this.#jobs.values()) job.controller.abort(new JobAborted('close', `job ${job.assignment.job_id} aborted: the worker is closing`));
    // Let aborted jobs reach a stage boundary before their backend closes under them.
    const jobsSettled = await settledWithin(
      [...this.#jobs.values()].map((job) => job.done),
      CLOSE_WAIT_MS,
    );
    this.#stopping.abort();
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
    this.#stream?.cancel();
    await Promise.all(this.#loops);
    this.#parts.link.close();
    if (jobsSettled) {
      await this.#parts.circuits.clear();
      await this.#parts.backend.close().catch((error: unknown) => this.#logger.warn({ error: messageOf(error) }, 'closing the backend failed'));
    } else {
      this.#logger.warn({ running: this.runningJobs() }, 'jobs still inside a prover stage; the backend is left open');
    }
    if (wasRunning) this.#logger.info({ worker: this.#id, stats: this.stats }, 'worker closed');
    this.#resolveClosed();
  }
}

/** True when every promise settled within `timeout_ms` (the timer is cleared either way). */
async function settledWithin(promises: readonly Promise<unknown>[], timeout_ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeout_ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isAssignment(value: unknown): value is AssignmentMessage {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<AssignmentMessage>;
  return (
    typeof candidate.job_id === 'string' &&
    candidate.job_id !== '' &&
    typeof candidate.attempt === 'number' &&
    typeof candidate.circuit === 'object' &&
    candidate.circuit !== null
  );
}

/** Errors worth another try later: no leader answered, or it was busy. */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof ZkpError)) return false;
  return error.code === 'UNAVAILABLE' || error.code === 'NOT_LEADER' || error.code === 'DEADLINE_EXCEEDED' || error.code === 'RESOURCE_EXHAUSTED';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Full-jitter exponential backoff between BACKOFF_MS_MIN and BACKOFF_MS_MAX. */
class Backoff {
  #waits = 0;
  next(): number {
    const ceiling_ms = Math.min(BACKOFF_MS_MAX, BACKOFF_MS_MIN * 2 ** Math.min(this.#waits++, 20));
    return BACKOFF_MS_MIN + Math.random() * (ceiling_ms - BACKOFF_MS_MIN);
  }
  reset(): void {
    this.#waits = 0;
  }
}

/** Resolves after `ms` or when the signal aborts, whichever is first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
