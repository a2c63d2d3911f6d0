/**
 * One simulated coordinator: a Raft member (RaftCore over a MemoryStorage,
 * the Ready loop as in src/sim/node.ts) whose state machine is the real
 * ExactlyOnceStateMachine(JobStateMachine), plus a model of the service's
 * leader duties: leader-start on gaining leadership, tick, batched lease
 * renewals from heartbeats, the scheduler, archiving, and pushing
 * assignments and revocations to workers from the machine's changes.
 */
import type { JobStateMachine } from '../../coordinator/state/job-state-machine.ts';
import { planAssignments } from '../../coordinator/scheduler/plan.ts';
import {
  BATCH_COMMANDS_MAX,
  type CircuitSpec,
  decodeBatchResults,
  decodeResult,
  encodeCommand,
  encodeCommandBatch,
  type JobCommand,
} from '../../coordinator/state/commands.ts';
import type { JobChange } from '../../coordinator/state/changes.ts';
import { assert, ZkpError } from '../../errors/index.ts';
import { MemoryStorage, RaftCore } from '../../raft/core/index.ts';
import { decodeSessionResult, encodePlainCommand } from '../../raft/sessions/envelope.ts';
import { ExactlyOnceStateMachine } from '../../raft/sessions/exactly-once.ts';
import type { Entry, Message, NodeId } from '../../raft/types.ts';
import type { SafetyChecker } from '../checkers.ts';
import type { RaftTuning } from '../node.ts';
import type { Prng } from '../prng.ts';
import type { JobChecker } from './checker.ts';
import type { JobRef, ServiceMessage } from './messages.ts';
import { SIM_TIMING } from './timing.ts';

export interface CoordinatorHooks {
  raftSend(message: Message): void;
  serviceSend(from: string, to: string, message: ServiceMessage): void;
  /** This coordinator's clock (the simulated time plus its own skew). */
  now_ms(node: NodeId): number;
  readonly safety: SafetyChecker;
  readonly checker: JobChecker;
  /** A fresh job state machine (the simulation may plant a bug in it). */
  makeMachine(): JobStateMachine;
  /** Whether the archive (PostgreSQL) is reachable now. */
  archiveUp(): boolean;
  note(line: string): void;
}

const MAX_READY_ROUNDS = 1000;

interface ReplyTarget {
  readonly to: string;
  readonly reqId: string;
}

/** Who waits on an entry: one sender, or (a batch entry) one per command, in order (null: nobody). */
interface PendingReply {
  readonly term: number;
  readonly batch: boolean;
  readonly targets: readonly (ReplyTarget | null)[];
}

/** What only the leader keeps, in memory; lost on a crash or a change of leader. */
class LeaderDuties {
  ready = false;
  leaderStartIndex = 0;
  readonly heartbeats = new Map<string, readonly string[]>();
  readonly replies = new Map<number, PendingReply>();
  /** Requests received this tick, proposed together at the next duties (one batch entry, as the service's proposer does). */
  readonly queued: { readonly command: JobCommand; readonly reply: ReplyTarget | undefined }[] = [];
  assignInFlight = 0;
  lastTick_tick = 0;
  lastRenew_tick = 0;
  lastArchive_tick = 0;
  constructor(readonly term: number) {}
}

export class SimCoordinator {
  readonly storage = new MemoryStorage();
  core: RaftCore | null = null;
  machine!: JobStateMachine;
  private sessions!: ExactlyOnceStateMachine<JobStateMachine>;
  appliedIndex = 0;
  incarnation = 0;
  paused = false;
  /** Batch entries this coordinator proposed (each holds several requests). */
  batchesProposed = 0;
  private duties: LeaderDuties | null = null;

  constructor(
    readonly id: NodeId,
    voters: readonly NodeId[],
    private readonly tuning: RaftTuning,
    private readonly prng: Prng,
    private readonly hooks: CoordinatorHooks,
    private readonly snapshotEvery_entries: number,
  ) {
    this.storage.bootstrap(voters);
    this.start();
  }

  start(): void {
    assert(this.core === null, `${this.id} is already running`);
    this.incarnation++;
    this.machine = this.hooks.makeMachine();
    this.machine.onChange((change) => this.onChange(change));
    this.sessions = new ExactlyOnceStateMachine(this.machine);
    const snapshot = this.storage.snapshot();
    this.sessions.restore(snapshot.data);
    this.appliedIndex = snapshot.metadata.index;
    this.duties = null;
    this.core = new RaftCore({ ...this.tuning, id: this.id, storage: this.storage, random: () => this.prng.next() });
  }

