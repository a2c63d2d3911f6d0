/**
 * The coordinator's replicated state: circuits, workers and jobs, changed only
 * by committed commands (commands.ts). Pure and deterministic: no I/O, no
 * clock of its own (clock_ms = the largest now_ms seen), no randomness; every
 * replica that applies the same entries holds the same state, returns the
 * same results and writes the same snapshot bytes.
 *
 * Job life: QUEUED -> ASSIGNED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED |
 * EXPIRED. `attempts` counts assignments; a worker's report names its attempt,
 * and one that is not the job's current attempt (late, duplicate, from a
 * worker that lost the job) is answered accepted:false and changes nothing.
 * A job whose worker is lost (lease expired, deregistered, restarted) or that
 * fails transiently goes back to the queue while attempts < max_attempts,
 * then FAILED; a permanent failure is FAILED at once.
 *
 * Bounds (all deterministic):
 * - active jobs (QUEUED + ASSIGNED + RUNNING) <= queueMax: a submit beyond is
 *   refused RESOURCE_EXHAUSTED with retryAfter_ms;
 * - finished jobs not yet archived: while >= finishedMax submits are refused
 *   RESOURCE_EXHAUSTED ("archive behind"); active jobs still finish, so this
 *   set holds at most finishedMax + queueMax;
 * - workers <= workersMax (a dead worker with no jobs makes room);
 * - idempotency keys <= idempotencyKeysMax, least recently used forgotten
 *   first. A key outlives its job's archiving (a retry then gets the archived
 *   job's id and existing:true); a retry after its key was forgotten is taken
 *   as a new job.
 */
import { assert, CorruptFileError, type ErrorCode, InvalidArgumentError } from '../../errors/index.ts';
import type { StateMachine } from '../../raft/state-machine.ts';
import type { Entry } from '../../raft/types.ts';
import { planAssignments } from '../scheduler/plan.ts';
import type { SchedulerView } from '../scheduler/view.ts';
import type { JobChange, JobChangeListener, RevokedLease } from './changes.ts';
import {
  type AssignOutcome,
  type CommandRefusal,
  type CommandResult,
  type CommandResultMap,
  decodeCommand,
  decodeCommandBatch,
  encodeBatchResults,
  encodeResult,
  type JobCommand,
} from './commands.ts';
import { type CircuitRecord, inlineInputBytes, isLeasedState, isTerminalState, type JobRecord, type JobStateName, type WorkerRecord } from './records.ts';
import { decodeJobSnapshot, encodeJobSnapshot } from './snapshot.ts';

/** A job's seq is its entry's index times this plus its position in a batch entry (batches hold fewer commands). */
export const SEQS_PER_ENTRY = 1024;

export interface JobStateMachineOptions {
  /** Active jobs (queued, assigned, running) at most. Default 10,000. */
  readonly queueMax?: number;
  /** Finished jobs awaiting the archive before submits are refused. Default 10,000. */
  readonly finishedMax?: number;
  /** Registered workers at most. Default 1,000. */
  readonly workersMax?: number;
  /** max_attempts of a submit that names 0. Default 3. */
  readonly defaultMaxAttempts?: number;
  /** The largest max_attempts a submit may name. Default 100. */
  readonly maxAttemptsLimit?: number;
  /** Idempotency keys remembered (LRU). Default 100,000. */
  readonly idempotencyKeysMax?: number;
  /** A job's inline input (JSON or .wtns) at most. Default 4 MiB (the service's own bound is lower). */
  readonly inlineInputBytesMax?: number;
  /** Hint given with a full queue. Default 1,000 ms. */
  readonly queueFullRetryAfter_ms?: number;
  /** Hint given while the archive is behind. Default 2,000 ms. */
  readonly archiveBehindRetryAfter_ms?: number;
}

export type CompiledJobStateMachineOptions = Required<JobStateMachineOptions>;

export function compileJobStateMachineOptions(options: JobStateMachineOptions = {}): CompiledJobStateMachineOptions {
  const compiled: CompiledJobStateMachineOptions = {
    queueMax: options.queueMax ?? 10_000,
    finishedMax: options.finishedMax ?? 10_000,
    workersMax: options.workersMax ?? 1_000,
    defaultMaxAttempts: options.defaultMaxAttempts ?? 3,
    maxAttemptsLimit: options.maxAttemptsLimit ?? 100,
    idempotencyKeysMax: options.idempotencyKeysMax ?? 100_000,
    inlineInputBytesMax: options.inlineInputBytesMax ?? 4 << 20,
    queueFullRetryAfter_ms: options.queueFullRetryAfter_ms ?? 1_000,
    archiveBehindRetryAfter_ms: options.archiveBehindRetryAfter_ms ?? 2_000,
  };
  for (const [key, value] of Object.entries(compiled)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`job state machine option ${key} must be an integer >= 1, got ${value}`);
  }
  if (compiled.defaultMaxAttempts > compiled.maxAttemptsLimit)
    throw new InvalidArgumentError(`defaultMaxAttempts (${compiled.defaultMaxAttempts}) exceeds maxAttemptsLimit (${compiled.maxAttemptsLimit})`);
  return compiled;
}

export interface JobFilter {
  /** A circuit id; omitted = all. */
  readonly circuitId?: string;
  /** Omitted or empty = all. */
  readonly states?: readonly JobStateName[];
}

export interface JobPage {
  /** 1..1000. */
  readonly pageSize: number;
  /** '' or omitted = from the first job; else a nextPageToken returned before. */
  readonly pageToken?: string;
}

