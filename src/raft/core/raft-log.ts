import { assert } from '../../errors/index.ts';
import type { Entry, LogStorage, Snapshot } from '../types.ts';
import { limitSize } from './entry-size.ts';

/**
 * The log as the core sees it: the driver's durable storage, followed by the
 * `unstable` tail (entries and possibly a snapshot) that was handed out in a
 * Ready but is not yet known to be durable.
 *
 * Invariants:
 *   applied <= committed <= lastIndex()
 *   unstableOffset <= storage.lastIndex() + 1 (the tail starts inside or right after storage)
 *   unstable entries have consecutive indexes starting at unstableOffset
 */
export class RaftLog {
  private unstableEntries: Entry[] = [];
  private unstableOffset: number; // index of unstableEntries[0] (or where the next one would go)
  private unstableSnapshot: Snapshot | undefined;
  committed: number; // highest index known committed; never decreases
  applied: number; // highest index handed to the driver to apply and acknowledged by advance(); never decreases

  constructor(
    readonly storage: LogStorage,
    committed: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    assert(first >= 1 && last >= first - 1, () => `storage bounds are inconsistent: first=${first} last=${last}`);
    assert(committed >= first - 1 && committed <= last, () => `hard state commit ${committed} is outside the stored log [${first - 1}, ${last}]`);
    this.unstableOffset = last + 1;
    this.committed = committed;
    this.applied = first - 1;
  }

  firstIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.metadata.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.metadata.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, 'the term of the last index is always known');
    return term;
  }

  /** The term at `index`, or undefined when it is compacted or beyond the end. */
  term(index: number): number | undefined {
    if (index > this.lastIndex()) return undefined;
    const snapshot = this.unstableSnapshot;
    if (snapshot !== undefined && index <= snapshot.metadata.index) {
      return index === snapshot.metadata.index ? snapshot.metadata.term : undefined;
    }
    if (index >= this.unstableOffset) {
      const entry = this.unstableEntries[index - this.unstableOffset];
      assert(entry !== undefined && entry.index === index, () => `unstable entry ${index} missing`);
      return entry.term;
    }
    const dummyIndex = this.storage.firstIndex() - 1;
    if (index < dummyIndex) return undefined;
    if (index === 0) return 0;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [lo, hi), at most maxBytes (but at least one). The caller checks lo >= firstIndex(). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    assert(lo >= this.firstIndex(), () => `entries(${lo}) is below the first index ${this.firstIndex()}`);
    assert(hi <= this.lastIndex() + 1 && lo <= hi, () => `entries range [${lo}, ${hi}) is outside the log (last ${this.lastIndex()})`);
    const result: Entry[] = [];
    if (lo < this.unstableOffset) {
      result.push(...this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes));
      const storedHi = Math.min(hi, this.unstableOffset);
      if (result.length < storedHi - lo) return result; // storage stopped at the byte limit
    }
    if (hi > this.unstableOffset) {
      const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
      result.push(...this.unstableEntries.slice(from, hi - this.unstableOffset));
    }
    const limited = limitSize(result, maxBytes);
    for (let i = 0; i < limited.length; i++) {
      assert(limited[i]!.index === lo + i, () => `log entries are not consecutive at ${lo + i}`);
    }
    return limited;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The fast-backoff search: the largest index <= `index` whose term is <= `term`.
   * Used by a follower to answer a rejected append with a better place to probe,
   * and by the leader to skip a whole term of the follower's log at once.
   */
  findConflictByTerm(index: number, term: number): number {
    let probe = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (probe > floor) {
      const probeTerm = this.term(probe);
      if (probeTerm === undefined || probeTerm <= term) break;
      probe--;
    }
    return probe;
  }

  /** Appends entries (possibly replacing a conflicting uncommitted suffix); returns the new last index. */
  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index;
    assert(after - 1 >= this.committed, () => `append at ${after} would overwrite committed entry (commit ${this.committed})`);
    assert(after <= this.lastIndex() + 1, () => `append at ${after} leaves a gap after ${this.lastIndex()}`);
    if (after === this.unstableOffset + this.unstableEntries.length) {
      this.unstableEntries.push(...entries);
    } else if (after <= this.unstableOffset) {
      // Replaces the tail of storage and all of unstable: the driver's append truncates storage.
      this.unstableOffset = after;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = [...this.unstableEntries.slice(0, after - this.unstableOffset), ...entries];
    }
    return this.lastIndex();
  }

  /**
   * Appends a leader's entries after (prevIndex, prevTerm) if the logs match
   * there. Returns the new last index of the matched range, or undefined on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** The index of the first entry that is new or has a different term; 0 when all are present. */
  private findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return; // never decrease
    assert(index <= this.lastIndex(), () => `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index >= this.applied && index <= this.committed, () => `applied ${index} must be in [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  // ---- unstable tail ----

  unstable(): readonly Entry[] {
    return this.unstableEntries;
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** Entries up to `index` with term `term` are now durable. A stale Ready (the tail was replaced since) is ignored. */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset) return;
    const entry = this.unstableEntries[index - this.unstableOffset];
    if (entry === undefined || entry.term !== term) return;
    this.unstableEntries = this.unstableEntries.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot !== undefined && this.unstableSnapshot.metadata.index === index) this.unstableSnapshot = undefined;
  }

  /** Replaces the whole log by a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    assert(index > this.committed, () => `snapshot ${index} is not beyond commit ${this.committed}`);
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.unstableOffset = index + 1;
    this.committed = index;
  }

  /** Committed entries after `from` not yet applied, at most maxBytes. */
  nextCommitted(from: number, maxBytes: number): Entry[] {
    const lo = Math.max(from + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.entries(lo, hi, maxBytes);
  }
}
