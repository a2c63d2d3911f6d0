import { assert } from '../errors/index.ts';
import type { MemoryStorage } from '../raft/core/index.ts';
import type { ReadyLoopDisk } from '../raft/driver/ready-loop.ts';
import type { PreparedSnapshot } from '../raft/storage/index.ts';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from '../raft/types.ts';
import type { SafetyChecker } from './checkers.ts';
import type { SimClock } from './clock.ts';
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
  /** Chance that one write takes 1-3 ticks instead of completing within its tick. */
  slowWriteProbability: number;
  /** Chance, per durable write, that the process dies right after it (before anything it promises is sent). */
  crashAfterWriteProbability: number;
  /** The same, for a hard state write that records a new vote. */
  crashAfterVoteProbability: number;
}

/**
 * The Ready loop's disk over a MemoryStorage (what survives a crash). An
 * append completes through the process's clock, so messages and proposals
 * arrive while it is in flight, as they do in a process; a crash while it is
 * in flight may or may not have landed the record (a write can reach the disk
 * before its fdatasync returns), decided by the seed. Term and vote writes
 * are durable when they return, as the durable log's atomic replace is.
 */
export class SimDisk implements ReadyLoopDisk {
  /** Bumped when a snapshot from the leader replaces the log: a snapshot prepared before is stale. */
  private generation = 0;
  private inFlight: readonly Entry[] | null = null;

  constructor(
    private readonly node: NodeId,
    private readonly storage: MemoryStorage,
    private readonly clock: SimClock,
    private readonly now_tick: () => number,
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
    if (snapshot.metadata.index <= this.storage.snapshot().metadata.index) return;
    this.generation++;
    this.storage.applySnapshot(snapshot);
  }

  setHardState(state: HardState): void {
    const before = this.storage.hardState();
    this.storage.setHardState(state);
    this.checker.onDurableHardState(this.node, state);
    const newVote = state.vote !== null && (state.vote !== before.vote || state.term !== before.term);
    if (newVote && this.prng.chance(this.faults.crashAfterVoteProbability))
      throw new SimulatedCrash(`right after voting for ${state.vote} in term ${state.term}`);
    if (this.prng.chance(this.faults.crashAfterWriteProbability)) throw new SimulatedCrash('right after a hard state write');
  }

  append(entries: readonly Entry[], done: (error: Error | null) => void): void {
    assert(this.inFlight === null, 'one append at a time');
    this.inFlight = entries;
    const delay_ticks = this.prng.chance(this.faults.slowWriteProbability) ? this.prng.range(1, 3) : 0;
    this.clock.at(this.now_tick() + delay_ticks, () => {
      this.land(entries);
      if (this.prng.chance(this.faults.crashAfterWriteProbability)) {
        done(new SimulatedCrash('right after an append became durable'));
        return;
      }
      done(null);
    });
  }

  private land(entries: readonly Entry[]): void {
    this.inFlight = null;
    this.storage.append(entries);
    this.checker.onPersistEntries(this.node, entries, (index) => this.storedTerm(index));
  }

  prepareSnapshot(
    index: number,
    conf: ConfState,
    data: Uint8Array | Promise<Uint8Array>,
    done: (error: Error | null, prepared: PreparedSnapshot | null) => void,
  ): void {
    assert(data instanceof Uint8Array, 'simulated state machines snapshot synchronously');
    if (index <= this.storage.snapshot().metadata.index) {
      this.clock.at(this.now_tick(), () => done(null, null));
      return;
    }
    const snapshot: Snapshot = { metadata: { index, term: this.storage.term(index), conf: { voters: [...conf.voters], learners: [...conf.learners] } }, data };
    const generation = this.generation;
    this.clock.at(this.now_tick() + this.prng.range(0, 4), () => done(null, { snapshot, generation }));
  }

  installSnapshot(prepared: PreparedSnapshot): boolean {
    const index = prepared.snapshot.metadata.index;
    if (prepared.generation !== this.generation || index <= this.storage.snapshot().metadata.index) return false;
    assert(this.storage.term(index) === prepared.snapshot.metadata.term, () => `the entry at snapshot index ${index} changed while its snapshot was written`);
    this.storage.createSnapshot(index, prepared.snapshot.metadata.conf, prepared.snapshot.data);
    return true;
  }

  /** The process died: a write in flight reached the disk or not (either may happen). */
  crash(): void {
    const entries = this.inFlight;
    this.inFlight = null;
    if (entries !== null && this.prng.chance(0.5)) this.land(entries);
  }

  private storedTerm(index: number): number | undefined {
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }
}
