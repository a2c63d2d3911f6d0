/**
 * Reads over a stored log laid out as "a snapshot, then entries
 * snapshot.index+1 .. lastIndex" in one array: the layout of both the
 * in-memory storage and the durable log's index. One implementation so the
 * bounds checks and compaction errors cannot drift apart.
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import type { Entry, SnapshotMetadata } from '../types.ts';
import { limitSize } from './entry-size.ts';
import { CompactedError } from './errors.ts';

export function sliceFirstIndex(snap: SnapshotMetadata): number {
  return snap.index + 1;
}

export function sliceLastIndex(snap: SnapshotMetadata, log: readonly Entry[]): number {
  return snap.index + log.length;
}

export function sliceTerm(snap: SnapshotMetadata, log: readonly Entry[], index: number): number {
  if (index < snap.index) throw new CompactedError(index, sliceFirstIndex(snap));
  if (index === snap.index) return snap.term;
  const entry = log[index - snap.index - 1];
  if (entry === undefined) throw new InvalidArgumentError(`term(${index}) is beyond the last index ${sliceLastIndex(snap, log)}`);
  return entry.term;
}

export function sliceEntries(snap: SnapshotMetadata, log: readonly Entry[], lo: number, hi: number, maxBytes?: number): Entry[] {
  const first = sliceFirstIndex(snap);
  const last = sliceLastIndex(snap, log);
  if (lo < first) throw new CompactedError(lo, first);
  if (hi > last + 1 || lo > hi) throw new InvalidArgumentError(`entries [${lo}, ${hi}) outside [${first}, ${last + 1})`);
  return limitSize(log.slice(lo - first, hi - first), maxBytes);
}