export interface JobListing {
  readonly jobs: readonly JobRecord[];
  /** '' when this was the last page. */
  readonly nextPageToken: string;
}

export interface JobCounts {
  readonly queued: number;
  readonly assigned: number;
  readonly running: number;
  /** queued + assigned + running. */
  readonly active: number;
  readonly finishedUnarchived: number;
  readonly workers: number;
  readonly workersAlive: number;
  readonly circuits: number;
  readonly idempotencyKeys: number;
}

const PAGE_SIZE_MAX = 1000;

/** The full state, for snapshots (snapshot.ts); tables in their deterministic orders. */
export interface JobStateTables {
  readonly clock_ms: number;
  readonly circuits: readonly CircuitRecord[];
  readonly workers: readonly WorkerRecord[];
  /** In seq order. */
  readonly jobs: readonly JobRecord[];
  /** Ids of finished jobs, in finish order. */
  readonly finished: readonly string[];
  /** [key, jobId], least recently used first. */
  readonly idempotency: readonly (readonly [string, string])[];
}

export class JobStateMachine implements StateMachine {
  readonly options: CompiledJobStateMachineOptions;

  private clock_ms = 0;
  private readonly circuitsById = new Map<string, CircuitRecord>();
  private readonly circuitIdByName = new Map<string, string>();
  private readonly workersById = new Map<string, WorkerRecord>();
  /** Every job in the state, in seq (submit) order. */
  private readonly jobsById = new Map<string, JobRecord>();
  /** QUEUED jobs (values kept current), in the order they (re)entered the queue. */
  private readonly queued = new Map<string, JobRecord>();
  /** Terminal jobs not yet archived, in finish order (the outbox). */
  private readonly finished = new Set<string>();
  /** Idempotency key -> job id, least recently used first. */
  private readonly idempotency = new Map<string, string>();
  private assignedCount = 0;
  private runningCount = 0;
  /** The seq of the latest submit applied (seqs grow with entry indexes). */
  private lastSubmitSeq = 0;

  private readonly listeners: JobChangeListener[] = [];
  /** Changes of the command being applied; emitted once it is complete. */
  private pending: JobChange[] = [];
  private applyingIndex = 0;
  private applyingPosition = 0;
  private applying = false;

  constructor(options: JobStateMachineOptions = {}) {
    this.options = compileJobStateMachineOptions(options);
  }

  // ------------------------------------------------------------ StateMachine

  apply(entry: Entry): Uint8Array {
    let batch: Uint8Array[] | null;
    try {
      batch = decodeCommandBatch(entry.data);
    } catch (error) {
      return encodeResult(refuse('INVALID_ARGUMENT', (error as Error).message));
    }
    if (batch !== null) return encodeBatchResults(batch.map((data, position) => this.applyEncoded(data, entry.index, position)));
    return encodeResult(this.applyEncoded(entry.data, entry.index, 0));
  }

  private applyEncoded(data: Uint8Array, index: number, position: number): CommandResult {
    let command: JobCommand;
    try {
      command = decodeCommand(data);
    } catch (error) {
      // A malformed command is answered, not thrown: every replica answers it alike and goes on.
      return refuse('INVALID_ARGUMENT', (error as Error).message);
    }
    return this.applyCommand(command, index, position);
  }

  /**
   * Applies a decoded command (apply() without the wire form); `index` is its
   * entry's index and `position` its place in a batch entry (0 for an entry of
   * one command).
   */
  applyCommand(command: JobCommand, index: number, position = 0): CommandResult {
    assert(!this.applying, 'applyCommand re-entered (from a listener?)');
    assert(Number.isSafeInteger(position) && position >= 0 && position < SEQS_PER_ENTRY, () => `command position ${position} in entry ${index}`);
    this.applying = true;
    try {
      this.applyingIndex = index;
      this.applyingPosition = position;
      this.clock_ms = Math.max(this.clock_ms, command.now_ms);
      let result: CommandResult;
      try {
        result = this.execute(command, index);
      } catch (error) {
        this.pending = []; // a failed assertion: a bug; the changes of a half-applied command are not told
        throw error;
      }
      const changes = this.pending;
      this.pending = [];
      this.emit(changes);
      return result;
    } finally {
      this.applying = false;
    }
  }

  snapshot(): Uint8Array {
    return encodeJobSnapshot(this.tables());
  }

  restore(data: Uint8Array): void {
    const tables = data.length === 0 ? emptyTables() : decodeJobSnapshot(data);
    this.clear();
    this.clock_ms = tables.clock_ms;
    for (const circuit of tables.circuits) {
      if (this.circuitsById.has(circuit.id) || this.circuitIdByName.has(circuit.name))
        throw new CorruptFileError(`job snapshot: circuit ${circuit.id} (${circuit.name}) appears twice`);
      this.circuitsById.set(circuit.id, circuit);
      this.circuitIdByName.set(circuit.name, circuit.id);
    }
    for (const worker of tables.workers) {
      if (this.workersById.has(worker.id)) throw new CorruptFileError(`job snapshot: worker ${worker.id} appears twice`);
      this.workersById.set(worker.id, worker);
    }
    for (const job of tables.jobs) {
      if (this.jobsById.has(job.id)) throw new CorruptFileError(`job snapshot: job ${job.id} appears twice`);
      this.jobsById.set(job.id, job);
      if (job.state === 'QUEUED') this.queued.set(job.id, job);
      if (job.state === 'ASSIGNED') this.assignedCount++;
      if (job.state === 'RUNNING') this.runningCount++;
      this.lastSubmitSeq = Math.max(this.lastSubmitSeq, job.seq);
    }
    for (const id of tables.finished) this.finished.add(id);
    for (const [key, jobId] of tables.idempotency) this.idempotency.set(key, jobId);
    try {
      this.checkInvariants();
    } catch (error) {
      this.clear();
      throw new CorruptFileError(`job snapshot: inconsistent state: ${(error as Error).message}`);
    }
  }

