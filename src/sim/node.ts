import { assert, CorruptFileError } from '../errors/index.ts';
import { RaftCore } from '../raft/core/index.ts';
import { ReadyLoop } from '../raft/driver/ready-loop.ts';
import { silentLogger } from '../raft/logger.ts';
import { DurableLogStorage } from '../raft/storage/index.ts';
import type { Message, NodeId, RaftConfig } from '../raft/types.ts';
import { type SafetyChecker, SafetyViolation } from './checkers.ts';
import { SimClock, type SimTime } from './clock.ts';
import { SimDisk, SimulatedCrash, type SimDiskFaults } from './disk.ts';
import type { KvStore } from './kv.ts';
import type { Prng } from '../random/prng.ts';
import { type ExactlyOnceChecker, type SessionBug, SimStateMachine } from './sessions.ts';
import { SimFileSystem, SimulatedDiskFault } from './sim-fs.ts';

/** The smallest segments the log allows, so that segments roll and compaction deletes them often. */
const SEGMENT_BYTES = 4096;

export type RaftTuning = Omit<RaftConfig, 'id' | 'storage' | 'random'>;

export interface NodeHooks {
  send(message: Message, from: SimNode): void;
  /** The process died at a point its disk chose (right after a durable write). */
  crashed(node: SimNode, why: string): void;
  /** The Ready loop stopped on an error that is not a simulated crash: a bug, or a disk fault the node must stop on. */
  failed(node: SimNode, error: Error): void;
  /** A line for the run's trace. */
  note(line: string): void;
}

export interface SimNodeSettings {
  /** This node's disk takes this many ticks per write and sync at most (1-3 on a healthy disk): a slow disk. */
  readonly slowDisk_ticks_max: (node: NodeId) => number;
  readonly tuning: RaftTuning;
  readonly snapshotEvery_entries: number;
  readonly proposalTimeout_ms: number;
  readonly readTimeout_ms: number;
  readonly disk: SimDiskFaults;
  /** Exactly-once sessions: the run's checker, and the session bug planted, if any (sessions.ts). */
  readonly sessions: { readonly checker: ExactlyOnceChecker; readonly bug: SessionBug | null };
}

/**
 * One simulated server: a durable MemoryStorage (what survives a crash), and
 * a process made of a RaftCore, the production Ready loop
 * (src/raft/driver/ready-loop.ts) and the KV state machine behind
 * production's exactly-once sessions (sessions.ts), on a simulated
 * disk (disk.ts) and clock (clock.ts). A crash throws the process away.
 */
export class SimNode {
  /** The server's disk: survives its processes. */
  readonly fs: SimFileSystem;
  private durableLog: DurableLogStorage | null = null;
  core: RaftCore | null = null; // null while crashed
  loop: ReadyLoop | null = null;
  private clock: SimClock | null = null;
  /** The process's state machine (made anew at each start: a crash loses it). */
  private machine: SimStateMachine;
  incarnation = 0;
  paused = false;
  /** Set when the node's log could not be read at start (latent corruption found): it stays down, as it must. */
  refusedToStart: string | null = null;
  /** A sync failure was injected into the running process: it must stop (fail safe) within that turn. */
  syncFailed = false;
  /** Times the process stopped on a failed sync. */
  syncStops = 0;
  /** Restarts whose recovery dropped a torn last record. */
  tornTailsRecovered = 0;
  /** Times the process stopped on a full disk (ENOSPC), and starts that could not write for lack of space. */
  diskFullStops = 0;
  diskFullStarts = 0;
  /** Until when this server's disk stays full (ticks). */
  private diskFullUntil_tick = 0;
  /** Set to kill the process once its current turn ends (why, for the trace; and whether the machine loses power). */
  private crashAfterTurn: { readonly why: string; readonly powerLoss: boolean } | null = null;

  constructor(
    readonly id: NodeId,
    bootstrapVoters: readonly NodeId[],
    private readonly settings: SimNodeSettings,
    private readonly time: SimTime,
    private readonly prng: Prng,
    private readonly checker: SafetyChecker,
    private readonly hooks: NodeHooks,
  ) {
    this.fs = new SimFileSystem(prng, prng.chance(0.5));
    this.bootstrapVoters = bootstrapVoters;
    this.machine = new SimStateMachine(id, settings.sessions.checker, settings.sessions.bug); // replaced by start()
    this.start();
  }

