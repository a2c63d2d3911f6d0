/**
 * One simulated coordinator: a Raft member whose state machine is the real
 * ExactlyOnceStateMachine(JobStateMachine), plus a model of the service's
 * leader duties: leader-start on gaining leadership, tick, batched lease
 * renewals from heartbeats, the scheduler, archiving, and pushing
 * assignments and revocations to workers from the machine's changes.
 *
 * Its Raft process is wired as src/sim/node.ts wires the key-value one: the
 * production Ready loop (src/raft/driver/ready-loop.ts) drives a RaftCore
 * over the production durable log (DurableLogStorage) on a simulated file
 * system (sim-fs.ts) through the simulated disk (disk.ts), with the process's
 * clock, timers and deferred work on a SimClock (clock.ts). Proposals go
 * through the loop, which answers them from the applied entry, as RaftNode
 * answers the service's proposer; snapshots are the loop's. A crash throws
 * the process away; what its file system made durable survives.
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
import { assert } from '../../errors/index.ts';
import { RaftCore } from '../../raft/core/index.ts';
import { ReadyLoop } from '../../raft/driver/ready-loop.ts';
import { silentLogger } from '../../raft/logger.ts';
import { decodeSessionResult, encodePlainCommand } from '../../raft/sessions/envelope.ts';
import { ExactlyOnceStateMachine } from '../../raft/sessions/exactly-once.ts';
import { DurableLogStorage } from '../../raft/storage/index.ts';
import type { Message, NodeId } from '../../raft/types.ts';
import type { SafetyChecker } from '../checkers.ts';
import { SimClock, type SimTime } from '../clock.ts';
import { SimDisk, type SimDiskFaults, SimulatedCrash } from '../disk.ts';
import type { RaftTuning } from '../node.ts';
import type { Prng } from '../prng.ts';
import { SimFileSystem } from '../sim-fs.ts';
import type { JobChecker } from './checker.ts';
import type { JobRef, ServiceMessage } from './messages.ts';
import { SIM_TIMING } from './timing.ts';

/** The smallest segments the log allows, so that segments roll and compaction deletes them often. */
const SEGMENT_BYTES = 4096;

export interface CoordinatorHooks {
  raftSend(message: Message): void;
  serviceSend(from: string, to: string, message: ServiceMessage): void;
  /** This coordinator's clock (the simulated time plus its own skew): the now_ms of the commands it proposes. */
  now_ms(node: NodeId): number;
  /** The simulation's time axis (the process's timers and disk completions run on it). */
  readonly time: SimTime;
  readonly safety: SafetyChecker;
  readonly checker: JobChecker;
  /** A fresh job state machine (the simulation may plant a bug in it). */
  makeMachine(): JobStateMachine;
  /** Whether the archive (PostgreSQL) is reachable now. */
  archiveUp(): boolean;
  /** The process died at a point its disk chose (right after a durable write, before what it promises is sent). */
  crashed(node: SimCoordinator, why: string): void;
  note(line: string): void;
}

export interface CoordinatorSettings {
  readonly tuning: RaftTuning;
  readonly snapshotEvery_entries: number;
  /** Read at each use: the simulation turns the crash faults off for its calm period. */
  readonly disk: SimDiskFaults;
}

interface ReplyTarget {
  readonly to: string;
  readonly reqId: string;
}

/** What only the leader keeps, in memory; lost on a crash or a change of leader. */
class LeaderDuties {
  ready = false;
  leaderStartProposed = false;
  readonly heartbeats = new Map<string, readonly string[]>();
  /** Requests received this tick, proposed together at the next duties (one batch entry, as the service's proposer does). */
  readonly queued: { readonly command: JobCommand; readonly reply: ReplyTarget | undefined }[] = [];
  assignInFlight = false;
  lastTick_tick = 0;
  lastRenew_tick = 0;
  lastArchive_tick = 0;
  constructor(readonly term: number) {}
}

export class SimCoordinator {
  /** The server's disk: survives its processes. */
  readonly fs: SimFileSystem;
  /** The running process's Ready loop (null while crashed). */
  loop: ReadyLoop | null = null;
  private clock: SimClock | null = null;
  machine!: JobStateMachine;
  private sessions!: ExactlyOnceStateMachine<JobStateMachine>;
  incarnation = 0;
  paused = false;
  /** Batch entries this coordinator proposed (each holds several requests). */
  batchesProposed = 0;
  private duties: LeaderDuties | null = null;

