import { assert } from '../errors/index.ts';
import type { ReadyLoopDisk } from '../raft/driver/ready-loop.ts';
import type { DurableLogStorage, PreparedSnapshot } from '../raft/storage/index.ts';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from '../raft/types.ts';
import type { SafetyChecker } from './checkers.ts';
import type { Prng } from '../random/prng.ts';

/** Thrown by the simulated disk to kill its process at a chosen point (right after a write became durable). */
export class SimulatedCrash extends Error {
  constructor(readonly where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/** A seed's disk behaviour. */
export interface SimDiskFaults {
  /** Chance that one write or sync takes 1-3 ticks instead of completing within its tick. */
  slowWriteProbability: number;
  /** Chance, per write that completes unsynced, that the power fails right then (the write is then lost, torn or kept). */
  powerCutAfterWriteProbability: number;
  /** Chance that one fdatasync fails (EIO): the node must stop. */
  syncFailureProbability: number;
  /** Chance that a crash is a power loss (unsynced writes lost or torn) rather than the process dying (the page cache survives). */
  powerLossProbability: number;
  /** Chance, per durable write, that the process dies right after it (before anything it promises is sent). */
  crashAfterWriteProbability: number;
  /** The same, for a hard state write that records a new vote. */
  crashAfterVoteProbability: number;
  /** Chance, per node and tick, that its disk fills up (ENOSPC) for 20-200 ticks: the node must stop, never ack what it did not write. */
  diskFullProbability?: number;
}

/**
 * The Ready loop's disk: the production durable log (DurableLogStorage:
 * segments, records, CRCs, recovery, compaction) over the node's simulated
 * file system (sim-fs.ts), whose writes and syncs complete through the
 * process's clock, so messages and proposals arrive while they are in
 * flight. It reports durable writes to the safety checker, and can kill its
 * process right after a durable write (before anything it promises is sent).
 */
export class SimDisk implements ReadyLoopDisk {
  constructor(
    private readonly node: NodeId,
    private readonly storage: DurableLogStorage,
    private readonly faults: SimDiskFaults,
    private readonly prng: Prng,
    private readonly checker: SafetyChecker,
  ) {}

  hardState(): HardState {
    return this.storage.hardState();
  }

  lastIndex(): number {
    return this.storage.lastIndex();
  }

  entries(lo: number, hi: number): Entry[] {
    return this.storage.entries(lo, hi);
  }

  snapshot(): Snapshot {
    return this.storage.snapshot();
  }

  applySnapshot(snapshot: Snapshot): void {
    this.storage.applySnapshot(snapshot);
    this.checker.onDurableSnapshot(this.node, snapshot.metadata.index);
  }

  setHardState(state: HardState, commitDurable: boolean): void {
    const before = this.storage.hardState();
    this.storage.setHardState(state, commitDurable);
    this.checker.onDurableHardState(this.node, state);
    const newVote = state.vote !== null && (state.vote !== before.vote || state.term !== before.term);
    if (newVote && this.prng.chance(this.faults.crashAfterVoteProbability))
      throw new SimulatedCrash(`right after voting for ${state.vote} in term ${state.term}`);
    if (this.prng.chance(this.faults.crashAfterWriteProbability)) throw new SimulatedCrash('right after a hard state write');
  }

  append(entries: readonly Entry[], done: (error: Error | null) => void): void {
    this.storage.appendWith(entries, (error) => {
      if (error !== null) {
        done(error);
        return;
      }
      this.checker.onPersistEntries(this.node, entries, (index) => this.storedTerm(index));
      if (this.prng.chance(this.faults.crashAfterWriteProbability)) {
        done(new SimulatedCrash('right after an append became durable'));
        return;
      }
      done(null);
    });
  }

  prepareSnapshot(
    index: number,
    conf: ConfState,
    data: Uint8Array | Promise<Uint8Array>,
    done: (error: Error | null, prepared: PreparedSnapshot | null) => void,
  ): void {
    assert(data instanceof Uint8Array, 'simulated state machines snapshot synchronously');
    this.storage.prepareSnapshotWith(index, conf, data, done);
  }

  installSnapshot(prepared: PreparedSnapshot): boolean {
    const installed = this.storage.installSnapshot(prepared);
    if (installed) this.checker.onDurableSnapshot(this.node, prepared.snapshot.metadata.index);
    return installed;
  }

  private storedTerm(index: number): number | undefined {
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }
}
