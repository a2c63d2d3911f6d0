import { assert, InvalidArgumentError } from '../../errors/index.ts';
import type { ConfState, Entry, HardState, LogStorage, NodeId, Snapshot } from '../types.ts';
import { encodeConfChange } from './conf-change.ts';
import { sliceEntries, sliceFirstIndex, sliceLastIndex, sliceTerm } from './log-slice.ts';

const EMPTY_CONF: ConfState = { voters: [], learners: [] };

/**
 * An in-memory LogStorage in the manner of etcd's MemoryStorage: what the
 * driver (or the simulator) has made "durable". The log is a snapshot
 * (index, term, conf, data) followed by entries snapshot.index+1 .. lastIndex.
 *
 * Contract with the core: initialState().conf is the configuration as of the
 * snapshot; the core re-applies conf-change entries after it as they are
 * committed and handed out again.
 */
export class MemoryStorage implements LogStorage {
  private hard: HardState = { term: 0, vote: null, commit: 0 };
  private snap: Snapshot;
  private log: Entry[] = []; // invariant: log[i].index === snap.metadata.index + 1 + i

  constructor(conf: ConfState = EMPTY_CONF) {
    this.snap = { metadata: { index: 0, term: 0, conf: { voters: [...conf.voters], learners: [...conf.learners] } }, data: new Uint8Array(0) };
  }

  /**
   * Writes the initial configuration as committed conf-change entries 1..n of
   * term 1 (as etcd's bootstrap does), so that a node added later learns the
   * whole configuration by replaying the log, not just the change that added
   * it. Every founding member bootstraps with the same list.
   */
  bootstrap(voters: readonly NodeId[]): void {
    if (voters.length === 0) throw new InvalidArgumentError('bootstrap needs at least one voter');
    if (new Set(voters).size !== voters.length) throw new InvalidArgumentError(`bootstrap voters must be distinct: ${voters.join(', ')}`);
    assert(this.lastIndex() === 0 && this.hard.term === 0, 'bootstrap only an empty storage');
    const sorted = [...voters].sort();
    this.append(sorted.map((nodeId, i) => ({ index: i + 1, term: 1, type: 'conf-change' as const, data: encodeConfChange({ type: 'add-voter', nodeId }) })));
    this.setHardState({ term: 1, vote: null, commit: sorted.length });
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hard, conf: this.snap.metadata.conf };
  }

  hardState(): HardState {
    return this.hard;
  }

  setHardState(hardState: HardState): void {
    assert(hardState.term >= this.hard.term, () => `stored term must not go back: ${this.hard.term} -> ${hardState.term}`);
    assert(hardState.commit >= this.hard.commit || hardState.commit >= this.snap.metadata.index, 'stored commit must not go back');
    this.hard = hardState;
  }

  firstIndex(): number {
    return sliceFirstIndex(this.snap.metadata);
  }

  lastIndex(): number {
    return sliceLastIndex(this.snap.metadata, this.log);
  }

  term(index: number): number {
    return sliceTerm(this.snap.metadata, this.log, index);
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return sliceEntries(this.snap.metadata, this.log, lo, hi, maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Appends entries, truncating any existing suffix they overlap (a follower replacing a conflicting tail). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    for (let i = 1; i < entries.length; i++) assert(entries[i]!.index === first + i, 'appended entries must be consecutive');
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first + entries.length - 1 < this.firstIndex()) return; // wholly compacted already
    const skip = Math.max(0, this.firstIndex() - first);
    const kept = this.log.slice(0, first + skip - this.firstIndex());
    this.log = [...kept, ...entries.slice(skip)];
  }

  /** Replaces everything by a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.snap.metadata.index) return; // older than ours
    this.snap = snapshot;
    this.log = [];
  }

  /** Records a snapshot of the state machine at `index` (<= applied); does not drop entries (see compact). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) return this.snap;
    assert(index <= this.lastIndex(), () => `snapshot index ${index} is beyond the last index ${this.lastIndex()}`);
    const term = this.term(index);
    const kept = this.log.slice(index - this.snap.metadata.index);
    this.snap = { metadata: { index, term, conf: { voters: [...conf.voters], learners: [...conf.learners] } }, data };
    this.log = kept;
    return this.snap;
  }

  /**
   * Drops entries up to `index`. Here the snapshot and the compaction point are
   * the same thing (entries before the snapshot are gone), so compact(index)
   * requires a snapshot at or beyond `index`, and is otherwise a no-op.
   */
  compact(index: number): void {
    assert(index <= this.snap.metadata.index, () => `compact(${index}) needs a snapshot at or beyond it (snapshot at ${this.snap.metadata.index})`);
  }
}