  private readonly bootstrapVoters: readonly NodeId[];

  /** The running process's log (recovered from the disk at start). */
  get storage(): DurableLogStorage {
    assert(this.durableLog !== null, () => `${this.id} is not running`);
    return this.durableLog;
  }

  /** The registers of the state machine (the last process's, while crashed). */
  get kv(): KvStore {
    return this.machine.store;
  }

  get alive(): boolean {
    return this.core !== null;
  }

  /** The state machine's applied index (it may run ahead of the core's). */
  get appliedIndex(): number {
    return this.loop?.applied ?? 0;
  }

  /** Starts (or restarts) the process from what is durable. */
  start(): void {
    assert(this.core === null, `${this.id} is already running`);
    this.incarnation++;
    const clock = new SimClock(this.time);
    this.fs.attach((fn) => {
      const slow_ticks_max = this.settings.slowDisk_ticks_max(this.id);
      let delay_ticks = this.prng.chance(this.settings.disk.slowWriteProbability) ? this.prng.range(1, 3) : 0;
      if (slow_ticks_max > 0) delay_ticks = this.prng.range(0, slow_ticks_max); // a slow disk: syncs of up to seconds
      clock.at(this.time.now_tick + delay_ticks, fn);
    });
    this.syncFailed = false;
    this.fs.syncFault = null;
    this.freeDiskWhenDue();
    let storage: DurableLogStorage;
    try {
      storage = DurableLogStorage.open({
        dir: `/data/${this.id}`,
        clusterId: 'sim',
        nodeId: this.id,
        bootstrapConf: { voters: [...this.bootstrapVoters], learners: [] },
        startEmpty: this.bootstrapVoters.length === 0,
        segment_bytes_max: SEGMENT_BYTES,
        fileSystem: this.fs,
      });
    } catch (error) {
      if (isNoSpace(error)) {
        // Recovery could not write (a full disk): the process exits saying so; a later start may find space.
        this.fs.crash(false);
        this.diskFullStarts++;
        this.hooks.note(`${this.id} cannot start: ${(error as Error).message}`);
        return;
      }
      // A log it cannot read: the node must not serve or vote from it, and must say why (as the process does, exiting).
      if (!(error instanceof CorruptFileError)) throw error;
      this.refusedToStart = error.message;
      return;
    }
    this.durableLog = storage;
    this.fs.syncFault = () => {
      if (!this.prng.chance(this.settings.disk.syncFailureProbability)) return null;
      this.syncFailed = true;
      return new SimulatedDiskFault('fdatasync');
    };
    if (storage.recovery.tornTail_bytes > 0) this.tornTailsRecovered++;
    this.checker.onRestart(this.id, storage.initialState().hardState, this.incarnation);
    // What the log recovered is durable from now on when it is all on the platter (always, after a power loss).
    if (this.fs.notDurable(storage.segmentFiles()) === null) {
      this.checker.onDurableSnapshot(this.id, storage.snapshot().metadata.index);
      if (storage.lastIndex() >= storage.firstIndex()) this.checker.onDurableCopies(this.id, storage.entries(storage.firstIndex(), storage.lastIndex() + 1));
    }
    const disk = new SimDisk(this.id, storage, this.settings.disk, this.prng, this.checker);
    const core = new RaftCore({ ...this.settings.tuning, id: this.id, storage, random: () => this.prng.next() });
    const incarnation = this.incarnation;
    clock.afterTurn = () => {
      // Once every completion of its disk ran, the failure has reached the node: it must have stopped.
      if (this.syncFailed && this.loop !== null && this.fs.pendingOps === 0) {
        this.hooks.failed(this, new SafetyViolation('fail safe', `${this.id} carried on after a failed fdatasync`));
        return;
      }
      if (this.fs.noSpaceErrors > 0 && this.loop !== null && this.fs.pendingOps === 0) {
        this.hooks.failed(this, new SafetyViolation('fail safe', `${this.id} carried on after a write failed with ENOSPC`));
        return;
      }
      const pending = this.crashAfterTurn;
      if (pending === null) return;
      this.crashAfterTurn = null;
      this.crash(pending.powerLoss);
      this.hooks.crashed(this, pending.why);
    };
    this.fs.onUnsyncedWrite = () => {
      if (this.prng.chance(this.settings.disk.powerCutAfterWriteProbability)) this.crashAtEndOfTurn('power cut with a write not yet synced:', true);
    };
    this.clock = clock;
    this.core = core;
    this.announcedCommit = 0;
    this.votersSinceAnnounced = [core.status().conf.voters];
    this.votersTerm = core.status().term;
    const machine = new SimStateMachine(`${this.id} (incarnation ${this.incarnation})`, this.settings.sessions.checker, this.settings.sessions.bug);
    this.machine = machine;
    this.loop = new ReadyLoop(
      {
        core,
        disk,
        send: (messages) => {
          for (const message of messages) {
            this.checkSend(message, storage, core);
            this.hooks.send(message, this);
          }
        },
        clock,
        host: {
          apply: (entry) => {
            this.checker.onApply(this.id, entry);
            return machine.apply(entry);
          },
          restore: (data) => machine.restore(data),
          snapshot: () => machine.snapshot(),
          confChangeApplied: (entry) => {
            this.checker.onApply(this.id, entry);
            this.observeVoters(core);
          },
          leaderChanged: () => {},
          snapshotInstalled: () => {},
          fatal: (error) => {
            if (this.incarnation !== incarnation) return;
            if (error instanceof SimulatedCrash) {
              this.crash();
              this.hooks.crashed(this, `crash ${error.where}`);
            } else if (this.syncFailed && (error instanceof CorruptFileError || error instanceof SimulatedDiskFault)) {
              // Stopped on the failed sync, as it must (the process exits); what was not synced is gone from the page cache.
              this.crash(false);
              this.syncStops++;
              this.hooks.crashed(this, `stopped after a failed fdatasync (${error.message}):`);
            } else if (this.fs.noSpaceErrors > 0 && isNoSpace(error)) {
              // Stopped on a full disk, saying so (the process exits); the page cache keeps what was written.
              this.crash(false);
              this.diskFullStops++;
              this.hooks.crashed(this, `stopped on a full disk (${error.message}):`);
            } else this.hooks.failed(this, error);
          },
          clientAddressOf: () => null,
        },
      },
      {
        id: this.id,
        snapshotEvery_entries: this.settings.snapshotEvery_entries,
        pendingRequests_max: 1000,
        proposalTimeout_ms: this.settings.proposalTimeout_ms,
        readTimeout_ms: this.settings.readTimeout_ms,
        readContextTag: this.incarnation,
        logger: silentLogger,
        trace: null,
      },
    );
  }

