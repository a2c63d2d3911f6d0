import { assert } from '../errors/index.ts';
import { MemoryStorage, RaftCore } from '../raft/core/index.ts';
import type { Entry, Message, NodeId, RaftConfig, ReadState } from '../raft/types.ts';
import type { SafetyChecker } from './checkers.ts';
import { decodePut, KvStore } from './kv.ts';
import type { Prng } from '../random/prng.ts';

export type RaftTuning = Omit<RaftConfig, 'id' | 'storage' | 'random'>;

export interface NodeHooks {
  send(message: Message): void;
  /** An entry was applied on this node (clients watch for their own). */
  applied(node: NodeId, entry: Entry): void;
  /** A read state came out of a Ready on this node. */
  readState(node: NodeId, state: ReadState): void;
}

/** Bound on Ready rounds per drain: a core that never runs dry is a bug. */
const MAX_READY_ROUNDS = 1000;

/**
 * One simulated server: a durable MemoryStorage (what survives a crash), a
 * RaftCore (what does not), and the KV state machine. `handleReady` is the
 * driver's loop: persist, send, apply, advance. An entry or vote counts as
 * synced only once the Ready that carried it has been persisted here.
 */
export class SimNode {
  readonly storage: MemoryStorage;
  core: RaftCore | null = null; // null while crashed
  kv = new KvStore();
  appliedIndex = 0; // of the state machine; resets to the snapshot's index on restart
  incarnation = 0;
  paused = false;

  constructor(
    readonly id: NodeId,
    bootstrapVoters: readonly NodeId[],
    private readonly tuning: RaftTuning,
    private readonly prng: Prng,
    private readonly checker: SafetyChecker,
    private readonly hooks: NodeHooks,
    private readonly snapshotEvery_entries: number,
  ) {
    this.storage = new MemoryStorage();
    if (bootstrapVoters.length > 0) this.storage.bootstrap(bootstrapVoters);
    this.start();
  }

  get alive(): boolean {
    return this.core !== null;
  }

  /** Starts (or restarts) the process from what is durable. */
  start(): void {
    assert(this.core === null, `${this.id} is already running`);
    this.incarnation++;
    const snapshot = this.storage.snapshot();
    this.kv = KvStore.fromSnapshot(snapshot.data);
    this.appliedIndex = snapshot.metadata.index;
    this.core = new RaftCore({ ...this.tuning, id: this.id, storage: this.storage, random: () => this.prng.next() });
  }

  /** The process dies: everything not persisted (the core's unstable tail, queued messages) is gone. */
  crash(): void {
    this.core = null;
  }

  /**
   * Runs the Ready loop until the core has nothing more. `crashAfterPersist`
   * is asked once per Ready and may kill the process between persisting and
   * sending (the messages are lost; the state on disk is kept).
   */
  drain(crashAfterPersist: () => boolean): void {
    for (let round = 0; round < MAX_READY_ROUNDS; round++) {
      const core = this.core;
      if (core === null || this.paused || !core.hasReady()) return;
      const ready = core.ready();
      // 1. persist
      if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot);
      this.storage.append(ready.entries);
      this.checker.onPersistEntries(this.id, ready.entries, (index) => this.storedTerm(index));
      if (ready.hardState !== undefined) {
        this.storage.setHardState(ready.hardState);
        this.checker.onDurableTerm(this.id, ready.hardState.term);
      }
      if (crashAfterPersist()) {
        this.crash();
        return;
      }
      // 2. send
      for (const message of ready.messages) this.hooks.send(message);
      // 3. apply
      if (ready.snapshot !== undefined) {
        this.kv = KvStore.fromSnapshot(ready.snapshot.data);
        this.appliedIndex = ready.snapshot.metadata.index;
      }
      for (const entry of ready.committedEntries) this.apply(entry);
      for (const state of ready.readStates) this.hooks.readState(this.id, state);
      // 4. advance
      core.advance(ready);
      assert(core.status().applied === this.appliedIndex, () => `${this.id}: core applied ${core.status().applied} but state machine at ${this.appliedIndex}`);
      this.maybeSnapshot(core);
    }
    assert(false, `${this.id}: Ready loop did not run dry in ${MAX_READY_ROUNDS} rounds`);
  }

  private apply(entry: Entry): void {
    if (entry.index <= this.appliedIndex) return; // covered by a snapshot
    assert(entry.index === this.appliedIndex + 1, () => `${this.id}: applying ${entry.index} after ${this.appliedIndex}`);
    this.checker.onApply(this.id, entry);
    if (entry.type === 'normal') this.kv.apply(decodePut(entry.data));
    this.appliedIndex = entry.index;
    this.hooks.applied(this.id, entry);
  }

  private maybeSnapshot(core: RaftCore): void {
    const snapshotIndex = this.storage.snapshot().metadata.index;
    if (this.appliedIndex - snapshotIndex < this.snapshotEvery_entries) return;
    this.storage.createSnapshot(this.appliedIndex, core.status().conf, this.kv.encodeSnapshot());
    core.snapshotTaken(this.appliedIndex);
  }

  private storedTerm(index: number): number | undefined {
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }
}
