import type { Entry } from '../types.ts';

/**
 * The application's replicated state, driven by RaftNode. apply() must be
 * deterministic (same entries in, same state and results out on every node);
 * it sees only 'normal' entries, in index order, each exactly once per
 * incarnation (after restore() it resumes after the snapshot's index).
 */
export interface StateMachine {
  /** Applies a committed command; the result goes back to the proposer on this node. */
  apply(entry: Entry): Uint8Array;
  /** The whole state as bytes (taken at the last applied index). */
  snapshot(): Uint8Array;
  /** Replaces the whole state by a snapshot's bytes. */
  restore(data: Uint8Array): void;
}