  /** The highest commit index this process announced and the checker verified. */
  private announcedCommit = 0;
  /**
   * Every voter set this process had since it last announced its whole commit
   * index (the current one last). The core counts a commit under the configuration in
   * effect at that moment and may apply further conf changes (in the same
   * Ready) before the message announcing it leaves, so the commit check accepts
   * a quorum of any of them.
   */
  private votersSinceAnnounced: (readonly NodeId[])[] = [];
  /** The term of that history: a new term starts it again (a leader counts only under configurations it had in its term). */
  private votersTerm = 0;

  private observeVoters(core: RaftCore): void {
    const { conf, term } = core.status();
    const voters = conf.voters;
    if (term !== this.votersTerm) {
      this.votersTerm = term;
      this.votersSinceAnnounced = [voters];
      return;
    }
    const last = this.votersSinceAnnounced[this.votersSinceAnnounced.length - 1];
    if (last === undefined || last.join() !== voters.join()) this.votersSinceAnnounced.push(voters);
  }

  /**
   * Checks what a message promises about disks, as it leaves: an accepting
   * append-resp only entries durable here; a leader's commit index only an
   * entry durable on a quorum. A violation fails the run at the end of the
   * step (the loop itself carries on).
   */
  private checkSend(message: Message, storage: DurableLogStorage, core: RaftCore): void {
    this.observeVoters(core);
    try {
      if (message.type === 'append-resp') {
        // (Without an index it only tells a stale leader the newer term.)
        if (message.reject !== true && message.index !== undefined)
          this.checker.onAckSent(message, storage.lastIndex(), this.fs.notDurable(storage.segmentFiles()));
        return;
      }
      if (message.type !== 'append' && message.type !== 'heartbeat') return;
      const commit = message.commit ?? 0;
      if (commit <= this.announcedCommit) return;
      this.announcedCommit = commit;
      const term = core.log.term(commit);
      const status = core.status();
      // A leader commits by counting copies of entries of its own term (older ones come with them, §5.4.2);
      // a commit it learned as a follower was checked when its leader announced it.
      if (term !== status.term) return;
      const voterSets = this.votersSinceAnnounced;
      // A heartbeat carries the commit capped at its follower's match, so a
      // message may announce less than the core has counted (seed 6431: 69 to
      // n2, then 70 to n3, both counted before "add n5" at 69 applied). Only a
      // message carrying the core's whole commit starts the history again.
      if (commit >= status.commit) this.votersSinceAnnounced = [status.conf.voters];
      this.checker.onCommitAnnounced(this.id, status.term, commit, term, voterSets);
    } catch (error) {
      if (!(error instanceof SafetyViolation)) throw error;
      this.hooks.failed(this, error);
    }
  }