  crash(): void {
    this.core = null;
    this.duties = null;
  }

  /** Leader and past its own leader-start: serves clients and workers. */
  get servingAsLeader(): boolean {
    return this.core !== null && !this.paused && this.duties?.ready === true && this.core.status().role === 'leader';
  }

  // ------------------------------------------------------------ Ready loop

  drain(crashAfterPersist: () => boolean): void {
    for (let round = 0; round < MAX_READY_ROUNDS; round++) {
      const core = this.core;
      if (core === null || this.paused || !core.hasReady()) return;
      const ready = core.ready();
      if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot);
      this.storage.append(ready.entries);
      this.hooks.safety.onPersistEntries(this.id, ready.entries, (index) => this.storedTerm(index));
      if (ready.hardState !== undefined) {
        this.storage.setHardState(ready.hardState);
        this.hooks.safety.onDurableTerm(this.id, ready.hardState.term);
      }
      if (crashAfterPersist()) {
        this.crash();
        this.hooks.note(`crash between persist and send ${this.id}`);
        return;
      }
      for (const message of ready.messages) this.hooks.raftSend(message);
      if (ready.snapshot !== undefined) {
        this.sessions.restore(ready.snapshot.data);
        this.appliedIndex = ready.snapshot.metadata.index;
        this.machine.checkInvariants();
      }
      for (const entry of ready.committedEntries) this.apply(entry);
      core.advance(ready);
      this.maybeSnapshot(core);
    }
    assert(false, `${this.id}: Ready loop did not run dry in ${MAX_READY_ROUNDS} rounds`);
  }

  private apply(entry: Entry): void {
    if (entry.index <= this.appliedIndex) return;
    assert(entry.index === this.appliedIndex + 1, () => `${this.id}: applying ${entry.index} after ${this.appliedIndex}`);
    this.hooks.safety.onApply(this.id, entry);
    this.appliedIndex = entry.index;
    if (entry.type !== 'normal') return;
    const bytes = this.sessions.apply(entry);
    this.machine.checkInvariants();
    this.hooks.checker.onApplied(this.id, entry.index, bytes);
    const duties = this.duties;
    if (duties === null) return;
    if (entry.index === duties.leaderStartIndex && entry.term === duties.term) duties.ready = true;
    if (entry.index === duties.assignInFlight) duties.assignInFlight = 0;
    const reply = duties.replies.get(entry.index);
    if (reply === undefined) return;
    duties.replies.delete(entry.index);
    // Another leader's entry took that index: the request was not applied; its sender retries.
    if (reply.term !== entry.term) return;
    const session = decodeSessionResult(bytes);
    assert(session.status === 'applied', 'plain commands are always applied');
    const results = reply.batch ? decodeBatchResults(session.result, reply.targets.length) : [decodeResult(session.result)];
    for (const [i, target] of reply.targets.entries()) {
      if (target === null) continue;
      const result = results[i] as unknown as Record<string, unknown>;
      this.hooks.serviceSend(this.id, target.to, { type: 'reply', reqId: target.reqId, result });
    }
  }

  private maybeSnapshot(core: RaftCore): void {
    const snapshotIndex = this.storage.snapshot().metadata.index;
    if (this.appliedIndex - snapshotIndex < this.snapshotEvery_entries) return;
    const data = this.sessions.snapshot();
    assert(data instanceof Uint8Array, 'the job state machine snapshots synchronously');
    this.hooks.checker.onSnapshot(this.id, this.appliedIndex, data);
    this.storage.createSnapshot(this.appliedIndex, core.status().conf, data);
    core.snapshotTaken(this.appliedIndex);
  }

  private storedTerm(index: number): number | undefined {
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  // ------------------------------------------------------------ changes

  private onChange(change: JobChange): void {
    this.hooks.checker.onChange(this.id, change);
    // Only the leader talks to workers (a follower's changes are the same, replicated).
    if (this.core === null || this.core.status().role !== 'leader') return;
    if (change.kind === 'job-assigned') {
      this.hooks.serviceSend(this.id, change.workerId, {
        type: 'assign',
        job: { jobId: change.job.id, attempt: change.attempt },
        circuitId: change.job.circuit_id,
      });
    } else if ((change.kind === 'job-requeued' || change.kind === 'job-finished') && change.revokedFrom !== null) {
      this.hooks.serviceSend(this.id, change.revokedFrom.workerId, { type: 'revoke', job: { jobId: change.job.id, attempt: change.revokedFrom.attempt } });
    }
  }

  // ------------------------------------------------------------ leader duties

  private propose(command: JobCommand): number {
    return this.proposeEntry(encodeCommand(command), false, []);
  }

  /** A request's command waits for the next duties, to share an entry with the others received meanwhile. */
  private enqueue(command: JobCommand, reply: ReplyTarget | undefined): void {
    this.duties?.queued.push({ command, reply });
  }

  /** Proposes what was queued: one command alone, several as one batch entry (BATCH_COMMANDS_MAX each). */
  private flushQueued(duties: LeaderDuties): void {
    const queued = duties.queued.splice(0);
    for (let start = 0; start < queued.length; start += BATCH_COMMANDS_MAX) {
      const slice = queued.slice(start, start + BATCH_COMMANDS_MAX);
      // As the service's leader does: a batch with submits ends with `schedule`, so they are assigned by the same commit.
      if (slice.some((q) => q.command.type === 'submit'))
        slice.push({ command: { type: 'schedule', now_ms: this.hooks.now_ms(this.id), limit: 8 }, reply: undefined });
      const targets = slice.map((q) => q.reply ?? null);
      if (slice.length === 1) this.proposeEntry(encodeCommand(slice[0]!.command), false, targets);
      else if (this.proposeEntry(encodeCommandBatch(slice.map((q) => encodeCommand(q.command))), true, targets) !== 0) this.batchesProposed++;
    }
  }

  private proposeEntry(data: Uint8Array, batch: boolean, targets: readonly (ReplyTarget | null)[]): number {
    const core = this.core;
    if (core === null) return 0;
    try {
      const { index, term } = core.propose(encodePlainCommand(data));
      if (targets.some((t) => t !== null)) this.duties?.replies.set(index, { term, batch, targets });
      return index;
    } catch (error) {
      // Not the leader any more, or a leadership transfer is under way: nothing was appended.
      if (error instanceof ZkpError) return 0;
      throw error;
    }
  }

  /** Runs once per simulated tick, after Raft's own work. */
  leaderDuties(now_tick: number): void {
    const core = this.core;
    if (core === null || this.paused) return;
    const status = core.status();
    if (status.role !== 'leader') {
      this.duties = null;
      return;
    }
    if (this.duties === null || this.duties.term !== status.term) {
      this.duties = new LeaderDuties(status.term);
      this.duties.leaderStartIndex = this.propose({ type: 'leader-start', now_ms: this.hooks.now_ms(this.id) });
      this.hooks.note(`${this.id} leads term ${status.term}; leader-start at ${this.duties.leaderStartIndex}`);
      return;
    }
    const duties = this.duties;
    if (duties.leaderStartIndex === 0) duties.leaderStartIndex = this.propose({ type: 'leader-start', now_ms: this.hooks.now_ms(this.id) });
    if (!duties.ready) return;
    this.flushQueued(duties);
    const now_ms = this.hooks.now_ms(this.id);
    if (now_tick - duties.lastTick_tick >= SIM_TIMING.stateTick_ticks) {
      duties.lastTick_tick = now_tick;
      this.propose({ type: 'tick', now_ms });
    }
    if (now_tick - duties.lastRenew_tick >= SIM_TIMING.renew_ticks && duties.heartbeats.size > 0) {
      duties.lastRenew_tick = now_tick;
      const renewals = [...duties.heartbeats].map(([workerId, resident]) => ({ workerId, residentCircuits: resident }));
      duties.heartbeats.clear();
      this.propose({ type: 'renew-leases', now_ms, renewals });
    }
    if (duties.assignInFlight === 0) {
      const plan = planAssignments(this.machine.schedulerView(), now_ms, 8);
      if (plan.length > 0) duties.assignInFlight = this.propose({ type: 'assign', now_ms, assignments: plan });
    }
    if (now_tick - duties.lastArchive_tick >= SIM_TIMING.archive_ticks && this.hooks.archiveUp()) {
      duties.lastArchive_tick = now_tick;
      const finished = this.machine.finishedUnarchived(10);
      if (finished.length > 0) {
        for (const job of finished) this.hooks.checker.archive(job);
        this.propose({ type: 'archived', now_ms, jobIds: finished.map((job) => job.id) });
      }
    }
  }

  // ------------------------------------------------------------ service requests

  receive(from: string, message: ServiceMessage): void {
    const core = this.core;
    if (core === null || this.paused) return;
    if (!('reqId' in message) && message.type !== 'heartbeat') return; // replies are not for coordinators
    if (!this.servingAsLeader) {
      const hint = core.status().leaderId;
      const reqId = 'reqId' in message ? message.reqId : '';
      this.hooks.serviceSend(this.id, from, { type: 'not-leader', reqId, leaderHint: hint === this.id ? null : hint });
      return;
    }
    const now_ms = this.hooks.now_ms(this.id);
    const reply = 'reqId' in message ? { to: from, reqId: message.reqId } : undefined;
    switch (message.type) {
      case 'register-circuit':
        this.enqueue({ type: 'register-circuit', now_ms, circuit: simCircuitSpec(message.name, message.zkey_bytes) }, reply);
        return;
      case 'submit':
        this.enqueue(
          {
            type: 'submit',
            now_ms,
            circuitId: message.circuitId,
            input: { kind: 'json', json: '{"a":3,"b":11}' },
            idempotencyKey: message.idempotencyKey,
            priority: message.priority,
            deadline_ms: message.timeout_ms === 0 ? 0 : now_ms + message.timeout_ms,
            maxAttempts: message.maxAttempts,
          },
          reply,
        );
        return;
      case 'cancel':
        this.enqueue({ type: 'cancel', now_ms, jobId: message.jobId }, reply);
        return;
      case 'register-worker':
        this.enqueue(
          {
            type: 'register-worker',
            now_ms,
            worker: {
              id: message.workerId,
              address: 'sim',
              backends: ['native'],
              gpu: null,
              memory_bytes: 0,
              threads: 1,
              slots: message.slots,
              resident_circuits: [],
            },
            lease_ms: SIM_TIMING.lease_ms,
            keepJobIds: message.keepJobIds,
          },
          reply,
        );
        return;
      case 'heartbeat':
        this.heartbeat(from, message.workerId, message.running, message.resident);
        return;
      case 'report-running':
        this.enqueue({ type: 'running', now_ms, jobId: message.job.jobId, attempt: message.job.attempt, workerId: message.workerId }, reply);
        return;
      case 'report-complete':
        this.enqueue(
          {
            type: 'complete',
            now_ms,
            jobId: message.job.jobId,
            attempt: message.job.attempt,
            workerId: message.workerId,
            proofJson: message.proofJson,
            publicJson: '["33"]',
            prove_ms: message.prove_ms,
            backend: 'native',
          },
          reply,
        );
        return;
      case 'report-fail':
        this.enqueue(
          {
            type: 'fail',
            now_ms,
            jobId: message.job.jobId,
            attempt: message.job.attempt,
            workerId: message.workerId,
            permanent: message.permanent,
            code: message.permanent ? 'INVALID_ARGUMENT' : 'DEVICE_LOST',
            message: 'simulated failure',
          },
          reply,
        );
        return;
      default:
        return;
    }
  }

  /**
   * A heartbeat: remembered for the next renew-leases batch, and answered
   * from this (the leader's, applied) state: the jobs the worker holds
   * (re-sent, in case an assign was lost) and those it runs but no longer holds.
   */
  private heartbeat(from: string, workerId: string, running: readonly JobRef[], resident: readonly string[]): void {
    const worker = this.machine.worker(workerId);
    if (worker === undefined) {
      this.hooks.serviceSend(this.id, from, { type: 'heartbeat-reply', unknownWorker: true, assignments: [], revoke: [] });
      return;
    }
    this.duties?.heartbeats.set(workerId, resident);
    const assignments = worker.current_jobs.map((jobId) => {
      const job = this.machine.job(jobId)!;
      return { jobId, attempt: job.attempts, circuitId: job.circuit_id };
    });
    const revoke = running.filter((ref) => !assignments.some((a) => a.jobId === ref.jobId && a.attempt === ref.attempt));
    this.hooks.serviceSend(this.id, from, { type: 'heartbeat-reply', unknownWorker: false, assignments, revoke });
  }
}

export function simCircuitSpec(name: string, zkey_bytes: number): CircuitSpec {
  const id = simHash(`zkey:${name}`);
  return {
    id,
    name,
    wasm_sha256: simHash(`wasm:${name}`),
    zkey_sha256: id,
    vkey_sha256: '',
    wasm_bytes: 1000,
    zkey_bytes,
    vkey_bytes: 0,
    n_constraints: 100,
    n_vars: 120,
    n_public: 1,
    domain_size: 128,
  };
}

/** A stand-in for sha256 in the simulator (64 hex characters, deterministic; not cryptographic). */
export function simHash(text: string): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}
