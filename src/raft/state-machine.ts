import type { Entry } from './types.ts';

/**
 * The application's replicated state, driven by RaftNode. apply() must be
 * deterministic (same entries in, same state and results out on every node);
 * it sees only 'normal' entries, in index order, each exactly once per
 * incarnation (after restore() it resumes after the snapshot's index).
 */
export interface StateMachine {
  /** Applies a committed command; the result goes back to the proposer on this node. */
  apply(entry: Entry): Uint8Array;
  /**
   * The whole state as bytes, as of the last applied index at the moment of
   * the call. A large state should return a promise: capture a point-in-time
   * view synchronously, then serialise it in slices that yield to the event
   * loop, so commits go on meanwhile (apply() keeps being called; it must not
   * change the captured view).
   */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state by a snapshot's bytes. */
  restore(data: Uint8Array): void;
}