  constructor(
    readonly id: NodeId,
    private readonly voters: readonly NodeId[],
    private readonly settings: CoordinatorSettings,
    private readonly prng: Prng,
    private readonly hooks: CoordinatorHooks,
  ) {
    this.fs = new SimFileSystem(prng, prng.chance(0.5));
    this.start();
  }

  /** The running process's Raft core (null while crashed). */
  get core(): RaftCore | null {
    return this.loop?.core ?? null;
  }

  get alive(): boolean {
    return this.loop !== null;
  }

  /** Starts (or restarts) the process from what its disk made durable. */
  start(): void {
    assert(this.loop === null, `${this.id} is already running`);
    this.incarnation++;
    const incarnation = this.incarnation;
    const time = this.hooks.time;
    const clock = new SimClock(time);
    this.fs.attach((fn) => {
      const delay_ticks = this.prng.chance(this.settings.disk.slowWriteProbability) ? this.prng.range(1, 3) : 0;
      clock.at(time.now_tick + delay_ticks, fn);
    });
    // A log it cannot read fails the run (this simulation injects no corruption).
    const storage = DurableLogStorage.open({
      dir: `/data/${this.id}`,
      clusterId: 'sim-jobs',
      nodeId: this.id,
      bootstrapConf: { voters: [...this.voters], learners: [] },
      segment_bytes_max: SEGMENT_BYTES,
      fileSystem: this.fs,
    });
    this.hooks.safety.onRestart(this.id, storage.initialState().hardState, incarnation);
    this.machine = this.hooks.makeMachine();
    this.machine.onChange((change) => this.onChange(change));
    this.sessions = new ExactlyOnceStateMachine(this.machine);
    this.duties = null;
    const core = new RaftCore({ ...this.settings.tuning, id: this.id, storage, random: () => this.prng.next() });
    this.clock = clock;
    this.loop = new ReadyLoop(
      {
        core,
        disk: new SimDisk(this.id, storage, this.settings.disk, this.prng, this.hooks.safety),
        send: (messages) => {
          for (const message of messages) this.hooks.raftSend(message);
        },
        clock,
        host: {
          apply: (entry) => {
            this.hooks.safety.onApply(this.id, entry);
            const bytes = this.sessions.apply(entry);
            this.machine.checkInvariants();
            this.hooks.checker.onApplied(this.id, entry.index, bytes);
            return bytes;
          },
          restore: (data) => {
            this.sessions.restore(data);
            this.machine.checkInvariants();
          },
          snapshot: () => {
            const data = this.sessions.snapshot();
            assert(data instanceof Uint8Array, 'the job state machine snapshots synchronously');
            this.hooks.checker.onSnapshot(this.id, this.appliedIndex, data);
            return data;
          },
          confChangeApplied: (entry) => this.hooks.safety.onApply(this.id, entry),
          leaderChanged: () => {},
          snapshotInstalled: () => {},
          fatal: (error) => {
            if (this.incarnation !== incarnation) return;
            if (error instanceof SimulatedCrash) {
              this.crash();
              this.hooks.crashed(this, `crash ${error.where}:`);
              return;
            }
            // A checker's or the state machine's assertion, or a bug: the run fails with it.
            throw error;
          },
          clientAddressOf: () => null,
        },
      },
      {
        id: this.id,
        snapshotEvery_entries: this.settings.snapshotEvery_entries,
        pendingRequests_max: 20_000,
        proposalTimeout_ms: 10_000,
        readTimeout_ms: 2_000,
        readContextTag: incarnation,
        logger: silentLogger,
        trace: null,
      },
    );
  }

  /** The process dies: everything not durable (the core, the loop, the leader's duties, a write in flight that did not land) is gone. */
  crash(powerLoss = this.prng.chance(this.settings.disk.powerLossProbability)): void {
    this.fs.crash(powerLoss);
    this.clock?.kill();
    this.clock = null;
    this.loop = null;
    this.duties = null;
  }

  /** The state machine's applied index (it may run ahead of the core's). */
  get appliedIndex(): number {
    return this.loop?.applied ?? 0;
  }

  /** Leader and past its own leader-start: serves clients and workers. */
  get servingAsLeader(): boolean {
    return this.loop !== null && !this.paused && this.duties?.ready === true && this.loop.core.status().role === 'leader';
  }