  /** Kills the process at the end of its current turn (what the turn sent is out). */
  crashAtEndOfTurn(why: string, powerLoss?: boolean): void {
    this.crashAfterTurn ??= { why, powerLoss: powerLoss ?? this.prng.chance(this.settings.disk.powerLossProbability) };
  }

  /** The process dies: everything not durable (the core, queued messages, a write in flight that did not land) is gone. */
  crash(powerLoss = this.prng.chance(this.settings.disk.powerLossProbability)): void {
    this.crashAfterTurn = null;
    this.fs.crash(powerLoss);
    this.clock?.kill();
    this.durableLog = null;
    this.core = null;
    this.loop = null;
    this.clock = null;
  }

  /** One input to the running process, as one event-loop turn. */
  turn(fn: (loop: ReadyLoop) => void): void {
    const loop = this.loop;
    if (loop === null || this.paused) return;
    this.clock!.turn(() => fn(loop));
  }

  tick(): void {
    this.maybeFillDisk();
    this.turn((loop) => loop.tick());
  }

  /** A full disk (seeded): from now on the files may grow by a few KiB at most, for 20-200 ticks. */
  private maybeFillDisk(): void {
    if (this.freeDiskWhenDue() || Number.isFinite(this.fs.spaceLeft_bytes)) return;
    const p = this.settings.disk.diskFullProbability ?? 0;
    if (p === 0 || !this.prng.chance(p)) return;
    this.fs.spaceLeft_bytes = this.prng.range(0, 3000);
    this.diskFullUntil_tick = this.time.now_tick + this.prng.range(20, 200);
    this.hooks.note(`disk full ${this.id} (${this.fs.spaceLeft_bytes} bytes left) until t=${this.diskFullUntil_tick}`);
  }

  /** Frees a full disk once its time is up (or faults are off); true when it did. */
  private freeDiskWhenDue(): boolean {
    if (!Number.isFinite(this.fs.spaceLeft_bytes)) return false;
    if ((this.settings.disk.diskFullProbability ?? 0) > 0 && this.time.now_tick < this.diskFullUntil_tick) return false;
    this.fs.spaceLeft_bytes = Number.POSITIVE_INFINITY;
    this.hooks.note(`disk of ${this.id} has space again`);
    return true;
  }

  deliver(message: Message): void {
    this.turn((loop) => loop.receive([message]));
  }

  /** Runs what came due on this process (disk completions, timers); a paused process runs nothing. */
  runDue(): void {
    if (this.loop === null || this.paused) return;
    this.clock!.runDue();
  }
}

/** An ENOSPC, raised by the file system or carried as the cause of the log's error. */
function isNoSpace(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if ((e as { code?: unknown }).code === 'ENOSPC') return true;
  return false;
}