  // ------------------------------------------------------------ listeners

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: JobChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  private emit(changes: readonly JobChange[]): void {
    if (changes.length === 0 || this.listeners.length === 0) return;
    let failure: unknown = null;
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (error) {
          // Every listener still hears every change; the first failure is thrown after (a listener's bug).
          failure ??= error;
        }
      }
    }
    if (failure !== null) throw failure;
  }

  // ------------------------------------------------------------ queries

  /** The replicated clock: the largest now_ms applied so far. */
  get clock(): number {
    return this.clock_ms;
  }

  job(id: string): JobRecord | undefined {
    return this.jobsById.get(id);
  }

  /** The job id an idempotency key names (the job may have been archived since), without touching the LRU order. */
  jobIdForIdempotencyKey(key: string): string | undefined {
    return this.idempotency.get(key);
  }

  /** The job an idempotency key names, if it is still in the state. */
  jobByIdempotencyKey(key: string): JobRecord | undefined {
    const id = this.idempotency.get(key);
    return id === undefined ? undefined : this.jobsById.get(id);
  }

  /** Jobs in the state (not archived ones), in submit order, a page at a time. */
  listJobs(filter: JobFilter, page: JobPage): JobListing {
    if (!Number.isSafeInteger(page.pageSize) || page.pageSize < 1 || page.pageSize > PAGE_SIZE_MAX)
      throw new InvalidArgumentError(`page size must be 1 to ${PAGE_SIZE_MAX}, got ${page.pageSize}`);
    let after = 0;
    if (page.pageToken !== undefined && page.pageToken !== '') {
      if (!/^[1-9][0-9]{0,15}$/.test(page.pageToken))
        throw new InvalidArgumentError(`page token ${JSON.stringify(page.pageToken)} is not one this service returned`);
      after = Number(page.pageToken);
    }
    const states = filter.states !== undefined && filter.states.length > 0 ? new Set(filter.states) : null;
    const jobs: JobRecord[] = [];
    for (const job of this.jobsById.values()) {
      if (job.seq <= after) continue;
      if (filter.circuitId !== undefined && filter.circuitId !== '' && job.circuit_id !== filter.circuitId) continue;
      if (states !== null && !states.has(job.state)) continue;
      if (jobs.length === page.pageSize) return { jobs, nextPageToken: String(jobs[jobs.length - 1]!.seq) };
      jobs.push(job);
    }
    return { jobs, nextPageToken: '' };
  }

  /** By id (the zkey sha256) or by name. */
  circuit(idOrName: string): CircuitRecord | undefined {
    const byId = this.circuitsById.get(idOrName);
    if (byId !== undefined) return byId;
    const id = this.circuitIdByName.get(idOrName);
    return id === undefined ? undefined : this.circuitsById.get(id);
  }

  /** In registration order. */
  circuits(): readonly CircuitRecord[] {
    return [...this.circuitsById.values()];
  }

  worker(id: string): WorkerRecord | undefined {
    return this.workersById.get(id);
  }

  /** In registration order. */
  workers(): readonly WorkerRecord[] {
    return [...this.workersById.values()];
  }

  counts(): JobCounts {
    let workersAlive = 0;
    for (const worker of this.workersById.values()) if (worker.alive) workersAlive++;
    return {
      queued: this.queued.size,
      assigned: this.assignedCount,
      running: this.runningCount,
      active: this.activeCount(),
      finishedUnarchived: this.finished.size,
      workers: this.workersById.size,
      workersAlive,
      circuits: this.circuitsById.size,
      idempotencyKeys: this.idempotency.size,
    };
  }

  /** The archive outbox: finished jobs not yet archived, oldest finish first. */
  finishedUnarchived(limit: number): readonly JobRecord[] {
    const out: JobRecord[] = [];
    for (const id of this.finished) {
      if (out.length >= limit) break;
      out.push(this.jobsById.get(id)!);
    }
    return out;
  }

  /** The scheduler's input (live views: use it before the next apply). */
  schedulerView(): SchedulerView {
    return {
      clock_ms: this.clock_ms,
      queued: this.queued.values(),
      workers: this.workersById.values(),
      circuit: (id: string) => this.circuitsById.get(id),
    };
  }

  /** The whole state in its deterministic orders (what a snapshot holds). */
  tables(): JobStateTables {
    return {
      clock_ms: this.clock_ms,
      circuits: [...this.circuitsById.values()],
      workers: [...this.workersById.values()],
      jobs: [...this.jobsById.values()],
      finished: [...this.finished],
      idempotency: [...this.idempotency.entries()],
    };
  }

  /**
   * Checks every invariant over the whole state (O(size)); throws an
   * AssertionFailure naming the first one broken. Tests and the simulator
   * call it after each command; restore() calls it on what it read.
   */
  checkInvariants(): void {
    const holders = new Map<string, string>();
    let assigned = 0;
    let running = 0;
    let queued = 0;
    for (const worker of this.workersById.values()) {
      assert(worker.current_jobs.length <= worker.slots, () => `worker ${worker.id} holds ${worker.current_jobs.length} jobs in ${worker.slots} slots`);
      assert(worker.alive || worker.current_jobs.length === 0, () => `dead worker ${worker.id} still holds ${worker.current_jobs.join(', ')}`);
      for (const jobId of worker.current_jobs) {
        assert(!holders.has(jobId), () => `job ${jobId} is held by ${holders.get(jobId)} and ${worker.id} (two live leases)`);
        holders.set(jobId, worker.id);
      }
    }
    let previousSeq = 0;
    for (const job of this.jobsById.values()) {
      assert(job.seq > previousSeq, () => `job ${job.id} out of seq order`);
      previousSeq = job.seq;
      assert(job.attempts <= job.max_attempts, () => `job ${job.id} has ${job.attempts} attempts of ${job.max_attempts}`);
      assert(this.circuitsById.has(job.circuit_id), () => `job ${job.id} names unknown circuit ${job.circuit_id}`);
      const holder = holders.get(job.id);
      if (isLeasedState(job.state)) {
        assert(holder === job.worker_id, () => `job ${job.id} is ${job.state} to ${job.worker_id} but held by ${holder ?? 'no worker'}`);
        assert(job.attempts >= 1, () => `job ${job.id} is ${job.state} with no attempt`);
        holders.delete(job.id);
        if (job.state === 'ASSIGNED') assigned++;
        else running++;
      } else {
        assert(holder === undefined, () => `job ${job.id} is ${job.state} but worker ${holder} holds it`);
      }
      assert((job.state === 'QUEUED') === this.queued.has(job.id), () => `job ${job.id} is ${job.state}; in the queue index: ${this.queued.has(job.id)}`);
      if (job.state === 'QUEUED') {
        queued++;
        assert(this.queued.get(job.id) === job, () => `queue index holds a stale record of ${job.id}`);
        // A job with no attempt left is FAILED, never queued: no assignment of it could be accepted.
        assert(job.attempts < job.max_attempts, () => `job ${job.id} is QUEUED with no attempt left (${job.attempts} of ${job.max_attempts})`);
      }
      assert(isTerminalState(job.state) === this.finished.has(job.id), () => `job ${job.id} is ${job.state}; in the outbox: ${this.finished.has(job.id)}`);
    }
    assert(holders.size === 0, () => `workers hold jobs not in the state: ${[...holders.keys()].join(', ')}`);
    assert(queued === this.queued.size, () => `queue index holds ${this.queued.size} jobs, ${queued} are QUEUED`);
    assert(
      assigned === this.assignedCount && running === this.runningCount,
      () => `counts: assigned ${this.assignedCount}/${assigned}, running ${this.runningCount}/${running}`,
    );
    for (const id of this.finished) assert(this.jobsById.has(id), () => `outbox names job ${id} not in the state`);
    assert(this.idempotency.size <= this.options.idempotencyKeysMax, 'idempotency index over its bound');
    assert(this.workersById.size <= this.options.workersMax, 'workers over their bound');
    for (const [name, id] of this.circuitIdByName) assert(this.circuitsById.get(id)?.name === name, () => `circuit name index: ${name} -> ${id}`);
  }

  // ------------------------------------------------------------ commands

  private execute(command: JobCommand, index: number): CommandResult {
    switch (command.type) {
      case 'register-circuit':
        return this.registerCircuit(command);
      case 'register-worker':
        return this.registerWorker(command);
      case 'deregister-worker':
        return this.deregisterWorker(command.workerId);
      case 'submit':
        return this.submit(command, index);
      case 'assign':
        return { ok: true, outcomes: command.assignments.map((a) => this.assignOne(a.jobId, a.workerId, a.attempt)) };
      case 'schedule':
        return this.schedule(command.limit);
      case 'running':
        return this.running(command.jobId, command.attempt, command.workerId);
      case 'complete':
        return this.complete(command);
      case 'fail':
        return this.fail(command);
      case 'cancel':
        return this.cancel(command.jobId, command.reason);
      case 'renew-leases':
        return this.renewLeases(command.renewals);
      case 'tick':
        return this.tick();
      case 'leader-start':
        return this.leaderStart();
      case 'archived':
        return this.archived(command.jobIds);
    }
  }

  private registerCircuit(command: Extract<JobCommand, { type: 'register-circuit' }>): CommandResultMap['register-circuit'] | CommandRefusal {
    const spec = command.circuit;
    const existing = this.circuitsById.get(spec.id);
    if (existing !== undefined) return { ok: true, circuitId: existing.id, existing: true };
    const holder = this.circuitIdByName.get(spec.name);
    if (holder !== undefined) return refuse('FAILED_PRECONDITION', `circuit name ${JSON.stringify(spec.name)} is taken by circuit ${holder} (another zkey)`);
    const circuit: CircuitRecord = {
      id: spec.id,
      name: spec.name,
      wasm_sha256: spec.wasm_sha256,
      zkey_sha256: spec.zkey_sha256,
      vkey_sha256: spec.vkey_sha256,
      wasm_bytes: spec.wasm_bytes,
      zkey_bytes: spec.zkey_bytes,
      vkey_bytes: spec.vkey_bytes,
      n_constraints: spec.n_constraints,
      n_vars: spec.n_vars,
      n_public: spec.n_public,
      domain_size: spec.domain_size,
      registered_ms: this.clock_ms,
    };
    this.circuitsById.set(circuit.id, circuit);
    this.circuitIdByName.set(circuit.name, circuit.id);
    this.pending.push({ kind: 'circuit-registered', index: this.applyingIndex, circuit });
    return { ok: true, circuitId: circuit.id, existing: false };
  }

  private registerWorker(command: Extract<JobCommand, { type: 'register-worker' }>): CommandResultMap['register-worker'] | CommandRefusal {
    const spec = command.worker;
    const previous = this.workersById.get(spec.id);
    if (previous === undefined && this.workersById.size >= this.options.workersMax) {
      // Room from the dead: the first (oldest registered) dead worker, which holds no jobs.
      let evict: string | null = null;
      for (const worker of this.workersById.values()) {
        if (!worker.alive) {
          evict = worker.id;
          break;
        }
      }
      if (evict === null)
        return refuse('RESOURCE_EXHAUSTED', `worker limit reached (${this.options.workersMax} live workers)`, this.options.queueFullRetryAfter_ms);
      this.workersById.delete(evict);
      this.pending.push({ kind: 'worker-deregistered', index: this.applyingIndex, workerId: evict });
    }
    const requeued: string[] = [];
    const failed: string[] = [];
    let kept: string[] = [];
    if (previous !== undefined) {
      const keep = new Set(command.keepJobIds ?? []);
      kept = previous.current_jobs.filter((id) => keep.has(id)).slice(0, spec.slots);
      const lost = previous.current_jobs.filter((id) => !kept.includes(id));
      for (const jobId of lost) {
        const outcome = this.releaseAndRequeue(this.jobsById.get(jobId)!, `worker ${spec.id} registered again (restarted) without it`);
        (outcome === 'requeued' ? requeued : failed).push(jobId);
      }
    }
    const worker: WorkerRecord = {
      id: spec.id,
      address: spec.address,
      backends: [...spec.backends],
      gpu: spec.gpu === null ? null : { name: spec.gpu.name, vendor: spec.gpu.vendor, backend: spec.gpu.backend, memory_bytes: spec.gpu.memory_bytes },
      memory_bytes: spec.memory_bytes,
      threads: spec.threads,
      slots: spec.slots,
      resident_circuits: sortedUnique(spec.resident_circuits),
      lease_ms: command.lease_ms,
      lease_expires_ms: this.clock_ms + command.lease_ms,
      alive: true,
      current_jobs: previous === undefined ? [] : this.workersById.get(spec.id)!.current_jobs,
      registered_ms: previous?.registered_ms ?? this.clock_ms,
    };
    this.workersById.set(worker.id, worker);
    assert(
      worker.current_jobs.length === kept.length && worker.current_jobs.every((id) => kept.includes(id)),
      () => `worker ${worker.id} re-registered holding ${worker.current_jobs.join(',')}, meant to keep ${kept.join(',')}`,
    );
    this.pending.push({ kind: 'worker-registered', index: this.applyingIndex, worker });
    return { ok: true, workerId: worker.id, lease_ms: worker.lease_ms, requeuedJobIds: requeued, failedJobIds: failed };
  }

  private deregisterWorker(workerId: string): CommandResultMap['deregister-worker'] | CommandRefusal {
    const worker = this.workersById.get(workerId);
    if (worker === undefined) return refuse('NOT_FOUND', `worker ${workerId} is not registered`);
    const requeued: string[] = [];
    const failed: string[] = [];
    for (const jobId of worker.current_jobs) {
      const outcome = this.releaseAndRequeue(this.jobsById.get(jobId)!, `worker ${workerId} deregistered`);
      (outcome === 'requeued' ? requeued : failed).push(jobId);
    }
    assert(this.workersById.get(workerId)!.current_jobs.length === 0, 'a deregistered worker released every job');
    this.workersById.delete(workerId);
    this.pending.push({ kind: 'worker-deregistered', index: this.applyingIndex, workerId });
    return { ok: true, requeuedJobIds: requeued, failedJobIds: failed };
  }

  private submit(command: Extract<JobCommand, { type: 'submit' }>, index: number): CommandResultMap['submit'] | CommandRefusal {
    const circuit = this.circuitsById.get(command.circuitId);
    if (circuit === undefined) return refuse('NOT_FOUND', `circuit ${command.circuitId} is not registered`);
    if (command.idempotencyKey !== '') {
      const earlier = this.idempotency.get(command.idempotencyKey);
      if (earlier !== undefined) {
        const job = this.jobsById.get(earlier);
        if (job !== undefined && job.circuit_id !== command.circuitId)
          return refuse(
            'MISMATCH',
            `idempotency key ${JSON.stringify(command.idempotencyKey)} names job ${earlier} of circuit ${job.circuit_id}, not ${command.circuitId}`,
          );
        this.idempotency.delete(command.idempotencyKey);
        this.idempotency.set(command.idempotencyKey, earlier);
        return { ok: true, jobId: earlier, existing: true };
      }
    }
    const maxAttempts = command.maxAttempts === 0 ? this.options.defaultMaxAttempts : command.maxAttempts;
    if (maxAttempts > this.options.maxAttemptsLimit)
      return refuse('INVALID_ARGUMENT', `max attempts ${maxAttempts} exceeds the limit ${this.options.maxAttemptsLimit}`);
    const inputBytes = inlineInputBytes(command.input);
    if (inputBytes > this.options.inlineInputBytesMax)
      return refuse(
        'RESOURCE_EXHAUSTED',
        `inline input of ${inputBytes} bytes exceeds ${this.options.inlineInputBytesMax}; upload it to the store and submit its sha256`,
      );
    if (command.deadline_ms !== 0 && command.deadline_ms <= this.clock_ms)
      return refuse('DEADLINE_EXCEEDED', `deadline ${command.deadline_ms} has already passed (clock ${this.clock_ms})`);
    const active = this.activeCount();
    if (active >= this.options.queueMax)
      return refuse(
        'RESOURCE_EXHAUSTED',
        `job queue full (${active} jobs waiting or running, limit ${this.options.queueMax})`,
        this.options.queueFullRetryAfter_ms,
      );
    if (this.finished.size >= this.options.finishedMax)
      return refuse(
        'RESOURCE_EXHAUSTED',
        `archive behind: ${this.finished.size} finished jobs await archiving (limit ${this.options.finishedMax})`,
        this.options.archiveBehindRetryAfter_ms,
      );
    const seq = index * SEQS_PER_ENTRY + this.applyingPosition;
    const job: JobRecord = {
      id: this.applyingPosition === 0 ? `job-${index}` : `job-${index}.${this.applyingPosition}`,
      seq,
      circuit_id: circuit.id,
      state: 'QUEUED',
      priority: command.priority,
      deadline_ms: command.deadline_ms,
      idempotency_key: command.idempotencyKey,
      attempts: 0,
      max_attempts: maxAttempts,
      worker_id: '',
      error_code: '',
      error_message: '',
      proof_json: '',
      public_json: '',
      backend: '',
      input: command.input,
      submitted_ms: this.clock_ms,
      assigned_ms: 0,
      started_ms: 0,
      finished_ms: 0,
      prove_ms: 0,
    };
    assert(!this.jobsById.has(job.id), () => `job ${job.id} submitted twice (entry index reused?)`);
    assert(seq > this.lastSubmitSeq, () => `submit seq ${seq} (entry ${index}) after one at ${this.lastSubmitSeq}: entry indexes must grow`);
    this.lastSubmitSeq = seq;
    this.jobsById.set(job.id, job);
    this.queued.set(job.id, job);
    if (command.idempotencyKey !== '') {
      this.idempotency.set(command.idempotencyKey, job.id);
      if (this.idempotency.size > this.options.idempotencyKeysMax) this.idempotency.delete(this.idempotency.keys().next().value!);
    }
    this.pending.push({ kind: 'job-submitted', index: this.applyingIndex, job });
    return { ok: true, jobId: job.id, existing: false };
  }

  private assignOne(jobId: string, workerId: string, attempt: number): AssignOutcome {
    const no = (reason: string): AssignOutcome => ({ jobId, workerId, attempt, ok: false, reason });
    let job = this.jobsById.get(jobId);
    if (job === undefined) return no('unknown job');
    job = this.expireIfDue(job);
    if (job.state !== 'QUEUED') return no(`job is ${job.state}`);
    if (attempt !== job.attempts + 1) return no(`attempt ${attempt} is not the next attempt ${job.attempts + 1}`);
    if (attempt > job.max_attempts) return no(`attempt ${attempt} exceeds max attempts ${job.max_attempts}`);
    const worker = this.workersById.get(workerId);
    if (worker === undefined) return no('unknown worker');
    if (!worker.alive) return no('worker is dead (lease expired)');
    if (worker.current_jobs.length >= worker.slots) return no(`worker has no free slot (${worker.slots} in use)`);
    const next = this.setJob(job, { state: 'ASSIGNED', attempts: attempt, worker_id: workerId, assigned_ms: this.clock_ms, started_ms: 0 });
    this.workersById.set(workerId, { ...worker, current_jobs: [...worker.current_jobs, jobId] });
    this.pending.push({ kind: 'job-assigned', index: this.applyingIndex, job: next, workerId, attempt });
    return { jobId, workerId, attempt, ok: true };
  }

  /** The scheduler's plan on this state, applied at once: every replica computes the same plan from the same state and clock. */
  private schedule(limit: number): CommandResultMap['schedule'] {
    const plan = planAssignments(this.schedulerView(), this.clock_ms, limit);
    const outcomes = plan.map((a) => this.assignOne(a.jobId, a.workerId, a.attempt));
    assert(
      outcomes.every((outcome) => outcome.ok),
      () => `a plan made on this very state was refused: ${JSON.stringify(outcomes.filter((o) => !o.ok))}`,
    );
    return { ok: true, outcomes };
  }

  /** Whether a job whose attempt ended without a result may be tried again (a seam for the simulator's planted bugs). */
  protected hasAttemptsLeft(job: JobRecord): boolean {
    return job.attempts < job.max_attempts;
  }

  /**
   * Why a worker's report about (job, attempt) cannot be taken, or null if it
   * is the current attempt held by that worker. Separate so the simulator's
   * planted-bug test can break it in a subclass.
   */
  protected staleReportReason(job: JobRecord, attempt: number, workerId: string): string | null {
    if (isTerminalState(job.state)) return `job is already ${job.state}`;
    if (job.state === 'QUEUED') return `job was taken back (attempt ${job.attempts} ended; now queued)`;
    if (attempt !== job.attempts) return `attempt ${attempt} is not the current attempt ${job.attempts}`;
    if (workerId !== job.worker_id) return `job is held by worker ${job.worker_id}, not ${workerId}`;
    return null;
  }

  /** The job for a worker's report, expired first if its deadline passed, or why the report is ignored. */
  private reportedJob(jobId: string, attempt: number, workerId: string): JobRecord | string {
    const found = this.jobsById.get(jobId);
    if (found === undefined) return 'unknown job (never submitted, or archived)';
    const job = this.expireIfDue(found);
    return this.staleReportReason(job, attempt, workerId) ?? job;
  }

  private running(jobId: string, attempt: number, workerId: string): CommandResultMap['running'] {
    const job = this.reportedJob(jobId, attempt, workerId);
    if (typeof job === 'string') return ignored(job);
    if (job.state === 'RUNNING') return ignored('already running');
    const next = this.setJob(job, { state: 'RUNNING', started_ms: this.clock_ms });
    this.pending.push({ kind: 'job-running', index: this.applyingIndex, job: next });
    return accepted();
  }

  private complete(command: Extract<JobCommand, { type: 'complete' }>): CommandResultMap['complete'] {
    const job = this.reportedJob(command.jobId, command.attempt, command.workerId);
    if (typeof job === 'string') return ignored(job);
    this.releaseLease(job);
    const next = this.setJob(job, {
      state: 'SUCCEEDED',
      proof_json: command.proofJson,
      public_json: command.publicJson,
      prove_ms: command.prove_ms,
      backend: command.backend,
      started_ms: job.started_ms === 0 ? job.assigned_ms : job.started_ms,
      finished_ms: this.clock_ms,
    });
    this.pending.push({ kind: 'job-finished', index: this.applyingIndex, job: next, revokedFrom: null });
    return accepted();
  }

  private fail(command: Extract<JobCommand, { type: 'fail' }>): CommandResultMap['fail'] {
    const job = this.reportedJob(command.jobId, command.attempt, command.workerId);
    if (typeof job === 'string') return ignored(job);
    if (command.permanent) {
      this.releaseLease(job);
      const next = this.setJob(job, { state: 'FAILED', error_code: command.code, error_message: command.message, finished_ms: this.clock_ms });
      this.pending.push({ kind: 'job-finished', index: this.applyingIndex, job: next, revokedFrom: null });
      return accepted();
    }
    this.releaseAndRequeue(job, `attempt ${job.attempts} failed on worker ${command.workerId}: ${command.code}: ${command.message}`, {
      code: command.code,
      message: command.message,
    });
    return accepted();
  }

  private cancel(jobId: string, reason: string | undefined): CommandResultMap['cancel'] | CommandRefusal {
    const found = this.jobsById.get(jobId);
    if (found === undefined) return refuse('NOT_FOUND', `job ${jobId} is not in the state (never submitted, or finished and archived)`);
    const job = this.expireIfDue(found);
    if (isTerminalState(job.state)) return refuse('FAILED_PRECONDITION', `job ${jobId} is already ${job.state}`);
    const revokedFrom = isLeasedState(job.state) ? { workerId: job.worker_id, attempt: job.attempts } : null;
    this.releaseLease(job);
    const next = this.setJob(job, {
      state: 'CANCELLED',
      error_code: 'CANCELLED',
      error_message: reason === undefined || reason === '' ? 'cancelled by a client' : reason,
      finished_ms: this.clock_ms,
    });
    this.pending.push({ kind: 'job-finished', index: this.applyingIndex, job: next, revokedFrom });
    return { ok: true, jobId, revokedFromWorkerId: revokedFrom?.workerId ?? '' };
  }

  private renewLeases(renewals: Extract<JobCommand, { type: 'renew-leases' }>['renewals']): CommandResultMap['renew-leases'] {
    const unknown: string[] = [];
    const revived: string[] = [];
    for (const renewal of renewals) {
      const worker = this.workersById.get(renewal.workerId);
      if (worker === undefined) {
        unknown.push(renewal.workerId);
        continue;
      }
      const resident =
        renewal.residentCircuits === undefined || renewal.residentCircuits === null ? worker.resident_circuits : sortedUnique(renewal.residentCircuits);
      const next: WorkerRecord = { ...worker, resident_circuits: resident, lease_expires_ms: this.clock_ms + worker.lease_ms, alive: true };
      this.workersById.set(worker.id, next);
      if (!worker.alive) {
        revived.push(worker.id);
        this.pending.push({ kind: 'worker-revived', index: this.applyingIndex, worker: next });
      }
    }
    return { ok: true, unknownWorkerIds: unknown, revivedWorkerIds: revived };
  }

  private tick(): CommandResultMap['tick'] {
    const expired: string[] = [];
    const dead: string[] = [];
    const requeued: string[] = [];
    const failed: string[] = [];
    // Deadlines first: a job past its deadline whose worker also died is EXPIRED, not requeued.
    for (const job of this.jobsById.values()) {
      if (isTerminalState(job.state) || !this.isPastDeadline(job)) continue;
      this.expireIfDue(job);
      expired.push(job.id);
    }
    for (const worker of this.workersById.values()) {
      if (!worker.alive || worker.lease_expires_ms > this.clock_ms) continue;
      dead.push(worker.id);
      for (const jobId of worker.current_jobs) {
        const outcome = this.releaseAndRequeue(this.jobsById.get(jobId)!, `worker ${worker.id} lost (lease expired at ${worker.lease_expires_ms})`);
        (outcome === 'requeued' ? requeued : failed).push(jobId);
      }
      const next: WorkerRecord = { ...this.workersById.get(worker.id)!, alive: false };
      assert(next.current_jobs.length === 0, () => `dead worker ${worker.id} released every job`);
      this.workersById.set(worker.id, next);
      this.pending.push({ kind: 'worker-dead', index: this.applyingIndex, worker: next });
    }
    return { ok: true, deadWorkerIds: dead, requeuedJobIds: requeued, failedJobIds: failed, expiredJobIds: expired };
  }

  private leaderStart(): CommandResultMap['leader-start'] {
    const renewed: string[] = [];
    for (const worker of this.workersById.values()) {
      if (!worker.alive) continue;
      this.workersById.set(worker.id, { ...worker, lease_expires_ms: this.clock_ms + worker.lease_ms });
      renewed.push(worker.id);
    }
    return { ok: true, renewedWorkerIds: renewed };
  }

  private archived(jobIds: readonly string[]): CommandResultMap['archived'] {
    let removed = 0;
    for (const jobId of jobIds) {
      if (!this.finished.has(jobId)) continue;
      this.finished.delete(jobId);
      this.jobsById.delete(jobId);
      removed++;
      this.pending.push({ kind: 'job-archived', index: this.applyingIndex, jobId });
    }
    return { ok: true, removed };
  }

  // ------------------------------------------------------------ transitions

  private activeCount(): number {
    return this.queued.size + this.assignedCount + this.runningCount;
  }

  private isPastDeadline(job: JobRecord): boolean {
    return job.deadline_ms !== 0 && this.clock_ms >= job.deadline_ms;
  }

  /** EXPIRED now if active and past its deadline (revoking a worker's lease); returns the job as it now is. */
  private expireIfDue(job: JobRecord): JobRecord {
    if (isTerminalState(job.state) || !this.isPastDeadline(job)) return job;
    const revokedFrom = isLeasedState(job.state) ? { workerId: job.worker_id, attempt: job.attempts } : null;
    this.releaseLease(job);
    const next = this.setJob(job, {
      state: 'EXPIRED',
      error_code: 'DEADLINE_EXCEEDED',
      error_message: `deadline ${job.deadline_ms} passed (clock ${this.clock_ms}) after ${job.attempts} attempt(s)`,
      finished_ms: this.clock_ms,
    });
    this.pending.push({ kind: 'job-finished', index: this.applyingIndex, job: next, revokedFrom });
    return next;
  }

  /** Removes a leased job from its worker's current jobs (no-op for a job not leased). */
  private releaseLease(job: JobRecord): void {
    if (!isLeasedState(job.state)) return;
    const worker = this.workersById.get(job.worker_id);
    assert(worker !== undefined, () => `job ${job.id} is ${job.state} to unknown worker ${job.worker_id}`);
    assert(worker.current_jobs.includes(job.id), () => `job ${job.id} is ${job.state} to ${worker.id}, which does not hold it`);
    this.workersById.set(worker.id, { ...worker, current_jobs: worker.current_jobs.filter((id) => id !== job.id) });
  }

  /**
   * A leased job whose attempt ended without a result: back to the queue if
   * attempts remain, else FAILED (with `lastError` when a worker reported
   * one, else UNAVAILABLE naming the loss).
   */
  private releaseAndRequeue(job: JobRecord, reason: string, lastError?: { code: string; message: string }): 'requeued' | 'failed' {
    assert(isLeasedState(job.state), () => `requeue of job ${job.id} in state ${job.state}`);
    const revokedFrom: RevokedLease = { workerId: job.worker_id, attempt: job.attempts };
    this.releaseLease(job);
    if (this.hasAttemptsLeft(job)) {
      const next = this.setJob(job, { state: 'QUEUED' });
      this.pending.push({ kind: 'job-requeued', index: this.applyingIndex, job: next, revokedFrom, reason });
      return 'requeued';
    }
    const next = this.setJob(job, {
      state: 'FAILED',
      error_code: lastError?.code ?? 'UNAVAILABLE',
      error_message: `${lastError?.message ?? reason}; no attempts left (${job.attempts} of ${job.max_attempts})`,
      finished_ms: this.clock_ms,
    });
    this.pending.push({ kind: 'job-finished', index: this.applyingIndex, job: next, revokedFrom: lastError === undefined ? revokedFrom : null });
    return 'failed';
  }

  /** Replaces a job record, keeping the indexes and counts, and checks the transition's invariants. */
  private setJob(job: JobRecord, change: Partial<JobRecord>): JobRecord {
    const next: JobRecord = { ...job, ...change };
    assert(this.jobsById.get(job.id) === job, () => `job ${job.id} changed from a stale record`);
    assert(!isTerminalState(job.state), () => `job ${job.id} left terminal state ${job.state} for ${next.state}`);
    assert(next.attempts >= job.attempts, () => `job ${job.id} attempts went back from ${job.attempts} to ${next.attempts}`);
    assert(next.state !== 'ASSIGNED' || next.attempts === job.attempts + 1, () => `job ${job.id} assigned without counting an attempt`);
    this.jobsById.set(job.id, next);
    if (job.state === 'QUEUED') this.queued.delete(job.id);
    if (next.state === 'QUEUED') this.queued.set(job.id, next);
    if (job.state === 'ASSIGNED') this.assignedCount--;
    if (job.state === 'RUNNING') this.runningCount--;
    if (next.state === 'ASSIGNED') this.assignedCount++;
    if (next.state === 'RUNNING') this.runningCount++;
    if (isTerminalState(next.state)) this.finished.add(job.id);
    return next;
  }

  private clear(): void {
    this.clock_ms = 0;
    this.circuitsById.clear();
    this.circuitIdByName.clear();
    this.workersById.clear();
    this.jobsById.clear();
    this.queued.clear();
    this.finished.clear();
    this.idempotency.clear();
    this.assignedCount = 0;
    this.runningCount = 0;
    this.lastSubmitSeq = 0;
  }
}

function refuse(code: ErrorCode, message: string, retryAfter_ms?: number): CommandRefusal {
  return retryAfter_ms === undefined ? { ok: false, code, message } : { ok: false, code, message, retryAfter_ms };
}

function accepted(): { ok: true; accepted: true; reason: string } {
  return { ok: true, accepted: true, reason: '' };
}

function ignored(reason: string): { ok: true; accepted: false; reason: string } {
  return { ok: true, accepted: false, reason };
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function emptyTables(): JobStateTables {
  return { clock_ms: 0, circuits: [], workers: [], jobs: [], finished: [], idempotency: [] };
}