  // ------------------------------------------------------------ the process's turns

  /** One input to the running process, as one event-loop turn (then the work it deferred). */
  private turn(fn: (loop: ReadyLoop) => void): void {
    const loop = this.loop;
    if (loop === null || this.paused) return;
    this.clock!.turn(() => fn(loop));
  }

  tick(): void {
    this.turn((loop) => loop.tick());
  }

  deliver(message: Message): void {
    this.turn((loop) => loop.receive([message]));
  }

  /** Runs what came due on this process (disk completions, timers); a paused process runs nothing. */
  runDue(): void {
    if (this.loop === null || this.paused) return;
    this.clock!.runDue();
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

  /**
   * Proposes through the Ready loop, as the service's proposer does through
   * RaftNode: `applied` gets the entry's result once it is applied here,
   * `refused` is called when it was not appended (not the leader, a transfer
   * under way), when another leader's entry replaced it, or when its outcome
   * is unknown (timed out). Returns whether it was appended.
   */
  private proposeEntry(data: Uint8Array, applied: (result: Uint8Array) => void, refused: () => void): boolean {
    const loop = this.loop;
    if (loop === null) return false;
    let proposing = true;
    let appended = true;
    loop.propose(encodePlainCommand(data), applied, () => {
      if (proposing) appended = false;
      refused();
    });
    proposing = false;
    return appended;
  }

  /** One command of the leader's own (no client waits on it). */
  private propose(command: JobCommand, applied: () => void = () => {}, refused: () => void = () => {}): boolean {
    return this.proposeEntry(encodeCommand(command), applied, refused);
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
      const batch = slice.length > 1;
      const data = batch ? encodeCommandBatch(slice.map((q) => encodeCommand(q.command))) : encodeCommand(slice[0]!.command);
      // Refused or replaced: nobody is answered, and each sender retries.
      if (
        this.proposeEntry(
          data,
          (result) => this.answer(result, batch, targets),
          () => {},
        ) &&
        batch
      )
        this.batchesProposed++;
    }
  }

  /** Answers the senders of an applied entry's commands (a batch entry: one result per command, in order). */
  private answer(result: Uint8Array, batch: boolean, targets: readonly (ReplyTarget | null)[]): void {
    if (targets.every((target) => target === null)) return;
    const session = decodeSessionResult(result);
    assert(session.status === 'applied', 'plain commands are always applied');
    const results = batch ? decodeBatchResults(session.result, targets.length) : [decodeResult(session.result)];
    for (const [i, target] of targets.entries()) {
      if (target === null) continue;
      const reply = results[i] as unknown as Record<string, unknown>;
      this.hooks.serviceSend(this.id, target.to, { type: 'reply', reqId: target.reqId, result: reply });
    }
  }

  /** Proposes this term's leader-start; the leader serves once it is applied here (and proposes it again if it was not). */
  private proposeLeaderStart(loop: ReadyLoop, duties: LeaderDuties): void {
    duties.leaderStartProposed = this.propose(
      { type: 'leader-start', now_ms: this.hooks.now_ms(this.id) },
      () => {
        duties.ready = true;
      },
      () => {
        duties.leaderStartProposed = false;
      },
    );
    if (duties.leaderStartProposed) this.hooks.note(`${this.id} leads term ${duties.term}; leader-start at ${loop.core.log.lastIndex()}`);
  }

  /** Runs once per simulated tick, after Raft's own work, as one turn of the process. */
  leaderDuties(now_tick: number): void {
    this.turn((loop) => this.runLeaderDuties(loop, now_tick));
  }

  private runLeaderDuties(loop: ReadyLoop, now_tick: number): void {
    const status = loop.core.status();
    if (status.role !== 'leader') {
      this.duties = null;
      return;
    }
    if (this.duties === null || this.duties.term !== status.term) {
      this.duties = new LeaderDuties(status.term);
      this.proposeLeaderStart(loop, this.duties);
      return;
    }
    const duties = this.duties;
    if (!duties.leaderStartProposed) this.proposeLeaderStart(loop, duties);
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
    if (!duties.assignInFlight) {
      const plan = planAssignments(this.machine.schedulerView(), now_ms, 8);
      const settled = (): void => {
        duties.assignInFlight = false;
      };
      if (plan.length > 0) duties.assignInFlight = this.propose({ type: 'assign', now_ms, assignments: plan }, settled, settled);
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
